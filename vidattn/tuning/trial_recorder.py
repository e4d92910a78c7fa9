"""What each trial of a search cost, and trials a killed search left open."""

import gc
import json
import os
import resource
import shutil
import sys
import time

from vidattn.tuning.trials_per_process_reached import TrialsPerProcessReached
from vidattn.utils.atomic_write import write_json_atomically

RESOURCES_FILE = "resources.json"
"""Per trial folder: `{"rss_mb", "seconds", "epochs", "pid"}` of the trial."""


def resident_memory_mb():
    """The process's resident memory now, in MiB.

    Read from `/proc/self/statm` on Linux; elsewhere the peak so far
    (`resource.getrusage`), which cannot show memory given back.
    """
    try:
        with open("/proc/self/statm") as file:
            pages = int(file.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        # Bytes on macOS, KiB elsewhere.
        return peak / (2**20 if sys.platform == "darwin" else 2**10)


class TrialRecorder:
    """Mixin of a keras-tuner `Tuner`: each trial's memory, time and epochs.

    Put before the tuner class (`class T(TrialRecorder,
    keras_tuner.RandomSearch)`). After every trial, when keras-tuner has
    saved it, the garbage is collected and the process's resident memory,
    the trial's seconds and its last epoch are written atomically into
    the trial's folder (`resources.json`), and with `verbose`, printed: a
    search whose memory grows from trial to trial shows it there.

    With `trials_per_process` set, it raises `TrialsPerProcessReached`
    before keras-tuner creates a trial once that many trials have ended in
    this process (keras-tuner's `pre_create_trial` hook), so that the search
    can go on in a fresh process.

    It also finishes what a killed search left open. keras-tuner sends the
    trials that its saved oracle lists as running to be run again, but a
    search killed after a trial's `trial.json` was written and before the
    oracle's file was, reloads that trial as `RUNNING` and would leave it
    so: such trials are run again too, lowest id first. A trial that runs
    again starts without the TensorBoard logs of its killed run.

    Attributes:
        tensorboard_dir: str or `None`. The `keras.callbacks.TensorBoard`
            folder of the search, whose `<trial_id>/` keras-tuner fills.
        verbose: Whether to print a line per trial.
        trials_per_process: int. Trials this process runs at most; 0 for
            no limit.
    """

    tensorboard_dir = None
    verbose = True
    trials_per_process = 0
    _trials_ended = 0

    def pre_create_trial(self):
        limit = self.trials_per_process
        if limit and self._trials_ended >= limit:
            raise TrialsPerProcessReached(self._trials_ended)
        super().pre_create_trial()

    def reload(self):
        super().reload()
        if self._is_worker():
            return
        oracle = self.oracle
        open_trials = sorted(
            trial_id
            for trial_id, trial in oracle.trials.items()
            if trial.status == "RUNNING" and trial_id not in oracle._retry_queue
        )
        # The queue is taken from its end.
        oracle._retry_queue.extend(reversed(open_trials))

    def on_trial_begin(self, trial):
        self._trial_started = time.perf_counter()
        self._last_epoch = None
        if self.tensorboard_dir is not None:
            shutil.rmtree(
                os.path.join(self.tensorboard_dir, str(trial.trial_id)),
                ignore_errors=True,
            )
        super().on_trial_begin(trial)

    def on_epoch_end(self, trial, model, epoch, logs=None):
        self._last_epoch = epoch + 1
        super().on_epoch_end(trial, model, epoch, logs=logs)

    def on_trial_end(self, trial):
        super().on_trial_end(trial)
        self._trials_ended += 1
        gc.collect()
        record = {
            "rss_mb": round(resident_memory_mb(), 1),
            "seconds": round(time.perf_counter() - self._trial_started, 2),
            "epochs": self._last_epoch,
            "pid": os.getpid(),
        }
        write_json_atomically(
            os.path.join(self.get_trial_dir(trial.trial_id), RESOURCES_FILE),
            record,
        )
        if self.verbose:
            print(
                f"Trial {trial.trial_id} {trial.status.lower()} in "
                f"{record['seconds']:.1f} s; resident memory after it: "
                f"{record['rss_mb']:.0f} MiB",
                flush=True,
            )


def process_trials(folder, pid):
    """The trials of a search that process `pid` ran, from their records.

    Args:
        folder: str. The search's folder (`directory/project_name`).
        pid: int. The process id.

    Returns:
        `(trial_id, record)` pairs, in the order of the trials' ids, where
        `record` is the trial's `resources.json`.
    """
    found = []
    for name in os.listdir(folder) if os.path.isdir(folder) else ():
        path = os.path.join(folder, name, RESOURCES_FILE)
        if name.startswith("trial_") and os.path.exists(path):
            with open(path) as file:
                record = json.load(file)
            if record.get("pid") == pid:
                found.append((name[len("trial_") :], record))
    return sorted(found, key=lambda pair: int(pair[0]))
