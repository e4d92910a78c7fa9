"""Running a keras-tuner search of the action model on feature datasets."""

import os

import keras_tuner

from vidattn.training.action_training import feature_metadata
from vidattn.tuning.action_hypermodel import ActionHyperModel
from vidattn.utils.arguments import check_one_of
from vidattn.utils.atomic_write import atomic_output_path

TUNERS = {
    "random": keras_tuner.RandomSearch,
    "hyperband": keras_tuner.Hyperband,
    "bayesian": keras_tuner.BayesianOptimization,
}


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
        search's folder) and `"tuner"`.

    Raises:
        ValueError: if `tuner` is not one of the three.
    """
    check_one_of("tuner", tuner, tuple(TUNERS))
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
    window_options = dict(window_length=window, target_fps=fps, stride=stride)
    search.search(
        train.windows(batch_size, seed=seed, **window_options),
        validation_data=validation.windows(
            batch_size, shuffle=False, **window_options
        ),
        epochs=epochs,
        verbose=verbose,
    )
    best_hyperparameters = search.get_best_hyperparameters(1)[0]
    model = search.get_best_models(1)[0]
    model_path = os.path.join(directory, project_name, "best.keras")
    with atomic_output_path(model_path, suffix=".keras") as temporary:
        model.save(temporary)
    return {
        "hyperparameters": best_hyperparameters.values,
        "model_path": model_path,
        "tuner": search,
    }
