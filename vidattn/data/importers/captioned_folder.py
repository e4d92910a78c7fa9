"""Importer for a user's own videos described by sentences in a captions file.

The videos lie anywhere under the root, directly or in subfolders (no class
folders: captioning has no classes); the captions file pairs them with
sentences, several rows per video::

    root/                          captions.csv
      a.mp4                          video,sentence,annotator
      cooking/                       a,a man slices an onion,1
        b.mov                        a.mp4,someone cuts a vegetable,2
        c.mkv                        cooking/b,a woman stirs a pot,1

    captions.jsonl (the same, as JSON lines)
      {"video": "a", "sentence": "a man slices an onion"}
      {"video": "cooking/b", "sentence": "a woman stirs a pot"}

The file's extension picks its format: `.csv` (a header row with the
columns `video` and `sentence`; other columns are ignored) or `.jsonl` /
`.json` (one JSON object a line with the keys `video` and `sentence`).
A `video` is a file's path relative to the root, with or without its
extension (`cooking/b`, `cooking/b.mov`), or a bare file name (`b`, `b.mov`)
when only one video under the root has it.

Split folders `train/`, `validation/` (or `val/`) and `test/` in the root
fix the split, as for `load_folder`; without them the split is drawn at
random with a seed.
"""

import collections
import json
import os
import posixpath
import warnings

from vidattn.data.importers import _common
from vidattn.data.importers._splits import DEFAULT_FRACTIONS
from vidattn.data.importers._splits import SPLIT_FOLDERS
from vidattn.data.importers._splits import check_fractions
from vidattn.data.importers._splits import find_split_folders
from vidattn.data.importers._splits import random_splits
from vidattn.data.importers.dataset_index import DatasetIndex
from vidattn.data.importers.video_entry import VideoEntry
from vidattn.utils.arguments import check_int

CAPTION_FORMATS = {".csv": "csv", ".jsonl": "json", ".json": "json"}
_COLUMNS = ("video", "sentence")
_JSON_EXAMPLE = '{"video": "cooking/a", "sentence": "a man slices an onion"}'

# One row of a captions file: where it is, the video named, the sentence.
_Row = collections.namedtuple("_Row", ["line", "video", "sentence"])


def load_captioned_folder(
    root,
    captions_path,
    *,
    extensions=None,
    fractions=None,
    seed=0,
    missing="error",
    name=None,
):
    """Lists a folder of videos with the sentences of a captions file.

    Every video file under `root` (in any subfolder; hidden files and
    folders are skipped) that the captions file names becomes one
    captioning entry, its captions the file's sentences for it in file
    order, with runs of whitespace made one space. A video on disk that no
    row names is left out with one warning (it cannot be trained on).

    With split folders `train/`, `validation/` (or `val/`) and `test/` in
    `root`, a video's split is the folder it lies in. Otherwise the
    captioned videos, sorted by id, are shuffled with a generator seeded by
    `seed` and cut into train, validation and test by `fractions`
    (largest-remainder rounding, as `load_folder` does for a class).

    Args:
        root: str or path-like. The videos' folder.
        captions_path: str or path-like. The captions file: `.csv` with the
            columns `video` and `sentence`, or `.jsonl` / `.json` with one
            `{"video": ..., "sentence": ...}` object a line.
        extensions: `None` or sequence of str. Video file extensions,
            matched ignoring case. Defaults to `None`: mp4, avi, mkv, mov and
            webm.
        fractions: `None` or a triple of non-negative numbers summing to 1:
            the train, validation and test shares of a random split. Not
            allowed with split folders. Defaults to `None`: `(0.8, 0.1, 0.1)`
            for a random split.
        seed: int. The random split's seed. Defaults to 0.
        missing: `"error"` or `"skip"`. What to do with rows that name no
            video under `root`: raise one error naming the first few (file
            and line), or leave them out with one warning. Defaults to
            `"error"`.
        name: `None` or str. The index's name. Defaults to `None`: the
            folder's name.

    Returns:
        A captioning `vidattn.data.importers.DatasetIndex` (no classes),
        sorted by `video_id`: the video's path relative to `root` without
        its extension, with `/` separators (`"cooking/b"`,
        `"train/cooking/b"`); `group` is `None`.

    Raises:
        FileNotFoundError: if `root` or the captions file is missing.
        ValueError: if the captions file has another extension, is not
            UTF-8, lacks a column or key, has malformed JSON, an empty
            sentence or video name, a name that matches several videos, or
            (with `missing="error"`) names a video that is not under
            `root`; if a captioned video lies outside the split folders,
            two captioned videos differ only in extension, no video has a
            caption, or the arguments are malformed. Each message names the
            file and line.

    Example:

    >>> import vidattn.data.importers as importers
    >>> index = importers.load_captioned_folder(
    ...     "/data/my_videos", "/data/my_videos/captions.csv", seed=1)
    >>> index["cooking/b"].captions
    ('a woman stirs a pot',)
    """
    _common.check_missing_policy(missing)
    extensions = _common.standardize_extensions(
        extensions, _common.VIDEO_EXTENSIONS
    )
    check_int("seed", seed)
    root = _common.check_root(root, "video dataset")
    captions_path = os.fspath(captions_path)
    rows = _read_caption_rows(captions_path)

    split_folders = find_split_folders(root, fractions)
    videos = _video_tree(root, extensions)
    captions_of = {}
    line_of = {}
    unknown = []
    for row in rows:
        path = _find_video(row, videos, extensions, captions_path)
        if path is None:
            unknown.append(f"{row.video!r} (line {row.line})")
            continue
        captions_of.setdefault(path, []).append(row.sentence)
        line_of.setdefault(path, row.line)
    _common.report_problems(
        unknown,
        len({row.video for row in rows}),
        missing,
        f"in {captions_path} are not under {root}",
        "to be a video file there, named by its path relative to it with "
        "or without extension, or by its file name alone",
        "Check the names, the folder, or `extensions`.",
    )
    _warn_uncaptioned([v for v in videos.paths if v not in captions_of], root)
    if not captions_of:
        raise ValueError(
            f"{captions_path}: expected rows for at least one video under "
            f"{root}. Received none that name one. Check the file and the "
            "folder."
        )

    ids = {}
    for path in sorted(captions_of):
        video_id = posixpath.splitext(path)[0]
        if video_id in ids:
            raise ValueError(
                f"{captions_path}, line {line_of[path]}: expected one "
                f"captioned video per name. Received {path!r}, and "
                f"{ids[video_id]!r} on line {line_of[ids[video_id]]}, which "
                "differ only in extension. Rename one of the videos."
            )
        ids[video_id] = path
    splits = _assign_splits(
        sorted(ids), ids, split_folders, fractions, seed, line_of, root
    )
    entries = [
        VideoEntry(
            video_id=video_id,
            path=os.path.join(root, *path.split("/")),
            split=splits[video_id],
            captions=captions_of[path],
        )
        for video_id, path in sorted(ids.items())
    ]
    return DatasetIndex(
        entries,
        class_names=(),
        multi_label=False,
        name=name or os.path.basename(root) or "folder",
    )


def _read_caption_rows(path):
    """Reads a captions file: `(line, video, sentence)` rows in file order.

    Args:
        path: str. A `.csv`, `.jsonl` or `.json` file (see the module).

    Returns:
        A list of named tuples `(line, video, sentence)`: the 1-based line
        number, the video name with `/` separators and surrounding spaces
        removed, and the sentence with runs of whitespace made one space.

    Raises:
        FileNotFoundError: if `path` is not a file.
        ValueError: if the extension is not one of `CAPTION_FORMATS`, the
            file is not UTF-8, a column or key is missing, a line is not a
            JSON object, a video name or sentence is empty, or there is no
            row at all; the message names the file and line.
    """
    extension = os.path.splitext(path)[1].lower()
    if extension not in CAPTION_FORMATS:
        raise ValueError(
            f"{path}: expected a captions file ending in "
            f"{', '.join(CAPTION_FORMATS)} (CSV with the columns video, "
            "sentence; or JSON lines). Received the extension "
            f"{extension or '(none)'!r}. Rename the file after its format."
        )
    _common.check_file(
        path,
        "captions file",
        "Pass the CSV or JSON lines file of (video, sentence) rows.",
    )
    if CAPTION_FORMATS[extension] == "csv":
        columns = _common.read_csv_columns(
            path, _COLUMNS, "the columns video, sentence (others are ignored)"
        )
        rows = [_make_row(path, line, *cells) for line, cells in columns]
    else:
        rows = _json_rows(path)
    if not rows:
        raise ValueError(
            f"{path}: expected one (video, sentence) row per caption. "
            "Received no row."
        )
    return rows


def _json_rows(path):
    rows = []
    for line_number, line in _common.read_list_file(path, "captions file"):
        try:
            item = json.loads(line)
        except json.JSONDecodeError as error:
            raise ValueError(
                f"{path}, line {line_number}: expected one JSON object a line "
                f"(JSON lines, not an array), such as {_JSON_EXAMPLE}. "
                f"Received malformed JSON: {error.msg} at column "
                f"{error.colno}."
            ) from None
        if not isinstance(item, dict):
            raise ValueError(
                f"{path}, line {line_number}: expected a JSON object such as "
                f"{_JSON_EXAMPLE}. Received: {line[:80]}"
            )
        absent = [key for key in _COLUMNS if key not in item]
        if absent:
            raise ValueError(
                f"{path}, line {line_number}: expected the keys video and "
                f"sentence. Received the keys {', '.join(item) or '(none)'}; "
                f"it lacks {', '.join(absent)}."
            )
        if not all(isinstance(item[key], str) for key in _COLUMNS):
            raise ValueError(
                f"{path}, line {line_number}: expected strings as video and "
                f"sentence. Received: video={item['video']!r}, "
                f"sentence={item['sentence']!r}"
            )
        rows.append(
            _make_row(path, line_number, item["video"], item["sentence"])
        )
    return rows


def _make_row(path, line, video, sentence):
    video = video.strip().replace("\\", "/").removeprefix("./")
    sentence = " ".join(sentence.split())
    if not video:
        raise ValueError(
            f"{path}, line {line}: expected the name of a video. Received an "
            "empty one. Fill it in or remove the row."
        )
    if not sentence:
        raise ValueError(
            f"{path}, line {line}: expected a sentence describing "
            f"{video!r}. Received an empty one. Write the sentence or remove "
            "the row."
        )
    return _Row(line, video, sentence)


# The video files under a root, indexed by the ways a row may name them.
_VideoTree = collections.namedtuple(
    "_VideoTree", ["paths", "by_stem", "by_filename", "by_filename_stem"]
)


def _video_tree(root, extensions):
    """Lists the video files under `root` as `/`-separated relative paths."""
    paths = []
    for folder, subfolders, _ in os.walk(root):
        subfolders[:] = sorted(s for s in subfolders if not s.startswith("."))
        relative = os.path.relpath(folder, root)
        for filename in _common.video_files(folder, extensions):
            path = (
                os.path.join(relative, filename)
                if relative != "."
                else filename
            )
            paths.append(path.replace(os.sep, "/"))
    paths.sort()
    by_filename = {}
    by_filename_stem = {}
    for path in paths:
        filename = posixpath.basename(path)
        by_filename.setdefault(filename, []).append(path)
        by_filename_stem.setdefault(posixpath.splitext(filename)[0], []).append(
            path
        )
    return _VideoTree(
        paths, _common.index_by_stem(paths), by_filename, by_filename_stem
    )


def _find_video(row, videos, extensions, captions_path):
    """The relative path of the video a row names, or `None`."""
    stem = _common.listed_stem(row.video, extensions)
    candidates = videos.by_stem.get(stem, [])
    if stem != row.video and row.video in candidates:
        return row.video
    if not candidates and "/" not in row.video:
        candidates = videos.by_filename.get(
            row.video
        ) or videos.by_filename_stem.get(stem, [])
    if len(candidates) > 1:
        raise ValueError(
            f"{captions_path}, line {row.line}: expected {row.video!r} to "
            "name one video. Received a name that matches several: "
            f"{_common.abbreviate(repr(c) for c in candidates)}. Name the "
            "video by its path relative to the folder, with its extension."
        )
    return candidates[0] if candidates else None


def _assign_splits(
    video_ids, paths, split_folders, fractions, seed, line_of, root
):
    """Maps each video id to its split."""
    if not split_folders:
        fractions = check_fractions(
            DEFAULT_FRACTIONS if fractions is None else fractions
        )
        splits = random_splits(len(video_ids), fractions, f"{seed}/captions")
        return dict(zip(video_ids, splits))
    splits = {}
    for video_id in video_ids:
        folder = video_id.split("/", 1)[0]
        if folder not in split_folders or "/" not in video_id:
            raise ValueError(
                f"{root}: expected every captioned video inside a split "
                f"folder ({', '.join(split_folders)}), since the folder has "
                f"them. Received {paths[video_id]!r} (captions line "
                f"{line_of[paths[video_id]]}) outside them. Move it into a "
                "split folder, or remove its rows."
            )
        splits[video_id] = SPLIT_FOLDERS[folder]
    return splits


def _warn_uncaptioned(uncaptioned, root):
    if uncaptioned:
        warnings.warn(
            f"{len(uncaptioned)} video(s) under {root} have no caption and "
            "are left out (a video without a sentence cannot be trained "
            f"on): {_common.abbreviate(uncaptioned)}. Add rows for them to "
            "the captions file to use them.",
            stacklevel=3,
        )
