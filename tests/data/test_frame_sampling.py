"""Tests for vidattn.data.frame_sampling."""

import pytest

from vidattn.data.frame_sampling import FrameSampling
from vidattn.data.frame_sampling import known_fps


@pytest.mark.parametrize(
    "value, spec, stored_fps",
    [
        (30, "fps=30", 30.0),
        (29.97, "fps=29.97", 29.97),
        ("fps=12.5", "fps=12.5", 12.5),
        ("10", "fps=10", 10.0),
        ("all", "all", None),
        ("even:26/240", "even:26/240", None),
        ("26/240", "even:26/240", None),
        (FrameSampling.evenly_spaced(), "even:26/240", None),
    ],
)
def test_frame_sampling_parse(value, spec, stored_fps):
    sampling = FrameSampling.parse(value)
    assert sampling.spec == spec
    assert str(sampling) == spec
    assert sampling.stored_fps == stored_fps
    assert FrameSampling.parse(sampling.spec) == sampling


@pytest.mark.parametrize(
    "value",
    [0, -5, float("nan"), "fps=", "even:30/20", "even:0/10", "some", True],
)
def test_frame_sampling_refuses_bad_rules(value):
    with pytest.raises(ValueError, match="Expected"):
        FrameSampling.parse(value)


def test_record_stored_fps_follows_the_rule():
    assert FrameSampling.at_fps(10).record_stored_fps(25.0) == 10.0
    assert FrameSampling.all_frames().record_stored_fps(25.0) == 25.0
    assert FrameSampling.all_frames().record_stored_fps(float("nan")) == 0.0
    assert FrameSampling.evenly_spaced(4, 8).record_stored_fps(25.0) == 0.0

    assert known_fps(None) == 0.0 and known_fps(-1) == 0.0
    assert known_fps(29.97) == 29.97
