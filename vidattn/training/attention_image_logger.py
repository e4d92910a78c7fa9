import keras
import numpy as np
import tensorflow as tf

from vidattn.visualization.attention_maps import attention_overlay


class AttentionImageLogger(keras.callbacks.Callback):
    """Logs the attention maps of a few validation windows to TensorBoard.

    Every epoch, each window's location softmaxes are drawn over time (one
    row of maps, white where the model looks) as an image of the
    `attention/` tag, so a user sees where the model learns to look while it
    trains.

    Args:
        log_dir: str. The TensorBoard log folder (images go to `images/`).
        features: `(windows, frames, K, K, D)` validation features.
        frames: optional uint8 `(windows, frames, H, W, 3)` video frames to
            draw the maps over; gray frames of 64x64 pixels otherwise.
        max_steps: int. Steps drawn per window. Defaults to `10`.
    """

    def __init__(self, log_dir, features, frames=None, max_steps=10):
        super().__init__()
        self.features = np.asarray(features, dtype=np.float32)
        if frames is None:
            grid = self.features.shape[2]
            size = max(64, 8 * grid)
            frames = np.full(
                self.features.shape[:2] + (size, size, 3), 110, np.uint8
            )
        self.frames = np.asarray(frames)
        self.max_steps = max_steps
        self.writer = tf.summary.create_file_writer(f"{log_dir}/images")

    def on_epoch_end(self, epoch, logs=None):
        attention = self.model.predict_on_batch(self.features)["attention"]
        steps = attention.shape[1]
        chosen = np.unique(
            np.linspace(0, steps - 1, min(self.max_steps, steps)).round()
        ).astype(int)
        images = []
        for frames, weights in zip(self.frames, attention):
            overlays = attention_overlay(frames[chosen], weights[chosen])
            images.append(np.concatenate(list(overlays), axis=1))
        with self.writer.as_default():
            tf.summary.image(
                "attention",
                np.stack(images),
                step=epoch,
                max_outputs=len(images),
            )
        self.writer.flush()
