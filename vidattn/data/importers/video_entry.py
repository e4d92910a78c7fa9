"""One video of a dataset, as the importers hand it to feature extraction."""

import dataclasses
import numbers
import os
from typing import Optional
from typing import Tuple

from vidattn.data.importers._common import SPLITS


@dataclasses.dataclass(frozen=True)
class VideoEntry:
    """One video of a dataset: where it is, which split, its labels or captions.

    Every importer in `vidattn.data.importers` returns these, inside a
    `vidattn.data.importers.DatasetIndex`, whatever the dataset's own layout.
    The entry is immutable and validated when made; lists are stored as
    tuples and labels sorted, so that equal entries compare equal.

    Args:
        video_id: str. A name for the video, unique within its dataset
            (e.g. `"v_shooting_01_01"`, `"actioncliptrain00001"`, `"vid1"`).
        path: str or path-like. The video file.
        split: str. One of `"train"`, `"validation"`, `"test"`.
        labels: sequence of int. Class indices into the dataset's
            `class_names`: one for a single-label dataset, any number for a
            multi-label one (Hollywood2), none for captioning (MSVD).
            Defaults to `()`.
        captions: sequence of str. Reference sentences (captioning only).
            Defaults to `()`.
        group: `None` or str. Videos that share a group must stay in one
            split (UCF-11's groups share actor and background; MSVD's clips
            of one YouTube video share a source). Defaults to `None`.

    Raises:
        ValueError: if a field has the wrong type or value (an empty id, an
            unknown split, a negative or repeated label, a non-str caption).

    Example:

    >>> import vidattn.data.importers as importers
    >>> entry = importers.VideoEntry(
    ...     "v_shooting_01_01", "/data/ucf11/basketball/v_shooting_01/"
    ...     "v_shooting_01_01.avi", "train", labels=[0], group="basketball/01")
    >>> entry.labels
    (0,)
    """

    video_id: str
    path: str
    split: str
    labels: Tuple[int, ...] = ()
    captions: Tuple[str, ...] = ()
    group: Optional[str] = None

    def __post_init__(self):
        if not isinstance(self.video_id, str) or not self.video_id.strip():
            raise ValueError(
                "Expected `video_id` to be a non-empty str. "
                f"Received: video_id={self.video_id!r}"
            )
        try:
            path = os.fspath(self.path)
        except TypeError:
            path = None
        if not isinstance(path, str) or not path:
            raise ValueError(
                "Expected `path` to be a non-empty str or path-like. "
                f"Received: path={self.path!r} (video_id={self.video_id!r})"
            )
        if self.split not in SPLITS:
            raise ValueError(
                f"Expected `split` to be one of {', '.join(SPLITS)}. "
                f"Received: split={self.split!r} (video_id={self.video_id!r})"
            )
        labels = _as_tuple(self.labels, "labels", self.video_id)
        if not all(
            isinstance(label, numbers.Integral)
            and not isinstance(label, bool)
            and label >= 0
            for label in labels
        ):
            raise ValueError(
                "Expected `labels` to be non-negative int class indices. "
                f"Received: labels={self.labels!r} (video_id={self.video_id!r})"
            )
        labels = tuple(sorted(int(label) for label in labels))
        if len(set(labels)) != len(labels):
            raise ValueError(
                "Expected `labels` to name each class at most once. "
                f"Received: labels={self.labels!r} (video_id={self.video_id!r})"
            )
        captions = _as_tuple(self.captions, "captions", self.video_id)
        if not all(isinstance(caption, str) for caption in captions):
            raise ValueError(
                "Expected `captions` to be a sequence of str. "
                f"Received: captions={self.captions!r} "
                f"(video_id={self.video_id!r})"
            )
        if self.group is not None and not isinstance(self.group, str):
            raise ValueError(
                "Expected `group` to be None or a str. "
                f"Received: group={self.group!r} (video_id={self.video_id!r})"
            )
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "labels", labels)
        object.__setattr__(self, "captions", captions)


def _as_tuple(value, name, video_id):
    if isinstance(value, (str, bytes)):
        raise ValueError(
            f"Expected `{name}` to be a sequence, not a single str. "
            f"Received: {name}={value!r} (video_id={video_id!r})"
        )
    try:
        return tuple(value)
    except TypeError:
        raise ValueError(
            f"Expected `{name}` to be a sequence. "
            f"Received: {name}={value!r} (video_id={video_id!r})"
        ) from None
