"""The metrics a search optimizes: the papers' metrics, by name and task."""

import keras_tuner

from vidattn.utils.arguments import check_one_of

TASKS = ("action", "captioning")

# Each name: the epoch log it reads, its direction, and the tasks it scores.
_OBJECTIVES = {
    "video_accuracy": ("val_video_accuracy", "max", ("action",)),
    "video_map": ("val_video_map", "max", ("action",)),
    "bleu4": ("val_BLEU-4", "max", ("captioning",)),
    "meteor": ("val_METEOR", "max", ("captioning",)),
    "val_loss": ("val_loss", "min", TASKS),
}
OBJECTIVES = tuple(_OBJECTIVES)
"""The names `search_objective` knows."""


def default_objective(task, multi_label=False):
    """The metric the thesis reports for a task, as an objective name.

    Args:
        task: `"action"` or `"captioning"`.
        multi_label: bool. Multi-label action data (Hollywood2), scored by
            mAP. Defaults to `False`.

    Returns:
        `"video_accuracy"`, `"video_map"` or `"bleu4"`.
    """
    if check_one_of("task", task, TASKS) == "captioning":
        return "bleu4"
    return "video_map" if multi_label else "video_accuracy"


def search_objective(name, task, multi_label=False):
    """The keras-tuner objective that `name` names, checked against the task.

    The video metrics are computed on the validation split after every
    epoch, under the thesis's protocol, and written into the epoch's logs
    (`val_video_accuracy`, `val_video_map`, `val_BLEU-4`, `val_METEOR`), so
    that keras-tuner keeps each trial's best epoch and Hyperband compares
    trials on them.

    Args:
        name: str. One of `OBJECTIVES`, or `None` for the task's default
            (`default_objective`).
        task: `"action"` or `"captioning"`.
        multi_label: bool. Whether the action data are multi-label.

    Returns:
        A `keras_tuner.Objective`.

    Raises:
        ValueError: if `name` is unknown or does not score the task
            (e.g. `"bleu4"` for an action model, or `"video_accuracy"` for
            multi-label data).

    Example:

    >>> from vidattn.tuning.search_objectives import search_objective
    >>> search_objective("video_map", "action", multi_label=True)
    Objective(name="val_video_map", direction="max")
    """
    check_one_of("task", task, TASKS)
    if name is None:
        name = default_objective(task, multi_label)
    log_name, direction, tasks = _OBJECTIVES[
        check_one_of("objective", name, OBJECTIVES)
    ]
    if task not in tasks:
        known = [key for key, value in _OBJECTIVES.items() if task in value[2]]
        raise ValueError(
            f"Expected an objective that scores a {task} model: "
            f"{', '.join(known)}. Received: objective={name!r}, which scores "
            f"{' and '.join(tasks)} models."
        )
    if name == "video_accuracy" and multi_label:
        raise ValueError(
            "Expected objective='video_map' (or 'val_loss') for multi-label "
            "data, whose videos have several classes (Hollywood2: the thesis "
            "reports mAP). Received: objective='video_accuracy'."
        )
    return keras_tuner.Objective(log_name, direction)
