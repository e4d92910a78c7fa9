import pytest

from vidattn.examples.moving_region_check import run_moving_region_check


@pytest.mark.slow
def test_soft_attention_beats_average_pooling_and_looks_at_the_region():
    outcome = run_moving_region_check(
        train_videos=1500, test_videos=400, epochs=8
    )
    attention, average = outcome["results"]
    assert attention.model == "soft attention (linear)"
    assert average.model == "average-pooled LSTM"
    # Pooling can only count patterns, never tell which one the marked
    # region holds: with 4 distractors of random classes, about 0.5 is the
    # best it can do. Attention can find the region and read the label.
    assert average.accuracy < 0.6, outcome
    assert attention.accuracy > average.accuracy + 0.2, outcome
    assert attention.attention_on_region > 3 * outcome["uniform"], outcome
    assert outcome["uniform"] == 1 / 16


def test_arguments_out_of_range_are_refused():
    with pytest.raises(ValueError, match="Expected `attention` to be one of"):
        run_moving_region_check(attention="dot")
    with pytest.raises(ValueError, match="Expected `epochs`"):
        run_moving_region_check(epochs=0)
