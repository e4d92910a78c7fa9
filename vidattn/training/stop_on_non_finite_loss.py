"""Stopping a training run, with an error, when its loss is not finite."""

import math

import keras
import numpy as np

from vidattn.training.non_finite_loss_error import NonFiniteLossError

LIKELY_CAUSES = (
    "Likely causes: non-finite values in the features (a damaged record, "
    "or one written by another tool), too high a learning rate, or float16 "
    "overflow (mixed_float16 without loss scaling)."
)


class StopOnNonFiniteLoss(keras.callbacks.Callback):
    """Raises `NonFiniteLossError` when a loss or a weight is NaN or inf.

    Keras's `TerminateOnNaN` only sets `stop_training`: `fit` returns as if
    the run had finished, and what runs after it saves a NaN model. This
    callback raises instead, naming the epoch and batch, so that nothing
    after it runs. It checks the training loss after every batch (Keras
    reports the epoch's running mean, which stays NaN from the first NaN
    batch on), and at the end of every epoch the validation loss and the
    model's weights: placed before the callbacks that save (backups,
    checkpoints, logs), it keeps them from ever saving a non-finite epoch.

    Args:
        advice: str. What to do, added to the message. Defaults to `""`.
    """

    def __init__(self, advice=""):
        super().__init__()
        self.advice = advice
        self._epoch = 0

    def _fail(self, what, value, batch=None):
        where = f"epoch {self._epoch + 1} of {self.params.get('epochs')}"
        if batch is not None:
            where += f", batch {batch + 1} of {self.params.get('steps')}"
        raise NonFiniteLossError(
            f"Training stopped: non-finite {what} ({value}) at {where}. "
            + LIKELY_CAUSES
            + (f" {self.advice}" if self.advice else "")
        )

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self._fail("training loss", float(loss), batch)

    def on_epoch_end(self, epoch, logs=None):
        loss = (logs or {}).get("val_loss")
        if loss is not None and not math.isfinite(float(loss)):
            self._fail("validation loss", float(loss))
        weights = [
            weight.path
            for weight in self.model.weights
            if not np.isfinite(keras.ops.convert_to_numpy(weight.value)).all()
        ]
        if weights:
            self._fail(
                "weights",
                f"NaN or inf in {len(weights)} variables: "
                + ", ".join(weights[:3]),
            )
