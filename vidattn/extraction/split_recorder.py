"""The account of one split's extraction: what was written, what failed."""

from vidattn.extraction.extraction_failure import ExtractionFailure
from vidattn.extraction.extraction_failure import write_failures
from vidattn.extraction.extraction_summary import ExtractionSummary
from vidattn.extraction.video_result import VideoResult


class SplitRecorder:
    """Writes a split's extracted videos and keeps the run's account.

    Each video that reaches `record` is written through the split's
    `ShardWriter`, or, when it could not be decoded or written, listed in
    `failures.json` (rewritten atomically at each failure, so that a killed
    run leaves an up-to-date list) and shown as a failure. Either way the
    progress display is updated and the `on_video` callback receives a
    `VideoResult`.

    Args:
        writer: the split's open `vidattn.data.ShardWriter`.
        progress: a `vidattn.extraction.ExtractionProgress`.
        on_video: callable or None. Called with each `VideoResult`; an
            exception it raises stops the run. Defaults to `None`.

    Attributes:
        written: int. Videos written.
        partial: int. Videos written that decoded only in part (kept on
            request, marked in their records).
        num_frames: int. Frames written.
        failures: list of `ExtractionFailure`.
    """

    def __init__(self, writer, progress, on_video=None):
        self.writer = writer
        self.progress = progress
        self.on_video = on_video
        self.written = 0
        self.partial = 0
        self.num_frames = 0
        self.failures = []

    def record(self, video):
        """Writes a video, or reports why it cannot be written.

        Args:
            video: a `vidattn.extraction.DecodedVideo`: decoded with all its
                features, or not decoded (its `reason` set).
        """
        entry = video.entry
        if video.reason is not None:
            self._report(
                VideoResult(
                    entry.video_id, entry.path, False, reason=video.reason
                )
            )
            return
        features = video.stacked_features()
        labelled = bool(self.writer.class_names)
        try:
            self.writer.write(
                entry.video_id, features, **video.record_fields(labelled)
            )
        except ValueError as error:
            reason = f"could not be written: {error}"
            self._report(
                VideoResult(entry.video_id, entry.path, False, reason=reason)
            )
            return
        if video.partial is not None:
            self.partial += 1
            self.progress.note(
                f"Kept partial video {entry.video_id!r} ({entry.path}): "
                f"{video.partial.describe()}"
            )
        self._report(
            VideoResult(entry.video_id, entry.path, True, len(features))
        )

    def close(self):
        """Writes `failures.json` a last time and closes the display."""
        write_failures(self.writer.directory, self.writer.split, self.failures)
        self.progress.close()

    def summary(self, skipped, seconds):
        """The `ExtractionSummary` of the run.

        Args:
            skipped: int. Videos the folder already held.
            seconds: float. Wall time of the run.

        Returns:
            An `ExtractionSummary`.
        """
        return ExtractionSummary(
            split=self.writer.split,
            output_dir=self.writer.directory,
            written=self.written,
            skipped=skipped,
            failed=len(self.failures),
            failures=tuple(self.failures),
            num_frames=self.num_frames,
            seconds=seconds,
            partial=self.partial,
        )

    def _report(self, result):
        if result.written:
            self.written += 1
            self.num_frames += result.num_frames
        else:
            self.failures.append(
                ExtractionFailure(result.video_id, result.path, result.reason)
            )
            write_failures(
                self.writer.directory, self.writer.split, self.failures
            )
            self.progress.note(
                f"Skipped video {result.video_id!r} ({result.path}): "
                f"{result.reason}"
            )
        self.progress.update(self.written + len(self.failures), self.num_frames)
        if self.on_video is not None:
            self.on_video(result)
