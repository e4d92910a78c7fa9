import keras
import numpy as np
import tensorflow as tf

from vidattn.analysis.caption_attention import caption_attention_records
from vidattn.models.video_classifier import VideoClassifier
from vidattn.utils.arguments import check_positive_int
from vidattn.visualization.caption_attention_maps import caption_attention_strip


class CaptionAttentionImageLogger(keras.callbacks.Callback):
    """Logs a captioner's sentences and per-word attention to TensorBoard.

    At the end of every `every_n_epochs`-th epoch the model describes the
    given validation videos (greedy decoding by default: fast) and, for
    each video, writes under `log_dir/attention`:

    - an image `<video id>/attention`: the strip of
      `vidattn.visualization.caption_attention_strip` (one row per word,
      where it looked in which frames, and its gate beta);
    - a text `<video id>/sentence`: the sentence and its log probability.

    Summaries are written at step `epoch` (counted from 0, as Keras does).

    Args:
        log_dir: str. The TensorBoard log folder.
        inputs: float array `(videos, N, K, K, D)` of validation features,
            or a dict with `"features"` and optionally `"frame_mask"`.
        frames: uint8 array `(videos, N, height, width, 3)` to draw the
            maps over, or `None` to draw the maps alone. Defaults to `None`.
        beam_width: int. Defaults to `1` (greedy).
        max_length: int. The most words, end token included. Defaults to
            `20`.
        every_n_epochs: int. Defaults to `1`.
        video_ids: list of str or `None` (`"video_0"`, ...): the tags'
            prefixes. Defaults to `None`.
        max_frames: int. The most frames per strip. Defaults to `8`.

    Raises:
        ValueError: if an argument is out of range.

    Example:

    ```python
    logger = vidattn.training.CaptionAttentionImageLogger(
        "logs", {"features": features[:4], "frame_mask": masks[:4]},
        frames=frames[:4],
    )
    model.fit(train_batches, epochs=20, callbacks=[logger])
    ```
    """

    def __init__(
        self,
        log_dir,
        inputs,
        frames=None,
        beam_width=1,
        max_length=20,
        every_n_epochs=1,
        video_ids=None,
        max_frames=8,
    ):
        super().__init__()
        features, frame_mask = VideoClassifier.unpack_inputs(inputs)
        self.features = np.asarray(features, dtype=np.float32)
        self.frame_mask = (
            None if frame_mask is None else np.asarray(frame_mask, bool)
        )
        self.frames = None if frames is None else np.asarray(frames)
        self.beam_width = check_positive_int("beam_width", beam_width)
        self.max_length = check_positive_int("max_length", max_length)
        self.every_n_epochs = check_positive_int(
            "every_n_epochs", every_n_epochs
        )
        self.video_ids = video_ids
        self.max_frames = check_positive_int("max_frames", max_frames)
        self.log_dir = log_dir
        self.writer = tf.summary.create_file_writer(f"{log_dir}/attention")

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.every_n_epochs:
            return
        records = caption_attention_records(
            self.model,
            self.features,
            frames=self.frames,
            frame_mask=self.frame_mask,
            video_ids=self.video_ids,
            beam_width=self.beam_width,
            max_length=self.max_length,
        )
        with self.writer.as_default():
            for record in records:
                strip = caption_attention_strip(
                    record, max_frames=self.max_frames
                )
                tf.summary.image(
                    f"{record.video_id}/attention", strip[None], step=epoch
                )
                tf.summary.text(
                    f"{record.video_id}/sentence",
                    f"{record.sentence} (log probability "
                    f"{record.log_probability:.2f})",
                    step=epoch,
                )
        self.writer.flush()
