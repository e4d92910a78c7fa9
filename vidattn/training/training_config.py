"""The hyperparameters of an action-recognition run, saved beside its models."""

import dataclasses

from vidattn.layers.soft_attention_lstm_cell import ATTENTION_FORMS
from vidattn.models.action_model_factory import ACTION_MODELS
from vidattn.models.action_model_factory import action_model_hyperparameters
from vidattn.models.action_model_factory import (
    check_action_model_hyperparameters,
)
from vidattn.training.saved_configuration import SavedConfiguration
from vidattn.utils.arguments import check_non_negative_int
from vidattn.utils.arguments import check_one_of
from vidattn.utils.arguments import check_positive_int
from vidattn.utils.arguments import check_positive_number

MODELS = ACTION_MODELS
POSITIVE_INTS = (
    "units",
    "num_layers",
    "window",
    "stride",
    "batch_size",
    "epochs",
    "shuffle_buffer",
)
NON_NEGATIVE_INTS = ("seed", "attention_images")
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")
STRATEGIES = ("default", "mirrored")
OPTIMIZERS = ("adam", "sgd", "rmsprop", "adamw")
FEATURE_NORMALIZATIONS = ("mean_norm", "none")


@dataclasses.dataclass
class TrainingConfig(SavedConfiguration):
    """Everything that decides an action-recognition training run.

    Defaults follow the thesis (section 2.2.2): 3 LSTM layers of 512 units,
    dropout 0.5 on non-recurrent connections, weight decay 1e-5, Adam, 15
    epochs, 30-frame windows with stride 1.

    Attributes:
        model: `"attention"` (the thesis model) or a baseline:
            `"average_pooled"`, `"max_pooled"`, `"softmax_regression"`.
        units, num_layers: LSTM width and depth.
        attention: `"linear"` (eq. 2.4) or `"additive"`.
        attention_penalty: lambda of eq. 2.7.
        dropout, weight_decay: as in the thesis.
        feature_normalization: `"mean_norm"`: each window's cubes divided
            by their mean location norm (the models' default), or `"none"`:
            the features as they are.
        fps: frame rate of the windows (must divide the stored rate), or
            `None` for the stored frames as they are.
        window, stride: frames per window, stored frames between window
            starts.
        optimizer, learning_rate, batch_size, epochs: the optimisation.
        precision: `"float32"`, `"mixed_float16"` (NVIDIA GPUs) or
            `"mixed_bfloat16"` (CPUs and TPUs with bfloat16).
        strategy: `"default"` or `"mirrored"` (`tf.distribute`, every visible
            GPU, or every logical CPU device).
        jit_compile: XLA compilation of the train step.
        seed: seeds the weights, the shuffles and the dropout masks of every
            epoch, so a resumed run repeats an unkilled one.
        shuffle_buffer: windows shuffled together: whole videos are read
            in groups that hold about this many windows
            (`FeatureDataset.windows`).
        attention_images: validation windows whose attention maps are
            logged to TensorBoard every epoch (attention model only).
    """

    model: str = "attention"
    units: int = 512
    num_layers: int = 3
    attention: str = "linear"
    attention_penalty: float = 0.0
    dropout: float = 0.5
    weight_decay: float = 1e-5
    feature_normalization: str = "mean_norm"
    fps: float = None
    window: int = 30
    stride: int = 1
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    batch_size: int = 32
    epochs: int = 15
    precision: str = "float32"
    strategy: str = "default"
    jit_compile: bool = False
    seed: int = 0
    shuffle_buffer: int = 256
    attention_images: int = 4

    def __post_init__(self):
        for name, allowed in (
            ("model", MODELS),
            ("precision", PRECISIONS),
            ("strategy", STRATEGIES),
            ("optimizer", OPTIMIZERS),
            ("attention", ATTENTION_FORMS),
            ("feature_normalization", FEATURE_NORMALIZATIONS),
        ):
            check_one_of(name, getattr(self, name), allowed)
        for name in POSITIVE_INTS:
            check_positive_int(name, getattr(self, name))
        for name in NON_NEGATIVE_INTS:
            check_non_negative_int(name, getattr(self, name))
        check_positive_number("fps", self.fps, allow_none=True)
        check_positive_number("learning_rate", self.learning_rate)
        # A baseline given an attention penalty fails here, before the run.
        check_action_model_hyperparameters(
            self.model, **self.model_hyperparameters()
        )

    def model_hyperparameters(self):
        """The arguments of `vidattn.models.build_action_model` for `model`.

        The one place where the configuration meets the models: each model
        gets the fields it takes, and the attention penalty always, so that
        a baseline refuses a penalty it cannot apply. The softmax regression
        baseline takes no `dropout` from the configuration: it trains
        without, as it always has. The attention model unrolls its loop
        over the frames under `jit_compile`, which needs it.

        Returns:
            A dict of hyperparameters.
        """
        taken = set(action_model_hyperparameters(self.model))
        if self.model == "softmax_regression":
            taken.discard("dropout")
        values = self.to_dict()
        hyperparameters = {
            name: values[name] for name in sorted(taken) if name in values
        }
        hyperparameters["attention_penalty"] = self.attention_penalty
        if hyperparameters.get("feature_normalization") == "none":
            hyperparameters["feature_normalization"] = None
        if "unroll" in taken:
            # XLA needs the loop over the frames unrolled.
            hyperparameters["unroll"] = self.jit_compile
        return hyperparameters
