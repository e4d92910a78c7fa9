"""`vidattn train`: train an action model or a video captioner on features.

  vidattn train --train_data=/data/ucf11/train \\
      --validation_data=/data/ucf11/validation --output_dir=/runs/ucf11

  vidattn train --task captioning --train_data=/data/msvd/train \\
      --validation_data=/data/msvd/validation --output_dir=/runs/msvd \\
      --units 512

--task captioning trains the thesis's captioner (chapter 3) on datasets with
captions (`vidattn extract --dataset msvd`, or `--dataset folder` with a
captions file): the vocabulary comes from the training captions, and after
every epoch the first --validation_videos validation videos are described by
beam search and scored (BLEU-1..4, ROUGE-L, CIDEr, and METEOR when it
chooses the best model); best.keras is the model of the best
--best_metric. Scoring needs Java (coco-caption's tokenizer and METEOR
run on it); without Java, pass --best_metric loss --validation_videos 0.
The defaults are the thesis's (section 3.2.2), d = 4096 units included: on
a CPU, pass --units 512.

Rerun the same command after a crash or a kill to resume from the last
finished epoch. `--flagfile=run.flags` reads flags from a file. The flags
of one task (e.g. --window, --beam_width) are refused under the other.

--backend jax trains the model under Keras's JAX backend (pip install
"jax[cpu]", or jax with CUDA for a GPU); the models it writes load under
either backend.
A loss that becomes NaN or inf stops the run with a message naming the
epoch and batch (exit status 1); the run's folder keeps its last finite
epoch, and no final model is written.
"""

import os
import sys

from absl import flags

from vidattn.cli.config_flags import TASK_CONFIGS
from vidattn.cli.config_flags import check_fps_flag
from vidattn.cli.config_flags import define_data_flags
from vidattn.cli.config_flags import define_training_flags
from vidattn.cli.config_flags import training_config_from_flags
from vidattn.cli.main import BACKENDS
from vidattn.cli.main import check_backend

FLAGS = flags.FLAGS


def define_flags():
    """Defines the flags of this command."""
    flags.DEFINE_enum(
        "task",
        "action",
        list(TASK_CONFIGS),
        "What to train: an action recognizer (thesis chapter 2) or a video "
        "captioner (chapter 3).",
    )
    define_data_flags("chooses the best model")
    flags.DEFINE_string(
        "output_dir", None, "The run's folder: checkpoints, logs, config."
    )
    flags.mark_flag_as_required("output_dir")
    define_training_flags()
    flags.DEFINE_enum(
        "backend",
        None,
        list(BACKENDS),
        "Keras's backend for the model (default: the KERAS_BACKEND "
        "environment variable, else tensorflow). The data pipeline runs on "
        "TensorFlow's tf.data either way.",
    )


def _best_line(best):
    if best["monitor"] == "val_loss":
        return f"validation loss {best['value']:.4f}"
    return f"validation {best['monitor'][len('val_') :]} {best['value']:.4f}"


def main(argv):
    del argv
    check_backend(FLAGS.backend)
    config = training_config_from_flags(FLAGS.task)
    if FLAGS.task == "captioning":
        from vidattn.training import train_caption_model as train
    else:
        from vidattn.training import train_action_model as train

        check_fps_flag(FLAGS.fps, FLAGS.train_data, FLAGS.validation_data)
    summary = train(
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
            f"Best model ({_best_line(best)}, epoch {best['epoch']}): "
            f"{summary['best_model']}"
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
