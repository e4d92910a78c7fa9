"""Tests for vidattn.extraction.select_entries."""

import pytest

from vidattn.data.importers import DatasetIndex
from vidattn.data.importers import VideoEntry
from vidattn.extraction import select_entries


def _entries():
    return [
        VideoEntry("a", "/v/a.mp4", "train", labels=[1]),
        VideoEntry("b", "/v/b.mp4", "test", labels=[0]),
        VideoEntry("c", "/v/c.mp4", "train", labels=[0]),
    ]


def test_the_entries_of_one_split_with_their_classes():
    index = DatasetIndex(_entries(), class_names=("x", "y"))
    entries, class_names, multi_label = select_entries(index, "train")
    assert [e.video_id for e in entries] == ["a", "c"]
    assert class_names == ("x", "y") and multi_label is False

    entries, class_names, _ = select_entries(
        _entries(), "test", class_names=["x", "y"]
    )
    assert [e.video_id for e in entries] == ["b"]
    assert class_names == ("x", "y")


def test_refusals():
    index = DatasetIndex(_entries(), class_names=("x", "y"))
    with pytest.raises(ValueError, match="Expected `split` to be one of"):
        select_entries(index, "dev")
    with pytest.raises(ValueError, match="which carries its own"):
        select_entries(index, "train", class_names=["x", "y"])
    with pytest.raises(ValueError, match="iterable of VideoEntry"):
        select_entries("videos.json", "train")
