"""Tests for vidattn.data.importers.load_hmdb51 on published layouts."""

import pytest

from tests.fixtures.dataset_trees import touch_video
from tests.fixtures.dataset_trees import write_lines
from vidattn.data.importers import DatasetIndex
from vidattn.data.importers import load_hmdb51

# Real-style file names (they carry odd characters: brackets, '#', '!').
VIDEOS = {
    "brush_hair": [
        "April_09_brush_hair_u_nm_np1_ba_goo_0.avi",
        "April_09_brush_hair_u_nm_np1_ba_goo_1.avi",
        "Brushing_Hair_with_Beth_brush_hair_h_nm_np1_le_goo_0.avi",
        "atempting_to_brush_my_hair_brush_hair_u_nm_np2_le_goo_0.avi",
    ],
    "cartwheel": [
        "(Rad)Schlag_die_Bank!_cartwheel_f_cm_np1_le_med_0.avi",
        "Acrobacias_de_un_fenomeno_cartwheel_f_cm_np1_ba_bad_8.avi",
        "park_cartwheel_f_cm_np1_ba_med_0.avi",
        "lea_kann_radschlag_cartwheel_f_cm_np1_ri_med_0.avi",
    ],
    "catch": [
        "#20_Rhythm_clay_catch_f_cm_np1_ba_goo_0.avi",
        "96-_Torwarttraining_1_catch_f_cm_np1_le_bad_0.avi",
        (
            "Ball_hochwerfen_-_Rolle_-_Ball_fangen_(Timo_3)_catch_f_cm_np1_le_g"
            "oo_0.avi"
        ),
        "Goalkeeper_Training_Day_#_7_catch_f_cm_np1_ri_goo_0.avi",
    ],
}
# Tags per split: 1 train, 2 test, 0 unused; one list per split, per video.
TAGS = {
    1: [1, 1, 2, 0],
    2: [2, 1, 1, 0],
    3: [1, 0, 1, 2],
}
SPLITS_DIR = "testTrainMulti_7030_splits"


def build_hmdb51(root, splits_root=None):
    """Writes `root/<class>/<video>`, `<splits>/<class>_test_split<N>.txt`."""
    splits_root = root / SPLITS_DIR if splits_root is None else splits_root
    for class_name, videos in VIDEOS.items():
        for video in videos:
            touch_video(root / class_name / video)
        for number, tags in TAGS.items():
            # The real files end each line with a space.
            write_lines(
                splits_root / f"{class_name}_test_split{number}.txt",
                [f"{video} {tag} " for video, tag in zip(videos, tags)],
            )
    return root


def test_split_1_train_test_and_left_out(tmp_path):
    index = load_hmdb51(build_hmdb51(tmp_path))
    assert index.name == "hmdb51_split1"
    assert index.class_names == ("brush_hair", "cartwheel", "catch")
    assert index.split_sizes() == {"train": 6, "validation": 0, "test": 3}
    for label, (class_name, videos) in enumerate(VIDEOS.items()):
        for video, tag in zip(videos, TAGS[1]):
            video_id = video[: -len(".avi")]
            if tag == 0:
                # Videos marked 0 are left out.
                assert video_id not in index
                continue
            entry = index[video_id]
            assert entry.split == {1: "train", 2: "test"}[tag]
            assert entry.labels == (label,)
            assert entry.path == str(tmp_path / class_name / video)
            assert entry.group is None


@pytest.mark.parametrize("number", [2, 3])
def test_other_official_splits(tmp_path, number):
    index = load_hmdb51(build_hmdb51(tmp_path), split_number=number)
    expected = {
        video[:-4]: {1: "train", 2: "test"}[tag]
        for videos in VIDEOS.values()
        for video, tag in zip(videos, TAGS[number])
        if tag
    }
    assert {e.video_id: e.split for e in index} == expected


def test_splits_folder_elsewhere_and_converted_videos(tmp_path):
    build_hmdb51(tmp_path / "videos", splits_root=tmp_path / "splits")
    # Videos converted to mp4 are found although the split file says .avi.
    first = tmp_path / "videos" / "catch" / VIDEOS["catch"][0]
    first.rename(first.with_suffix(".mp4"))
    index = load_hmdb51(tmp_path / "videos", splits_dir=tmp_path / "splits")
    assert index[VIDEOS["catch"][0][:-4]].path == str(first.with_suffix(".mp4"))
    assert len(index) == 9


def test_one_file_per_listed_video(tmp_path):
    build_hmdb51(tmp_path)
    folder = tmp_path / "catch"
    # The listed name wins over a converted copy.
    touch_video(folder / VIDEOS["catch"][0].replace(".avi", ".mp4"))
    assert load_hmdb51(tmp_path)[VIDEOS["catch"][0][:-4]].path.endswith(".avi")
    # Two converted copies and no listed name: which one is meant?
    (folder / VIDEOS["catch"][0]).unlink()
    touch_video(folder / VIDEOS["catch"][0].replace(".avi", ".mkv"))
    with pytest.raises(ValueError, match="catch: expected one video file for"):
        load_hmdb51(tmp_path)


def test_json_round_trip(tmp_path):
    index = load_hmdb51(build_hmdb51(tmp_path / "hmdb"))
    path = index.to_json(tmp_path / "hmdb.json")
    assert DatasetIndex.from_json(path) == index


def test_missing_root(tmp_path):
    with pytest.raises(
        FileNotFoundError, match="HMDB-51 folder .*does not exist"
    ):
        load_hmdb51(tmp_path / "absent")


def test_missing_splits_folder(tmp_path):
    touch_video(tmp_path / "catch" / "a.avi")
    with pytest.raises(
        FileNotFoundError,
        match=(
            f"split files folder .*{SPLITS_DIR}'; it does not exist"
            ".*test_train_splits.rar"
        ),
    ):
        load_hmdb51(tmp_path)


def test_missing_split_file_is_named(tmp_path):
    build_hmdb51(tmp_path)
    (tmp_path / SPLITS_DIR / "cartwheel_test_split2.txt").unlink()
    with pytest.raises(
        FileNotFoundError, match="cartwheel_test_split2.txt'; it does not exist"
    ):
        load_hmdb51(tmp_path, split_number=2)


def test_split_file_of_an_unknown_class(tmp_path):
    build_hmdb51(tmp_path)
    write_lines(
        tmp_path / SPLITS_DIR / "wave_test_split1.txt", ["hello_wave_0.avi 1"]
    )
    with pytest.raises(
        ValueError,
        match=(
            "wave_test_split1.txt: expected split files of the"
            " classes.*unknown class 'wave'"
        ),
    ):
        load_hmdb51(tmp_path)
    # Another split number's files are not read.
    assert len(load_hmdb51(tmp_path, split_number=2)) == 9


@pytest.mark.parametrize(
    "line",
    [
        "park_cartwheel_f_cm_np1_ba_med_0.avi 3",
        "park_cartwheel_f_cm_np1_ba_med_0.avi",
        "x.avi train",
    ],
)
def test_malformed_line_names_file_and_line(tmp_path, line):
    build_hmdb51(tmp_path)
    path = tmp_path / SPLITS_DIR / "cartwheel_test_split1.txt"
    lines = path.read_text().splitlines()
    lines[2] = line
    write_lines(path, lines)
    with pytest.raises(
        ValueError,
        match=(
            r"cartwheel_test_split1.txt, line 3: expected '<video file name>"
            r" <tag>'.*Received"
        ),
    ):
        load_hmdb51(tmp_path)


def test_video_listed_twice_in_one_file(tmp_path):
    build_hmdb51(tmp_path)
    path = tmp_path / SPLITS_DIR / "catch_test_split1.txt"
    lines = path.read_text().splitlines()
    write_lines(path, lines + [lines[0]])
    with pytest.raises(
        ValueError,
        match=(
            r"catch_test_split1.txt, line 5: expected each video listed"
            r" once.*also on line 1 of .*catch_test_split1.txt"
        ),
    ):
        load_hmdb51(tmp_path)


def test_video_listed_in_two_classes(tmp_path):
    build_hmdb51(tmp_path)
    path = tmp_path / SPLITS_DIR / "catch_test_split1.txt"
    write_lines(
        path, path.read_text().splitlines() + [f"{VIDEOS['brush_hair'][1]} 2"]
    )
    with pytest.raises(
        ValueError,
        match=(
            r"catch_test_split1.txt, line 5: .*also on line 2 of"
            r" .*brush_hair_test_split1.txt"
        ),
    ):
        load_hmdb51(tmp_path)


def test_missing_videos_error_lists_them(tmp_path):
    build_hmdb51(tmp_path)
    (tmp_path / "brush_hair" / VIDEOS["brush_hair"][0]).unlink()
    (tmp_path / "catch" / VIDEOS["catch"][2]).unlink()
    # A missing video marked 0 does not matter.
    (tmp_path / "catch" / VIDEOS["catch"][3]).unlink()
    with pytest.raises(
        ValueError,
        match=(
            "2 of the 9 videos listed in the split 1 files have no file on disk"
        ),
    ) as info:
        load_hmdb51(tmp_path)
    message = str(info.value)
    assert f"brush_hair/{VIDEOS['brush_hair'][0]}" in message
    assert f"catch/{VIDEOS['catch'][2]}" in message
    assert "missing='skip'" in message


def test_missing_videos_skipped_with_a_warning(tmp_path):
    build_hmdb51(tmp_path)
    (tmp_path / "brush_hair" / VIDEOS["brush_hair"][0]).unlink()
    with pytest.warns(UserWarning, match="1 of the 9 videos .*left out"):
        index = load_hmdb51(tmp_path, missing="skip")
    assert len(index) == 8


def test_empty_class_folder(tmp_path):
    build_hmdb51(tmp_path)
    (tmp_path / "kiss").mkdir()
    with pytest.raises(
        ValueError,
        match=(
            "kiss: expected the videos of the class 'kiss'.*empty class folder"
        ),
    ):
        load_hmdb51(tmp_path)


def test_class_without_training_videos(tmp_path):
    build_hmdb51(tmp_path)
    videos = VIDEOS["cartwheel"]
    write_lines(
        tmp_path / SPLITS_DIR / "cartwheel_test_split1.txt",
        [
            f"{videos[0]} 2",
            f"{videos[1]} 0",
            f"{videos[2]} 2",
            f"{videos[3]} 0",
        ],
    )
    with pytest.raises(
        ValueError,
        match="cartwheel_test_split1.txt: expected at least one training video",
    ):
        load_hmdb51(tmp_path)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(split_number=4), "`split_number` to be 1, 2 or 3"),
        (dict(split_number="1"), "`split_number` to be 1, 2 or 3"),
        (dict(split_number=True), "`split_number` to be 1, 2 or 3"),
        (dict(missing="warn"), "`missing` to be 'error'"),
    ],
)
def test_rejects_bad_arguments(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        load_hmdb51(build_hmdb51(tmp_path), **kwargs)
