"""`vidattn train`: train an action model on TFRecord feature datasets.

Rerun the same command after a crash or a kill to resume from the last
finished epoch. `--flagfile=run.flags` reads flags from a file.
"""

import os

from absl import flags

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
    print(f"Best model (validation loss): {summary['best_model']}")
    print(f"Final model: {summary['final_model']}")
    logs = os.path.join(FLAGS.output_dir, "logs")
    print(f"TensorBoard: tensorboard --logdir {logs}")
