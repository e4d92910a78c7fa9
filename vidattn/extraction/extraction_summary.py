"""The outcome of extracting one split."""

import dataclasses
from typing import Tuple

from vidattn.extraction.extraction_failure import ExtractionFailure


@dataclasses.dataclass(frozen=True)
class ExtractionSummary:
    """The outcome of extracting one split.

    Attributes:
        split: str.
        output_dir: str. The split's dataset folder.
        written: int. Videos written by this run.
        skipped: int. Videos the folder already held (not redone).
        failed: int. Videos that could not be decoded or written.
        failures: tuple of `ExtractionFailure`, also in `failures.json`.
        num_frames: int. Frames written by this run.
        seconds: float. Wall time of the run.
        partial: int. Of the videos written, those that decoded only in
            part, kept on request and marked in their records.
    """

    split: str
    output_dir: str
    written: int
    skipped: int
    failed: int
    failures: Tuple[ExtractionFailure, ...]
    num_frames: int
    seconds: float
    partial: int = 0

    @property
    def stored(self):
        """Videos of the split that the folder holds: written or skipped."""
        return self.written + self.skipped

    @property
    def videos_per_second(self):
        """Videos written or failed per second of the run."""
        done = self.written + self.failed
        return done / self.seconds if self.seconds > 0 else 0.0

    @property
    def frames_per_second(self):
        """Frames written per second of the run."""
        return self.num_frames / self.seconds if self.seconds > 0 else 0.0

    def __str__(self):
        partial = f" ({self.partial} partial)" if self.partial else ""
        return (
            f"{self.split}: {self.written} written{partial}, "
            f"{self.skipped} skipped "
            f"(already done), {self.failed} failed, {self.num_frames} frames "
            f"in {self.seconds:.1f} s ({self.videos_per_second:.2f} videos/s, "
            f"{self.frames_per_second:.1f} frames/s) -> {self.output_dir}"
        )
