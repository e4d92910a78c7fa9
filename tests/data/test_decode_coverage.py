"""Tests for vidattn.data.decode_coverage: whole or partial, and why."""

import math

import pytest

from vidattn.data.decode_coverage import DecodeCoverage


def _coverage(frames, seconds, declared_frames, declared_seconds, **kwargs):
    return DecodeCoverage(
        decoded_frames=frames,
        decoded_seconds=seconds,
        declared_frames=declared_frames,
        declared_seconds=declared_seconds,
        frame_interval=kwargs.pop("interval", 0.04),
        **kwargs,
    )


@pytest.mark.parametrize(
    "frames, seconds, declared_frames, declared_seconds, partial",
    [
        (250, 10.0, 250, 10.0, False),
        # Decoders disagree by a frame or two.
        (248, 9.92, 250, 10.0, False),
        (4, 0.16, 6, 0.24, False),
        # 95 % of what is declared.
        (238, 9.52, 250, 10.0, False),
        (237, 9.48, 250, 10.0, True),
        # The cut AVI of the issue: its header declares 795 frames.
        (239, 7.97, 795, 26.5, True),
        # Frames alone, or a duration alone.
        (50, 2.0, 250, math.nan, True),
        (19, 0.76, 0, 2.4, True),
        (60, 2.4, 0, 2.4, False),
        # An AVI whose header counts dropped (empty) frames: the frames
        # that decoded span the whole video.
        (200, 10.0, 250, 10.0, False),
    ],
)
def test_the_tolerance_rule(
    frames, seconds, declared_frames, declared_seconds, partial
):
    coverage = _coverage(frames, seconds, declared_frames, declared_seconds)
    assert coverage.partial is partial


def test_a_file_that_declares_nothing_is_taken_as_it_decodes_unless_damaged():
    assert not _coverage(70, 2.8, 0, math.nan).partial
    damaged = _coverage(70, 2.8, 0, math.nan, damage="frame 70 failed")
    assert damaged.partial
    assert damaged.describe() == (
        "decoded 70 frames, 2.80 s; the file declares no length"
    )
    assert damaged.reason().startswith(
        "frame 70 failed: decoded 70 frames, 2.80 s; the file declares no "
        "length, how much is missing is unknown."
    )
    # Damage within the tolerance of a declared length: whole.
    assert not _coverage(249, 9.96, 250, 10.0, damage="frame 249").partial


def test_the_figures_in_words():
    coverage = _coverage(239, 7.97, 795, 26.5)
    assert coverage.describe() == (
        "decoded 239 of 795 declared frames, 7.97 s of 26.50 s"
    )
    assert "less than 95% of what the file declares" in coverage.reason()
    assert "--allow_partial" in coverage.reason()
    assert _coverage(50, 2.0, 250, math.nan).describe() == (
        "decoded 50 of 250 declared frames, 2.00 s"
    )
    assert _coverage(19, 0.76, 0, 2.4).describe() == (
        "decoded 19 frames, 0.76 s of 2.40 s declared"
    )
