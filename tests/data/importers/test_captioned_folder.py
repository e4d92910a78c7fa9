"""Tests for vidattn.data.importers.load_captioned_folder."""

import collections
import csv
import json

import pytest

from tests.fixtures.dataset_trees import touch_video
from tests.fixtures.dataset_trees import write_lines
from vidattn.data.importers import DatasetIndex
from vidattn.data.importers import load_captioned_folder

# (video as a row names it, sentence), in file order.
ROWS = [
    ("a", "a man slices an onion"),
    ("cooking/b", "a woman stirs a pot"),
    ("a.mp4", "  someone\tcuts   a vegetable "),
    ("c.mkv", "a dog runs"),  # A bare file name, unique under the root.
    ("./cooking/b.avi", "a cook stirs soup"),  # Converted: b.mov on disk.
]
EXPECTED_CAPTIONS = {
    "a": ("a man slices an onion", "someone cuts a vegetable"),
    "cooking/b": ("a woman stirs a pot", "a cook stirs soup"),
    "pets/c": ("a dog runs",),
}


def build_videos(root):
    for relative in ("a.mp4", "cooking/b.mov", "pets/c.mkv", "pets/d.webm"):
        touch_video(root / relative)
    # Not videos, or hidden: never listed.
    write_lines(root / "notes.txt", ["hello"])
    touch_video(root / ".hidden" / "e.mp4")
    touch_video(root / "cooking" / ".f.mp4")
    return root


def write_csv(path, rows):
    """Writes `rows` under the header annotator,video,sentence; returns it."""
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["annotator", "video", "sentence"])
        writer.writerows([k, v, s] for k, (v, s) in enumerate(rows))
    return path


def write_jsonl(path, rows):
    return write_lines(
        path,
        [json.dumps({"video": v, "sentence": s, "extra": 1}) for v, s in rows],
    )


def test_csv_rows_become_captioned_entries(tmp_path):
    root = build_videos(tmp_path / "mine")
    captions = write_csv(tmp_path / "captions.csv", ROWS)

    with pytest.warns(UserWarning) as caught:
        index = load_captioned_folder(root, captions, fractions=(1.0, 0.0, 0.0))

    assert isinstance(index, DatasetIndex) and index.name == "mine"
    assert index.class_names == () and not index.multi_label
    assert [e.video_id for e in index] == ["a", "cooking/b", "pets/c"]
    assert {e.video_id: e.captions for e in index} == EXPECTED_CAPTIONS
    assert index["cooking/b"].path == str(root / "cooking" / "b.mov")
    assert {e.split for e in index} == {"train"}
    assert all(e.labels == () and e.group is None for e in index)
    # The video no row names is left out, with one warning that says so.
    assert len(caught) == 1
    message = str(caught[0].message)
    assert "1 video(s) under" in message and "pets/d.webm" in message
    assert "cannot be trained on" in message


@pytest.mark.filterwarnings("ignore:1 video.s. under .* have no caption")
@pytest.mark.parametrize("extension", [".jsonl", ".json"])
def test_json_lines_read_like_the_csv(tmp_path, extension):
    root = build_videos(tmp_path / "mine")
    from_csv = load_captioned_folder(
        root, write_csv(tmp_path / "c.csv", ROWS), seed=5
    )
    path = write_jsonl(tmp_path / f"c{extension}", ROWS)
    assert load_captioned_folder(root, path, seed=5) == from_csv


def test_random_split_over_videos_depends_on_seed_only(tmp_path):
    rows = [(f"group{k % 3}/v{k}", f"sentence {k}") for k in range(10)]
    for video, _ in rows:
        touch_video(tmp_path / "videos" / f"{video}.mp4")
    captions = write_csv(tmp_path / "captions.csv", rows)

    index = load_captioned_folder(
        tmp_path / "videos", captions, fractions=(0.6, 0.2, 0.2), seed=3
    )

    counts = collections.Counter(e.split for e in index)
    assert counts == {"train": 6, "validation": 2, "test": 2}
    splits = {e.video_id: e.split for e in index}
    again = load_captioned_folder(
        tmp_path / "videos", captions, fractions=(0.6, 0.2, 0.2), seed=3
    )
    assert {e.video_id: e.split for e in again} == splits
    other = load_captioned_folder(
        tmp_path / "videos", captions, fractions=(0.6, 0.2, 0.2), seed=4
    )
    assert {e.video_id: e.split for e in other} != splits
    # The default fractions: 8, 1, 1.
    default = load_captioned_folder(tmp_path / "videos", captions)
    assert collections.Counter(e.split for e in default) == {
        "train": 8,
        "validation": 1,
        "test": 1,
    }


def test_split_folders_fix_the_split(tmp_path):
    root = tmp_path / "mine"
    for relative in ("train/x.mp4", "train/deep/w.mp4", "val/y.mp4"):
        touch_video(root / relative)
    touch_video(root / "test" / "cooking" / "z.mp4")
    rows = [
        ("train/x", "one"),
        ("w", "two"),
        ("y.mp4", "three"),
        ("test/cooking/z", "four"),
    ]
    captions = write_csv(tmp_path / "captions.csv", rows)

    index = load_captioned_folder(root, captions)

    assert {e.video_id: e.split for e in index} == {
        "test/cooking/z": "test",
        "train/deep/w": "train",
        "train/x": "train",
        "val/y": "validation",
    }
    with pytest.raises(ValueError, match="fix the split"):
        load_captioned_folder(root, captions, fractions=(1, 0, 0))
    touch_video(root / "outside.mp4")
    rows.append(("outside", "five"))
    with pytest.raises(ValueError) as info:
        load_captioned_folder(root, write_csv(tmp_path / "c2.csv", rows))
    assert "'outside.mp4' (captions line 6) outside them" in str(info.value)


def _error(tmp_path, filename, lines, **kwargs):
    root = build_videos(tmp_path / "mine")
    touch_video(root / "other" / "c.mkv")  # Bare 'c.mkv' is now ambiguous.
    path = write_lines(tmp_path / filename, lines)
    with pytest.raises(ValueError) as info:
        load_captioned_folder(root, path, **kwargs)
    return str(info.value), str(path)


@pytest.mark.parametrize(
    "filename, lines, expected",
    [
        (
            "c.csv",
            ["video,sentence", "cooking/b,fine", "pets/c,   "],
            "line 3: expected a sentence describing 'pets/c'. Received an "
            "empty one.",
        ),
        (
            "c.jsonl",
            ['{"video": "cooking/b", "sentence": "\\t "}'],
            "line 1: expected a sentence describing 'cooking/b'. Received an "
            "empty one.",
        ),
        (
            "c.csv",
            ["video,caption", "cooking/b,fine"],
            "line 1: expected a header with the columns video, sentence "
            "(others are ignored). Received: video, caption; it lacks "
            "sentence.",
        ),
        (
            "c.jsonl",
            ['{"video": "cooking/b", "sentence": "ok"}', '{"video": "a"}'],
            "line 2: expected the keys video and sentence. Received the keys "
            "video; it lacks sentence.",
        ),
        (
            "c.json",
            ['{"video": "cooking/b", "sentence": "ok"}', '{"video": "a",'],
            "line 2: expected one JSON object a line (JSON lines, not an "
            "array)",
        ),
        (
            "c.jsonl",
            ["", '["cooking/b", "a sentence"]'],
            "line 2: expected a JSON object such as",
        ),
        (
            "c.csv",
            ["video,sentence", ",a sentence"],
            "line 2: expected the name of a video. Received an empty one.",
        ),
        (
            "c.csv",
            ["video,sentence", "cooking/b,fine", "c.mkv,ambiguous"],
            "line 3: expected 'c.mkv' to name one video. Received a name that "
            "matches several: 'other/c.mkv', 'pets/c.mkv'",
        ),
        ("c.csv", ["video,sentence"], "Received no row."),
        ("c.txt", ["video,sentence"], "Received the extension '.txt'."),
    ],
)
def test_bad_captions_files_name_the_file_and_line(
    tmp_path, filename, lines, expected
):
    message, path = _error(tmp_path, filename, lines)
    assert message.startswith(path)
    assert expected in message


def test_bare_name_ambiguous_across_folders(tmp_path):
    touch_video(tmp_path / "v" / "x" / "clip.mp4")
    touch_video(tmp_path / "v" / "y" / "clip.avi")
    path = write_csv(tmp_path / "c.csv", [("clip", "one")])
    with pytest.raises(ValueError, match="'x/clip.mp4', 'y/clip.avi'"):
        load_captioned_folder(tmp_path / "v", path)


def test_rows_naming_no_video_error_or_skip(tmp_path):
    root = build_videos(tmp_path / "mine")
    rows = ROWS + [("pets/d", "a cat"), ("gone", "x"), ("cooking/gone", "y")]
    path = write_csv(tmp_path / "c.csv", rows)

    with pytest.raises(ValueError) as info:
        load_captioned_folder(root, path)
    message = str(info.value)
    assert message.startswith(f"2 of the 8 videos listed in {path} are not ")
    assert "'gone' (line 8), 'cooking/gone' (line 9)" in message
    assert "missing='skip'" in message

    with pytest.warns(UserWarning, match="'gone' \\(line 8\\)") as caught:
        index = load_captioned_folder(root, path, missing="skip")
    assert [e.video_id for e in index] == ["a", "cooking/b", "pets/c", "pets/d"]
    assert len(caught) == 1  # d has a caption now: no other warning.


def test_no_usable_row_and_names_differing_in_extension(tmp_path):
    root = tmp_path / "mine"
    touch_video(root / "a.mp4")
    touch_video(root / "a.avi")
    path = write_csv(tmp_path / "c.csv", [("a.mp4", "one"), ("a.avi", "two")])
    with pytest.raises(ValueError) as info:
        load_captioned_folder(root, path)
    assert (
        f"{path}, line 2: expected one captioned video per name. Received "
        "'a.mp4', and 'a.avi' on line 3, which differ only in extension"
    ) in str(info.value)
    path = write_csv(tmp_path / "d.csv", [("b", "one")])
    with pytest.warns(UserWarning), pytest.raises(ValueError) as info:
        load_captioned_folder(root, path, missing="skip")
    assert "Received none that name one" in str(info.value)


@pytest.mark.filterwarnings("ignore:1 video.s. under .* have no caption")
def test_bad_arguments(tmp_path):
    root = build_videos(tmp_path / "mine")
    path = write_csv(tmp_path / "c.csv", ROWS)
    with pytest.raises(FileNotFoundError, match="captions file"):
        load_captioned_folder(root, tmp_path / "none.csv")
    with pytest.raises(ValueError, match="missing='later'"):
        load_captioned_folder(root, path, missing="later")
    with pytest.raises(ValueError, match="fractions"):
        load_captioned_folder(root, path, fractions=(0.5, 0.5, 0.5))
