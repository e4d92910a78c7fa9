"""Tests for vidattn.extraction.ExtractionProgress: a Progbar, never spam."""

import io
import logging
import re
import sys

import keras

from vidattn.extraction import ExtractionProgress

# A Progbar `verbose=2` line, as written where nothing can be redrawn.
PROGRESS_LINE = re.compile(
    r"^(\d+)/(\d+) - \d+s - \S+/video - videos/s: \S+ - frames/s: \S+$"
)


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_bar_is_redrawn_on_a_terminal(monkeypatch):
    stream = Terminal()
    monkeypatch.setattr(sys, "stdout", stream)
    progress = ExtractionProgress("train", total=3, skipped=1, verbose=1)
    progress.update(1, 10)
    progress.note("Skipped video 'b' (b.mp4): the file is empty")
    for done in (2, 3):
        progress.update(done, 10 * done)
    progress.close()
    text = stream.getvalue()
    assert text.startswith(
        "train: 4 videos, 1 already extracted, 3 to extract.\n"
    )
    # Drawn at the first update and at the last, in place.
    assert text.count("\r") >= 2
    # A failure leaves the bar's line rather than writing into it.
    assert "\nSkipped video 'b' (b.mp4): the file is empty\n" in text
    assert "3/3" in text and "videos/s" in text and "frames/s" in text
    assert text.endswith("\n")


def test_a_few_lines_without_a_terminal(capsys):
    progress = ExtractionProgress("train", total=3, skipped=0, verbose=1)
    for done in (1, 2, 3):
        progress.update(done, 5 * done)
    progress.close()
    output = capsys.readouterr().out
    assert "\r" not in output and "\b" not in output and "\x1b" not in output
    lines = output.splitlines()
    assert lines[0] == "train: 3 videos, 0 already extracted, 3 to extract."
    # Not one line per update: the final line only, within 30 s.
    assert len(lines) == 2
    assert PROGRESS_LINE.match(lines[1]).groups() == ("3", "3")


def test_a_line_every_interval_without_a_terminal(capsys):
    progress = ExtractionProgress(
        "train", total=3, skipped=0, verbose=1, interval=0.0
    )
    for done in (1, 2, 3):
        progress.update(done, 5 * done)
    progress.close()
    lines = capsys.readouterr().out.splitlines()
    counts = [PROGRESS_LINE.match(line).groups() for line in lines[1:]]
    assert counts == [("1", "3"), ("2", "3"), ("3", "3"), ("3", "3")]


def test_silent_progress_logs_failures(capsys, caplog):
    progress = ExtractionProgress("train", total=2, skipped=0, verbose=0)
    with caplog.at_level(logging.WARNING):
        progress.update(1, 5)
        progress.note("Skipped video 'a' (a.mp4): the file is empty")
        progress.close()
    assert capsys.readouterr().out == ""
    assert "Skipped video 'a' (a.mp4)" in caplog.text


def test_follows_keras_interactive_logging(capsys, caplog):
    keras.config.disable_interactive_logging()
    try:
        # absl's logger may carry a level from flags parsed by earlier tests.
        with caplog.at_level(logging.INFO, logger="absl"):
            progress = ExtractionProgress("train", total=1, skipped=0)
            progress.update(1, 5)
            progress.close()
    finally:
        keras.config.enable_interactive_logging()
    assert capsys.readouterr().out == ""
    assert "train: 1 videos, 0 already extracted, 1 to extract." in caplog.text
    assert "videos/s" in caplog.text
