"""The moving-region task drawn as real video: the demo's bundled dataset.

Each video shows coloured shapes (a red disk, a green square, a blue
triangle, a yellow cross, ...) on a noisy background, moving between the
cells of a `grid x grid` layout. One shape wears a white ring: the class of
the video is the shape inside the ring. By default (the demo's task) the
other shapes are distractors of random classes.

Options make the frame's pooled features tell less about the class:

- `twins_per_class`: every class has the same number of shapes in every
  video, the ringed one included, so the bag of shapes is the same whatever
  the class and only *which* twin wears the ring decides;
- `decoy_rings`: one twin of every class wears a grey ring, so rings around
  every kind of shape are in every frame;
- `clutter`: random blots and strokes on each video's background, which
  change the pooled features from video to video.

With real ImageNet features these lower what pooling can read, but do not
remove it: the last convolutional layer binds "white ring around a red
disk" into features that survive the mean over the 49 cells (BUILD_NOTES.md
has the measurements).

Cells are `cell_size` pixels wide, so that a backbone with stride
`cell_size` (32 for EfficientNet-Lite0) puts one feature location on each
cell, and the ringed region's location is known exactly for scoring where
the model looks.
"""

import dataclasses

import av
import numpy as np
from PIL import Image
from PIL import ImageDraw

from vidattn.utils.arguments import check_non_negative_int
from vidattn.utils.arguments import check_non_negative_number
from vidattn.utils.arguments import check_positive_int
from vidattn.utils.arguments import check_positive_number
from vidattn.utils.atomic_write import atomic_output_path

SHAPES = (
    ("red_disk", (220, 40, 40)),
    ("green_square", (40, 190, 60)),
    ("blue_triangle", (50, 90, 230)),
    ("yellow_cross", (235, 210, 40)),
    ("magenta_diamond", (200, 60, 200)),
    ("cyan_bar", (40, 200, 210)),
)
MOVES = ((-1, 0), (1, 0), (0, -1), (0, 1))
RING_COLOR = (255, 255, 255)
DECOY_RING_COLOR = (150, 150, 150)


@dataclasses.dataclass
class RenderedVideos:
    """Frames of rendered videos, their labels and the ringed region.

    Attributes:
        frames: uint8 `(videos, frames, height, width, 3)`.
        labels: int32 `(videos,)`.
        region: int32 `(videos, frames)`: flat cell `row * grid + col` of the
            ringed shape.
        class_names: list of str.
        fps: float. The frame rate the videos are meant to play at.
        shape_classes: int32 `(videos, shapes)`: the class of every shape
            drawn, the ringed one first.
        shape_cells: int32 `(videos, frames, shapes)`: the flat cell of every
            shape at every frame (`shape_cells[:, :, 0]` is `region`).
        decoys: int32 `(videos, classes)`: for each class, the index (into
            `shape_classes`) of its shape in a grey ring; `(videos, 0)` when
            rendered without decoy rings.
    """

    frames: np.ndarray
    labels: np.ndarray
    region: np.ndarray
    class_names: list
    fps: float
    shape_classes: np.ndarray
    shape_cells: np.ndarray
    decoys: np.ndarray


def _draw_shape(draw, name, color, box):
    left, top, right, bottom = box
    if name.endswith("disk"):
        draw.ellipse(box, fill=color)
    elif name.endswith("square"):
        draw.rectangle(box, fill=color)
    elif name.endswith("triangle"):
        draw.polygon(
            [((left + right) / 2, top), (right, bottom), (left, bottom)],
            fill=color,
        )
    elif name.endswith("cross"):
        width = (right - left) / 3
        draw.rectangle((left + width, top, right - width, bottom), fill=color)
        draw.rectangle((left, top + width, right, bottom - width), fill=color)
    elif name.endswith("diamond"):
        middle_x, middle_y = (left + right) / 2, (top + bottom) / 2
        draw.polygon(
            [
                (middle_x, top),
                (right, middle_y),
                (middle_x, bottom),
                (left, middle_y),
            ],
            fill=color,
        )
    else:
        height = (bottom - top) / 3
        draw.rectangle((left, top + height, right, bottom - height), fill=color)


def _cluttered_background(rng, size, clutter):
    """Grey with `clutter` random blots and strokes: one video's backdrop."""
    image = Image.new("RGB", (size, size), (70, 70, 70))
    draw = ImageDraw.Draw(image)
    for _ in range(clutter):
        left, top = (int(v) for v in rng.integers(0, size, 2))
        width, height = (int(v) for v in rng.integers(4, 40, 2))
        color = tuple(int(c) for c in rng.integers(0, 200, 3))
        box = (left, top, left + width, top + height)
        if rng.random() < 0.5:
            draw.ellipse(box, fill=color)
        else:
            draw.line(box, fill=color, width=int(rng.integers(1, 5)))
    return np.asarray(image, dtype=np.float32)


def _step_shapes(rng, cells, grid, move_probability):
    """Moves each shape to a free neighbouring cell with the probability."""
    occupied = set(cells)
    for shape_index, (row, col) in enumerate(cells):
        if rng.random() < move_probability:
            d_row, d_col = MOVES[rng.integers(len(MOVES))]
            target = (row + d_row, col + d_col)
            if (
                0 <= target[0] < grid
                and 0 <= target[1] < grid
                and target not in occupied
            ):
                occupied.discard((row, col))
                occupied.add(target)
                cells[shape_index] = target


def render_moving_region_videos(
    num_videos,
    frames=12,
    grid=7,
    cell_size=32,
    num_classes=4,
    twins_per_class=0,
    num_distractors=6,
    decoy_rings=False,
    clutter=0,
    move_probability=0.3,
    fps=10.0,
    seed=0,
):
    """Renders the videos.

    Args:
        num_videos: int.
        frames: int. Frames per video. Defaults to `12`.
        grid: int. Cells per side. Defaults to `7` (224x224 frames).
        cell_size: int. Pixels per cell side. Defaults to `32`.
        num_classes: int, at most 6. Defaults to `4`.
        twins_per_class: int. Shapes of every class in every video, the
            ringed one counted among its class's: the bag of shapes is then
            the same for every class. `0` draws the ringed shape alone.
            Defaults to `0`.
        num_distractors: int. Further unringed shapes of random classes
            (which make the bag itself hint at the class). Defaults to `6`.
        decoy_rings: bool. Whether one twin of every class wears a grey
            ring; needs `twins_per_class >= 2`. Defaults to `False`.
        clutter: int. Random blots and strokes drawn on each video's
            background. Defaults to `0`.
        move_probability: float. Chance that a shape steps to a
            neighbouring free cell between two frames (1 or more: at every
            frame). Defaults to `0.3`.
        fps: float. Nominal frame rate. Defaults to `10.0`.
        seed: int.

    Returns:
        A `RenderedVideos`.

    Raises:
        ValueError: if an argument is out of range or the shapes do not fit
            on the grid.

    Example:

    >>> import vidattn
    >>> videos = vidattn.datasets.render_moving_region_videos(2, frames=4)
    >>> videos.frames.shape, videos.region.shape
    ((2, 4, 224, 224, 3), (2, 4))
    >>> balanced = vidattn.datasets.render_moving_region_videos(
    ...     2, frames=4, twins_per_class=2, num_distractors=0,
    ...     decoy_rings=True, clutter=40)
    >>> balanced.shape_classes.shape  # 2 twins of each of 4 classes
    (2, 8)
    """
    num_videos = check_non_negative_int("num_videos", num_videos)
    frames = check_positive_int("frames", frames)
    grid = check_positive_int("grid", grid)
    cell_size = check_positive_int("cell_size", cell_size)
    twins_per_class = check_non_negative_int("twins_per_class", twins_per_class)
    num_distractors = check_non_negative_int("num_distractors", num_distractors)
    clutter = check_non_negative_int("clutter", clutter)
    if decoy_rings and twins_per_class < 2:
        raise ValueError(
            "Expected `twins_per_class` >= 2 with `decoy_rings=True` (the "
            "ringed shape's class needs a twin to wear the grey ring). "
            f"Received: twins_per_class={twins_per_class}; raise it or pass "
            "`decoy_rings=False`."
        )
    move_probability = check_non_negative_number(
        "move_probability", move_probability
    )
    fps = check_positive_number("fps", fps)
    if (
        isinstance(num_classes, bool)
        or not isinstance(num_classes, int)
        or not 2 <= num_classes <= len(SHAPES)
    ):
        raise ValueError(
            f"Expected `num_classes` to be an integer in [2, {len(SHAPES)}]. "
            f"Received: num_classes={num_classes!r}"
        )
    num_shapes = max(1, twins_per_class * num_classes) + num_distractors
    if num_shapes > grid * grid:
        raise ValueError(
            f"Expected at most {grid * grid} shapes on a {grid}x{grid} grid. "
            f"Received: twins_per_class={twins_per_class} x num_classes="
            f"{num_classes} + num_distractors={num_distractors} = "
            f"{num_shapes} shapes; lower them or raise `grid`."
        )
    rng = np.random.default_rng(seed)
    size = grid * cell_size
    margin = cell_size // 5
    videos = np.zeros((num_videos, frames, size, size, 3), np.uint8)
    labels = rng.integers(0, num_classes, num_videos).astype(np.int32)
    shape_classes = np.zeros((num_videos, num_shapes), np.int32)
    shape_cells = np.zeros((num_videos, frames, num_shapes), np.int32)
    decoys = np.zeros((num_videos, num_classes if decoy_rings else 0), np.int32)
    for video in range(num_videos):
        label = int(labels[video])
        twins = [
            class_index
            for class_index in range(num_classes)
            for _ in range(twins_per_class)
        ]
        if twins:
            twins.remove(label)
        shape_classes[video] = (
            [label]
            + twins
            + [int(c) for c in rng.integers(0, num_classes, num_distractors)]
        )
        if decoy_rings:
            decoys[video] = [
                1 + twins.index(class_index)
                for class_index in range(num_classes)
            ]
        rings = dict.fromkeys(decoys[video].tolist(), DECOY_RING_COLOR)
        rings[0] = RING_COLOR
        cells = [
            tuple(divmod(int(c), grid))
            for c in rng.choice(grid * grid, num_shapes, replace=False)
        ]
        backdrop = _cluttered_background(rng, size, clutter)
        for frame in range(frames):
            noise = rng.normal(0, 18, (size, size, 3))
            image = Image.fromarray(
                (backdrop + noise).clip(0, 255).astype(np.uint8)
            )
            draw = ImageDraw.Draw(image)
            for shape_index, (row, col) in enumerate(cells):
                name, color = SHAPES[shape_classes[video, shape_index]]
                box = (
                    col * cell_size + margin,
                    row * cell_size + margin,
                    (col + 1) * cell_size - margin,
                    (row + 1) * cell_size - margin,
                )
                _draw_shape(draw, name, color, box)
                if shape_index in rings:
                    ring = (
                        box[0] - margin + 1,
                        box[1] - margin + 1,
                        box[2] + margin - 1,
                        box[3] + margin - 1,
                    )
                    draw.ellipse(
                        ring,
                        outline=rings[shape_index],
                        width=max(2, margin // 2),
                    )
                shape_cells[video, frame, shape_index] = row * grid + col
            videos[video, frame] = np.asarray(image)
            _step_shapes(rng, cells, grid, move_probability)
    return RenderedVideos(
        frames=videos,
        labels=labels,
        region=shape_cells[:, :, 0].copy(),
        class_names=[SHAPES[i][0] for i in range(num_classes)],
        fps=float(fps),
        shape_classes=shape_classes,
        shape_cells=shape_cells,
        decoys=decoys,
    )


def write_video(path, frames, fps):
    """Writes uint8 RGB frames as an H.264 MP4 with PyAV, atomically.

    Near-lossless (yuv444, CRF 12), so that the decoded frames stay close to
    the rendered ones. The file appears whole or not at all
    (`vidattn.utils.atomic_output_path`): a killed run leaves no truncated
    video for a rerun to take as done.

    Args:
        path: str or path-like. The MP4 file; missing folders are created.
        frames: uint8 array `(frames, height, width, 3)`, RGB.
        fps: float. The frame rate, rounded to an integer.

    Raises:
        ValueError: if `frames` is not a non-empty uint8 RGB array.
    """
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or not len(frames):
        raise ValueError(
            "Expected frames of shape (frames, height, width, 3). Received: "
            f"shape={frames.shape}"
        )
    if frames.dtype != np.uint8:
        raise ValueError(
            f"Expected uint8 frames. Received: dtype={frames.dtype}"
        )
    fps = check_positive_number("fps", fps)
    with atomic_output_path(path, suffix=".mp4") as temporary:
        with av.open(temporary, mode="w", format="mp4") as container:
            stream = container.add_stream("libx264", rate=int(round(fps)))
            stream.width, stream.height = frames.shape[2], frames.shape[1]
            stream.pix_fmt = "yuv444p"
            stream.options = {"crf": "12", "preset": "veryfast"}
            for frame in frames:
                for packet in stream.encode(
                    av.VideoFrame.from_ndarray(frame, format="rgb24")
                ):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
