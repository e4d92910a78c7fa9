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


def save_model(path, class_names=None):
    keras.utils.set_random_seed(0)
    model = build_action_model(
        "attention", 4, units=16, num_layers=2, class_names=class_names
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


def test_the_model_names_the_classes_when_it_can(dataset, tmp_path):
    names = ["left", "right", "up", "down"]
    model_path = save_model(tmp_path / "model.keras", class_names=names)
    report = evaluate_action_model(
        model_path, dataset, window=12, aggregation="vote"
    )
    assert report["class_names"] == names
    assert list(report["scores"]["per_class_accuracy"]) == names
    assert report["protocol"]["aggregation"].endswith(
        "majority vote of the video's windows"
    )
    assert "    down " in format_report(report)


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
