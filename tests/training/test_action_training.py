import csv
import json
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from tests.fixtures.feature_datasets import write_split
from vidattn.datasets.moving_region import generate_moving_region_videos
from vidattn.training import TrainingConfig
from vidattn.training import train_action_model


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
    }
    assert TrainingConfig(jit_compile=True).model_hyperparameters()["unroll"]
    # The softmax regression baseline trains without dropout, as it did.
    assert TrainingConfig(
        model="softmax_regression"
    ).model_hyperparameters() == {
        "weight_decay": 1e-5,
        "seed": 0,
        "attention_penalty": 0.0,
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
