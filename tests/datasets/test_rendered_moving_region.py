import os

import numpy as np
import pytest

from vidattn.data.video_reader import VideoReader
from vidattn.datasets import render_moving_region_videos
from vidattn.datasets import write_video
from vidattn.datasets.rendered_moving_region import SHAPES


def cell_pixels(frame, flat_cell, grid=7, size=32):
    row, col = divmod(int(flat_cell), grid)
    return frame[
        row * size : (row + 1) * size, col * size : (col + 1) * size
    ].astype(int)


def white_pixels(cell):
    return int((cell.min(-1) > 240).sum())


def shows_colour(cell, colour):
    centre = cell[12:20, 12:20].reshape(-1, 3)
    return np.mean(np.abs(centre - np.array(colour)).max(-1) < 30) > 0.9


BALANCED = dict(twins_per_class=2, num_distractors=0, decoy_rings=True)


def test_the_ringed_shape_is_the_class_and_its_cell_is_the_region():
    videos = render_moving_region_videos(
        6, frames=5, clutter=40, seed=2, **BALANCED
    )
    assert videos.frames.shape == (6, 5, 224, 224, 3)
    assert videos.frames.dtype == np.uint8
    assert videos.class_names == [name for name, _ in SHAPES[:4]]
    np.testing.assert_array_equal(videos.region, videos.shape_cells[:, :, 0])
    for video in range(6):
        colour = SHAPES[videos.labels[video]][1]
        for frame in range(5):
            image = videos.frames[video, frame]
            cell = cell_pixels(image, videos.region[video, frame])
            # The ring is white; the shape inside has the class's colour.
            assert white_pixels(cell) > 100
            assert shows_colour(cell, colour), (video, frame)
            # Every other shape, its twin included, has its own colour and
            # no ring.
            for shape in range(1, videos.shape_cells.shape[-1]):
                other = cell_pixels(
                    image, videos.shape_cells[video, frame, shape]
                )
                assert white_pixels(other) < 10
                kind = videos.shape_classes[video, shape]
                assert shows_colour(other, SHAPES[kind][1]), (video, shape)


def test_every_class_has_the_same_number_of_shapes_in_every_video():
    videos = render_moving_region_videos(
        8,
        frames=2,
        twins_per_class=3,
        num_distractors=0,
        decoy_rings=True,
        seed=5,
    )
    assert videos.shape_classes.shape == (8, 12)
    for video in range(8):
        counts = np.bincount(videos.shape_classes[video], minlength=4)
        np.testing.assert_array_equal(counts, [3, 3, 3, 3])
        assert videos.shape_classes[video, 0] == videos.labels[video]
        # One grey ring per class, never on the white-ringed shape.
        decoys = videos.decoys[video]
        np.testing.assert_array_equal(
            videos.shape_classes[video, decoys], [0, 1, 2, 3]
        )
        assert 0 not in decoys
        # Shapes stand in distinct cells.
        for frame in range(2):
            assert len(set(videos.shape_cells[video, frame].tolist())) == 12


def test_shapes_step_to_neighbouring_cells():
    videos = render_moving_region_videos(4, frames=6, move_probability=1.0)
    rows, cols = np.divmod(videos.shape_cells, 7)
    steps = np.abs(np.diff(rows, axis=1)) + np.abs(np.diff(cols, axis=1))
    assert set(np.unique(steps).tolist()) <= {0, 1}
    assert steps.mean() > 0.5


def test_rendering_is_deterministic_and_depends_on_the_seed():
    first = render_moving_region_videos(
        2, frames=3, clutter=9, seed=7, **BALANCED
    )
    again = render_moving_region_videos(
        2, frames=3, clutter=9, seed=7, **BALANCED
    )
    other = render_moving_region_videos(
        2, frames=3, clutter=9, seed=8, **BALANCED
    )
    np.testing.assert_array_equal(first.frames, again.frames)
    np.testing.assert_array_equal(first.shape_cells, again.shape_cells)
    assert not np.array_equal(first.frames, other.frames)


def test_clutter_marks_the_background_of_each_video():
    plain = render_moving_region_videos(1, frames=1, clutter=0, seed=3)
    busy = render_moving_region_videos(1, frames=1, clutter=40, seed=3)
    empty = np.ones((7, 7), bool)
    empty.flat[busy.shape_cells[0, 0]] = False
    empty.flat[plain.shape_cells[0, 0]] = False
    cells = np.flatnonzero(empty)
    spread = [
        cell_pixels(video.frames[0, 0], cell).reshape(-1, 3).mean(0)
        for video in (plain, busy)
        for cell in cells
    ]
    plain_means, busy_means = np.split(np.array(spread), 2)
    # Noise alone keeps every empty cell near the grey 70; blots move many.
    assert np.abs(plain_means - 70).max() < 6
    assert np.mean(np.abs(busy_means - 70).max(-1) > 10) > 0.15


def test_by_default_six_distractors_of_random_classes_and_no_decoys():
    videos = render_moving_region_videos(3, frames=2, seed=1)
    assert videos.shape_classes.shape == (3, 7)
    assert videos.decoys.shape == (3, 0)
    np.testing.assert_array_equal(videos.shape_classes[:, 0], videos.labels)


def test_write_video_round_trips_and_leaves_no_temporary_file(tmp_path):
    videos = render_moving_region_videos(1, frames=4, clutter=0, seed=0)
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
    with pytest.raises(ValueError, match="Expected at most 4 shapes on a 2x2"):
        render_moving_region_videos(
            1, grid=2, twins_per_class=1, num_distractors=1
        )
    with pytest.raises(ValueError, match="Expected `twins_per_class` >= 2"):
        render_moving_region_videos(1, twins_per_class=1, decoy_rings=True)
    with pytest.raises(ValueError, match="Expected uint8 frames"):
        write_video(tmp_path / "x.mp4", np.zeros((2, 8, 8, 3)), 10)
    assert not os.listdir(tmp_path)
