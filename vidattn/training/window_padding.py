"""How much of each training window repeats a short video's last frame."""

import numpy as np
from absl import logging


def _span(low, high):
    return f"{low}" if low == high else f"{low} to {high}"


def window_padding_note(data, window, fps, role):
    """Says how many videos are shorter than a window, and by how much.

    A video shorter than a window gives one window that repeats its last
    frame (`vidattn.data.FeatureDataset.windows`): those repeated frames
    are padding the model trains or is scored on.

    Args:
        data: a `vidattn.data.FeatureDataset`.
        window: int. Frames per window.
        fps: float or `None`. The windows' frame rate (`None`: the stored
            frames).
        role: str. What the data are for (`"training"`, `"validation"`).

    Returns:
        One sentence with the figures, or `None` when every video fills a
        window.
    """
    skip = data.frame_skip(fps)
    frames = (np.asarray(data.num_frames) - 1) // skip + 1
    short = frames[frames < window]
    if not len(short):
        return None
    rate = fps if fps is not None else data.stored_fps
    at = ""
    if rate is not None:
        at = f" at {rate:g} fps"
        if skip > 1:
            at += f" (stored at {data.stored_fps:g} fps)"
    counted = _span(int(short.min()), int(short.max())) + " frames"
    if skip > 1:
        counted += f" at {rate:g} fps"
    most = window - int(short.min())
    padding = _span(window - int(short.max()), most)
    padding += " frame of" if most == 1 else " frames of"
    repeat = "repeats" if most == 1 else "repeat"
    if len(short) == len(frames):
        return (
            f"Every {role} video ({data.directory}) is shorter than the "
            f"{window}-frame window{at}: the videos have {counted}, so "
            f"{padding} each window {repeat} the last frame."
        )
    return (
        f"{len(short)} of {len(frames)} {role} videos ({data.directory}) are "
        f"shorter than the {window}-frame window{at}: they have {counted}, so "
        f"{padding} their one window {repeat} the last frame."
    )


def report_window_padding(train, validation, window, fps, verbose):
    """Says once per dataset how many videos are shorter than a window.

    Printed among a run's progress lines when `verbose`, logged as a
    warning otherwise (see `window_padding_note`).

    Args:
        train, validation: `vidattn.data.FeatureDataset`s.
        window, fps: the windows.
        verbose: whether the run prints its progress.
    """
    for data, role in ((train, "training"), (validation, "validation")):
        note = window_padding_note(data, window, fps, role)
        if note and verbose:
            print(note, flush=True)
        elif note:
            logging.warning("%s", note)
