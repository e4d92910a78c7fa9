"""Videos of different lengths in one batch, their padding masked."""

import numpy as np


def pad_videos(features, frame_masks=None, num_frames=None):
    """Stacks feature cubes of videos of several lengths into one batch.

    Each video is padded at its end with zero frames whose `frame_mask` is
    False, up to the longest video (or `num_frames`), so that the models
    give the padding no attention and no weight in their initial state.

    Args:
        features: sequence of float arrays `(frames_i, K, K, D)`.
        frame_masks: sequence of bool arrays `(frames_i,)` (False for a
            video's own padding, e.g. black frames), or `None` when every
            frame is valid. Defaults to `None`.
        num_frames: int or `None`. The batch's number of frames; `None`
            means the longest video's. Defaults to `None`.

    Returns:
        `(features, frame_mask)`: float32 `(videos, N, K, K, D)` and bool
        `(videos, N)`.

    Raises:
        ValueError: if there is no video, the cubes differ in shape, or a
            video is longer than `num_frames`.

    Example:

    >>> import numpy as np
    >>> from vidattn.utils.frame_padding import pad_videos
    >>> videos = [np.ones((2, 1, 1, 3)), np.ones((1, 1, 1, 3))]
    >>> features, mask = pad_videos(videos)
    >>> features.shape, mask.tolist()
    ((2, 2, 1, 1, 3), [[True, True], [True, False]])
    """
    features = [np.asarray(cube, np.float32) for cube in features]
    if not features:
        raise ValueError("Expected at least one video. Received none.")
    if frame_masks is None:
        frame_masks = [np.ones(len(cube), bool) for cube in features]
    shapes = {cube.shape[1:] for cube in features}
    if len(shapes) != 1 or any(cube.ndim != 4 for cube in features):
        raise ValueError(
            "Expected feature cubes of one shape (frames, K, K, D). "
            f"Received shapes: {sorted(cube.shape for cube in features)}"
        )
    longest = max(len(cube) for cube in features)
    if num_frames is None:
        num_frames = longest
    elif longest > num_frames:
        raise ValueError(
            f"Expected videos of at most {num_frames} frames. Received one "
            f"of {longest} frames."
        )
    batch = np.zeros((len(features), num_frames) + shapes.pop(), np.float32)
    mask = np.zeros((len(features), num_frames), bool)
    for index, (cube, valid) in enumerate(zip(features, frame_masks)):
        batch[index, : len(cube)] = cube
        mask[index, : len(cube)] = valid
    return batch, mask
