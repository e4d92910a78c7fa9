"""Validation of one video's fields before it becomes a record.

`vidattn.data.records.encode_video` runs these checks on what a writer
gives it, and `decode_video` runs the ones a stored record can fail; each
error names the video, what was expected and what was received.
"""

import math

import numpy as np

from vidattn.data.schema import STORAGE_DTYPES
from vidattn.utils.arguments import check_one_of

NON_FINITE_REMEDY = (
    "A record written by vidattn cannot hold them (ShardWriter refuses "
    "them): the record was written by other code, or its features were "
    "damaged before its checksum was taken. Rewrite this video."
)


def check_storage_dtype(dtype):
    """The little-endian NumPy dtype of a storage dtype name."""
    check_one_of("dtype", dtype, STORAGE_DTYPES)
    return np.dtype(dtype).newbyteorder("<")


def check_name(value, name, video_id):
    """Refuses an empty or non-string name field of a video."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(
            f"Video {video_id!r}: expected `{name}` to be a non-empty "
            f"string. Received: {name}={value!r}"
        )


def check_fps(value, name, video_id):
    """A frame rate as a positive finite float, or a clear error."""
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


def check_padding_frames(video_id, padding_frames, num_frames):
    """Validates a record's count of trailing black padding frames.

    Args:
        video_id: str. Named in error messages.
        padding_frames: int. Black frames at the end of the stored frames.
        num_frames: int. Stored frames, padding included.

    Returns:
        `padding_frames` as an int.

    Raises:
        ValueError: unless `padding_frames` is an int in
            `[0, num_frames)`: a video of padding alone holds nothing to
            describe.
    """
    if (
        isinstance(padding_frames, bool)
        or not isinstance(padding_frames, (int, np.integer))
        or not 0 <= padding_frames < num_frames
    ):
        raise ValueError(
            f"Video {video_id!r}: expected `padding_frames` to be an integer "
            f"in [0, {num_frames}), fewer than its {num_frames} stored frames "
            "(at least one real frame). Received: "
            f"padding_frames={padding_frames!r}. Count only the black "
            "frames at the end; a video without a real frame cannot be "
            "stored."
        )
    return int(padding_frames)


def non_finite_values(features):
    """Describes the NaN and infinite values of a `(frames, K, K, D)` array.

    Returns:
        None when every value is finite; else "expected finite feature
        values. Received: <value> at frame f, location (i, j), channel c
        (<n> non-finite values in all)".
    """
    finite = np.isfinite(features)
    if finite.all():
        return None
    bad = np.argwhere(~finite)[0]
    return (
        f"expected finite feature values. Received: {features[tuple(bad)]} "
        f"at frame {bad[0]}, location ({bad[1]}, {bad[2]}), channel "
        f"{bad[3]} ({int((~finite).sum())} non-finite values in all)"
    )


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
    storage = check_storage_dtype(dtype)
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
    non_finite = non_finite_values(features)
    if non_finite:
        raise ValueError(f"Video {video_id!r}: {non_finite}.")
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
