"""The thesis's test protocol (section 2.2.2) on a feature dataset."""

import os

import keras
import numpy as np

from vidattn.data.feature_dataset import FeatureDataset
from vidattn.metrics.classification_metrics import classification_scores
from vidattn.metrics.classification_metrics import multilabel_scores
from vidattn.metrics.video_aggregation import aggregate_video_predictions

AGGREGATION_TEXT = {
    "mean": "mean of the per-step probabilities over each window, then mean "
    "over the video's windows",
    "vote": "mean of the per-step probabilities over each window, then a "
    "majority vote of the video's windows",
}


def predict_videos(
    model,
    data,
    window=30,
    fps=None,
    stride=1,
    aggregation="mean",
    batch_size=32,
):
    """The thesis's test protocol on a dataset: windows, then videos.

    Every window of every video (as in training) is predicted; a window's
    prediction is the mean of its per-step probabilities, a video's the mean
    (or vote) over its windows.

    Args:
        model: a trained action model.
        data: a `vidattn.data.FeatureDataset`.
        window, fps, stride: the windows, as in training.
        aggregation: `"mean"` (the thesis) or `"vote"`.
        batch_size: windows per batch.

    Returns:
        `(video_probabilities (videos, classes), video_labels)`: labels are
        int `(videos,)` or multi-hot `(videos, classes)`.
    """
    probabilities, video_index = [], []
    labels = {}
    windows = data.evaluation_windows(
        batch_size, window_length=window, target_fps=fps, stride=stride
    )
    for inputs, label in windows:
        outputs = model.predict_on_batch({"features": inputs["features"]})
        probabilities.append(outputs["probabilities"])
        indices = inputs["video_index"].numpy()
        video_index.append(indices)
        for index, value in zip(indices, label.numpy()):
            labels.setdefault(int(index), value)
    video_probabilities = aggregate_video_predictions(
        np.concatenate(probabilities),
        np.concatenate(video_index),
        num_videos=len(data.video_ids),
        method=aggregation,
    )
    video_labels = np.stack([labels[i] for i in range(len(data.video_ids))])
    return video_probabilities, video_labels


def evaluate_action_model(
    model_path,
    data_dir,
    window=30,
    fps=None,
    stride=1,
    aggregation="mean",
    batch_size=32,
):
    """Scores a saved model under the thesis's protocol, stated beside it.

    The classes are named by the model's `class_names` when it has them
    (models trained by `vidattn.training.train_action_model` do), else by
    the dataset's.

    Args:
        model_path: str. A `.keras` action model.
        data_dir: str. The dataset folder to score.
        window, fps, stride: the windows, as in training.
        aggregation: `"mean"` (the thesis) or `"vote"`.
        batch_size: windows per batch.

    Returns:
        A dict: `"protocol"` (fps, window, stride, aggregation, counts),
        `"scores"` (accuracy, per-class accuracy and confusion matrix; or
        per-class AP and mAP for multi-label data), `"video_ids"`,
        `"predictions"` (video probabilities) and `"class_names"`.
    """
    data = FeatureDataset(data_dir)
    model = keras.models.load_model(model_path)
    video_probabilities, video_labels = predict_videos(
        model,
        data,
        window=window,
        fps=fps,
        stride=stride,
        aggregation=aggregation,
        batch_size=batch_size,
    )
    class_names = list(getattr(model, "class_names", None) or data.class_names)
    if data.multi_label:
        scores = multilabel_scores(
            video_probabilities, video_labels, class_names
        )
    else:
        scores = classification_scores(
            video_probabilities, video_labels, class_names
        )
    return {
        "protocol": {
            "data": os.path.abspath(data_dir),
            "split": data.split,
            "model": os.path.abspath(model_path),
            "stored_fps": data.stored_fps,
            "fps": fps if fps is not None else data.stored_fps,
            "window": window,
            "stride": stride,
            "aggregation": AGGREGATION_TEXT[aggregation],
            "videos": len(data.video_ids),
            "windows": int(
                data.num_windows(
                    window_length=window, target_fps=fps, stride=stride
                )
            ),
        },
        "scores": scores,
        "class_names": class_names,
        "video_ids": list(data.video_ids),
        "predictions": video_probabilities.tolist(),
    }
