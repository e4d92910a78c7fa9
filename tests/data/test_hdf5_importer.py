import os

import h5py
import numpy as np
import pytest

from vidattn.data import FeatureDataset
from vidattn.data import import_hdf5_features
from vidattn.data.hdf5_importer import row_to_cube

CLASSES = ["basketball", "biking", "diving"]
COUNTS = [4, 1, 6, 3]


def _cubes(counts, k, d, seed=0):
    """One channels-last (frames, K, K, D) cube per video."""
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(n, k, k, d)).astype("float32") for n in counts]


def _flatten(cubes, layout):
    """Flattens (frames, H, W, C) cubes the way a writer of `layout` would."""
    axes = {"H": 1, "W": 2, "C": 3}
    rows = [
        cube.transpose([0] + [axes[a] for a in layout]).reshape(len(cube), -1)
        for cube in cubes
    ]
    return np.concatenate(rows)


def _write_inputs(tmp_path, rows, counts, labels, ids=None, dataset="features"):
    features = tmp_path / "train_features.h5"
    with h5py.File(features, "w") as f:
        f.create_dataset(dataset, data=rows, maxshape=(None, None))
    (tmp_path / "train_framenum.txt").write_text(
        "".join(f"{n}\n" for n in counts)
    )
    (tmp_path / "train_labels.txt").write_text(
        "".join(f"{label}\n" for label in labels)
    )
    if ids is not None:
        (tmp_path / "train_filename.txt").write_text(
            "".join(f"{i}\n" for i in ids)
        )
    return (
        str(features),
        str(tmp_path / "train_framenum.txt"),
        str(tmp_path / "train_labels.txt"),
    )


def _import(paths, output, **kwargs):
    settings = dict(class_names=CLASSES, grid_size=3, channels=4)
    settings.update(kwargs)
    return import_hdf5_features(*paths, str(output), **settings)


def _read(output):
    return {
        video["video_id"]: video
        for video in FeatureDataset(str(output)).videos()
    }


def test_default_layout_is_the_released_codes():
    """Row layout "CHW" is what the released Theano loader reads."""
    cube = np.arange(7 * 7 * 1024, dtype="float32").reshape(1, 7, 7, 1024)
    rows = _flatten([cube], "CHW")
    # util/data_handler.py: x.reshape([..., 49, 1024], order='F'), and the
    # notebook draws alpha.reshape(7, 7): location = h * 7 + w.
    released = rows[0].reshape(49, 1024, order="F")
    np.testing.assert_array_equal(released, cube[0].reshape(49, 1024))
    np.testing.assert_array_equal(row_to_cube(rows, "CHW", 7, 1024), cube)
    # A (1024, 7, 7) array in C order is the same row.
    np.testing.assert_array_equal(rows[0], cube[0].transpose(2, 0, 1).ravel())
    # A (1024, 7, 7) array in Fortran order is "WHC".
    fortran = cube[0].transpose(2, 0, 1).ravel(order="F")
    np.testing.assert_array_equal(
        row_to_cube(fortran[None], "WHC", 7, 1024), cube
    )


@pytest.mark.parametrize("layout", ["CHW", "HWC", "WHC", "CWH"])
def test_import_round_trip(tmp_path, layout):
    cubes = _cubes(COUNTS, 3, 4)
    ids = ["biking/a.avi", "diving/b.avi", "biking/c.avi", "basketball/d.avi"]
    paths = _write_inputs(
        tmp_path, _flatten(cubes, layout), COUNTS, [1, 2, 1, 0], ids
    )
    output = tmp_path / "out"
    summary = _import(
        paths,
        output,
        row_layout=layout,
        video_ids_path=str(tmp_path / "train_filename.txt"),
        max_videos_per_shard=3,
    )
    assert summary == {"written": 4, "skipped": 0, "num_videos": 4}
    videos = _read(output)
    assert list(videos) == ids
    for cube, label, video_id in zip(cubes, [1, 2, 1, 0], ids):
        video = videos[video_id]
        np.testing.assert_array_equal(video["features"], cube.astype("float16"))
        assert video["labels"].tolist() == [label]
        assert video["stored_fps"] == 30.0 and video["sampling"] == "fps=30"
        assert video["backbone"] == "googlenet"
    data = FeatureDataset(str(output))
    assert data.class_names == tuple(CLASSES)
    assert data.stored_fps == 30.0 and data.input_size == (224, 224)


def test_real_size_rows_and_multi_label(tmp_path):
    counts = [2, 3]
    cubes = _cubes(counts, 7, 1024)
    labels = ["0,1,0,0,0,0,0,1,0,0,0,0", "0,0,0,0,0,0,0,0,0,0,0,1"]
    paths = _write_inputs(tmp_path, _flatten(cubes, "CHW"), counts, labels)
    classes = [f"class_{i}" for i in range(12)]
    _import(
        paths,
        tmp_path / "out",
        class_names=classes,
        multi_label=True,
        grid_size=7,
        channels=1024,
        dtype="float32",
    )
    videos = _read(tmp_path / "out")
    assert list(videos) == ["video_00000", "video_00001"]
    np.testing.assert_array_equal(videos["video_00001"]["features"], cubes[1])
    assert videos["video_00000"]["labels"].tolist() == [1, 7]
    assert videos["video_00001"]["labels"].tolist() == [11]


def test_interrupted_import_resumes_without_duplicates(tmp_path):
    cubes = _cubes(COUNTS, 3, 4)
    paths = _write_inputs(
        tmp_path, _flatten(cubes, "CHW"), COUNTS, [0, 1, 2, 0]
    )
    output = tmp_path / "out"
    # A first run that stored only the first two videos.
    first = tmp_path / "first"
    first.mkdir()
    short = _write_inputs(first, _flatten(cubes[:2], "CHW"), COUNTS[:2], [0, 1])
    _import(short, output, max_videos_per_shard=1)
    summary = _import(paths, output, max_videos_per_shard=1)
    assert summary == {"written": 2, "skipped": 2, "num_videos": 4}
    videos = _read(output)
    assert sorted(videos) == [f"video_{i:05d}" for i in range(4)]
    np.testing.assert_array_equal(
        videos["video_00003"]["features"], cubes[3].astype("float16")
    )


def test_missing_and_inconsistent_inputs(tmp_path):
    cubes = _cubes(COUNTS, 3, 4)
    paths = _write_inputs(
        tmp_path, _flatten(cubes, "CHW"), COUNTS, [0, 1, 2, 0]
    )
    output = tmp_path / "out"
    features, counts, labels = paths

    with pytest.raises(
        FileNotFoundError, match="label file .*missing_labels.txt"
    ):
        _import(
            (features, counts, str(tmp_path / "missing_labels.txt")), output
        )
    with pytest.raises(FileNotFoundError, match="HDF5 features file"):
        _import((str(tmp_path / "none.h5"), counts, labels), output)

    (tmp_path / "bad_counts.txt").write_text("4\n1\n6\n2\n")
    with pytest.raises(ValueError) as info:
        _import((features, str(tmp_path / "bad_counts.txt"), labels), output)
    assert "sum to the 14 rows" in str(info.value)
    assert "13 frames in all" in str(info.value)
    assert "bad_counts.txt" in str(info.value)

    (tmp_path / "zero.txt").write_text("4\n0\n7\n3\n")
    with pytest.raises(
        ValueError, match=r"zero.txt, line 2: expected a positive"
    ):
        _import((features, str(tmp_path / "zero.txt"), labels), output)

    (tmp_path / "three_labels.txt").write_text("0\n1\n2\n")
    with pytest.raises(ValueError, match="one label per video: 4 lines"):
        _import((features, counts, str(tmp_path / "three_labels.txt")), output)

    (tmp_path / "bad_label.txt").write_text("0\n1\nbiking\n0\n")
    with pytest.raises(
        ValueError, match="bad_label.txt, line 3: expected one integer"
    ):
        _import((features, counts, str(tmp_path / "bad_label.txt")), output)

    (tmp_path / "range.txt").write_text("0\n1\n3\n0\n")
    with pytest.raises(ValueError, match=r"range.txt, line 3: .*\[0, 3\)"):
        _import((features, counts, str(tmp_path / "range.txt")), output)

    with pytest.raises(
        ValueError, match=r"rows of shape \(total_frames, 7\*7\*1024"
    ):
        _import(paths, output, grid_size=7, channels=1024)
    with pytest.raises(ValueError, match="permutation of 'CHW'"):
        _import(paths, output, row_layout="CHWC")
    with pytest.raises(ValueError, match="expected an HDF5 dataset '/frames'"):
        _import(paths, output, dataset="/frames")

    (tmp_path / "not.h5").write_text("not an HDF5 file")
    with pytest.raises(ValueError, match="not.h5: expected an HDF5 file"):
        _import((str(tmp_path / "not.h5"), counts, labels), output)

    # Nothing was written by the refused imports.
    assert not os.path.exists(output)
