"""What an extraction run shows while it runs, with `keras.utils.Progbar`."""

import sys
import time

import keras
from absl import logging


def _is_terminal(stream):
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # A closed stream.
        return False


class ExtractionProgress:
    """The progress display of one split's extraction.

    It prints where Keras prints a `fit` progress bar (stdout, or absl
    logging when `keras.config.disable_interactive_logging()` was called):

    - a start line: `"train: 7 videos, 2 already extracted, 5 to extract."`;
    - on a terminal, a `keras.utils.Progbar` redrawn in place: videos done
      of the total, ETA, time per video, videos/s and frames/s;
    - elsewhere (a log file, CI), no redrawing: the same figures as one
      line every `interval` seconds and one at the end, in the form of a
      Progbar's `verbose=2` line (`"5/5 - 3s - 600ms/video - videos/s: ...
      - frames/s: ..."`);
    - a line per video that could not be used, with its file and reason.

    Args:
        split: str. Named in the start line.
        total: int. Videos to extract.
        skipped: int. Videos the folder already holds.
        verbose: int. 0: nothing is shown, and failures are logged as
            warnings; 1: the progress display. Defaults to 1.
        interval: float. Seconds between progress lines when stdout is not
            a terminal. Defaults to 30.
    """

    def __init__(self, split, total, skipped, verbose=1, interval=30.0):
        self.split = split
        self.total = total
        self.verbose = verbose
        self.interval = interval
        self._terminal = _is_terminal(sys.stdout)
        self._started = time.perf_counter()
        self._last_line = self._started
        self._done = 0
        self._frames = 0
        # Whether the cursor stands at the end of a partly drawn bar.
        self._bar_open = False
        self._progbar = None
        if not verbose:
            return
        self._print(
            f"{split}: {total + skipped} videos, {skipped} already "
            f"extracted, {total} to extract."
        )
        if total:
            self._progbar = keras.utils.Progbar(
                total,
                verbose=1 if self._terminal else 2,
                unit_name="video",
                stateful_metrics=("videos/s", "frames/s"),
            )

    def update(self, done, num_frames):
        """Shows that `done` videos are done, with `num_frames` frames.

        Args:
            done: int. Videos written or failed so far.
            num_frames: int. Frames written so far.
        """
        self._done, self._frames = done, num_frames
        if self._progbar is None:
            return
        now = time.perf_counter()
        if self._terminal:
            self._progbar.update(done, self._rates(now))
            self._bar_open = done < self.total
        elif now - self._last_line >= self.interval:
            self._progbar.update(done, self._rates(now), finalize=True)
            self._last_line = now

    def note(self, message):
        """Shows `message` on its own line (a failed video).

        Args:
            message: str.
        """
        if not self.verbose:
            logging.warning("%s", message)
            return
        if self._bar_open:
            # Leave the bar's line; the next update draws it below.
            message = "\n" + message
            self._bar_open = False
        self._print(message)

    def close(self):
        """Shows the final figures."""
        if self._progbar is None:
            return
        if not self._terminal or self._done < self.total:
            rates = self._rates(time.perf_counter())
            self._progbar.update(self._done, rates, finalize=True)
        self._bar_open = False

    def _rates(self, now):
        elapsed = max(now - self._started, 1e-9)
        return [
            ("videos/s", self._done / elapsed),
            ("frames/s", self._frames / elapsed),
        ]

    def _print(self, text):
        if keras.config.is_interactive_logging_enabled():
            sys.stdout.write(text + "\n")
            sys.stdout.flush()
        else:
            logging.info("%s", text)
