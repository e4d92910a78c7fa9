"""Tests for vidattn.data.importers.VideoEntry: normalisation and validation."""

import pathlib

import numpy as np
import pytest

from vidattn.data.importers import VideoEntry


def test_normalises_fields():
    entry = VideoEntry(
        video_id="clip",
        path=pathlib.Path("/data/clip.avi"),
        split="validation",
        labels=[3, np.int64(1)],
        captions=["a man is cooking"],
        group="g1",
    )
    assert entry.path == "/data/clip.avi"
    assert entry.labels == (1, 3)
    assert all(type(label) is int for label in entry.labels)
    assert entry.captions == ("a man is cooking",)
    assert entry == VideoEntry(
        "clip",
        "/data/clip.avi",
        "validation",
        (3, 1),
        ("a man is cooking",),
        "g1",
    )
    assert hash(entry) == hash(
        VideoEntry(
            "clip",
            "/data/clip.avi",
            "validation",
            (1, 3),
            ("a man is cooking",),
            "g1",
        )
    )


def test_defaults_to_no_labels_captions_or_group():
    entry = VideoEntry("clip", "clip.mp4", "test")
    assert (entry.labels, entry.captions, entry.group) == ((), (), None)


def test_is_immutable():
    entry = VideoEntry("clip", "clip.mp4", "test")
    with pytest.raises(AttributeError):
        entry.split = "train"


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(video_id=""), "`video_id` to be a non-empty str"),
        (dict(video_id=7), "`video_id` to be a non-empty str"),
        (dict(path=""), "`path` to be a non-empty str"),
        (dict(path=None), "`path` to be a non-empty str"),
        (dict(split="val"), "`split` to be one of train, validation, test"),
        (dict(labels=[-1]), "non-negative int class indices"),
        (dict(labels=[True]), "non-negative int class indices"),
        (dict(labels=[1.0]), "non-negative int class indices"),
        (dict(labels=[2, 2]), "each class at most once"),
        (dict(labels="1"), "a sequence, not a single str"),
        (dict(labels=3), "`labels` to be a sequence"),
        (dict(captions="a man is cooking"), "a sequence, not a single str"),
        (dict(captions=["ok", None]), "`captions` to be a sequence of str"),
        (dict(group=3), "`group` to be None or a str"),
    ],
)
def test_rejects_bad_fields(kwargs, match):
    fields = dict(video_id="clip", path="clip.mp4", split="train")
    fields.update(kwargs)
    with pytest.raises(ValueError, match=match) as info:
        VideoEntry(**fields)
    assert "Received" in str(info.value)
