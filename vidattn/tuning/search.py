"""Running a keras-tuner search of the action model on feature datasets."""

import os

import keras_tuner

from vidattn.training.action_training import feature_metadata
from vidattn.training.non_finite_loss_error import NonFiniteLossError
from vidattn.training.stop_on_non_finite_loss import StopOnNonFiniteLoss
from vidattn.training.window_padding import report_window_padding
from vidattn.tuning.action_hypermodel import ActionHyperModel
from vidattn.tuning.distributed_role import DistributedRole
from vidattn.utils.arguments import check_non_negative_number
from vidattn.utils.arguments import check_one_of
from vidattn.utils.arguments import check_positive_int
from vidattn.utils.atomic_write import atomic_output_path

TUNERS = {
    "random": keras_tuner.RandomSearch,
    "hyperband": keras_tuner.Hyperband,
    "bayesian": keras_tuner.BayesianOptimization,
}


def _check_values(name, values, check):
    values = list(values)
    if not values:
        raise ValueError(
            f"Expected at least one value in `{name}`. Received none."
        )
    return [
        check(f"{name}[{index}]", value) for index, value in enumerate(values)
    ]


def _last_line(message):
    lines = (message or "").strip().splitlines()
    return lines[-1] if lines else "no message"


def _check_trials(search, folder, error=None):
    """Refuses a search without a finished trial, naming why trials failed.

    keras-tuner keeps going past failed trials and, when none finished,
    still returns one of them as the best. Trials that diverged (the
    search's `StopOnNonFiniteLoss`) are a user's problem, reported as a
    `ValueError`; any other failure is re-raised as keras-tuner reports it.
    """
    trials = search.oracle.trials.values()
    failed = [trial for trial in trials if trial.status == "FAILED"]
    finished = [trial for trial in trials if trial.status == "COMPLETED"]
    if error is None and finished:
        return
    diverged = [
        trial
        for trial in failed
        if NonFiniteLossError.__name__ in (trial.message or "")
    ]
    if failed and len(diverged) == len(failed):
        last = _last_line(diverged[-1].message).split(": ", 1)[-1]
        raise ValueError(
            f"Expected a trial that trains with finite losses. Received "
            f"{len(diverged)} diverged trials and {len(finished)} finished "
            f"in {folder}; the last: {last}"
        ) from error
    if error is not None:
        raise error
    raise RuntimeError(
        f"No trial of the search in {folder} finished. The last failure: "
        + (failed[-1].message if failed else "none")
    )


def run_search(
    train,
    validation,
    directory,
    project_name="action_model",
    tuner="random",
    max_trials=20,
    epochs=5,
    window=30,
    stride=1,
    fps=None,
    batch_size=32,
    depths=(1, 2, 3),
    widths=(128, 256, 512, 1024),
    penalties=(0.0, 1.0, 10.0),
    seed=0,
    verbose=1,
):
    """Searches depth, width and lambda on the validation loss; resumable.

    Args:
        train, validation: `vidattn.data.FeatureDataset`s.
        directory, project_name: where keras-tuner keeps the trials; an
            existing search there is resumed (`overwrite=False`).
        tuner: `"random"`, `"hyperband"` or `"bayesian"`.
        max_trials: int. Trials of random and Bayesian search.
        epochs: int. Epochs per trial (hyperband's maximum).
        window, stride, fps, batch_size: the training windows.
        depths, widths, penalties: the values searched.
        seed: int.
        verbose: Keras verbosity.

    Returns:
        A dict with `"hyperparameters"` (the best trial's values),
        `"model_path"` (the best model, saved as `best.keras` in the
        search's folder) and `"tuner"`. A worker of a distributed search
        (see `DistributedRole`) returns `"tuner_id"`, `"trials"` (the
        `keras_tuner` trials it ran, in order) and `"tuner"` instead: the
        chief, which waits in `search()` until every trial has ended, checks
        the trials and saves the best model.

    Raises:
        ValueError: if an argument is out of range, keras-tuner's
            environment variables are half set or invalid, or no trial
            trained with finite losses (a trial whose loss becomes NaN or
            inf stops, fails and is never chosen).
    """
    role = DistributedRole.from_environment()
    check_one_of("tuner", tuner, tuple(TUNERS))
    check_positive_int("max_trials", max_trials)
    check_positive_int("epochs", epochs)
    depths = _check_values("depths", depths, check_positive_int)
    widths = _check_values("widths", widths, check_positive_int)
    penalties = _check_values("penalties", penalties, check_non_negative_number)
    hypermodel = ActionHyperModel(
        len(train.class_names),
        window,
        train.grid_size,
        train.channels,
        multi_label=train.multi_label,
        depths=depths,
        widths=widths,
        penalties=penalties,
        class_names=train.class_names,
        feature_metadata=feature_metadata(train, window, fps),
    )
    options = dict(
        objective="val_loss",
        directory=directory,
        project_name=project_name,
        seed=seed,
        overwrite=False,
    )
    if tuner == "hyperband":
        search = TUNERS[tuner](hypermodel, max_epochs=epochs, **options)
    else:
        search = TUNERS[tuner](hypermodel, max_trials=max_trials, **options)
    window_options = dict(
        window_length=window, target_fps=fps, stride=stride, dtype=train.dtype
    )
    report_window_padding(train, validation, window, fps, verbose)
    folder = os.path.join(directory, project_name)
    trials_run = role.record_trials(search)
    try:
        search.search(
            train.windows(batch_size, seed=seed, **window_options),
            validation_data=validation.windows(
                batch_size, shuffle=False, **window_options
            ),
            epochs=epochs,
            verbose=verbose,
            callbacks=[StopOnNonFiniteLoss()],
        )
    except RuntimeError as error:
        if role.is_worker:  # It holds no trials to check.
            raise
        # keras-tuner's "Number of consecutive failures exceeded the limit".
        _check_trials(search, folder, error)
    if role.is_worker:
        # The chief holds the trials' results and chooses the best model.
        return {
            "tuner_id": role.tuner_id,
            "trials": trials_run,
            "tuner": search,
        }
    _check_trials(search, folder)
    best_hyperparameters = search.get_best_hyperparameters(1)[0]
    model = search.get_best_models(1)[0]
    model_path = os.path.join(folder, "best.keras")
    with atomic_output_path(model_path, suffix=".keras") as temporary:
        model.save(temporary)
    return {
        "hyperparameters": best_hyperparameters.values,
        "model_path": model_path,
        "tuner": search,
    }
