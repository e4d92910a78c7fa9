"""`vidattn train`: train an action model on TFRecord feature datasets.

Rerun the same command after a crash or a kill to resume from the last
finished epoch. `--flagfile=run.flags` reads flags from a file.

A loss that becomes NaN or inf stops the run with a message naming the
epoch and batch (exit status 1); the run's folder keeps its last finite
epoch, and no final model is written.
"""

import os
import sys

from absl import flags

from vidattn.cli.config_flags import check_fps_flag
from vidattn.cli.config_flags import define_data_flags
from vidattn.cli.config_flags import define_training_flags
from vidattn.cli.config_flags import training_config_from_flags

FLAGS = flags.FLAGS


def define_flags():
    """Defines the flags of this command."""
    define_data_flags("chooses the best model")
    flags.DEFINE_string(
        "output_dir", None, "The run's folder: checkpoints, logs, config."
    )
    flags.mark_flag_as_required("output_dir")
    define_training_flags()


def main(argv):
    del argv
    from vidattn.training import train_action_model

    check_fps_flag(FLAGS.fps, FLAGS.train_data, FLAGS.validation_data)
    config = training_config_from_flags()
    summary = train_action_model(
        config,
        FLAGS.train_data,
        FLAGS.validation_data,
        FLAGS.output_dir,
        verbose=1,
    )
    if summary["resumed_from_epoch"] and summary["history"]:
        print(f"Resumed from epoch {summary['resumed_from_epoch']}.")
    best = summary["best"]
    if best is not None:
        print(
            f"Best model (validation loss {best['value']:.4f}, epoch "
            f"{best['epoch']}): {summary['best_model']}"
        )
    print(f"Final model: {summary['final_model']}")
    logs = os.path.join(FLAGS.output_dir, "logs")
    print(f"TensorBoard: tensorboard --logdir {logs}")
    if best is None:
        # Training stops on a non-finite validation loss, so every epoch
        # had a finite one: the files were removed after the run.
        print(
            f"vidattn train: no best model in {FLAGS.output_dir}: "
            "best.keras or best.json is missing (removed after the run?). "
            "Train again in a new --output_dir.",
            file=sys.stderr,
        )
        return 1
    return 0
