"""The action models by name: one factory for training, tuning and tests."""

import inspect

from vidattn.models.action_recognizer import ActionRecognizer
from vidattn.models.pooled_lstm_recognizer import PooledLSTMRecognizer
from vidattn.models.softmax_regression_recognizer import (
    SoftmaxRegressionRecognizer,
)
from vidattn.utils.arguments import check_one_of

# Each name: the model class, and the arguments that the name itself fixes.
_ACTION_MODELS = {
    "attention": (ActionRecognizer, {}),
    "average_pooled": (PooledLSTMRecognizer, {"pooling": "average"}),
    "max_pooled": (PooledLSTMRecognizer, {"pooling": "max"}),
    "softmax_regression": (SoftmaxRegressionRecognizer, {}),
}
ACTION_MODELS = tuple(_ACTION_MODELS)
"""The names `build_action_model` knows: the thesis's model, then baselines."""

# Values at which a hyperparameter changes nothing, so that a model that does
# not take it may be given it: one set of hyperparameters fits every model.
NEUTRAL_HYPERPARAMETERS = {
    "attention_penalty": 0.0,
    "attention_units": None,
    "head_units": None,
    "unroll": False,
}

# Arguments of every model that the factory passes itself.
_COMMON_ARGUMENTS = (
    "num_classes",
    "multi_label",
    "class_names",
    "feature_metadata",
)


def action_model_hyperparameters(name):
    """The hyperparameters that the model `name` takes, in its argument order.

    Args:
        name: str. One of `ACTION_MODELS`.

    Returns:
        A tuple of argument names of the model's constructor, less those
        `build_action_model` sets itself (`num_classes`, `multi_label`,
        `class_names`, `feature_metadata`) and those the name fixes (the
        pooling of `"max_pooled"`).

    Raises:
        ValueError: if `name` is not one of `ACTION_MODELS`.
    """
    model_class, fixed = _ACTION_MODELS[
        check_one_of("name", name, ACTION_MODELS)
    ]
    parameters = inspect.signature(model_class.__init__).parameters.values()
    return tuple(
        parameter.name
        for parameter in parameters
        if parameter.name not in ("self", *_COMMON_ARGUMENTS, *fixed)
        and parameter.kind is parameter.POSITIONAL_OR_KEYWORD
    )


def build_action_model(
    name,
    num_classes,
    *,
    multi_label=False,
    class_names=None,
    feature_metadata=None,
    **hyperparameters,
):
    """Builds the action model that `name` names.

    `"attention"` is the thesis's soft-attention model
    (`vidattn.models.ActionRecognizer`); `"average_pooled"` and
    `"max_pooled"` its pooled LSTM baselines
    (`vidattn.models.PooledLSTMRecognizer`); `"softmax_regression"` the
    softmax regression baseline (`vidattn.models.SoftmaxRegressionRecognizer`).

    Args:
        name: str. One of `ACTION_MODELS`.
        num_classes: int. Number of classes.
        multi_label: bool. Sigmoid outputs and binary cross-entropy. Defaults
            to `False`.
        class_names: sequence of str, or `None`. Saved with the model.
        feature_metadata: dict or `None`. Saved with the model (see
            `vidattn.models.VideoClassifier`).
        **hyperparameters: The model's own arguments (`units`, `num_layers`,
            `attention`, `attention_penalty`, `dropout`, `weight_decay`,
            `seed`, ...; see `action_model_hyperparameters(name)`). One that
            the model does not take is accepted only at the value where it
            changes nothing (`attention_penalty=0.0`, `attention_units=None`,
            `head_units=None`, `unroll=False`).

    Returns:
        An unbuilt `vidattn.models.VideoClassifier`.

    Raises:
        ValueError: if `name` is not a known model, or a hyperparameter is
            one the model does not take.

    Example:

    >>> import vidattn
    >>> model = vidattn.models.build_action_model(
    ...     "max_pooled", 11, units=256, num_layers=2, dropout=0.5
    ... )
    >>> type(model).__name__, model.pooling
    ('PooledLSTMRecognizer', 'max')
    """
    arguments = check_action_model_hyperparameters(name, **hyperparameters)
    model_class, fixed = _ACTION_MODELS[name]
    return model_class(
        num_classes,
        multi_label=multi_label,
        class_names=class_names,
        feature_metadata=feature_metadata,
        **fixed,
        **arguments,
    )


def check_action_model_hyperparameters(name, **hyperparameters):
    """The hyperparameters that the model `name` takes, checked.

    Args:
        name: str. One of `ACTION_MODELS`.
        **hyperparameters: As for `build_action_model`.

    Returns:
        A dict: the hyperparameters that the model takes, without those
        it does not take and that are at their no-op value.

    Raises:
        ValueError: if `name` is not a known model, or a hyperparameter is
            one the model does not take.
    """
    taken = action_model_hyperparameters(name)
    arguments = {}
    for key, value in hyperparameters.items():
        if key in taken:
            arguments[key] = value
        elif key not in NEUTRAL_HYPERPARAMETERS or (
            value != NEUTRAL_HYPERPARAMETERS[key]
        ):
            _refuse_hyperparameter(name, key, value, taken)
    return arguments


def _refuse_hyperparameter(name, key, value, taken):
    others = [
        other
        for other in ACTION_MODELS
        if key in action_model_hyperparameters(other)
    ]
    if not others:
        where = "no action model takes it"
    else:
        names = ", ".join(repr(other) for other in others)
        where = f"only {names} take{'s' if len(others) == 1 else ''} it"
    if key in NEUTRAL_HYPERPARAMETERS:
        where += f" (it may be {NEUTRAL_HYPERPARAMETERS[key]!r}, its no-op)"
    raise ValueError(
        f"Expected hyperparameters that the {name!r} model takes: "
        f"{', '.join(taken)}. Received: {key}={value!r}; {where}."
    )
