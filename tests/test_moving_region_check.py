import pytest

from vidattn.experiments.moving_region_check import run_moving_region_check


@pytest.mark.slow
def test_soft_attention_beats_average_pooling_and_looks_at_the_region():
    outcome = run_moving_region_check(
        train_videos=1500, test_videos=400, epochs=8
    )
    attention, average = outcome["results"]
    # Pooling can only count patterns: about 0.5 is the best it can do here.
    assert attention.accuracy > average.accuracy + 0.2, outcome
    assert attention.attention_on_region > 3 * outcome["uniform"], outcome
