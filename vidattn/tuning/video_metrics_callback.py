"""Video-level accuracy and mAP on a validation split after every epoch."""

import keras
import numpy as np

from vidattn.evaluation.action_evaluation import predict_videos
from vidattn.metrics.classification_metrics import classification_scores
from vidattn.metrics.classification_metrics import multilabel_scores


class VideoMetricsCallback(keras.callbacks.Callback):
    """Scores an action model under the thesis's protocol after every epoch.

    Every window of every validation video is predicted, each window's
    per-step probabilities are averaged, and each video's windows are
    averaged (`vidattn.evaluation.predict_videos`): the video accuracy
    (single-label data) and the mean average precision over the classes
    (Hollywood2's metric; every dataset) go into the epoch's logs as
    `val_video_accuracy` and `val_video_map`. Callbacks after this one
    (keras-tuner's best-epoch checkpoint, `keras.callbacks.TensorBoard`,
    the history) see them: place it first.

    Args:
        data: the validation `vidattn.data.FeatureDataset`, labelled with
            the classes the model predicts, in its order.
        window: int. Frames per window, as in training. Defaults to `30`.
        fps: float or `None`. The windows' frame rate. Defaults to `None`.
        stride: int. Stored frames between window starts. Defaults to `1`.
        batch_size: int. Windows per batch. Defaults to `32`.
        prefix: str. Prefix of the logged names. Defaults to `"val_"`.

    Example:

    ```python
    validation = vidattn.data.FeatureDataset("features/validation")
    model.fit(
        windows, epochs=5,
        callbacks=[VideoMetricsCallback(validation, window=30)],
    )
    model.history.history["val_video_accuracy"]
    ```
    """

    def __init__(
        self, data, window=30, fps=None, stride=1, batch_size=32, prefix="val_"
    ):
        super().__init__()
        self.data = data
        self.window = window
        self.fps = fps
        self.stride = stride
        self.batch_size = batch_size
        self.prefix = prefix

    def scores(self):
        """The model's video-level scores on the data, a dict of floats."""
        probabilities, labels = predict_videos(
            self.model,
            self.data,
            window=self.window,
            fps=self.fps,
            stride=self.stride,
            batch_size=self.batch_size,
        )
        class_names = list(self.data.class_names)
        if self.data.multi_label:
            return {
                "video_map": multilabel_scores(
                    probabilities, labels, class_names
                )["mean_average_precision"]
            }
        one_hot = labels[:, None] == np.arange(len(class_names))
        return {
            "video_accuracy": classification_scores(
                probabilities, labels, class_names
            )["accuracy"],
            "video_map": multilabel_scores(probabilities, one_hot, class_names)[
                "mean_average_precision"
            ],
        }

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        for name, value in self.scores().items():
            logs[self.prefix + name] = value
