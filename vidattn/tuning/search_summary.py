"""The table of a search's trials: best first, with what each cost."""

import csv
import json
import os

from vidattn.tuning.trial_recorder import RESOURCES_FILE
from vidattn.utils.atomic_write import atomic_write

SUMMARY_FILE = "summary.csv"

# keras-tuner's bookkeeping values that say nothing about the model.
_HIDDEN_VALUES = ("tuner/bracket", "tuner/round")


def _resources(tuner, trial_id):
    path = os.path.join(tuner.project_dir, f"trial_{trial_id}", RESOURCES_FILE)
    if not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8") as file:
        return json.load(file)


def search_summary(tuner):
    """One row per trial of a search, the best first.

    Completed trials come first, by their objective (best first), then the
    others by trial id.

    Args:
        tuner: a keras-tuner tuner whose search ran (or was reloaded).

    Returns:
        A list of dicts: `trial`, `status`, the objective's name (its best
        epoch's value, `None` unless completed), `best_epoch`, `epochs`
        (the last epoch trained), `seconds` and `rss_mb` (the process's
        resident memory after the trial; `None` if it was not recorded),
        then the trial's hyperparameter values.
    """
    oracle = tuner.oracle
    objective = oracle.objective
    completed = sorted(
        (t for t in oracle.trials.values() if t.status == "COMPLETED"),
        key=lambda t: t.score,
        reverse=objective.direction == "max",
    )
    others = sorted(
        (t for t in oracle.trials.values() if t.status != "COMPLETED"),
        key=lambda t: t.trial_id,
    )
    rows = []
    for trial in completed + others:
        values = trial.hyperparameters.values
        resources = _resources(tuner, trial.trial_id)
        best_epoch = None
        if trial.status == "COMPLETED" and trial.best_step is not None:
            best_epoch = values.get("tuner/initial_epoch", 0) + (
                trial.best_step + 1
            )
        row = {
            "trial": trial.trial_id,
            "status": trial.status,
            objective.name: trial.score
            if trial.status == "COMPLETED"
            else None,
            "best_epoch": best_epoch,
            "epochs": resources.get("epochs"),
            "seconds": resources.get("seconds"),
            "rss_mb": resources.get("rss_mb"),
        }
        row.update(
            (name, value)
            for name, value in values.items()
            if name not in _HIDDEN_VALUES
        )
        rows.append(row)
    return rows


def _columns(rows):
    columns = []
    for row in rows:
        columns += [name for name in row if name not in columns]
    return columns


def _text(value):
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def format_search_summary(rows):
    """The rows of `search_summary` as an aligned text table."""
    if not rows:
        return "No trials."
    columns = _columns(rows)
    cells = [columns] + [
        [_text(row.get(name)) for name in columns] for row in rows
    ]
    widths = [
        max(len(line[index]) for line in cells) for index in range(len(columns))
    ]
    return "\n".join(
        "  ".join(
            cell.ljust(width) for cell, width in zip(line, widths)
        ).rstrip()
        for line in cells
    )


def write_search_summary(rows, path):
    """Writes the rows of `search_summary` as a CSV file, atomically.

    Returns:
        The path written.
    """
    with atomic_write(path) as file:
        writer = csv.DictWriter(
            file, fieldnames=_columns(rows), lineterminator="\n"
        )
        writer.writeheader()
        writer.writerows(rows)
    return os.fspath(path)
