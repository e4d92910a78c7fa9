"""Training the action models on TFRecord feature datasets, resumably."""

import math
import os

import keras
import numpy as np
import tensorflow as tf

from vidattn.data.feature_dataset import FeatureDataset
from vidattn.models.action_model_factory import build_action_model
from vidattn.training.attention_image_logger import AttentionImageLogger
from vidattn.training.run_folder import BACKUP_FOLDER
from vidattn.training.run_folder import CONFIG_FILE
from vidattn.training.run_folder import epoch_pipelines
from vidattn.training.run_folder import fit_resumably
from vidattn.training.run_folder import previous_configuration
from vidattn.training.run_folder import resume_epoch
from vidattn.training.run_folder import resume_note
from vidattn.training.run_folder import run_callbacks
from vidattn.training.window_padding import report_window_padding


def feature_metadata(data, window, fps=None):
    """What a model trained on windows of `data` reads, for its config.

    Args:
        data: the training `vidattn.data.FeatureDataset`.
        window: int. Frames per training window.
        fps: float or `None`. The windows' frame rate; `None` for the
            stored frames.

    Returns:
        The `feature_metadata` dict of `vidattn.models.VideoClassifier`.
    """
    return {
        "backbone": data.backbone,
        "layer": data.layer,
        "input_size": list(data.input_size),
        "grid_size": data.grid_size,
        "channels": data.channels,
        "stored_fps": data.stored_fps,
        "fps": fps if fps is not None else data.stored_fps,
        "window": window,
    }


def make_strategy(name):
    """`tf.distribute` strategy: the default one, or mirrored over all devices.

    `"mirrored"` replicates over every GPU, or over every logical CPU device
    when there is no GPU (see `tf.config.set_logical_device_configuration`).
    Raises:
        ValueError: `"mirrored"` under a Keras backend other than
            TensorFlow.
    """
    if name == "default":
        return tf.distribute.get_strategy()
    if keras.backend.backend() != "tensorflow":
        raise ValueError(
            "Expected strategy='default' under Keras's "
            f"{keras.backend.backend()} backend: 'mirrored' is TensorFlow's "
            "tf.distribute.MirroredStrategy. Received: strategy='mirrored'. "
            "Train with --backend tensorflow to replicate the model over "
            "devices."
        )
    devices = tf.config.list_logical_devices(
        "GPU"
    ) or tf.config.list_logical_devices("CPU")
    return tf.distribute.MirroredStrategy([device.name for device in devices])


# What a model trained on a dataset depends on, as config.json keeps it.
def _data_description(data):
    return {
        "class_names": list(data.class_names),
        "multi_label": data.multi_label,
        "backbone": data.backbone,
        "layer": data.layer,
        "feature_shape": [data.grid_size, data.grid_size, data.channels],
    }


def _check_compatible(train, validation, fps):
    expected = _data_description(train)
    received = _data_description(validation)
    if fps is None:
        # Windows of the stored frames: the same rate only if both agree.
        expected["stored_fps"] = train.stored_fps
        received["stored_fps"] = validation.stored_fps
    for name, value in received.items():
        if value != expected[name]:
            raise ValueError(
                f"Expected training and validation data of the same "
                f"features and classes. The training data ({train.directory})"
                f" and the validation data ({validation.directory}) disagree "
                f"on {name}: {expected[name]!r} and {value!r}."
            )


def _check_resumable(previous, train, config_path):
    # A run resumed on other data would go on training its weights under
    # other classes or features.
    for name, value in _data_description(train).items():
        if name in previous and previous[name] != value:
            raise ValueError(
                f"Expected training data like the run's to resume it: "
                f"{config_path} has {name}={previous[name]!r}. Received "
                f"{name}={value!r} in {train.directory}. Use a new output "
                "folder for a run on other data."
            )


def train_action_model(
    config, train_dir, validation_dir, output_dir, verbose="auto", callbacks=()
):
    """Trains an action model; resumes from `output_dir` if a run was killed.

    Writes into `output_dir`: `config.json` (the resolved configuration and
    the data it ran on), `backup/` (`keras.callbacks.BackupAndRestore`: the
    weights and optimizer after the last finished epoch), `best.keras` (the
    best model on the validation windows' loss, never chosen on test data)
    with `best.json`, `final.keras`, `history.csv` and TensorBoard logs in
    `logs/`. The models carry the class names and a description of the
    features (`model.class_names`, `model.feature_metadata`). Rerunning the
    same command after a kill continues from the last finished epoch; the
    data order and dropout masks of every epoch depend only on
    `(config.seed, epoch)`, so it ends with the weights an unkilled run
    would have.

    Args:
        config: a `vidattn.training.TrainingConfig`.
        train_dir, validation_dir: dataset folders (`ShardWriter` output).
        output_dir: str. The run's folder.
        verbose: Keras `fit` verbosity.
        callbacks: extra Keras callbacks.

    A loss or weight that becomes NaN or inf stops the run with
    `vidattn.training.NonFiniteLossError`, before anything of that epoch is
    saved: the backup, `best.keras` and `history.csv` keep the last finite
    epoch and no `final.keras` is written. A non-finite validation loss is
    never chosen as the best. Videos shorter than a window (their window
    repeats the last frame) are reported once per dataset, with the
    figures.

    Returns:
        A dict with the paths written (`"best_model"` is `None` when no
        best model was written; `"best"` is its `best.json` record), the
        epochs run in this call and the final history.

    Raises:
        ValueError: if the two datasets disagree, the folder holds the run
            of another configuration or of other data, or the strategy is
            `"mirrored"` under a Keras backend other than TensorFlow.
        vidattn.training.NonFiniteLossError: (a `ValueError`) if the loss
            or the weights stop being finite.
    """
    make_strategy(config.strategy)  # Refuses one the backend cannot run.
    os.makedirs(output_dir, exist_ok=True)
    config_path = os.path.join(output_dir, CONFIG_FILE)
    train = FeatureDataset(train_dir)
    validation = FeatureDataset(validation_dir)
    _check_compatible(train, validation, config.fps)
    previous = previous_configuration(output_dir, config)
    if previous is not None:
        _check_resumable(previous, train, config_path)
    config.save(
        config_path,
        train_data=os.path.abspath(train_dir),
        validation_data=os.path.abspath(validation_dir),
        **_data_description(train),
    )

    keras.mixed_precision.set_global_policy(config.precision)
    keras.utils.set_random_seed(config.seed)
    backup_dir = os.path.join(output_dir, BACKUP_FOLDER)
    first_epoch = resume_epoch(backup_dir)
    window_options = dict(
        window_length=config.window, target_fps=config.fps, stride=config.stride
    )
    num_windows = train.num_windows(**window_options)
    # Windows in the stored dtype (float16 by default): the model casts
    # them to its compute dtype, and the pipeline moves half the bytes.
    window_options["dtype"] = train.dtype
    steps_per_epoch = math.ceil(num_windows / config.batch_size)
    if verbose:
        fps = config.fps if config.fps is not None else train.stored_fps
        print(
            f"Training {config.model} ({keras.backend.backend()} backend) "
            f"on {len(train.video_ids)} videos: "
            f"{num_windows} windows of {config.window} frames at {fps} fps, "
            f"stride {config.stride} ({steps_per_epoch} steps per epoch); "
            f"validating on {len(validation.video_ids)} videos."
            + resume_note(first_epoch, config.epochs),
            flush=True,
        )
    report_window_padding(train, validation, config.window, config.fps, verbose)
    # One pipeline per remaining epoch, shuffled by (seed, epoch).
    train_data = epoch_pipelines(
        lambda epoch: train.windows(
            config.batch_size,
            shuffle_buffer_size=config.shuffle_buffer,
            seed=config.seed * 10_007 + epoch,
            deterministic=True,
            **window_options,
        ),
        first_epoch,
        config.epochs,
    )
    validation_data = validation.windows(
        config.batch_size, shuffle=False, **window_options
    )

    strategy = make_strategy(config.strategy)
    with strategy.scope():
        model = build_action_model(
            config.model,
            len(train.class_names),
            multi_label=train.multi_label,
            class_names=train.class_names,
            feature_metadata=feature_metadata(train, config.window, config.fps),
            **config.model_hyperparameters(),
        )
        model(
            np.zeros(
                (
                    1,
                    config.window,
                    train.grid_size,
                    train.grid_size,
                    train.channels,
                ),
                "float32",
            )
        )
        optimizer = keras.optimizers.get(
            {
                "class_name": config.optimizer,
                "config": {"learning_rate": config.learning_rate},
            }
        )
        # `jit_compile=False` passed to Keras would run every op of a JAX
        # step eagerly; left out, each backend takes the model's default.
        compile_options = {"jit_compile": True} if config.jit_compile else {}
        model.compile(optimizer=optimizer, **compile_options)

    callbacks_of_run = run_callbacks(output_dir, config.seed)
    if config.model == "attention" and config.attention_images > 0:
        sample = next(
            iter(
                validation.windows(
                    config.attention_images, shuffle=False, **window_options
                )
            )
        )
        callbacks_of_run.append(
            AttentionImageLogger(
                os.path.join(output_dir, "logs"), sample[0]["features"].numpy()
            )
        )
    callbacks_of_run += list(callbacks)
    summary = fit_resumably(
        model,
        train_data,
        validation_data,
        output_dir=output_dir,
        epochs=config.epochs,
        first_epoch=first_epoch,
        steps_per_epoch=steps_per_epoch,
        callbacks=callbacks_of_run,
        verbose=verbose,
    )
    return summary
