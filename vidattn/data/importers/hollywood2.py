"""Importer for Hollywood2 Human Actions (Marszalek, Laptev and Schmid, 2009).

The published layout (`Hollywood2-actions.tar.gz`)::

    root/
      AVIClips/
        actioncliptrain00001.avi
        ...
        actioncliptest00001.avi
        ...
      ClipSets/
        AnswerPhone_train.txt
        AnswerPhone_test.txt
        AnswerPhone_autotrain.txt
        ...
        StandUp_test.txt
        actions_train.txt      (not used: the per-action files are)
        ...

Each per-action file lists every clip of its set, one a line, as
`<clip name>  <1|-1>`: 1 when the clip shows the action. A clip may show
several actions (a kiss and a hug), so the dataset is multi-label and is
scored by mean average precision. The standard sets are `train` (823 clips,
labelled by hand) and `test` (884); `autotrain` (810) was labelled
automatically from scripts.
"""

import os

from vidattn.data.importers import _common
from vidattn.data.importers.dataset_index import DatasetIndex
from vidattn.data.importers.video_entry import VideoEntry

# The class order of the label indices.
HOLLYWOOD2_ACTIONS = (
    "AnswerPhone",
    "DriveCar",
    "Eat",
    "FightPerson",
    "GetOutCar",
    "HandShake",
    "HugPerson",
    "Kiss",
    "Run",
    "SitDown",
    "SitUp",
    "StandUp",
)

_TRAIN_SETS = ("train", "autotrain")
_VALUES = {"1": True, "-1": False}


def load_hollywood2(
    root,
    *,
    train_set="train",
    clips_dir=None,
    clip_sets_dir=None,
    extensions=None,
    missing="error",
    name="hollywood2",
):
    """Lists the Hollywood2 action clips with their (multi-)labels.

    The labels of a clip are the actions whose `ClipSets/<Action>_<set>.txt`
    file marks it 1. Every per-action file of a set must list the same
    clips, since a clip's label for an action is otherwise unknown.

    Args:
        root: str or path-like. The Hollywood2 folder (holding `AVIClips/`
            and `ClipSets/`).
        train_set: str. `"train"` (the hand-labelled standard) or
            `"autotrain"` (labelled automatically from scripts). The test
            set is always `"test"`. Defaults to `"train"`.
        clips_dir: `None`, str or path-like. The clips' folder. Defaults to
            `None`: `<root>/AVIClips`.
        clip_sets_dir: `None`, str or path-like. The label files' folder.
            Defaults to `None`: `<root>/ClipSets`.
        extensions: `None` or sequence of str. Clip file extensions.
            Defaults to `None`: mp4, avi, mkv, mov and webm.
        missing: `"error"` or `"skip"`. What to do with listed clips that
            have no file: raise one error naming the first few, or leave
            them out with one warning. Defaults to `"error"`.
        name: str. The index's name. Defaults to `"hollywood2"`.

    Returns:
        A multi-label `vidattn.data.importers.DatasetIndex` with the class
        names `HOLLYWOOD2_ACTIONS` and `"train"` and `"test"` entries. Each
        `video_id` is the clip name (`"actioncliptrain00001"`).

    Raises:
        FileNotFoundError: if `root`, a folder or a per-action file is
            missing.
        ValueError: if a line is not `<clip> <1|-1>`, a clip is listed
            twice in a file or in both sets, the per-action files of a set
            list different clips, an action has no positive clip in a set,
            or (with `missing="error"`) listed clips have no file.

    Example:

    >>> import vidattn.data.importers as importers
    >>> index = importers.load_hollywood2("/data/Hollywood2")
    >>> len(index.split("train")), len(index.split("test"))
    (823, 884)
    >>> [index.class_names[i] for i in index["actioncliptrain00001"].labels]
    ['DriveCar']
    """
    if train_set not in _TRAIN_SETS:
        raise ValueError(
            "Expected `train_set` to be 'train' (hand-labelled) or "
            f"'autotrain'. Received: train_set={train_set!r}"
        )
    _common.check_missing_policy(missing)
    extensions = _common.standardize_extensions(
        extensions, _common.VIDEO_EXTENSIONS
    )
    root = _common.check_root(
        root,
        "Hollywood2",
        "Pass the folder extracted from Hollywood2-actions.tar.gz (holding "
        "AVIClips/ and ClipSets/).",
    )
    clips_dir = os.path.abspath(
        os.fspath(clips_dir or os.path.join(root, "AVIClips"))
    )
    clip_sets_dir = os.path.abspath(
        os.fspath(clip_sets_dir or os.path.join(root, "ClipSets"))
    )
    _common.check_folder(
        clips_dir, "Hollywood2 clips folder", "Pass `clips_dir`."
    )
    _common.check_folder(
        clip_sets_dir, "Hollywood2 ClipSets folder", "Pass `clip_sets_dir`."
    )

    by_stem = _common.index_by_stem(_common.video_files(clips_dir, extensions))
    entries = []
    missing_clips = []
    listed = 0
    set_of_clip = {}
    for set_name, split in ((train_set, "train"), ("test", "test")):
        clips, labels = _read_clip_sets(clip_sets_dir, set_name, set_of_clip)
        for clip in clips:
            listed += 1
            filename = _common.find_video(clips_dir, by_stem, clip, extensions)
            if filename is None:
                missing_clips.append(clip)
                continue
            entries.append(
                VideoEntry(
                    video_id=clip,
                    path=os.path.join(clips_dir, filename),
                    split=split,
                    labels=labels[clip],
                )
            )
    _common.report_problems(
        missing_clips,
        listed,
        missing,
        "in ClipSets have no file on disk",
        f"in {clips_dir}",
        "Check the download (Hollywood2-actions.tar.gz), or `extensions`.",
    )
    return DatasetIndex(
        entries, class_names=HOLLYWOOD2_ACTIONS, multi_label=True, name=name
    )


def _read_clip_sets(clip_sets_dir, set_name, set_of_clip):
    """Reads the 12 `<Action>_<set_name>.txt` files of one set.

    Args:
        clip_sets_dir: str.
        set_name: str, e.g. "train".
        set_of_clip: dict mapping each clip seen in an earlier set to the
            file that listed it; updated in place.

    Returns:
        `(clips, labels)`: the clip names in the first file's order, and a
        dict mapping each clip to the list of its positive action indices.
    """
    first_path = None
    clips = None
    clip_set = None
    labels = {}
    for index, action in enumerate(HOLLYWOOD2_ACTIONS):
        path = os.path.join(clip_sets_dir, f"{action}_{set_name}.txt")
        lines = _common.read_list_file(
            path,
            f"Hollywood2 label file of {action!r} ({set_name} set)",
            "Extract ClipSets/ from Hollywood2-actions.tar.gz, or pass "
            "`clip_sets_dir`.",
        )
        seen = {}
        positives = 0
        for number, line in lines:
            fields = line.split()
            if len(fields) != 2 or fields[1] not in _VALUES:
                raise ValueError(
                    f"{path}, line {number}: expected '<clip name> <1|-1>' "
                    "(1: the clip shows the action). Received: "
                    f"{line!r}"
                )
            clip, value = fields
            if clip in seen:
                raise ValueError(
                    f"{path}, line {number}: expected each clip listed once. "
                    f"Received {clip!r} again; it is also on line "
                    f"{seen[clip]}. Remove one line."
                )
            if clip in set_of_clip:
                raise ValueError(
                    f"{path}, line {number}: expected a clip in one set only. "
                    f"Received {clip!r}, which {set_of_clip[clip]} lists "
                    "too. Fix the label files."
                )
            seen[clip] = number
            if _VALUES[value]:
                positives += 1
                labels.setdefault(clip, []).append(index)
        if first_path is None:
            first_path, clips, clip_set = path, list(seen), set(seen)
        elif set(seen) != clip_set:
            lacking = [clip for clip in clips if clip not in seen]
            extra = [clip for clip in seen if clip not in clip_set]
            received = []
            if lacking:
                received.append(f"lacks {_common.abbreviate(lacking)}")
            if extra:
                received.append(f"adds {_common.abbreviate(extra)}")
            raise ValueError(
                f"{path}: expected the same clips as {first_path} (each "
                "action's file of a set lists every clip of the set, with 1 "
                f"or -1). Received a list that {' and '.join(received)}."
            )
        if not positives:
            raise ValueError(
                f"{path}: expected at least one clip marked 1 for the action "
                f"{action!r}. Received none (an empty class). Check the file."
            )
    for clip in clips:
        set_of_clip[clip] = first_path
        labels.setdefault(clip, [])
    return clips, labels
