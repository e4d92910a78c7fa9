"""Import features in the layout of the thesis's released Theano code.

The released action-recognition code (`util/data_handler.py` of
kracwarlock/action-recognition-visual-attention) reads, per split:

- `<split>_features.h5`: dataset `features` of shape
  `(total_frames, 7 * 7 * 1024)`, float32, all videos' frames one after the
  other;
- `<split>_framenum.txt`: the frame count of each video, one per line;
- `<split>_labels.txt`: one class index per line, or for multi-label
  datasets (Hollywood2) one comma-separated multi-hot vector per line
  (`0,0,1,0,...`);
- `<split>_filename.txt`: each video's file name, one per line (optional
  here).

Its frames were sampled at 30 fps (it computes `skip = 30 / fps`).
"""

import os

import h5py
import numpy as np

from vidattn.data.shard_writer import ShardWriter

_AXES = "CHW"


def _read_lines(path, what):
    if path is None or not os.path.isfile(path):
        raise FileNotFoundError(
            f"Expected the {what} file {path!r}; it does not exist."
        )
    with open(path, encoding="utf-8") as f:
        lines = [line.strip() for line in f]
    while lines and not lines[-1]:
        lines.pop()
    for number, line in enumerate(lines, start=1):
        if not line:
            raise ValueError(
                f"{path}, line {number}: expected one {what} entry per line. "
                "Received an empty line."
            )
    return lines


def _read_frame_counts(path):
    counts = []
    for number, line in enumerate(_read_lines(path, "frame count"), start=1):
        try:
            count = int(line)
        except ValueError:
            count = 0
        if count < 1:
            raise ValueError(
                f"{path}, line {number}: expected a positive integer frame "
                f"count. Received: {line!r}"
            )
        counts.append(count)
    return counts


def _read_labels(path, num_classes, multi_label):
    labels = []
    for number, line in enumerate(_read_lines(path, "label"), start=1):
        where = f"{path}, line {number}"
        if multi_label:
            fields = line.replace(",", " ").split()
            if len(fields) != num_classes or any(
                f not in ("0", "1") for f in fields
            ):
                raise ValueError(
                    f"{where}: expected a multi-hot vector of {num_classes} "
                    f"comma-separated 0/1 values. Received: {line!r}"
                )
            labels.append([i for i, f in enumerate(fields) if f == "1"])
        else:
            try:
                label = int(line)
            except ValueError:
                raise ValueError(
                    f"{where}: expected one integer class index. "
                    f"Received: {line!r}"
                ) from None
            if not 0 <= label < num_classes:
                raise ValueError(
                    f"{where}: expected a class index in [0, {num_classes})."
                    f" Received: {label}"
                )
            labels.append(label)
    return labels


def row_to_cube(rows, row_layout, grid_size, channels):
    """Reshapes flattened feature rows into channels-last cubes.

    Args:
        rows: array of shape `(frames, grid_size * grid_size * channels)`.
        row_layout: str. A permutation of `"CHW"` naming the axes of the
            flattened array from the slowest-varying to the fastest-varying
            (C: channel, H: row of the map, W: column of the map). See
            `import_hdf5_features`.
        grid_size: int. K.
        channels: int. D.

    Returns:
        An array of shape `(frames, K, K, D)`: `[t, h, w, c]`.
    """
    sizes = {"C": channels, "H": grid_size, "W": grid_size}
    cubes = rows.reshape((rows.shape[0],) + tuple(sizes[a] for a in row_layout))
    order = [0] + [1 + row_layout.index(axis) for axis in "HWC"]
    return cubes.transpose(order)


def import_hdf5_features(
    features_path,
    frame_counts_path,
    labels_path,
    output_dir,
    *,
    class_names,
    multi_label=False,
    video_ids_path=None,
    dataset="/features",
    row_layout="CHW",
    grid_size=7,
    channels=1024,
    backbone="googlenet",
    layer="inception_5b/output",
    input_size=(224, 224),
    stored_fps=30.0,
    split="train",
    dtype="float16",
    max_videos_per_shard=None,
    max_shard_bytes=256 * 2**20,
):
    """Imports an HDF5 feature file of the released Theano code as shards.

    The rows are streamed with `tfio.IODataset.from_hdf5`, one video at a
    time, into a `vidattn.data.ShardWriter` (so memory holds one video, and
    an interrupted import resumes: videos already in `output_dir` are
    skipped). Every file is checked before anything is written.

    Row layout. Each row holds one frame's `K * K * D` values. `row_layout`
    names the axes of the array that was flattened, from the slowest- to the
    fastest-varying index. The default, `"CHW"`, puts value `(h, w, c)` at
    position `c * K * K + h * K + w`: the 49 values of channel 0 come first,
    row by row. It is what MATLAB writes for a `W × H × C` array (Caffe's
    MATLAB blob order, column-major), what NumPy's C order writes for a
    `(C, H, W) = (1024, 7, 7)` array, and what the released code assumes: it
    reads a row as `reshape(49, 1024, order='F')` (location fastest,
    channel slowest) and draws the 49 attention weights as
    `alpha.reshape(7, 7)` (row-major, location = `h * 7 + w`). Other
    layouts: `"HWC"` for a channels-last array flattened in C order
    (NumPy/TensorFlow `(7, 7, 1024)`), `"WHC"` for a `(1024, 7, 7)` array
    flattened in Fortran order (channel fastest), `"CWH"` when each map was
    stored transposed (MATLAB `H × W × C`, column-major).

    Args:
        features_path: str. The HDF5 file.
        frame_counts_path: str. Text file: one frame count per video.
        labels_path: str or None. Text file: one label per video (an index,
            or a comma-separated multi-hot vector when `multi_label`). None
            for unlabelled data, with empty `class_names`.
        output_dir: str. Dataset folder to write (or resume).
        class_names: sequence of str. Name of each class.
        multi_label: bool. Whether labels are multi-hot vectors. Defaults to
            `False`.
        video_ids_path: str or None. Text file: one video id (e.g. file
            name) per video. Defaults to `None`: ids `video_00000`, ...
        dataset: str. HDF5 dataset holding the rows. Defaults to
            `"/features"`.
        row_layout: str. Axis order of a row, slowest first (see above).
            Defaults to `"CHW"`.
        grid_size: int. K. Defaults to `7`.
        channels: int. D. Defaults to `1024`.
        backbone: str. Defaults to `"googlenet"`.
        layer: str. Defaults to `"inception_5b/output"`.
        input_size: tuple of 2 ints. Defaults to `(224, 224)`.
        stored_fps: float. Frame rate of the rows. Defaults to `30.0`.
        split: str. Defaults to `"train"`.
        dtype: str. Storage dtype. Defaults to `"float16"`.
        max_videos_per_shard: int or None. Defaults to `None`.
        max_shard_bytes: int. Defaults to 256 MiB.

    Returns:
        A dict: `"written"` (videos written now), `"skipped"` (videos found
        already written), `"num_videos"` (videos in the folder).

    Raises:
        FileNotFoundError: if an input file is missing.
        ValueError: if the HDF5 file or dataset is missing or malformed, the
            row width is not `K * K * D`, the frame counts do not sum to the
            number of rows, the files list different numbers of videos, a
            line is malformed, or `row_layout` is not a permutation of
            `"CHW"`. Messages name the file (and line).

    Example:

    ```python
    vidattn.data.import_hdf5_features(
        "ucf11/train_features.h5", "ucf11/train_framenum.txt",
        "ucf11/train_labels.txt", "/data/ucf11/train",
        class_names=UCF11_CLASSES,
        video_ids_path="ucf11/train_filename.txt")
    ```
    """
    if not isinstance(row_layout, str) or sorted(row_layout) != sorted(_AXES):
        raise ValueError(
            "Expected `row_layout` to be a permutation of 'CHW' (axes from "
            f"slowest- to fastest-varying). Received: row_layout={row_layout!r}"
        )
    class_names = list(class_names)
    if not os.path.isfile(features_path):
        raise FileNotFoundError(
            f"Expected the HDF5 features file {features_path!r}; it does not "
            "exist."
        )
    # Checked with h5py first: tensorflow-io crashes the process on a file
    # that is not HDF5 and misreports a missing dataset.
    if not h5py.is_hdf5(features_path):
        raise ValueError(
            f"{features_path}: expected an HDF5 file. Received a file that is "
            "not HDF5."
        )
    with h5py.File(features_path, "r") as f:
        if dataset not in f or not isinstance(f[dataset], h5py.Dataset):
            raise ValueError(
                f"{features_path}: expected an HDF5 dataset {dataset!r}. "
                f"Received a file holding {sorted(f.keys())}."
            )
        shape, h5_dtype = f[dataset].shape, f[dataset].dtype
    width = grid_size * grid_size * channels
    if len(shape) != 2 or shape[1] != width or h5_dtype.kind != "f":
        raise ValueError(
            f"{features_path}:{dataset}: expected floating-point rows of shape "
            f"(total_frames, {grid_size}*{grid_size}*{channels} = {width}). "
            f"Received: shape {shape}, dtype {h5_dtype}"
        )
    counts = _read_frame_counts(frame_counts_path)
    if sum(counts) != shape[0]:
        raise ValueError(
            f"Expected the frame counts in {frame_counts_path} to sum to the "
            f"{shape[0]} rows of {features_path}:{dataset}. Received: "
            f"{len(counts)} videos with {sum(counts)} frames in all."
        )
    if labels_path is None:
        if class_names:
            raise ValueError(
                "Expected `labels_path` for a labelled dataset (class_names "
                f"has {len(class_names)} classes). Received: labels_path=None"
            )
        labels = [None] * len(counts)
    else:
        if not class_names:
            raise ValueError(
                "Expected `class_names` to name the classes of "
                f"{labels_path}. Received: class_names=[]"
            )
        labels = _read_labels(labels_path, len(class_names), multi_label)
        if len(labels) != len(counts):
            raise ValueError(
                f"Expected one label per video: {len(counts)} lines in "
                f"{labels_path}, as in {frame_counts_path}. Received: "
                f"{len(labels)} lines."
            )
    if video_ids_path is None:
        video_ids = [f"video_{i:05d}" for i in range(len(counts))]
    else:
        video_ids = _read_lines(video_ids_path, "video id")
        if len(video_ids) != len(counts):
            raise ValueError(
                f"Expected one video id per video: {len(counts)} lines in "
                f"{video_ids_path}, as in {frame_counts_path}. Received: "
                f"{len(video_ids)} lines."
            )
        if len(set(video_ids)) != len(video_ids):
            duplicate = next(v for v in video_ids if video_ids.count(v) > 1)
            raise ValueError(
                f"{video_ids_path}: expected unique video ids. Received "
                f"{duplicate!r} more than once."
            )

    # Imported here: tensorflow-io is slow to import and only this needs it.
    import tensorflow_io as tfio

    written = skipped = 0
    rows = iter(tfio.IODataset.from_hdf5(features_path, dataset=dataset))
    with ShardWriter(
        output_dir,
        backbone=backbone,
        layer=layer,
        input_size=input_size,
        grid_size=grid_size,
        channels=channels,
        dtype=dtype,
        class_names=class_names,
        multi_label=multi_label,
        split=split,
        stored_fps=stored_fps,
        max_videos_per_shard=max_videos_per_shard,
        max_shard_bytes=max_shard_bytes,
    ) as writer:
        for video_id, count, label in zip(video_ids, counts, labels):
            if writer.has(video_id):
                for _ in range(count):
                    next(rows)
                skipped += 1
                continue
            block = np.empty((count, width), dtype=h5_dtype)
            for t in range(count):
                block[t] = next(rows).numpy()
            writer.write(
                video_id,
                row_to_cube(block, row_layout, grid_size, channels),
                labels=label,
                sampling=f"fps={stored_fps:g}",
            )
            written += 1
        num_videos = writer.num_videos
    return {"written": written, "skipped": skipped, "num_videos": num_videos}
