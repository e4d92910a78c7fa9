"""Tests for vidattn.data.importers.load_msvd on published layouts."""

import csv

import pytest

from tests.fixtures.dataset_trees import touch_video
from tests.fixtures.dataset_trees import write_lines
from vidattn.data.importers import DatasetIndex
from vidattn.data.importers import load_msvd

HEADER = [
    "VideoID",
    "Start",
    "End",
    "WorkerID",
    "Source",
    "AnnotationTime",
    "Language",
    "Description",
]
# (clip, number): YouTube IDs may hold '-' and '_'; the numbers straddle the
# standard split's boundaries.
MAPPING = [
    ("-4wsuPCjDBc_5_15", 1),
    ("ab_cd-EF12_0_7", 2),
    ("zz9pLKf0Bq8_12_20", 1200),
    ("k1Zb_0-XyU0_30_41", 1201),
    ("Qy0qN0xGjsA_1_9", 1300),
    ("Qy0qN0xGjsA_40_52", 1301),
]


def _rows():
    rows = []
    for clip, number in MAPPING:
        youtube_id, start, end = clip.rsplit("_", 2)
        rows += [
            [
                youtube_id,
                start,
                end,
                "1",
                "clean",
                "20",
                "English",
                f"a person does thing {number}",
            ],
            [
                youtube_id,
                start,
                end,
                "2",
                "unverified",
                "31",
                "English",
                f"  someone\tdoes   thing {number}  ",
            ],
            [
                youtube_id,
                start,
                end,
                "3",
                "clean",
                "12",
                "German",
                f"jemand macht {number}",
            ],
            [youtube_id, start, end, "4", "clean", "12", "English", "   "],
            [youtube_id, start, end, "5", "clean", "12", "English", ""],
        ]
    rows.append(
        [
            "-4wsuPCjDBc",
            "5",
            "15",
            "6",
            "clean",
            "9",
            "English",
            'a squirrel, "quickly" eats',
        ]
    )
    # A clip that the mapping does not hold: ignored.
    rows.append(
        ["notInBenchmark", "1", "2", "7", "clean", "9", "English", "ignored"]
    )
    return rows


def build_msvd(root, rows=None, csv_name="MSR Video Description Corpus.csv"):
    """Writes the clips, the description CSV and youtube_mapping.txt."""
    for clip, number in MAPPING:
        # Some releases name the files vid<N>.avi.
        name = f"vid{number}.avi" if number == 1200 else f"{clip}.avi"
        touch_video(root / "YouTubeClips" / name)
    write_lines(
        root / "youtube_mapping.txt", [f"{c} vid{n}" for c, n in MAPPING]
    )
    with open(root / csv_name, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        writer.writerows(_rows() if rows is None else rows)
    return root


def test_standard_split_captions_and_groups(tmp_path):
    index = load_msvd(build_msvd(tmp_path))
    assert index.name == "msvd" and index.class_names == ()
    assert [e.video_id for e in index] == [
        "vid1",
        "vid2",
        "vid1200",
        "vid1201",
        "vid1300",
        "vid1301",
    ]
    assert {e.video_id: e.split for e in index} == {
        "vid1": "train",
        "vid2": "train",
        "vid1200": "train",
        "vid1201": "validation",
        "vid1300": "validation",
        "vid1301": "test",
    }
    # English only, whitespace normalised, empty descriptions dropped.
    assert index["vid2"].captions == (
        "a person does thing 2",
        "someone does thing 2",
    )
    assert index["vid1"].captions[-1] == 'a squirrel, "quickly" eats'
    assert index["vid1"].group == "-4wsuPCjDBc"
    assert index["vid1201"].group == "k1Zb_0-XyU0"
    assert index["vid1201"].path == str(
        tmp_path / "YouTubeClips" / "k1Zb_0-XyU0_30_41.avi"
    )
    assert index["vid1200"].path == str(
        tmp_path / "YouTubeClips" / "vid1200.avi"
    )
    assert all(e.labels == () for e in index)


def test_language_none_keeps_every_language(tmp_path):
    index = load_msvd(build_msvd(tmp_path), language=None)
    assert "jemand macht 2" in index["vid2"].captions
    german = load_msvd(tmp_path, language="german")
    assert german["vid2"].captions == ("jemand macht 2",)


def test_custom_boundaries_and_files(tmp_path):
    build_msvd(tmp_path / "data", csv_name="video_corpus.csv")
    (tmp_path / "data" / "YouTubeClips").rename(tmp_path / "clips")
    index = load_msvd(
        tmp_path / "data",
        videos_dir=tmp_path / "clips",
        split_boundaries=(1, 2),
    )
    assert [e.split for e in index] == [
        "train",
        "validation",
        "test",
        "test",
        "test",
        "test",
    ]


def test_videos_directly_in_root(tmp_path):
    build_msvd(tmp_path)
    for clip in (tmp_path / "YouTubeClips").iterdir():
        clip.rename(tmp_path / clip.name)
    (tmp_path / "YouTubeClips").rmdir()
    assert len(load_msvd(tmp_path)) == 6


def test_json_round_trip(tmp_path):
    index = load_msvd(build_msvd(tmp_path / "msvd"))
    path = index.to_json(tmp_path / "msvd.json")
    assert DatasetIndex.from_json(path) == index


def test_missing_root(tmp_path):
    with pytest.raises(FileNotFoundError, match="MSVD folder .*does not exist"):
        load_msvd(tmp_path / "absent")


def test_missing_mapping(tmp_path):
    build_msvd(tmp_path)
    (tmp_path / "youtube_mapping.txt").unlink()
    with pytest.raises(
        FileNotFoundError,
        match="youtube_mapping.txt'; it does not exist.*pass `mapping_path`",
    ):
        load_msvd(tmp_path)


def test_missing_csv(tmp_path):
    build_msvd(tmp_path)
    (tmp_path / "MSR Video Description Corpus.csv").unlink()
    with pytest.raises(
        FileNotFoundError, match="Description Corpus CSV .*Pass `captions_path`"
    ):
        load_msvd(tmp_path)
    with pytest.raises(FileNotFoundError, match="mine.csv"):
        load_msvd(tmp_path, captions_path=tmp_path / "mine.csv")


def test_csv_without_a_needed_column(tmp_path):
    build_msvd(tmp_path)
    path = tmp_path / "MSR Video Description Corpus.csv"
    path.write_text(path.read_text().replace("Language", "Lang", 1))
    with pytest.raises(
        ValueError,
        match=(
            "Corpus.csv, line 1: expected a header with the columns.*it lacks"
            " Language"
        ),
    ):
        load_msvd(tmp_path)


def test_csv_with_a_bad_time(tmp_path):
    rows = _rows()
    rows.insert(
        3, ["ab_cd-EF12", "zero", "7", "9", "clean", "1", "English", "hi"]
    )
    build_msvd(tmp_path, rows=rows)
    with pytest.raises(
        ValueError,
        match=r"Corpus.csv, line 5: expected whole seconds .*Start='zero'",
    ):
        load_msvd(tmp_path)


@pytest.mark.parametrize(
    "line, match",
    [
        ("-4wsuPCjDBc_5_15", "expected '<YouTube ID>_<start>_<end> vid<N>'"),
        (
            "-4wsuPCjDBc_5_15 video1",
            "expected '<YouTube ID>_<start>_<end> vid<N>'",
        ),
        ("-4wsuPCjDBc vid7", "expected '<YouTube ID>_<start>_<end> vid<N>'"),
        ("x_1_2 vid0", r".* with N >= 1 .*Received: 'x_1_2 vid0'"),
        (
            "-4wsuPCjDBc_5_15 vid9",
            r"expected each clip mapped once.*also on line 1",
        ),
        (
            "new_1_2 vid2",
            r"expected each number vid<N> once.*'vid2' again.*line 2",
        ),
    ],
)
def test_malformed_mapping_names_file_and_line(tmp_path, line, match):
    build_msvd(tmp_path)
    path = tmp_path / "youtube_mapping.txt"
    write_lines(path, path.read_text().splitlines() + [line])
    with pytest.raises(
        ValueError, match=r"youtube_mapping.txt, line 7: " + match
    ):
        load_msvd(tmp_path)


def test_missing_videos_error_lists_them(tmp_path):
    build_msvd(tmp_path)
    (tmp_path / "YouTubeClips" / "ab_cd-EF12_0_7.avi").unlink()
    (tmp_path / "YouTubeClips" / "vid1200.avi").unlink()
    with pytest.raises(
        ValueError,
        match=(
            r"2 of the 6 videos listed in .*youtube_mapping.txt have no file"
            r" on disk"
        ),
    ) as info:
        load_msvd(tmp_path)
    assert "vid2 (ab_cd-EF12_0_7)" in str(info.value)
    assert "vid1200 (zz9pLKf0Bq8_12_20)" in str(info.value)


def test_missing_videos_skipped_with_a_warning(tmp_path):
    build_msvd(tmp_path)
    (tmp_path / "YouTubeClips" / "ab_cd-EF12_0_7.avi").unlink()
    with pytest.warns(UserWarning, match="vid2 .*left out"):
        index = load_msvd(tmp_path, missing="skip")
    assert "vid2" not in index and len(index) == 5


def test_videos_without_english_caption(tmp_path):
    rows = [
        row
        for row in _rows()
        if not (
            row[0] == "Qy0qN0xGjsA" and row[1] == "1" and row[6] == "English"
        )
    ]
    build_msvd(tmp_path, rows=rows)
    with pytest.raises(
        ValueError,
        match=(
            r"1 of the 6 videos .*have no English description.*vid1300"
            r" \(Qy0qN0xGjsA_1_9\)"
        ),
    ):
        load_msvd(tmp_path)
    with pytest.warns(UserWarning, match="vid1300"):
        assert len(load_msvd(tmp_path, missing="skip")) == 5


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (
            dict(split_boundaries=(1300, 1200)),
            "`split_boundaries` to be a pair of int",
        ),
        (dict(split_boundaries=1200), "`split_boundaries` to be a pair of int"),
        (
            dict(split_boundaries=(1.5, 3)),
            "`split_boundaries` to be a pair of int",
        ),
        (dict(language=""), "`language` to be a language name"),
        (dict(missing="ignore"), "`missing` to be 'error'"),
    ],
)
def test_rejects_bad_arguments(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        load_msvd(build_msvd(tmp_path), **kwargs)
