"""`tf.data` pipelines over a folder of per-video feature TFRecords."""

import os

import numpy as np
import tensorflow as tf

from vidattn.data import records
from vidattn.data import schema
from vidattn.data import window_batches
from vidattn.data.manifest import Manifest
from vidattn.utils.arguments import check_one_of
from vidattn.utils.arguments import check_positive_int
from vidattn.utils.arguments import check_positive_number

_OUTPUT_DTYPES = ("float32", "float16", "bfloat16")


def _count_windows(num_frames, window_length, skip, stride):
    """Number of windows of each video; see `FeatureDataset.windows`."""
    num_frames = np.asarray(num_frames, dtype=np.int64)
    span = (window_length - 1) * skip + 1
    return np.where(
        num_frames >= span, (num_frames - span) // stride + 1, 1
    ).astype(np.int64)


def window_plan(num_frames, window_length, skip, stride, padding_frames=0):
    """Start frame and frame indices of every window of one video.

    Window `w` covers stored frames `start_w + skip * j`, `j < window_length`,
    with `start_w = w * stride`, for every start at which the window fits.
    A video too short for one window gives one window from frame 0 that
    takes frames `0, skip, 2 * skip, ...` while they exist and then repeats
    the last of them. The video's black padding frames (its last
    `padding_frames`) are replaced by its last real frame, as a short
    video's missing frames are.
    """
    num_frames = tf.cast(num_frames, tf.int32)
    last_real = num_frames - 1 - tf.cast(padding_frames, tf.int32)
    span = (window_length - 1) * skip + 1
    fits = num_frames >= span
    count = tf.where(fits, (num_frames - span) // stride + 1, 1)
    starts = tf.range(count, dtype=tf.int32) * stride
    last = tf.where(fits, num_frames - 1, ((num_frames - 1) // skip) * skip)
    offsets = tf.range(window_length, dtype=tf.int32) * skip
    indices = tf.minimum(starts[:, None] + offsets[None, :], last)
    return starts, tf.minimum(indices, last_real)


def _check_batch(batch_size, dtype):
    check_positive_int("batch_size", batch_size, allow_none=True)
    check_one_of("dtype", dtype, _OUTPUT_DTYPES)


class FeatureDataset:
    """Reads a dataset folder written by `vidattn.data.ShardWriter`.

    Opening the folder reads and validates `manifest.json` (a
    `vidattn.data.Manifest`), checks that every listed shard exists with the
    listed size and, unless `verify_checksums=False`, the SHA-256 of every
    shard, so that a corrupt or truncated shard is reported by name before
    training starts.

    The methods build `tf.data` pipelines that stream the shards (parallel
    interleave over files, parallel parsing) and hold a few videos, a
    bounded shuffle buffer and a few batches in memory, whatever the size of
    the dataset:

    - `windows()`: training windows of `window_length` frames with labels;
    - `evaluation_windows()`: the same windows in order, with the index of
      their video so that predictions can be averaged per video;
    - `captions()`: one (video, caption) pair per caption per epoch.

    Every record is checked as it is parsed against the manifest (schema
    version, K, D, storage dtype, video id and frame count), and its feature
    values must be finite (a record written by other code may hold NaN or
    inf under a valid checksum); a failed check fails the pipeline with
    `tf.errors.InvalidArgumentError` naming the shard file, the record
    index, the video id, and what was expected and received. `videos()` and
    `check_records()` read the records eagerly, say the same in a
    `ValueError`, and turn TensorFlow's `DataLossError` (which names only a
    byte offset) into one that names the file and record.

    Args:
        directory: str. The dataset folder (holding `manifest.json`).
        verify_checksums: bool. Whether to check the SHA-256 of every shard
            on opening, which reads the whole dataset once. Defaults to
            `True`.
        allow_incomplete: bool. Whether to read a folder whose writer did
            not finish (`"finalized": false`), using its finished shards.
            Defaults to `False`.

    Raises:
        FileNotFoundError: if the manifest or a listed shard is missing.
        ValueError: if the manifest is invalid, of an unsupported schema
            version, lists a path outside the folder, or the folder is not
            finalized and `allow_incomplete` is False.
        vidattn.data.ShardIntegrityError: (a `ValueError`) if a shard's
            size or checksum differs from the manifest's.

    Example:

    ```python
    data = vidattn.data.FeatureDataset("/data/ucf11/train")
    train = data.windows(batch_size=32, window_length=30, target_fps=10)
    for inputs, labels in train.take(1):
        inputs["features"].shape  # (32, 30, 7, 7, 1024), float32
        labels.shape  # (32,), int32
    ```
    """

    def __init__(
        self, directory, *, verify_checksums=True, allow_incomplete=False
    ):
        self.directory = os.path.abspath(directory)
        self.manifest = Manifest.read(self.directory)
        manifest = self.manifest
        if not manifest.finalized and not allow_incomplete:
            raise ValueError(
                f"{manifest.path}: expected a finished dataset "
                '("finalized": true). Received one whose writer did not '
                "finish (still running, killed, or failed). Reopen the folder "
                "with ShardWriter to resume and close it, or pass "
                "allow_incomplete=True to read its finished shards."
            )
        if not manifest["shards"]:
            raise ValueError(
                f"{manifest.path}: expected at least one shard. "
                "Received a dataset without videos."
            )
        self.split = manifest["split"]
        self.backbone = manifest["backbone"]
        self.layer = manifest["layer"]
        self.input_size = tuple(manifest["input_size"])
        self.grid_size = manifest["grid_size"]
        self.channels = manifest["channels"]
        self.dtype = manifest["dtype"]
        self.stored_fps = manifest["stored_fps"]
        self.class_names = tuple(manifest["class_names"])
        self.multi_label = manifest["multi_label"]

        self._shards = []
        offset = 0
        for shard, path in zip(manifest.shards, manifest.shard_paths):
            self._shards.append(dict(shard, path=path, offset=offset))
            offset += shard["num_records"]
        self.video_ids = tuple(
            video_id
            for shard in self._shards
            for video_id in shard["video_ids"]
        )
        self.num_frames = np.array(
            [n for shard in self._shards for n in shard["num_frames"]],
            dtype=np.int64,
        )
        self.num_captions = np.array(
            [n for shard in self._shards for n in shard["num_captions"]],
            dtype=np.int64,
        )
        manifest.verify_shards(checksums=verify_checksums)

    @property
    def shard_paths(self):
        """Absolute paths of the shards, in manifest order."""
        return tuple(shard["path"] for shard in self._shards)

    @property
    def num_videos(self):
        """Number of videos (records)."""
        return len(self.video_ids)

    @property
    def num_classes(self):
        """Number of classes; 0 for unlabelled data."""
        return len(self.class_names)

    def verify_checksums(self):
        """Checks the size and SHA-256 of every shard against the manifest.

        Raises:
            vidattn.data.ShardIntegrityError: naming the first shard whose
                size or checksum differs.
        """
        self.manifest.verify_shards(checksums=True)

    def frame_skip(self, target_fps=None):
        """Returns how many stored frames apart a window's frames are.

        Args:
            target_fps: float or None. Frame rate the windows should have.
                None keeps the stored frame rate (skip 1).

        Returns:
            `stored_fps / target_fps` as a positive int.

        Raises:
            ValueError: if the dataset has no common stored frame rate, or
                `stored_fps / target_fps` is not a positive integer.
        """
        if target_fps is None:
            return 1
        check_positive_number("target_fps", target_fps)
        if self.stored_fps is None:
            raise ValueError(
                f"Expected a dataset with a common stored frame rate to take "
                f"windows at target_fps={target_fps}. Received "
                f"{self.directory}, whose manifest has stored_fps=null "
                "(frames not evenly spaced in time). Use target_fps=None."
            )
        ratio = self.stored_fps / target_fps
        skip = round(ratio)
        if skip < 1 or abs(ratio - skip) > 1e-6 * ratio:
            raise ValueError(
                "Expected `target_fps` to divide the stored frame rate into a "
                f"whole number of frames (skip = stored_fps / target_fps). "
                f"Received: target_fps={target_fps} with stored_fps="
                f"{self.stored_fps}, skip = {ratio:.4g}. Choose a target_fps "
                f"such as {self.stored_fps / max(skip, 1):g} or "
                f"{self.stored_fps / (max(skip, 1) + 1):g}."
            )
        return skip

    def num_windows(self, window_length=30, *, target_fps=None, stride=1):
        """Returns how many windows one epoch of `windows()` yields.

        Args:
            window_length: int. Frames per window. Defaults to `30`.
            target_fps: float or None. As in `windows()`.
            stride: int. Stored frames between window starts. Defaults to
                `1`.

        Returns:
            The number of windows (before batching), an int.
        """
        check_positive_int("window_length", window_length)
        check_positive_int("stride", stride)
        skip = self.frame_skip(target_fps)
        return int(
            _count_windows(self.num_frames, window_length, skip, stride).sum()
        )

    def _records(self, *, shuffle, seed, deterministic, cycle_length):
        """Dataset of parsed and checked videos, one per record."""
        paths = [shard["path"] for shard in self._shards]
        offsets = [shard["offset"] for shard in self._shards]
        files = tf.data.Dataset.from_tensor_slices(
            (tf.constant(paths), tf.constant(offsets, tf.int64))
        )
        if shuffle:
            files = files.shuffle(
                len(paths), seed=seed, reshuffle_each_iteration=True
            )

        def read_shard(path, offset):
            records = tf.data.TFRecordDataset(path).enumerate()
            return records.map(
                lambda index, record: (path, index, offset + index, record)
            )

        records = files.interleave(
            read_shard,
            cycle_length=min(cycle_length, len(paths)),
            block_length=1,
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=deterministic,
        )
        return records.map(
            self._parse,
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=deterministic,
        )

    def _parse(self, path, record_index, video_index, serialized):
        source = tf.strings.join(
            [path, ", record ", tf.strings.as_string(record_index)]
        )
        video = records.parse_video_tensors(
            serialized,
            grid_size=self.grid_size,
            channels=self.channels,
            dtype=self.dtype,
            source=source,
        )
        expected_id = tf.gather(tf.constant(self.video_ids), video_index)
        expected_frames = tf.gather(tf.constant(self.num_frames), video_index)
        num_classes = self.num_classes
        where = tf.strings.join([source, " (video_id=", video["video_id"], ")"])
        check = tf.debugging.Assert(
            tf.reduce_all(
                [
                    tf.equal(video["video_id"], expected_id),
                    tf.equal(video["num_frames"], expected_frames),
                    tf.equal(video["num_classes"], num_classes),
                    tf.equal(video["multi_label"], int(self.multi_label)),
                ]
            ),
            [
                tf.strings.join(
                    [
                        where,
                        ": expected video_id=",
                        expected_id,
                        " with ",
                        tf.strings.as_string(expected_frames),
                        f" frames, num_classes={num_classes}, multi_label="
                        f"{int(self.multi_label)} as {schema.MANIFEST_FILENAME}"
                        " says; received ",
                        tf.strings.as_string(video["num_frames"]),
                        " frames, num_classes=",
                        tf.strings.as_string(video["num_classes"]),
                        ", multi_label=",
                        tf.strings.as_string(video["multi_label"]),
                        ".",
                    ]
                )
            ],
        )
        labels = video["labels"]
        count_ok = (
            tf.equal(tf.size(labels), 1)
            if num_classes and not self.multi_label
            else tf.constant(True)
        )
        range_ok = tf.reduce_all(
            tf.logical_and(labels >= 0, labels < num_classes)
        )
        if not num_classes:
            wanted = "no labels (the dataset has no classes)"
        elif self.multi_label:
            wanted = f"unique class indices in [0, {num_classes})"
        else:
            wanted = f"exactly one class index in [0, {num_classes})"
        with tf.control_dependencies([check]):
            labels_check = tf.debugging.Assert(
                tf.logical_and(count_ok, range_ok),
                [
                    tf.strings.join(
                        [
                            where,
                            f": expected {wanted}; received labels [",
                            tf.strings.reduce_join(
                                tf.strings.as_string(labels), separator=", "
                            ),
                            "].",
                        ]
                    )
                ],
            )
        with tf.control_dependencies([labels_check]):
            num_frames = tf.cast(video["num_frames"], tf.int32)
            padding_frames = tf.cast(video["padding_frames"], tf.int32)
            real_frames = num_frames - padding_frames
            parsed = {
                "features": tf.identity(video["features"]),
                "video_index": tf.cast(video_index, tf.int32),
                "num_frames": num_frames,
                "padding_frames": padding_frames,
                "frame_mask": tf.range(num_frames) < real_frames,
                "captions": video["captions"],
            }
            if num_classes and self.multi_label:
                parsed["label"] = tf.reduce_sum(
                    tf.one_hot(labels, num_classes, dtype=tf.float32), axis=0
                )
            elif num_classes:
                parsed["label"] = tf.cast(tf.reshape(labels, [-1])[0], tf.int32)
        return parsed

    def _finish(self, dataset, batch_size, drop_remainder, dtype, count, pad):
        """Batches, casts the features, sets the cardinality, prefetches."""
        if batch_size is not None:
            if pad:
                dataset = dataset.padded_batch(
                    batch_size, drop_remainder=drop_remainder
                )
            else:
                dataset = dataset.batch(
                    batch_size, drop_remainder=drop_remainder
                )
            count = (
                count // batch_size
                if drop_remainder
                else -(-count // batch_size)
            )

        def cast(inputs, *rest):
            inputs = dict(inputs, features=tf.cast(inputs["features"], dtype))
            return (inputs, *rest) if rest else inputs

        dataset = dataset.map(cast, num_parallel_calls=tf.data.AUTOTUNE)
        dataset = dataset.apply(tf.data.experimental.assert_cardinality(count))
        return dataset.prefetch(tf.data.AUTOTUNE)

    def _windows(
        self,
        *,
        batch_size,
        window_length,
        target_fps,
        stride,
        shuffle,
        shuffle_buffer_size,
        seed,
        deterministic,
        cycle_length,
        drop_remainder,
        dtype,
        evaluation,
    ):
        check_positive_int("window_length", window_length)
        check_positive_int("stride", stride)
        check_positive_int("cycle_length", cycle_length)
        _check_batch(batch_size, dtype)
        skip = self.frame_skip(target_fps)
        labelled = self.num_classes > 0
        videos = self._records(
            shuffle=shuffle,
            seed=seed,
            deterministic=deterministic,
            cycle_length=cycle_length if shuffle else 1,
        )

        count = self.num_windows(
            window_length, target_fps=target_fps, stride=stride
        )
        group_size = cycle_length if shuffle else 1
        if shuffle:
            # Enough whole videos that a group holds about
            # `shuffle_buffer_size` windows to shuffle among.
            mean_windows = count / self.num_videos
            group_size = max(
                group_size, int(np.ceil(shuffle_buffer_size / mean_windows))
            )
        group_size = min(group_size, self.num_videos)

        def plan(video):
            starts, rows = window_plan(
                video["num_frames"],
                window_length,
                skip,
                stride,
                video["padding_frames"],
            )
            per_window = tf.ones_like(starts)
            targets = {}
            if evaluation:
                targets["video_index"] = video["video_index"] * per_window
                targets["window_start"] = starts
            if labelled:
                label = video["label"]
                targets["label"] = tf.repeat(label[None], tf.size(starts), 0)
            return {
                "features": video["features"],
                "rows": rows,
                "targets": targets,
            }

        videos = videos.map(plan, num_parallel_calls=tf.data.AUTOTUNE)
        groups = window_batches.group_windows(
            videos,
            group_size=group_size,
            seed=seed,
            shuffle=shuffle,
            dtype=tf.as_dtype(dtype),
        )
        batches = window_batches.batch_groups(
            groups,
            batch_size or 1,
            drop_remainder=drop_remainder,
            deterministic=deterministic,
        )

        def structure(features, targets):
            if batch_size is None:
                features = tf.squeeze(features, axis=0)
                targets = {key: value[0] for key, value in targets.items()}
            inputs = {"features": features}
            if evaluation:
                inputs["video_index"] = targets["video_index"]
                inputs["window_start"] = targets["window_start"]
            if labelled:
                return inputs, targets["label"]
            return inputs

        batches = batches.map(structure)
        if batch_size is not None:
            count = (
                count // batch_size
                if drop_remainder
                else -(-count // batch_size)
            )
        batches = batches.apply(tf.data.experimental.assert_cardinality(count))
        return batches.prefetch(tf.data.AUTOTUNE)

    def windows(
        self,
        batch_size=32,
        *,
        window_length=30,
        target_fps=None,
        stride=1,
        shuffle=True,
        shuffle_buffer_size=256,
        seed=None,
        deterministic=False,
        cycle_length=8,
        drop_remainder=False,
        dtype="float32",
    ):
        """Training windows of consecutive (or skipped) frames, with labels.

        A video of T stored frames gives the windows that start at
        `0, stride, 2 * stride, ...` and take `window_length` frames
        `skip = stored_fps / target_fps` stored frames apart, for every
        start at which the window fits (`start + (window_length - 1) * skip
        <= T - 1`). A video too short for one window gives a single window
        from frame 0 that takes frames `0, skip, 2 * skip, ...` while they
        exist and then repeats the last of them (as the thesis's released
        code did). Each window carries its video's label.

        A record's black padding frames (its `padding_frames`, from
        `even:N/M` sampling of a video shorter than M) never enter a
        window: each is replaced by the video's last real frame, as a short
        video's missing frames are, so that windows, like the short-video
        rule, hold only real frames and need no mask. The windows are still
        counted over the stored frames (the manifest's frame counts fix the
        cardinality), so a window that starts in the padding repeats the
        last real frame throughout.

        Shuffling and batching: videos are read in groups of whole videos
        (`cycle_length` of them, or more, so that a group holds about
        `shuffle_buffer_size` windows); a group's frames are concatenated
        and cast to `dtype` once, its windows are shuffled as a whole (anew
        each epoch), and each batch is cut by one gather of frame indices
        straight into its buffer. A batch may take windows of two groups.
        Every stored frame is thus read and cast once, and written once
        into each of its windows, instead of being copied into a window,
        then into a batch, then cast (`benchmarks/data_pipeline_throughput.py`
        measured 1.9× the windows/s of that in float32 and 3.5× in float16,
        as fast as a bare `tf.gather` of a batch). Yield float16 when the
        model casts its inputs anyway (Keras layers cast floating inputs to
        their compute dtype): it halves the pipeline's and the device
        transfer's bytes, and with features stored in float16 (the
        default) the windows equal the float32 ones exactly after a cast.

        Memory: shards are read `cycle_length` at a time; a few groups are
        held in `dtype` (a group of 8 videos of 120 frames of 7×7×1024 is
        96 MB in float16, 193 MB in float32), plus a few batches in flight
        (96 or 193 MB each at batch 32 of 30×7×7×1024); none of it grows
        with the dataset, but tf.data's autotuned buffers take their share.
        With the defaults (float32) and 7×7×1024 features,
        `benchmarks/data_pipeline_throughput.py` peaked at 2.2 GB for the
        whole process with 20 videos (0.12 GB of records, 1 shard) and
        3.6–3.8 GB with 200 (2.4 GB, 9 shards), of which 0.7 GB before the
        pipeline started (the pipeline this one replaced: 2.7 and 3.1 GB).

        Args:
            batch_size: int or None. Windows per batch; None yields single
                windows. Defaults to `32`.
            window_length: int. Frames per window. Defaults to `30`.
            target_fps: float or None. Frame rate of the windows; must divide
                the stored frame rate into a whole number. None takes
                consecutive stored frames. Defaults to `None`.
            stride: int. Stored frames between consecutive window starts.
                Defaults to `1`.
            shuffle: bool. Whether to shuffle shards and windows each epoch.
                Defaults to `True`.
            shuffle_buffer_size: int. Windows that a group of videos, whose
                windows are shuffled together, holds at least (on average
                over the dataset's videos). Defaults to `256`.
            seed: int or None. Seed of the shuffles. With
                `deterministic=True` the order is then reproducible.
                Defaults to `None`.
            deterministic: bool. Whether parallel reads and gathers keep a
                fixed order. Defaults to `False` (faster).
            cycle_length: int. Shards read at once, and the fewest videos
                whose windows are shuffled together. Defaults to `8`.
            drop_remainder: bool. Whether to drop a last, smaller batch.
                Defaults to `False`.
            dtype: str. Dtype of the yielded features: `"float32"`,
                `"float16"` or `"bfloat16"`. Defaults to `"float32"`.

        Returns:
            A `tf.data.Dataset` of `(inputs, label)`: `inputs` is
            `{"features": (batch, window_length, K, K, D)}` in `dtype`, and
            `label` is int32 `(batch,)` (single-label) or a float32
            multi-hot `(batch, num_classes)` (multi-label). Without classes
            the dataset yields `inputs` alone. With `batch_size=None` the
            batch dimension is absent. Its cardinality is set.

        Raises:
            ValueError: if an argument is invalid, or `target_fps` does not
                divide the stored frame rate.
        """
        check_positive_int("shuffle_buffer_size", shuffle_buffer_size)
        return self._windows(
            batch_size=batch_size,
            window_length=window_length,
            target_fps=target_fps,
            stride=stride,
            shuffle=shuffle,
            shuffle_buffer_size=shuffle_buffer_size,
            seed=seed,
            deterministic=deterministic,
            cycle_length=cycle_length,
            drop_remainder=drop_remainder,
            dtype=dtype,
            evaluation=False,
        )

    def evaluation_windows(
        self,
        batch_size=32,
        *,
        window_length=30,
        target_fps=None,
        stride=1,
        dtype="float32",
    ):
        """The windows of `windows()`, in order, with their video's index.

        Videos come in manifest order (`video_ids`), each video's windows
        together and by increasing start, so that predictions can be
        averaged per video as they stream (the thesis averages a video's
        window predictions at test time).

        Args:
            batch_size: int or None. Windows per batch; None yields single
                windows. Defaults to `32`.
            window_length: int. Frames per window. Defaults to `30`.
            target_fps: float or None. As in `windows()`. Defaults to
                `None`.
            stride: int. Stored frames between window starts. Defaults to
                `1`.
            dtype: str. Dtype of the yielded features. Defaults to
                `"float32"`.

        Returns:
            A `tf.data.Dataset` of `(inputs, label)` where `inputs` is
            `{"features": (batch, window_length, K, K, D)` in `dtype`,
            `"video_index": (batch,)` int32 (position in `video_ids`),
            `"window_start": (batch,)` int32 (first stored frame)}` and
            `label` is as in `windows()`; `inputs` alone without classes.

        Example:

        ```python
        data = vidattn.data.FeatureDataset("/data/ucf11/test")
        totals = np.zeros((data.num_videos, data.num_classes))
        for inputs, _ in data.evaluation_windows(window_length=30):
            probabilities = model.predict_on_batch(inputs["features"])
            np.add.at(totals, inputs["video_index"].numpy(), probabilities)
        video_predictions = totals.argmax(axis=1)
        ```
        """
        return self._windows(
            batch_size=batch_size,
            window_length=window_length,
            target_fps=target_fps,
            stride=stride,
            shuffle=False,
            shuffle_buffer_size=1,
            seed=None,
            deterministic=True,
            cycle_length=1,
            drop_remainder=False,
            dtype=dtype,
            evaluation=True,
        )

    def captions(
        self,
        batch_size=32,
        *,
        shuffle=True,
        shuffle_buffer_size=128,
        seed=None,
        deterministic=False,
        cycle_length=8,
        drop_remainder=False,
        dtype="float32",
    ):
        """(video features, caption) pairs: every caption once per epoch.

        Each pair holds all stored frames of the video (e.g. the N frames of
        `even:N/M` sampling). `frame_mask` is False for the padding: the
        black frames at the end of a video shorter than M (the records'
        `padding_frames`), and the frames a batch adds to a video shorter
        than its longest.

        Memory: the shuffle buffer holds `shuffle_buffer_size` pairs, which
        refer to (do not copy) the features of at most that many videos.

        Args:
            batch_size: int or None. Pairs per batch; None yields single
                pairs. Defaults to `32`.
            shuffle: bool. Whether to shuffle shards and pairs each epoch.
                Defaults to `True`.
            shuffle_buffer_size: int. Pairs in the shuffle buffer. Defaults
                to `128`.
            seed: int or None. Seed of the shuffles. Defaults to `None`.
            deterministic: bool. Whether parallel reads keep a fixed order.
                Defaults to `False`.
            cycle_length: int. Shards read at once, and videos whose
                captions are mixed. Defaults to `8`.
            drop_remainder: bool. Whether to drop a last, smaller batch.
                Defaults to `False`.
            dtype: str. Dtype of the yielded features. Defaults to
                `"float32"`.

        Returns:
            A `tf.data.Dataset` of `(inputs, caption)`: `inputs` is
            `{"features": (batch, frames, K, K, D)` in `dtype`,
            `"frame_mask": (batch, frames)` bool, `"video_index": (batch,)`
            int32}` and `caption` is a `(batch,)` string tensor (UTF-8).
            Its cardinality is set.

        Raises:
            ValueError: if an argument is invalid or the dataset has no
                captions.
        """
        check_positive_int("shuffle_buffer_size", shuffle_buffer_size)
        check_positive_int("cycle_length", cycle_length)
        _check_batch(batch_size, dtype)
        count = int(self.num_captions.sum())
        if count == 0:
            raise ValueError(
                f"Expected a dataset with captions. Received {self.directory},"
                " whose manifest lists none."
            )
        videos = self._records(
            shuffle=shuffle,
            seed=seed,
            deterministic=deterministic,
            cycle_length=cycle_length if shuffle else 1,
        )

        def pairs(video):
            reference = {
                key: video[key]
                for key in ("features", "frame_mask", "video_index")
            }
            return tf.data.Dataset.from_tensor_slices(video["captions"]).map(
                lambda caption: (reference, caption)
            )

        dataset = videos.interleave(
            pairs,
            cycle_length=cycle_length if shuffle else 1,
            block_length=1,
        )
        if shuffle:
            dataset = dataset.shuffle(
                shuffle_buffer_size, seed=seed, reshuffle_each_iteration=True
            )
        return self._finish(
            dataset, batch_size, drop_remainder, dtype, count, pad=True
        )

    def video_captions(self, batch_size=256):
        """Yields each video's id and captions, reading no features.

        Only the `video_id` and `captions` fields of each record are parsed
        (`vidattn.data.records.parse_caption_tensors`), in manifest order:
        what a vocabulary or the references of a scorer need, at the cost
        of reading the files.

        Args:
            batch_size: int. Records parsed at once. Defaults to `256`.

        Yields:
            `(video_id, captions)`: a str and a list of str (empty for a
            video without captions).

        Raises:
            ValueError: if a shard's video ids or record count differ from
                the manifest's.
        """
        check_positive_int("batch_size", batch_size)
        for shard in self._shards:
            path, expected = shard["path"], shard["video_ids"]
            parsed = (
                tf.data.TFRecordDataset(path)
                .batch(batch_size)
                .map(records.parse_caption_tensors)
            )
            index = 0
            for batch in parsed:
                captions = batch["captions"].to_list()
                for video_id, texts in zip(batch["video_id"].numpy(), captions):
                    video_id = video_id.decode("utf-8")
                    wanted = expected[index] if index < len(expected) else None
                    if video_id != wanted:
                        raise ValueError(
                            f"{path}, record {index}: expected video_id="
                            f"{wanted!r} as {schema.MANIFEST_FILENAME} says "
                            f"({len(expected)} records); received "
                            f"{video_id!r}. Rewrite the dataset."
                        )
                    yield video_id, [text.decode("utf-8") for text in texts]
                    index += 1
            if index != len(expected):
                raise ValueError(
                    f"{path}: expected {len(expected)} records as "
                    f"{schema.MANIFEST_FILENAME} says; received {index}."
                )

    def videos(self):
        """Reads every record eagerly, in manifest order, as NumPy values.

        Yields:
            The dict of `vidattn.data.records.decode_video` (features in the
            storage dtype, `"padding_frames"` the count of black frames at
            their end) plus `"video_index"`, the position in `video_ids`.

        Raises:
            tf.errors.DataLossError: if TensorFlow finds a corrupt or
                truncated record, or a shard has fewer records than listed;
                the message names the file and the record index.
            ValueError: if a record disagrees with the manifest (schema
                version, K, D, dtype, video id, frame count) or holds NaN or
                infinite feature values, naming the file, record and video.
        """
        for shard in self._shards:
            path = shard["path"]
            iterator = iter(tf.data.TFRecordDataset(path))
            index = 0
            while True:
                try:
                    serialized = next(iterator)
                except StopIteration:
                    break
                except tf.errors.DataLossError as error:
                    raise tf.errors.DataLossError(
                        None,
                        None,
                        f"{path}, record {index}: expected a valid TFRecord "
                        f"(the shard lists {shard['num_records']} records); "
                        f"TensorFlow reports: {error.message.strip()}. The "
                        "shard is corrupt or truncated: restore it or "
                        "rewrite the dataset.",
                    ) from error
                source = f"{path}, record {index}"
                if index >= shard["num_records"]:
                    raise tf.errors.DataLossError(
                        None,
                        None,
                        f"{source}: expected {shard['num_records']} records "
                        f"as {schema.MANIFEST_FILENAME} says; received more.",
                    )
                video = records.decode_video(serialized.numpy(), source=source)
                self._check_video(video, shard, index, source)
                video["video_index"] = shard["offset"] + index
                yield video
                index += 1
            if index != shard["num_records"]:
                raise tf.errors.DataLossError(
                    None,
                    None,
                    f"{path}: expected {shard['num_records']} records as "
                    f"{schema.MANIFEST_FILENAME} says; received {index}.",
                )

    def _check_video(self, video, shard, index, source):
        expected = {
            "video_id": shard["video_ids"][index],
            "num_frames": shard["num_frames"][index],
            "grid_size": self.grid_size,
            "channels": self.channels,
            "dtype": self.dtype,
            "num_classes": self.num_classes,
            "multi_label": int(self.multi_label),
        }
        received = {key: video[key] for key in expected}
        try:
            records.check_labels(
                video["video_id"],
                video["labels"].tolist(),
                self.num_classes,
                self.multi_label,
            )
        except ValueError as error:
            raise ValueError(f"{source}: {error}") from None
        if received != expected:
            differences = ", ".join(
                f"{key}={received[key]!r} (expected {expected[key]!r})"
                for key in expected
                if received[key] != expected[key]
            )
            raise ValueError(
                f"{source} (video {video['video_id']!r}): expected a record "
                f"matching {schema.MANIFEST_FILENAME}, i.e. features of shape "
                f"(frames, {self.grid_size}, {self.grid_size}, "
                f"{self.channels}). Received: {differences}."
            )

    def check_records(self):
        """Reads and checks every record; see `videos()`.

        Returns:
            The number of records checked.
        """
        count = 0
        for _ in self.videos():
            count += 1
        return count

    def __repr__(self):
        return (
            f"<FeatureDataset {self.directory} split={self.split!r} "
            f"videos={self.num_videos} K={self.grid_size} D={self.channels} "
            f"dtype={self.dtype}>"
        )
