"""Sharded, resumable TFRecord writer of per-video feature sequences."""

import math
import os

import numpy as np
import tensorflow as tf
from absl import logging

from vidattn.data import records
from vidattn.data import schema
from vidattn.data.manifest import Manifest
from vidattn.utils.arguments import check_positive_int
from vidattn.utils.atomic_write import TEMPORARY_SUFFIX
from vidattn.utils.atomic_write import fsync_directory
from vidattn.utils.atomic_write import publish_file
from vidattn.utils.folder_lock import FolderLock

_LOCK_FILENAME = ".writer.lock"
_DAMAGED_SUFFIX = ".damaged"


def _is_stray_temporary(name):
    """Whether `name` is a temporary file of an interrupted writer."""
    if not name.endswith(TEMPORARY_SUFFIX):
        return False
    return (
        name.endswith(schema.SHARD_SUFFIX + TEMPORARY_SUFFIX)
        # `write_json_atomically` names it `.manifest.json.<random>.tmp`.
        or name.startswith(f".{schema.MANIFEST_FILENAME}.")
        or name == schema.MANIFEST_FILENAME + TEMPORARY_SUFFIX
    )


class ShardWriter:
    """Writes per-video feature sequences into TFRecord shards + a manifest.

    One dataset folder holds one split: shards named
    `<split>-<index:05d>.tfrecord` and `manifest.json`, which lists every
    finished shard with its record count, size, SHA-256 and video ids (see
    `tfrecords/README.md`). Each video is one record built by
    `vidattn.data.records.encode_video`, validated before it is written.

    Writing is crash-safe and resumable:

    - a shard is written as `<name>.tmp`, closed, then published with
      `vidattn.utils.publish_file` (fsync, `os.replace`, fsync of the
      folder), and only then listed in the manifest (`vidattn.data.Manifest`),
      which is itself written atomically. A reader never sees a partial
      shard.
    - reopening a folder whose writer was killed keeps the shards the
      manifest lists, removes stray `*.tmp` files and finished shards the
      manifest does not list (a kill between rename and manifest update),
      and reports through `has(video_id)` the videos already stored, so that
      the caller skips them. At most the videos of the unfinished shard are
      lost, and they are written again; none is stored twice.
    - reopening checks what it keeps: every listed shard's size and, unless
      `verify_checksums=False`, its SHA-256. A shard that differs is set
      aside as `<name>.damaged` (never deleted), a missing one is noted,
      and either is dropped from the manifest with a warning that names it
      and its videos, which `has()` then reports as not stored, so that
      they are written again.
    - reopening with a different backbone, layer, input size, K, D, storage
      dtype, stored frame rate, classes or split is refused.
    - one writer at a time: a second writer on the same folder is refused
      while the first holds the folder's lock (`.writer.lock`), before it
      changes anything.

    Write the videos in a shuffled order: readers shuffle shards and mix a
    few shards and videos at a time, which cannot undo a folder sorted by
    class.

    Args:
        directory: str. The dataset folder; created if missing.
        backbone: str. Name of the CNN that computed the features.
        layer: str. Name of the backbone layer stored.
        input_size: tuple of 2 ints. `(height, width)` of the backbone's
            input frames, in pixels.
        grid_size: int. K: every frame's map is K×K.
        channels: int. D: channels per location.
        dtype: str. Storage dtype, `"float16"` or `"float32"`. Defaults to
            `"float16"`.
        class_names: sequence of str. Name of each class; empty for
            unlabelled data (e.g. captions only). Defaults to `()`.
        multi_label: bool. Whether a video may carry several labels.
            Defaults to `False`.
        split: str. Name of the split, used as the shard name prefix.
            Defaults to `"train"`.
        stored_fps: float or None. Frame rate shared by the stored frames of
            every video (each video's own rate must match it), or None when
            the videos do not share one (e.g. `even:` sampling). Defaults to
            `None`.
        max_videos_per_shard: int or None. Start a new shard after this many
            videos. Defaults to `None` (no limit).
        max_shard_bytes: int. Start a new shard once the current one holds
            this many bytes. Defaults to 256 MiB.
        verify_checksums: bool. Whether reopening a folder checks the
            SHA-256 of every listed shard (reading them all once, about
            1 s per GB here) or only their sizes. Defaults to `True`.

    Raises:
        ValueError: if an argument is invalid, or the folder holds another
            dataset (different settings, or TFRecord files but no manifest).
        vidattn.utils.FolderLockedError: (an `OSError`) if another writer
            holds the folder.

    Example:

    ```python
    with vidattn.data.ShardWriter(
        "/data/ucf11/train", backbone="googlenet", layer="inception_5b",
        input_size=(224, 224), grid_size=7, channels=1024,
        class_names=["basketball", "biking"], stored_fps=30.0,
    ) as writer:
        for video_id, features, label in videos:
            if not writer.has(video_id):  # resume after a kill
                writer.write(video_id, features, labels=label)
    ```
    """

    def __init__(
        self,
        directory,
        *,
        backbone,
        layer,
        input_size,
        grid_size,
        channels,
        dtype="float16",
        class_names=(),
        multi_label=False,
        split="train",
        stored_fps=None,
        max_videos_per_shard=None,
        max_shard_bytes=256 * 2**20,
        verify_checksums=True,
    ):
        # Checks the dataset settings before anything touches the folder.
        requested = Manifest.create(
            directory,
            split=split,
            backbone=backbone,
            layer=layer,
            input_size=input_size,
            grid_size=grid_size,
            channels=channels,
            dtype=dtype,
            stored_fps=stored_fps,
            class_names=class_names,
            multi_label=multi_label,
        )
        settings = requested.settings
        self.max_videos_per_shard = check_positive_int(
            "max_videos_per_shard", max_videos_per_shard, allow_none=True
        )
        self.max_shard_bytes = check_positive_int(
            "max_shard_bytes", max_shard_bytes
        )
        self.directory = requested.directory
        self.backbone = backbone
        self.layer = layer
        self.input_size = tuple(settings["input_size"])
        self.grid_size = settings["grid_size"]
        self.channels = settings["channels"]
        self.dtype = dtype
        self.class_names = tuple(settings["class_names"])
        self.multi_label = settings["multi_label"]
        self.split = split
        self.stored_fps = settings["stored_fps"]
        self.verify_checksums = bool(verify_checksums)

        self._closed = False
        self._current = None
        self._lock = FolderLock(self.directory, _LOCK_FILENAME).acquire()
        try:
            self._open(requested)
        except BaseException:
            self._lock.release()
            raise

    def _open(self, requested):
        if os.path.exists(requested.path):
            manifest = Manifest.read(self.directory)
            existing, wanted = manifest.settings, requested.settings
            differences = [
                f"{key}: manifest has {existing[key]!r}, writer was given "
                f"{wanted[key]!r}"
                for key in wanted
                if existing[key] != wanted[key]
            ]
            if differences:
                raise ValueError(
                    f"Cannot append to {self.directory}: expected the same "
                    "settings as its manifest.json. Received different "
                    + "; ".join(differences)
                    + ". Write to a new folder, or reopen with the "
                    "manifest's settings."
                )
            self._drop_damaged_shards(manifest)
        else:
            foreign = [
                name
                for name in os.listdir(self.directory)
                if name.endswith(schema.SHARD_SUFFIX)
            ]
            if foreign:
                raise ValueError(
                    f"Expected an empty folder or a vidattn dataset folder. "
                    f"Received {self.directory}, which holds TFRecord files "
                    f"({', '.join(sorted(foreign)[:3])}, ...) but no "
                    f"{schema.MANIFEST_FILENAME}. Choose another folder."
                )
            manifest = requested
        listed = {shard["path"] for shard in manifest.shards}
        for name in os.listdir(self.directory):
            orphan = (
                schema.shard_index(self.split, name) is not None
                and name not in listed
            )
            if _is_stray_temporary(name) or orphan:
                logging.warning(
                    "ShardWriter: removing %s from %s, left by an "
                    "interrupted writer; its videos will be written again.",
                    name,
                    self.directory,
                )
                os.remove(os.path.join(self.directory, name))
        self._manifest = manifest
        self._manifest.mark_finalized(False)
        self._written = {}
        for shard in manifest.shards:
            for video_id in shard["video_ids"]:
                self._written[video_id] = shard["path"]
        indices = [
            schema.shard_index(self.split, shard["path"])
            for shard in manifest.shards
        ]
        self._next_index = max([i for i in indices if i is not None] + [-1]) + 1
        self._manifest.write()

    def _drop_damaged_shards(self, manifest):
        """Sets aside the listed shards that are missing or differ."""
        damaged = manifest.damaged_shards(checksums=self.verify_checksums)
        for shard, problem in damaged:
            path = os.path.join(self.directory, shard["path"])
            if os.path.exists(path):
                aside = self._set_aside(path)
                what = f"set aside as {os.path.basename(aside)}"
            else:
                what = "missing"
            manifest.remove_shard(shard["path"])
            manifest.write()
            logging.warning(
                "ShardWriter: %s is damaged (%s): %s and dropped from %s. "
                "Its %d video(s) will be written again: %s.",
                path,
                problem,
                what,
                manifest.path,
                shard["num_records"],
                ", ".join(shard["video_ids"]),
            )

    def _set_aside(self, path):
        """Renames a damaged shard to a free `<name>.damaged[.n]` name."""
        aside = path + _DAMAGED_SUFFIX
        number = 1
        while os.path.exists(aside):
            aside = f"{path}{_DAMAGED_SUFFIX}.{number}"
            number += 1
        os.rename(path, aside)
        fsync_directory(self.directory)
        return aside

    @property
    def manifest(self):
        """A copy of the manifest as last written, as a dict."""
        return self._manifest.to_dict()

    @property
    def num_videos(self):
        """Number of videos stored, finished shards and current one."""
        return len(self._written)

    def has(self, video_id):
        """Returns whether `video_id` is already stored in this folder.

        Args:
            video_id: str. A video id.

        Returns:
            True if the video is in a finished shard or in the shard being
            written, else False.
        """
        return video_id in self._written

    def write(
        self,
        video_id,
        features,
        *,
        labels=None,
        captions=None,
        sampling=None,
        stored_fps=None,
        source_fps=0.0,
        partial=False,
        padding_frames=0,
    ):
        """Validates one video and appends it to the current shard.

        Args:
            video_id: str. Identifier of the video, unique in the folder.
            features: array-like of shape `(frames, K, K, D)`.
            labels: int, sequence of ints, boolean multi-hot vector, or
                None. Class indices into `class_names`. Defaults to `None`.
            captions: sequence of str, or None. Defaults to `None`.
            sampling: str or None. How the frames were drawn, e.g.
                `"fps=30"` or `"even:26/240"`. Defaults to `"fps=<stored
                fps>"` when the writer has a `stored_fps`; required
                otherwise.
            stored_fps: float or None. Frame rate of the stored frames.
                Defaults to the writer's `stored_fps`, or 0 (irregular)
                when the writer has none.
            source_fps: float. Frame rate of the source video, 0 if
                unknown. Defaults to `0.0`.
            partial: bool. Whether the source decoded only in part (see
                the records' `partial` field). Defaults to `False`.
            padding_frames: int. How many of the last frames are black
                padding (see the records' `padding_frames` field). Defaults
                to `0`.

        Raises:
            ValueError: if the video is invalid (see
                `vidattn.data.records.encode_video`), does not match the
                folder's K, D or stored frame rate, or is already stored.
            RuntimeError: if the writer is closed.
        """
        if self._closed:
            raise RuntimeError(
                f"ShardWriter for {self.directory} is closed; reopen the "
                "folder with a new ShardWriter to append."
            )
        if isinstance(video_id, str) and video_id in self._written:
            raise ValueError(
                f"Video {video_id!r} is already stored in "
                f"{self._written[video_id]}. Expected a new video id; check "
                "`writer.has(video_id)` to skip videos written before."
            )
        if stored_fps is None:
            stored_fps = self.stored_fps if self.stored_fps is not None else 0.0
        elif self.stored_fps is not None and not math.isclose(
            stored_fps, self.stored_fps, rel_tol=1e-6
        ):
            raise ValueError(
                f"Video {video_id!r}: expected stored_fps={self.stored_fps} "
                f"as the dataset's. Received: stored_fps={stored_fps}"
            )
        if sampling is None:
            if self.stored_fps is None:
                raise ValueError(
                    f"Video {video_id!r}: expected `sampling` (e.g. "
                    "'even:26/240'), since the writer has no stored_fps. "
                    "Received: sampling=None"
                )
            sampling = f"fps={self.stored_fps:g}"
        captions = records.check_captions(video_id, captions)
        features = np.asarray(features)
        expected = (self.grid_size, self.grid_size, self.channels)
        if features.ndim == 4 and features.shape[1:] != expected:
            raise ValueError(
                f"Video {video_id!r}: expected features of shape (frames, "
                f"{self.grid_size}, {self.grid_size}, {self.channels}) as "
                "the dataset's manifest says. Received: shape "
                f"{features.shape}"
            )
        record = records.encode_video(
            video_id,
            features,
            backbone=self.backbone,
            layer=self.layer,
            sampling=sampling,
            stored_fps=stored_fps,
            source_fps=source_fps,
            labels=labels,
            num_classes=len(self.class_names),
            multi_label=self.multi_label,
            captions=captions,
            dtype=self.dtype,
            partial=partial,
            padding_frames=padding_frames,
        )
        if self._current is None:
            self._start_shard()
        current = self._current
        current["writer"].write(record)
        # 16 bytes of TFRecord framing per record.
        current["num_bytes"] += len(record) + 16
        current["video_ids"].append(video_id)
        current["num_frames"].append(int(features.shape[0]))
        current["num_captions"].append(len(captions))
        self._written[video_id] = current["path"]
        if current["num_bytes"] >= self.max_shard_bytes or (
            self.max_videos_per_shard is not None
            and len(current["video_ids"]) >= self.max_videos_per_shard
        ):
            self._finish_shard()

    def _start_shard(self):
        name = schema.shard_filename(self.split, self._next_index)
        self._next_index += 1
        tmp = os.path.join(self.directory, name + TEMPORARY_SUFFIX)
        self._current = {
            "path": name,
            "tmp": tmp,
            "writer": tf.io.TFRecordWriter(tmp),
            "num_bytes": 0,
            "video_ids": [],
            "num_frames": [],
            "num_captions": [],
        }

    def _finish_shard(self):
        current, self._current = self._current, None
        current["writer"].close()
        publish_file(
            current["tmp"], os.path.join(self.directory, current["path"])
        )
        self._manifest.add_shard(
            current["path"],
            video_ids=current["video_ids"],
            num_frames=current["num_frames"],
            num_captions=current["num_captions"],
        )
        self._manifest.write()

    def flush(self):
        """Finishes the current shard now, so that its videos are durable."""
        if self._current is not None and self._current["video_ids"]:
            self._finish_shard()

    def close(self, finalized=True):
        """Finishes the current shard, writes the manifest, frees the folder.

        Args:
            finalized: bool. Whether to mark the dataset complete
                (`"finalized": true` in the manifest). Readers refuse a
                folder that is not finalized unless asked to accept it.
                Defaults to `True`.
        """
        if self._closed:
            return
        try:
            self.flush()
            self._manifest.mark_finalized(finalized)
            self._manifest.write()
        finally:
            self._closed = True
            self._lock.release()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_value, traceback):
        # The videos written before an error are valid and kept, but the
        # dataset is not marked complete: reopening the folder resumes it.
        self.close(finalized=exc_type is None)
        return False

    def __repr__(self):
        return (
            f"<ShardWriter {self.directory} split={self.split!r} "
            f"videos={self.num_videos}>"
        )
