"""A generated video dataset whose class is decided by one moving region.

The learning check of the attention mechanism (thesis chapter 2): in every
video one small region, marked by a signature feature, wanders over the
`K x K` grid; what it holds (one of `num_classes` class patterns) decides the
label. Distractor regions elsewhere hold class patterns too, drawn from all
classes, so pooling all locations mixes the deciding pattern with several
others, while a model that finds the marked region and keeps looking at it
can read the label.

Each slice is Gaussian noise plus what stands there. The marked region's
signature carries a code of where it is (as an object's CNN features change
with its place in the frame), so a model that attends to it learns where to
look next. Slices are linear sums, not rectified: pooling over locations
then keeps only how often each class pattern occurs, never which pattern the
marked region holds.
"""

import dataclasses

import numpy as np

from vidattn.utils.arguments import check_non_negative_int
from vidattn.utils.arguments import check_non_negative_number
from vidattn.utils.arguments import check_positive_int

NEIGHBOUR_MOVES = ((-1, 0), (1, 0), (0, -1), (0, 1))


@dataclasses.dataclass
class MovingRegionVideos:
    """Feature cubes of generated videos and where their deciding region is.

    Attributes:
        features: float32 `(videos, frames, K, K, channels)`.
        labels: int32 `(videos,)`.
        region: int32 `(videos, frames)`, the flat location `row * K + col`
            of the deciding region at each frame.
        class_names: list of str.
    """

    features: np.ndarray
    labels: np.ndarray
    region: np.ndarray
    class_names: list

    def __len__(self):
        return len(self.labels)

    def split(self, count):
        """Returns `(first count videos, the rest)`."""
        first = MovingRegionVideos(
            self.features[:count],
            self.labels[:count],
            self.region[:count],
            self.class_names,
        )
        rest = MovingRegionVideos(
            self.features[count:],
            self.labels[count:],
            self.region[count:],
            self.class_names,
        )
        return first, rest


def _random_walk(rng, frames, grid_size, move_probability):
    row, col = rng.integers(0, grid_size, size=2)
    path = []
    for _ in range(frames):
        path.append((row, col))
        if rng.random() < move_probability:
            d_row, d_col = NEIGHBOUR_MOVES[rng.integers(len(NEIGHBOUR_MOVES))]
            row = int(np.clip(row + d_row, 0, grid_size - 1))
            col = int(np.clip(col + d_col, 0, grid_size - 1))
    return path


def generate_moving_region_videos(
    num_videos,
    frames=10,
    grid_size=4,
    channels=32,
    num_classes=4,
    num_distractors=4,
    move_probability=0.3,
    noise=0.3,
    seed=0,
):
    """Generates the moving-region dataset.

    Args:
        num_videos: int. Number of videos.
        frames: int. Frames per video. Defaults to `10`.
        grid_size: int. `K`, the grid is `K x K`. Defaults to `4`.
        channels: int. `D`, the feature channels. Defaults to `32`.
        num_classes: int. Defaults to `4`.
        num_distractors: int. Distractor regions per video, each holding the
            pattern of a class drawn uniformly from all classes. Defaults to
            `4`.
        move_probability: float. Chance that a region steps to a
            neighbouring cell between two frames (1 or more: at every
            frame). Defaults to `0.3`.
        noise: float. Standard deviation of the Gaussian noise. Defaults to
            `0.3`.
        seed: int. The videos depend on the seed; the class patterns and the
            signature depend only on `channels`,
            `grid_size` and `num_classes`, so that datasets generated with
            different seeds share them (a train and a test split).

    Returns:
        A `MovingRegionVideos`.

    Raises:
        ValueError: if an argument is out of range or the regions do not
            fit on the grid.

    Example:

    >>> import vidattn
    >>> videos = vidattn.datasets.generate_moving_region_videos(8, seed=1)
    >>> videos.features.shape, videos.region.shape
    ((8, 10, 4, 4, 32), (8, 10))
    """
    num_videos = check_non_negative_int("num_videos", num_videos)
    frames = check_positive_int("frames", frames)
    grid_size = check_positive_int("grid_size", grid_size)
    channels = check_positive_int("channels", channels)
    num_classes = check_positive_int("num_classes", num_classes)
    num_distractors = check_non_negative_int("num_distractors", num_distractors)
    move_probability = check_non_negative_number(
        "move_probability", move_probability
    )
    noise = check_non_negative_number("noise", noise)
    locations = grid_size * grid_size
    if num_distractors + 1 > locations:
        raise ValueError(
            f"Expected at most {locations - 1} distractors on a {grid_size}x"
            f"{grid_size} grid. Received: num_distractors={num_distractors}"
        )
    shared = np.random.default_rng([channels, grid_size, num_classes])
    patterns = shared.normal(size=(num_classes, channels))
    signature = shared.normal(size=channels) + shared.normal(
        scale=0.7, size=(locations, channels)
    )

    rng = np.random.default_rng(seed)
    features = rng.normal(
        scale=noise, size=(num_videos, frames, locations, channels)
    )
    labels = rng.integers(0, num_classes, size=num_videos).astype("int32")
    region = np.zeros((num_videos, frames), "int32")
    for video in range(num_videos):
        walks = [
            _random_walk(rng, frames, grid_size, move_probability)
            for _ in range(num_distractors + 1)
        ]
        distractor_classes = rng.integers(0, num_classes, size=num_distractors)
        for frame in range(frames):
            occupied = set()
            for walk_index, walk in enumerate(walks):
                row, col = walk[frame]
                location = row * grid_size + col
                if walk_index == 0:
                    region[video, frame] = location
                    features[video, frame, location] += (
                        signature[location] + patterns[labels[video]]
                    )
                elif location not in occupied:
                    klass = distractor_classes[walk_index - 1]
                    features[video, frame, location] += patterns[klass]
                occupied.add(location)
    features = features.astype("float32")
    return MovingRegionVideos(
        features=features.reshape(
            num_videos, frames, grid_size, grid_size, channels
        ),
        labels=labels,
        region=region,
        class_names=[f"class_{index}" for index in range(num_classes)],
    )


def attention_on_region(attention, region):
    """Mean attention mass on the deciding region, over videos and frames.

    Args:
        attention: `(videos, frames, K, K)` or `(videos, frames, K*K)`.
        region: int `(videos, frames)` flat locations.

    Returns:
        float. Uniform attention gives `1 / (K*K)`.

    Raises:
        ValueError: if `region` does not give one location per frame of
            `attention`.
    """
    attention = np.asarray(attention)
    region = np.asarray(region)
    if attention.ndim not in (3, 4) or region.shape != attention.shape[:2]:
        raise ValueError(
            "Expected attention of shape (videos, frames, K, K) and a region "
            "of shape (videos, frames). Received: attention.shape="
            f"{attention.shape}, region.shape={region.shape}"
        )
    attention = attention.reshape(attention.shape[0], attention.shape[1], -1)
    picked = np.take_along_axis(attention, region[..., None], axis=-1)
    return float(picked.mean())
