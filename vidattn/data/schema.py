"""The on-disk format of per-video feature sequences: TFRecords and manifest.

This module is the single source of truth for the format: the fields of a
record and of `manifest.json`, their constants, and the Markdown tables of
`tfrecords/README.md`. Each video is one `tf.train.SequenceExample`:

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

Where the format is used:

- `vidattn.data.records`: encodes, decodes and parses one record, checking
  it against `RECORD_FIELDS`;
- `vidattn.data.manifest.Manifest`: reads, checks, verifies and writes the
  `manifest.json` of a dataset folder, whose fields are `MANIFEST_FIELDS`.

`tfrecords/README.md` documents both tables; `schema_markdown()` generates
them (`python -m vidattn.data.schema` prints them), and a test keeps the
README identical to it.
"""

import dataclasses
import re

SCHEMA_VERSION = 1
"""Version written by this code, in every record and in `manifest.json`."""

SUPPORTED_SCHEMA_VERSIONS = (1,)
"""Versions this code can read. A reader refuses any other."""

STORAGE_DTYPES = ("float16", "float32")
"""Storage dtypes of feature values. Values are little-endian."""

MANIFEST_FILENAME = "manifest.json"
"""The file, in a dataset folder, that lists the folder's shards."""

SHARD_SUFFIX = ".tfrecord"
"""The extension of every shard file."""


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
        "partial",
        "context",
        "int64",
        "()",
        "1 if the source video decoded only in part (a truncated or damaged "
        "file, kept on request: `vidattn extract --allow_partial`), so that "
        "the features cover only its start; else 0. Optional: a record "
        "without it (written before it existed) reads as 0. Adding it kept "
        "schema_version 1, since readers ignore context keys they do not "
        "know.",
    ),
    FieldSpec(
        "padding_frames",
        "context",
        "int64",
        "()",
        "P, the number of black frames at the end of the stored frames that "
        "stand in for frames the source lacks (`even:<N>/<M>` sampling of a "
        "video shorter than M frames), in [0, num_frames): the last P "
        "entries of `features` are padding, which readers mask "
        "(`frame_mask` False). Optional: a record without it reads as 0. "
        "Added, as `partial` was, within schema_version 1.",
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
