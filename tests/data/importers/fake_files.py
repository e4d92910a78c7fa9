"""Builds small fake dataset trees: placeholder video files and list files.

Importers only list files, so a few bytes stand in for each video.
"""

import pathlib


def touch_video(path):
    """Writes a placeholder video file (creating its folders); returns it."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"not a real video")
    return path


def write_lines(path, lines, newline="\n"):
    """Writes `lines` as a text file (creating its folders); returns it."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write("".join(line + newline for line in lines))
    return path
