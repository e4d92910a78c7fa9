"""Tests for failures.json: vidattn.extraction.write_failures and read."""

import json
import os

from vidattn.extraction import FAILURES_FILENAME
from vidattn.extraction import ExtractionFailure
from vidattn.extraction import read_failures
from vidattn.extraction import write_failures


def test_failures_round_trip_atomically(tmp_path):
    assert read_failures(str(tmp_path)) == []
    failures = [
        ExtractionFailure("a", "/videos/a.mp4", "the file is empty"),
        ExtractionFailure("b", "/videos/b.mp4", "no video stream"),
    ]
    path = write_failures(str(tmp_path), "train", failures)

    assert path == str(tmp_path / FAILURES_FILENAME)
    with open(path, encoding="utf-8") as f:
        document = json.load(f)
    assert document["format"] == "vidattn.ExtractionFailures"
    assert document["split"] == "train" and document["num_failures"] == 2
    assert document["failures"][0] == {
        "video_id": "a",
        "path": "/videos/a.mp4",
        "reason": "the file is empty",
    }
    assert read_failures(str(tmp_path)) == failures
    assert os.listdir(tmp_path) == [FAILURES_FILENAME]
