"""Checks of the predictions and labels that the scores are computed from."""

import numpy as np

# How many row indices a message lists.
_SHOWN = 10


def _listed(indices):
    shown = [int(index) for index in indices[:_SHOWN]]
    more = len(indices) - len(shown)
    return f"{shown}" + (f" and {more} more" if more > 0 else "")


def check_probabilities(probabilities, num_classes, unit="videos"):
    """Returns `probabilities` as float64 `(rows, num_classes)`, all finite.

    Args:
        probabilities: array-like `(rows, num_classes)`.
        num_classes: int, or `None` for any number of columns.
        unit: str. What a row is (`"videos"`, `"windows"`), for messages.

    Raises:
        ValueError: on another shape, or a NaN or inf, naming the rows.
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if probabilities.ndim != 2 or (
        num_classes is not None and probabilities.shape[1] != num_classes
    ):
        columns = "classes" if num_classes is None else num_classes
        names = "" if num_classes is None else f" ({num_classes} class names)"
        raise ValueError(
            f"Expected probabilities of shape ({unit}, {columns}), one "
            f"column per class{names}. Received shape "
            f"{probabilities.shape}."
        )
    bad = np.flatnonzero(~np.isfinite(probabilities).all(axis=1))
    if len(bad):
        raise ValueError(
            "Expected finite probabilities (no NaN or inf). Received "
            f"non-finite values in {len(bad)} of {len(probabilities)} "
            f"{unit}: rows {_listed(bad)}."
        )
    return probabilities


def check_class_labels(labels, num_rows, num_classes):
    """Returns int64 `(num_rows,)` labels, each in `[0, num_classes)`.

    Raises:
        ValueError: on another length or a label out of range.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1 or len(labels) != num_rows:
        raise ValueError(
            f"Expected {num_rows} labels of shape ({num_rows},), one per "
            f"video. Received {labels.size} of shape {labels.shape}."
        )
    if labels.size and not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(
            f"Expected integer class labels. Received dtype {labels.dtype}."
        )
    labels = labels.astype(np.int64)
    bad = np.flatnonzero((labels < 0) | (labels >= num_classes))
    if len(bad):
        raise ValueError(
            f"Expected labels in [0, {num_classes}), one of the "
            f"{num_classes} classes. Received {labels[bad][:_SHOWN].tolist()}"
            f" in rows {_listed(bad)}."
        )
    return labels


def check_multi_hot_labels(labels, shape):
    """Returns `labels` as a bool array of `shape`, each value 0 or 1.

    Raises:
        ValueError: on another shape or a value other than 0 and 1.
    """
    labels = np.asarray(labels)
    if labels.shape != tuple(shape):
        raise ValueError(
            f"Expected multi-hot labels of shape {tuple(shape)} (videos, "
            f"classes). Received shape {labels.shape}."
        )
    bad = np.flatnonzero(~np.isin(labels, (0, 1)).all(axis=-1))
    if len(bad):
        raise ValueError(
            "Expected multi-hot labels of 0 or 1. Received other values in "
            f"rows {_listed(bad)}."
        )
    return labels.astype(bool)
