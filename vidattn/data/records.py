"""One video as a record: validation, encoding, decoding and parsing.

A record is the `tf.train.SequenceExample` that `vidattn.data.schema`
describes (`RECORD_FIELDS`). `encode_video` validates a video's features,
labels, captions and metadata and serializes it; `decode_video` reads a
record back into NumPy values, eagerly; `parse_video_tensors` parses it with
TensorFlow ops inside a `tf.data` pipeline. Every error names the video (or
the record's source), what was expected and what was received; the checks
of the fields are in `vidattn.data.record_checks`.
"""

import re

import numpy as np
import tensorflow as tf

from vidattn.data.record_checks import NON_FINITE_REMEDY
from vidattn.data.record_checks import check_captions
from vidattn.data.record_checks import check_features
from vidattn.data.record_checks import check_fps
from vidattn.data.record_checks import check_labels
from vidattn.data.record_checks import check_name
from vidattn.data.record_checks import check_padding_frames
from vidattn.data.record_checks import check_storage_dtype
from vidattn.data.record_checks import non_finite_values
from vidattn.data.schema import SCHEMA_VERSION
from vidattn.data.schema import STORAGE_DTYPES
from vidattn.data.schema import SUPPORTED_SCHEMA_VERSIONS

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
# Fields added after schema_version 1 was first written: records without
# them read as the default, so that older data still reads.
_OPTIONAL_CONTEXT = {"partial": (tf.int64, 0), "padding_frames": (tf.int64, 0)}
_LIST_CONTEXT = {"labels": tf.int64, "captions": tf.string}
_FEATURE_LIST = "features"


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
    partial=False,
    padding_frames=0,
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
        partial: bool. Whether the source decoded only in part (a truncated
            or damaged file kept on request) and the features cover only
            its start. Defaults to `False`.
        padding_frames: int. How many of the last frames are black padding
            standing in for frames the source lacks, in `[0, frames)`.
            Defaults to `0`.

    Returns:
        The serialized record, as bytes.

    Raises:
        ValueError: on any invalid argument; the message names the video.

    Example:

    ```python
    features = np.random.rand(8, 7, 7, 1024).astype("float32")
    record = vidattn.data.records.encode_video(
        "v_Biking_g01_c01", features, backbone="googlenet",
        layer="inception_5b", sampling="fps=30", stored_fps=30.0,
        labels=1, num_classes=11)
    video = vidattn.data.records.decode_video(record)
    video["features"].shape  # (8, 7, 7, 1024), float16
    ```
    """
    if not isinstance(video_id, str) or not video_id:
        raise ValueError(
            "Expected `video_id` to be a non-empty string. "
            f"Received: video_id={video_id!r}"
        )
    stored = check_features(video_id, features, dtype)
    check_name(backbone, "backbone", video_id)
    check_name(layer, "layer", video_id)
    check_name(sampling, "sampling", video_id)
    if re.search(r"\s", sampling):
        raise ValueError(
            f"Video {video_id!r}: expected `sampling` without whitespace, "
            f"e.g. 'fps=30' or 'even:26/240'. Received: sampling={sampling!r}"
        )
    stored_fps = check_fps(stored_fps, "stored_fps", video_id)
    source_fps = check_fps(source_fps, "source_fps", video_id)
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
    padding_frames = check_padding_frames(video_id, padding_frames, len(stored))

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
    put_int("partial", [int(bool(partial))])
    put_int("padding_frames", [padding_frames])
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
            unsupported `schema_version`, misses a field, its frames do not
            match its `num_frames`, `grid_size`, `channels` and `dtype`,
            its `padding_frames` is not in `[0, num_frames)`, or a feature
            value is NaN or infinite. The message names `source`
            and the video.
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
    for name, (_, default) in _OPTIONAL_CONTEXT.items():
        values = context[name].int64_list.value if name in context else []
        if len(values) > 1:
            raise ValueError(
                f"{source}: expected at most one value in `{name}`. "
                f"Received: {list(values)}"
            )
        video[name] = int(values[0]) if values else default
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
    try:
        check_padding_frames(
            video["video_id"], video["padding_frames"], len(frames)
        )
    except ValueError as error:
        raise ValueError(f"{source}: {error}") from None
    non_finite = non_finite_values(video["features"])
    if non_finite:
        raise ValueError(f"{source}: {non_finite}. {NON_FINITE_REMEDY}")
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


def parse_caption_tensors(serialized):
    """Parses the video ids and captions of records, and nothing else.

    The feature list is left unparsed, so this reads a dataset's captions
    at the cost of reading its files.

    Args:
        serialized: string tensor of shape `(batch,)`. Serialized records.

    Returns:
        A dict of `"video_id"`, a string tensor `(batch,)`, and
        `"captions"`, a string `tf.RaggedTensor` `(batch, None)`.
    """
    context, _, _ = tf.io.parse_sequence_example(
        serialized,
        context_features={
            "video_id": tf.io.FixedLenFeature([], _SCALAR_CONTEXT["video_id"]),
            "captions": tf.io.VarLenFeature(_LIST_CONTEXT["captions"]),
        },
    )
    return {
        "video_id": context["video_id"],
        "captions": tf.RaggedTensor.from_sparse(context["captions"]),
    }


def parse_video_tensors(
    serialized, *, grid_size, channels, dtype, source="record"
):
    """Parses a serialized video record with TensorFlow ops (for `tf.data`).

    The record must follow a supported schema version, match the given
    geometry and storage dtype (the dataset's manifest), have
    `padding_frames` in `[0, num_frames)`, and hold only finite feature
    values. Every check is an in-graph assertion that fails
    with `tf.errors.InvalidArgumentError` whose message names `source`, the
    video id, what was expected and what was received (for NaN or infinite
    values: how many, and the first one's frame, location and channel).

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
    check_storage_dtype(dtype)
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
            name: tf.io.FixedLenFeature([], kind, default)
            for name, (kind, default) in _OPTIONAL_CONTEXT.items()
        }
    )
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
    video = {
        name: context[name]
        for name in list(_SCALAR_CONTEXT) + list(_OPTIONAL_CONTEXT)
    }
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
            tf.logical_and(
                tf.greater_equal(video["padding_frames"], 0),
                tf.less(video["padding_frames"], num_frames),
            ),
            _join(
                where,
                ": expected padding_frames in [0, num_frames) = [0, ",
                num_frames,
                ") (at least one real frame); received padding_frames=",
                video["padding_frames"],
                ". Rewrite this video.",
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
    features = tf.reshape(features, [-1, grid_size, grid_size, channels])
    finite = tf.math.is_finite(features)
    all_finite = tf.reduce_all(finite)

    def describe_non_finite():
        # Runs only for a record that fails the check.
        bad = tf.logical_not(finite)
        first = tf.where(bad)[0]
        value = tf.cast(tf.gather_nd(features, first), tf.float32)
        return _join(
            where,
            ": expected finite feature values. Received: ",
            tf.strings.as_string(value),
            " at frame ",
            first[0],
            ", location (",
            first[1],
            ", ",
            first[2],
            "), channel ",
            first[3],
            " (",
            tf.reduce_sum(tf.cast(bad, tf.int64)),
            f" non-finite values in all). {NON_FINITE_REMEDY}",
        )

    message = tf.cond(all_finite, lambda: tf.constant(""), describe_non_finite)
    with tf.control_dependencies([tf.debugging.Assert(all_finite, [message])]):
        video["features"] = tf.identity(features)
    return video
