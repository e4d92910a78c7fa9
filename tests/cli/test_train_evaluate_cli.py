import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.fixtures.feature_datasets import write_split
from vidattn.datasets.moving_region import generate_moving_region_videos

REPO = os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
)


def vidattn_command(*args):
    return [sys.executable, "-m", "vidattn", *args]


def run(*args):
    env = dict(os.environ, PYTHONPATH=REPO)
    return subprocess.run(
        vidattn_command(*args),
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
    )


@pytest.fixture(scope="module")
def datasets(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli_data")
    train = generate_moving_region_videos(60, frames=10, seed=5)
    test = generate_moving_region_videos(20, frames=10, seed=6)
    return write_split(root / "train", train, "train"), write_split(
        root / "test", test, "test"
    )


def test_unknown_command_lists_the_commands():
    result = run("fly")
    assert result.returncode == 2
    assert "Expected a command. Received: fly" in result.stderr
    for command in ("train", "evaluate", "demo"):
        assert command in result.stderr


@pytest.mark.slow
def test_train_is_killed_then_resumed_and_evaluate_states_the_protocol(
    datasets, tmp_path
):
    train_dir, test_dir = datasets
    flagfile = tmp_path / "run.flags"
    flagfile.write_text(
        "\n".join(
            [
                f"--train_data={train_dir}",
                f"--validation_data={test_dir}",
                f"--output_dir={tmp_path / 'run'}",
                "--units=16",
                "--num_layers=1",
                "--window=6",
                "--stride=2",
                "--batch_size=16",
                "--epochs=40",
                "--attention_penalty=1.0",
                "--learning_rate=0.003",
            ]
        )
    )
    env = dict(os.environ, PYTHONPATH=REPO)
    process = subprocess.Popen(
        vidattn_command("train", f"--flagfile={flagfile}"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        cwd=REPO,
    )
    metadata = tmp_path / "run" / "backup" / "training_metadata.json"
    deadline = time.time() + 240
    while time.time() < deadline and not (
        metadata.exists()
        and json.loads(metadata.read_text() or "{}").get("epoch", 0) >= 2
    ):
        time.sleep(0.5)
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed_at = json.loads(metadata.read_text())["epoch"]
    assert 2 <= killed_at < 40
    resumed = run(
        "train", f"--flagfile={flagfile}", "--epochs=" + str(killed_at + 2)
    )
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"Resumed from epoch {killed_at}." in resumed.stdout
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert saved["attention_penalty"] == 1.0 and saved["window"] == 6

    report_path = tmp_path / "report.json"
    evaluated = run(
        "evaluate",
        f"--model={tmp_path / 'run' / 'best.keras'}",
        f"--data={test_dir}",
        "--window=6",
        "--stride=2",
        f"--report={report_path}",
    )
    assert evaluated.returncode == 0, evaluated.stderr[-2000:]
    assert "6-frame windows at 10.0 fps" in evaluated.stdout
    assert "accuracy:" in evaluated.stdout
    report = json.loads(report_path.read_text())
    assert report["protocol"]["videos"] == 20
    assert report["protocol"]["aggregation"].startswith(
        "mean of the per-step probabilities"
    )


def test_missing_required_flags_are_named():
    result = run("train")
    assert result.returncode != 0
    assert "--train_data" in result.stderr
