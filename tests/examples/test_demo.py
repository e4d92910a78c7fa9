import html
import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from vidattn.data.feature_dataset import FeatureDataset
from vidattn.datasets import attention_on_region
from vidattn.datasets import render_moving_region_videos
from vidattn.examples.demo import FPS
from vidattn.examples.demo import RENDERED_TASK
from vidattn.examples.demo import SPLIT_SEEDS
from vidattn.examples.demo import DemoSettings
from vidattn.examples.demo import format_results_table
from vidattn.examples.demo import render_dataset
from vidattn.examples.demo import run_demo
from vidattn.metrics.caption_metrics import caption_scores
from vidattn.training.caption_inputs import caption_references

SETTINGS = DemoSettings(
    train_videos=12,
    validation_videos=4,
    test_videos=4,
    frames=8,
    window=6,
    epochs=1,
    units=8,
    report_videos=2,
    caption_train_videos=6,
    caption_test_videos=3,
    caption_epochs=1,
    shown_captions=1,
)
MODELS = ("soft_attention_linear", "soft_attention_additive", "average_pooled")


def modification_times(*folders):
    """When each video, feature shard, model and history was last written."""
    return {
        os.path.join(folder, name): os.path.getmtime(os.path.join(folder, name))
        for folder in folders
        for name in os.listdir(folder)
        if name.endswith((".mp4", ".tfrecord", ".keras", ".csv"))
    }


def check_videos_and_features(paths):
    sizes = {"train": 12, "validation": 4, "test": 4}
    for split, size in sizes.items():
        expected = [f"{split}_{index:04d}" for index in range(size)]
        videos = sorted(os.listdir(os.path.join(paths["videos"], split)))
        assert videos == [f"{video_id}.mp4" for video_id in expected]
        data = FeatureDataset(os.path.join(paths["features"], split))
        assert sorted(data.video_ids) == expected
        assert (data.grid_size, data.channels) == (7, 1280)
        # 8 frames rendered at 10 fps, all stored.
        assert data.stored_fps == FPS and set(data.num_frames) == {8}


def check_accuracies(summary, paths, test_data):
    labels = np.array([int(v["labels"][0]) for v in test_data.videos()])
    for name in MODELS:
        with open(os.path.join(paths["evaluation"], f"{name}.json")) as file:
            report = json.load(file)
        assert report["video_ids"] == list(test_data.video_ids)
        predictions = np.array(report["predictions"])
        assert predictions.shape == (4, 4)
        np.testing.assert_allclose(predictions.sum(-1), 1.0, atol=1e-5)
        accuracy = float(np.mean(predictions.argmax(-1) == labels))
        assert summary["accuracy"][name] == pytest.approx(accuracy)


def check_attention_on_ring(summary, test_data):
    # Recomputed from the saved models on the stored test features, and
    # from where the renderer put the ring.
    rendered = render_moving_region_videos(
        4, frames=8, fps=FPS, seed=SPLIT_SEEDS["test"], **RENDERED_TASK
    )
    assert set(summary["attention_on_ring"]) == set(MODELS[:2])
    for name, value in summary["attention_on_ring"].items():
        model = keras.models.load_model(summary["best_models"][name])
        focus = []
        for video in test_data.videos():
            index = int(video["video_id"].split("_")[1])
            attention = model.predict(
                video["features"][None].astype("float32"), verbose=0
            )["attention"]
            focus.append(
                attention_on_region(attention, rendered.region[index][None])
            )
        assert value == pytest.approx(float(np.mean(focus)), abs=1e-6)
    assert summary["uniform_attention"] == pytest.approx(1 / 49)


def test_the_results_table_reads_the_figures_and_says_what_they_show():
    summary = {
        "accuracy": {
            "soft_attention_linear": 0.5,
            "soft_attention_additive": 0.9,
            "average_pooled": 0.6,
        },
        "attention_on_ring": {
            "soft_attention_linear": 0.021,
            "soft_attention_additive": 0.147,
        },
        "uniform_attention": 1 / 49,
    }
    lines = format_results_table(summary).splitlines()
    assert lines[0].endswith("attention on the ringed shape (uniform 0.020)")
    assert lines[1].split() == [
        "soft",
        "attention",
        "linear",
        "0.500",
        "0.021",
        "(1.0x",
        "uniform)",
    ]
    assert lines[2].split()[3:5] == ["0.900", "0.147"]
    assert "(7.2x uniform)" in lines[2]
    assert lines[3].split()[2:4] == ["0.600", "-"]
    assert lines[4] == (
        "The soft attention additive model beats the average-pooled LSTM by "
        "0.300 and puts 7.2x uniform attention on the ringed shape."
    )
    assert lines[5].startswith("The linear form (thesis eq. 2.4)")
    assert len(lines) == 6

    summary["accuracy"]["average_pooled"] = 0.95
    summary["attention_on_ring"]["soft_attention_linear"] = 0.1
    lines = format_results_table(summary).splitlines()
    assert lines[4] == (
        "The soft attention additive model does not beat the average-pooled "
        "LSTM here (-0.050), with 7.2x uniform attention on the ringed "
        "shape: pooling the frame's features tells the class as well as "
        "looking does."
    )
    assert len(lines) == 5


def check_report(paths, test_data):
    with open(paths["report_html"], encoding="utf-8") as file:
        page = file.read()
    # The first report_videos test videos, in the dataset's order.
    reported = test_data.video_ids[: SETTINGS.report_videos]
    strips = sorted(
        n for n in os.listdir(paths["report"]) if n.endswith(".png")
    )
    assert strips == sorted(f"{video_id}.png" for video_id in reported)
    for name in strips:
        assert f"<h2>{name[:-4]}</h2><p>predicted <b>" in page
        strip = np.asarray(Image.open(os.path.join(paths["report"], name)))
        # 8 frames of 224x224 above their attention overlays.
        assert strip.shape == (2 * 224, 8 * 224, 3)
        frames, overlays = strip[:224].astype(int), strip[224:].astype(int)
        assert frames.std() > 20
        # The overlay dims the frames and lights where the model looks.
        assert overlays.max() > frames.max() * 0.35 + 10
        assert np.all(overlays >= np.floor(frames * 0.35) - 1)


def check_saved_model(summary, paths, test_data):
    video = next(test_data.videos())
    features = video["features"][None].astype("float32")
    model = keras.models.load_model(
        summary["best_models"]["soft_attention_additive"]
    )
    expected = model.predict(features, verbose=0)
    served = tf.saved_model.load(paths["export"])
    received = served.signatures["serving_default"](
        features=tf.constant(features)
    )
    for key in ("probabilities", "step_probabilities", "attention"):
        np.testing.assert_allclose(
            received[key].numpy(), expected[key], atol=1e-5
        )


@pytest.mark.slow
def check_captioning(summary, paths):
    """Both captioners scored; the described clips' sentences and pictures."""
    figures = summary["captioning"]
    assert set(figures["scores"]) == {"soft_attention", "first_time_step"}
    for scores in figures["scores"].values():
        assert {"BLEU-4", "METEOR"} <= set(scores)
    check = json.load(open(os.path.join(paths["captions"], "summary.json")))
    np.testing.assert_equal(
        {
            key: np.nan if value is None else value
            for key, value in figures["attention_on_named_object"].items()
        },
        check["results"]["soft_attention"]["attention"],
    )
    # The first two held-out clips, described from their MP4 files with
    # the soft captioner, scored against their own references.
    described = figures["described"]
    assert sorted(described) == ["test_0000", "test_0001"]
    references = caption_references(
        FeatureDataset(os.path.join(paths["captions"], "features", "test"))
    )
    for video_id, entry in described.items():
        assert entry["references"] == references[video_id]
        expected = caption_scores(
            {video_id: references[video_id]},
            {video_id: entry["sentence"]},
            metrics=("bleu", "meteor"),
        )
        assert entry["BLEU-4"] == pytest.approx(expected["BLEU-4"], abs=1e-6)
    page = open(paths["caption_report_html"], encoding="utf-8").read()
    for video_id, entry in described.items():
        assert html.escape(entry["sentence"]) in page
        assert os.path.exists(
            os.path.join(
                os.path.dirname(paths["caption_report_html"]), f"{video_id}.png"
            )
        )
    action_page = open(paths["report_html"], encoding="utf-8").read()
    assert 'href="captions/index.html"' in action_page


def test_the_demo_runs_every_stage_and_resumes(tmp_path):
    summary = run_demo(str(tmp_path), SETTINGS, verbose=0)
    paths = summary["paths"]
    test_data = FeatureDataset(os.path.join(paths["features"], "test"))
    check_videos_and_features(paths)
    check_accuracies(summary, paths, test_data)
    check_attention_on_ring(summary, test_data)
    check_report(paths, test_data)
    check_saved_model(summary, paths, test_data)
    check_captioning(summary, paths)
    with open(tmp_path / "summary.json", encoding="utf-8") as file:
        assert json.load(file) == summary

    # A second run finds the videos, features and training runs done.
    done = modification_times(
        *(os.path.join(paths["videos"], split) for split in SPLIT_SEEDS),
        *(os.path.join(paths["features"], split) for split in SPLIT_SEEDS),
        *(os.path.join(paths["runs"], name) for name in MODELS),
        os.path.join(paths["captions"], "videos", "train"),
        os.path.join(paths["captions"], "features", "train"),
        os.path.join(paths["captions"], "models"),
    )
    assert len(done) == 20 + 3 + 3 * 3 + 6 + 1 + 2
    again = run_demo(str(tmp_path), SETTINGS, verbose=0)
    assert modification_times(*{os.path.dirname(p) for p in done}) == done
    assert again["accuracy"] == summary["accuracy"]
    assert again["attention_on_ring"] == summary["attention_on_ring"]
    assert again["captioning"] == summary["captioning"]


def test_videos_of_another_task_are_refused_not_mixed_in(tmp_path):
    settings = DemoSettings(
        train_videos=1, validation_videos=1, test_videos=1, frames=2
    )
    video_dir = tmp_path / "videos"
    index, _ = render_dataset(str(video_dir), settings)
    assert len(index) == 3
    # A rerun with the same task keeps the videos.
    render_dataset(str(video_dir), settings)
    with pytest.raises(ValueError, match="another --output_dir"):
        render_dataset(str(video_dir), DemoSettings(frames=3))
    # Videos from before the task was recorded.
    (video_dir / "task.json").unlink()
    with pytest.raises(ValueError, match="without it"):
        render_dataset(str(video_dir), settings)
