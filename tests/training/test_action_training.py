import csv
import json
import os
import subprocess
import sys
import textwrap

import h5py
import keras
import numpy as np
import pytest

from tests.fixtures.feature_datasets import shortened
from tests.fixtures.feature_datasets import write_split
from vidattn.data import FeatureDataset
from vidattn.datasets.moving_region import generate_moving_region_videos
from vidattn.training import BestModelCheckpoint
from vidattn.training import NonFiniteLossError
from vidattn.training import TrainingConfig
from vidattn.training import train_action_model
from vidattn.training import window_padding_note


@pytest.fixture(scope="module")
def datasets(tmp_path_factory):
    root = tmp_path_factory.mktemp("moving_region")
    train = generate_moving_region_videos(80, frames=12, seed=1)
    validation = generate_moving_region_videos(24, frames=12, seed=2)
    return write_split(root / "train", train, "train"), write_split(
        root / "validation", validation, "validation"
    )


def small_config(**overrides):
    values = dict(
        units=16,
        num_layers=2,
        window=8,
        stride=2,
        batch_size=16,
        epochs=3,
        learning_rate=3e-3,
        attention_images=2,
        seed=3,
    )
    values.update(overrides)
    return TrainingConfig(**values)


class StopAfterEpoch(keras.callbacks.Callback):
    """Simulates a kill right after an epoch's backup was written."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            raise KeyboardInterrupt("killed")


def test_a_killed_run_resumes_to_the_weights_of_an_unkilled_run(
    datasets, tmp_path
):
    train_dir, validation_dir = datasets
    config = small_config()
    uninterrupted = train_action_model(
        config, train_dir, validation_dir, tmp_path / "a", verbose=0
    )
    with pytest.raises(KeyboardInterrupt):
        train_action_model(
            config,
            train_dir,
            validation_dir,
            tmp_path / "b",
            verbose=0,
            callbacks=[StopAfterEpoch(1)],
        )
    assert os.path.exists(tmp_path / "b" / "backup" / "latest.weights.h5")
    resumed = train_action_model(
        config, train_dir, validation_dir, tmp_path / "b", verbose=0
    )
    assert resumed["resumed_from_epoch"] == 2
    assert len(resumed["history"]["loss"]) == 1
    expected = keras.models.load_model(
        uninterrupted["final_model"]
    ).get_weights()
    received = keras.models.load_model(resumed["final_model"]).get_weights()
    for e, r in zip(expected, received):
        np.testing.assert_allclose(r, e, rtol=1e-4, atol=1e-5)
    with open(tmp_path / "b" / "history.csv") as file:
        epochs = [int(row["epoch"]) for row in csv.DictReader(file)]
    assert epochs == [0, 1, 2]


def test_outputs_of_a_run(datasets, tmp_path):
    train_dir, validation_dir = datasets
    summary = train_action_model(
        small_config(epochs=2), train_dir, validation_dir, tmp_path, verbose=0
    )
    saved = json.load(open(tmp_path / "config.json"))
    assert saved["units"] == 16 and saved["class_names"] == [
        "class_0",
        "class_1",
        "class_2",
        "class_3",
    ]
    best = json.load(open(tmp_path / "best.json"))
    assert best["monitor"] == "val_loss"
    assert min(summary["history"]["val_loss"]) == pytest.approx(best["value"])
    assert os.path.isdir(tmp_path / "logs" / "images")
    best_model = keras.models.load_model(summary["best_model"])
    assert best_model.num_classes == 4
    assert list(best_model.class_names) == saved["class_names"] and (
        keras.models.load_model(summary["final_model"]).class_names
        == best_model.class_names
    )
    assert best_model.feature_metadata == {
        "backbone": "generated",
        "layer": "moving_region",
        "input_size": [4, 4],
        "grid_size": 4,
        "channels": 32,
        "stored_fps": 10.0,
        "fps": 10.0,
        "window": 8,
    }
    assert not [name for name in os.listdir(tmp_path) if ".tmp" in name]

    # Rerunning a finished run finds it done: nothing is trained or rewritten.
    written = {
        name: os.path.getmtime(tmp_path / name)
        for name in ("final.keras", "best.keras", "history.csv")
    }
    again = train_action_model(
        small_config(epochs=2), train_dir, validation_dir, tmp_path, verbose=0
    )
    assert again["history"] == {} and again["resumed_from_epoch"] == 2
    assert written == {
        name: os.path.getmtime(tmp_path / name) for name in written
    }


def test_a_different_configuration_in_the_same_folder_is_refused(
    datasets, tmp_path
):
    train_dir, validation_dir = datasets
    train_action_model(
        small_config(epochs=1), train_dir, validation_dir, tmp_path, verbose=0
    )
    with pytest.raises(
        ValueError, match=r"Received different values .*'units': \(16, 32\)"
    ):
        train_action_model(
            small_config(epochs=1, units=32),
            train_dir,
            validation_dir,
            tmp_path,
            verbose=0,
        )


@pytest.mark.parametrize(
    "model", ["average_pooled", "max_pooled", "softmax_regression"]
)
def test_baselines_train_through_the_same_path(datasets, tmp_path, model):
    train_dir, validation_dir = datasets
    summary = train_action_model(
        small_config(model=model, epochs=1),
        train_dir,
        validation_dir,
        tmp_path,
        verbose=0,
    )
    assert np.isfinite(summary["history"]["loss"][0])


def test_the_configuration_maps_onto_the_model_factory():
    assert TrainingConfig(attention_penalty=1.0).model_hyperparameters() == {
        "units": 512,
        "num_layers": 3,
        "attention": "linear",
        "attention_penalty": 1.0,
        "dropout": 0.5,
        "weight_decay": 1e-5,
        "seed": 0,
        "unroll": False,
        "feature_normalization": "mean_norm",
    }
    assert TrainingConfig(jit_compile=True).model_hyperparameters()["unroll"]
    assert (
        TrainingConfig(feature_normalization="none").model_hyperparameters()[
            "feature_normalization"
        ]
        is None
    )
    # The softmax regression baseline trains without dropout, as it did.
    assert TrainingConfig(
        model="softmax_regression"
    ).model_hyperparameters() == {
        "weight_decay": 1e-5,
        "seed": 0,
        "attention_penalty": 0.0,
        "feature_normalization": "mean_norm",
    }


@pytest.mark.parametrize(
    "model", ["average_pooled", "max_pooled", "softmax_regression"]
)
def test_a_baseline_with_an_attention_penalty_is_refused_at_once(model):
    with pytest.raises(ValueError, match="attention_penalty=1.0"):
        TrainingConfig(model=model, attention_penalty=1.0)


@pytest.mark.slow
def test_one_and_two_logical_cpu_devices_give_the_same_loss(tmp_path):
    script = textwrap.dedent(
        """
        import sys, numpy as np, tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * 2
        )
        import keras, vidattn
        rng = np.random.default_rng(0)
        x = rng.normal(size=(8, 5, 2, 2, 8)).astype("float32")
        y = rng.integers(0, 3, 8)
        losses = []
        for devices in (["/cpu:0"], ["/cpu:0", "/cpu:1"]):
            strategy = tf.distribute.MirroredStrategy(devices)
            keras.utils.set_random_seed(0)
            with strategy.scope():
                model = vidattn.models.ActionRecognizer(
                    3, units=8, num_layers=2, dropout=0.0,
                    attention_penalty=1.0,
                )
                model(x[:1])
                model.compile(optimizer=keras.optimizers.SGD(0.1))
            history = model.fit(
                x, y, batch_size=8, epochs=3, shuffle=False, verbose=0
            )
            losses.append(history.history["loss"])
        print(losses)
        np.testing.assert_allclose(losses[0], losses[1], rtol=1e-5)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-3000:]


class Diverge(keras.callbacks.Callback):
    """Sets a weight to NaN before a batch, as a diverging step would."""

    def __init__(self, epoch, batch):
        super().__init__()
        self.epoch, self.batch, self.current = epoch, batch, None

    def on_epoch_begin(self, epoch, logs=None):
        self.current = epoch

    def on_train_batch_begin(self, batch, logs=None):
        if (self.current, batch) == (self.epoch, self.batch):
            weight = self.model.trainable_weights[0]
            weight.assign(np.full(weight.shape, np.nan, "float32"))


def all_finite(weights_file):
    values = []
    with h5py.File(weights_file, "r") as file:
        file.visititems(
            lambda name, item: (
                values.append(np.isfinite(item[()]).all())
                if isinstance(item, h5py.Dataset)
                else None
            )
        )
    return bool(values) and all(values)


def test_a_diverging_run_stops_and_resumes_from_its_last_finite_epoch(
    datasets, tmp_path
):
    train_dir, validation_dir = datasets
    config = small_config(epochs=2, attention_images=0)
    # 80 videos of 12 frames, 8-frame windows, stride 2: 240 windows, 15
    # batches of 16.
    with pytest.raises(NonFiniteLossError) as error:
        train_action_model(
            config,
            train_dir,
            validation_dir,
            tmp_path,
            verbose=0,
            callbacks=[Diverge(epoch=1, batch=2)],
        )
    message = str(error.value)
    assert "non-finite training loss (nan) at epoch 2 of 2, batch 3 of 15" in (
        message
    )
    for cause in ("learning rate", "features", "mixed_float16"):
        assert cause in message
    # Nothing was saved from the NaN weights: no final model, the best
    # model and the backup are those of epoch 1.
    assert not os.path.exists(tmp_path / "final.keras")
    assert json.load(open(tmp_path / "best.json"))["epoch"] == 1
    backup = tmp_path / "backup"
    assert json.load(open(backup / "training_metadata.json"))["epoch"] == 1
    assert all_finite(backup / "latest.weights.h5")

    resumed = train_action_model(
        config, train_dir, validation_dir, tmp_path, verbose=0
    )
    assert resumed["resumed_from_epoch"] == 1
    assert np.isfinite(resumed["history"]["loss"]).all()
    final = keras.models.load_model(resumed["final_model"])
    assert all(np.isfinite(w).all() for w in final.get_weights())


def test_a_non_finite_validation_loss_stops_the_run(datasets, tmp_path):
    train_dir, validation_dir = datasets

    class DivergeAtEpochEnd(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 14:
                weight = self.model.trainable_weights[0]
                weight.assign(np.full(weight.shape, np.inf, "float32"))

    with pytest.raises(
        NonFiniteLossError,
        match=r"non-finite validation loss \(nan\) at epoch 1 of 1",
    ):
        train_action_model(
            small_config(epochs=1, attention_images=0),
            train_dir,
            validation_dir,
            tmp_path,
            verbose=0,
            callbacks=[DivergeAtEpochEnd()],
        )
    assert not os.path.exists(tmp_path / "best.keras")
    assert not os.path.exists(tmp_path / "final.keras")
    assert not os.path.exists(tmp_path / "backup" / "latest.weights.h5")


def test_the_best_model_is_never_a_non_finite_one(tmp_path):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    for mode, values in (
        ("min", [float("nan"), float("-inf"), float("inf")]),
        ("max", [float("nan"), float("inf"), float("-inf")]),
    ):
        checkpoint = BestModelCheckpoint(tmp_path / f"{mode}.keras", mode=mode)
        checkpoint.set_model(model)
        for epoch, value in enumerate(values):
            checkpoint.on_epoch_end(epoch, {"val_loss": value})
        assert not os.path.exists(tmp_path / f"{mode}.keras")
        checkpoint.on_epoch_end(3, {"val_loss": 2.0})
        assert json.load(open(tmp_path / "best.json"))["epoch"] == 4


def test_a_finished_run_that_lost_its_final_model_writes_the_trained_one(
    datasets, tmp_path
):
    train_dir, validation_dir = datasets
    config = small_config(epochs=1, attention_images=0)
    train_action_model(config, train_dir, validation_dir, tmp_path, verbose=0)
    # As after a kill between the last backup and the final model.
    os.remove(tmp_path / "final.keras")
    again = train_action_model(
        config, train_dir, validation_dir, tmp_path, verbose=0
    )
    assert again["history"] == {}
    # One epoch: the best model is the trained one, not a new model.
    expected = keras.models.load_model(tmp_path / "best.keras").get_weights()
    received = keras.models.load_model(again["final_model"]).get_weights()
    for e, r in zip(expected, received):
        np.testing.assert_array_equal(r, e)


def test_windows_longer_than_the_videos_are_reported_once(tmp_path, caplog):
    videos = generate_moving_region_videos(6, frames=12, seed=1)
    # Every video is shorter than the 16-frame window: 8 to 12 frames.
    short = write_split(
        tmp_path / "short", shortened(videos, [8, 10, 12]), "train"
    )
    # Two of six videos are shorter than 10 frames.
    some = write_split(
        tmp_path / "some", shortened(videos, [8, 12, 12]), "validation"
    )
    data = FeatureDataset(short)
    assert window_padding_note(data, 16, None, "training") == (
        f"Every training video ({short}) is shorter than the 16-frame window "
        "at 10 fps: the videos have 8 to 12 frames, so 4 to 8 frames of "
        "each window repeat the last frame."
    )
    assert window_padding_note(data, 6, 5.0, "training") == (
        f"4 of 6 training videos ({short}) are shorter than the 6-frame "
        "window at 5 fps (stored at 10 fps): they have 4 to 5 frames at "
        "5 fps, so 1 to 2 frames of their one window repeat the last frame."
    )
    assert window_padding_note(data, 8, None, "training") is None
    assert window_padding_note(
        FeatureDataset(some), 10, None, "validation"
    ) == (
        f"2 of 6 validation videos ({some}) are shorter than the 10-frame "
        "window at 10 fps: they have 8 frames, so 2 frames of their one "
        "window repeat the last frame."
    )
    with caplog.at_level("WARNING"):
        train_action_model(
            small_config(window=16, epochs=1, attention_images=0),
            short,
            some,
            tmp_path / "run",
            verbose=0,
        )
    notes = [
        record.getMessage()
        for record in caplog.records
        if "shorter than" in record.getMessage()
    ]
    assert len(notes) == 2, notes
    assert notes[0].startswith("Every training video")
    assert notes[1].startswith("Every validation video")


def test_the_folder_that_disagrees_is_named(tmp_path):
    videos = generate_moving_region_videos(4, frames=8, seed=1)
    train = write_split(tmp_path / "train", videos, "train")
    other_layer = write_split(
        tmp_path / "validation", videos, "validation", layer="block_6"
    )
    with pytest.raises(ValueError) as error:
        train_action_model(
            small_config(), train, other_layer, tmp_path / "run", verbose=0
        )
    message = str(error.value)
    assert f"training data ({train})" in message
    assert f"validation data ({other_layer})" in message
    assert "layer: 'moving_region' and 'block_6'" in message
    assert not os.path.exists(tmp_path / "run" / "config.json")
    # Windows of the stored frames would have another rate in each.
    uneven = write_split(
        tmp_path / "uneven", videos, "validation", stored_fps=None
    )
    with pytest.raises(ValueError, match="stored_fps: 10.0 and None"):
        train_action_model(
            small_config(), train, uneven, tmp_path / "run", verbose=0
        )


def test_resuming_on_data_of_other_classes_is_refused(tmp_path):
    videos = generate_moving_region_videos(8, frames=8, seed=1)
    train = write_split(tmp_path / "train", videos, "train")
    validation = write_split(tmp_path / "validation", videos, "validation")
    config = small_config(epochs=1, window=4, attention_images=0)
    train_action_model(config, train, validation, tmp_path / "run", verbose=0)
    renamed = ["walk", "run", "jump", "swim"]
    other_train = write_split(
        tmp_path / "other_train", videos, "train", class_names=renamed
    )
    other_validation = write_split(
        tmp_path / "other_validation",
        videos,
        "validation",
        class_names=renamed,
    )
    with pytest.raises(ValueError) as error:
        train_action_model(
            small_config(epochs=2, window=4, attention_images=0),
            other_train,
            other_validation,
            tmp_path / "run",
            verbose=0,
        )
    message = str(error.value)
    assert str(tmp_path / "run" / "config.json") in message
    assert other_train in message and "class_names" in message
