"""How much of a video decoded, against the length its file declares.

A truncated or damaged file often opens and decodes: an AVI cut at 30 % of
its bytes decodes to the first 30 % of its frames, the last of them garbled,
and nothing else says so. `VideoReader` ends a video at its last good frame
(a frame FFmpeg marks corrupt, or a packet that fails to decode, ends it)
and compares what decoded with what the file declares; `DecodeCoverage`
holds both and decides whether the video is whole.

What a file declares, and where:

- a frame count: the stream's `frames` (AVI and MP4 headers; 0 when the
  container states none, as Matroska and WebM);
- a duration: the Matroska and WebM `DURATION` tag of the track when there
  is one (FFmpeg gives those streams the container's duration, the longest
  track's); else the longest of the stream's `duration` and the
  container's duration when the video is its only stream (with audio, the
  container lasts as long as its longest stream); and the declared frame
  count at the declared frame rate. The longest, because FFmpeg fills in a
  missing duration from the data it finds (a cut AVI, whose index was at
  the end, reports the duration of what is left, but its header still
  declares the frame count).

MPEG program and transport streams and raw streams declare neither: the
durations FFmpeg reports for them are estimates from the last timestamps in
the file, which a cut moves too. A file that declares neither is taken as it
decodes, unless decoding ended on a damaged frame: how much is missing is
then unknown, and the video counts as partial. (A cut that falls exactly
between two frames of such a file cannot be seen.)
"""

import dataclasses
import math
import re
import statistics
from typing import Optional

import av

COMPLETE_FRACTION = 0.95
"""The share of its declared frames and duration a whole video decodes."""

FRAME_SLACK = 2
"""Frames that decoders may deliver fewer than a file declares, whole."""

# Matroska and WebM state a stream's duration as a tag, "HH:MM:SS.nnnnnnnnn".
_DURATION_TAG = re.compile(r"^(\d+):(\d{2}):(\d{2}(?:\.\d+)?)$")

# FFmpeg formats without a header that states a length (program and
# transport streams, raw streams): their durations are FFmpeg's estimates
# from the last timestamps in the file, which a cut moves too.
_ESTIMATED_LENGTH_FORMATS = frozenset(
    ("mpeg", "mpegts", "mpegvideo", "h264", "hevc", "m4v", "ogg")
)


def declared_length(container, stream):
    """The frame count and duration a file declares for its video stream.

    Args:
        container: an open PyAV input container.
        stream: its video stream.

    Returns:
        `(frames, seconds)`: the declared frame count (0 when none) and the
        longest declared duration in seconds (NaN when none).
    """
    frames = max(int(stream.frames or 0), 0)
    if container.format.name in _ESTIMATED_LENGTH_FORMATS:
        return frames, math.nan
    match = _DURATION_TAG.match(stream.metadata.get("DURATION", "").strip())
    if match:
        # The track's own duration. FFmpeg gives Matroska streams the
        # container's duration, which is the longest track's (audio).
        hours, minutes, seconds = match.groups()
        candidates = [int(hours) * 3600 + int(minutes) * 60 + float(seconds)]
    else:
        candidates = []
        if stream.duration is not None and stream.time_base is not None:
            candidates.append(float(stream.duration * stream.time_base))
        if container.duration is not None and len(container.streams) == 1:
            candidates.append(container.duration / av.time_base)
    if frames and stream.average_rate:
        candidates.append(frames / float(stream.average_rate))
    candidates = [c for c in candidates if math.isfinite(c) and c > 0]
    return frames, (max(candidates) if candidates else math.nan)


@dataclasses.dataclass(frozen=True)
class DecodeCoverage:
    """How much of a video decoded, against what its file declares.

    A video is **partial** when the frames it decoded cover less than
    `COMPLETE_FRACTION` (95 %) of its declared frame count or duration,
    allowing `FRAME_SLACK` (2) frames for the disagreement between decoders
    and muxers, or when decoding ended on a damaged frame of a file that
    declares no length. Frames are counted by the span they cover at the
    declared rate as well as one by one, so that an AVI whose header counts
    dropped (empty) frames is not taken for a truncated one.

    Attributes:
        decoded_frames: int. Good frames decoded, up to the first damaged
            one.
        decoded_seconds: float. From the first good frame to the end of the
            last one (its time plus the typical gap between frames).
        declared_frames: int. The frame count the file declares; 0 when it
            declares none.
        declared_seconds: float. The duration the file declares; NaN when it
            declares none.
        frame_interval: float. The typical gap between frames, in seconds.
        damage: str or None. Why decoding ended before the end of the
            stream (a corrupt frame, a decoding error), or None.
    """

    decoded_frames: int
    decoded_seconds: float
    declared_frames: int
    declared_seconds: float
    frame_interval: float
    damage: Optional[str] = None

    @property
    def declares_length(self):
        """Whether the file declares a frame count or a duration."""
        return self.declared_frames > 0 or math.isfinite(self.declared_seconds)

    @property
    def partial(self):
        """Whether the video decoded only in part (see the class)."""
        if not self.declares_length:
            return self.damage is not None
        interval = self.frame_interval
        if self.declared_frames > 0:
            covered = self.decoded_frames
            if interval > 0:
                covered = max(covered, round(self.decoded_seconds / interval))
            missing = self.declared_frames - covered
            allowed = (1 - COMPLETE_FRACTION) * self.declared_frames
            if missing > max(FRAME_SLACK, allowed):
                return True
        if math.isfinite(self.declared_seconds):
            missing = self.declared_seconds - self.decoded_seconds
            allowed = (1 - COMPLETE_FRACTION) * self.declared_seconds
            if missing > max(FRAME_SLACK * interval, allowed):
                return True
        return False

    def describe(self):
        """The figures, e.g. "decoded 50 of 250 declared frames, 2.00 s of
        10.00 s"."""
        decoded = f"{self.decoded_seconds:.2f} s"
        declared = math.isfinite(self.declared_seconds)
        if self.declared_frames > 0:
            text = (
                f"decoded {self.decoded_frames} of {self.declared_frames} "
                f"declared frames, {decoded}"
            )
            return text + (
                f" of {self.declared_seconds:.2f} s" if declared else ""
            )
        text = f"decoded {self.decoded_frames} frames, {decoded}"
        if declared:
            return f"{text} of {self.declared_seconds:.2f} s declared"
        return f"{text}; the file declares no length"

    def reason(self):
        """Why a partial video is refused, in words, with the figures."""
        cause = f"{self.damage}: " if self.damage else ""
        if self.declares_length:
            shortfall = (
                f"less than {COMPLETE_FRACTION:.0%} of what the file "
                "declares: it is truncated or damaged"
            )
        else:
            shortfall = "how much is missing is unknown"
        return (
            f"{cause}{self.describe()}, {shortfall}. Pass "
            "allow_partial=True (`vidattn extract --allow_partial`) to keep "
            "the part that decodes, marked partial in its record."
        )


class DecodeTally:
    """The running count of one decode, from which its coverage comes.

    The decoder calls `add(time)` for each good frame (times in seconds
    from the first good frame), sets `damage` when a damaged frame ends the
    video, and `finished` once decoding reached the end of the stream or a
    damaged frame; a caller that stops early leaves `finished` False.

    Attributes:
        count: int. Good frames decoded.
        last_time: number or None. The time of the last good frame.
        gaps: list. The gaps between consecutive good frames.
        damage: str or None. Why decoding ended before the end of the
            stream.
        finished: bool. Whether decoding ran to its end.
    """

    def __init__(self):
        self.count = 0
        self.last_time = None
        self.gaps = []
        self.damage = None
        self.finished = False

    def add(self, time):
        """Counts a good frame shown at `time` seconds."""
        if self.last_time is not None:
            self.gaps.append(time - self.last_time)
        self.last_time = time
        self.count += 1

    def typical_gap(self, default):
        """The median gap between frames, or `default` with one frame.

        Packet durations come in decode order and need not belong to the
        frame they arrive with, so the last frame is taken to last as long
        as the typical gap.
        """
        return statistics.median_low(self.gaps) if self.gaps else default

    def coverage(self, declared_frames, declared_seconds, default_interval):
        """The `DecodeCoverage` of a finished decode, else None.

        Args:
            declared_frames: int. As `declared_length` returns it.
            declared_seconds: float. As `declared_length` returns it.
            default_interval: number. The gap between frames to assume when
                only one frame decoded (1 / the declared frame rate).
        """
        if not self.finished or not self.count:
            return None
        interval = float(self.typical_gap(default_interval))
        return DecodeCoverage(
            decoded_frames=self.count,
            decoded_seconds=float(self.last_time) + interval,
            declared_frames=declared_frames,
            declared_seconds=declared_seconds,
            frame_interval=interval,
            damage=self.damage,
        )
