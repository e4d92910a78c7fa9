import json

import pytest

from vidattn.tuning.trial_recorder import TrialRecorder
from vidattn.tuning.trial_recorder import process_trials
from vidattn.tuning.trials_per_process_reached import TrialsPerProcessReached


class CountingTuner:
    created = 0

    def pre_create_trial(self):
        self.created += 1


class LimitedTuner(TrialRecorder, CountingTuner):
    pass


def test_a_process_stops_before_the_trial_after_its_limit():
    tuner = LimitedTuner()
    tuner.trials_per_process = 2
    tuner.pre_create_trial()
    tuner._trials_ended = 1
    tuner.pre_create_trial()
    tuner._trials_ended = 2
    with pytest.raises(TrialsPerProcessReached, match="its 2 trials"):
        tuner.pre_create_trial()
    assert tuner.created == 2


def test_no_limit_lets_every_trial_be_created():
    tuner = LimitedTuner()
    tuner._trials_ended = 1000
    tuner.pre_create_trial()
    assert tuner.created == 1


def test_the_trials_of_one_process_are_found_in_id_order(tmp_path):
    for trial_id, pid in (("10", 7), ("2", 7), ("3", 8)):
        folder = tmp_path / f"trial_{trial_id}"
        folder.mkdir()
        (folder / "resources.json").write_text(
            json.dumps({"rss_mb": float(trial_id), "pid": pid})
        )
    (tmp_path / "trial_4").mkdir()  # Running: no record yet.
    found = process_trials(str(tmp_path), 7)
    assert [trial_id for trial_id, _ in found] == ["2", "10"]
    assert [record["rss_mb"] for _, record in found] == [2.0, 10.0]
    assert process_trials(str(tmp_path / "absent"), 7) == []
