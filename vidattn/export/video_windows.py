"""The thesis's test windows of whole videos, cut inside a served graph."""

import tensorflow as tf

from vidattn.data.feature_dataset import window_plan


def cut_video_windows(features, frame_mask, window_length, skip, stride):
    """Every test window of every video of a padded batch, in TF ops.

    The windows are those of `vidattn.data.FeatureDataset.evaluation_windows`
    (the same `window_plan`): for a video of `n` frames, the windows of
    `window_length` frames `skip` apart that start at `0, stride, ...` and
    fit, or one window from frame 0 repeating the last frame it reaches
    when the video is too short for one.

    Args:
        features: float tensor `(batch, frames, K, K, D)`.
        frame_mask: bool tensor `(batch, frames)`: each video's real frames
            first, then its padding (`False`).
        window_length: int. Frames per window.
        skip: int. Stored frames between a window's frames.
        stride: int. Stored frames between window starts.

    Returns:
        `(windows, video_index)`: float `(windows, window_length, K, K, D)`
        and int32 `(windows,)`, the video each window comes from, the
        windows of a video together and by increasing start.
    """
    frames = tf.shape(features)[1]
    num_frames = tf.reduce_sum(tf.cast(frame_mask, tf.int32), axis=1)
    tf.debugging.assert_equal(
        frame_mask,
        tf.sequence_mask(num_frames, frames),
        message="Expected `frame_mask` True on each video's frames and False "
        "after them (padding only at the end), with at least one True per "
        "video. Received a mask with a False before a True: send the "
        "video's frames in order, its padding last.",
    )
    tf.debugging.assert_positive(
        num_frames,
        message="Expected at least one frame per video (`frame_mask` True "
        "somewhere in each row). Received a video without frames.",
    )
    rows = tf.map_fn(
        lambda count: window_plan(count, window_length, skip, stride)[1],
        num_frames,
        fn_output_signature=tf.RaggedTensorSpec(
            shape=[None, window_length], dtype=tf.int32, ragged_rank=0
        ),
    )
    video_index = tf.cast(rows.value_rowids(), tf.int32)
    frame_index = video_index[:, None] * frames + rows.flat_values
    all_frames = tf.reshape(
        features, tf.concat([[-1], tf.shape(features)[2:]], axis=0)
    )
    return tf.gather(all_frames, frame_index), video_index
