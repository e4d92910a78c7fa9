"""The on-disk format of per-video feature sequences: TFRecords and manifest.

This module is the single source of truth for the format. Each video is one
`tf.train.SequenceExample`:

- its **context** holds the per-video metadata (id, frame counts, frame
  rates, feature geometry, backbone, labels, captions, storage dtype and
  `schema_version`);
- its **feature list** `features` holds one `bytes` entry per stored frame:
  the frame's K×K×D feature cube, channels-last, little-endian.

Why a `SequenceExample` rather than an `Example` with one blob: a video is a
variable-length sequence of equally shaped frames, which is exactly what a
feature list is for (YouTube-8M's frame-level features use the same layout).
The parser returns the frames as a `(frames,)` string tensor that one
`tf.io.decode_raw` turns into a `(frames, K·K·D)` tensor without any copy
beyond the decode, the frame count is visible to the parser without decoding
any feature, and a frame of the wrong size is caught per frame.

The dataset folder that holds the shards also holds `manifest.json`, whose
fields are listed in `MANIFEST_FIELDS` and checked by `read_manifest()`.
`tfrecords/README.md` documents both tables; `schema_markdown()` generates
them, and a test keeps the README identical to it.
"""

import dataclasses
import json
import math
import os
import re

import numpy as np
import tensorflow as tf

SCHEMA_VERSION = 1
"""Version written by this code, in every record and in `manifest.json`."""

SUPPORTED_SCHEMA_VERSIONS = (1,)
"""Versions this code can read. A reader refuses any other."""

STORAGE_DTYPES = ("float16", "float32")
"""Storage dtypes of feature values. Values are little-endian."""

MANIFEST_FILENAME = "manifest.json"

SHARD_SUFFIX = ".tfrecord"

TMP_SUFFIX = ".tmp"


@dataclasses.dataclass(frozen=True)
class FieldSpec:
    """Description of one field of the on-disk format.

    Args:
        name: str. Key of the field in the record's context or feature list,
            or in `manifest.json`.
        location: str. `"context"` or `"feature_list"` for record fields,
            `"manifest"` or `"manifest.shards[]"` for manifest fields.
        dtype: str. The `tf.train.Feature` kind (`"int64"`, `"float"`,
            `"bytes"`) for record fields, the JSON type for manifest fields.
        shape: str. Number of values: `"()"` for exactly one, `"(n,)"` for a
            list.
        description: str. Meaning, units and allowed values.
    """

    name: str
    location: str
    dtype: str
    shape: str
    description: str


RECORD_FIELDS = (
    FieldSpec(
        "schema_version",
        "context",
        "int64",
        "()",
        "Version of this schema that the record follows (currently 1). "
        "Readers refuse versions they do not know.",
    ),
    FieldSpec(
        "video_id",
        "context",
        "bytes",
        "()",
        "UTF-8 identifier of the video, unique within a dataset folder "
        "(e.g. the video's path relative to the dataset's video root).",
    ),
    FieldSpec(
        "num_frames",
        "context",
        "int64",
        "()",
        "T, the number of stored frames (at least 1); equals the length of "
        "the `features` feature list.",
    ),
    FieldSpec(
        "source_fps",
        "context",
        "float",
        "()",
        "Frame rate of the decoded source video in frames per second; "
        "0 when unknown (e.g. imported features).",
    ),
    FieldSpec(
        "sampling",
        "context",
        "bytes",
        "()",
        "How the stored frames were drawn from the source: `fps=<rate>` "
        "(resampled to a constant rate, e.g. `fps=30`), `even:<N>/<M>` "
        "(N frames evenly spaced over the M source frames, e.g. "
        "`even:26/240`) or `all` (every source frame). No whitespace.",
    ),
    FieldSpec(
        "stored_fps",
        "context",
        "float",
        "()",
        "Frame rate of the stored frames; 0 when their spacing is not "
        "constant (`even:` sampling). Training windows at a target frame "
        "rate need it.",
    ),
    FieldSpec(
        "grid_size",
        "context",
        "int64",
        "()",
        "K: each frame's feature map has K×K spatial locations.",
    ),
    FieldSpec(
        "channels",
        "context",
        "int64",
        "()",
        "D: number of channels at each location.",
    ),
    FieldSpec(
        "backbone",
        "context",
        "bytes",
        "()",
        "Name of the CNN that computed the features (e.g. "
        "`efficientnet_lite0`, `googlenet`).",
    ),
    FieldSpec(
        "layer",
        "context",
        "bytes",
        "()",
        "Name of the backbone layer whose output map is stored.",
    ),
    FieldSpec(
        "dtype",
        "context",
        "bytes",
        "()",
        "Storage dtype of the feature values: `float16` (default) or "
        "`float32`, little-endian.",
    ),
    FieldSpec(
        "num_classes",
        "context",
        "int64",
        "()",
        "Number of classes that `labels` indexes; 0 for unlabelled data.",
    ),
    FieldSpec(
        "multi_label",
        "context",
        "int64",
        "()",
        "1 if a video may carry several labels (e.g. Hollywood2), else 0.",
    ),
    FieldSpec(
        "labels",
        "context",
        "int64",
        "(n,)",
        "Class indices in [0, num_classes), unique and ascending. "
        "Single-label data: exactly one. Multi-label: zero or more "
        "(the multi-hot vector's nonzero positions). Unlabelled: none.",
    ),
    FieldSpec(
        "captions",
        "context",
        "bytes",
        "(n,)",
        "Reference captions, UTF-8, none empty or blank; zero or more.",
    ),
    FieldSpec(
        "features",
        "feature_list",
        "bytes",
        "(T,)",
        "One entry per stored frame: the frame's (K, K, D) feature cube in "
        "row-major (height, width, channel) order, i.e. channels-last, as "
        "`numpy.ndarray.tobytes()` of a C-contiguous (K, K, D) array in the "
        "little-endian storage dtype: K·K·D·itemsize bytes.",
    ),
)

MANIFEST_FIELDS = (
    FieldSpec(
        "schema_version",
        "manifest",
        "integer",
        "()",
        "Version of this schema that every shard follows (currently 1).",
    ),
    FieldSpec(
        "split",
        "manifest",
        "string",
        "()",
        "Name of the split the folder holds (e.g. `train`); also the prefix "
        "of the shard file names.",
    ),
    FieldSpec(
        "backbone", "manifest", "string", "()", "As the records' `backbone`."
    ),
    FieldSpec("layer", "manifest", "string", "()", "As the records' `layer`."),
    FieldSpec(
        "input_size",
        "manifest",
        "list of integers",
        "(2,)",
        "[height, width] in pixels of the frames the backbone was given.",
    ),
    FieldSpec("grid_size", "manifest", "integer", "()", "K, as the records'."),
    FieldSpec("channels", "manifest", "integer", "()", "D, as the records'."),
    FieldSpec(
        "dtype",
        "manifest",
        "string",
        "()",
        "Storage dtype, as the records' (`float16` or `float32`).",
    ),
    FieldSpec(
        "stored_fps",
        "manifest",
        "number or null",
        "()",
        "Frame rate shared by every record's stored frames, or null when "
        "the records do not share one (e.g. `even:` sampling).",
    ),
    FieldSpec(
        "class_names",
        "manifest",
        "list of strings",
        "(num_classes,)",
        "Name of each class, indexed by the records' `labels`; empty for "
        "unlabelled data.",
    ),
    FieldSpec(
        "multi_label",
        "manifest",
        "boolean",
        "()",
        "Whether a video may carry several labels.",
    ),
    FieldSpec(
        "num_videos",
        "manifest",
        "integer",
        "()",
        "Number of records in all listed shards.",
    ),
    FieldSpec(
        "num_frames",
        "manifest",
        "integer",
        "()",
        "Number of stored frames in all listed shards.",
    ),
    FieldSpec(
        "num_captions",
        "manifest",
        "integer",
        "()",
        "Number of captions in all listed shards.",
    ),
    FieldSpec(
        "finalized",
        "manifest",
        "boolean",
        "()",
        "true once the writer was closed normally; false while it runs or "
        "after it was killed or failed (resume it by reopening the folder).",
    ),
    FieldSpec(
        "shards",
        "manifest",
        "list of objects",
        "(n,)",
        "The finished shards, in writing order; the position of a video in "
        "the concatenation of the shards' `video_ids` is its video index.",
    ),
    FieldSpec(
        "path",
        "manifest.shards[]",
        "string",
        "()",
        "File name of the shard relative to the dataset folder, e.g. "
        "`train-00000.tfrecord`. Absolute paths and paths leading outside "
        "the folder are refused.",
    ),
    FieldSpec(
        "num_records",
        "manifest.shards[]",
        "integer",
        "()",
        "Number of records (videos) in the shard.",
    ),
    FieldSpec(
        "num_bytes",
        "manifest.shards[]",
        "integer",
        "()",
        "Size of the shard file in bytes.",
    ),
    FieldSpec(
        "sha256",
        "manifest.shards[]",
        "string",
        "()",
        "SHA-256 of the whole shard file, 64 lowercase hex digits.",
    ),
    FieldSpec(
        "video_ids",
        "manifest.shards[]",
        "list of strings",
        "(num_records,)",
        "The `video_id` of each record, in file order.",
    ),
    FieldSpec(
        "num_frames",
        "manifest.shards[]",
        "list of integers",
        "(num_records,)",
        "The `num_frames` of each record, in file order.",
    ),
    FieldSpec(
        "num_captions",
        "manifest.shards[]",
        "list of integers",
        "(num_records,)",
        "The number of captions of each record, in file order.",
    ),
)

_SCALAR_CONTEXT = {
    "schema_version": tf.int64,
    "video_id": tf.string,
    "num_frames": tf.int64,
    "source_fps": tf.float32,
    "sampling": tf.string,
    "stored_fps": tf.float32,
    "grid_size": tf.int64,
    "channels": tf.int64,
    "backbone": tf.string,
    "layer": tf.string,
    "dtype": tf.string,
    "num_classes": tf.int64,
    "multi_label": tf.int64,
}
_LIST_CONTEXT = {"labels": tf.int64, "captions": tf.string}
_FEATURE_LIST = "features"

_SHA256_PATTERN = re.compile(r"^[0-9a-f]{64}$")


def shard_filename(split, index):
    """Returns the file name of shard `index` of `split`.

    Shards are named `<split>-<index:05d>.tfrecord`, e.g.
    `train-00003.tfrecord`; the total is not part of the name because a
    streaming writer does not know it in advance (the manifest does).

    Args:
        split: str. Name of the split.
        index: int. Index of the shard, from 0.

    Returns:
        The file name, without any folder.
    """
    return f"{split}-{index:05d}{SHARD_SUFFIX}"


def shard_index(split, filename):
    """Returns the index of a shard file name of `split`, or `None`.

    Args:
        split: str. Name of the split.
        filename: str. A file name, without any folder.

    Returns:
        The index as an int, or `None` when `filename` is not a shard name
        of `split`.
    """
    match = re.fullmatch(
        re.escape(split) + r"-(\d{5,})" + re.escape(SHARD_SUFFIX), filename
    )
    return int(match.group(1)) if match else None


def _check_dtype(dtype):
    if dtype not in STORAGE_DTYPES:
        raise ValueError(
            f"Expected `dtype` to be one of {STORAGE_DTYPES}. "
            f"Received: dtype={dtype!r}"
        )
    return np.dtype(dtype).newbyteorder("<")


def _check_name(value, name, video_id):
    if not isinstance(value, str) or not value.strip():
        raise ValueError(
            f"Video {video_id!r}: expected `{name}` to be a non-empty "
            f"string. Received: {name}={value!r}"
        )


def _check_fps(value, name, video_id):
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float, np.integer, np.floating))
        or not math.isfinite(value)
        or value < 0
    ):
        raise ValueError(
            f"Video {video_id!r}: expected `{name}` to be a finite number "
            f">= 0 (0 meaning unknown or irregular). "
            f"Received: {name}={value!r}"
        )
    return float(value)


def check_labels(video_id, labels, num_classes, multi_label):
    """Validates labels and returns them as sorted unique class indices.

    Args:
        video_id: str. Named in error messages.
        labels: int, sequence of ints, boolean array, or None. Class
            indices; a multi-label video may also pass a boolean multi-hot
            vector of length `num_classes` (an integer 0/1 vector would be
            ambiguous with a list of indices, so it is read as indices).
        num_classes: int. Number of classes; 0 for unlabelled data.
        multi_label: bool. Whether several labels are allowed.

    Returns:
        A list of ints, ascending and unique.

    Raises:
        ValueError: if a label is out of range, repeated, not an integer,
            or the count does not fit the label mode.
    """
    if labels is None:
        labels = []
    elif isinstance(labels, (int, np.integer)) and not isinstance(labels, bool):
        labels = [labels]
    else:
        labels = np.asarray(labels)
        if labels.dtype == bool:
            if labels.shape != (num_classes,) or not multi_label:
                raise ValueError(
                    f"Video {video_id!r}: expected a boolean multi-hot label "
                    f"vector of shape ({num_classes},) in a multi-label "
                    f"dataset. Received: shape {labels.shape}, "
                    f"multi_label={multi_label}"
                )
            labels = np.flatnonzero(labels)
        labels = labels.reshape(-1).tolist()
    for label in labels:
        if isinstance(label, bool) or not isinstance(label, (int, np.integer)):
            raise ValueError(
                f"Video {video_id!r}: expected integer class indices as "
                f"labels. Received: labels={labels!r}"
            )
    if num_classes == 0:
        if labels:
            raise ValueError(
                f"Video {video_id!r}: expected no labels, since the dataset "
                f"has no classes (num_classes=0). Received: labels={labels}"
            )
        return []
    for label in labels:
        if not 0 <= label < num_classes:
            raise ValueError(
                f"Video {video_id!r}: expected class indices in "
                f"[0, {num_classes}). Received: label {label} "
                f"(labels={labels})"
            )
    if len(set(labels)) != len(labels):
        raise ValueError(
            f"Video {video_id!r}: expected each class at most once. "
            f"Received: labels={labels}"
        )
    if not multi_label and len(labels) != 1:
        raise ValueError(
            f"Video {video_id!r}: expected exactly one label in a "
            f"single-label dataset. Received: labels={labels}"
        )
    return sorted(int(label) for label in labels)


def check_captions(video_id, captions):
    """Validates captions and returns them as a list of str.

    Args:
        video_id: str. Named in error messages.
        captions: sequence of str, or None.

    Returns:
        A list of str.

    Raises:
        ValueError: if `captions` is a single string, or one caption is not
            a string or is empty or blank.
    """
    if captions is None:
        return []
    if isinstance(captions, (str, bytes)):
        raise ValueError(
            f"Video {video_id!r}: expected `captions` to be a list of "
            f"strings; received a single string {captions!r}. Wrap it in a "
            "list."
        )
    captions = list(captions)
    for i, caption in enumerate(captions):
        if isinstance(caption, bytes):
            caption = caption.decode("utf-8")
            captions[i] = caption
        if not isinstance(caption, str):
            raise ValueError(
                f"Video {video_id!r}: expected caption {i} to be a string. "
                f"Received: {caption!r}"
            )
        if not caption.strip():
            raise ValueError(
                f"Video {video_id!r}: expected non-empty captions. "
                f"Received: caption {i} = {caption!r}"
            )
    return captions


def check_features(video_id, features, dtype="float16"):
    """Validates a video's feature cubes and converts them to storage dtype.

    Args:
        video_id: str. Named in error messages.
        features: array-like of shape `(frames, K, K, D)`, real numbers.
        dtype: str. Storage dtype, `"float16"` or `"float32"`.

    Returns:
        A C-contiguous little-endian NumPy array of shape `(frames, K, K, D)`
        in the storage dtype.

    Raises:
        ValueError: if the rank or shape is wrong, there are no frames, a
            value is NaN or infinite, or a value overflows the storage dtype.
    """
    storage = _check_dtype(dtype)
    features = np.asarray(features)
    if (
        features.ndim != 4
        or features.shape[1] != features.shape[2]
        or min(features.shape) < 1
    ):
        raise ValueError(
            f"Video {video_id!r}: expected features of shape "
            "(frames, K, K, D) with frames, K, D >= 1 (a K×K grid, "
            f"channels last). Received: shape {features.shape}"
        )
    if not (
        np.issubdtype(features.dtype, np.floating)
        or np.issubdtype(features.dtype, np.integer)
    ):
        raise ValueError(
            f"Video {video_id!r}: expected real-valued features. "
            f"Received: dtype {features.dtype}"
        )
    finite = np.isfinite(features)
    if not finite.all():
        bad = np.argwhere(~finite)[0]
        raise ValueError(
            f"Video {video_id!r}: expected finite feature values. Received: "
            f"{features[tuple(bad)]} at frame {bad[0]}, location "
            f"({bad[1]}, {bad[2]}), channel {bad[3]} "
            f"({int((~finite).sum())} non-finite values in all)."
        )
    with np.errstate(over="ignore"):
        stored = np.ascontiguousarray(features, dtype=storage)
    if features.dtype != storage and not np.isfinite(stored).all():
        peak = float(np.abs(features).max())
        raise ValueError(
            f"Video {video_id!r}: expected feature values within the range "
            f"of {dtype} (|x| <= {float(np.finfo(storage).max)}). Received: "
            f"max |x| = {peak}. Store this dataset as float32."
        )
    return stored


def encode_video(
    video_id,
    features,
    *,
    backbone,
    layer,
    sampling,
    stored_fps,
    source_fps=0.0,
    labels=None,
    num_classes=0,
    multi_label=False,
    captions=None,
    dtype="float16",
):
    """Encodes one video into a serialized `tf.train.SequenceExample`.

    Every argument is validated before anything is encoded.

    Args:
        video_id: str. Identifier of the video, unique within its dataset.
        features: array-like of shape `(frames, K, K, D)`: one channels-last
            feature cube per stored frame.
        backbone: str. Name of the CNN that computed the features.
        layer: str. Name of the backbone layer.
        sampling: str. How frames were drawn from the source, e.g.
            `"fps=30"`, `"even:26/240"` or `"all"`.
        stored_fps: float. Frame rate of the stored frames, 0 if irregular.
        source_fps: float. Frame rate of the source video, 0 if unknown.
            Defaults to `0.0`.
        labels: int, sequence of ints, boolean multi-hot array, or None.
            Class indices (see `check_labels`). Defaults to `None` (no labels).
        num_classes: int. Number of classes; 0 for unlabelled data.
            Defaults to `0`.
        multi_label: bool. Whether several labels are allowed. Defaults to
            `False`.
        captions: sequence of str, or None. Reference captions. Defaults to
            `None`.
        dtype: str. Storage dtype, `"float16"` or `"float32"`. Defaults to
            `"float16"`.

    Returns:
        The serialized record, as bytes.

    Raises:
        ValueError: on any invalid argument; the message names the video.

    Example:

    ```python
    features = np.random.rand(8, 7, 7, 1024).astype("float32")
    record = vidattn.data.schema.encode_video(
        "v_Biking_g01_c01", features, backbone="googlenet",
        layer="inception_5b", sampling="fps=30", stored_fps=30.0,
        labels=1, num_classes=11)
    video = vidattn.data.schema.decode_video(record)
    video["features"].shape  # (8, 7, 7, 1024), float16
    ```
    """
    if not isinstance(video_id, str) or not video_id:
        raise ValueError(
            "Expected `video_id` to be a non-empty string. "
            f"Received: video_id={video_id!r}"
        )
    stored = check_features(video_id, features, dtype)
    _check_name(backbone, "backbone", video_id)
    _check_name(layer, "layer", video_id)
    _check_name(sampling, "sampling", video_id)
    if re.search(r"\s", sampling):
        raise ValueError(
            f"Video {video_id!r}: expected `sampling` without whitespace, "
            f"e.g. 'fps=30' or 'even:26/240'. Received: sampling={sampling!r}"
        )
    stored_fps = _check_fps(stored_fps, "stored_fps", video_id)
    source_fps = _check_fps(source_fps, "source_fps", video_id)
    if (
        isinstance(num_classes, bool)
        or not isinstance(num_classes, (int, np.integer))
        or num_classes < 0
    ):
        raise ValueError(
            f"Video {video_id!r}: expected `num_classes` to be an integer "
            f">= 0. Received: num_classes={num_classes!r}"
        )
    labels = check_labels(video_id, labels, num_classes, multi_label)
    captions = check_captions(video_id, captions)

    example = tf.train.SequenceExample()
    context = example.context.feature

    def put_int(key, values):
        context[key].int64_list.value.extend(int(v) for v in values)
        context[key].int64_list.SetInParent()

    def put_float(key, value):
        context[key].float_list.value.append(value)

    def put_bytes(key, values):
        context[key].bytes_list.value.extend(v.encode("utf-8") for v in values)
        context[key].bytes_list.SetInParent()

    frames, grid_size, _, channels = stored.shape
    put_int("schema_version", [SCHEMA_VERSION])
    put_bytes("video_id", [video_id])
    put_int("num_frames", [frames])
    put_float("source_fps", source_fps)
    put_bytes("sampling", [sampling])
    put_float("stored_fps", stored_fps)
    put_int("grid_size", [grid_size])
    put_int("channels", [channels])
    put_bytes("backbone", [backbone])
    put_bytes("layer", [layer])
    put_bytes("dtype", [dtype])
    put_int("num_classes", [num_classes])
    put_int("multi_label", [int(bool(multi_label))])
    put_int("labels", labels)
    put_bytes("captions", captions)
    frame_list = example.feature_lists.feature_list[_FEATURE_LIST].feature
    for frame in stored:
        frame_list.add().bytes_list.value.append(frame.tobytes())
    return example.SerializeToString()


def _unsupported_version_message(version, source):
    return (
        f"{source}: the record has schema_version={version}, which this "
        f"vidattn cannot read (it reads {list(SUPPORTED_SCHEMA_VERSIONS)}). "
        "Upgrade vidattn if the data is newer, or rewrite the data with "
        "this version's ShardWriter."
    )


def decode_video(serialized, source="record"):
    """Decodes a serialized video record into NumPy values (eager).

    Args:
        serialized: bytes. A record written by `encode_video`.
        source: str. Where the record comes from, named in error messages,
            e.g. `"/data/train-00000.tfrecord, record 3"`. Defaults to
            `"record"`.

    Returns:
        A dict with one entry per field of `RECORD_FIELDS`: scalars as
        Python `int`, `float` or `str`, `"labels"` as an int64 array,
        `"captions"` as a list of str, and `"features"` as an array of shape
        `(num_frames, K, K, D)` in the storage dtype.

    Raises:
        ValueError: if the record is not a `SequenceExample`, has an
            unsupported `schema_version`, misses a field, or its frames do
            not match its `num_frames`, `grid_size`, `channels` and `dtype`.
            The message names `source`.
    """
    try:
        example = tf.train.SequenceExample.FromString(serialized)
    except Exception as error:  # protobuf raises its own DecodeError.
        raise ValueError(
            f"{source}: expected a serialized tf.train.SequenceExample; "
            f"could not parse it ({error})."
        ) from error
    context = example.context.feature
    if "schema_version" not in context:
        raise ValueError(
            f"{source}: expected a vidattn video record with a "
            "`schema_version` field; received a record without one."
        )
    version = list(context["schema_version"].int64_list.value)
    version = version[0] if len(version) == 1 else version
    if version not in SUPPORTED_SCHEMA_VERSIONS:
        raise ValueError(_unsupported_version_message(version, source))

    video = {}
    for name, tf_dtype in _SCALAR_CONTEXT.items():
        if name not in context:
            raise ValueError(
                f"{source}: expected the field `{name}` in the record's "
                "context; it is missing."
            )
        if tf_dtype == tf.int64:
            values = context[name].int64_list.value
        elif tf_dtype == tf.float32:
            values = context[name].float_list.value
        else:
            values = context[name].bytes_list.value
        if len(values) != 1:
            raise ValueError(
                f"{source}: expected exactly one value in `{name}`. "
                f"Received: {list(values)}"
            )
        value = values[0]
        if tf_dtype == tf.string:
            value = value.decode("utf-8")
        elif tf_dtype == tf.int64:
            value = int(value)
        else:
            value = float(value)
        video[name] = value
    source = f"{source} (video {video['video_id']!r})"
    video["labels"] = np.asarray(
        context["labels"].int64_list.value if "labels" in context else [],
        dtype=np.int64,
    )
    video["captions"] = (
        [c.decode("utf-8") for c in context["captions"].bytes_list.value]
        if "captions" in context
        else []
    )
    if video["dtype"] not in STORAGE_DTYPES:
        raise ValueError(
            f"{source}: expected `dtype` to be one of {STORAGE_DTYPES}. "
            f"Received: {video['dtype']!r}"
        )
    storage = np.dtype(video["dtype"]).newbyteorder("<")
    feature_lists = example.feature_lists.feature_list
    frames = (
        feature_lists[_FEATURE_LIST].feature
        if _FEATURE_LIST in feature_lists
        else []
    )
    k, d = video["grid_size"], video["channels"]
    if len(frames) != video["num_frames"] or len(frames) < 1:
        raise ValueError(
            f"{source}: expected {video['num_frames']} frames in the "
            f"`features` feature list (num_frames >= 1). "
            f"Received: {len(frames)} frames."
        )
    frame_bytes = k * k * d * storage.itemsize
    buffer = bytearray(len(frames) * frame_bytes)
    for i, frame in enumerate(frames):
        values = frame.bytes_list.value
        if len(values) != 1 or len(values[0]) != frame_bytes:
            received = [len(v) for v in values]
            raise ValueError(
                f"{source}: expected frame {i} to hold one {frame_bytes}-"
                f"byte value (a ({k}, {k}, {d}) {video['dtype']} cube). "
                f"Received: values of {received} bytes."
            )
        buffer[i * frame_bytes : (i + 1) * frame_bytes] = values[0]
    video["features"] = np.frombuffer(buffer, dtype=storage).reshape(
        len(frames), k, k, d
    )
    return video


def _join(*parts):
    """Joins Python strings and scalar tensors into a string tensor."""
    pieces = []
    for part in parts:
        if isinstance(part, str):
            pieces.append(part)
        elif part.dtype == tf.string:
            pieces.append(part)
        else:
            pieces.append(tf.strings.as_string(part))
    return tf.strings.join(pieces)


def parse_video_tensors(
    serialized, *, grid_size, channels, dtype, source="record"
):
    """Parses a serialized video record with TensorFlow ops (for `tf.data`).

    The record must follow a supported schema version and match the given
    geometry and storage dtype (the dataset's manifest). Every check is an
    in-graph assertion that fails with `tf.errors.InvalidArgumentError`
    whose message names `source`, the video id, what was expected and what
    was received.

    Args:
        serialized: scalar string tensor. One serialized record.
        grid_size: int. Expected K.
        channels: int. Expected D.
        dtype: str. Expected storage dtype, `"float16"` or `"float32"`.
        source: str or scalar string tensor. Where the record comes from,
            e.g. `"/data/train-00000.tfrecord, record 3"`.

    Returns:
        A dict of tensors: `"features"` of shape `(num_frames, K, K, D)` in
        the storage dtype, `"labels"` int64 `(n,)`, `"captions"` string
        `(m,)`, and one scalar per other field of `RECORD_FIELDS`
        (`int64`, `float32` or `string`).
    """
    _check_dtype(dtype)
    source = tf.convert_to_tensor(source, dtype=tf.string)
    # Read the version alone first, so that a record of an unknown version
    # is refused with that reason rather than with a missing-field error.
    version_only, _ = tf.io.parse_single_sequence_example(
        serialized,
        context_features={
            "schema_version": tf.io.FixedLenFeature([], tf.int64, -1)
        },
    )
    version = version_only["schema_version"]
    version_ok = tf.reduce_any(
        tf.equal(version, tf.constant(SUPPORTED_SCHEMA_VERSIONS, tf.int64))
    )
    version_check = tf.debugging.Assert(
        version_ok,
        [
            _join(
                source,
                ": the record has schema_version=",
                version,
                " (-1: missing), which this vidattn cannot read (it reads "
                f"{list(SUPPORTED_SCHEMA_VERSIONS)}). Upgrade vidattn if the "
                "data is newer, or rewrite the data with this version's "
                "ShardWriter.",
            )
        ],
    )
    with tf.control_dependencies([version_check]):
        serialized = tf.identity(serialized)
    context_features = {
        name: tf.io.FixedLenFeature([], kind)
        for name, kind in _SCALAR_CONTEXT.items()
    }
    context_features.update(
        {
            name: tf.io.VarLenFeature(kind)
            for name, kind in _LIST_CONTEXT.items()
        }
    )
    context, sequence = tf.io.parse_single_sequence_example(
        serialized,
        context_features=context_features,
        sequence_features={
            _FEATURE_LIST: tf.io.FixedLenSequenceFeature([], tf.string)
        },
    )
    video = {name: context[name] for name in _SCALAR_CONTEXT}
    video["labels"] = tf.sparse.to_dense(context["labels"])
    video["captions"] = tf.sparse.to_dense(context["captions"])
    frames = sequence[_FEATURE_LIST]

    # TensorFlow escapes quotes in assertion messages: none are used.
    where = _join(source, " (video_id=", video["video_id"], ")")
    received_k, received_d = video["grid_size"], video["channels"]
    num_frames = tf.size(frames, out_type=tf.int64)
    frame_bytes = grid_size * grid_size * channels * np.dtype(dtype).itemsize
    lengths = tf.strings.length(frames)
    # Each check runs after the previous one passed, so that the first
    # disagreement is the one reported (a wrong K also gives wrong frame
    # sizes, but the shape is the clearer message).
    checks = (
        lambda: (
            tf.logical_and(
                tf.equal(received_k, grid_size), tf.equal(received_d, channels)
            ),
            _join(
                where,
                f": expected features of shape (frames, {grid_size}, "
                f"{grid_size}, {channels}) as the manifest says; "
                "received (frames, ",
                received_k,
                ", ",
                received_k,
                ", ",
                received_d,
                ").",
            ),
        ),
        lambda: (
            tf.equal(video["dtype"], dtype),
            _join(
                where,
                f": expected features stored as {dtype} as the manifest "
                "says; received ",
                video["dtype"],
                ".",
            ),
        ),
        lambda: (
            tf.logical_and(
                tf.equal(num_frames, video["num_frames"]),
                tf.greater(num_frames, 0),
            ),
            _join(
                where,
                ": expected num_frames=",
                video["num_frames"],
                " (>= 1) frames in the `features` list; received ",
                num_frames,
                ".",
            ),
        ),
        lambda: (
            tf.reduce_all(tf.equal(lengths, frame_bytes)),
            _join(
                where,
                f": expected every frame to hold {frame_bytes} bytes "
                f"(a ({grid_size}, {grid_size}, {channels}) {dtype} cube); "
                "received a frame of ",
                tf.reduce_min(lengths),
                " to ",
                tf.reduce_max(lengths),
                " bytes.",
            ),
        ),
    )
    previous = []
    for check in checks:
        with tf.control_dependencies(previous):
            condition, message = check()
            previous = [tf.debugging.Assert(condition, [message])]
    with tf.control_dependencies(previous):
        frames = tf.identity(frames)
    features = tf.io.decode_raw(frames, tf.as_dtype(dtype), little_endian=True)
    video["features"] = tf.reshape(
        features, [-1, grid_size, grid_size, channels]
    )
    return video


def resolve_shard_path(directory, path, manifest_path=None):
    """Returns the absolute path of a shard listed in a manifest.

    Args:
        directory: str. The dataset folder.
        path: str. The shard's `path` as the manifest lists it.
        manifest_path: str or None. Named in error messages. Defaults to
            `<directory>/manifest.json`.

    Returns:
        The absolute path of the shard.

    Raises:
        ValueError: if `path` is absolute, empty, or leads outside
            `directory` (through `..` or a symbolic link).
    """
    manifest_path = manifest_path or os.path.join(directory, MANIFEST_FILENAME)
    if (
        not isinstance(path, str)
        or not path
        or os.path.isabs(path)
        or "\\" in path
        or path.startswith("~")
        or ".." in path.split("/")
    ):
        raise ValueError(
            f"{manifest_path}: expected shard paths relative to the dataset "
            f"folder and inside it. Received: path={path!r}, which points "
            "outside it. Refusing to read it."
        )
    root = os.path.realpath(directory)
    resolved = os.path.realpath(os.path.join(root, path))
    if os.path.commonpath([root, resolved]) != root:
        raise ValueError(
            f"{manifest_path}: expected shard paths relative to the dataset "
            f"folder and inside it. Received: path={path!r}, which resolves "
            f"to {resolved}, outside {root}. Refusing to read it."
        )
    return resolved


def _require(condition, manifest_path, expected, received):
    if not condition:
        raise ValueError(
            f"{manifest_path}: expected {expected}. Received: {received}"
        )


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def read_manifest(directory):
    """Reads and validates `manifest.json` of a dataset folder.

    Checks the schema version, the type of every field, that per-shard lists
    agree with each other and with the totals, that video ids are unique,
    and that every shard path stays inside the folder. Shard files
    themselves are not opened.

    Args:
        directory: str. The dataset folder.

    Returns:
        The manifest as a dict, with every shard's `path` as written (use
        `resolve_shard_path` to locate the file).

    Raises:
        FileNotFoundError: if the folder has no `manifest.json`.
        ValueError: if the manifest is not valid JSON, has an unsupported
            `schema_version`, misses or mistypes a field, or lists a path
            outside the folder. The message names the manifest file.
    """
    manifest_path = os.path.join(directory, MANIFEST_FILENAME)
    if not os.path.isfile(manifest_path):
        raise FileNotFoundError(
            f"Expected a dataset folder with a {MANIFEST_FILENAME}; "
            f"received {directory!r}, which has none. Write the dataset with "
            "vidattn.data.ShardWriter first."
        )
    try:
        with open(manifest_path, encoding="utf-8") as f:
            manifest = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(
            f"{manifest_path}: expected a JSON object; could not parse it "
            f"({error})."
        ) from error
    _require(
        isinstance(manifest, dict),
        manifest_path,
        "a JSON object",
        type(manifest).__name__,
    )
    version = manifest.get("schema_version")
    if version not in SUPPORTED_SCHEMA_VERSIONS:
        raise ValueError(
            f"{manifest_path}: expected schema_version in "
            f"{list(SUPPORTED_SCHEMA_VERSIONS)}; received "
            f"schema_version={version!r}, which this vidattn cannot read. "
            "Upgrade vidattn if the data is newer."
        )
    for field in MANIFEST_FIELDS:
        if field.location == "manifest" and field.name not in manifest:
            raise ValueError(
                f"{manifest_path}: expected the field `{field.name}`; it is "
                "missing."
            )
    for name in ("split", "backbone", "layer"):
        _require(
            isinstance(manifest[name], str) and manifest[name],
            manifest_path,
            f"`{name}` to be a non-empty string",
            repr(manifest[name]),
        )
    for name in ("grid_size", "channels"):
        _require(
            _is_int(manifest[name]) and manifest[name] >= 1,
            manifest_path,
            f"`{name}` to be a positive integer",
            repr(manifest[name]),
        )
    _require(
        manifest["dtype"] in STORAGE_DTYPES,
        manifest_path,
        f"`dtype` in {STORAGE_DTYPES}",
        repr(manifest["dtype"]),
    )
    size = manifest["input_size"]
    _require(
        isinstance(size, list)
        and len(size) == 2
        and all(_is_int(s) and s >= 1 for s in size),
        manifest_path,
        "`input_size` to be [height, width] in pixels",
        repr(size),
    )
    fps = manifest["stored_fps"]
    _require(
        fps is None
        or (
            isinstance(fps, (int, float))
            and not isinstance(fps, bool)
            and math.isfinite(fps)
            and fps > 0
        ),
        manifest_path,
        "`stored_fps` to be a positive number or null",
        repr(fps),
    )
    names = manifest["class_names"]
    _require(
        isinstance(names, list) and all(isinstance(n, str) for n in names),
        manifest_path,
        "`class_names` to be a list of strings",
        repr(names),
    )
    for name in ("multi_label", "finalized"):
        _require(
            isinstance(manifest[name], bool),
            manifest_path,
            f"`{name}` to be true or false",
            repr(manifest[name]),
        )
    shards = manifest["shards"]
    _require(
        isinstance(shards, list),
        manifest_path,
        "`shards` to be a list",
        repr(type(shards).__name__),
    )
    seen = {}
    totals = {"num_videos": 0, "num_frames": 0, "num_captions": 0}
    for i, shard in enumerate(shards):
        where = f"shards[{i}]"
        _require(
            isinstance(shard, dict),
            manifest_path,
            f"{where} to be an object",
            repr(shard),
        )
        for field in MANIFEST_FIELDS:
            if (
                field.location == "manifest.shards[]"
                and field.name not in shard
            ):
                raise ValueError(
                    f"{manifest_path}: expected the field `{field.name}` in "
                    f"{where}; it is missing."
                )
        resolve_shard_path(directory, shard["path"], manifest_path)
        count = shard["num_records"]
        _require(
            _is_int(count) and count >= 1,
            manifest_path,
            f"{where}.num_records to be a positive integer",
            repr(count),
        )
        _require(
            _is_int(shard["num_bytes"]) and shard["num_bytes"] > 0,
            manifest_path,
            f"{where}.num_bytes to be a positive integer",
            repr(shard["num_bytes"]),
        )
        _require(
            isinstance(shard["sha256"], str)
            and _SHA256_PATTERN.match(shard["sha256"]),
            manifest_path,
            f"{where}.sha256 to be 64 lowercase hex digits",
            repr(shard["sha256"]),
        )
        for name in ("video_ids", "num_frames", "num_captions"):
            values = shard[name]
            _require(
                isinstance(values, list) and len(values) == count,
                manifest_path,
                f"{where}.{name} to list {count} values (num_records)",
                f"{len(values) if isinstance(values, list) else values!r}",
            )
        for video_id in shard["video_ids"]:
            _require(
                isinstance(video_id, str) and video_id,
                manifest_path,
                f"non-empty string video ids in {where}.video_ids",
                repr(video_id),
            )
            if video_id in seen:
                raise ValueError(
                    f"{manifest_path}: expected unique video ids. Received: "
                    f"{video_id!r} in both {shards[seen[video_id]]['path']} "
                    f"and {shard['path']}."
                )
            seen[video_id] = i
        _require(
            all(_is_int(n) and n >= 1 for n in shard["num_frames"]),
            manifest_path,
            f"{where}.num_frames to hold positive integers",
            repr(shard["num_frames"]),
        )
        _require(
            all(_is_int(n) and n >= 0 for n in shard["num_captions"]),
            manifest_path,
            f"{where}.num_captions to hold integers >= 0",
            repr(shard["num_captions"]),
        )
        totals["num_videos"] += count
        totals["num_frames"] += sum(shard["num_frames"])
        totals["num_captions"] += sum(shard["num_captions"])
    for name, total in totals.items():
        _require(
            manifest[name] == total,
            manifest_path,
            f"`{name}` to equal the sum over its shards ({total})",
            repr(manifest[name]),
        )
    return manifest


def schema_markdown():
    """Returns the Markdown tables of the record and manifest fields.

    `tfrecords/README.md` contains this text verbatim (a test checks it);
    regenerate it with `python -m vidattn.data.schema`.

    Returns:
        A str: two Markdown tables, records then manifest.
    """

    def table(fields, first_column):
        lines = [
            f"| {first_column} | field | dtype | shape | meaning |",
            "| --- | --- | --- | --- | --- |",
        ]
        for field in fields:
            lines.append(
                f"| {field.location} | `{field.name}` | {field.dtype} | "
                f"{field.shape} | {field.description} |"
            )
        return "\n".join(lines)

    return (
        f"### Record fields (schema_version {SCHEMA_VERSION})\n\n"
        + table(RECORD_FIELDS, "part")
        + f"\n\n### `{MANIFEST_FILENAME}` fields\n\n"
        + table(MANIFEST_FIELDS, "where")
        + "\n"
    )


if __name__ == "__main__":
    print(schema_markdown(), end="")
