import os

import numpy as np
import pytest

from vidattn.data.video_reader import VideoReader
from vidattn.datasets import render_moving_region_videos
from vidattn.datasets import write_video
from vidattn.datasets.rendered_moving_region import SHAPES


def test_the_ringed_shape_is_the_class_and_its_cell_is_the_region():
    videos = render_moving_region_videos(6, frames=5, seed=2)
    assert videos.frames.shape == (6, 5, 224, 224, 3)
    assert videos.frames.dtype == np.uint8
    assert videos.class_names == [name for name, _ in SHAPES[:4]]
    for video in range(6):
        colour = np.array(SHAPES[videos.labels[video]][1])
        for frame in range(5):
            row, col = divmod(int(videos.region[video, frame]), 7)
            cell = videos.frames[video, frame][
                row * 32 : (row + 1) * 32, col * 32 : (col + 1) * 32
            ].astype(int)
            # The ring is white; the shape inside has the class's colour.
            assert (cell.min(-1) > 240).sum() > 100
            centre = cell[12:20, 12:20].reshape(-1, 3)
            close = np.abs(centre - colour).max(-1) < 30
            assert close.mean() > 0.9, (video, frame)


def test_write_video_round_trips_and_leaves_no_temporary_file(tmp_path):
    videos = render_moving_region_videos(1, frames=4, seed=0)
    path = tmp_path / "split" / "clip.mp4"
    write_video(path, videos.frames[0], videos.fps)
    assert os.listdir(tmp_path / "split") == ["clip.mp4"]
    decoded = VideoReader(str(path)).read(fps=videos.fps).frames
    assert decoded.shape == videos.frames[0].shape
    error = np.abs(decoded.astype(int) - videos.frames[0].astype(int))
    assert error.mean() < 4


def test_arguments_out_of_range_are_refused(tmp_path):
    with pytest.raises(ValueError, match="Expected `num_classes`"):
        render_moving_region_videos(1, num_classes=7)
    with pytest.raises(ValueError, match="Expected at most 3 distractors"):
        render_moving_region_videos(1, grid=2, num_distractors=4)
    with pytest.raises(ValueError, match="Expected uint8 frames"):
        write_video(tmp_path / "x.mp4", np.zeros((2, 8, 8, 3)), 10)
    assert not os.listdir(tmp_path)
