"""Checked search-space arguments and their keras-tuner hyperparameters."""

from vidattn.utils.arguments import check_fraction
from vidattn.utils.arguments import check_non_negative_number
from vidattn.utils.arguments import check_one_of
from vidattn.utils.arguments import check_positive_number


def check_choices(name, values, check):
    """`values` as a list, each checked by `check(f"{name}[i]", value)`.

    Raises:
        ValueError: if `values` is empty or a value fails its check.
    """
    values = list(values)
    if not values:
        raise ValueError(
            f"Expected at least one value in `{name}`. Received none."
        )
    return [
        check(f"{name}[{index}]", value) for index, value in enumerate(values)
    ]


def check_attention_forms(name, values, known):
    """Attention forms, each one of `known`, in the order given."""
    return check_choices(
        name, values, lambda key, value: check_one_of(key, value, known)
    )


def check_range(name, bounds, check=check_non_negative_number):
    """A `(low, high)` pair of numbers, `low <= high`, each checked.

    Raises:
        ValueError: if `bounds` is not such a pair.
    """
    try:
        low, high = bounds
    except (TypeError, ValueError):
        raise ValueError(
            f"Expected `{name}` to be a pair (low, high). Received: "
            f"{name}={bounds!r}"
        ) from None
    low, high = check(f"{name}[0]", low), check(f"{name}[1]", high)
    if low > high:
        raise ValueError(
            f"Expected `{name}` to be a pair (low, high) with low <= high. "
            f"Received: {name}={bounds!r}"
        )
    return (low, high)


def check_dropout_range(name, bounds):
    """A `(low, high)` pair of dropout rates in `[0, 1)`."""
    return check_range(name, bounds, check_fraction)


def check_learning_rate_range(name, bounds):
    """A `(low, high)` pair of learning rates > 0 (searched on a log scale)."""
    return check_range(name, bounds, check_positive_number)


def check_common_space(
    penalties,
    penalty_range,
    dropout_range,
    learning_rate_range,
    attentions,
    known_attentions,
):
    """The checked values of what both models' searches share.

    Returns:
        A dict with the keys `"penalties"`, `"penalty_range"` (or `None`),
        `"dropout_range"`, `"learning_rate_range"` and `"attentions"`.
    """
    return {
        "penalties": check_choices(
            "penalties", penalties, check_non_negative_number
        ),
        "penalty_range": None
        if penalty_range is None
        else check_range("penalty_range", penalty_range),
        "dropout_range": check_dropout_range("dropout_range", dropout_range),
        "learning_rate_range": check_learning_rate_range(
            "learning_rate_range", learning_rate_range
        ),
        "attentions": check_attention_forms(
            "attentions", attentions, known_attentions
        ),
    }


def choice_or_value(hp, name, values):
    """`hp.Choice(name, values)`, or the one value when there is only one.

    A single value is no search: it stays out of the trials'
    hyperparameters.
    """
    if len(values) == 1:
        return values[0]
    return hp.Choice(name, values)


def penalty_hyperparameter(hp, penalties, penalty_range):
    """lambda: a choice among `penalties`, or uniform over `penalty_range`."""
    if penalty_range is not None:
        low, high = penalty_range
        return hp.Float("attention_penalty", low, high)
    return hp.Choice("attention_penalty", penalties)


def dropout_hyperparameter(hp, dropout_range):
    """The dropout rate in steps of 0.1 (0.5, the thesis's, by default)."""
    low, high = dropout_range
    if low == high:
        return low
    default = min(max(0.5, low), high)
    return hp.Float("dropout", low, high, step=0.1, default=default)


def learning_rate_hyperparameter(hp, learning_rate_range):
    """The learning rate on a log scale (1e-3, Adam's default, by default)."""
    low, high = learning_rate_range
    if low == high:
        return low
    default = min(max(1e-3, low), high)
    return hp.Float("learning_rate", low, high, sampling="log", default=default)


def fit_with_metrics(model, metrics_callback, *args, callbacks=(), **kwargs):
    """`model.fit`, with `metrics_callback` before keras-tuner's callbacks.

    The callback writes the objective into each epoch's logs, so it must
    run before keras-tuner's best-epoch checkpoint, TensorBoard and the
    history read them.
    """
    first = [metrics_callback] if metrics_callback is not None else []
    return model.fit(*args, callbacks=first + list(callbacks), **kwargs)
