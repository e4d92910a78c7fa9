import numpy as np
import pytest

from vidattn.datasets import COLOURS
from vidattn.datasets import attention_on_named_objects
from vidattn.datasets import describe_objects
from vidattn.datasets import render_caption_videos
from vidattn.datasets.rendered_captions import PHRASINGS
from vidattn.datasets.rendered_captions import SHAPE_WORDS

COLOUR_ORDER = [word for word, _ in COLOURS]
RGB = dict(COLOURS)


def test_frames_sentences_and_objects_have_the_promised_shapes():
    videos = render_caption_videos(3, frames=4, objects_per_video=3, seed=1)
    assert videos.frames.shape == (3, 4, 224, 224, 3)
    assert videos.frames.dtype == np.uint8
    assert videos.fps == 4.0
    assert [len(c) for c in videos.captions] == [len(PHRASINGS)] * 3
    assert [len(o) for o in videos.objects] == [3, 3, 3]
    for items in videos.objects:
        assert all(len(item["cells"]) == 4 for item in items)


def test_sentences_name_each_object_in_colour_order():
    videos = render_caption_videos(20, frames=4, seed=2)
    for captions, items in zip(videos.captions, videos.objects):
        colours = [item["colour"] for item in items]
        assert colours == sorted(colours, key=COLOUR_ORDER.index)
        assert len(set(colours)) == len(colours)
        phrases = captions[0].split(" and ")
        assert len(phrases) == len(items)
        for phrase, item in zip(phrases, items):
            motion = {
                "left": "moves to the left",
                "right": "moves to the right",
                "still": "stays still",
            }[item["motion"]]
            assert phrase == f"a {item['colour']} {item['shape']} {motion}"
        for phrasing, caption in enumerate(captions):
            assert caption == describe_objects(items, phrasing)


def test_movers_cross_one_cell_per_frame_in_their_own_row():
    videos = render_caption_videos(30, frames=5, seed=3)
    motions = set()
    for items in videos.objects:
        rows = [item["cells"][0] // 7 for item in items]
        assert len(set(rows)) == len(rows)
        for item in items:
            motions.add(item["motion"])
            row, cols = np.divmod(np.array(item["cells"]), 7)
            assert np.all(row == row[0]) and np.all((cols >= 0) & (cols < 7))
            step = {"left": -1, "right": 1, "still": 0}[item["motion"]]
            assert np.all(np.diff(cols) == step)
    assert motions == {"left", "right", "still"}


def _colour_columns(frame, cell, colour):
    """Columns (within its cell) of the pixels that have `colour` exactly."""
    row, col = divmod(cell, 7)
    patch = frame[row * 32 : (row + 1) * 32, col * 32 : (col + 1) * 32]
    near = np.abs(patch.astype(int) - np.array(colour)).max(-1) <= 2
    return np.nonzero(near)[1]


def test_the_pixels_show_each_objects_colour_place_and_direction():
    videos = render_caption_videos(8, frames=4, seed=4)
    for frames, items in zip(videos.frames, videos.objects):
        for item in items:
            for frame, cell in zip(frames, item["cells"]):
                columns = _colour_columns(frame, cell, RGB[item["colour"]])
                assert len(columns) > 20
                # The solid shape sits at the side it moves to; its faded
                # ghosts, in other shades, trail behind.
                centre = columns.mean()
                if item["motion"] == "right":
                    assert centre > 18
                elif item["motion"] == "left":
                    assert centre < 14
                else:
                    assert 14 <= centre <= 18


def test_the_same_seed_renders_the_same_videos():
    first = render_caption_videos(2, frames=3, seed=5)
    again = render_caption_videos(2, frames=3, seed=5)
    other = render_caption_videos(2, frames=3, seed=6)
    np.testing.assert_array_equal(first.frames, again.frames)
    assert first.captions == again.captions
    assert first.objects == again.objects
    assert first.captions != other.captions


def test_the_first_videos_do_not_depend_on_how_many_are_rendered():
    few = render_caption_videos(2, frames=3, seed=7)
    more = render_caption_videos(4, frames=3, seed=7)
    np.testing.assert_array_equal(few.frames, more.frames[:2])
    assert few.objects == more.objects[:2]


def test_shapes_and_colours_come_from_the_allowed_sets():
    videos = render_caption_videos(
        30, frames=2, objects_per_video=2, num_colours=3, num_shapes=2, seed=8
    )
    for items in videos.objects:
        assert {item["colour"] for item in items} <= set(COLOUR_ORDER[:3])
        assert {item["shape"] for item in items} <= set(SHAPE_WORDS[:2])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(frames=8), "`frames` to be an integer in \\[1, 7\\]"),
        (dict(objects_per_video=5), "`objects_per_video`"),
        (dict(num_colours=7), "`num_colours`"),
        (dict(num_shapes=1), "`num_shapes`"),
        (dict(cell_size=8), "`cell_size`"),
        (dict(fps=0), "`fps`"),
    ],
)
def test_arguments_out_of_range_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        render_caption_videos(1, **kwargs)


OBJECTS = [
    [
        {"colour": "red", "shape": "disk", "motion": "left", "cells": [3, 2]},
        {
            "colour": "blue",
            "shape": "cross",
            "motion": "still",
            "cells": [0, 0],
        },
    ]
]


def test_attention_on_named_objects_sums_each_words_mass_on_its_object():
    # 1 video, 6 steps, 2 frames, a 2x2 grid (cells 0..3).
    attention = np.zeros((1, 6, 2, 2, 2))
    flat = attention.reshape(1, 6, 2, 4)
    flat[0, 1, 0, 3] = 0.5  # "red": frame 0 on the red disk's cell 3
    flat[0, 1, 1, 2] = 0.3  # frame 1 on its cell 2
    flat[0, 1, 1, 0] = 0.2  # and 0.2 on the blue cross
    flat[0, 2, :, :] = 0.125  # "disk": uniform
    flat[0, 3, 0, 0] = 1.0  # "left": all on the blue cross
    flat[0, 5, 1, 0] = 1.0  # "blue": all on the blue cross
    captions = ["a red disk left a blue"]
    measured = attention_on_named_objects(attention, captions, OBJECTS)
    named = [0.8, 0.25, 0.0, 1.0]
    other = [0.2, 0.25, 1.0, 0.0]
    assert measured["words"] == 4 and measured["unmatched_words"] == 0
    assert measured["named"] == pytest.approx(np.mean(named))
    assert measured["other"] == pytest.approx(np.mean(other))
    assert measured["uniform"] == 0.25


def test_words_of_a_colour_the_video_lacks_are_counted_not_measured():
    attention = np.full((1, 4, 2, 2, 2), 0.125)
    measured = attention_on_named_objects(
        attention, ["a green disk left"], OBJECTS
    )
    assert measured["words"] == 0 and measured["unmatched_words"] == 3
    assert np.isnan(measured["named"])


def test_attention_on_named_objects_refuses_mismatched_inputs():
    with pytest.raises(ValueError, match="as many sentences"):
        attention_on_named_objects(np.zeros((2, 3, 2, 2, 2)), ["a"], OBJECTS)
    with pytest.raises(ValueError, match="at most 2 words"):
        attention_on_named_objects(
            np.zeros((1, 2, 2, 2, 2)), ["a red disk"], OBJECTS
        )
    with pytest.raises(ValueError, match="Expected attention of shape"):
        attention_on_named_objects(np.zeros((1, 2, 2, 4)), ["a"], OBJECTS)
