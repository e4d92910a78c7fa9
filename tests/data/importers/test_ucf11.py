"""Tests for vidattn.data.importers.load_ucf11 on published layouts."""

import collections

import pytest

from tests.fixtures.dataset_trees import touch_video
from tests.fixtures.dataset_trees import write_lines
from vidattn.data.importers import UCF11_ACTIONS
from vidattn.data.importers import DatasetIndex
from vidattn.data.importers import load_ucf11

# The group folders' prefixes of the real release: not always the action.
PREFIXES = {
    "basketball": "shooting",
    "biking": "biking",
    "diving": "diving",
    "golf_swing": "golf",
    "horse_riding": "riding",
    "soccer_juggling": "juggle",
    "swing": "swing",
    "tennis_swing": "tennis",
    "trampoline_jumping": "jumping",
    "volleyball_spiking": "spiking",
    "walking": "walk_dog",
}
GROUPS = (1, 2, 15, 16, 25)
CLIPS_PER_GROUP = 2


def build_ucf11(root, groups=GROUPS, clips=CLIPS_PER_GROUP, extension="avi"):
    """Writes `root/<action>/v_<prefix>_<NN>/v_<prefix>_<NN>_<MM>.<ext>`."""
    for action, prefix in PREFIXES.items():
        for group in groups:
            folder = root / action / f"v_{prefix}_{group:02d}"
            for clip in range(1, clips + 1):
                touch_video(
                    folder / f"v_{prefix}_{group:02d}_{clip:02d}.{extension}"
                )
            # Annotation files beside the clips are not videos.
            write_lines(folder / f"v_{prefix}_{group:02d}_01.xgtf", ["<xml/>"])
        # Some releases have an Annotation folder per action.
        write_lines(root / action / "Annotation" / "a.xgtf", ["<xml/>"])
    return root


def test_lists_every_clip_with_its_action_and_group(tmp_path):
    index = load_ucf11(build_ucf11(tmp_path))
    assert isinstance(index, DatasetIndex)
    assert index.name == "ucf11" and not index.multi_label
    assert index.class_names == UCF11_ACTIONS
    assert len(index) == 11 * len(GROUPS) * CLIPS_PER_GROUP
    entry = index["v_shooting_16_02"]
    assert entry.labels == (UCF11_ACTIONS.index("basketball"),)
    assert entry.group == "basketball/16"
    assert entry.path == str(
        tmp_path / "basketball" / "v_shooting_16" / "v_shooting_16_02.avi"
    )
    assert index["v_walk_dog_01_01"].labels == (10,)
    counts = collections.Counter(e.labels[0] for e in index)
    assert set(counts.values()) == {len(GROUPS) * CLIPS_PER_GROUP}


def test_default_split_is_groups_1_to_15_for_training(tmp_path):
    index = load_ucf11(build_ucf11(tmp_path))
    sizes = index.split_sizes()
    # Groups 1, 2, 15 train; 16, 25 test; 2 clips each; 11 actions.
    assert sizes == {"train": 66, "validation": 0, "test": 44}
    for entry in index:
        group = int(entry.group.split("/")[1])
        assert entry.split == ("train" if group <= 15 else "test")


def test_no_group_is_in_two_splits(tmp_path):
    index = load_ucf11(
        build_ucf11(tmp_path),
        train_groups=[1, 16],
        validation_groups=range(2, 3),
    )
    splits_of_group = collections.defaultdict(set)
    for entry in index:
        splits_of_group[entry.group].add(entry.split)
    assert all(len(splits) == 1 for splits in splits_of_group.values())
    assert {e.group.split("/")[1] for e in index.split("validation")} == {"02"}
    assert {e.group.split("/")[1] for e in index.split("train")} == {"01", "16"}
    assert {e.group.split("/")[1] for e in index.split("test")} == {"15", "25"}


def test_reads_mpg_release_and_clips_outside_group_folders(tmp_path):
    build_ucf11(tmp_path, groups=(3, 20), clips=1, extension="mpg")
    touch_video(tmp_path / "diving" / "v_diving_21_04.avi")
    index = load_ucf11(tmp_path)
    assert index["v_diving_03_01"].path.endswith(".mpg")
    assert index["v_diving_21_04"].group == "diving/21"
    assert index["v_diving_21_04"].split == "test"
    # Only diving has an .avi clip: the other actions are then empty.
    with pytest.raises(ValueError, match="'basketball'.*Received none"):
        load_ucf11(tmp_path, extensions=["avi"])


def test_missing_root(tmp_path):
    with pytest.raises(
        FileNotFoundError, match="UCF-11 folder .*does not exist"
    ):
        load_ucf11(tmp_path / "absent")


def test_missing_action_folder_is_named(tmp_path):
    build_ucf11(tmp_path, groups=(1,), clips=1)
    (tmp_path / "walking").rename(tmp_path / "walking_dog")
    with pytest.raises(
        FileNotFoundError, match="Missing: walking. Found: .*walking_dog"
    ):
        load_ucf11(tmp_path)


def test_empty_action_folder(tmp_path):
    build_ucf11(tmp_path, groups=(1,), clips=1)
    for clip in (tmp_path / "swing" / "v_swing_01").glob("*.avi"):
        clip.unlink()
    with pytest.raises(
        ValueError,
        match=r"swing: expected clips of the action 'swing'.*Received none",
    ):
        load_ucf11(tmp_path)


def test_unexpected_folder_in_an_action_folder(tmp_path):
    build_ucf11(tmp_path, groups=(1,), clips=1)
    (tmp_path / "biking" / "extras").mkdir()
    with pytest.raises(
        ValueError,
        match=(
            r"biking: expected group folders named v_<name>_<NN>.*Received a"
            r" folder 'extras'"
        ),
    ):
        load_ucf11(tmp_path)


def test_misnamed_loose_clip(tmp_path):
    build_ucf11(tmp_path, groups=(1,), clips=1)
    touch_video(tmp_path / "biking" / "my_bike.avi")
    with pytest.raises(
        ValueError,
        match=r"biking: expected a clip outside a group folder.*'my_bike.avi'",
    ):
        load_ucf11(tmp_path)


def test_same_clip_twice_is_reported_with_both_files(tmp_path):
    build_ucf11(tmp_path, groups=(1,), clips=1)
    touch_video(tmp_path / "golf_swing" / "v_golf_01" / "v_golf_01_01.mpg")
    with pytest.raises(
        ValueError, match="unique video ids.*'v_golf_01_01' twice"
    ) as info:
        load_ucf11(tmp_path)
    assert "v_golf_01_01.avi" in str(info.value)
    assert "v_golf_01_01.mpg" in str(info.value)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(train_groups=[]), "at least one group number in `train_groups`"),
        (
            dict(train_groups=[0, 1]),
            "`train_groups` to be an iterable of positive int",
        ),
        (
            dict(train_groups="1-15"),
            "`train_groups` to be an iterable of positive int",
        ),
        (
            dict(train_groups=[1.5]),
            "`train_groups` to be an iterable of positive int",
        ),
        (dict(validation_groups=5), "`validation_groups` to be an iterable"),
        (
            dict(train_groups=[1, 2], validation_groups=[2, 3]),
            r"not to overlap .* groups \[2\]",
        ),
        (
            dict(train_groups=[7, 8]),
            (
                r"Expected some clips in `train_groups`.*groups found are \[1,"
                r" 2, 15, 16, 25\]"
            ),
        ),
        (dict(extensions=[]), "`extensions` to be a non-empty sequence"),
    ],
)
def test_rejects_bad_arguments(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        load_ucf11(build_ucf11(tmp_path, clips=1), **kwargs)


def test_json_round_trip(tmp_path):
    index = load_ucf11(build_ucf11(tmp_path / "ucf11", groups=(1, 20), clips=1))
    path = index.to_json(tmp_path / "ucf11.json")
    assert DatasetIndex.from_json(path) == index
