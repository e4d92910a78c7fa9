"""Tests for vidattn.extraction.FrameBatcher, with a stand-in backbone."""

import numpy as np

from vidattn.data import FrameSampling
from vidattn.data.importers import VideoEntry
from vidattn.extraction import DecodedVideo
from vidattn.extraction import FrameBatcher


class MeanBackbone:
    """Each frame's 1×1×1 "feature" is its mean; records the batch sizes."""

    def __init__(self):
        self.batches = []

    def extract(self, frames, batch_size=32):
        self.batches.append(len(frames))
        return frames.mean(axis=(1, 2, 3), keepdims=True)


def _video(name, values):
    frames = np.asarray(values, np.float32)[:, None, None, None]
    frames = np.broadcast_to(frames, (len(values), 2, 2, 3))
    entry = VideoEntry(name, f"/videos/{name}.mp4", "train")
    return DecodedVideo(
        entry,
        FrameSampling.at_fps(5),
        frames=frames,
        remaining=len(values),
    )


def test_full_batches_across_videos_in_order():
    backbone = MeanBackbone()
    batcher = FrameBatcher(backbone, batch_size=4)
    a = _video("a", [1, 2, 3])
    b = _video("b", [4, 5, 6, 7, 8, 9])
    c = _video("c", [10])

    assert batcher.add(a) == []
    done = batcher.add(b)  # Frames 1-8 fill two batches; a is complete.
    assert [video.entry.video_id for video in done] == ["a"]
    assert batcher.add(c) == []
    done = batcher.flush()
    assert [video.entry.video_id for video in done] == ["b", "c"]

    # Every forward pass has exactly batch_size frames, the last padded.
    assert backbone.batches == [4, 4, 4]
    for video, values in ((a, [1, 2, 3]), (b, [4, 5, 6, 7, 8, 9]), (c, [10])):
        np.testing.assert_array_equal(
            video.stacked_features().reshape(-1), values
        )
        assert video.remaining == 0 and video.frames is None
