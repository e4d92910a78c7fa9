import numpy as np
import pytest

from vidattn.datasets import attention_on_region
from vidattn.datasets import generate_moving_region_videos


def region_vectors(videos):
    """The feature vector at the marked region, keyed by (label, location)."""
    vectors = {}
    flat = videos.features.reshape(len(videos), videos.region.shape[1], -1, 32)
    for video, label in enumerate(videos.labels):
        for frame, location in enumerate(videos.region[video]):
            vectors.setdefault((int(label), int(location)), []).append(
                flat[video, frame, location]
            )
    return vectors


def test_generated_videos_have_the_promised_shapes_and_moves():
    videos = generate_moving_region_videos(64, frames=6, seed=3)
    assert videos.features.shape == (64, 6, 4, 4, 32)
    assert videos.features.dtype == np.float32
    assert videos.labels.shape == (64,) and videos.region.shape == (64, 6)
    assert set(videos.labels.tolist()) == {0, 1, 2, 3}
    assert videos.class_names == ["class_0", "class_1", "class_2", "class_3"]
    # The region moves at most one cell between frames, and does move.
    rows, cols = np.divmod(videos.region, 4)
    steps = np.abs(np.diff(rows, axis=1)) + np.abs(np.diff(cols, axis=1))
    assert steps.max() <= 1 and steps.sum() > 0


def test_the_label_is_in_the_marked_region_only():
    # Without noise and distractors, every other cell is empty, and the
    # marked region holds a vector that depends only on its label and
    # place.
    videos = generate_moving_region_videos(
        64, frames=6, noise=0.0, num_distractors=0, seed=3
    )
    flat = videos.features.reshape(64, 6, 16, 32)
    marked = np.zeros((64, 6, 16), bool)
    np.put_along_axis(marked, videos.region[..., None], True, axis=-1)
    assert np.all(flat[~marked] == 0.0)
    vectors = region_vectors(videos)
    for group in vectors.values():
        np.testing.assert_array_equal(np.ptp(group, axis=0), 0.0)
    # At the same place, different labels hold different vectors.
    by_place = {}
    for (label, location), group in vectors.items():
        by_place.setdefault(location, {})[label] = group[0]
    assert any(len(labels) > 1 for labels in by_place.values())
    for labels in by_place.values():
        values = list(labels.values())
        for i in range(len(values)):
            for j in range(i + 1, len(values)):
                assert not np.allclose(values[i], values[j])


def test_another_seed_gives_other_videos_with_the_same_patterns():
    # A test split generated with another seed must share the train split's
    # class patterns and signature, or no model could generalise.
    first = generate_moving_region_videos(
        64, frames=6, noise=0.0, num_distractors=0, seed=3
    )
    second = generate_moving_region_videos(
        64, frames=6, noise=0.0, num_distractors=0, seed=4
    )
    assert not np.array_equal(first.labels, second.labels)
    assert not np.array_equal(first.region, second.region)
    first_vectors, second_vectors = (
        region_vectors(first),
        region_vectors(second),
    )
    shared = set(first_vectors) & set(second_vectors)
    assert len(shared) > 10
    for key in shared:
        np.testing.assert_array_equal(
            first_vectors[key][0], second_vectors[key][0]
        )
    # With noise and distractors, the videos themselves differ.
    noisy = generate_moving_region_videos(64, frames=6, seed=3)
    other = generate_moving_region_videos(64, frames=6, seed=4)
    assert not np.allclose(noisy.features, other.features)


def test_attention_on_region():
    attention = np.zeros((2, 3, 4, 4))
    attention[..., 0, 1] = 1.0
    assert attention_on_region(attention, np.ones((2, 3), int)) == 1.0
    assert attention_on_region(attention, np.zeros((2, 3), int)) == 0.0
    uniform = np.full((2, 3, 16), 1 / 16)
    assert attention_on_region(uniform, np.ones((2, 3), int)) == 1 / 16
    with pytest.raises(ValueError, match="region of shape"):
        attention_on_region(attention, np.ones((2, 4), int))


def test_arguments_out_of_range_are_refused():
    with pytest.raises(ValueError, match="Expected at most 3 distractors"):
        generate_moving_region_videos(1, grid_size=2, num_distractors=4)
    with pytest.raises(ValueError, match="Expected `frames` to be a positive"):
        generate_moving_region_videos(1, frames=0)
    with pytest.raises(ValueError, match="Expected `noise`"):
        generate_moving_region_videos(1, noise=-1.0)
