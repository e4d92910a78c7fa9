"""The `manifest.json` of a dataset folder, as one type.

`Manifest` owns the file whose fields `vidattn.data.schema.MANIFEST_FIELDS`
lists: it reads and checks it (`Manifest.read`), builds a new one
(`Manifest.create`), locates the shards it lists without ever leaving the
folder (`resolve_shard_path`), verifies the shard files against it
(`verify_shards`: existence, size, SHA-256; `damaged_shards` lists them
all), records a finished shard (`add_shard`, which measures and hashes the
file and keeps the totals) or drops one (`remove_shard`), and writes it
atomically (`write`). `ShardWriter`, `FeatureDataset` and the Beam
pipeline all go through it, so a manifest is built and checked one way.
"""

import copy
import json
import math
import os
import re

from vidattn.data.schema import MANIFEST_FIELDS
from vidattn.data.schema import MANIFEST_FILENAME
from vidattn.data.schema import SCHEMA_VERSION
from vidattn.data.schema import STORAGE_DTYPES
from vidattn.data.schema import SUPPORTED_SCHEMA_VERSIONS
from vidattn.utils.arguments import check_one_of
from vidattn.utils.arguments import check_positive_int
from vidattn.utils.arguments import check_positive_number
from vidattn.utils.atomic_write import write_json_atomically
from vidattn.utils.checksums import sha256_file

SETTINGS = (
    "split",
    "backbone",
    "layer",
    "input_size",
    "grid_size",
    "channels",
    "dtype",
    "stored_fps",
    "class_names",
    "multi_label",
)
"""The dataset-level fields that every video of a folder shares."""

_TOTALS = ("num_videos", "num_frames", "num_captions")

_SHA256_PATTERN = re.compile(r"^[0-9a-f]{64}$")

_REMEDY = "restore it, or rewrite the dataset in a new folder."


class ShardIntegrityError(ValueError):
    """A shard file differs from what its manifest lists: size or SHA-256.

    A `ValueError`, like every other disagreement between a dataset folder
    and its manifest. The message names the file, what the manifest lists
    and what the file holds.
    """


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


class Manifest:
    """The `manifest.json` of a dataset folder: read, checked, written.

    A manifest lists the dataset's settings (split, backbone, layer, input
    size, K, D, storage dtype, stored frame rate, classes), its totals, and
    every finished shard with its record count, size, SHA-256, video ids,
    frame and caption counts (see `tfrecords/README.md`). Every way in
    (`Manifest(...)`, `Manifest.read`, `Manifest.create`) checks all of it:
    the schema version, the type of every field, that per-shard lists agree
    with each other and with the totals, that video ids are unique, and that
    every shard path stays inside the folder. Shard files are opened only by
    `verify_shards` and `add_shard`.

    Args:
        directory: str or path-like. The dataset folder.
        fields: dict. The manifest's fields, as `manifest.json` holds them.

    Attributes:
        directory: str. The dataset folder, absolute.
        path: str. Its `manifest.json`.

    Raises:
        ValueError: if a field is missing or mistyped, the schema version is
            not supported, the lists and totals disagree, a video id
            repeats, or a shard path leads outside the folder. The message
            names the manifest file.

    Example:

    ```python
    manifest = vidattn.data.Manifest.read("/data/ucf11/train")
    manifest["num_videos"], manifest.shard_paths[0]
    manifest.verify_shards()  # sizes and SHA-256 of the shard files
    ```
    """

    def __init__(self, directory, fields):
        self.directory = os.path.abspath(os.fspath(directory))
        self.path = os.path.join(self.directory, MANIFEST_FILENAME)
        self._fields = copy.deepcopy(fields)
        self._check()

    @classmethod
    def read(cls, directory):
        """Reads and checks the `manifest.json` of a dataset folder.

        Args:
            directory: str or path-like. The dataset folder.

        Returns:
            A `Manifest`.

        Raises:
            FileNotFoundError: if the folder has no `manifest.json`.
            ValueError: if the file is not valid JSON or does not pass the
                checks of `Manifest`. The message names the file.
        """
        directory = os.fspath(directory)
        path = os.path.join(directory, MANIFEST_FILENAME)
        if not os.path.isfile(path):
            raise FileNotFoundError(
                f"Expected a dataset folder with a {MANIFEST_FILENAME}; "
                f"received {directory!r}, which has none. Write the dataset "
                "with vidattn.data.ShardWriter first."
            )
        try:
            with open(path, encoding="utf-8") as file:
                fields = json.load(file)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise ValueError(
                f"{path}: expected a JSON object; could not parse it ({error})."
            ) from error
        return cls(directory, fields)

    @classmethod
    def create(
        cls,
        directory,
        *,
        split,
        backbone,
        layer,
        input_size,
        grid_size,
        channels,
        dtype="float16",
        stored_fps=None,
        class_names=(),
        multi_label=False,
    ):
        """A new manifest without shards, not finalized, not yet written.

        Args:
            directory: str or path-like. The dataset folder.
            split: str. Name of the split, also the shards' name prefix.
            backbone: str. Name of the CNN that computed the features.
            layer: str. Name of the backbone layer stored.
            input_size: tuple of 2 ints. `(height, width)` of the backbone's
                input frames, in pixels.
            grid_size: int. K: every frame's map is K×K.
            channels: int. D: channels per location.
            dtype: str. Storage dtype, `"float16"` or `"float32"`. Defaults
                to `"float16"`.
            stored_fps: float or None. Frame rate shared by the stored
                frames of every video, or None. Defaults to `None`.
            class_names: sequence of str. Name of each class; empty for
                unlabelled data. Defaults to `()`.
            multi_label: bool. Whether a video may carry several labels.
                Defaults to `False`.

        Returns:
            A `Manifest`.

        Raises:
            ValueError: if an argument is invalid.
        """
        if not isinstance(split, str) or not split or "/" in split:
            raise ValueError(
                "Expected `split` to be a non-empty name without '/'. "
                f"Received: split={split!r}"
            )
        for name, value in (("backbone", backbone), ("layer", layer)):
            if not isinstance(value, str) or not value.strip():
                raise ValueError(
                    f"Expected `{name}` to be a non-empty string. "
                    f"Received: {name}={value!r}"
                )
        grid_size = check_positive_int("grid_size", grid_size)
        channels = check_positive_int("channels", channels)
        check_one_of("dtype", dtype, STORAGE_DTYPES)
        size = list(input_size) if input_size is not None else None
        if (
            size is None
            or len(size) != 2
            or not all(_is_int(s) and s >= 1 for s in size)
        ):
            raise ValueError(
                "Expected `input_size` to be (height, width) in pixels. "
                f"Received: input_size={size!r}"
            )
        if isinstance(class_names, str) or not all(
            isinstance(n, str) and n for n in class_names
        ):
            raise ValueError(
                "Expected `class_names` to be a sequence of non-empty "
                f"strings. Received: class_names={class_names!r}"
            )
        class_names = list(class_names)
        if len(set(class_names)) != len(class_names):
            raise ValueError(
                "Expected unique `class_names`. "
                f"Received: class_names={class_names}"
            )
        stored_fps = check_positive_number(
            "stored_fps", stored_fps, allow_none=True
        )
        fields = {
            "schema_version": SCHEMA_VERSION,
            "split": split,
            "backbone": backbone,
            "layer": layer,
            "input_size": size,
            "grid_size": grid_size,
            "channels": channels,
            "dtype": dtype,
            "stored_fps": stored_fps,
            "class_names": class_names,
            "multi_label": bool(multi_label),
            "num_videos": 0,
            "num_frames": 0,
            "num_captions": 0,
            "finalized": False,
            "shards": [],
        }
        return cls(directory, fields)

    def __getitem__(self, name):
        """The value of a field of `manifest.json` (a copy)."""
        return copy.deepcopy(self._fields[name])

    def __repr__(self):
        return (
            f"<Manifest {self.path} split={self._fields['split']!r} "
            f"shards={len(self._fields['shards'])} "
            f"videos={self._fields['num_videos']} "
            f"finalized={self._fields['finalized']}>"
        )

    def to_dict(self):
        """The fields of `manifest.json`, as a new dict."""
        return copy.deepcopy(self._fields)

    @property
    def settings(self):
        """The dataset-level fields (`SETTINGS`), as a dict."""
        return {name: self[name] for name in SETTINGS}

    @property
    def finalized(self):
        """Whether the writer of the folder finished normally."""
        return self._fields["finalized"]

    @property
    def shards(self):
        """The shard entries, in writing order (copies)."""
        return self["shards"]

    @property
    def shard_paths(self):
        """The absolute paths of the shards, in writing order."""
        return tuple(
            self.resolve_shard_path(shard["path"])
            for shard in self._fields["shards"]
        )

    def resolve_shard_path(self, path):
        """Returns the absolute path of a shard listed in the manifest.

        Args:
            path: str. The shard's `path` as the manifest lists it.

        Returns:
            The absolute path of the shard, inside `directory`.

        Raises:
            ValueError: if `path` is absolute, empty, or leads outside
                `directory` (through `..` or a symbolic link).
        """
        if (
            not isinstance(path, str)
            or not path
            or os.path.isabs(path)
            or "\\" in path
            or path.startswith("~")
            or ".." in path.split("/")
        ):
            raise ValueError(
                f"{self.path}: expected shard paths relative to the dataset "
                f"folder and inside it. Received: path={path!r}, which points "
                "outside it. Refusing to read it."
            )
        root = os.path.realpath(self.directory)
        resolved = os.path.realpath(os.path.join(root, path))
        if os.path.commonpath([root, resolved]) != root:
            raise ValueError(
                f"{self.path}: expected shard paths relative to the dataset "
                f"folder and inside it. Received: path={path!r}, which "
                f"resolves to {resolved}, outside {root}. Refusing to read it."
            )
        return resolved

    def verify_shards(self, checksums=True):
        """Checks every listed shard file: existence, size and SHA-256.

        Every size is checked before any checksum, so that a truncated
        shard is reported without reading the whole dataset.

        Args:
            checksums: bool. Whether to check the SHA-256 of every shard,
                which reads the whole dataset once. Defaults to `True`.

        Raises:
            FileNotFoundError: naming the first listed shard that is missing.
            ShardIntegrityError: naming the first shard whose size (or, with
                `checksums=True`, SHA-256) differs from the manifest's.
        """
        for i, problem, error in self._shard_problems(checksums):
            path = self.shard_paths[i]
            if error is FileNotFoundError:
                raise FileNotFoundError(
                    f"{path}: {problem}. {_REMEDY.capitalize()}"
                )
            raise ShardIntegrityError(
                f"{path}: {problem}. The shard is corrupt, truncated or was "
                "changed after it was written: " + _REMEDY
            )

    def damaged_shards(self, checksums=True):
        """The listed shards whose file is missing or differs from the list.

        Args:
            checksums: bool. Whether to compare SHA-256s too (reading the
                whole dataset once) or sizes only. Defaults to `True`.

        Returns:
            A list of `(shard, problem)` pairs in manifest order: `shard` is
            the shard's entry (a copy), `problem` says what differs, e.g.
            "expected 5120 bytes as manifest.json says; received 100 bytes".
        """
        problems = {
            i: problem for i, problem, _ in self._shard_problems(checksums)
        }
        return [
            (self["shards"][i], problems[i])
            for i in range(len(self._fields["shards"]))
            if i in problems
        ]

    def _shard_problems(self, checksums):
        """Yields `(shard index, problem, error type)`: sizes first, then
        checksums."""
        shards = list(zip(self.shard_paths, self._fields["shards"]))
        sound = []
        for i, (path, shard) in enumerate(shards):
            if not os.path.isfile(path):
                yield (
                    i,
                    f"expected this shard, listed in {self.path}; the file "
                    "is missing",
                    FileNotFoundError,
                )
                continue
            size = os.path.getsize(path)
            if size != shard["num_bytes"]:
                yield (
                    i,
                    f"expected {shard['num_bytes']} bytes as "
                    f"{MANIFEST_FILENAME} says; received {size} bytes",
                    ShardIntegrityError,
                )
                continue
            sound.append(i)
        if not checksums:
            return
        for i in sound:
            path, shard = shards[i]
            digest = sha256_file(path)
            if digest != shard["sha256"]:
                yield (
                    i,
                    f"expected SHA-256 {shard['sha256']} as "
                    f"{MANIFEST_FILENAME} says; received {digest}",
                    ShardIntegrityError,
                )

    def remove_shard(self, path):
        """Drops a shard from the list, and its videos from the totals.

        `write()` makes it durable; the file itself is not touched.

        Args:
            path: str. The shard's `path` as the manifest lists it.

        Raises:
            ValueError: if no listed shard has this path.
        """
        shards = self._fields["shards"]
        paths = [shard["path"] for shard in shards]
        if path not in paths:
            raise ValueError(
                f"{self.path}: expected a listed shard. Received: path="
                f"{path!r}, which the manifest does not list."
            )
        index = paths.index(path)
        shard = shards.pop(index)
        self._fields["num_videos"] -= shard["num_records"]
        self._fields["num_frames"] -= sum(shard["num_frames"])
        self._fields["num_captions"] -= sum(shard["num_captions"])
        for video_id in shard["video_ids"]:
            del self._video_shards[video_id]

    def add_shard(self, path, *, video_ids, num_frames, num_captions):
        """Lists a finished shard file, measuring and hashing it.

        The totals grow by the shard's; `write()` makes it durable.

        Args:
            path: str. The shard's file name, relative to `directory`.
            video_ids: sequence of str. The `video_id` of each record, in
                file order.
            num_frames: sequence of int. The `num_frames` of each record.
            num_captions: sequence of int. The caption count of each record.

        Raises:
            ValueError: if the lists disagree, a video id is already listed,
                or `path` leads outside the folder.
        """
        absolute = self.resolve_shard_path(path)
        shard = {
            "path": path,
            "num_records": len(video_ids),
            "num_bytes": os.path.getsize(absolute),
            "sha256": sha256_file(absolute),
            "video_ids": list(video_ids),
            "num_frames": [int(n) for n in num_frames],
            "num_captions": [int(n) for n in num_captions],
        }
        shards = self._fields["shards"]
        self._check_shard(len(shards), shard)
        shards.append(shard)
        self._fields["num_videos"] += shard["num_records"]
        self._fields["num_frames"] += sum(shard["num_frames"])
        self._fields["num_captions"] += sum(shard["num_captions"])

    def mark_finalized(self, finalized=True):
        """Sets `finalized`: whether the dataset is complete.

        Args:
            finalized: bool. Defaults to `True`.
        """
        self._fields["finalized"] = bool(finalized)

    def write(self):
        """Writes `manifest.json` atomically and durably.

        Returns:
            The path written, a str.
        """
        return write_json_atomically(self.path, self._fields, indent=1)

    def _require(self, condition, expected, received):
        if not condition:
            raise ValueError(
                f"{self.path}: expected {expected}. Received: {received}"
            )

    def _check(self):
        fields = self._fields
        self._require(
            isinstance(fields, dict), "a JSON object", type(fields).__name__
        )
        version = fields.get("schema_version")
        if version not in SUPPORTED_SCHEMA_VERSIONS:
            raise ValueError(
                f"{self.path}: expected schema_version in "
                f"{list(SUPPORTED_SCHEMA_VERSIONS)}; received "
                f"schema_version={version!r}, which this vidattn cannot "
                "read. Upgrade vidattn if the data is newer."
            )
        for field in MANIFEST_FIELDS:
            if field.location == "manifest" and field.name not in fields:
                raise ValueError(
                    f"{self.path}: expected the field `{field.name}`; it is "
                    "missing."
                )
        for name in ("split", "backbone", "layer"):
            self._require(
                isinstance(fields[name], str) and fields[name],
                f"`{name}` to be a non-empty string",
                repr(fields[name]),
            )
        for name in ("grid_size", "channels"):
            self._require(
                _is_int(fields[name]) and fields[name] >= 1,
                f"`{name}` to be a positive integer",
                repr(fields[name]),
            )
        self._require(
            fields["dtype"] in STORAGE_DTYPES,
            f"`dtype` in {STORAGE_DTYPES}",
            repr(fields["dtype"]),
        )
        size = fields["input_size"]
        self._require(
            isinstance(size, list)
            and len(size) == 2
            and all(_is_int(s) and s >= 1 for s in size),
            "`input_size` to be [height, width] in pixels",
            repr(size),
        )
        fps = fields["stored_fps"]
        self._require(
            fps is None
            or (
                isinstance(fps, (int, float))
                and not isinstance(fps, bool)
                and math.isfinite(fps)
                and fps > 0
            ),
            "`stored_fps` to be a positive number or null",
            repr(fps),
        )
        names = fields["class_names"]
        self._require(
            isinstance(names, list) and all(isinstance(n, str) for n in names),
            "`class_names` to be a list of strings",
            repr(names),
        )
        for name in ("multi_label", "finalized"):
            self._require(
                isinstance(fields[name], bool),
                f"`{name}` to be true or false",
                repr(fields[name]),
            )
        shards = fields["shards"]
        self._require(
            isinstance(shards, list),
            "`shards` to be a list",
            repr(type(shards).__name__),
        )
        self._video_shards = {}
        totals = dict.fromkeys(_TOTALS, 0)
        for i, shard in enumerate(shards):
            self._check_shard(i, shard)
            totals["num_videos"] += shard["num_records"]
            totals["num_frames"] += sum(shard["num_frames"])
            totals["num_captions"] += sum(shard["num_captions"])
        for name, total in totals.items():
            self._require(
                fields[name] == total,
                f"`{name}` to equal the sum over its shards ({total})",
                repr(fields[name]),
            )

    def _check_shard(self, i, shard):
        """Checks shard entry `i` and records its video ids."""
        where = f"shards[{i}]"
        self._require(
            isinstance(shard, dict), f"{where} to be an object", repr(shard)
        )
        for field in MANIFEST_FIELDS:
            if (
                field.location == "manifest.shards[]"
                and field.name not in shard
            ):
                raise ValueError(
                    f"{self.path}: expected the field `{field.name}` in "
                    f"{where}; it is missing."
                )
        self.resolve_shard_path(shard["path"])
        count = shard["num_records"]
        self._require(
            _is_int(count) and count >= 1,
            f"{where}.num_records to be a positive integer",
            repr(count),
        )
        self._require(
            _is_int(shard["num_bytes"]) and shard["num_bytes"] > 0,
            f"{where}.num_bytes to be a positive integer",
            repr(shard["num_bytes"]),
        )
        self._require(
            isinstance(shard["sha256"], str)
            and _SHA256_PATTERN.match(shard["sha256"]),
            f"{where}.sha256 to be 64 lowercase hex digits",
            repr(shard["sha256"]),
        )
        for name in ("video_ids", "num_frames", "num_captions"):
            values = shard[name]
            self._require(
                isinstance(values, list) and len(values) == count,
                f"{where}.{name} to list {count} values (num_records)",
                f"{len(values) if isinstance(values, list) else values!r}",
            )
        self._require(
            all(_is_int(n) and n >= 1 for n in shard["num_frames"]),
            f"{where}.num_frames to hold positive integers",
            repr(shard["num_frames"]),
        )
        self._require(
            all(_is_int(n) and n >= 0 for n in shard["num_captions"]),
            f"{where}.num_captions to hold integers >= 0",
            repr(shard["num_captions"]),
        )
        added = {}
        for video_id in shard["video_ids"]:
            self._require(
                isinstance(video_id, str) and video_id,
                f"non-empty string video ids in {where}.video_ids",
                repr(video_id),
            )
            first = self._video_shards.get(video_id, added.get(video_id))
            if first is not None:
                raise ValueError(
                    f"{self.path}: expected unique video ids. Received: "
                    f"{video_id!r} in both {first} and {shard['path']}."
                )
            added[video_id] = shard["path"]
        self._video_shards.update(added)
