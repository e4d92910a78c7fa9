import os
import subprocess
import sys

import pytest

from tests.fixtures.feature_datasets import write_split
from vidattn.datasets.moving_region import generate_moving_region_videos

REPO = os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
)


def run(*command):
    return subprocess.run(
        [sys.executable, *command],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=REPO),
        cwd=REPO,
    )


def test_tune_is_a_command_and_lists_its_flags():
    result = run("-m", "vidattn", "tune", "--help")
    assert result.returncode == 1  # absl's exit code after --help
    assert "`vidattn tune`" in result.stdout
    for flag in ("--train_data", "--depths", "--penalties", "--tuner"):
        assert flag in result.stdout
    missing = run("-m", "vidattn", "tune")
    assert missing.returncode != 0 and "--train_data" in missing.stderr


def test_the_thesis_search_space_is_a_valid_flagfile():
    result = run(
        "tuning/search_action_model.py",
        "--flagfile=tuning/action_model.flags",
        "--train_data=/nonexistent/train",
        "--validation_data=/nonexistent/validation",
    )
    # The flags parse; the missing data is what fails.
    assert "/nonexistent/train" in result.stderr, result.stderr[-2000:]
    assert "FlagsError" not in result.stderr


@pytest.mark.slow
def test_the_launcher_runs_a_search(tmp_path):
    train = write_split(
        tmp_path / "train",
        generate_moving_region_videos(16, frames=6, seed=1),
        "train",
    )
    validation = write_split(
        tmp_path / "val",
        generate_moving_region_videos(8, frames=6, seed=2),
        "validation",
    )
    result = run(
        "tuning/search_action_model.py",
        f"--train_data={train}",
        f"--validation_data={validation}",
        f"--directory={tmp_path / 'search'}",
        "--max_trials=1",
        "--epochs=1",
        "--window=4",
        "--batch_size=8",
        "--depths=1",
        "--widths=8",
        "--penalties=0",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Best model:" in result.stdout
    assert (tmp_path / "search" / "action_model" / "best.keras").exists()
