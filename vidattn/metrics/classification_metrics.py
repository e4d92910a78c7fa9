"""Video-level scores: accuracy and confusion (single-label), AP and mAP."""

import numpy as np

from vidattn.metrics.prediction_checks import check_class_labels
from vidattn.metrics.prediction_checks import check_multi_hot_labels
from vidattn.metrics.prediction_checks import check_probabilities


def confusion_matrix(labels, predictions, num_classes):
    """`matrix[true, predicted]` counts, int64 `(num_classes, num_classes)`.

    Raises:
        ValueError: if the lengths differ or a class is out of range.
    """
    predictions = np.asarray(predictions).reshape(-1)
    labels = check_class_labels(labels, len(predictions), num_classes)
    predictions = check_class_labels(predictions, len(predictions), num_classes)
    matrix = np.zeros((num_classes, num_classes), np.int64)
    np.add.at(matrix, (labels, predictions), 1)
    return matrix


def classification_scores(probabilities, labels, class_names):
    """Accuracy, per-class accuracy and the confusion matrix.

    Args:
        probabilities: `(videos, num_classes)` video predictions.
        labels: int `(videos,)` true classes.
        class_names: list of str.

    Returns:
        A dict: `"accuracy"`, `"per_class_accuracy"` ({name: accuracy or
        None for a class with no video}), `"confusion_matrix"` (nested list,
        rows are true classes).

    Raises:
        ValueError: if `probabilities` is not `(videos, len(class_names))`
            or holds a NaN or inf, or a label is not a class index.
    """
    probabilities = check_probabilities(probabilities, len(class_names))
    labels = check_class_labels(labels, len(probabilities), len(class_names))
    predictions = probabilities.argmax(-1)
    matrix = confusion_matrix(labels, predictions, len(class_names))
    per_class = {}
    for index, name in enumerate(class_names):
        total = matrix[index].sum()
        per_class[name] = float(matrix[index, index] / total) if total else None
    return {
        "accuracy": float(np.mean(predictions == labels))
        if len(labels)
        else 0.0,
        "per_class_accuracy": per_class,
        "confusion_matrix": matrix.tolist(),
    }


def average_precision(scores, relevant):
    """Non-interpolated average precision of one class.

    The mean of the precision at the rank of every relevant video, ranking by
    decreasing score (ties broken by the order given, deterministic). `None`
    when no video is relevant.
    """
    scores = np.asarray(scores, dtype=np.float64)
    relevant = np.asarray(relevant).astype(bool)
    if not relevant.any():
        return None
    order = np.argsort(-scores, kind="stable")
    hits = relevant[order]
    precision_at_rank = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float(precision_at_rank[hits].mean())


def multilabel_scores(probabilities, labels, class_names):
    """Per-class average precision and their mean (mAP), Hollywood2's metric.

    Args:
        probabilities: `(videos, num_classes)` video predictions.
        labels: multi-hot `(videos, num_classes)`.
        class_names: list of str.

    Returns:
        A dict: `"mean_average_precision"` over the classes with a positive
        video, and `"average_precision"` ({name: AP or None}).

    Raises:
        ValueError: if `probabilities` is not `(videos, len(class_names))`
            or holds a NaN or inf, or `labels` is not multi-hot of that
            shape.
    """
    probabilities = check_probabilities(probabilities, len(class_names))
    labels = check_multi_hot_labels(labels, probabilities.shape)
    per_class = {
        name: average_precision(probabilities[:, index], labels[:, index])
        for index, name in enumerate(class_names)
    }
    defined = [value for value in per_class.values() if value is not None]
    return {
        "mean_average_precision": float(np.mean(defined)) if defined else 0.0,
        "average_precision": per_class,
    }
