"""Tests for vidattn.data.importers.DatasetIndex: checks, splits, JSON."""

import json
import os
import stat

import pytest

from vidattn.data.importers import DatasetIndex
from vidattn.data.importers import VideoEntry
from vidattn.data.importers import dataset_index as dataset_index_module

CLASSES = ("cooking", "dancing", "running")


def _single_label():
    return DatasetIndex(
        [
            VideoEntry("a", "/v/a.mp4", "train", [0], group="g1"),
            VideoEntry("b", "/v/b.mp4", "train", [1], group="g1"),
            VideoEntry("c", "/v/c.mp4", "validation", [2]),
            VideoEntry("d", "/v/d.mp4", "test", [0]),
        ],
        class_names=CLASSES,
        name="toy",
    )


def _multi_label():
    return DatasetIndex(
        [
            VideoEntry("a", "/v/a.avi", "train", [0, 2]),
            VideoEntry("b", "/v/b.avi", "test", []),
        ],
        class_names=CLASSES,
        multi_label=True,
        name="toy_multi",
    )


def _captioning():
    return DatasetIndex(
        [
            VideoEntry(
                "vid1",
                "/v/x_1_5.avi",
                "train",
                captions=["a man is cooking", "un homme cuisine: «ça»"],
                group="x",
            ),
            VideoEntry("vid2", "/v/y_2_9.avi", "test", captions=["a cat"]),
        ],
        name="toy_captions",
    )


def test_splits_lengths_and_lookup():
    index = _single_label()
    assert len(index) == 4
    assert [e.video_id for e in index] == ["a", "b", "c", "d"]
    assert [e.video_id for e in index.split("train")] == ["a", "b"]
    assert [e.video_id for e in index.split("validation")] == ["c"]
    assert index.split_sizes() == {"train": 2, "validation": 1, "test": 1}
    assert index.num_classes == 3
    assert "c" in index and "z" not in index
    assert index["d"].path == "/v/d.mp4"
    with pytest.raises(KeyError, match="Received: 'z'"):
        index["z"]
    assert repr(index) == (
        "DatasetIndex(name='toy', 4 videos: train=2, validation=1, test=1; "
        "3 classes, single-label)"
    )
    assert "captioning" in repr(_captioning())


def test_split_rejects_unknown_name():
    with pytest.raises(ValueError, match="one of train, validation, test"):
        _single_label().split("val")


def test_duplicate_video_ids_name_both_files():
    with pytest.raises(ValueError, match="unique video ids") as info:
        DatasetIndex(
            [
                VideoEntry("a", "/v/one/a.mp4", "train", [0]),
                VideoEntry("a", "/v/two/a.mp4", "test", [0]),
            ],
            class_names=CLASSES,
        )
    assert "/v/one/a.mp4" in str(info.value)
    assert "/v/two/a.mp4" in str(info.value)


@pytest.mark.parametrize(
    "entries, kwargs, match",
    [
        (
            [VideoEntry("a", "a", "train", [3])],
            {},
            r"class indices in \[0, 3\)",
        ),
        ([VideoEntry("a", "a", "train", [])], {}, "exactly one label"),
        ([VideoEntry("a", "a", "train", [0, 1])], {}, "exactly one label"),
        (
            [VideoEntry("a", "a", "train", [0])],
            dict(class_names=()),
            "no labels in a dataset without `class_names`",
        ),
        (
            [],
            dict(class_names=(), multi_label=True),
            "`class_names` for a multi",
        ),
        ([], dict(class_names=("x", "y", "x")), "each class name once"),
        ([], dict(class_names="abc"), "sequence of non-empty str"),
        ([], dict(multi_label=1), "`multi_label` to be a bool"),
        ([], dict(name=""), "`name` to be a non-empty str"),
        (["a"], {}, "`VideoEntry` objects"),
    ],
)
def test_rejects_inconsistent_indexes(entries, kwargs, match):
    settings = dict(class_names=CLASSES)
    settings.update(kwargs)
    with pytest.raises(ValueError, match=match):
        DatasetIndex(entries, **settings)


@pytest.mark.parametrize("make", [_single_label, _multi_label, _captioning])
def test_json_round_trip(tmp_path, make):
    index = make()
    path = index.to_json(tmp_path / "index.json")
    assert path == str(tmp_path / "index.json")
    again = DatasetIndex.from_json(path)
    assert again == index
    assert again.entries == index.entries
    assert (again.name, again.class_names, again.multi_label) == (
        index.name,
        index.class_names,
        index.multi_label,
    )


def test_json_is_readable_and_hand_editable(tmp_path):
    path = _multi_label().to_json(tmp_path / "index.json")
    text = open(path, encoding="utf-8").read()
    document = json.loads(text)
    assert document["format"] == "vidattn.DatasetIndex"
    # Labels are written as class names, for people.
    assert document["entries"][0]["labels"] == ["cooking", "running"]
    document["entries"][1]["labels"] = ["dancing"]
    document["entries"].append(
        {
            "video_id": "c",
            "split": "validation",
            "path": "/v/c.avi",
            "labels": [1, 2],
        }
    )
    with open(path, "w", encoding="utf-8") as f:
        json.dump(document, f)
    edited = DatasetIndex.from_json(path)
    assert edited["b"].labels == (1,)
    assert edited["c"].labels == (1, 2)
    assert edited["c"].captions == () and edited["c"].group is None


def test_json_keeps_non_ascii_captions_verbatim(tmp_path):
    path = _captioning().to_json(tmp_path / "index.json")
    assert "«ça»" in open(path, encoding="utf-8").read()


def test_to_json_replaces_atomically_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "deep" / "folder" / "index.json"
    _single_label().to_json(path)
    _captioning().to_json(path)
    assert DatasetIndex.from_json(path) == _captioning()
    assert os.listdir(path.parent) == ["index.json"]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644


def test_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "index.json"
    _single_label().to_json(path)

    def broken_dump(document, f, **kwargs):
        f.write('{"format": "vidattn.Data')
        raise OSError("disk full")

    monkeypatch.setattr(dataset_index_module.json, "dump", broken_dump)
    with pytest.raises(OSError, match="disk full"):
        _captioning().to_json(path)
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["index.json"]
    assert DatasetIndex.from_json(path) == _single_label()


def _write(path, document):
    with open(path, "w", encoding="utf-8") as f:
        if isinstance(document, str):
            f.write(document)
        else:
            json.dump(document, f, indent=1)
    return path


def _document(**changes):
    document = {
        "format": "vidattn.DatasetIndex",
        "version": 1,
        "name": "toy",
        "multi_label": False,
        "class_names": ["cooking", "dancing"],
        "entries": [
            {
                "video_id": "a",
                "split": "train",
                "path": "/v/a.mp4",
                "labels": ["cooking"],
            }
        ],
    }
    document.update(changes)
    return document


def test_from_json_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="absent.json"):
        DatasetIndex.from_json(tmp_path / "absent.json")


def test_from_json_syntax_error_names_the_line(tmp_path):
    path = _write(
        tmp_path / "index.json",
        '{\n "format": "vidattn.DatasetIndex",\n oops\n}',
    )
    with pytest.raises(
        ValueError, match=r"index.json, line 3, column 2: expected valid JSON"
    ):
        DatasetIndex.from_json(path)


@pytest.mark.parametrize(
    "document, match",
    [
        ([], 'with "format": "vidattn.DatasetIndex"'),
        (_document(format="other"), 'with "format": "vidattn.DatasetIndex"'),
        (_document(version=2), "expected version 1 .* Received: version=2"),
        (
            _document(multi_label="no"),
            "key 'multi_label' holding a JSON true or false",
        ),
        (_document(class_names=None), "key 'class_names' holding a JSON array"),
        (
            _document(entries=[{"video_id": "a", "split": "train"}]),
            r"entry 0 \('a'\): expected the keys .* Received no path",
        ),
        (
            _document(
                entries=[
                    {
                        "video_id": "a",
                        "split": "train",
                        "path": "a",
                        "lables": [],
                    }
                ]
            ),
            r"entry 0 \('a'\): .* Received unknown keys \['lables'\]",
        ),
        (
            _document(
                entries=[
                    {
                        "video_id": "a",
                        "split": "train",
                        "path": "a",
                        "labels": ["cycling"],
                    }
                ]
            ),
            (
                r"entry 0 \('a'\): expected labels among the class names .*"
                r" unknown class 'cycling'"
            ),
        ),
        (
            _document(
                entries=[
                    {
                        "video_id": "a",
                        "split": "tr",
                        "path": "a",
                        "labels": ["cooking"],
                    }
                ]
            ),
            r"entry 0 \('a'\): Expected `split`",
        ),
        (
            _document(
                entries=[
                    {
                        "video_id": "a",
                        "split": "train",
                        "path": "a",
                        "labels": [0],
                    },
                    {
                        "video_id": "a",
                        "split": "test",
                        "path": "b",
                        "labels": [1],
                    },
                ]
            ),
            "index.json: Expected unique video ids",
        ),
        (_document(entries=["a"]), r"entry 0: expected a JSON object"),
    ],
)
def test_from_json_rejects_malformed_files(tmp_path, document, match):
    path = _write(tmp_path / "index.json", document)
    with pytest.raises(ValueError, match=match) as info:
        DatasetIndex.from_json(path)
    assert str(path) in str(info.value)
