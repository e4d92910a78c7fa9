"""Importer for MSVD / YouTube2Text (Chen, Dolan 2011; Guadarrama et al. 2013).

Three published pieces make up the dataset as video-captioning papers use it::

    root/
      YouTubeClips/                          (or the videos directly in root)
        -4wsuPCjDBc_5_15.avi                 <YouTube ID>_<start>_<end>.avi
        ...
      MSR Video Description Corpus.csv       the crowd-sourced descriptions
      youtube_mapping.txt                    -4wsuPCjDBc_5_15 vid1

- The Microsoft Research Video Description Corpus CSV has the columns
  `VideoID, Start, End, WorkerID, Source, AnnotationTime, Language,
  Description`, one description a row, in many languages, for more clips
  than the 1970 of the benchmark.
- `youtube_mapping.txt` (from the YouTube2Text release) numbers the 1970
  benchmark clips `vid1` ... `vid1970`, one `<clip> vid<N>` a line.
- The standard split (Venugopalan et al., 2015; Yao et al., 2015; Sharma's
  thesis): vid1-vid1200 train, vid1201-vid1300 validation, vid1301-vid1970
  test.
"""

import os
import re

from vidattn.data.importers import _common
from vidattn.data.importers.dataset_index import DatasetIndex
from vidattn.data.importers.video_entry import VideoEntry

# Train: vid1..vid1200; validation: vid1201..vid1300; test: the rest.
STANDARD_SPLIT_BOUNDARIES = (1200, 1300)

# The CSV's name as Microsoft ships it, then names it is often renamed to.
CAPTION_FILES = (
    "MSR Video Description Corpus.csv",
    "MSR_Video_Description_Corpus.csv",
    "video_corpus.csv",
)
MAPPING_FILE = "youtube_mapping.txt"
VIDEOS_FOLDER = "YouTubeClips"

_COLUMNS = ("VideoID", "Start", "End", "Language", "Description")
_CLIP = re.compile(r"^(?P<youtube_id>.+)_(?P<start>\d+)_(?P<end>\d+)$")
_NUMBERED = re.compile(r"^vid(?P<number>\d+)$")


def load_msvd(
    root,
    *,
    videos_dir=None,
    captions_path=None,
    mapping_path=None,
    language="English",
    split_boundaries=STANDARD_SPLIT_BOUNDARIES,
    extensions=None,
    missing="error",
    name="msvd",
):
    """Lists the MSVD clips with their captions and the standard split.

    The clips are those of `youtube_mapping.txt`, in the order of their
    numbers. A clip's captions are the CSV's descriptions of its
    `(VideoID, Start, End)` in `language`, with runs of whitespace made one
    space and empty descriptions dropped; CSV rows of other clips are
    ignored. A clip's file is `<YouTube ID>_<start>_<end>.<ext>` or
    `vid<N>.<ext>` in `videos_dir`.

    Args:
        root: str or path-like. The folder that holds the files below
            (unless they are given one by one).
        videos_dir: `None`, str or path-like. The videos' folder. Defaults
            to `None`: `<root>/YouTubeClips` when it exists, else `root`.
        captions_path: `None`, str or path-like. The description corpus CSV.
            Defaults to `None`: the first of `CAPTION_FILES` in `root`.
        mapping_path: `None`, str or path-like. The `<clip> vid<N>` file.
            Defaults to `None`: `<root>/youtube_mapping.txt`.
        language: `None` or str. The `Language` to keep (compared ignoring
            case); `None` keeps all. Defaults to `"English"`.
        split_boundaries: pair of int `(a, b)`. `vid1`..`vid<a>` go to
            train, up to `vid<b>` to validation, the rest to test. Defaults
            to `(1200, 1300)`, the standard split.
        extensions: `None` or sequence of str. Video file extensions.
            Defaults to `None`: mp4, avi, mkv, mov and webm.
        missing: `"error"` or `"skip"`. What to do with mapped clips that
            have no video file, or no caption in `language`: raise one error
            naming the first few, or leave them out with one warning.
            Defaults to `"error"`.
        name: str. The index's name. Defaults to `"msvd"`.

    Returns:
        A captioning `vidattn.data.importers.DatasetIndex` (no classes).
        Each entry's `video_id` is `"vid<N>"`, its `captions` the kept
        descriptions in CSV order, and its `group` the YouTube ID (clips of
        one YouTube video share a source).

    Raises:
        FileNotFoundError: if `root`, the CSV or the mapping is missing.
        ValueError: if the CSV lacks a needed column or has a malformed
            row, a mapping line is not `<id>_<start>_<end> vid<N>`, a clip
            or number is mapped twice, or (with `missing="error"`) mapped
            clips have no file or no caption.

    Example:

    >>> import vidattn.data.importers as importers
    >>> index = importers.load_msvd("/data/msvd")
    >>> {s: len(index.split(s)) for s in ("train", "validation", "test")}
    {'train': 1200, 'validation': 100, 'test': 670}
    """
    _common.check_missing_policy(missing)
    extensions = _common.standardize_extensions(
        extensions, _common.VIDEO_EXTENSIONS
    )
    if language is not None and (not isinstance(language, str) or not language):
        raise ValueError(
            "Expected `language` to be a language name such as 'English', or "
            f"None to keep every language. Received: language={language!r}"
        )
    boundaries = _check_boundaries(split_boundaries)
    root = _common.check_root(
        root,
        "MSVD",
        "Pass the folder holding the clips (or YouTubeClips/), the "
        "description corpus CSV and youtube_mapping.txt.",
    )
    if videos_dir is None:
        videos_dir = os.path.join(root, VIDEOS_FOLDER)
        if not os.path.isdir(videos_dir):
            videos_dir = root
    videos_dir = os.path.abspath(os.fspath(videos_dir))
    _common.check_folder(videos_dir, "MSVD videos folder", "Pass `videos_dir`.")
    if captions_path is None:
        candidates = [os.path.join(root, f) for f in CAPTION_FILES]
        captions_path = next(
            (c for c in candidates if os.path.isfile(c)), candidates[0]
        )
        if not os.path.isfile(captions_path):
            raise FileNotFoundError(
                "Expected the MSR Video Description Corpus CSV in "
                f"{root!r} under one of the names "
                f"{', '.join(repr(f) for f in CAPTION_FILES)}. Received "
                "none. Pass `captions_path`."
            )
    captions_path = os.fspath(captions_path)
    mapping_path = os.fspath(mapping_path or os.path.join(root, MAPPING_FILE))

    mapping = _read_mapping(mapping_path)
    captions = _read_captions(
        captions_path, language, {key[0] for key, _, _ in mapping}
    )

    by_stem = _common.index_by_stem(_common.video_files(videos_dir, extensions))
    entries = []
    no_file = []
    no_caption = []
    for key, number, clip in sorted(mapping, key=lambda item: item[1]):
        video_id = f"vid{number}"
        filename = _common.find_video(
            videos_dir, by_stem, clip, extensions
        ) or _common.find_video(videos_dir, by_stem, video_id, extensions)
        if filename is None:
            no_file.append(f"{video_id} ({clip})")
            continue
        texts = captions.get(key, ())
        if not texts:
            no_caption.append(f"{video_id} ({clip})")
            continue
        if number <= boundaries[0]:
            split = "train"
        elif number <= boundaries[1]:
            split = "validation"
        else:
            split = "test"
        entries.append(
            VideoEntry(
                video_id=video_id,
                path=os.path.join(videos_dir, filename),
                split=split,
                captions=texts,
                group=key[0],
            )
        )
    _common.report_problems(
        no_file,
        len(mapping),
        missing,
        f"in {mapping_path} have no file on disk",
        f"in {videos_dir} as <YouTube ID>_<start>_<end>.<ext> or vid<N>.<ext>",
        "Check the download (YouTubeClips.tar), `videos_dir` or `extensions`.",
    )
    _common.report_problems(
        no_caption,
        len(mapping),
        missing,
        f"in {mapping_path} have no {language or 'non-empty'} description",
        f"to have one in {captions_path}",
        "Check that the CSV is the full corpus, or `language`.",
    )
    return DatasetIndex(entries, class_names=(), multi_label=False, name=name)


def _check_boundaries(boundaries):
    try:
        a, b = boundaries
        valid = (
            all(isinstance(x, int) and not isinstance(x, bool) for x in (a, b))
            and 0 <= a <= b
        )
    except (TypeError, ValueError):
        valid = False
    if not valid:
        raise ValueError(
            "Expected `split_boundaries` to be a pair of int (a, b) with "
            "0 <= a <= b: vid1..vid<a> train, up to vid<b> validation, the "
            f"rest test. Received: split_boundaries={boundaries!r}"
        )
    return a, b


def _read_mapping(path):
    """Returns `[((youtube_id, start, end), number, clip), ...]`, in order."""
    hint = (
        "It numbers the clips vid1..vid1970 for the standard split and comes "
        "with the YouTube2Text data; pass `mapping_path`."
    )
    mapping = []
    clip_lines = {}
    number_lines = {}
    for line_number, line in _common.read_list_file(
        path, "MSVD clip mapping (youtube_mapping.txt)", hint
    ):
        fields = line.split()
        clip = _CLIP.match(fields[0]) if len(fields) == 2 else None
        numbered = _NUMBERED.match(fields[1]) if len(fields) == 2 else None
        if clip is None or numbered is None or int(numbered["number"]) < 1:
            raise ValueError(
                f"{path}, line {line_number}: expected '<YouTube ID>_<start>_"
                "<end> vid<N>' with N >= 1 (e.g. '-4wsuPCjDBc_5_15 vid1'). "
                f"Received: {line!r}"
            )
        key = (clip["youtube_id"], int(clip["start"]), int(clip["end"]))
        number = int(numbered["number"])
        if key in clip_lines:
            raise ValueError(
                f"{path}, line {line_number}: expected each clip mapped once. "
                f"Received {fields[0]!r} again; it is also on line "
                f"{clip_lines[key]}. Remove one line."
            )
        if number in number_lines:
            raise ValueError(
                f"{path}, line {line_number}: expected each number vid<N> "
                f"once. Received {fields[1]!r} again; it is also on line "
                f"{number_lines[number]}. Fix the numbering."
            )
        clip_lines[key] = line_number
        number_lines[number] = line_number
        mapping.append((key, number, fields[0]))
    if not mapping:
        raise ValueError(
            f"{path}: expected one '<clip> vid<N>' line per clip. Received "
            "an empty file."
        )
    return mapping


def _read_captions(path, language, youtube_ids):
    """Maps `(youtube_id, start, end)` to its kept descriptions.

    Only rows whose VideoID is in `youtube_ids` are parsed further.
    """
    _common.check_file(
        path, "MSR Video Description Corpus CSV", "Pass `captions_path`."
    )
    wanted = language.casefold() if language is not None else None
    captions = {}
    rows = _common.read_csv_columns(
        path,
        _COLUMNS,
        f"the columns {', '.join(_COLUMNS)} (of VideoID, Start, End, "
        "WorkerID, Source, AnnotationTime, Language, Description)",
    )
    for line_number, cells in rows:
        youtube_id, start, end, row_language, description = cells
        youtube_id = youtube_id.strip()
        if youtube_id not in youtube_ids:
            continue
        if wanted is not None and row_language.strip().casefold() != wanted:
            continue
        text = " ".join(description.split())
        if not text:
            continue
        try:
            key = (youtube_id, _as_int(start), _as_int(end))
        except ValueError:
            raise ValueError(
                f"{path}, line {line_number}: expected whole seconds in Start "
                f"and End. Received: Start={start!r}, End={end!r}"
            ) from None
        captions.setdefault(key, []).append(text)
    return captions


def _as_int(text):
    value = float(text.strip())
    if not value.is_integer():
        raise ValueError(text)
    return int(value)
