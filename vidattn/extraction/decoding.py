"""The decoding step of extraction: one `VideoEntry` in, sampled frames out.

`decode_entry` decodes and samples one video and never raises for a bad
file: a video that cannot be decoded comes back with the reason, so that one
bad file does not end a run. `decode_entries` runs it over many entries in a
pool of threads, a bounded number of videos ahead of the caller.
`FeatureExtractor` and the Beam pipeline both decode through here.
"""

import collections
import concurrent.futures
import dataclasses
import functools
import threading
from typing import Optional

import numpy as np

from vidattn.data.decode_coverage import DecodeCoverage
from vidattn.data.frame_sampling import FrameSampling
from vidattn.data.frame_sampling import known_fps
from vidattn.data.importers import VideoEntry
from vidattn.data.video_reader import VideoDecodeError
from vidattn.data.video_reader import VideoReader


@dataclasses.dataclass
class DecodedVideo:
    """One video's sampled frames, and later its features.

    Attributes:
        entry: the `VideoEntry` decoded.
        sampling: the `FrameSampling` that drew the frames.
        frames: uint8 array `(frames, height, width, 3)`, or None when the
            video could not be decoded (or once its features are complete).
        source_fps: float. The source's frame rate, 0 when unknown.
        reason: str or None. Why the video could not be decoded.
        partial: a `DecodeCoverage` when the video decoded only in part and
            was kept on request (see `vidattn.data.VideoReader`), else None.
        padding_frames: int. Black frames at the end of `frames` that stand
            in for frames the video lacks (`even:` sampling of a short
            video).
        features: list of arrays. The feature cubes computed so far, in
            frame order (see `vidattn.extraction.FrameBatcher`).
        remaining: int. Frames still waiting for the backbone.
    """

    entry: VideoEntry
    sampling: FrameSampling
    frames: Optional[np.ndarray] = None
    source_fps: float = 0.0
    reason: Optional[str] = None
    partial: Optional[DecodeCoverage] = None
    padding_frames: int = 0
    features: list = dataclasses.field(default_factory=list)
    remaining: int = 0

    def stacked_features(self):
        """The feature cubes so far, as one `(frames, K, K, D)` array."""
        if len(self.features) == 1:
            return self.features[0]
        return np.concatenate(self.features)

    def record_fields(self, labelled):
        """The per-video fields of its record, but the features.

        Args:
            labelled: bool. Whether the dataset has classes (the entry's
                labels are stored only then).

        Returns:
            A dict of the keyword arguments `labels`, `captions`,
            `sampling`, `stored_fps`, `source_fps`, `partial` and
            `padding_frames` of
            `vidattn.data.ShardWriter.write` and
            `vidattn.data.records.encode_video`.
        """
        entry = self.entry
        return {
            "labels": list(entry.labels) if labelled else None,
            "captions": list(entry.captions) or None,
            "sampling": self.sampling.spec,
            "stored_fps": self.sampling.record_stored_fps(self.source_fps),
            "source_fps": self.source_fps,
            "partial": self.partial is not None,
            "padding_frames": self.padding_frames,
        }


def decode_entry(
    entry,
    sampling,
    *,
    size=None,
    max_frames=None,
    allow_partial=False,
    stop=None,
):
    """Decodes and samples one video; a failure comes back as a reason.

    Args:
        entry: a `VideoEntry`.
        sampling: a `FrameSampling`.
        size: `(height, width)` or None. Resize frames to this size while
            decoding (PIL, antialiased bilinear). Defaults to `None`: as
            decoded.
        max_frames: int or None. See `FrameSampling.read`. Defaults to
            `None`.
        allow_partial: bool. Keep a video that decodes only in part (a
            truncated or damaged file), marked `partial`, rather than fail
            it. Defaults to `False`.
        stop: `threading.Event` or None. Once set, the entry is not decoded
            (a run that stopped). Defaults to `None`.

    Returns:
        A `DecodedVideo`: with `frames` and `remaining` set (and `partial`
        for a video kept in part), or with `reason` set when the video
        could not be decoded.
    """
    if stop is not None and stop.is_set():
        return DecodedVideo(entry, sampling, reason="the run stopped")
    try:
        reader = VideoReader(entry.path, size=size, allow_partial=allow_partial)
        sampled = sampling.read(reader, max_frames=max_frames)
    except VideoDecodeError as error:
        return DecodedVideo(entry, sampling, reason=error.reason)
    except Exception as error:  # noqa: BLE001 - one bad file must not end a run.
        return DecodedVideo(
            entry,
            sampling,
            reason=f"decoding failed: {type(error).__name__}: {error}",
        )
    return DecodedVideo(
        entry,
        sampling,
        frames=sampled.frames,
        source_fps=known_fps(reader.fps),
        partial=sampled.partial,
        padding_frames=sampled.padding_frames,
        remaining=len(sampled.frames),
    )


def decode_entries(
    entries,
    sampling,
    *,
    size=None,
    max_frames=None,
    allow_partial=False,
    workers=2,
    prefetch=4,
):
    """Decodes videos in a pool of threads, a few ahead of the caller.

    PyAV and PIL release the GIL, so decoding overlaps whatever the caller
    does with the videos, and memory holds at most `prefetch` decoded
    videos. Close the generator (`contextlib.closing`) to stop the decoders
    early.

    Args:
        entries: iterable of `VideoEntry`.
        sampling: a `FrameSampling`.
        size: `(height, width)` or None. See `decode_entry`.
        max_frames: int or None. See `decode_entry`.
        allow_partial: bool. See `decode_entry`. Defaults to `False`.
        workers: int. Decoder threads. Defaults to 2.
        prefetch: int. Videos decoded or decoding ahead at most. Defaults
            to 4.

    Yields:
        A `DecodedVideo` per entry, in entry order.
    """
    stop = threading.Event()
    decode = functools.partial(
        decode_entry,
        sampling=sampling,
        size=size,
        max_frames=max_frames,
        allow_partial=allow_partial,
        stop=stop,
    )
    pending = collections.deque()
    remaining = iter(entries)
    pool = concurrent.futures.ThreadPoolExecutor(
        max_workers=workers, thread_name_prefix="vidattn-decoder"
    )
    try:
        while True:
            # The deque is the bounded queue: at most `prefetch` videos are
            # decoded or decoding ahead of the caller.
            while len(pending) < prefetch:
                entry = next(remaining, None)
                if entry is None:
                    break
                pending.append(pool.submit(decode, entry))
            if not pending:
                return
            yield pending.popleft().result()
    finally:
        stop.set()
        for future in pending:
            future.cancel()
        pool.shutdown(wait=True)
