"""Rendered videos with templated sentences: the captioning learning check.

Each video shows a few objects on a noisy background, each a coloured shape
in its own row of a `grid x grid` layout. An object either moves one cell
left or right at every frame, a fading trail of two ghost copies behind it
inside its cell (so that one frame shows which way it goes), or stays
still in the middle of its cell. The sentences list the objects in a fixed
order of colour (red, green, blue, yellow, ...), each with its shape and
its motion: "a red disk moves to the left and a blue square stays still".

What the mean feature of a video keeps, and what it loses: colours, shapes
and motions are all in the bag, but with several objects which shape and
which motion belong to which colour is mixed up there, so a decoder that
reads only the mean must guess the pairing. A decoder that looks at "the
red thing" when it says "red" can read its shape and motion from its cells.

Colours and shapes are those of `vidattn.datasets.rendered_moving_region`,
drawn the same way; cells are `cell_size` pixels wide, so that a backbone of
stride `cell_size` (32 for EfficientNet-Lite0) puts one feature location on
each cell, and each object's cell at every frame is known for measuring
where a captioner looks while it names the object.
"""

import dataclasses

import numpy as np
from PIL import Image
from PIL import ImageDraw

from vidattn.datasets.rendered_moving_region import SHAPES
from vidattn.datasets.rendered_moving_region import _draw_shape
from vidattn.utils.arguments import check_int
from vidattn.utils.arguments import check_positive_int
from vidattn.utils.arguments import check_positive_number

COLOURS = tuple((name.split("_")[0], color) for name, color in SHAPES)
"""`(word, RGB)` of each colour, in the order the sentences list objects."""
SHAPE_WORDS = tuple(name.split("_")[1] for name, _ in SHAPES)
"""The shape words, in the order of `SHAPES`."""
MOTIONS = ("left", "right", "still")
"""The motions: one cell left or right per frame, or none."""
PHRASINGS = (
    {
        "left": "a {} {} moves to the left",
        "right": "a {} {} moves to the right",
        "still": "a {} {} stays still",
    },
    {
        "left": "a {} {} is moving left",
        "right": "a {} {} is moving right",
        "still": "a {} {} is not moving",
    },
    {
        "left": "a {} {} goes left",
        "right": "a {} {} goes right",
        "still": "a {} {} stands still",
    },
)
"""Templates of one object's phrase; a sentence joins them with "and"."""
MOTION_WORDS = {
    "left": ("left",),
    "right": ("right",),
    "still": ("still", "not"),
}
"""Words of the phrasings that say an object's motion."""

_BACKGROUND_MEAN = 70
_GHOST_SHARES = (0.45, 0.2)


@dataclasses.dataclass
class RenderedCaptionVideos:
    """Frames of rendered videos, their sentences and their objects.

    Attributes:
        frames: uint8 `(videos, frames, height, width, 3)`.
        captions: list (one per video) of lists of str: the video's
            sentences, one per phrasing of `PHRASINGS`, all saying the same.
        objects: list (one per video) of lists of dicts, one per object in
            the order the sentences name them: `"colour"`, `"shape"`,
            `"motion"` (str, words of `COLOURS`, `SHAPE_WORDS` and
            `MOTIONS`) and `"cells"` (list of int: the object's flat cell
            `row * grid + col` at every frame).
        fps: float. The frame rate the videos are meant to play at.
    """

    frames: np.ndarray
    captions: list
    objects: list
    fps: float


def describe_objects(objects, phrasing=0):
    """The sentence that says what `objects` are and do.

    Args:
        objects: list of dicts with `"colour"`, `"shape"` and `"motion"`,
            in the order to name them.
        phrasing: int. Which template of `PHRASINGS`. Defaults to `0`.

    Returns:
        str, e.g. `"a red disk moves to the left and a blue square stays
        still"`.
    """
    templates = PHRASINGS[phrasing]
    return " and ".join(
        templates[item["motion"]].format(item["colour"], item["shape"])
        for item in objects
    )


def _check_count(name, value, low, high):
    value = check_int(name, value)
    if not low <= value <= high:
        raise ValueError(
            f"Expected `{name}` to be an integer in [{low}, {high}]. "
            f"Received: {name}={value!r}"
        )
    return value


def _blend(color, share):
    return tuple(
        int(round(share * c + (1 - share) * _BACKGROUND_MEAN)) for c in color
    )


def _draw_object(draw, item, color, cell, grid, cell_size):
    row, col = divmod(cell, grid)
    size = int(round(0.56 * cell_size))
    top = row * cell_size + (cell_size - size) // 2
    if item["motion"] == "still":
        offsets, left = (), col * cell_size + (cell_size - size) // 2
    else:
        # The object sits at the side it moves to; its ghosts trail behind.
        step = -1 if item["motion"] == "left" else 1
        gap = cell_size - size
        lead = gap - 1 if step > 0 else 1
        left = col * cell_size + lead
        offsets = tuple(
            -step * shift for shift in (cell_size // 5, cell_size // 3)
        )
    for offset, share in reversed(list(zip(offsets, _GHOST_SHARES))):
        box = (left + offset, top, left + offset + size, top + size)
        _draw_shape(draw, item["shape"], _blend(color, share), box)
    _draw_shape(
        draw, item["shape"], color, (left, top, left + size, top + size)
    )


def _plan_objects(
    rng, frames, grid, objects_per_video, num_colours, num_shapes
):
    colours = np.sort(rng.choice(num_colours, objects_per_video, replace=False))
    rows = rng.choice(grid, objects_per_video, replace=False)
    span = frames - 1
    plan = []
    for colour, row in zip(colours, rows):
        motion = MOTIONS[rng.integers(len(MOTIONS))]
        step = {"left": -1, "right": 1, "still": 0}[motion]
        if step < 0:
            start = int(rng.integers(span, grid))
        elif step > 0:
            start = int(rng.integers(0, grid - span))
        else:
            start = int(rng.integers(0, grid))
        cols = start + step * np.arange(frames)
        plan.append(
            {
                "colour": COLOURS[colour][0],
                "shape": SHAPE_WORDS[rng.integers(num_shapes)],
                "motion": motion,
                "cells": [int(row * grid + c) for c in cols],
            }
        )
    return plan, [COLOURS[c][1] for c in colours]


def render_caption_videos(
    num_videos,
    frames=4,
    grid=7,
    cell_size=32,
    objects_per_video=3,
    num_colours=4,
    num_shapes=4,
    fps=4.0,
    seed=0,
):
    """Renders the videos and writes their sentences.

    Args:
        num_videos: int.
        frames: int, at most `grid`. Frames per video; a moving object
            crosses one cell per frame. Defaults to `4`.
        grid: int. Cells per side. Defaults to `7` (224x224 frames).
        cell_size: int, at least 16. Pixels per cell side. Defaults to
            `32`.
        objects_per_video: int, at most `min(grid, num_colours)`. Defaults
            to `3`.
        num_colours: int in `[2, 6]`. Colours drawn from (without
            repetition within a video). Defaults to `4`.
        num_shapes: int in `[2, 6]`. Shapes drawn from (repeats allowed).
            Defaults to `4`.
        fps: float. Nominal frame rate. Defaults to `4.0`.
        seed: int.

    Returns:
        A `RenderedCaptionVideos`.

    Raises:
        ValueError: if an argument is out of range.

    Example:

    >>> import vidattn
    >>> videos = vidattn.datasets.render_caption_videos(2, frames=4)
    >>> videos.frames.shape
    (2, 4, 224, 224, 3)
    >>> [item["colour"] for item in videos.objects[0]] == sorted(
    ...     [item["colour"] for item in videos.objects[0]],
    ...     key=[c for c, _ in vidattn.datasets.COLOURS].index)
    True
    """
    num_videos = _check_count("num_videos", num_videos, 0, 10**9)
    grid = check_positive_int("grid", grid)
    frames = _check_count("frames", frames, 1, grid)
    cell_size = _check_count("cell_size", cell_size, 16, 10**4)
    num_colours = _check_count("num_colours", num_colours, 2, len(COLOURS))
    num_shapes = _check_count("num_shapes", num_shapes, 2, len(SHAPE_WORDS))
    objects_per_video = _check_count(
        "objects_per_video", objects_per_video, 1, min(grid, num_colours)
    )
    fps = check_positive_number("fps", fps)
    rng = np.random.default_rng(seed)
    size = grid * cell_size
    videos = np.zeros((num_videos, frames, size, size, 3), np.uint8)
    captions, objects = [], []
    for video in range(num_videos):
        plan, colors = _plan_objects(
            rng, frames, grid, objects_per_video, num_colours, num_shapes
        )
        for frame in range(frames):
            background = (
                rng.normal(_BACKGROUND_MEAN, 18, (size, size, 3))
                .clip(0, 255)
                .astype(np.uint8)
            )
            image = Image.fromarray(background)
            draw = ImageDraw.Draw(image)
            for item, color in zip(plan, colors):
                _draw_object(
                    draw, item, color, item["cells"][frame], grid, cell_size
                )
            videos[video, frame] = np.asarray(image)
        objects.append(plan)
        captions.append(
            [
                describe_objects(plan, phrasing)
                for phrasing in range(len(PHRASINGS))
            ]
        )
    return RenderedCaptionVideos(videos, captions, objects, float(fps))


def attention_on_named_objects(attention, captions, objects):
    """Where a captioner looks while it names each object.

    Reads each generated sentence as the templates write it: a colour word
    starts the phrase of the object of that colour, and the shape and
    motion words that follow, up to the next colour word, name the same
    object. For every such word (the colour word included), the attention
    of the step that emitted it is summed over the frames on the object's
    cell at each frame (1 for attention there at every frame: the mass is
    over time, so uniform attention puts `1 / (K*K)` on an object). The
    same sum on each other object of the video gives the comparison.

    A colour word naming a colour the video lacks starts a phrase that
    names nothing; its words are counted in `"unmatched_words"` and not
    measured.

    Args:
        attention: float array `(videos, length, N, K, K)`: the attention
            of each generated word, e.g. `CaptionGenerator.generate()`'s.
        captions: list of str, the generated sentences (word `t` emitted at
            step `t`).
        objects: list (one per video) of lists of dicts with `"colour"`,
            `"shape"`, `"motion"` and `"cells"`, as
            `RenderedCaptionVideos.objects`.

    Returns:
        A dict of floats: `"named"`, the mean mass on the named object over
        the measured words; `"other"`, the mean mass on one other object of
        the same video (NaN with single-object videos); `"uniform"`,
        `1 / (K*K)`; and counts `"words"` (measured) and
        `"unmatched_words"`. `"named"` is NaN when no word was measured.

    Raises:
        ValueError: if the numbers of videos differ, the attention is not
            5-D, or a sentence has more words than attention steps.
    """
    attention = np.asarray(attention, np.float64)
    if attention.ndim != 5 or attention.shape[3] != attention.shape[4]:
        raise ValueError(
            "Expected attention of shape (videos, length, frames, K, K). "
            f"Received: shape={attention.shape}"
        )
    if not len(captions) == len(objects) == len(attention):
        raise ValueError(
            "Expected as many sentences and object lists as videos of "
            f"attention. Received: {len(attention)} videos of attention, "
            f"{len(captions)} sentences, {len(objects)} object lists"
        )
    grid = attention.shape[3]
    frames = attention.shape[2]
    flat = attention.reshape(len(attention), attention.shape[1], frames, -1)
    shapes = set(SHAPE_WORDS)
    motions = {word for words in MOTION_WORDS.values() for word in words}
    named, other, unmatched = [], [], 0
    for video, (sentence, items) in enumerate(zip(captions, objects)):
        words = sentence.split()
        if len(words) > attention.shape[1]:
            raise ValueError(
                f"Expected at most {attention.shape[1]} words, one per "
                f"attention step. Received {len(words)} in video {video}: "
                f"{sentence!r}"
            )
        by_colour = {item["colour"]: item for item in items}
        current = None
        for step, word in enumerate(words):
            if word in dict(COLOURS):
                current = by_colour.get(word, "unmatched")
            elif word not in shapes and word not in motions:
                continue
            if current is None:
                continue
            if current == "unmatched":
                unmatched += 1
                continue

            def mass(item, step=step):
                cells = np.asarray(item["cells"][:frames])
                return flat[video, step, np.arange(len(cells)), cells].sum()

            named.append(mass(current))
            rest = [mass(item) for item in items if item is not current]
            if rest:
                other.append(np.mean(rest))
    return {
        "named": float(np.mean(named)) if named else float("nan"),
        "other": float(np.mean(other)) if other else float("nan"),
        "uniform": 1.0 / grid**2,
        "words": len(named),
        "unmatched_words": unmatched,
    }
