"""Helpers shared by the dataset importers: listing folders, reading list files.

Private: the importers' public API is in `vidattn.data.importers`.
"""

import csv
import os
import warnings

# The split names of every `VideoEntry`, in the order they are reported.
SPLITS = ("train", "validation", "test")

# Containers that FFmpeg (PyAV) decodes and that video datasets ship in.
VIDEO_EXTENSIONS = ("mp4", "avi", "mkv", "mov", "webm")

# Extensions that mark a listed name as a file name rather than a stem.
_KNOWN_VIDEO_EXTENSIONS = frozenset(
    VIDEO_EXTENSIONS
    + ("mpg", "mpeg", "m4v", "wmv", "flv", "3gp", "ogv", "ts", "vob")
)

# How many names an error message lists before it says "and N more".
_LISTED = 5


def check_root(root, what, hint=""):
    """Returns `root` as an absolute path, or raises if it is not a folder."""
    try:
        path = os.fspath(root)
    except TypeError:
        raise TypeError(
            f"Expected the {what} folder as a str or path-like. "
            f"Received: root={root!r}"
        ) from None
    path = os.path.abspath(path)
    if not os.path.exists(path):
        message = f"Expected the {what} folder {path!r}; it does not exist."
        raise FileNotFoundError(f"{message} {hint}".rstrip())
    if not os.path.isdir(path):
        raise NotADirectoryError(
            f"Expected the {what} folder {path!r} to be a folder; it is a "
            f"file. {hint}".rstrip()
        )
    return path


def check_file(path, what, hint=""):
    """Raises `FileNotFoundError` naming `path` unless it is a file."""
    if not os.path.isfile(path):
        state = "it is a folder" if os.path.isdir(path) else "it does not exist"
        raise FileNotFoundError(
            f"Expected the {what} {path!r}; {state}. {hint}".rstrip()
        )
    return path


def check_folder(path, what, hint=""):
    """Raises `FileNotFoundError` naming `path` unless it is a folder."""
    if not os.path.isdir(path):
        state = "it is a file" if os.path.isfile(path) else "it does not exist"
        raise FileNotFoundError(
            f"Expected the {what} {path!r}; {state}. {hint}".rstrip()
        )
    return path


def subfolders(path):
    """The names of the visible subfolders of `path`, sorted."""
    with os.scandir(path) as scan:
        return sorted(
            item.name
            for item in scan
            if item.is_dir() and not item.name.startswith(".")
        )


def video_files(path, extensions):
    """The sorted names of the visible files in `path` with `extensions`.

    `extensions` must come from `standardize_extensions` (lower case, no dot).
    """
    with os.scandir(path) as scan:
        return sorted(
            item.name
            for item in scan
            if item.is_file()
            and not item.name.startswith(".")
            and extension_of(item.name) in extensions
        )


def extension_of(filename):
    return os.path.splitext(filename)[1][1:].lower()


def standardize_extensions(extensions, default):
    """Returns a tuple of lower-case extensions without dots."""
    if extensions is None:
        extensions = default
    items = (extensions,) if isinstance(extensions, str) else extensions
    try:
        items = tuple(items)
    except TypeError:
        items = ()
    if not items or not all(isinstance(e, str) and e.strip(".") for e in items):
        raise ValueError(
            "Expected `extensions` to be a non-empty sequence of file "
            "extensions such as ('avi', 'mp4'). "
            f"Received: extensions={extensions!r}"
        )
    return tuple(e.lower().lstrip(".") for e in items)


def check_missing_policy(missing):
    if missing not in ("error", "skip"):
        raise ValueError(
            "Expected `missing` to be 'error' (raise when a listed video has "
            "no file on disk) or 'skip' (leave such videos out with a "
            f"warning). Received: missing={missing!r}"
        )


def report_problems(problems, total, policy, problem, where, fix):
    """Raises or warns once about listed videos that cannot be used.

    Args:
        problems: list of str, one per unusable video (its name and why).
        total: int. How many videos were listed.
        policy: "error" or "skip".
        problem: str. What is wrong with them, e.g. "have no file on disk".
        where: str. Where they were expected.
        fix: str. What the user can do about it.
    """
    if not problems:
        return
    message = (
        f"{len(problems)} of the {total} videos listed {problem}; expected "
        f"every listed video {where}. The first ones: {abbreviate(problems)}."
    )
    if policy == "error":
        raise ValueError(
            f"{message} {fix} Or pass missing='skip' to leave them out with "
            "a warning."
        )
    warnings.warn(
        f"{message} They are left out (missing='skip').", stacklevel=3
    )


def abbreviate(items, limit=_LISTED):
    """`a, b, c` or `a, b, ... and 7 more`, for an error message."""
    items = [str(item) for item in items]
    shown = ", ".join(items[:limit])
    if len(items) > limit:
        shown += f" ... and {len(items) - limit} more"
    return shown


def read_list_file(path, what, hint=""):
    """Returns `(line_number, stripped_line)` for each non-blank line of `path`.

    Raises:
        FileNotFoundError: if `path` is not a file (the message names it and
            adds `hint`).
        ValueError: if it is not UTF-8 text.
    """
    check_file(path, what, hint)
    try:
        with open(path, encoding="utf-8-sig") as f:
            lines = f.read().splitlines()
    except UnicodeDecodeError as error:
        raise ValueError(
            f"{path}: expected the {what} to be UTF-8 (or ASCII) text. "
            f"Received bytes that are not: {error}"
        ) from None
    return [
        (number, line.strip())
        for number, line in enumerate(lines, start=1)
        if line.strip()
    ]


def read_csv_columns(path, columns, expected):
    """Reads some columns of a UTF-8 CSV file that starts with a header row.

    Args:
        path: str. The file (checked to exist by the caller).
        columns: sequence of str. The columns to read, matched to the
            header's cells ignoring case and surrounding spaces.
        expected: str. The header the file should have, for the message
            when it lacks a column (e.g. "the columns video, sentence").

    Returns:
        A list of `(line_number, cells)`, one per row that is not blank:
        the file line the row ends on and its cells of `columns`, in that
        order (`""` where a short row lacks one).

    Raises:
        ValueError: if the header lacks a column, the file is not UTF-8, or
            a row is not CSV; the message names the file and line.
    """
    rows = []
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            reader = csv.reader(f)
            header = [cell.strip() for cell in next(reader, [])]
            keys = [cell.casefold() for cell in header]
            absent = [c for c in columns if c.casefold() not in keys]
            if absent:
                raise ValueError(
                    f"{path}, line 1: expected a header with {expected}. "
                    f"Received: {', '.join(header) or 'no header'}; it lacks "
                    f"{', '.join(absent)}."
                )
            indices = [keys.index(c.casefold()) for c in columns]
            for row in reader:
                if any(cell.strip() for cell in row):
                    cells = [row[i] if i < len(row) else "" for i in indices]
                    rows.append((reader.line_num, cells))
    except UnicodeDecodeError as error:
        raise ValueError(
            f"{path}: expected UTF-8 text. Received bytes that are not: {error}"
        ) from None
    except csv.Error as error:
        raise ValueError(
            f"{path}, line {reader.line_num}: expected CSV. Received a row "
            f"that is not: {error}"
        ) from None
    return rows


def find_video(folder, folder_files, name, extensions):
    """Finds the file of a listed video among the names in one folder.

    A listed name with an extension is looked up as it is first; then (and
    for a name without one) any file with the same stem and one of
    `extensions` is accepted, so that videos converted to another container
    (`.avi` to `.mp4`) are still found.

    Args:
        folder: str. The folder, for error messages.
        folder_files: dict mapping a stem to the sorted file names with
            that stem (see `index_by_stem`).
        name: str. The name as listed.
        extensions: tuple of str.

    Returns:
        The file name, or `None` when there is none.

    Raises:
        ValueError: when several files match and none exactly.
    """
    stem = listed_stem(name, extensions)
    candidates = folder_files.get(stem, [])
    if stem != name and name in candidates:
        return name
    if len(candidates) > 1:
        raise ValueError(
            f"{folder}: expected one video file for {name!r}. Received "
            f"several: {abbreviate(repr(c) for c in candidates)}. Remove or "
            "rename all but one."
        )
    return candidates[0] if candidates else None


def listed_stem(name, extensions):
    """The stem that a listed video name stands for.

    A name ending in a video extension (one of `extensions` or a known
    container) loses it; any other name is all stem, since a dot may lie
    inside a name ("clip.v2").
    """
    stem, extension = os.path.splitext(name)
    extension = extension[1:].lower()
    if extension in extensions or extension in _KNOWN_VIDEO_EXTENSIONS:
        return stem
    return name


def index_by_stem(filenames):
    """Maps each stem (name without extension) to the file names with it."""
    index = {}
    for filename in filenames:
        index.setdefault(os.path.splitext(filename)[0], []).append(filename)
    return index
