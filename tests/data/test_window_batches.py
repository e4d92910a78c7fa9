import numpy as np
import pytest
import tensorflow as tf

from vidattn.data import window_batches

L = 3  # frames per window


def _video(index, frames, windows):
    """A video whose frame f holds `100 * index + f`, and `windows` rows."""
    values = 100 * index + np.arange(frames, dtype="float16")
    features = np.broadcast_to(values[:, None, None, None], (frames, 1, 1, 2))
    rows = (np.arange(windows)[:, None] + np.arange(L)[None, :]) % frames
    return {
        "features": np.ascontiguousarray(features),
        "rows": rows.astype("int32"),
        "targets": {"label": np.full(windows, index, "int32")},
    }


# (frames, windows) per video: groups smaller than, equal to and larger
# than a batch, and a one-window video.
VIDEOS = [(4, 2), (6, 4), (3, 1), (9, 7), (5, 3), (2, 1), (8, 6)]


def _videos():
    videos = [_video(i, *shape) for i, shape in enumerate(VIDEOS)]
    return tf.data.Dataset.from_generator(
        lambda: iter(videos),
        output_signature={
            "features": tf.TensorSpec([None, 1, 1, 2], tf.float16),
            "rows": tf.TensorSpec([None, L], tf.int32),
            "targets": {"label": tf.TensorSpec([None], tf.int32)},
        },
    )


def _expected_windows():
    """Each window's frame values (NumPy), in video order, and its label."""
    windows, labels = [], []
    for i, shape in enumerate(VIDEOS):
        video = _video(i, *shape)
        for row in video["rows"]:
            windows.append(video["features"][row].astype("float32"))
            labels.append(i)
    return np.stack(windows), np.array(labels)


def _collect(batches):
    sizes, windows, labels = [], [], []
    for features, targets in batches:
        sizes.append(int(features.shape[0]))
        windows.append(features.numpy())
        labels.append(targets["label"].numpy())
    return sizes, np.concatenate(windows), np.concatenate(labels)


@pytest.mark.parametrize(
    "group_size, batch_size, drop_remainder",
    [
        (1, 5, False),  # groups smaller than a batch: carried and merged
        (2, 4, True),  # batches straddle groups; 24 windows, no remainder
        (3, 5, True),  # the last 4 windows dropped
        (7, 24, False),  # one group, one batch
        (2, 1, False),
    ],
)
def test_batches_hold_every_window_in_order(
    group_size, batch_size, drop_remainder
):
    groups = window_batches.group_windows(
        _videos(),
        group_size=group_size,
        seed=None,
        shuffle=False,
        dtype=tf.float32,
    )
    batches = window_batches.batch_groups(
        groups,
        batch_size,
        drop_remainder=drop_remainder,
        deterministic=True,
    )
    sizes, windows, labels = _collect(batches)
    expected_windows, expected_labels = _expected_windows()
    total = len(expected_labels)  # 24
    full, rest = divmod(total, batch_size)
    expected_sizes = [batch_size] * full
    if rest and not drop_remainder:
        expected_sizes.append(rest)
    assert sizes == expected_sizes
    kept = sum(expected_sizes)
    assert windows.dtype == np.float32
    np.testing.assert_array_equal(windows, expected_windows[:kept])
    np.testing.assert_array_equal(labels, expected_labels[:kept])


def test_group_frames_are_the_videos_concatenated_once():
    groups = window_batches.group_windows(
        _videos(), group_size=3, seed=None, shuffle=False, dtype=tf.float16
    )
    first = next(iter(groups))
    frames = first["frames"].numpy()
    assert frames.dtype == np.float16
    expected = np.concatenate(
        [_video(i, *VIDEOS[i])["features"] for i in range(3)]
    )
    np.testing.assert_array_equal(frames, expected)
    # Rows of video 1 start after video 0's 4 frames.
    np.testing.assert_array_equal(first["rows"].numpy()[2], [4, 5, 6])


def test_shuffle_permutes_each_group_reproducibly_and_anew_each_epoch():
    def epochs(seed):
        groups = window_batches.group_windows(
            _videos(), group_size=7, seed=seed, shuffle=True, dtype=tf.float32
        )
        batches = window_batches.batch_groups(
            groups, 24, drop_remainder=False, deterministic=True
        )
        return [_collect(batches)[2].tolist() for _ in range(2)]

    first, second = epochs(seed=5)
    assert epochs(seed=5) == [first, second]
    expected_labels = _expected_windows()[1].tolist()
    assert sorted(first) == sorted(second) == expected_labels
    assert first != expected_labels and first != second
