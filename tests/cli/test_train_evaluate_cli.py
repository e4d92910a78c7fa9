import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.fixtures.backends import needs_jax
from tests.fixtures.feature_datasets import write_split
from vidattn.datasets.moving_region import generate_moving_region_videos

NAMES = [f"class_{index}" for index in range(4)]
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


def small_run_flags(train_dir, validation_dir, output_dir):
    """`vidattn train` flags of a one-layer, 8-unit model that trains fast."""
    return [
        f"--train_data={train_dir}",
        f"--validation_data={validation_dir}",
        f"--output_dir={output_dir}",
        "--units=8",
        "--num_layers=1",
        "--window=6",
        "--stride=2",
        "--batch_size=16",
    ]


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


def test_a_diverging_run_exits_1_with_one_message_and_no_best_model(
    datasets, tmp_path
):
    train_dir, test_dir = datasets
    result = run(
        "train",
        *small_run_flags(train_dir, test_dir, tmp_path / "run"),
        "--epochs=2",
        "--attention_images=0",
        "--learning_rate=1e30",
    )
    assert result.returncode == 1, result.stderr[-2000:]
    # The training or the validation loss, whichever is NaN or inf first.
    assert "vidattn train: error: Training stopped: non-finite " in (
        result.stderr
    )
    assert " at epoch 1 of 2" in result.stderr
    assert "Traceback" not in result.stderr
    assert "Best model" not in result.stdout
    written = os.listdir(tmp_path / "run")
    assert "best.keras" not in written and "final.keras" not in written


def test_evaluate_refuses_a_diverged_model_and_speaks_of_flags(
    datasets, tmp_path
):
    import keras
    import numpy as np

    from vidattn.models import build_action_model

    _, test_dir = datasets
    model = build_action_model(
        "attention", 4, units=8, num_layers=1, class_names=NAMES
    )
    model(np.zeros((1, 6, 4, 4, 32), "float32"))
    for weight in model.weights:
        weight.assign(np.full(weight.shape, np.nan, weight.dtype))
    model.save(tmp_path / "diverged.keras")
    keras.backend.clear_session()
    result = run(
        "evaluate",
        f"--model={tmp_path / 'diverged.keras'}",
        f"--data={test_dir}",
        "--window=6",
    )
    # Before: accuracy of the NaN predictions, read as class 0, exit 0.
    assert result.returncode == 1
    assert "vidattn evaluate: error: Expected finite predictions" in (
        result.stderr
    )
    assert "in 20 of 20 videos" in result.stderr
    assert "accuracy" not in result.stdout

    uneven = write_split(
        tmp_path / "uneven",
        generate_moving_region_videos(2, frames=6, seed=1),
        "test",
        stored_fps=None,
    )
    result = run(
        "evaluate",
        f"--model={tmp_path / 'diverged.keras'}",
        f"--data={uneven}",
        "--window=6",
        "--fps=5",
    )
    # Before: "... Use target_fps=None."
    assert result.returncode == 1
    assert "Received: --fps=5. Leave --fps out." in result.stderr
    assert "target_fps" not in result.stderr


@pytest.mark.slow
@needs_jax
def test_train_runs_on_the_chosen_backend_and_resumes_on_the_other(
    datasets, tmp_path
):
    train_dir, test_dir = datasets
    arguments = small_run_flags(train_dir, test_dir, tmp_path / "run")
    under_jax = run("train", "--backend", "jax", *arguments, "--epochs=1")
    assert under_jax.returncode == 0, under_jax.stderr[-2000:]
    assert "Training attention (jax backend) on 60 videos" in under_jax.stdout
    under_tensorflow = run(
        "train", "--backend=tensorflow", *arguments, "--epochs=2"
    )
    assert under_tensorflow.returncode == 0, under_tensorflow.stderr[-2000:]
    assert "(tensorflow backend)" in under_tensorflow.stdout
    assert "Resumed from epoch 1." in under_tensorflow.stdout

    mirrored = run(
        "train",
        "--backend=jax",
        "--strategy=mirrored",
        *arguments[:2],
        f"--output_dir={tmp_path / 'mirrored'}",
    )
    assert mirrored.returncode == 1
    assert (
        "Expected strategy='default' under Keras's jax backend"
        in mirrored.stderr
    )
    assert not os.path.exists(tmp_path / "mirrored")
