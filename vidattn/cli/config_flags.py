"""absl flags made from the run configurations, one per field.

`vidattn train --task action` fills a `vidattn.training.TrainingConfig`,
`--task captioning` a `vidattn.training.CaptionTrainingConfig`: a flag
that both have serves both, with a default of None (the task's own) where
their defaults differ; a flag of one task is refused under the other.
"""

import dataclasses

from absl import flags

from vidattn.layers.soft_attention_lstm_cell import ATTENTION_FORMS
from vidattn.models.caption_model_factory import CAPTION_MODELS
from vidattn.training import caption_training_config
from vidattn.training import training_config
from vidattn.training.caption_training_config import CaptionTrainingConfig
from vidattn.training.training_config import TrainingConfig
from vidattn.utils.arguments import check_positive_number

TASK_CONFIGS = {"action": TrainingConfig, "captioning": CaptionTrainingConfig}
CHOICES = {
    "model": training_config.MODELS + CAPTION_MODELS,
    "precision": training_config.PRECISIONS,
    "strategy": training_config.STRATEGIES,
    "optimizer": training_config.OPTIMIZERS,
    "attention": ATTENTION_FORMS,
    "best_metric": caption_training_config.BEST_METRICS,
    "feature_normalization": training_config.FEATURE_NORMALIZATIONS,
}
POSITIVE_INTS = set(training_config.POSITIVE_INTS) | set(
    caption_training_config.POSITIVE_INTS
)
NON_NEGATIVE_INTS = set(training_config.NON_NEGATIVE_INTS) | set(
    caption_training_config.NON_NEGATIVE_INTS
)
HELP = {
    "model": "The model: the thesis's soft attention, or a baseline "
    "(action: attention, average_pooled, max_pooled, softmax_regression; "
    "captioning: soft_attention, average_pool, first_time_step).",
    "units": "LSTM width (hidden state, cell state and head); on a CPU, "
    "--units 512 for captioning.",
    "num_layers": "LSTM depth.",
    "attention": "Location softmax: linear (thesis eqs. 2.4, 3.2) or additive.",
    "attention_penalty": "lambda: weight of the doubly stochastic penalty.",
    "dropout": "Dropout on non-recurrent connections.",
    "weight_decay": "gamma: weight decay on all weights.",
    "feature_normalization": "mean_norm: each window's features divided "
    "by their mean location norm; none: the features as stored.",
    "fps": "Frame rate of the windows (divides the stored rate); default: "
    "the stored frames.",
    "window": "Frames per window.",
    "stride": "Stored frames between window starts.",
    "optimizer": "Optimizer.",
    "learning_rate": "Learning rate.",
    "batch_size": "Windows (action) or captions (captioning) per batch.",
    "epochs": "Training epochs.",
    "precision": "mixed_float16 for NVIDIA GPUs, mixed_bfloat16 or float32 "
    "on CPUs.",
    "strategy": "tf.distribute strategy: default, or mirrored over all "
    "devices.",
    "jit_compile": "XLA-compile the train step.",
    "seed": "Seed of the weights, shuffles and dropout masks.",
    "shuffle_buffer": "Windows shuffled together (action: whole videos are "
    "read in groups that hold about this many windows) or (video, caption) "
    "pairs in the shuffle buffer (captioning).",
    "attention_images": "Validation windows or videos whose attention is "
    "logged to TensorBoard.",
    "embedding_dim": "Word embedding width n.",
    "attention_units": "Width of the additive attention; default: --units.",
    "max_length": "Words kept per training caption (the vocabulary's "
    "max_length); validation sentences end after as many words.",
    "min_count": "Times a training word must occur to enter the vocabulary.",
    "beam_width": "Beam search width for the validation sentences (1: greedy).",
    "best_metric": "What chooses best.keras: validation METEOR, BLEU-4 "
    "(no METEOR start-up each epoch), or loss (teacher-forced validation "
    "loss; with --validation_videos 0, no Java needed).",
    "validation_videos": "Validation videos described and scored after "
    "every epoch (the first in the dataset's order).",
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


def _task_fields():
    """`{name: {task: field}}` over the fields of every task's config."""
    fields = {}
    for task, config_class in TASK_CONFIGS.items():
        for field in dataclasses.fields(config_class):
            fields.setdefault(field.name, {})[task] = field
    return fields


def define_training_flags():
    """Defines one flag per field of the tasks' configs, with its default.

    A field of both tasks with the same default has that default; with
    different defaults, the flag's default is None and its help says each
    task's. A field of one task says so in its help.
    """
    for name, by_task in _task_fields().items():
        defaults = {task: field.default for task, field in by_task.items()}
        kind = next(iter(by_task.values())).type
        help_text = HELP.get(name, name)
        default = next(iter(defaults.values()))
        if len(by_task) < len(TASK_CONFIGS):
            help_text += f" (--task {next(iter(by_task))} only)"
        elif len(set(map(repr, defaults.values()))) > 1:
            default = None
            help_text += (
                " (default: "
                + ", ".join(
                    f"{value} for {task}" for task, value in defaults.items()
                )
                + ")"
            )
        if name in CHOICES:
            flags.DEFINE_enum(name, default, list(CHOICES[name]), help_text)
        elif kind is bool:
            flags.DEFINE_boolean(name, default, help_text)
        elif kind is int:
            # Out of range is a flags error that names the flag.
            lower_bound = None
            if name in POSITIVE_INTS:
                lower_bound = 1
            elif name in NON_NEGATIVE_INTS:
                lower_bound = 0
            flags.DEFINE_integer(
                name, default, help_text, lower_bound=lower_bound
            )
        elif kind is float:
            flags.DEFINE_float(name, default, help_text)
        else:
            flags.DEFINE_string(name, default, help_text)


def training_config_from_flags(task="action"):
    """The task's run configuration from the flags.

    Args:
        task: `"action"` or `"captioning"`.

    Returns:
        A `TrainingConfig` or a `CaptionTrainingConfig`; the flags left at
        None take the config's defaults.

    Raises:
        ValueError: if a flag of the other task was given (on the command
            line or in a flagfile), or a value is invalid.
    """
    config_class = TASK_CONFIGS[task]
    names = [field.name for field in dataclasses.fields(config_class)]
    for name, by_task in _task_fields().items():
        if task not in by_task and flags.FLAGS[name].present:
            raise ValueError(
                f"Expected no --{name} with --task {task}: it sets "
                f"{next(iter(by_task))} training only. Received: "
                f"--{name}={flags.FLAGS[name].value}. Leave it out, or pass "
                f"--task {next(iter(by_task))}."
            )
    values = {
        name: flags.FLAGS[name].value
        for name in names
        if flags.FLAGS[name].value is not None
    }
    return config_class(**values)


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
