"""How the frames of a video are drawn before they reach the backbone."""

import dataclasses
import math
import numbers
import re
from typing import Optional

_FPS_SPEC = re.compile(r"^fps=(?P<fps>[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)$")
_EVEN_SPEC = re.compile(r"^even:(?P<n>[0-9]+)/(?P<m>[0-9]+)$")


@dataclasses.dataclass(frozen=True)
class FrameSampling:
    """How the frames of a video are drawn before they reach the backbone.

    Three rules, spelled as the records' `sampling` field spells them
    (see `tfrecords/README.md`):

    - `"fps=<rate>"`: resample by timestamp to a constant rate
      (`VideoReader.read(fps=rate)`); every video of the dataset then shares
      `stored_fps = rate`, which `FeatureDataset.windows(target_fps=...)`
      needs.
    - `"all"`: every decoded frame (`VideoReader.read()`); each record keeps
      its source's frame rate and the manifest has `stored_fps` null.
    - `"even:<N>/<M>"`: the thesis's rule (§3.2.2), N frames evenly spaced
      over the first M (`VideoReader.read_evenly_spaced(N, M)`), black frames
      standing in for the frames a shorter video lacks; `stored_fps` is 0.

    Build one with `FrameSampling.parse(...)`, `FrameSampling.at_fps(rate)`,
    `FrameSampling.all_frames()` or `FrameSampling.evenly_spaced(N, M)`.

    Args:
        kind: str. `"fps"`, `"all"` or `"even"`.
        fps: float or None. The rate of `"fps"` sampling.
        num_frames: int or None. N of `"even"` sampling.
        first_frames: int or None. M of `"even"` sampling.

    Raises:
        ValueError: if the fields do not describe one of the three rules.

    Example:

    >>> from vidattn.data.frame_sampling import FrameSampling
    >>> FrameSampling.parse(30).spec
    'fps=30'
    >>> FrameSampling.parse("even:26/240").num_frames
    26
    """

    kind: str
    fps: Optional[float] = None
    num_frames: Optional[int] = None
    first_frames: Optional[int] = None

    def __post_init__(self):
        if self.kind == "fps":
            fps = self.fps
            if (
                isinstance(fps, bool)
                or not isinstance(fps, numbers.Real)
                or not math.isfinite(fps)
                or fps <= 0
                or self.num_frames is not None
                or self.first_frames is not None
            ):
                raise ValueError(
                    "Expected `fps` sampling with a positive, finite rate. "
                    f"Received: fps={fps!r}"
                )
            object.__setattr__(self, "fps", float(fps))
        elif self.kind == "all":
            if (
                self.fps is not None
                or self.num_frames is not None
                or self.first_frames is not None
            ):
                raise ValueError(
                    "Expected `all` sampling without fps or frame counts. "
                    f"Received: {self!r}"
                )
        elif self.kind == "even":
            n, m = self.num_frames, self.first_frames
            if (
                self.fps is not None
                or not all(
                    isinstance(v, numbers.Integral)
                    and not isinstance(v, bool)
                    and v > 0
                    for v in (n, m)
                )
                or n > m
            ):
                raise ValueError(
                    "Expected `even` sampling with positive ints "
                    "num_frames <= first_frames (N evenly spaced frames of "
                    f"the first M). Received: num_frames={n!r}, "
                    f"first_frames={m!r}"
                )
            object.__setattr__(self, "num_frames", int(n))
            object.__setattr__(self, "first_frames", int(m))
        else:
            raise ValueError(
                "Expected `kind` to be 'fps', 'all' or 'even'. "
                f"Received: kind={self.kind!r}"
            )

    @classmethod
    def at_fps(cls, fps):
        """Sampling by timestamp at `fps` frames per second."""
        return cls("fps", fps=fps)

    @classmethod
    def all_frames(cls):
        """Every decoded frame."""
        return cls("all")

    @classmethod
    def evenly_spaced(cls, num_frames=26, first_frames=240):
        """N frames evenly spaced over the first M (the thesis: 26 of 240)."""
        return cls("even", num_frames=num_frames, first_frames=first_frames)

    @classmethod
    def parse(cls, value):
        """Reads a sampling rule from a number, a string or a `FrameSampling`.

        Args:
            value: a `FrameSampling`; a positive number (a frame rate); or a
                str: `"all"`, `"fps=<rate>"` (`"fps=30"`), a bare rate
                (`"30"`), `"even:<N>/<M>"` or `"<N>/<M>"` (`"26/240"`).

        Returns:
            A `FrameSampling`.

        Raises:
            ValueError: if `value` is none of these.
        """
        if isinstance(value, cls):
            return value
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            return cls.at_fps(value)
        if isinstance(value, str):
            text = value.strip().lower()
            if text == "all":
                return cls.all_frames()
            if re.fullmatch(r"[0-9]+/[0-9]+", text):
                text = "even:" + text
            elif re.fullmatch(r"[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?", text):
                text = "fps=" + text
            match = _FPS_SPEC.match(text)
            if match:
                return cls.at_fps(float(match.group("fps")))
            match = _EVEN_SPEC.match(text)
            if match:
                return cls.evenly_spaced(
                    int(match.group("n")), int(match.group("m"))
                )
        raise ValueError(
            "Expected a frame sampling rule: a frame rate (30 or 'fps=30'), "
            "'all' (every frame), or N evenly spaced of the first M frames "
            f"('even:26/240' or '26/240'). Received: {value!r}"
        )

    @property
    def spec(self):
        """The rule as the records' `sampling` field spells it."""
        if self.kind == "fps":
            return f"fps={self.fps:g}"
        if self.kind == "all":
            return "all"
        return f"even:{self.num_frames}/{self.first_frames}"

    @property
    def stored_fps(self):
        """The frame rate every video shares after sampling, or None."""
        return self.fps if self.kind == "fps" else None

    def record_stored_fps(self, source_fps):
        """The `stored_fps` of one record, given its source's frame rate."""
        if self.kind == "fps":
            return self.fps
        if self.kind == "all":
            return known_fps(source_fps)
        return 0.0

    def read(self, reader, max_frames=None):
        """Samples the frames of one video.

        Args:
            reader: a `vidattn.data.VideoReader`.
            max_frames: int or None. For `fps` and `all` sampling, stop after
                this many frames (bounds memory on very long videos).
                Defaults to `None`.

        Returns:
            The reader's `SampledFrames`.

        Raises:
            vidattn.data.VideoDecodeError: if the video cannot be decoded.
        """
        if self.kind == "fps":
            return reader.read(fps=self.fps, max_frames=max_frames)
        if self.kind == "all":
            return reader.read(max_frames=max_frames)
        return reader.read_evenly_spaced(self.num_frames, self.first_frames)

    def __str__(self):
        return self.spec


def known_fps(fps):
    """A frame rate as the records store it: 0.0 when unknown.

    Args:
        fps: float or None. A frame rate as a decoder reports it.

    Returns:
        `fps` as a float if it is a positive, finite number, else `0.0`.
    """
    return float(fps) if fps and math.isfinite(fps) and fps > 0 else 0.0
