import types

import keras
import numpy as np
import pytest

import vidattn
from tests.fixtures.feature_datasets import write_split
from vidattn.datasets.moving_region import generate_moving_region_videos
from vidattn.evaluation import evaluate_action_model
from vidattn.evaluation import format_report
from vidattn.models import build_action_model


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("moving_region")
    videos = generate_moving_region_videos(24, frames=12, seed=2)
    return write_split(root / "validation", videos, "validation")


def save_model(path, class_names=None, num_classes=4):
    keras.utils.set_random_seed(0)
    model = build_action_model(
        "attention",
        num_classes,
        units=16,
        num_layers=2,
        class_names=class_names,
    )
    model(np.zeros((1, 8, 4, 4, 32), "float32"))
    model.save(path)
    return str(path)


def test_evaluation_states_its_protocol_and_averages_windows_per_video(
    dataset, tmp_path
):
    model_path = save_model(tmp_path / "model.keras")
    report = evaluate_action_model(model_path, dataset, window=8, stride=2)
    protocol = report["protocol"]
    assert (
        protocol["videos"] == 24
        and protocol["window"] == 8
        and protocol["fps"] == 10.0
    )
    # 12 frames, windows of 8 with stride 2 start at 0, 2, 4.
    assert protocol["windows"] == 24 * 3
    # Independent check: predict each video's windows, average, compare.
    model = keras.models.load_model(model_path)
    videos = list(vidattn.data.FeatureDataset(dataset).videos())
    correct = 0
    for video, predicted in zip(videos, report["predictions"]):
        windows = np.stack(
            [video["features"][s : s + 8] for s in (0, 2, 4)]
        ).astype("float32")
        mean = model.predict(windows, verbose=0)["probabilities"].mean(0)
        np.testing.assert_allclose(predicted, mean, atol=1e-5)
        correct += int(mean.argmax() == int(video["labels"][0]))
    assert report["scores"]["accuracy"] == pytest.approx(correct / 24)
    assert report["class_names"] == [f"class_{i}" for i in range(4)]
    text = format_report(report)
    assert "8-frame windows at 10.0 fps" in text and "confusion matrix" in text
    assert "class_3" in text


def test_the_data_labels_are_matched_to_the_model_classes_by_name(
    dataset, tmp_path
):
    # The model's outputs are in another order than the data's classes.
    names = ["class_2", "class_0", "class_3", "class_1"]
    model_path = save_model(tmp_path / "model.keras", class_names=names)
    report = evaluate_action_model(
        model_path, dataset, window=12, aggregation="vote"
    )
    assert report["class_names"] == names
    assert list(report["scores"]["per_class_accuracy"]) == names
    assert report["protocol"]["aggregation"].endswith(
        "majority vote of the video's windows"
    )
    assert "    class_1 " in format_report(report)
    # Independent check: each video's class, renamed into the model's order.
    model = keras.models.load_model(model_path)
    videos = list(vidattn.data.FeatureDataset(dataset).videos())
    expected = np.zeros((4, 4), int)
    for video in videos:
        features = video["features"][None].astype("float32")
        predicted = model.predict(features, verbose=0)["probabilities"][0]
        true = names.index(f"class_{int(video['labels'][0])}")
        expected[true, predicted.argmax()] += 1
    assert report["scores"]["confusion_matrix"] == expected.tolist()
    assert report["scores"]["accuracy"] == pytest.approx(
        np.trace(expected) / 24
    )


def test_a_model_of_other_classes_is_refused(dataset, tmp_path):
    # Same number of classes, other names: scored under the data's names
    # before.
    model_path = save_model(
        tmp_path / "model.keras", class_names=["left", "right", "up", "down"]
    )
    with pytest.raises(ValueError) as error:
        evaluate_action_model(model_path, dataset, window=8)
    message = str(error.value)
    assert model_path in message and dataset in message
    assert (
        "classes the model does not know: class_0, class_1, class_2, class_3"
        in message
    )
    assert "model classes missing from the data: left, right, up, down" in (
        message
    )


def test_a_model_with_fewer_classes_is_refused(dataset, tmp_path):
    named = save_model(
        tmp_path / "named.keras",
        class_names=["class_0", "class_1"],
        num_classes=2,
    )
    with pytest.raises(
        ValueError, match="classes the model does not know: class_2, class_3"
    ):
        evaluate_action_model(named, dataset, window=8)
    # Without class names, nothing tells which output is which class.
    unnamed = save_model(tmp_path / "unnamed.keras", num_classes=2)
    with pytest.raises(
        ValueError, match=r"2 classes and no class names.*4 classes"
    ):
        evaluate_action_model(unnamed, dataset, window=8)


def test_data_of_some_of_the_model_classes_is_scored_over_all_of_them(
    tmp_path,
):
    videos = generate_moving_region_videos(6, frames=8, seed=4)
    # The data know two of the model's four classes, under their names.
    labels = np.asarray(videos.labels) % 2
    subset = write_split(
        tmp_path / "test",
        types.SimpleNamespace(
            features=videos.features,
            labels=labels,
            class_names=["class_1", "class_3"],
        ),
        "test",
    )
    model_path = save_model(
        tmp_path / "model.keras", class_names=[f"class_{i}" for i in range(4)]
    )
    report = evaluate_action_model(model_path, subset, window=8)
    scores = report["scores"]
    assert report["class_names"] == [f"class_{i}" for i in range(4)]
    assert report["classes_missing_from_data"] == ["class_0", "class_2"]
    assert scores["per_class_accuracy"]["class_0"] is None
    matrix = np.array(scores["confusion_matrix"])
    assert matrix.shape == (4, 4)
    assert matrix[[0, 2]].sum() == 0
    true = np.where(labels == 0, 1, 3)
    predicted = np.argmax(report["predictions"], axis=1)
    assert matrix.sum() == 6 and scores["accuracy"] == pytest.approx(
        np.mean(predicted == true)
    )
    assert (
        "model classes missing from the data: class_0, class_2"
        in format_report(report)
    )


def test_non_finite_predictions_are_refused(dataset, tmp_path):
    model_path = save_model(tmp_path / "model.keras")
    model = keras.models.load_model(model_path)
    kernel = model.weights[0]
    kernel.assign(np.full(kernel.shape, np.nan, "float32"))
    model.save(tmp_path / "diverged.keras")
    # Before: every NaN prediction counted as class 0.
    with pytest.raises(ValueError) as error:
        evaluate_action_model(
            str(tmp_path / "diverged.keras"), dataset, window=8, stride=2
        )
    message = str(error.value)
    assert "NaN or inf" in message
    assert "72 of 72 windows, in 24 of 24 videos" in message
    assert "validation_000, validation_001, validation_002" in message
    assert "and 19 more" in message
    assert f"1 of its {len(model.weights)} weights" in message


def test_a_model_of_other_features_is_refused(dataset, tmp_path):
    keras.utils.set_random_seed(0)
    model = build_action_model("attention", 4, units=8, num_layers=1)
    model(np.zeros((1, 8, 4, 4, 16), "float32"))
    model.save(tmp_path / "model.keras")
    with pytest.raises(ValueError, match=r"4x4x16 features.*4x4x32"):
        evaluate_action_model(str(tmp_path / "model.keras"), dataset, 8)


def test_format_report_of_multi_label_scores():
    report = {
        "protocol": {
            "model": "m.keras",
            "data": "test",
            "split": "test",
            "videos": 2,
            "windows": 4,
            "window": 30,
            "fps": 10.0,
            "stored_fps": 30.0,
            "stride": 1,
            "aggregation": "mean",
        },
        "scores": {
            "mean_average_precision": 0.75,
            "average_precision": {"kiss": 0.5, "run": 1.0, "eat": None},
        },
        "class_names": ["kiss", "run", "eat"],
    }
    lines = format_report(report).splitlines()
    assert lines[2] == (
        "  protocol: 30-frame windows at 10.0 fps (stored at 30.0 fps), "
        "stride 1; mean"
    )
    assert lines[3:] == [
        "  mAP: 0.7500",
        "    AP kiss                  0.5000",
        "    AP run                   1.0000",
        "    AP eat                   -",
    ]
