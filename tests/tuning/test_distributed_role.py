import doctest
import types

import pytest

import vidattn
from vidattn.tuning import distributed_role
from vidattn.tuning.distributed_role import DistributedRole

WORKER = {
    "KERASTUNER_TUNER_ID": "tuner0",
    "KERASTUNER_ORACLE_IP": "10.0.0.2",
    "KERASTUNER_ORACLE_PORT": "8000",
}


def test_no_variable_is_a_search_in_one_process():
    role = DistributedRole.from_environment({"PATH": "/bin"})
    assert not role.is_distributed
    assert not role.is_chief and not role.is_worker
    assert role.oracle_address is None


def test_a_worker_and_the_chief():
    worker = DistributedRole.from_environment(WORKER)
    assert worker == DistributedRole("tuner0", "10.0.0.2", 8000)
    assert worker.is_distributed and worker.is_worker and not worker.is_chief
    assert worker.oracle_address == "10.0.0.2:8000"
    chief = DistributedRole.from_environment(
        dict(WORKER, KERASTUNER_TUNER_ID="chief")
    )
    assert chief.is_chief and not chief.is_worker


@pytest.mark.parametrize("missing", sorted(WORKER))
def test_a_half_set_configuration_names_what_is_missing(missing):
    environ = {name: value for name, value in WORKER.items() if name != missing}
    with pytest.raises(ValueError, match="to be set together") as error:
        DistributedRole.from_environment(environ)
    assert f"{missing} is not set" in str(error.value)
    for name, value in environ.items():
        assert f"{name}={value}" in str(error.value)


def test_one_variable_alone_names_both_missing_ones():
    with pytest.raises(
        ValueError,
        match="KERASTUNER_ORACLE_IP and KERASTUNER_ORACLE_PORT are not set",
    ):
        DistributedRole.from_environment({"KERASTUNER_TUNER_ID": "chief"})


@pytest.mark.parametrize("port", ["http", "8000.5", "", "0", "65536", "-1"])
def test_a_port_that_is_not_a_port_number_is_refused(port):
    environ = dict(WORKER, KERASTUNER_ORACLE_PORT=port)
    with pytest.raises(
        ValueError, match=f"Received: KERASTUNER_ORACLE_PORT='{port}'"
    ):
        DistributedRole.from_environment(environ)


@pytest.mark.parametrize(
    "tuner_id, reason",
    [
        ("chief1", "exactly `chief`"),
        ("tuner_chief", "exactly `chief`"),
        ("", "letters, digits"),
        ("../tuner0", "letters, digits"),
    ],
)
def test_a_tuner_id_keras_tuner_would_misread_is_refused(tuner_id, reason):
    environ = dict(WORKER, KERASTUNER_TUNER_ID=tuner_id)
    with pytest.raises(ValueError, match=reason):
        DistributedRole.from_environment(environ)


def test_an_empty_oracle_ip_is_refused():
    environ = dict(WORKER, KERASTUNER_ORACLE_IP=" ")
    with pytest.raises(ValueError, match="the chief's IP address"):
        DistributedRole.from_environment(environ)


def test_the_process_environment_is_read_by_default(monkeypatch):
    for name, value in WORKER.items():
        monkeypatch.setenv(name, value)
    assert DistributedRole.from_environment().tuner_id == "tuner0"


def test_record_trials_keeps_what_the_tuner_ends_in_order():
    ended_by_tuner = []
    tuner = types.SimpleNamespace(on_trial_end=ended_by_tuner.append)
    recorded = DistributedRole().record_trials(tuner)
    tuner.on_trial_end("trial 0")
    tuner.on_trial_end("trial 1")
    assert recorded == ["trial 0", "trial 1"]
    assert ended_by_tuner == ["trial 0", "trial 1"]


def test_the_docstring_example_runs():
    results = doctest.testmod(
        distributed_role, globs={"vidattn": vidattn}, verbose=False
    )
    assert results.attempted > 0 and results.failed == 0
