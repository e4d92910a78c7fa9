"""Tests for vidattn.data.importers.load_hollywood2 on small published trees."""

import pytest

from tests.fixtures.dataset_trees import touch_video
from tests.fixtures.dataset_trees import write_lines
from vidattn.data.importers import HOLLYWOOD2_ACTIONS
from vidattn.data.importers import DatasetIndex
from vidattn.data.importers import load_hollywood2

# The actions each clip shows; every action has a clip in every set.
LABELS = {
    "train": {
        "actioncliptrain00001": {"DriveCar"},
        "actioncliptrain00002": {"HugPerson", "Kiss"},
        "actioncliptrain00003": {
            "AnswerPhone",
            "Eat",
            "FightPerson",
            "GetOutCar",
            "HandShake",
        },
        "actioncliptrain00004": {"Run", "SitDown", "SitUp", "StandUp"},
    },
    "test": {
        "actioncliptest00001": {
            "AnswerPhone",
            "DriveCar",
            "Eat",
            "FightPerson",
        },
        "actioncliptest00002": {"GetOutCar", "HandShake", "HugPerson", "Kiss"},
        "actioncliptest00003": {"Run", "SitDown", "SitUp", "StandUp"},
    },
    "autotrain": {
        "actionclipautoautotrain00001": set(HOLLYWOOD2_ACTIONS[:6]),
        "actionclipautoautotrain00002": set(HOLLYWOOD2_ACTIONS[6:]),
    },
}


def build_hollywood2(root, sets=("train", "test", "autotrain")):
    """Writes `root/AVIClips/<clip>.avi`, `root/ClipSets/<Action>_<set>.txt`."""
    for set_name in sets:
        for clip in LABELS[set_name]:
            touch_video(root / "AVIClips" / f"{clip}.avi")
        for action in HOLLYWOOD2_ACTIONS:
            # The real files separate name and label with two spaces.
            write_lines(
                root / "ClipSets" / f"{action}_{set_name}.txt",
                [
                    f"{clip}  {1 if action in actions else -1}"
                    for clip, actions in LABELS[set_name].items()
                ],
            )
        # The summary files are not read (this one would not even parse).
        write_lines(root / "ClipSets" / f"actions_{set_name}.txt", ["not read"])
    return root


def _names(index, entry):
    return {index.class_names[i] for i in entry.labels}


def test_multi_label_clips_get_every_positive_action(tmp_path):
    index = load_hollywood2(build_hollywood2(tmp_path))
    assert index.multi_label and index.name == "hollywood2"
    assert index.class_names == HOLLYWOOD2_ACTIONS
    assert index.split_sizes() == {"train": 4, "validation": 0, "test": 3}
    assert _names(index, index["actioncliptrain00002"]) == {"HugPerson", "Kiss"}
    assert index["actioncliptrain00002"].labels == (6, 7)
    for split in ("train", "test"):
        for clip, actions in LABELS[split].items():
            entry = index[clip]
            assert entry.split == split
            assert _names(index, entry) == actions
            assert entry.path == str(tmp_path / "AVIClips" / f"{clip}.avi")


def test_autotrain_set(tmp_path):
    index = load_hollywood2(build_hollywood2(tmp_path), train_set="autotrain")
    assert [e.video_id for e in index.split("train")] == list(
        LABELS["autotrain"]
    )
    assert len(index.split("test")) == 3


def test_custom_folders_and_converted_clips(tmp_path):
    build_hollywood2(tmp_path / "h2", sets=("train", "test"))
    (tmp_path / "h2" / "AVIClips").rename(tmp_path / "clips")
    (tmp_path / "clips" / "actioncliptest00003.avi").rename(
        tmp_path / "clips" / "actioncliptest00003.mp4"
    )
    index = load_hollywood2(tmp_path / "h2", clips_dir=tmp_path / "clips")
    assert index["actioncliptest00003"].path == str(
        tmp_path / "clips" / "actioncliptest00003.mp4"
    )


def test_json_round_trip(tmp_path):
    index = load_hollywood2(build_hollywood2(tmp_path / "h2"))
    path = index.to_json(tmp_path / "h2.json")
    assert DatasetIndex.from_json(path) == index


def test_missing_root(tmp_path):
    with pytest.raises(
        FileNotFoundError, match="Hollywood2 folder .*does not exist"
    ):
        load_hollywood2(tmp_path / "absent")


def test_missing_clip_sets_folder(tmp_path):
    touch_video(tmp_path / "AVIClips" / "a.avi")
    with pytest.raises(
        FileNotFoundError,
        match="ClipSets folder .*ClipSets'; it does not exist",
    ):
        load_hollywood2(tmp_path)


def test_missing_label_file_is_named(tmp_path):
    build_hollywood2(tmp_path)
    (tmp_path / "ClipSets" / "SitUp_test.txt").unlink()
    with pytest.raises(
        FileNotFoundError,
        match=(
            r"label file of 'SitUp' \(test set\) .*SitUp_test.txt'; it does"
            r" not exist"
        ),
    ):
        load_hollywood2(tmp_path)


@pytest.mark.parametrize(
    "line",
    [
        "actioncliptrain00003  0",
        "actioncliptrain00003",
        "actioncliptrain00003 1 -1",
    ],
)
def test_malformed_line_names_file_and_line(tmp_path, line):
    build_hollywood2(tmp_path)
    path = tmp_path / "ClipSets" / "Eat_train.txt"
    lines = path.read_text().splitlines()
    lines[2] = line
    write_lines(path, lines)
    with pytest.raises(
        ValueError,
        match=(
            r"Eat_train.txt, line 3: expected '<clip name> <1\|-1>'.*Received"
        ),
    ):
        load_hollywood2(tmp_path)


def test_clip_listed_twice_in_a_file(tmp_path):
    build_hollywood2(tmp_path)
    path = tmp_path / "ClipSets" / "Kiss_test.txt"
    lines = path.read_text().splitlines()
    write_lines(path, lines + [lines[1]])
    with pytest.raises(
        ValueError,
        match=(
            r"Kiss_test.txt, line 4: expected each clip listed"
            r" once.*'actioncliptest00002' again.*line 2"
        ),
    ):
        load_hollywood2(tmp_path)


def test_clip_in_both_sets(tmp_path):
    build_hollywood2(tmp_path)
    for action in HOLLYWOOD2_ACTIONS:
        path = tmp_path / "ClipSets" / f"{action}_test.txt"
        write_lines(
            path, path.read_text().splitlines() + ["actioncliptrain00001  -1"]
        )
    with pytest.raises(
        ValueError,
        match=(
            r"AnswerPhone_test.txt, line 4: expected a clip in one set"
            r" only.*AnswerPhone_train.txt lists too"
        ),
    ):
        load_hollywood2(tmp_path)


def test_action_files_of_a_set_must_list_the_same_clips(tmp_path):
    build_hollywood2(tmp_path)
    path = tmp_path / "ClipSets" / "Run_train.txt"
    lines = path.read_text().splitlines()
    write_lines(path, lines[1:] + ["actioncliptrain00099  -1"])
    with pytest.raises(
        ValueError,
        match=(
            r"Run_train.txt: expected the same clips as"
            r" .*AnswerPhone_train.txt.*lacks actioncliptrain00001 and adds"
            r" actioncliptrain00099"
        ),
    ):
        load_hollywood2(tmp_path)


def test_action_without_positive_clip(tmp_path):
    build_hollywood2(tmp_path)
    path = tmp_path / "ClipSets" / "HandShake_test.txt"
    write_lines(
        path,
        [line.replace("  1", "  -1") for line in path.read_text().splitlines()],
    )
    with pytest.raises(
        ValueError,
        match=(
            "HandShake_test.txt: expected at least one clip marked 1 for the"
            " action 'HandShake'"
        ),
    ):
        load_hollywood2(tmp_path)


def test_missing_clips_error_and_skip(tmp_path):
    build_hollywood2(tmp_path)
    (tmp_path / "AVIClips" / "actioncliptest00002.avi").unlink()
    with pytest.raises(
        ValueError,
        match=(
            "1 of the 7 videos listed in ClipSets have no file on"
            " disk.*actioncliptest00002"
        ),
    ):
        load_hollywood2(tmp_path)
    with pytest.warns(UserWarning, match="actioncliptest00002.*left out"):
        index = load_hollywood2(tmp_path, missing="skip")
    assert "actioncliptest00002" not in index and len(index) == 6


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(train_set="val"), "`train_set` to be 'train'"),
        (dict(missing=None), "`missing` to be 'error'"),
        (dict(extensions="."), "`extensions` to be a non-empty sequence"),
    ],
)
def test_rejects_bad_arguments(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        load_hollywood2(build_hollywood2(tmp_path), **kwargs)
