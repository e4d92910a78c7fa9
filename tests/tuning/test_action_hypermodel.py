import csv
import glob
import os

import keras
import keras_tuner
import numpy as np
import pytest
import tensorflow as tf
from tensorboard.plugins.hparams import plugin_data_pb2

import vidattn
from tests.fixtures.feature_datasets import write_split
from vidattn.datasets.moving_region import generate_moving_region_videos
from vidattn.tuning import ActionHyperModel
from vidattn.tuning import run_search


def generated_split(directory, videos, frames, seed, split="train"):
    return vidattn.data.FeatureDataset(
        write_split(
            directory,
            generate_moving_region_videos(videos, frames=frames, seed=seed),
            split,
        )
    )


def test_hypermodel_builds_the_choices_it_is_given():
    hypermodel = ActionHyperModel(
        3,
        5,
        2,
        8,
        depths=(2,),
        widths=(16,),
        penalties=(10.0,),
        class_names=("a", "b", "c"),
        feature_metadata={"window": 5},
    )
    hp = keras_tuner.HyperParameters()
    model = hypermodel.build(hp)
    assert isinstance(model, vidattn.models.ActionRecognizer)
    assert model.class_names == ("a", "b", "c")
    assert model.feature_metadata == {"window": 5}
    assert (model.num_layers, model.units, model.attention_penalty) == (
        2,
        16,
        10.0,
    )
    assert model.compiled
    assert set(hp.values) == {
        "units",
        "num_layers",
        "attention_penalty",
        "dropout",
        "learning_rate",
    }


@pytest.mark.slow
def test_ranges_and_several_attention_forms_are_searched():
    hypermodel = ActionHyperModel(
        3,
        5,
        2,
        8,
        depths=(1,),
        widths=(4,),
        penalty_range=(0.0, 10.0),
        dropout_range=(0.2, 0.2),
        attentions=("linear", "additive"),
        objective="video_accuracy",
    )
    hp = keras_tuner.HyperParameters()
    model = hypermodel.build(hp)
    space = {item.name: item for item in hp.space}
    assert type(space["attention_penalty"]).__name__ == "Float"
    assert (
        space["attention_penalty"].min_value,
        space["attention_penalty"].max_value,
    ) == (0.0, 10.0)
    assert space["attention"].values == ["linear", "additive"]
    assert "dropout" not in space  # One value: fixed, not searched.
    assert model.dropout == 0.2
    assert hypermodel.objective.name == "val_video_accuracy"
    assert hypermodel.objective.direction == "max"


@pytest.mark.parametrize(
    "arguments, message",
    [
        (dict(attentions=("linear", "soft")), r"attentions\[1\]"),
        (dict(penalty_range=(5.0, 1.0)), "low <= high"),
        (dict(dropout_range=(0.0, 1.0)), r"dropout_range\[1\]"),
        (dict(objective="bleu4"), "scores a action model|scores captioning"),
        (
            dict(objective="video_accuracy", multi_label=True),
            "objective='video_map'",
        ),
    ],
)
def test_a_wrong_search_space_or_objective_is_refused(arguments, message):
    with pytest.raises(ValueError, match=message):
        ActionHyperModel(3, 5, 2, 8, **arguments)


@pytest.mark.slow
def test_a_search_runs_resumes_and_saves_the_best_model(tmp_path):
    train = generated_split(
        tmp_path / "train", 24, frames=6, seed=1, split="train"
    )
    validation = generated_split(
        tmp_path / "val", 8, frames=6, seed=2, split="validation"
    )
    options = dict(
        directory=str(tmp_path / "search"),
        max_trials=2,
        epochs=1,
        window=4,
        stride=2,
        batch_size=8,
        depths=(1, 2),
        widths=(8, 16),
        penalties=(0.0, 1.0),
        objective="val_loss",
        verbose=0,
    )
    best = run_search(
        train, validation, tensorboard_dir=str(tmp_path / "logs"), **options
    )
    assert best["hyperparameters"]["num_layers"] in (1, 2)
    assert os.path.exists(best["model_path"])
    saved = keras.models.load_model(best["model_path"])
    assert saved.class_names == train.class_names
    assert saved.feature_metadata["window"] == 4
    trials = best["tuner"].oracle.trials
    assert len(trials) == 2
    # The table: best first, with each trial's cost.
    with open(best["summary_path"]) as file:
        rows = list(csv.DictReader(file))
    scores = sorted(trial.score for trial in trials.values())
    assert [float(row["val_loss"]) for row in rows] == pytest.approx(scores)
    assert {row["trial"] for row in rows} == set(trials)
    for row in rows:
        assert row["status"] == "COMPLETED"
        assert (row["epochs"], row["best_epoch"]) == ("1", "1")
        assert 100 < float(row["rss_mb"]) < 20_000
        assert int(row["num_layers"]) in (1, 2)
    # TensorBoard's HParams view: each trial's hyperparameters and session.
    for trial_id, trial in trials.items():
        (events,) = glob.glob(
            str(tmp_path / "logs" / trial_id / "execution0" / "events.*")
        )
        tags = {
            value.tag: value
            for event in tf.compat.v1.train.summary_iterator(events)
            for value in event.summary.value
        }
        assert "_hparams_/session_start_info" in tags
        content = plugin_data_pb2.HParamsPluginData.FromString(
            tags["_hparams_/session_start_info"].metadata.plugin_data.content
        )
        hparams = content.session_start_info.hparams
        assert hparams["units"].number_value == trial.hyperparameters["units"]
    # A second call finds both trials done and runs none again.
    again = run_search(train, validation, **options)
    assert len(again["tuner"].oracle.trials) == 2
    assert again["hyperparameters"] == best["hyperparameters"]


@pytest.mark.slow
@pytest.mark.parametrize(
    "tuner, tuner_class",
    [
        ("hyperband", keras_tuner.Hyperband),
        ("bayesian", keras_tuner.BayesianOptimization),
    ],
)
def test_hyperband_and_bayesian_searches_run(tmp_path, tuner, tuner_class):
    if tuner == "bayesian":
        # keras-tuner's Gaussian process is scikit-learn's.
        pytest.importorskip("sklearn")
    data = generated_split(
        tmp_path / "train", 4, frames=4, seed=1, split="train"
    )
    best = run_search(
        data,
        data,
        directory=str(tmp_path / "search"),
        tuner=tuner,
        max_trials=2,
        epochs=2,
        window=2,
        batch_size=4,
        depths=(1,),
        widths=(4, 8),
        penalties=(0.0, 1.0),
        verbose=0,
    )
    assert isinstance(best["tuner"], tuner_class)
    trials = best["tuner"].oracle.trials.values()
    assert {trial.status for trial in trials} == {"COMPLETED"}
    if tuner == "hyperband":
        # Hyperband's epochs are its own hyperparameters of each trial.
        assert {trial.hyperparameters["tuner/epochs"] for trial in trials} == {
            2
        }
    else:
        assert len(trials) == 2
    assert os.path.exists(best["model_path"])


def test_bayesian_search_without_scikit_learn_says_what_to_install(tmp_path):
    try:
        import sklearn  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("scikit-learn is installed")
    data = generated_split(
        tmp_path / "train", 2, frames=2, seed=1, split="train"
    )
    with pytest.raises(ImportError, match="keras-tuner\\[bayesian\\]"):
        run_search(
            data,
            data,
            directory=str(tmp_path / "search"),
            tuner="bayesian",
            window=2,
            depths=(1,),
            widths=(4,),
            verbose=0,
        )


class DivergedHyperModel(ActionHyperModel):
    """Every trial's model starts with NaN weights, as a diverged one."""

    def build(self, hp):
        model = super().build(hp)
        weight = model.trainable_weights[0]
        weight.assign(np.full(weight.shape, np.nan, "float32"))
        return model


@pytest.mark.parametrize(
    "max_trials", [1, pytest.param(3, marks=pytest.mark.slow)]
)
def test_a_search_whose_trials_all_diverge_is_refused(
    tmp_path, monkeypatch, max_trials
):
    # One failed trial, or three (keras-tuner's limit of failures in a row).
    monkeypatch.setattr(
        "vidattn.tuning.search.ActionHyperModel", DivergedHyperModel
    )
    data = generated_split(
        tmp_path / "train", 4, frames=4, seed=1, split="train"
    )
    with pytest.raises(ValueError) as error:
        run_search(
            data,
            data,
            directory=str(tmp_path / "search"),
            max_trials=max_trials,
            epochs=1,
            window=4,
            batch_size=4,
            depths=(1,),
            widths=(4,),
            penalties=(0.0,),
            verbose=0,
        )
    message = str(error.value)
    assert f"{max_trials} diverged trials and 0 finished" in message
    assert "non-finite training loss (nan) at epoch 1 of 1, batch 1" in (
        message
    )
    assert not os.path.exists(
        tmp_path / "search" / "action_model" / "best.keras"
    )


def test_the_search_space_is_checked_at_once(tmp_path):
    with pytest.raises(ValueError, match=r"depths\[1\]=0"):
        run_search(None, None, str(tmp_path), depths=(1, 0))
