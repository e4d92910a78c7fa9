"""Running a keras-tuner search of the action model or the captioner."""

import os
import shutil
import warnings

import keras
import keras_tuner

from vidattn.metrics.caption_metrics import import_scorers
from vidattn.metrics.java_not_found_error import JavaNotFoundError
from vidattn.training.action_training import feature_metadata
from vidattn.training.caption_inputs import build_caption_tokenizer
from vidattn.training.caption_training import caption_feature_metadata
from vidattn.training.caption_training import records_sampling
from vidattn.training.non_finite_loss_error import NonFiniteLossError
from vidattn.training.stop_on_non_finite_loss import StopOnNonFiniteLoss
from vidattn.training.window_padding import report_window_padding
from vidattn.tuning.action_hypermodel import ActionHyperModel
from vidattn.tuning.caption_hypermodel import CaptionHyperModel
from vidattn.tuning.distributed_role import DistributedRole
from vidattn.tuning.search_objectives import TASKS
from vidattn.tuning.search_objectives import default_objective
from vidattn.tuning.search_objectives import search_objective
from vidattn.tuning.search_space import check_choices
from vidattn.tuning.search_summary import SUMMARY_FILE
from vidattn.tuning.search_summary import format_search_summary
from vidattn.tuning.search_summary import search_summary
from vidattn.tuning.search_summary import write_search_summary
from vidattn.tuning.trial_recorder import TrialRecorder
from vidattn.utils.arguments import check_non_negative_int
from vidattn.utils.arguments import check_non_negative_number
from vidattn.utils.arguments import check_one_of
from vidattn.utils.arguments import check_positive_int
from vidattn.utils.atomic_write import atomic_output_path

TUNERS = {
    "random": keras_tuner.RandomSearch,
    "hyperband": keras_tuner.Hyperband,
    "bayesian": keras_tuner.BayesianOptimization,
}
BEST_MODEL_FILE = "best.keras"


def _last_line(message):
    lines = (message or "").strip().splitlines()
    return lines[-1] if lines else "no message"


def check_trials(search, folder, error=None):
    """Refuses a search without a finished trial, naming why trials failed.

    keras-tuner keeps going past failed trials and, when none finished,
    still returns one of them as the best. Trials that diverged (the
    search's `StopOnNonFiniteLoss`) are a user's problem, reported as a
    `ValueError`; any other failure is re-raised as keras-tuner reports it.

    Args:
        search: the keras-tuner tuner.
        folder: str. The search's folder, for the message.
        error: the exception that stopped the search, or `None`.

    Raises:
        ValueError: if every failed trial diverged and none finished.
        RuntimeError: if no trial finished for another reason (or
            `error`, re-raised).
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


def save_best_model(search, folder):
    """Saves the best trial's model (its best epoch) as `best.keras`.

    Returns:
        The path written.
    """
    with warnings.catch_warnings():
        # keras-tuner's checkpoint holds the trial's optimizer, which the
        # rebuilt model has not created yet: only the weights are wanted.
        warnings.filterwarnings("ignore", "Skipping variable loading")
        model = search.get_best_models(1)[0]
    model_path = os.path.join(folder, BEST_MODEL_FILE)
    with atomic_output_path(model_path, suffix=".keras") as temporary:
        model.save(temporary)
    return model_path


def summarize_search(search, folder, verbose=1):
    """Writes the trials' table as `summary.csv` and, with `verbose`, prints it.

    Returns:
        The rows of `vidattn.tuning.search_summary.search_summary`.
    """
    rows = search_summary(search)
    path = write_search_summary(rows, os.path.join(folder, SUMMARY_FILE))
    if verbose:
        print(f"Trials, best first ({path}):")
        print(format_search_summary(rows), flush=True)
    return rows


def make_tuner(
    name,
    hypermodel,
    directory,
    project_name,
    max_trials=20,
    epochs=5,
    seed=0,
    tensorboard_dir=None,
    verbose=1,
    trials_per_process=0,
):
    """A keras-tuner tuner of `hypermodel` that records each trial's cost.

    Args:
        name: `"random"`, `"hyperband"` or `"bayesian"`.
        hypermodel: an `ActionHyperModel` or a `CaptionHyperModel` (its
            `objective` is the tuner's).
        directory, project_name: where the trials are kept; an existing
            search there is resumed.
        max_trials: int. Trials of random and Bayesian search.
        epochs: int. Epochs per trial (Hyperband's maximum).
        seed: int. Seed of the search.
        tensorboard_dir: str or `None`. The TensorBoard folder of the
            search's `keras.callbacks.TensorBoard`.
        verbose: whether to print a line per trial.
        trials_per_process: int. Trials `search()` runs in this process
            before it raises `TrialsPerProcessReached`; 0 for no limit.

    Returns:
        The tuner, a `vidattn.tuning.TrialRecorder` subclass of the
        keras-tuner class that `name` names.
    """
    base = TUNERS[check_one_of("tuner", name, tuple(TUNERS))]
    # The recorder's hooks run around those of any of the three tuners.
    tuner_class = type(f"Recorded{base.__name__}", (TrialRecorder, base), {})
    options = dict(
        objective=hypermodel.objective,
        directory=directory,
        project_name=project_name,
        seed=seed,
        overwrite=False,
    )
    if name == "hyperband":
        tuner = tuner_class(hypermodel, max_epochs=epochs, **options)
    else:
        tuner = tuner_class(hypermodel, max_trials=max_trials, **options)
    tuner.tensorboard_dir = tensorboard_dir
    tuner.verbose = bool(verbose)
    tuner.trials_per_process = trials_per_process
    return tuner


def _check_scoring_available(objective):
    if objective == "val_loss":
        return
    import_scorers()
    if shutil.which("java") is None:
        error = JavaNotFoundError(
            ["coco-caption's PTB tokenizer (run before every caption metric)"]
            + (["METEOR"] if objective == "meteor" else [])
        )
        error.args = (
            f"{error} Or search on the validation loss: "
            "objective='val_loss' (--objective val_loss).",
        )
        raise error


def _caption_hypermodel(train, space, max_length, min_count, **kwargs):
    _check_scoring_available(kwargs["objective"])
    tokenizer = build_caption_tokenizer(
        train, max_length=max_length, min_count=min_count
    )
    # The captioner has one LSTM layer.
    del space["depths"]
    return CaptionHyperModel(
        tokenizer,
        int(train.num_frames.max()),
        train.grid_size,
        train.channels,
        feature_metadata=caption_feature_metadata(
            train, records_sampling(train)
        ),
        max_length=max_length,
        **space,
        **kwargs,
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
    *,
    task="action",
    objective=None,
    penalty_range=None,
    dropout_range=(0.0, 0.6),
    learning_rate_range=(1e-4, 1e-2),
    attentions=("linear",),
    embedding_dims=(256, 512),
    beam_widths=(4,),
    validation_videos=100,
    max_length=30,
    min_count=1,
    tensorboard_dir=None,
    trials_per_process=0,
):
    """Searches a model's hyperparameters on a paper's metric; resumable.

    The action model (`task="action"`, `vidattn.tuning.ActionHyperModel`)
    is chosen on the video accuracy (mAP for multi-label data) of the
    validation videos under the thesis's protocol, the captioner
    (`task="captioning"`, `vidattn.tuning.CaptionHyperModel`) on the
    BLEU-4 of its beam-search sentences, by default. The search resumes
    from its folder: finished trials are kept, and the trial a kill
    interrupted runs again. At the end, the trials' table (best first,
    with each trial's seconds, epochs and the process's resident memory
    after it) is written as `summary.csv` in the search's folder and
    printed, and the best trial's model is saved as `best.keras` there.

    Args:
        train, validation: `vidattn.data.FeatureDataset`s (with captions
            for captioning).
        directory, project_name: where keras-tuner keeps the trials.
        tuner: `"random"`, `"hyperband"` or `"bayesian"`.
        max_trials: int. Trials of random and Bayesian search.
        epochs: int. Epochs per trial (Hyperband's maximum).
        window, stride, fps: the action model's windows.
        batch_size: int. Windows or captions per batch.
        depths: LSTM depths searched (action).
        widths: LSTM widths searched.
        penalties: lambda values searched, unless `penalty_range` is given.
        seed: int. Seed of the search and of every trial's training.
        verbose: Keras verbosity; when true, a line per trial and the table.
        task: `"action"` or `"captioning"`.
        objective: a name of `vidattn.tuning.OBJECTIVES` for the task, or
            `None` for the task's default (`default_objective`).
        penalty_range: `(low, high)` or `None`: lambda searched uniformly.
        dropout_range, learning_rate_range: `(low, high)` searched.
        attentions: attention forms searched.
        embedding_dims, beam_widths: word embedding sizes and scoring beam
            widths searched (captioning).
        validation_videos, max_length, min_count: the sentences scored and
            the vocabulary (captioning), as in `vidattn train`.
        tensorboard_dir: str or `None`. TensorBoard logs of every trial
            (`<dir>/<trial_id>/execution0`), with keras-tuner's HParams.
        trials_per_process: int. At most this many trials run in this
            process, which then raises `TrialsPerProcessReached` between
            two trials; a new process resumes the search (TensorFlow keeps
            every trial's graphs, so one process's memory grows with its
            trials). 0, the default, runs the whole search here. A chief
            runs no trials and ignores it.

    Returns:
        A dict with `"hyperparameters"` (the best trial's values),
        `"model_path"` (`best.keras`), `"summary"` (the table's rows),
        `"summary_path"` and `"tuner"`. A worker of a distributed search
        (see `DistributedRole`) returns `"tuner_id"`, `"trials"` (the
        `keras_tuner` trials it ran, in order) and `"tuner"` instead: the
        chief, which waits in `search()` until every trial has ended, checks
        the trials, writes the summary and saves the best model.

    Raises:
        ValueError: if an argument is out of range, the objective does not
            score the task, keras-tuner's environment variables are half set
            or invalid, or no trial trained with finite losses (a trial
            whose loss becomes NaN or inf stops, fails and is never chosen).
        vidattn.metrics.JavaNotFoundError: if captions are to be scored and
            there is no Java.
        vidattn.tuning.TrialsPerProcessReached: when `trials_per_process`
            trials have ended here and the search is not over.
    """
    role = DistributedRole.from_environment()
    check_one_of("task", task, TASKS)
    check_one_of("tuner", tuner, tuple(TUNERS))
    check_positive_int("max_trials", max_trials)
    check_positive_int("epochs", epochs)
    check_non_negative_int("trials_per_process", trials_per_process)
    # Checked before any data is read.
    check_choices("depths", depths, check_positive_int)
    check_choices("widths", widths, check_positive_int)
    check_choices("penalties", penalties, check_non_negative_number)
    multi_label = task == "action" and train.multi_label
    objective = objective or default_objective(task, multi_label)
    search_objective(objective, task, multi_label)
    space = dict(
        depths=depths,
        widths=widths,
        penalties=penalties,
        penalty_range=penalty_range,
        dropout_range=dropout_range,
        learning_rate_range=learning_rate_range,
        attentions=attentions,
    )
    if task == "captioning":
        hypermodel = _caption_hypermodel(
            train,
            dict(space, embedding_dims=embedding_dims, beam_widths=beam_widths),
            max_length,
            min_count,
            objective=objective,
            validation_videos=validation_videos,
            batch_size=batch_size,
            seed=seed,
        )
    else:
        report_window_padding(train, validation, window, fps, verbose)
        hypermodel = ActionHyperModel(
            len(train.class_names),
            window,
            train.grid_size,
            train.channels,
            multi_label=train.multi_label,
            class_names=train.class_names,
            feature_metadata=feature_metadata(train, window, fps),
            objective=objective,
            stride=stride,
            fps=fps,
            batch_size=batch_size,
            seed=seed,
            **space,
        )
    search = make_tuner(
        tuner,
        hypermodel,
        directory,
        project_name,
        max_trials=max_trials,
        epochs=epochs,
        seed=seed,
        tensorboard_dir=tensorboard_dir,
        verbose=verbose,
        trials_per_process=trials_per_process,
    )
    callbacks = [StopOnNonFiniteLoss()]
    if tensorboard_dir is not None:
        callbacks.append(keras.callbacks.TensorBoard(tensorboard_dir))
    folder = os.path.join(directory, project_name)
    trials_run = role.record_trials(search)
    try:
        search.search(
            train,
            validation_data=validation,
            epochs=epochs,
            verbose=verbose,
            callbacks=callbacks,
        )
    except RuntimeError as error:
        if role.is_worker:  # It holds no trials to check.
            raise
        # keras-tuner's "Number of consecutive failures exceeded the limit".
        check_trials(search, folder, error)
    if role.is_worker:
        # The chief holds the trials' results and chooses the best model.
        return {
            "tuner_id": role.tuner_id,
            "trials": trials_run,
            "tuner": search,
        }
    check_trials(search, folder)
    rows = summarize_search(search, folder, verbose)
    return {
        "hyperparameters": search.get_best_hyperparameters(1)[0].values,
        "model_path": save_best_model(search, folder),
        "summary": rows,
        "summary_path": os.path.join(folder, SUMMARY_FILE),
        "tuner": search,
    }
