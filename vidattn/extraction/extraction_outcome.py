"""Whether an extraction run gave what was asked: the command's verdict.

A run that skips the videos it cannot use goes on to the end, so that one bad
file does not stop a night's extraction; `check_extraction` then says whether
the result is what was asked for, so that `vidattn extract` exits non-zero
when a video failed (unless failures are accepted) and always when a split
ends up holding no video.
"""

import os

from vidattn.extraction.extraction_failure import FAILURES_FILENAME


class IncompleteExtractionError(ValueError):
    """An extraction run left videos out, or a split without any video.

    A `ValueError` (the data could not all be used), so that the command
    line reports it as a message. The message gives the counts and where
    `failures.json` lists the videos and why.
    """


def check_extraction(summaries, allow_failures=False):
    """Raises unless every split holds a video and, unless allowed, none failed.

    A split "holds a video" when the run wrote one or found one already
    written (`ExtractionSummary.stored`): a rerun that had nothing left to do
    passes, a run into an empty folder whose every video failed does not,
    even with `allow_failures`.

    Args:
        summaries: dict mapping each split to its `ExtractionSummary`, as
            `FeatureExtractor.extract_splits` returns it.
        allow_failures: bool. Whether videos that could not be used are
            accepted (the "skip and carry on" mode). Defaults to `False`.

    Raises:
        IncompleteExtractionError: (a `ValueError`) naming the splits, the
            counts and their `failures.json`.
    """
    if not summaries:
        raise IncompleteExtractionError(
            "Expected videos to extract. Received an index without any "
            "video in the splits asked for: nothing was written."
        )

    def failures_path(summary):
        return os.path.join(summary.output_dir, FAILURES_FILENAME)

    empty = [summary for summary in summaries.values() if not summary.stored]
    if empty:
        raise IncompleteExtractionError(
            "; ".join(
                f"{summary.split}: no video could be stored in "
                f"{summary.output_dir} "
                + (
                    f"(all {summary.failed} failed, listed with the reasons "
                    f"in {failures_path(summary)})"
                    if summary.failed
                    else "(the index lists no video in this split)"
                )
                for summary in empty
            )
            + ". Expected at least one video in every split extracted."
        )
    failed = [summary for summary in summaries.values() if summary.failed]
    if failed and not allow_failures:
        count = sum(summary.failed for summary in failed)
        total = sum(s.stored + s.failed for s in summaries.values())
        where = "; ".join(
            f"{summary.split}: {summary.failed}, listed in "
            f"{failures_path(summary)}"
            for summary in failed
        )
        raise IncompleteExtractionError(
            f"{count} of {total} videos could not be used ({where}). The "
            "others are stored: rerun the same command to retry the failed "
            "ones, or accept the dataset without them with "
            "allow_failures=True (`vidattn extract --allow_failures`)."
        )
