"""Training and evaluating the action models on TFRecord feature datasets."""

import json
import math
import os
import tempfile
import time

import keras
import numpy as np
import tensorflow as tf

from vidattn.data.feature_dataset import FeatureDataset
from vidattn.metrics.classification_metrics import classification_scores
from vidattn.metrics.classification_metrics import multilabel_scores
from vidattn.metrics.video_aggregation import aggregate_video_predictions
from vidattn.models.action_recognizer import ActionRecognizer
from vidattn.models.pooled_lstm_recognizer import PooledLSTMRecognizer
from vidattn.models.softmax_regression_recognizer import (
    SoftmaxRegressionRecognizer,
)
from vidattn.training.attention_image_logger import AttentionImageLogger
from vidattn.training.best_model_checkpoint import BestModelCheckpoint
from vidattn.training.epoch_seeding import EpochSeeding

BACKUP_FOLDER = "backup"
BEST_MODEL = "best.keras"
FINAL_MODEL = "final.keras"
CONFIG_FILE = "config.json"
AGGREGATION_TEXT = {
    "mean": "mean of the per-step probabilities over each window, then mean "
    "over the video's windows",
    "vote": "mean of the per-step probabilities over each window, then a "
    "majority vote of the video's windows",
}


def build_action_model(config, num_classes, multi_label=False):
    """The model that `config.model` names, with the config's hyperparameters."""
    common = dict(
        num_classes=num_classes,
        multi_label=multi_label,
        weight_decay=config.weight_decay,
        seed=config.seed,
    )
    if config.model == "attention":
        return ActionRecognizer(
            units=config.units,
            num_layers=config.num_layers,
            attention=config.attention,
            dropout=config.dropout,
            attention_penalty=config.attention_penalty,
            **common,
        )
    if config.model in ("average_pooled", "max_pooled"):
        return PooledLSTMRecognizer(
            pooling=config.model.split("_")[0],
            units=config.units,
            num_layers=config.num_layers,
            dropout=config.dropout,
            **common,
        )
    return SoftmaxRegressionRecognizer(**common)


def make_strategy(name):
    """`tf.distribute` strategy: the default one, or mirrored over all devices.

    `"mirrored"` replicates over every GPU, or over every logical CPU device
    when there is no GPU (see `tf.config.set_logical_device_configuration`).
    """
    if name == "default":
        return tf.distribute.get_strategy()
    devices = tf.config.list_logical_devices(
        "GPU"
    ) or tf.config.list_logical_devices("CPU")
    return tf.distribute.MirroredStrategy([device.name for device in devices])


def _resume_epoch(backup_dir):
    # BackupAndRestore's record of the last finished epoch.
    path = os.path.join(backup_dir, "training_metadata.json")
    if not os.path.exists(path):
        return 0
    with open(path, encoding="utf-8") as file:
        return int(json.load(file)["epoch"])


def _check_compatible(train, validation):
    for name in (
        "class_names",
        "grid_size",
        "channels",
        "multi_label",
        "backbone",
        "layer",
    ):
        if getattr(train, name) != getattr(validation, name):
            raise ValueError(
                f"Expected the validation data to match the training data's "
                f"{name}={getattr(train, name)!r}. Received "
                f"{getattr(validation, name)!r} in {validation.directory}."
            )


def _save_atomically(model, path):
    directory = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(
        dir=directory, prefix=".tmp-", suffix=".keras"
    )
    os.close(handle)
    try:
        model.save(temporary)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def train_action_model(
    config, train_dir, validation_dir, output_dir, verbose="auto", callbacks=()
):
    """Trains an action model; resumes from `output_dir` if a run was killed.

    Writes into `output_dir`: `config.json` (the resolved configuration and
    the data it ran on), `backup/` (`keras.callbacks.BackupAndRestore`: the
    weights and optimizer after the last finished epoch), `best.keras` (the
    best model on the validation windows' loss, never chosen on test data)
    with `best.json`, `final.keras`, `history.csv` and TensorBoard logs in
    `logs/`. Rerunning the same command after a kill continues from the last
    finished epoch; the data order and dropout masks of every epoch depend
    only on `(config.seed, epoch)`, so it ends with the weights an unkilled
    run would have.

    Args:
        config: a `vidattn.training.TrainingConfig`.
        train_dir, validation_dir: dataset folders (`ShardWriter` output).
        output_dir: str. The run's folder.
        verbose: Keras `fit` verbosity.
        callbacks: extra Keras callbacks.

    Returns:
        A dict with the paths written, the epochs run in this call and the
        final history.

    Raises:
        ValueError: if the two datasets disagree or the folder holds the run
            of another configuration.
    """
    os.makedirs(output_dir, exist_ok=True)
    config_path = os.path.join(output_dir, CONFIG_FILE)
    train = FeatureDataset(train_dir)
    validation = FeatureDataset(validation_dir)
    _check_compatible(train, validation)
    if os.path.exists(config_path):
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
    config.save(
        config_path,
        train_data=os.path.abspath(train_dir),
        validation_data=os.path.abspath(validation_dir),
        class_names=list(train.class_names),
        multi_label=train.multi_label,
        backbone=train.backbone,
        layer=train.layer,
        feature_shape=[train.grid_size, train.grid_size, train.channels],
    )

    keras.mixed_precision.set_global_policy(config.precision)
    keras.utils.set_random_seed(config.seed)
    backup_dir = os.path.join(output_dir, BACKUP_FOLDER)
    first_epoch = _resume_epoch(backup_dir)
    window_options = dict(
        window_length=config.window, target_fps=config.fps, stride=config.stride
    )
    num_windows = train.num_windows(**window_options)
    steps_per_epoch = math.ceil(num_windows / config.batch_size)
    if verbose:
        fps = config.fps if config.fps is not None else train.stored_fps
        print(
            f"Training {config.model} on {len(train.video_ids)} videos: {num_windows} windows of "
            f"{config.window} frames at {fps} fps, stride {config.stride} ({steps_per_epoch} steps "
            f"per epoch); validating on {len(validation.video_ids)} videos."
            + (f" Resuming after epoch {first_epoch}." if first_epoch else ""),
            flush=True,
        )
    # One pipeline per remaining epoch, shuffled by (seed, epoch).
    epochs_data = [
        train.windows(
            config.batch_size,
            shuffle_buffer_size=config.shuffle_buffer,
            seed=config.seed * 10_007 + epoch,
            deterministic=True,
            **window_options,
        )
        for epoch in range(first_epoch, max(config.epochs, first_epoch + 1))
    ]
    train_data = epochs_data[0]
    for more in epochs_data[1:]:
        train_data = train_data.concatenate(more)
    validation_data = validation.windows(
        config.batch_size, shuffle=False, **window_options
    )

    strategy = make_strategy(config.strategy)
    with strategy.scope():
        model = build_action_model(
            config, len(train.class_names), train.multi_label
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
        model.compile(optimizer=optimizer, jit_compile=config.jit_compile)

    run_callbacks = [
        EpochSeeding(config.seed),
        keras.callbacks.BackupAndRestore(backup_dir, double_checkpoint=True),
        BestModelCheckpoint(os.path.join(output_dir, BEST_MODEL)),
        keras.callbacks.CSVLogger(
            os.path.join(output_dir, "history.csv"), append=True
        ),
        keras.callbacks.TensorBoard(os.path.join(output_dir, "logs")),
    ]
    if config.model == "attention" and config.attention_images > 0:
        sample = next(
            iter(
                validation.windows(
                    config.attention_images, shuffle=False, **window_options
                )
            )
        )
        run_callbacks.append(
            AttentionImageLogger(
                os.path.join(output_dir, "logs"), sample[0]["features"].numpy()
            )
        )
    run_callbacks += list(callbacks)
    started = time.perf_counter()
    history = {}
    if first_epoch < config.epochs:
        history = model.fit(
            train_data,
            epochs=config.epochs,
            steps_per_epoch=steps_per_epoch,
            validation_data=validation_data,
            callbacks=run_callbacks,
            verbose=verbose,
        ).history
    final_path = os.path.join(output_dir, FINAL_MODEL)
    if history or not os.path.exists(final_path):
        _save_atomically(model, final_path)
    return {
        "output_dir": output_dir,
        "best_model": os.path.join(output_dir, BEST_MODEL),
        "final_model": final_path,
        "resumed_from_epoch": first_epoch,
        "history": history,
        "seconds": time.perf_counter() - started,
    }


def predict_videos(
    model,
    data,
    window=30,
    fps=None,
    stride=1,
    aggregation="mean",
    batch_size=32,
):
    """The thesis's test protocol on a dataset: windows, then videos.

    Every window of every video (as in training) is predicted; a window's
    prediction is the mean of its per-step probabilities, a video's the mean
    (or vote) over its windows.

    Args:
        model: a trained action model.
        data: a `vidattn.data.FeatureDataset`.
        window, fps, stride: the windows, as in training.
        aggregation: `"mean"` (the thesis) or `"vote"`.
        batch_size: windows per batch.

    Returns:
        `(video_probabilities (videos, classes), video_labels)`: labels are
        int `(videos,)` or multi-hot `(videos, classes)`.
    """
    probabilities, video_index = [], []
    labels = {}
    windows = data.evaluation_windows(
        batch_size, window_length=window, target_fps=fps, stride=stride
    )
    for inputs, label in windows:
        outputs = model.predict_on_batch({"features": inputs["features"]})
        probabilities.append(outputs["probabilities"])
        indices = inputs["video_index"].numpy()
        video_index.append(indices)
        for index, value in zip(indices, label.numpy()):
            labels.setdefault(int(index), value)
    video_probabilities = aggregate_video_predictions(
        np.concatenate(probabilities),
        np.concatenate(video_index),
        num_videos=len(data.video_ids),
        method=aggregation,
    )
    video_labels = np.stack([labels[i] for i in range(len(data.video_ids))])
    return video_probabilities, video_labels


def evaluate_action_model(
    model_path,
    data_dir,
    window=30,
    fps=None,
    stride=1,
    aggregation="mean",
    batch_size=32,
):
    """Scores a saved model under the thesis's protocol, stated beside the scores.

    Returns:
        A dict: `"protocol"` (fps, window, stride, aggregation, counts),
        `"scores"` (accuracy, per-class accuracy and confusion matrix; or
        per-class AP and mAP for multi-label data), `"video_ids"`,
        `"predictions"` (video probabilities) and `"class_names"`.
    """
    data = FeatureDataset(data_dir)
    model = keras.models.load_model(model_path)
    video_probabilities, video_labels = predict_videos(
        model,
        data,
        window=window,
        fps=fps,
        stride=stride,
        aggregation=aggregation,
        batch_size=batch_size,
    )
    class_names = list(data.class_names)
    if data.multi_label:
        scores = multilabel_scores(
            video_probabilities, video_labels, class_names
        )
    else:
        scores = classification_scores(
            video_probabilities, video_labels, class_names
        )
    return {
        "protocol": {
            "data": os.path.abspath(data_dir),
            "split": data.split,
            "model": os.path.abspath(model_path),
            "stored_fps": data.stored_fps,
            "fps": fps if fps is not None else data.stored_fps,
            "window": window,
            "stride": stride,
            "aggregation": AGGREGATION_TEXT[aggregation],
            "videos": len(data.video_ids),
            "windows": int(
                data.num_windows(
                    window_length=window, target_fps=fps, stride=stride
                )
            ),
        },
        "scores": scores,
        "class_names": class_names,
        "video_ids": list(data.video_ids),
        "predictions": video_probabilities.tolist(),
    }


def format_report(report):
    """A report a person reads: the protocol first, then the scores."""
    protocol, scores = report["protocol"], report["scores"]
    lines = [
        f"Evaluation of {protocol['model']}",
        f"  data: {protocol['data']} (split {protocol['split']}): {protocol['videos']} videos, {protocol['windows']} windows",
        f"  protocol: {protocol['window']}-frame windows at {protocol['fps']} fps "
        f"(stored at {protocol['stored_fps']} fps), stride {protocol['stride']}; {protocol['aggregation']}",
    ]
    if "accuracy" in scores:
        lines.append(f"  accuracy: {scores['accuracy']:.4f}")
        lines.append("  per-class accuracy:")
        for name, value in scores["per_class_accuracy"].items():
            lines.append(
                f"    {name:<24} {'-' if value is None else f'{value:.4f}'}"
            )
        lines.append("  confusion matrix (rows: true, columns: predicted):")
        for name, row in zip(report["class_names"], scores["confusion_matrix"]):
            lines.append(
                f"    {name:<24} " + " ".join(f"{count:4d}" for count in row)
            )
    else:
        lines.append(f"  mAP: {scores['mean_average_precision']:.4f}")
        for name, value in scores["average_precision"].items():
            lines.append(
                f"    AP {name:<21} {'-' if value is None else f'{value:.4f}'}"
            )
    return "\n".join(lines)
