"""A dataset's videos, splits and classes, as one inspectable JSON file."""

import collections
import json
import os

from vidattn.data.importers._common import SPLITS
from vidattn.data.importers._common import abbreviate
from vidattn.data.importers.video_entry import VideoEntry
from vidattn.utils.atomic_write import write_json_atomically

_FORMAT = "vidattn.DatasetIndex"
_VERSION = 1
_ENTRY_KEYS = ("video_id", "split", "labels", "path", "captions", "group")


class DatasetIndex:
    """The videos of one dataset with their splits, labels and captions.

    What every importer of `vidattn.data.importers` returns, and what
    feature extraction reads. It checks on creation that the video ids are
    unique and that the labels fit `class_names` and `multi_label`:

    - single-label classification: every entry has exactly one label;
    - multi-label classification (`multi_label=True`, e.g. Hollywood2):
      any number of labels, none included;
    - captioning (no `class_names`, e.g. MSVD): no labels, captions instead.

    `to_json` writes it as a JSON file that a person can read and edit
    (labels are written as class names), and `from_json` reads it back.

    Args:
        entries: iterable of `vidattn.data.importers.VideoEntry`.
        class_names: sequence of str. Names of the classes, in the order of
            the label indices. Empty for captioning. Defaults to `()`.
        multi_label: bool. Whether a video may have several labels (or
            none). Defaults to `False`.
        name: str. The dataset's name (e.g. `"ucf11"`). Defaults to
            `"dataset"`.

    Attributes:
        entries: tuple of `VideoEntry`, in the importer's order.
        class_names: tuple of str.
        multi_label: bool.
        name: str.

    Raises:
        ValueError: if two entries share a video id, a label lies outside
            `class_names`, a single-label entry does not have exactly one
            label, a captioning entry has labels, or `class_names` repeats a
            name.

    Example:

    >>> import vidattn.data.importers as importers
    >>> index = importers.load_ucf11("/data/UCF11_updated_mpg")
    >>> len(index), index.class_names[:2]
    (1600, ('basketball', 'biking'))
    >>> train = index.split("train")
    >>> path = index.to_json("/data/ucf11_index.json")
    >>> importers.DatasetIndex.from_json(path) == index
    True
    """

    def __init__(
        self, entries, class_names=(), multi_label=False, name="dataset"
    ):
        if isinstance(class_names, str) or not all(
            isinstance(c, str) and c for c in class_names
        ):
            raise ValueError(
                "Expected `class_names` to be a sequence of non-empty str. "
                f"Received: class_names={class_names!r}"
            )
        class_names = tuple(class_names)
        repeated = [
            c for c, n in collections.Counter(class_names).items() if n > 1
        ]
        if repeated:
            raise ValueError(
                "Expected each class name once in `class_names`. Received "
                f"{abbreviate(repr(c) for c in repeated)} more than once."
            )
        if not isinstance(multi_label, bool):
            raise ValueError(
                "Expected `multi_label` to be a bool. "
                f"Received: multi_label={multi_label!r}"
            )
        if multi_label and not class_names:
            raise ValueError(
                "Expected `class_names` for a multi-label dataset. Received "
                "none. Pass the class names, or multi_label=False for "
                "captioning."
            )
        if not isinstance(name, str) or not name:
            raise ValueError(
                "Expected `name` to be a non-empty str. "
                f"Received: name={name!r}"
            )
        entries = tuple(entries)
        seen = {}
        for position, entry in enumerate(entries):
            if not isinstance(entry, VideoEntry):
                raise ValueError(
                    "Expected `entries` to hold `VideoEntry` objects. "
                    f"Received at position {position}: {entry!r}"
                )
            if entry.video_id in seen:
                raise ValueError(
                    f"Expected unique video ids. Received {entry.video_id!r} "
                    f"twice: {seen[entry.video_id].path!r} and {entry.path!r}. "
                    "Remove or rename one of them."
                )
            seen[entry.video_id] = entry
            self._check_labels(entry, class_names, multi_label)
        self.entries = entries
        self.class_names = class_names
        self.multi_label = multi_label
        self.name = name
        self._by_id = seen

    @staticmethod
    def _check_labels(entry, class_names, multi_label):
        where = f"video {entry.video_id!r}"
        if not class_names:
            if entry.labels:
                raise ValueError(
                    f"{where}: expected no labels in a dataset without "
                    f"`class_names` (captioning). Received: "
                    f"labels={entry.labels}. Pass `class_names`."
                )
            return
        for label in entry.labels:
            if label >= len(class_names):
                raise ValueError(
                    f"{where}: expected class indices in [0, "
                    f"{len(class_names)}) for {len(class_names)} classes. "
                    f"Received: labels={entry.labels}"
                )
        if not multi_label and len(entry.labels) != 1:
            raise ValueError(
                f"{where}: expected exactly one label in a single-label "
                f"dataset. Received: labels={entry.labels}. Pass "
                "multi_label=True if videos may have several labels."
            )

    def __len__(self):
        return len(self.entries)

    def __iter__(self):
        return iter(self.entries)

    def __contains__(self, video_id):
        return video_id in self._by_id

    def __getitem__(self, video_id):
        """The entry with this video id (a `KeyError` when there is none)."""
        try:
            return self._by_id[video_id]
        except KeyError:
            raise KeyError(
                f"Expected a video id of dataset {self.name!r}. Received: "
                f"{video_id!r}, which it does not hold."
            ) from None

    def __eq__(self, other):
        if not isinstance(other, DatasetIndex):
            return NotImplemented
        return (
            self.name == other.name
            and self.class_names == other.class_names
            and self.multi_label == other.multi_label
            and self.entries == other.entries
        )

    __hash__ = None

    def __repr__(self):
        counts = ", ".join(
            f"{split}={n}" for split, n in self.split_sizes().items() if n
        )
        if not self.class_names:
            kind = "captioning"
        else:
            kind = (
                f"{len(self.class_names)} classes, "
                f"{'multi' if self.multi_label else 'single'}-label"
            )
        return (
            f"DatasetIndex(name={self.name!r}, {len(self)} videos"
            f"{': ' + counts if counts else ''}; {kind})"
        )

    @property
    def num_classes(self):
        return len(self.class_names)

    def split(self, name):
        """The entries of one split, in index order.

        Args:
            name: str. `"train"`, `"validation"` or `"test"`.

        Returns:
            A tuple of `VideoEntry` (empty when the split holds no video).

        Raises:
            ValueError: if `name` is not a split name.
        """
        if name not in SPLITS:
            raise ValueError(
                f"Expected a split name, one of {', '.join(SPLITS)}. "
                f"Received: {name!r}"
            )
        return tuple(entry for entry in self.entries if entry.split == name)

    def split_sizes(self):
        """A dict mapping each split name to its number of videos."""
        sizes = dict.fromkeys(SPLITS, 0)
        for entry in self.entries:
            sizes[entry.split] += 1
        return sizes

    def to_json(self, path):
        """Writes the index as a JSON file, atomically.

        The file is written with `vidattn.utils.write_json_atomically`, so a
        reader never sees a half-written index and a failed write leaves any
        old file intact. Missing parent folders are created. Labels are
        written as class names, so that the file is easy to read and edit by
        hand.

        Args:
            path: str or path-like. The JSON file to write.

        Returns:
            The path written, as a str.
        """
        path = os.path.abspath(os.fspath(path))
        document = {
            "format": _FORMAT,
            "version": _VERSION,
            "name": self.name,
            "multi_label": self.multi_label,
            "class_names": list(self.class_names),
            "entries": [
                {
                    "video_id": entry.video_id,
                    "split": entry.split,
                    "labels": [self.class_names[i] for i in entry.labels],
                    "path": entry.path,
                    "captions": list(entry.captions),
                    "group": entry.group,
                }
                for entry in self.entries
            ],
        }
        return write_json_atomically(path, document, indent=1)

    @classmethod
    def from_json(cls, path):
        """Reads an index that `to_json` wrote (or a person edited).

        Labels may be given as class names or as int indices.

        Args:
            path: str or path-like. The JSON file.

        Returns:
            A `DatasetIndex`.

        Raises:
            FileNotFoundError: if `path` does not exist.
            ValueError: if the file is not valid JSON, is not a
                `DatasetIndex` file, or an entry is malformed (the message
                names the entry and, for JSON syntax errors, the line).
        """
        path = os.fspath(path)
        if not os.path.isfile(path):
            raise FileNotFoundError(
                f"Expected a DatasetIndex JSON file {path!r}; it does not "
                "exist. Write one with `DatasetIndex.to_json`."
            )
        with open(path, encoding="utf-8") as f:
            try:
                document = json.load(f)
            except json.JSONDecodeError as error:
                raise ValueError(
                    f"{path}, line {error.lineno}, column {error.colno}: "
                    f"expected valid JSON. Received: {error.msg}."
                ) from None
        if not isinstance(document, dict) or document.get("format") != _FORMAT:
            raise ValueError(
                f"{path}: expected a DatasetIndex JSON object with "
                f'"format": "{_FORMAT}". Received a file without it. Write '
                "the file with `DatasetIndex.to_json`."
            )
        if document.get("version") != _VERSION:
            raise ValueError(
                f"{path}: expected version {_VERSION} of the DatasetIndex "
                f"format. Received: version={document.get('version')!r}. "
                "Update vidattn, or rewrite the file with this version."
            )
        for key, kind in (
            ("name", str),
            ("multi_label", bool),
            ("class_names", list),
            ("entries", list),
        ):
            if not isinstance(document.get(key), kind):
                raise ValueError(
                    f"{path}: expected the key {key!r} holding a JSON "
                    f"{_JSON_TYPE[kind]}. Received: "
                    f"{key}={document.get(key)!r}"
                )
        class_names = document["class_names"]
        classes = {
            c: i for i, c in enumerate(class_names) if isinstance(c, str)
        }
        entries = []
        for number, item in enumerate(document["entries"]):
            where = f"{path}, entry {number}"
            if not isinstance(item, dict):
                raise ValueError(
                    f"{where}: expected a JSON object. Received: {item!r}"
                )
            if isinstance(item.get("video_id"), str):
                where += f" ({item['video_id']!r})"
            unknown = sorted(set(item) - set(_ENTRY_KEYS))
            absent = [k for k in ("video_id", "split", "path") if k not in item]
            if unknown or absent:
                raise ValueError(
                    f"{where}: expected the keys {', '.join(_ENTRY_KEYS)} "
                    "(labels, captions and group optional). Received "
                    + (f"unknown keys {unknown}" if unknown else "")
                    + (" and " if unknown and absent else "")
                    + (f"no {', '.join(absent)}" if absent else "")
                    + "."
                )
            labels = item.get("labels", [])
            if not isinstance(labels, list):
                raise ValueError(
                    f"{where}: expected `labels` to be a list of class "
                    f"names or indices. Received: labels={labels!r}"
                )
            indices = []
            for label in labels:
                if isinstance(label, str):
                    if label not in classes:
                        raise ValueError(
                            f"{where}: expected labels among the class "
                            f"names ({abbreviate(repr(c) for c in class_names)}"
                            f"). Received an unknown class {label!r}. Fix "
                            "the label or add the class to `class_names`."
                        )
                    label = classes[label]
                indices.append(label)
            captions = item.get("captions", [])
            if not isinstance(captions, list):
                raise ValueError(
                    f"{where}: expected `captions` to be a list of str. "
                    f"Received: captions={captions!r}"
                )
            try:
                entries.append(
                    VideoEntry(
                        video_id=item["video_id"],
                        path=item["path"],
                        split=item["split"],
                        labels=indices,
                        captions=captions,
                        group=item.get("group"),
                    )
                )
            except ValueError as error:
                raise ValueError(f"{where}: {error}") from None
        try:
            return cls(
                entries,
                class_names=class_names,
                multi_label=document["multi_label"],
                name=document["name"],
            )
        except ValueError as error:
            raise ValueError(f"{path}: {error}") from None


_JSON_TYPE = {str: "string", bool: "true or false", list: "array"}
