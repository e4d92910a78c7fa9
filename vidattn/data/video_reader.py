"""Decodes video files into uint8 RGB frames with PyAV.

Two sampling rules are offered:

- `VideoReader.read(fps=...)` samples **by timestamp**, so sources of any
  frame rate, variable frame rate included, come out on one regular time grid.
- `VideoReader.read_evenly_spaced(...)` is the rule of Sharma's thesis
  ("Action Recognition and Video Description using Visual Attention", §3.2.2):
  N evenly spaced frames from the first M frames of a video, black frames
  standing in for the frames that a video shorter than M lacks.

Only the video stream is decoded; audio and subtitle streams are ignored. A
video ends at its last good frame: a frame FFmpeg marks corrupt, or a packet
that fails to decode, ends it. A video that decodes to less than its file
declares (a truncated or damaged file) is refused, or kept and marked
partial on request (see `vidattn.data.decode_coverage`).
"""

import fractions
import math
import os
from typing import NamedTuple
from typing import Optional

import av
import numpy as np
from PIL import Image

from vidattn.data.decode_coverage import DecodeCoverage
from vidattn.data.decode_coverage import DecodeTally
from vidattn.data.decode_coverage import declared_length
from vidattn.utils.arguments import check_positive_int
from vidattn.utils.arguments import check_positive_number

# A frame whose presentation time lies this little after a target time still
# counts as shown at that time. It absorbs the rounding of timestamps to the
# container's time base (mkv and webm round to whole milliseconds), and is far
# below the interval between frames of any real video.
_TIMESTAMP_TOLERANCE = fractions.Fraction(1, 1000)


class VideoDecodeError(ValueError):
    """Raised when a video file cannot be decoded.

    Covers missing, empty, unreadable, truncated or corrupt files, files
    that decode to less than they declare, and files without a video stream.
    The message names the file and what went wrong. A `ValueError`, like
    every error in a user's data.

    Args:
        path: str or path-like. The file that failed.
        reason: str. What went wrong, in words.

    Attributes:
        path: str. The file that failed.
        reason: str. What went wrong.
    """

    def __init__(self, path, reason):
        self.path = os.fspath(path)
        self.reason = reason
        super().__init__(f"Could not decode video '{self.path}': {reason}")

    def __reduce__(self):
        return (type(self), (self.path, self.reason))


class SampledFrames(NamedTuple):
    """The frames that a `VideoReader` sampled, with where they came from.

    Attributes:
        frames: uint8 array of shape `(frames, height, width, 3)`, RGB.
        timestamps: float64 array of shape `(frames,)`: the presentation time
            of each frame's source frame, in seconds since the first decoded
            frame. `NaN` for black padding frames.
        indices: int64 array of shape `(frames,)`: the decode-order index of
            each frame's source frame (0 is the first decoded frame). `-1`
            for black padding frames.
        partial: a `vidattn.data.decode_coverage.DecodeCoverage` when the
            video decoded only in part and the reader was made with
            `allow_partial=True` (the frames are those of the part that
            decoded); None for a whole video, or when the sampling stopped
            before the end of the video.
    """

    frames: np.ndarray
    timestamps: np.ndarray
    indices: np.ndarray
    partial: Optional[DecodeCoverage] = None

    @property
    def padding_frames(self):
        """The number of black padding frames, all at the end.

        Decoding yields a video's frames in order and stops at its end (or
        at its first bad frame), so the sampled indices a video lacks are
        always the last ones, and its padding a suffix: what the records'
        `padding_frames` field counts.

        Raises:
            ValueError: if a padding frame comes before a real one, which
                the readers of this module never produce.
        """
        real = self.indices >= 0
        count = int(real.size - np.count_nonzero(real))
        if real[: real.size - count].all():
            return count
        raise ValueError(
            "Expected black padding frames (index -1) only at the end of the "
            f"sampled frames. Received: indices={self.indices.tolist()}"
        )


class VideoReader:
    """Decodes a video file into uint8 RGB frames with PyAV.

    The file is probed when the reader is made (so a missing or broken file
    fails at once) and decoded afresh by each `read...()` call; the reader
    holds no open file between calls.

    Frame times come from each frame's presentation timestamp
    (`pts × time_base`), counted from the first decoded frame, so that
    variable-frame-rate sources are sampled at the right moments.

    A truncated or damaged file is never read as if whole: no frame that
    failed to decode is returned (a frame FFmpeg marks corrupt, or a packet
    that fails to decode, ends the video at the last good frame), and a
    video that decodes to less than its file declares (95 % of the declared
    frames and duration, less 2 frames; see `vidattn.data.decode_coverage`)
    raises `VideoDecodeError` with the figures, e.g. "decoded 50 of 250
    declared frames, 2.00 s of 10.00 s", or, with `allow_partial=True`,
    comes back marked (`SampledFrames.partial`). A sampling that stops
    early (`max_frames`, the first M frames of `read_evenly_spaced`) checks
    only what it decoded.

    Args:
        path: str or path-like. The video file (any container and codec
            that FFmpeg decodes: mp4, avi, mkv, webm, ...).
        size: `None`, an int, or a tuple `(height, width)`. When given, every
            returned frame is resized to that size with PIL's antialiased
            bilinear filter (an int means a square). The aspect ratio is not
            kept. Defaults to `None`: frames keep the source size.
        allow_partial: bool. What to do with a video that decodes to less
            than its file declares (see `vidattn.data.decode_coverage`):
            refuse it with `VideoDecodeError` (False), or return the frames
            that decoded with `SampledFrames.partial` set (True). Defaults
            to `False`.

    Attributes:
        path: str. The video file.
        size: `None` or tuple `(height, width)`: the size of returned frames.
        allow_partial: bool. Whether a video that decodes only in part is
            returned (marked) rather than refused.
        height: int. Height of the source frames.
        width: int. Width of the source frames.
        fps: float. The source's average frame rate as its container states
            it (`NaN` when the container states none).
        frame_count: int. The number of frames as the container states it,
            or as counted from the stream's packets when it states none.
            Decoders may deliver one or two frames more or fewer.
        duration: float. The duration of the video stream in seconds.
        codec: str. The name of the video codec.

    Raises:
        VideoDecodeError: if the file is missing, empty, not a video
            container FFmpeg can read, or holds no video stream.
        ValueError: if `size` is not a positive int or pair of them.

    Example:

    >>> import vidattn.data.video_reader as video_reader
    >>> reader = video_reader.VideoReader("bikes.mp4", size=(224, 224))
    >>> reader.fps, reader.frame_count, reader.duration
    (25.0, 250, 10.0)
    >>> sampled = reader.read(fps=5)
    >>> sampled.frames.shape, sampled.timestamps[:3]
    ((50, 224, 224, 3), array([0. , 0.2, 0.4]))
    >>> reader.read_evenly_spaced(num_frames=26, first_frames=240).frames.shape
    (26, 224, 224, 3)
    """

    def __init__(self, path, size=None, allow_partial=False):
        self.path = os.fspath(path)
        self.size = _standardize_size(size)
        self.allow_partial = bool(allow_partial)
        self._probe()

    def __repr__(self):
        return (
            f"VideoReader(path={self.path!r}, {self.width}x{self.height}, "
            f"fps={self.fps:.3f}, frame_count={self.frame_count}, "
            f"duration={self.duration:.3f}s, codec={self.codec!r})"
        )

    def read(self, fps=None, max_frames=None):
        """Decodes the video, sampling frames by timestamp at a target rate.

        With `fps=None`, every decoded frame is returned in presentation
        order. With a target rate, the target times are `t_k = k / fps`
        seconds after the first frame, for `k = 0, 1, ...` while `t_k` lies
        before the end of the last frame (its timestamp plus the median gap
        between consecutive frames).
        For each `t_k` the frame on screen at that moment is taken: the
        **latest frame whose timestamp is at most `t_k`** (a frame at most
        1 ms late still counts, to absorb timestamp rounding). A source slower
        than `fps` therefore repeats frames and a faster one skips frames; a
        source at exactly `fps` returns every frame once.

        Args:
            fps: `None` or a positive number: the target frame rate in frames
                per second. Defaults to `None` (every decoded frame).
            max_frames: `None` or a positive int: stop after this many
                sampled frames (and stop decoding). Defaults to `None`.

        Returns:
            A `SampledFrames` tuple `(frames, timestamps, indices)`: uint8
            RGB frames of shape `(frames, height, width, 3)`, their source
            frames' timestamps in seconds, and their decode-order indices.

        Raises:
            VideoDecodeError: if the stream holds no decodable frame, or it
                decodes to less than the file declares (a truncated or
                damaged file) and the reader does not allow partial videos.
            ValueError: if `fps` or `max_frames` is not positive.
        """
        check_positive_number("fps", fps, allow_none=True)
        check_positive_int("max_frames", max_frames, allow_none=True)

        frames, timestamps, indices = [], [], []
        run = DecodeTally()

        def emit(decoded):
            frames.append(decoded.rgb(self))
            timestamps.append(float(decoded.time))
            indices.append(decoded.index)
            return max_frames is not None and len(frames) >= max_frames

        if fps is None:
            for decoded in self._decode(run):
                if emit(decoded):
                    break
            return self._finish(frames, timestamps, indices, run)

        interval = 1 / fractions.Fraction(fps).limit_denominator(10**6)
        k = 0
        previous = None
        done = False
        for decoded in self._decode(run):
            if previous is not None:
                # `previous` is on screen until `decoded` shows up.
                while k * interval + _TIMESTAMP_TOLERANCE < decoded.time:
                    k += 1
                    if emit(previous):
                        done = True
                        break
            if done:
                break
            previous = decoded
        if not done and previous is not None:
            # Packet durations come in decode order and need not belong to
            # the frame they arrive with, so the last frame is taken to last
            # as long as the typical (median) gap between frames.
            end = previous.time + run.typical_gap(self._default_interval)
            while k * interval < end:
                k += 1
                if emit(previous):
                    break
        return self._finish(frames, timestamps, indices, run)

    def read_evenly_spaced(self, num_frames=26, first_frames=240):
        """Samples N evenly spaced frames of the first M (thesis §3.2.2).

        The frame indices are `round(linspace(0, M - 1, N))` in decode order
        (for 26 of 240: 0, 10, 19, 29, ..., 229, 239), spanning the whole
        window whatever the video's length. Indices past the end of a video
        shorter than M become black frames (timestamp `NaN`, index `-1`), so
        every video yields exactly N frames. Only the first M frames are
        decoded.

        Args:
            num_frames: positive int, N: the number of frames returned.
                Defaults to 26.
            first_frames: positive int, M: the window of leading frames the
                samples are spread over; at least `num_frames`. Defaults to
                240.

        Returns:
            A `SampledFrames` tuple `(frames, timestamps, indices)` with
            exactly `num_frames` frames.

        Raises:
            VideoDecodeError: if the stream holds no decodable frame, or it
                ends before the first M frames and decodes to less than the
                file declares (a truncated or damaged file), and the reader
                does not allow partial videos.
            ValueError: if the counts are not positive ints or
                `num_frames > first_frames`.
        """
        check_positive_int("num_frames", num_frames)
        check_positive_int("first_frames", first_frames)
        if num_frames > first_frames:
            raise ValueError(
                "Expected `num_frames` to be at most `first_frames` (the "
                "frames are taken from the first `first_frames` frames). "
                f"Received: num_frames={num_frames}, "
                f"first_frames={first_frames}"
            )
        wanted = np.round(np.linspace(0, first_frames - 1, num_frames)).astype(
            np.int64
        )
        wanted_set = set(wanted.tolist())
        found = {}
        last = int(wanted[-1])
        run = DecodeTally()
        for decoded in self._decode(run):
            if decoded.index in wanted_set:
                decoded.rgb(self)
                found[decoded.index] = decoded
            if decoded.index >= last:
                break
        if not run.count:
            raise VideoDecodeError(
                self.path, "the video stream holds no decodable frame"
            )
        partial = self._coverage(run)
        height, width = self.size or (self.height, self.width)
        black = np.zeros((height, width, 3), dtype=np.uint8)
        frames, timestamps, indices = [], [], []
        for index in wanted.tolist():
            decoded = found.get(index)
            if decoded is None:
                frames.append(black)
                timestamps.append(math.nan)
                indices.append(-1)
            else:
                frames.append(decoded.rgb(self))
                timestamps.append(float(decoded.time))
                indices.append(index)
        return SampledFrames(
            frames=np.stack(frames),
            timestamps=np.asarray(timestamps, dtype=np.float64),
            indices=np.asarray(indices, dtype=np.int64),
            partial=partial,
        )

    def _finish(self, frames, timestamps, indices, run):
        if not frames:
            raise VideoDecodeError(
                self.path, "the video stream holds no decodable frame"
            )
        partial = self._coverage(run)
        return SampledFrames(
            frames=np.stack(frames),
            timestamps=np.asarray(timestamps, dtype=np.float64),
            indices=np.asarray(indices, dtype=np.int64),
            partial=partial,
        )

    def _coverage(self, run):
        """Checks a decode (a `DecodeTally`) against the declared length.

        Returns:
            None when the decode stopped early on purpose or the video is
            whole; the `DecodeCoverage` of a partial video when partial
            videos are allowed.

        Raises:
            VideoDecodeError: for a partial video, unless allowed.
        """
        coverage = run.coverage(*self._declared, self._default_interval)
        if coverage is None or not coverage.partial:
            return None
        if not self.allow_partial:
            raise VideoDecodeError(self.path, coverage.reason())
        return coverage

    def _open(self):
        if not os.path.exists(self.path):
            raise VideoDecodeError(self.path, "the file does not exist")
        if os.path.isdir(self.path):
            raise VideoDecodeError(self.path, "the path is a directory")
        if os.path.getsize(self.path) == 0:
            raise VideoDecodeError(self.path, "the file is empty (0 bytes)")
        if not os.access(self.path, os.R_OK):
            raise VideoDecodeError(
                self.path, "permission denied: the file is not readable"
            )
        try:
            container = av.open(self.path, mode="r")
        except av.error.FFmpegError as error:
            raise VideoDecodeError(
                self.path,
                "FFmpeg cannot read it as a video container (it may be "
                f"truncated, corrupt or not a video): {error}",
            ) from error
        except OSError as error:
            raise VideoDecodeError(self.path, str(error)) from error
        if not container.streams.video:
            kinds = sorted({stream.type for stream in container.streams})
            container.close()
            raise VideoDecodeError(
                self.path,
                "it holds no video stream (streams found: "
                f"{', '.join(kinds) or 'none'})",
            )
        return container

    def _probe(self):
        with self._open() as container:
            stream = container.streams.video[0]
            context = stream.codec_context
            self.codec = context.name
            self.width = int(context.width)
            self.height = int(context.height)
            rate = stream.average_rate or stream.guessed_rate
            frame_count = int(stream.frames or 0)
            self._declared = declared_length(container, stream)
            if frame_count <= 0:
                # Some containers (mkv, webm) state no frame count.
                frame_count = sum(
                    1
                    for packet in container.demux(stream)
                    if packet.size and packet.stream.index == stream.index
                )
            if stream.duration is not None and stream.time_base is not None:
                duration = float(stream.duration * stream.time_base)
            elif container.duration is not None:
                duration = container.duration / av.time_base
            elif rate:
                duration = frame_count / float(rate)
            else:
                duration = math.nan
            if not rate and duration and math.isfinite(duration):
                rate = frame_count / duration
            self.fps = float(rate) if rate else math.nan
            self.frame_count = frame_count
            self.duration = duration
        self._time_base = stream.time_base
        if self.fps and math.isfinite(self.fps):
            self._default_interval = 1 / fractions.Fraction(
                self.fps
            ).limit_denominator(10**6)
        else:
            self._default_interval = fractions.Fraction(1, 25)

    def _decode(self, run):
        """Yields each good decoded frame, as a `_DecodedFrame`, in display
        order, and counts in `run` (a `DecodeTally`) what it saw and how
        decoding ended.

        A frame FFmpeg marks corrupt, or a packet that fails to decode, ends
        the video at the last good frame; corrupt frames before the first
        good one (pictures that refer to a missing one) are skipped.
        """
        with self._open() as container:
            stream = container.streams.video[0]
            # Slice threads only: with frame threads FFmpeg drops the error
            # that a truncated last packet raises, and a cut-off file would
            # pass for a short one.
            stream.thread_type = "SLICE"
            time_base = stream.time_base or self._time_base
            first_pts = None
            previous_time = None
            index = 0
            iterator = container.decode(stream)
            while True:
                try:
                    frame = next(iterator)
                except StopIteration:
                    break
                except av.error.FFmpegError as error:
                    if index == 0:
                        raise VideoDecodeError(
                            self.path,
                            "decoding failed after 0 frames (the file may "
                            f"be truncated or corrupt): {error}",
                        ) from error
                    run.damage = (
                        f"decoding failed after {index} frames (the file may "
                        f"be truncated or corrupt: {error})"
                    )
                    break
                if frame.is_corrupt:
                    if index == 0:
                        continue
                    run.damage = (
                        f"frame {index} failed to decode (FFmpeg marks it "
                        "corrupt)"
                    )
                    break
                if frame.pts is None or time_base is None:
                    # No timestamp: assume the frame follows at the stream rate.
                    time = (
                        fractions.Fraction(0)
                        if previous_time is None
                        else previous_time + self._default_interval
                    )
                else:
                    if first_pts is None:
                        first_pts = frame.pts
                    time = (frame.pts - first_pts) * time_base
                    if previous_time is not None and time < previous_time:
                        # Broken files can step back in time; keep order.
                        time = previous_time
                run.add(time)
                yield _DecodedFrame(index, fractions.Fraction(time), frame)
                previous_time = time
                index += 1
            run.finished = True


class _DecodedFrame:
    """One decoded frame, converted to RGB at most once and only when used."""

    __slots__ = ("index", "time", "_frame", "_rgb")

    def __init__(self, index, time, frame):
        self.index = index
        self.time = time
        self._frame = frame
        self._rgb = None

    def rgb(self, reader):
        if self._rgb is None:
            array = self._frame.to_ndarray(format="rgb24")
            if reader.size is not None and array.shape[:2] != reader.size:
                height, width = reader.size
                image = Image.fromarray(array).resize(
                    (width, height), resample=Image.Resampling.BILINEAR
                )
                array = np.asarray(image)
            self._rgb = np.ascontiguousarray(array, dtype=np.uint8)
            self._frame = None
        return self._rgb


def _standardize_size(size):
    if size is None:
        return None
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        size = (int(size), int(size))
    if (
        not isinstance(size, (tuple, list))
        or len(size) != 2
        or not all(
            isinstance(s, (int, np.integer))
            and not isinstance(s, bool)
            and s > 0
            for s in size
        )
    ):
        raise ValueError(
            "Expected `size` to be None, a positive int, or a tuple of two "
            f"positive ints (height, width). Received: size={size!r}"
        )
    return (int(size[0]), int(size[1]))
