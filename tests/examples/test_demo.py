import json
import os

import pytest
import tensorflow as tf

from vidattn.examples.demo import DemoSettings
from vidattn.examples.demo import run_demo


@pytest.mark.slow
def test_the_demo_runs_every_stage_and_resumes(tmp_path):
    settings = DemoSettings(
        train_videos=12,
        validation_videos=4,
        test_videos=4,
        frames=8,
        window=6,
        epochs=1,
        units=8,
        report_videos=2,
    )
    summary = run_demo(str(tmp_path), settings, verbose=0)
    paths = summary["paths"]
    assert set(summary["accuracy"]) == {
        "soft_attention_linear",
        "soft_attention_additive",
        "average_pooled",
    }
    assert 0.0 <= summary["attention_on_ring"]["soft_attention_additive"] <= 1.0
    assert len(os.listdir(os.path.join(paths["videos"], "train"))) == 12
    assert os.path.exists(paths["report_html"])
    assert (
        len([n for n in os.listdir(paths["report"]) if n.endswith(".png")]) == 2
    )
    served = tf.saved_model.load(paths["export"])
    assert "serving_default" in served.signatures
    assert json.load(open(tmp_path / "summary.json"))[
        "uniform_attention"
    ] == pytest.approx(1 / 49)
    # A second run finds the videos and features done and the runs finished.
    train_features = os.path.join(paths["features"], "train")

    def shards():
        return {
            n: os.path.getmtime(os.path.join(train_features, n))
            for n in os.listdir(train_features)
            if n.endswith(".tfrecord")
        }

    before = shards()
    run_demo(str(tmp_path), settings, verbose=0)
    assert shards() == before
