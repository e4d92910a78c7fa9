"""absl flags made from `vidattn.training.TrainingConfig`, one per field."""

import dataclasses

from absl import flags

from vidattn.layers.soft_attention_lstm_cell import ATTENTION_FORMS
from vidattn.training import training_config
from vidattn.training.training_config import TrainingConfig
from vidattn.utils.arguments import check_positive_number

CHOICES = {
    "model": training_config.MODELS,
    "precision": training_config.PRECISIONS,
    "strategy": training_config.STRATEGIES,
    "optimizer": training_config.OPTIMIZERS,
    "attention": ATTENTION_FORMS,
}
HELP = {
    "model": "The model: the thesis's soft attention, or a baseline.",
    "units": "LSTM width (hidden state, cell state and head).",
    "num_layers": "LSTM depth.",
    "attention": "Location softmax: linear (thesis eq. 2.4) or additive.",
    "attention_penalty": "lambda: weight of the doubly stochastic penalty.",
    "dropout": "Dropout on non-recurrent connections.",
    "weight_decay": "gamma: weight decay on all weights.",
    "fps": "Frame rate of the windows (divides the stored rate); default: "
    "the stored frames.",
    "window": "Frames per window.",
    "stride": "Stored frames between window starts.",
    "optimizer": "Optimizer.",
    "learning_rate": "Learning rate.",
    "batch_size": "Windows per batch.",
    "epochs": "Training epochs.",
    "precision": "mixed_float16 for NVIDIA GPUs, mixed_bfloat16 or float32 "
    "on CPUs.",
    "strategy": "tf.distribute strategy: default, or mirrored over all "
    "devices.",
    "jit_compile": "XLA-compile the train step.",
    "seed": "Seed of the weights, shuffles and dropout masks.",
    "shuffle_buffer": "Windows in the shuffle buffer.",
    "attention_images": "Validation windows whose attention is logged to "
    "TensorBoard.",
}


def define_data_flags(validation_help):
    """Defines the required `--train_data` and `--validation_data` flags.

    Args:
        validation_help: str. What the command does with the validation
            data.
    """
    flags.DEFINE_string(
        "train_data",
        None,
        "Training dataset folder (written by `vidattn extract`).",
    )
    flags.DEFINE_string(
        "validation_data",
        None,
        f"Validation dataset folder; {validation_help}.",
    )
    flags.mark_flags_as_required(["train_data", "validation_data"])


def define_training_flags():
    """Defines one flag per `TrainingConfig` field, with its default."""
    for field in dataclasses.fields(TrainingConfig):
        name, default = field.name, field.default
        help_text = HELP.get(name, name)
        if name in CHOICES:
            flags.DEFINE_enum(name, default, list(CHOICES[name]), help_text)
        elif isinstance(default, bool):
            flags.DEFINE_boolean(name, default, help_text)
        elif isinstance(default, int):
            # Out of range is a flags error that names the flag.
            lower_bound = None
            if name in training_config.POSITIVE_INTS:
                lower_bound = 1
            elif name in training_config.NON_NEGATIVE_INTS:
                lower_bound = 0
            flags.DEFINE_integer(
                name, default, help_text, lower_bound=lower_bound
            )
        else:
            flags.DEFINE_float(name, default, help_text)


def training_config_from_flags():
    values = {
        field.name: getattr(flags.FLAGS, field.name)
        for field in dataclasses.fields(TrainingConfig)
    }
    return TrainingConfig(**values)


def check_fps_flag(fps, *directories):
    """Checks `--fps` against each dataset folder, in the flag's words.

    The library names the argument (`target_fps`); a user of a command
    passed `--fps`, so the command checks the frame rate first.

    Args:
        fps: the `--fps` value, or `None` (nothing to check).
        *directories: dataset folders the windows are taken from.

    Raises:
        ValueError: if `--fps` is not a positive number, or a dataset
            cannot give windows at that rate.
    """
    if fps is None:
        return
    check_positive_number("--fps", fps)
    from vidattn.data.feature_dataset import FeatureDataset

    for directory in directories:
        data = FeatureDataset(directory, verify_checksums=False)
        if data.stored_fps is None:
            raise ValueError(
                f"Expected no --fps for {data.directory}: its frames are "
                "not evenly spaced in time (its manifest has stored_fps "
                "null), so windows take the stored frames as they are. "
                f"Received: --fps={fps:g}. Leave --fps out."
            )
        try:
            data.frame_skip(fps)
        except ValueError:
            rates = sorted(
                {float(f"{data.stored_fps / skip:.4g}") for skip in (1, 2, 3)},
                reverse=True,
            )
            raise ValueError(
                f"Expected --fps to divide the stored frame rate of "
                f"{data.directory} ({data.stored_fps:g} fps) into whole "
                f"frames, such as --fps {rates[0]:g}, {rates[1]:g} or "
                f"{rates[2]:g}."
                f" Received: --fps={fps:g} (one frame every "
                f"{data.stored_fps / fps:.3g} stored frames)."
            ) from None
