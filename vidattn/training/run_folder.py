"""What a training run's folder says about the run: its epochs, best model.

The shared bookkeeping of `train_action_model` and `train_caption_model`,
which write the same folder layout: `config.json`, `backup/` (Keras's
`BackupAndRestore`), `best.keras` with `best.json`, `final.keras`.
"""

import json
import os
import time

import keras

from vidattn.training.best_model_checkpoint import BestModelCheckpoint
from vidattn.training.epoch_seeding import EpochSeeding
from vidattn.training.stop_on_non_finite_loss import StopOnNonFiniteLoss
from vidattn.utils.atomic_write import atomic_output_path

BACKUP_FOLDER = "backup"
BEST_MODEL = "best.keras"
FINAL_MODEL = "final.keras"
CONFIG_FILE = "config.json"


def resume_epoch(backup_dir):
    """The last epoch that `BackupAndRestore` recorded as finished, or 0."""
    path = os.path.join(backup_dir, "training_metadata.json")
    if not os.path.exists(path):
        return 0
    with open(path, encoding="utf-8") as file:
        return int(json.load(file)["epoch"])


def resume_note(first_epoch, epochs):
    """A sentence about resuming, for the run's first line, or `""`."""
    if first_epoch >= epochs:
        return (
            f" Already trained for {first_epoch} epochs (--epochs {epochs}): "
            "nothing to do."
        )
    if first_epoch:
        return f" Resuming after epoch {first_epoch}."
    return ""


def best_record(output_dir):
    """`best.json` of the run, or `None` when there is no best model.

    `best.json` is written after `best.keras`: both, or no best model.
    """
    path = os.path.join(output_dir, "best.json")
    if not (
        os.path.exists(path)
        and os.path.exists(os.path.join(output_dir, BEST_MODEL))
    ):
        return None
    with open(path, encoding="utf-8") as file:
        return json.load(file)


def previous_configuration(output_dir, config):
    """The saved `config.json` of the run in `output_dir`, or `None`.

    Args:
        output_dir: str. The run's folder.
        config: the configuration given now (a
            `vidattn.training.SavedConfiguration`).

    Returns:
        The saved dict (configuration and data description), or `None`
        for a new run.

    Raises:
        ValueError: if the saved configuration differs from `config` in
            anything but `epochs` (which a resumed run may extend).
    """
    config_path = os.path.join(output_dir, CONFIG_FILE)
    if not os.path.exists(config_path):
        return None
    with open(config_path, encoding="utf-8") as file:
        previous = json.load(file)
    changed = {
        key: (previous.get(key), value)
        for key, value in config.to_dict().items()
        if previous.get(key) != value and key != "epochs"
    }
    if changed:
        raise ValueError(
            f"Expected the configuration of the run in {output_dir} to "
            "resume it. Received different values (saved, given): "
            f"{changed}. Use a new --output_dir for a new run."
        )
    return previous


def write_final_model(model, trained, output_dir):
    """Writes `final.keras` after `fit`, unless a finished run has one.

    A run that trained now (`trained`) writes its model. A run that found
    every epoch done writes nothing, unless it was killed between its last
    backup and its final model: then the trained weights are in the backup
    (`fit`, which restores them, did not run) and are loaded into `model`
    first.

    Args:
        model: the run's built and compiled `keras.Model`.
        trained: bool. Whether `fit` ran epochs in this call.
        output_dir: str. The run's folder.

    Returns:
        The path of `final.keras`.
    """
    final_path = os.path.join(output_dir, FINAL_MODEL)
    if not trained and not os.path.exists(final_path):
        model.optimizer.build(model.trainable_variables)
        model.load_weights(
            os.path.join(output_dir, BACKUP_FOLDER, "latest.weights.h5")
        )
    if trained or not os.path.exists(final_path):
        with atomic_output_path(final_path, suffix=".keras") as temporary:
            model.save(temporary)
    return final_path


def epoch_pipelines(make_epoch, first_epoch, epochs):
    """One input pipeline per remaining epoch, concatenated for `fit`.

    Args:
        make_epoch: callable `epoch -> tf.data.Dataset`, the data of that
            epoch (shuffled by the run's seed and the epoch alone).
        first_epoch: int. The first epoch to run (0, or where a killed run
            resumes).
        epochs: int. The run's epochs.

    Returns:
        A `tf.data.Dataset`: the epochs from `first_epoch` on, one after
        the other (at least one, so that `fit` can be called when nothing
        is left to train).
    """
    data = None
    for epoch in range(first_epoch, max(epochs, first_epoch + 1)):
        more = make_epoch(epoch)
        data = more if data is None else data.concatenate(more)
    return data


def run_callbacks(output_dir, seed, scoring=(), monitor="val_loss", mode="min"):
    """The callbacks of a resumable run that writes `output_dir`, in order.

    `StopOnNonFiniteLoss` first, so that nothing after it saves a
    non-finite epoch; `EpochSeeding`; `BackupAndRestore`; then `scoring`
    (callbacks that put validation metrics into the epoch's logs),
    `BestModelCheckpoint` on `monitor`, `CSVLogger` (`history.csv`) and
    `TensorBoard` (`logs/`), which all read those logs.

    Args:
        output_dir: str. The run's folder.
        seed: int. The run's seed.
        scoring: callbacks that add metrics to the epoch's logs.
        monitor, mode: what `BestModelCheckpoint` chooses the best on.

    Returns:
        A list of Keras callbacks.
    """
    return [
        StopOnNonFiniteLoss(
            advice=f"Nothing from this epoch on was saved in {output_dir}. "
            "Rerunning the same command resumes from the last finished "
            "epoch and diverges again: start a new run (another output "
            "folder) with a lower learning rate, or with the data fixed."
        ),
        EpochSeeding(seed),
        # The backup outlives a finished run, so that rerunning the command
        # finds the run done (or extends it when --epochs grew) instead of
        # training it again from epoch 0.
        keras.callbacks.BackupAndRestore(
            os.path.join(output_dir, BACKUP_FOLDER),
            double_checkpoint=True,
            delete_checkpoint=False,
        ),
        *scoring,
        BestModelCheckpoint(
            os.path.join(output_dir, BEST_MODEL), monitor=monitor, mode=mode
        ),
        keras.callbacks.CSVLogger(
            os.path.join(output_dir, "history.csv"), append=True
        ),
        keras.callbacks.TensorBoard(os.path.join(output_dir, "logs")),
    ]


def fit_resumably(
    model,
    train_data,
    validation_data,
    *,
    output_dir,
    epochs,
    first_epoch,
    steps_per_epoch,
    callbacks,
    verbose,
):
    """Runs the epochs left after `first_epoch`, then writes the final model.

    Args:
        model: the run's built and compiled `keras.Model`.
        train_data: the epochs' data from `epoch_pipelines`.
        validation_data: the validation data of `fit`.
        output_dir: str. The run's folder.
        epochs: int. The run's epochs.
        first_epoch: int. The last finished epoch (`resume_epoch`).
        steps_per_epoch: int.
        callbacks: the run's callbacks (`run_callbacks` and more).
        verbose: Keras `fit` verbosity.

    Returns:
        The summary dict of `train_action_model` and `train_caption_model`.
    """
    started = time.perf_counter()
    history = {}
    if first_epoch < epochs:
        history = model.fit(
            train_data,
            epochs=epochs,
            steps_per_epoch=steps_per_epoch,
            validation_data=validation_data,
            callbacks=callbacks,
            verbose=verbose,
            # The data of each epoch are shuffled already, by (seed, epoch).
            shuffle=False,
        ).history
    final_path = write_final_model(model, bool(history), output_dir)
    best = best_record(output_dir)
    return {
        "output_dir": output_dir,
        "best_model": os.path.join(output_dir, BEST_MODEL) if best else None,
        "best": best,
        "final_model": final_path,
        "resumed_from_epoch": first_epoch,
        "history": history,
        "seconds": time.perf_counter() - started,
    }
