"""What this process is in a keras-tuner search: alone, chief or worker."""

import dataclasses
import os
import re

TUNER_ID = "KERASTUNER_TUNER_ID"
ORACLE_IP = "KERASTUNER_ORACLE_IP"
ORACLE_PORT = "KERASTUNER_ORACLE_PORT"
VARIABLES = (TUNER_ID, ORACLE_IP, ORACLE_PORT)

# keras-tuner names each tuner's state file after its id.
_TUNER_ID_PATTERN = re.compile(r"[A-Za-z0-9_.-]+")


@dataclasses.dataclass(frozen=True)
class DistributedRole:
    """The role keras-tuner's environment variables give this process.

    keras-tuner runs a search across processes when `KERASTUNER_TUNER_ID`,
    `KERASTUNER_ORACLE_IP` and `KERASTUNER_ORACLE_PORT` are set: the process
    whose id is `chief` runs the oracle (a gRPC server on that address) and
    waits; every other id (`tuner0`, `tuner1`, ...) is a worker that asks the
    chief for trials, trains them and reports their results. All of them
    share the search's directory: workers write the trials' checkpoints
    there and the chief the trials' records and the best model.

    `from_environment()` reads and checks the three variables before
    keras-tuner does, so that a half-set configuration fails at once with
    what is missing instead of deep inside a tuner (or, for a port that is
    not a number, in the gRPC server).

    Args:
        tuner_id: str or `None` (the default, a search in one process).
        oracle_ip: str or `None`. The chief's address.
        oracle_port: int or `None`. The chief's port.

    Example:

    >>> role = vidattn.tuning.DistributedRole.from_environment(
    ...     {"KERASTUNER_TUNER_ID": "tuner0",
    ...      "KERASTUNER_ORACLE_IP": "127.0.0.1",
    ...      "KERASTUNER_ORACLE_PORT": "8000"})
    >>> role.is_worker, role.oracle_address
    (True, '127.0.0.1:8000')
    """

    tuner_id: str = None
    oracle_ip: str = None
    oracle_port: int = None

    @classmethod
    def from_environment(cls, environ=None):
        """Reads the role from keras-tuner's environment variables.

        Args:
            environ: mapping. The environment; `os.environ` by default.

        Returns:
            A `DistributedRole`; one without a tuner id when none of the
            three variables is set.

        Raises:
            ValueError: if only some of the variables are set, the port is
                not an integer in [1, 65535], or the tuner id is not a file
                name, or names a second chief (keras-tuner makes every id
                that contains "chief" a chief).
        """
        environ = os.environ if environ is None else environ
        present = [name for name in VARIABLES if name in environ]
        if not present:
            return cls()
        missing = [name for name in VARIABLES if name not in environ]
        if missing:
            received = ", ".join(f"{name}={environ[name]}" for name in present)
            raise ValueError(
                f"Expected {', '.join(VARIABLES)} to be set together (a "
                "distributed search) or none of them (a search in one "
                f"process). Received: {received}; {' and '.join(missing)} "
                f"{'is' if len(missing) == 1 else 'are'} not set. Set "
                f"{' and '.join(missing)} in every process of the search, "
                f"or unset {', '.join(present)}."
            )
        return cls(
            tuner_id=_check_tuner_id(environ[TUNER_ID]),
            oracle_ip=_check_oracle_ip(environ[ORACLE_IP]),
            oracle_port=_check_oracle_port(environ[ORACLE_PORT]),
        )

    @property
    def is_distributed(self):
        """Whether the search runs across processes."""
        return self.tuner_id is not None

    @property
    def is_chief(self):
        """Whether this process runs the oracle of a distributed search."""
        return self.tuner_id == "chief"

    @property
    def is_worker(self):
        """Whether this process runs trials for a chief."""
        return self.is_distributed and not self.is_chief

    @property
    def oracle_address(self):
        """The chief's `"ip:port"`, or `None` outside a distributed search."""
        if not self.is_distributed:
            return None
        return f"{self.oracle_ip}:{self.oracle_port}"

    def record_trials(self, tuner):
        """Keeps the trials that `tuner` runs, as it ends each of them.

        A worker's tuner holds no record of its trials (its oracle is the
        chief's), so what it ran is collected here as it happens.

        Args:
            tuner: a `keras_tuner.Tuner`, before its `search()`.

        Returns:
            A list, filled with the `keras_tuner.engine.trial.Trial`s that
            `tuner` ends, in order.
        """
        ended = []
        end_trial = tuner.on_trial_end

        def on_trial_end(trial):
            end_trial(trial)
            ended.append(trial)

        tuner.on_trial_end = on_trial_end
        return ended


def _check_tuner_id(tuner_id):
    if not _TUNER_ID_PATTERN.fullmatch(tuner_id):
        raise ValueError(
            f"Expected {TUNER_ID} to be `chief` or a worker's name of "
            f"letters, digits, '_', '.' or '-' (e.g. tuner0). Received: "
            f"{TUNER_ID}={tuner_id!r}."
        )
    if "chief" in tuner_id and tuner_id != "chief":
        raise ValueError(
            f"Expected {TUNER_ID} to be exactly `chief` for the chief, or a "
            "worker's name without 'chief' (keras-tuner makes every id that "
            f"contains 'chief' a chief). Received: {TUNER_ID}={tuner_id}. "
            "Name workers tuner0, tuner1, ..."
        )
    return tuner_id


def _check_oracle_ip(oracle_ip):
    if not oracle_ip.strip():
        raise ValueError(
            f"Expected {ORACLE_IP} to be the chief's IP address or host "
            f"name. Received: {ORACLE_IP}={oracle_ip!r}."
        )
    return oracle_ip


def _check_oracle_port(oracle_port):
    try:
        port = int(oracle_port)
    except ValueError:
        port = None
    if port is None or not 1 <= port <= 65535:
        raise ValueError(
            f"Expected {ORACLE_PORT} to be a port number in [1, 65535]. "
            f"Received: {ORACLE_PORT}={oracle_port!r}. Use the same free "
            "port in the chief and every worker, e.g. 8000."
        )
    return port
