"""The thesis's test protocol (section 2.2.2): from windows to videos."""

import numpy as np

from vidattn.metrics.prediction_checks import check_probabilities
from vidattn.utils.arguments import check_one_of

AGGREGATIONS = ("mean", "vote")


def aggregate_video_predictions(
    window_probabilities, video_index, num_videos=None, method="mean"
):
    """Combines the predictions of a video's windows into one.

    A window's prediction is the mean of its per-step probabilities (the
    models' `"probabilities"` output). A video's prediction is the mean of its
    windows' predictions (the thesis), or with `method="vote"` the share of
    its windows that voted for each class (the argmax of each window).

    Args:
        window_probabilities: float array `(windows, num_classes)`.
        video_index: int array `(windows,)`: the video each window comes from,
            in `[0, num_videos)`.
        num_videos: int or `None`. Defaults to `max(video_index) + 1`.
        method: `"mean"` (default) or `"vote"`.

    Returns:
        float64 array `(num_videos, num_classes)`.

    Raises:
        ValueError: on mismatched lengths, a NaN or inf, an unknown method,
            or a video with no window.
    """
    window_probabilities = check_probabilities(
        window_probabilities, None, unit="windows"
    )
    video_index = np.asarray(video_index, dtype=np.int64).reshape(-1)
    check_one_of("method", method, AGGREGATIONS)
    if len(window_probabilities) != len(video_index):
        raise ValueError(
            "Expected window_probabilities of shape (windows, num_classes) and "
            "video_index of shape (windows,). Received shapes "
            f"{window_probabilities.shape} and {video_index.shape}."
        )
    if num_videos is None:
        num_videos = int(video_index.max()) + 1 if len(video_index) else 0
    num_classes = window_probabilities.shape[1]
    if method == "vote":
        votes = np.zeros_like(window_probabilities)
        votes[np.arange(len(votes)), window_probabilities.argmax(-1)] = 1.0
        window_probabilities = votes
    totals = np.zeros((num_videos, num_classes))
    np.add.at(totals, video_index, window_probabilities)
    counts = np.bincount(video_index, minlength=num_videos)
    if np.any(counts == 0):
        missing = np.flatnonzero(counts == 0)[:5].tolist()
        raise ValueError(
            "Expected at least one window for every video. Received none for "
            f"video indices {missing}."
        )
    return totals / counts[:, None]
