import csv
import glob
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.fixtures.caption_datasets import write_captioned_dataset
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


PARSE_FLAGFILES = """
import glob, json, sys
from absl import flags
from vidattn.cli import tune
tune.define_flags()
parsed = {}
for path in sorted(glob.glob("tuning/*.flags")):
    flags.FLAGS.unparse_flags()
    flags.FLAGS(["vidattn", "--flagfile=" + path, "--train_data=t",
                 "--validation_data=v"])
    arguments = tune.search_arguments()
    parsed[path] = {k: v for k, v in arguments.items()
                    if k in ("task", "objective", "tuner", "penalty_range",
                             "depths", "beam_widths", "attentions")}
print(json.dumps(parsed))
"""


def test_every_saved_search_configuration_parses_into_tune_flags():
    result = run("-c", PARSE_FLAGFILES)
    assert result.returncode == 0, result.stderr[-2000:]
    parsed = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(parsed) >= {
        f"tuning/{name}.flags"
        for name in ("ucf11", "hmdb51", "hollywood2", "youtube2text")
    }
    assert parsed["tuning/ucf11.flags"]["depths"] == [1, 2, 3, 4, 5]
    assert parsed["tuning/hmdb51.flags"]["tuner"] == "hyperband"
    hollywood2 = parsed["tuning/hollywood2.flags"]
    assert hollywood2["objective"] == "video_map"
    assert hollywood2["penalty_range"] == [0.0, 10.0]
    captions = parsed["tuning/youtube2text.flags"]
    assert (captions["task"], captions["objective"]) == ("captioning", "bleu4")
    assert captions["beam_widths"] == [1, 4]
    for path in glob.glob(os.path.join(REPO, "tuning", "*.flags")):
        with open(path) as file:
            header = file.read()
        assert "vidattn tune --flagfile tuning/" in header, path


def test_a_flag_of_the_other_task_is_refused():
    result = run(
        "-m",
        "vidattn",
        "tune",
        "--task=captioning",
        "--depths=1,2",
        "--train_data=t",
        "--validation_data=v",
    )
    assert result.returncode == 1
    assert "Expected no --depths with --task captioning" in result.stderr


def _trials(folder):
    trials = {}
    for path in glob.glob(os.path.join(folder, "trial_*", "trial.json")):
        with open(path) as file:
            trial = json.load(file)
        values = trial["hyperparameters"]["values"]
        trials[trial["trial_id"]] = (trial["status"], values)
    return trials


@pytest.fixture(scope="module")
def tiny_splits(tmp_path_factory):
    directory = tmp_path_factory.mktemp("splits")
    train = write_split(
        directory / "train",
        generate_moving_region_videos(8, frames=4, seed=1),
        "train",
    )
    validation = write_split(
        directory / "val",
        generate_moving_region_videos(4, frames=4, seed=2),
        "validation",
    )
    return train, validation


def search_flags(splits, directory):
    train, validation = splits
    return [
        f"--train_data={train}",
        f"--validation_data={validation}",
        f"--directory={directory}",
        "--max_trials=2",
        "--epochs=1",
        "--window=2",
        "--batch_size=8",
        "--depths=1",
        "--widths=4,8",
        "--penalties=0,1",
        "--objective=val_loss",
        "--seed=3",
    ]


@pytest.fixture(scope="module")
def unkilled_search(tiny_splits, tmp_path_factory):
    """A two-trial search run by the launcher, never killed."""
    directory = tmp_path_factory.mktemp("unkilled")
    result = run(
        "tuning/search_action_model.py", *search_flags(tiny_splits, directory)
    )
    return result, directory / "action_model"


@pytest.mark.slow
def test_the_launcher_runs_a_search(unkilled_search):
    result, folder = unkilled_search
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Best model:" in result.stdout
    assert (folder / "best.keras").exists()
    trials = _trials(folder)
    assert sorted(trials) == ["0", "1"]
    assert {status for status, _ in trials.values()} == {"COMPLETED"}


@pytest.mark.slow
def test_a_killed_search_resumes_to_the_trials_of_an_unkilled_one(
    tiny_splits, unkilled_search, tmp_path
):
    command = ["-m", "vidattn", "tune", *search_flags(tiny_splits, tmp_path)]
    folder = tmp_path / "action_model"
    process = subprocess.Popen(
        [sys.executable, *command],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=dict(os.environ, PYTHONPATH=REPO),
        cwd=REPO,
    )
    try:
        # Killed as trial 1 starts, after trial 0 has finished.
        while not (folder / "trial_1" / "trial.json").exists():
            assert process.poll() is None, "the search ended before trial 1"
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.wait()
    assert _trials(folder)["1"][0] == "RUNNING"
    resumed = run(*command)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    unkilled, unkilled_folder = unkilled_search
    assert unkilled.returncode == 0, unkilled.stderr[-2000:]
    assert _trials(folder) == _trials(unkilled_folder)
    assert (folder / "summary.csv").exists()


@pytest.mark.slow
def test_a_caption_search_is_chosen_on_its_bleu4(tmp_path):
    # The linear attention needs videos of one length.
    write_captioned_dataset(tmp_path / "captions", frame_counts=(4,) * 5)
    result = run(
        "-m",
        "vidattn",
        "tune",
        "--task=captioning",
        f"--train_data={tmp_path / 'captions'}",
        f"--validation_data={tmp_path / 'captions'}",
        f"--directory={tmp_path / 'search'}",
        "--max_trials=1",
        "--epochs=1",
        "--batch_size=4",
        "--widths=4",
        "--penalties=0",
        "--embedding_dims=4",
        "--beam_widths=2",
        "--validation_videos=4",
        "--max_length=4",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    folder = tmp_path / "search" / "captioning_model"
    with open(folder / "trial_0" / "trial.json") as file:
        trial = json.load(file)
    assert trial["status"] == "COMPLETED"
    (logged,) = trial["metrics"]["metrics"]["val_BLEU-4"]["observations"]
    assert 0.0 <= logged["value"][0] <= 1.0
    assert trial["score"] == logged["value"][0]
    with open(folder / "summary.csv") as file:
        (row,) = csv.DictReader(file)
    assert float(row["val_BLEU-4"]) == pytest.approx(trial["score"])
    assert (folder / "best.keras").exists()


def _processes(folder):
    pids = {}
    for path in glob.glob(os.path.join(folder, "trial_*", "resources.json")):
        with open(path) as file:
            pids[os.path.basename(os.path.dirname(path))] = json.load(file)[
                "pid"
            ]
    return pids


@pytest.mark.slow
def test_a_search_in_one_process_per_trial_ends_as_the_in_process_one(
    tiny_splits, unkilled_search, tmp_path
):
    result = run(
        "-m",
        "vidattn",
        "tune",
        *search_flags(tiny_splits, tmp_path),
        "--trials_per_process=1",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    folder = tmp_path / "action_model"
    pids = _processes(folder)
    assert sorted(pids) == ["trial_0", "trial_1"]
    assert len(set(pids.values()) | {os.getpid()}) == 3
    assert "Trials 0 ran in process 1" in result.stdout
    assert "Trials 1 ran in process 2" in result.stdout
    assert "Best model:" in result.stdout
    unkilled, unkilled_folder = unkilled_search
    assert unkilled.returncode == 0, unkilled.stderr[-2000:]
    assert _trials(folder) == _trials(unkilled_folder)
    assert (folder / "best.keras").exists()
    with open(folder / "summary.csv") as file:
        assert len(list(csv.DictReader(file))) == 2
