"""Tests for vidattn.extraction.extraction_outcome: a run's verdict."""

import pytest

from vidattn.extraction import ExtractionFailure
from vidattn.extraction import ExtractionSummary
from vidattn.extraction import IncompleteExtractionError
from vidattn.extraction import check_extraction


def _summary(split, written, skipped, failed):
    failures = tuple(
        ExtractionFailure(f"{split}/{i}", f"/videos/{i}.mp4", "empty")
        for i in range(failed)
    )
    return ExtractionSummary(
        split, f"/out/{split}", written, skipped, failed, failures, 10, 1.0
    )


def test_complete_runs_and_resumed_runs_with_nothing_left_pass():
    check_extraction({"train": _summary("train", 5, 0, 0)})
    check_extraction({"train": _summary("train", 0, 5, 0)})
    check_extraction({"train": _summary("train", 3, 2, 1)}, allow_failures=True)


def test_failed_videos_fail_the_run_unless_accepted():
    summaries = {
        "train": _summary("train", 4, 0, 3),
        "test": _summary("test", 2, 0, 1),
    }
    with pytest.raises(IncompleteExtractionError) as info:
        check_extraction(summaries)
    assert isinstance(info.value, ValueError)
    message = str(info.value)
    assert message.startswith("4 of 10 videos could not be used")
    assert "train: 3, listed in /out/train/failures.json" in message
    assert "test: 1, listed in /out/test/failures.json" in message
    assert "--allow_failures" in message
    check_extraction(summaries, allow_failures=True)


def test_a_split_without_any_video_always_fails():
    summaries = {
        "train": _summary("train", 4, 0, 0),
        "test": _summary("test", 0, 0, 2),
    }
    for allow_failures in (False, True):
        with pytest.raises(IncompleteExtractionError) as info:
            check_extraction(summaries, allow_failures=allow_failures)
        assert str(info.value).startswith(
            "test: no video could be stored in /out/test (all 2 failed, "
            "listed with the reasons in /out/test/failures.json)"
        )
    with pytest.raises(IncompleteExtractionError, match="lists no video"):
        check_extraction({"test": _summary("test", 0, 0, 0)})
    with pytest.raises(IncompleteExtractionError, match="nothing was written"):
        check_extraction({})
