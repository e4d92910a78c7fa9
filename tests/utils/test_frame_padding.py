import numpy as np
import pytest

from vidattn.utils.frame_padding import pad_videos


def test_videos_are_padded_at_their_end_with_masked_zero_frames():
    short = np.full((1, 1, 1, 2), 3.0)
    long = np.arange(6, dtype=np.float32).reshape(3, 1, 1, 2)
    features, mask = pad_videos(
        [short, long], [np.array([True]), np.array([True, True, False])], 4
    )
    assert features.shape == (2, 4, 1, 1, 2) and features.dtype == np.float32
    np.testing.assert_array_equal(
        features[0, :, 0, 0], [[3, 3], [0, 0], [0, 0], [0, 0]]
    )
    np.testing.assert_array_equal(features[1, :3], long)
    assert not features[1, 3].any()
    assert mask.tolist() == [
        [True, False, False, False],
        [True, True, False, False],
    ]


def test_a_video_longer_than_the_batch_is_refused():
    with pytest.raises(ValueError, match="at most 2 frames. Received one of 3"):
        pad_videos([np.zeros((3, 1, 1, 2))], num_frames=2)
