"""`vidattn tune` as keras-tuner's chief and workers on 127.0.0.1."""

import ast
import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from tests.fixtures.feature_datasets import write_split
from vidattn.datasets.moving_region import generate_moving_region_videos

REPO = os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
)
PROJECT = "action_model"
TRIALS = 2
DEADLINE_S = 300

# Once a worker has been told the search is over, keras-tuner's chief checks
# every 20 s (a literal in `oracle_chief.start_server`, not a setting) whether
# the other workers have finished. The chief of this test checks every 0.5 s,
# so that the test does not wait out those 20 s; nothing else changes.
CHIEF_WITH_SHORT_POLLS = """
import sys, time, types
from keras_tuner.src.distribute import oracle_chief
oracle_chief.time = types.SimpleNamespace(
    sleep=lambda seconds: time.sleep(min(seconds, 0.5))
)
from vidattn.cli.main import run
sys.argv = ["vidattn", "tune"] + sys.argv[1:]
run()
"""


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Search:
    """The processes of one distributed search, killed at the end."""

    def __init__(self, tmp_path, port):
        self.tmp_path = tmp_path
        self.port = port
        self.processes = []
        self.directory = tmp_path / "search"
        train = write_split(
            tmp_path / "train",
            generate_moving_region_videos(8, frames=4, seed=1),
            "train",
        )
        validation = write_split(
            tmp_path / "validation",
            generate_moving_region_videos(4, frames=4, seed=2),
            "validation",
        )
        self.flags = [
            f"--train_data={train}",
            f"--validation_data={validation}",
            f"--directory={self.directory}",
            f"--project_name={PROJECT}",
            f"--max_trials={TRIALS}",
            "--epochs=1",
            "--window=4",
            "--batch_size=8",
            "--depths=1",
            "--widths=8",
            "--penalties=0,1",
        ]

    def start(self, tuner_id, log_name):
        if tuner_id == "chief":
            command = ["-c", CHIEF_WITH_SHORT_POLLS]
        else:
            command = ["-m", "vidattn", "tune"]
        log = open(self.tmp_path / log_name, "w")
        process = subprocess.Popen(
            [sys.executable, *command, *self.flags],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=REPO,
            env=dict(
                os.environ,
                PYTHONPATH=REPO,
                KERASTUNER_TUNER_ID=tuner_id,
                KERASTUNER_ORACLE_IP="127.0.0.1",
                KERASTUNER_ORACLE_PORT=str(self.port),
            ),
            # Its own process group, so that teardown kills what it started.
            process_group=0,
        )
        log.close()
        process.log_name = log_name
        self.processes.append(process)
        return process

    def log(self, process):
        return (self.tmp_path / process.log_name).read_text()

    def logs(self):
        return "\n".join(
            f"--- {process.log_name}:\n{self.log(process)[-3000:]}"
            for process in self.processes
        )

    def wait(self, process):
        remaining = self.deadline - time.monotonic()
        try:
            process.wait(timeout=max(remaining, 1))
        except subprocess.TimeoutExpired:
            pytest.fail(f"{process.log_name} did not end.\n{self.logs()}")
        assert process.returncode == 0, self.logs()
        return self.log(process)

    def ongoing_trials(self):
        """The chief's `{tuner_id: trial_id}` of trials that have not ended."""
        try:
            with open(self.directory / PROJECT / "oracle.json") as file:
                return json.load(file)["ongoing_trials"]
        except (OSError, ValueError):  # Not written yet, or being written.
            return {}

    def until(self, condition, what):
        while time.monotonic() < self.deadline:
            value = condition()
            if value:
                return value
            time.sleep(0.05)
        pytest.fail(f"Timed out waiting for {what}.\n{self.logs()}")

    def kill_all(self):
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.fixture
def search(tmp_path):
    search = Search(tmp_path, free_port())
    search.deadline = time.monotonic() + DEADLINE_S
    yield search
    search.kill_all()


def reload_oracle(directory):
    import keras_tuner

    oracle = keras_tuner.oracles.RandomSearchOracle(
        objective=keras_tuner.Objective("val_video_accuracy", "max"),
        max_trials=TRIALS,
    )
    oracle._set_project_dir(str(directory), PROJECT)
    oracle.reload()
    return oracle


@pytest.mark.slow
def test_a_chief_and_two_workers_finish_a_search_despite_a_killed_worker(
    search,
):
    chief = search.start("chief", "chief.log")
    doomed = search.start("tuner1", "tuner1_killed.log")
    killed_trial = search.until(
        lambda: search.ongoing_trials().get("tuner1"), "tuner1's trial"
    )
    doomed.kill()  # SIGKILL, mid-trial.
    doomed.wait()
    assert search.ongoing_trials() == {"tuner1": killed_trial}, (
        "tuner1 ended its trial before it was killed: the test's trials are "
        "too short to kill one mid-way.\n" + search.logs()
    )
    tuner0 = search.start("tuner0", "tuner0.log")
    restarted = search.start("tuner1", "tuner1_restarted.log")

    chief_log = search.wait(chief)
    tuner0_log = search.wait(tuner0)
    restarted_log = search.wait(restarted)

    # The restarted worker ran the trial its predecessor left open, and the
    # other worker the search's other trial.
    assert "Worker tuner1 ran 1 trial;" in restarted_log, search.logs()
    assert f"Trial {killed_trial} COMPLETED" in restarted_log
    assert "Worker tuner0 ran 1 trial;" in tuner0_log, search.logs()
    assert "Trial 1 COMPLETED" in tuner0_log and killed_trial == "0"
    assert "Best model:" in chief_log
    assert (search.directory / PROJECT / "best.keras").exists()

    oracle = reload_oracle(search.directory)
    assert sorted(oracle.trials) == ["0", "1"]
    assert oracle.ongoing_trials == {}
    for trial in oracle.trials.values():
        assert trial.status == "COMPLETED", trial.message
        # The default objective: the validation videos' accuracy.
        assert trial.score == pytest.approx(
            trial.metrics.get_best_value("val_video_accuracy")
        )
        assert 0 <= trial.score <= 1
    # What each worker printed is what the chief recorded.
    for log in (tuner0_log, restarted_log):
        line = next(line for line in log.splitlines() if " COMPLETED: " in line)
        trial_id, values = line[len("Trial ") :].split(" COMPLETED: ")
        expected = oracle.trials[trial_id].hyperparameters.values
        assert ast.literal_eval(values) == pytest.approx(expected)


def test_a_half_set_configuration_is_refused_by_the_command(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "vidattn",
            "tune",
            f"--train_data={tmp_path}",
            f"--validation_data={tmp_path}",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=dict(
            {
                name: value
                for name, value in os.environ.items()
                if not name.startswith("KERASTUNER_")
            },
            PYTHONPATH=REPO,
            KERASTUNER_TUNER_ID="tuner0",
            KERASTUNER_ORACLE_IP="127.0.0.1",
        ),
    )
    assert result.returncode == 1, result.stderr[-2000:]
    assert "KERASTUNER_ORACLE_PORT is not set" in result.stderr
    assert "Traceback" not in result.stderr
