import numpy as np
import pytest

from vidattn.data.moving_region import attention_on_region
from vidattn.data.moving_region import generate_moving_region_videos
from vidattn.experiments.moving_region_check import run_moving_region_check


def test_generated_videos_put_the_label_in_the_marked_region_only():
    videos = generate_moving_region_videos(64, frames=6, seed=3)
    assert videos.features.shape == (64, 6, 4, 4, 32)
    assert videos.features.dtype == np.float32
    assert videos.region.shape == (64, 6)
    # The region moves at most one cell between frames.
    rows, cols = np.divmod(videos.region, 4)
    steps = np.abs(np.diff(rows, axis=1)) + np.abs(np.diff(cols, axis=1))
    assert steps.max() <= 1 and steps.sum() > 0
    # Same patterns for another seed: the test split shares the train split's.
    other = generate_moving_region_videos(64, frames=6, seed=4)
    assert not np.allclose(videos.features, other.features)


def test_attention_on_region():
    attention = np.zeros((2, 3, 4, 4))
    attention[..., 0, 1] = 1.0
    assert attention_on_region(attention, np.ones((2, 3), int)) == 1.0
    assert attention_on_region(attention, np.zeros((2, 3), int)) == 0.0


def test_too_many_distractors_are_refused():
    with pytest.raises(ValueError, match="Expected at most 3 distractors"):
        generate_moving_region_videos(1, grid_size=2, num_distractors=4)


@pytest.mark.slow
def test_soft_attention_beats_average_pooling_and_looks_at_the_region():
    outcome = run_moving_region_check(
        train_videos=1500, test_videos=400, epochs=8
    )
    attention, average = outcome["results"]
    # Pooling can only count patterns: about 0.5 is the best it can do here.
    assert attention.accuracy > average.accuracy + 0.2, outcome
    assert attention.attention_on_region > 3 * outcome["uniform"], outcome
