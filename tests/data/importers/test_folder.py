"""Tests for vidattn.data.importers.load_folder on a user's own folders."""

import collections

import pytest

from tests.fixtures.dataset_trees import touch_video
from tests.fixtures.dataset_trees import write_lines
from vidattn.data.importers import DatasetIndex
from vidattn.data.importers import load_folder

EXTENSIONS = ("mp4", "avi", "MKV", "mov", "webm")


def build_classes(
    root, classes=("cooking", "dancing", "running"), per_class=10
):
    """Writes `root/<class>/<class>_<k>.<ext>` with mixed extensions."""
    for class_name in classes:
        for k in range(per_class):
            touch_video(
                root / class_name / f"{class_name}_{k}.{EXTENSIONS[k % 5]}"
            )
        # Not videos: ignored.
        write_lines(root / class_name / "notes.txt", ["hello"])
        touch_video(root / class_name / ".hidden.mp4")
    return root


def _splits(index):
    return {e.video_id: e.split for e in index}


def test_random_split_is_stratified(tmp_path):
    index = load_folder(build_classes(tmp_path / "mine"))
    assert index.name == "mine" and not index.multi_label
    assert index.class_names == ("cooking", "dancing", "running")
    assert len(index) == 30
    per_class = collections.Counter((e.labels[0], e.split) for e in index)
    for label in range(3):
        assert (
            per_class[label, "train"],
            per_class[label, "validation"],
            per_class[label, "test"],
        ) == (8, 1, 1)
    entry = index["dancing/dancing_2"]
    assert entry.labels == (1,)
    assert entry.path == str(tmp_path / "mine" / "dancing" / "dancing_2.MKV")


def test_random_split_depends_on_seed_only(tmp_path):
    build_classes(tmp_path, per_class=20)
    first = _splits(load_folder(tmp_path, seed=3))
    assert _splits(load_folder(tmp_path, seed=3)) == first
    assert _splits(load_folder(tmp_path, seed=4)) != first
    # Another class leaves the other classes' splits as they were.
    build_classes(tmp_path, classes=("archery",), per_class=20)
    again = _splits(load_folder(tmp_path, seed=3))
    assert {
        k: v for k, v in again.items() if not k.startswith("archery")
    } == first


def test_fractions_and_small_classes(tmp_path):
    build_classes(tmp_path, classes=("big",), per_class=7)
    build_classes(tmp_path, classes=("tiny",), per_class=1)
    index = load_folder(
        tmp_path,
        fractions=(0.5, 0.0, 0.5),
        extensions=[".MP4", "avi", "mkv", "mov", "webm"],
    )
    counts = collections.Counter(
        (e.video_id.split("/")[0], e.split) for e in index
    )
    # 3.5 and 3.5: the tie goes to train.
    assert counts["big", "train"] == 4 and counts["big", "test"] == 3
    # A class of one video keeps it for training.
    assert counts["tiny", "train"] == 1


def test_split_folders(tmp_path):
    build_classes(tmp_path / "train", per_class=3)
    build_classes(tmp_path / "val", classes=("cooking",), per_class=2)
    build_classes(
        tmp_path / "test", classes=("dancing", "running"), per_class=1
    )
    index = load_folder(tmp_path, name="mine")
    assert index.class_names == ("cooking", "dancing", "running")
    assert index.split_sizes() == {"train": 9, "validation": 2, "test": 2}
    assert index["val/cooking/cooking_1"].split == "validation"
    assert index["test/running/running_0"].labels == (2,)
    assert index["train/cooking/cooking_0"].path == str(
        tmp_path / "train" / "cooking" / "cooking_0.mp4"
    )


def test_split_folders_without_train(tmp_path):
    build_classes(tmp_path / "test", classes=("b", "a"), per_class=1)
    index = load_folder(tmp_path)
    assert index.class_names == ("a", "b")
    assert index.split_sizes()["test"] == 2


def test_json_round_trip(tmp_path):
    index = load_folder(build_classes(tmp_path / "mine", per_class=4))
    path = index.to_json(tmp_path / "mine.json")
    assert DatasetIndex.from_json(path) == index


def test_missing_root(tmp_path):
    with pytest.raises(
        FileNotFoundError, match="video dataset folder .*does not exist"
    ):
        load_folder(tmp_path / "absent")


def test_root_without_class_folders(tmp_path):
    with pytest.raises(
        ValueError,
        match="expected one folder of videos per class.*Received no folder",
    ):
        load_folder(tmp_path)


def test_videos_outside_class_folders(tmp_path):
    build_classes(tmp_path, per_class=1)
    touch_video(tmp_path / "stray.mp4")
    with pytest.raises(
        ValueError, match=r"expected videos inside class folders.*'?stray.mp4"
    ):
        load_folder(tmp_path)


def test_empty_class_folder(tmp_path):
    build_classes(tmp_path, per_class=1)
    (tmp_path / "swimming").mkdir()
    with pytest.raises(
        ValueError,
        match=(
            "swimming: expected videos of the class 'swimming'.*empty class"
            " folder"
        ),
    ):
        load_folder(tmp_path)


def test_split_folders_mixed_with_class_folders(tmp_path):
    build_classes(tmp_path / "train", per_class=1)
    build_classes(tmp_path, classes=("extra",), per_class=1)
    with pytest.raises(
        ValueError,
        match="Received both: split folders train and the folders extra",
    ):
        load_folder(tmp_path)


def test_val_and_validation_folders(tmp_path):
    build_classes(tmp_path / "val", per_class=1)
    build_classes(tmp_path / "validation", per_class=1)
    with pytest.raises(
        ValueError,
        match="one validation folder. Received both 'val' and 'validation'",
    ):
        load_folder(tmp_path)


def test_fractions_with_split_folders(tmp_path):
    build_classes(tmp_path / "train", per_class=1)
    with pytest.raises(ValueError, match="expected no `fractions`"):
        load_folder(tmp_path, fractions=(0.8, 0.1, 0.1))


def test_unknown_class_in_a_split_folder(tmp_path):
    build_classes(
        tmp_path / "train", classes=("cooking", "dancing"), per_class=1
    )
    build_classes(tmp_path / "test", classes=("cooking", "skiing"), per_class=1)
    with pytest.raises(
        ValueError,
        match=(
            r"test: expected the classes of .*train \(cooking,"
            r" dancing\).*unknown class 'skiing'"
        ),
    ):
        load_folder(tmp_path)


def test_empty_split_folder(tmp_path):
    build_classes(tmp_path / "train", per_class=1)
    (tmp_path / "test").mkdir()
    with pytest.raises(
        ValueError, match="test: expected one folder of videos per class"
    ):
        load_folder(tmp_path)


def test_same_video_in_two_containers(tmp_path):
    build_classes(tmp_path, per_class=1)
    touch_video(tmp_path / "cooking" / "cooking_0.avi")
    with pytest.raises(
        ValueError, match="unique video ids.*'cooking/cooking_0' twice"
    ) as info:
        load_folder(tmp_path)
    assert "cooking_0.avi" in str(info.value) and "cooking_0.mp4" in str(
        info.value
    )


BAD_FRACTIONS = r"`fractions` \(`--split_fractions`\) to be three non-negative"


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (
            dict(fractions=(0.8, 0.2)),
            BAD_FRACTIONS,
        ),
        (
            dict(fractions=(0.8, 0.3, 0.1)),
            BAD_FRACTIONS,
        ),
        (
            dict(fractions=(1.2, -0.1, -0.1)),
            BAD_FRACTIONS,
        ),
        (dict(fractions="0.8"), BAD_FRACTIONS),
        (dict(seed=1.5), "`seed` to be an int"),
        (dict(seed=None), "`seed` to be an int"),
        (dict(extensions=[""]), "`extensions` to be a non-empty sequence"),
    ],
)
def test_rejects_bad_arguments(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        load_folder(build_classes(tmp_path, per_class=1), **kwargs)
