import json
import math
import os

import keras

from vidattn.utils.arguments import check_one_of
from vidattn.utils.atomic_write import atomic_output_path
from vidattn.utils.atomic_write import write_json_atomically


class BestModelCheckpoint(keras.callbacks.Callback):
    """Saves the model whenever a validation metric improves, atomically.

    The model is written through `vidattn.utils.atomic_output_path`, so a
    kill never leaves a half-written checkpoint; `best.json` beside it
    records the epoch and value, and a resumed run starts from that value
    instead of forgetting it (which would let a worse epoch overwrite a
    better model). A NaN or infinite value is never an improvement: a
    diverged model is not kept as the best.

    Args:
        path: str. The `.keras` file of the best model.
        monitor: str. A validation metric, e.g. `"val_loss"`.
        mode: `"min"` or `"max"`.
    """

    def __init__(self, path, monitor="val_loss", mode="min"):
        super().__init__()
        check_one_of("mode", mode, ("min", "max"))
        self.path = os.fspath(path)
        self.monitor = monitor
        self.mode = mode
        self.record_path = os.path.join(
            os.path.dirname(os.path.abspath(self.path)), "best.json"
        )
        self.best = math.inf if mode == "min" else -math.inf
        if os.path.exists(self.record_path) and os.path.exists(self.path):
            with open(self.record_path, encoding="utf-8") as file:
                record = json.load(file)
            if record.get("monitor") == monitor:
                self.best = record["value"]

    def _improved(self, value):
        if not math.isfinite(value):
            return False
        return value < self.best if self.mode == "min" else value > self.best

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None:
            raise ValueError(
                f"Expected the metric {self.monitor!r} in the epoch's logs, to "
                f"choose the best model. Received: {sorted(logs or {})}. Pass "
                "validation data."
            )
        if not self._improved(float(value)):
            return
        self.best = float(value)
        with atomic_output_path(self.path, suffix=".keras") as temporary:
            self.model.save(temporary)
        write_json_atomically(
            self.record_path,
            {"monitor": self.monitor, "value": self.best, "epoch": epoch + 1},
            indent=None,
        )
