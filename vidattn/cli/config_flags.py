"""absl flags made from `vidattn.training.TrainingConfig`, one per field."""

import dataclasses

from absl import flags

from vidattn.layers.soft_attention_lstm_cell import ATTENTION_FORMS
from vidattn.training import training_config
from vidattn.training.training_config import TrainingConfig

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
            flags.DEFINE_integer(name, default, help_text)
        else:
            flags.DEFINE_float(name, default, help_text)


def training_config_from_flags():
    values = {
        field.name: getattr(flags.FLAGS, field.name)
        for field in dataclasses.fields(TrainingConfig)
    }
    return TrainingConfig(**values)
