import numpy as np
import pytest

import vidattn
from tests.fixtures.feature_datasets import write_split
from vidattn.tuning import VideoMetricsCallback

NUM_CLASSES = 3


def video_probabilities(videos):
    """Video `i` (labelled `i % 3`) predicted as `i % 3`, except when that
    is 2: then as 0. Scores differ per video, so that rankings have no
    ties."""
    videos = np.asarray(videos)
    predicted = np.where(videos % 3 == 2, 0, videos % 3).astype(int)
    probabilities = (
        np.tile([0.3, 0.2, 0.1], (len(videos), 1)) - 0.01 * videos[:, None]
    )
    probabilities[np.arange(len(videos)), predicted] = 0.5 + 0.01 * videos
    return probabilities


class VideoIndexModel:
    """Reads the video's index from its features (all equal to it)."""

    def predict_on_batch(self, inputs):
        videos = np.rint(np.asarray(inputs["features"])[:, 0, 0, 0, 0])
        return {"probabilities": video_probabilities(videos)}


def average_precision(scores, relevant):
    order = np.argsort(-scores)
    hits = relevant[order]
    precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return precision[hits].mean()


def test_video_accuracy_is_written_into_the_epoch_logs(tmp_path):
    frame_counts = [5, 3, 8, 4, 6, 7, 2]  # 3 and 2 frames: one padded window.
    videos = type(
        "Videos",
        (),
        dict(
            features=[
                np.full((frames, 2, 2, 4), index, "float32")
                for index, frames in enumerate(frame_counts)
            ],
            labels=[index % NUM_CLASSES for index in range(len(frame_counts))],
            class_names=["a", "b", "c"],
        ),
    )
    data = vidattn.data.FeatureDataset(
        write_split(tmp_path, videos, "validation", grid_size=2, channels=4)
    )
    callback = VideoMetricsCallback(data, window=3, stride=1, batch_size=4)
    callback.set_model(VideoIndexModel())
    logs = {"val_loss": 1.0}
    callback.on_epoch_end(0, logs)
    # Videos 2 and 5 (label 2) are wrong: 5 of 7 right.
    assert logs["val_video_accuracy"] == pytest.approx(5 / 7)
    probabilities = video_probabilities(np.arange(7))
    labels = np.arange(7) % 3
    expected_map = np.mean(
        [average_precision(probabilities[:, c], labels == c) for c in range(3)]
    )
    assert logs["val_video_map"] == pytest.approx(expected_map)
    assert logs["val_loss"] == 1.0
