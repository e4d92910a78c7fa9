"""Importer for UCF-11, the UCF YouTube Action Data Set (Liu, Luo, Shah 2009).

The published layout (`action_youtube_naudio/` or `UCF11_updated_mpg/`)::

    root/
      basketball/
        v_shooting_01/
          v_shooting_01_01.avi
          v_shooting_01_02.avi
          ...
        v_shooting_02/
        ...
        Annotation/          (some releases; ignored)
      biking/
        v_biking_01/
      ...
      walking/
        v_walk_dog_01/

Each of the 11 action folders holds 25 group folders `v_<name>_<NN>`; the
clips of a group share actor, background or viewpoint. The `<name>` part is
not always the action folder's name (`basketball/v_shooting_01`,
`walking/v_walk_dog_01`), so only the trailing group number `NN` is used.
Clips placed directly in an action folder (`basketball/v_shooting_01_01.avi`)
are grouped by the `NN` of their own name.

The dataset has no official split. The authors evaluate by leave-one-group-
out cross-validation; Sharma's thesis trains on 975 clips and tests on 625
without naming the groups. `load_ucf11` splits by groups, so that no group
(and no actor or scene) is in two splits.
"""

import numbers
import os
import re

from vidattn.data.importers import _common
from vidattn.data.importers.dataset_index import DatasetIndex
from vidattn.data.importers.video_entry import VideoEntry

# The class order of the label indices: the action folders, sorted.
UCF11_ACTIONS = (
    "basketball",
    "biking",
    "diving",
    "golf_swing",
    "horse_riding",
    "soccer_juggling",
    "swing",
    "tennis_swing",
    "trampoline_jumping",
    "volleyball_spiking",
    "walking",
)

# Groups 1-15 of 25 of every action: 60% of the groups, close to the
# thesis's 975 / 1600 = 61% of the clips in training.
DEFAULT_TRAIN_GROUPS = tuple(range(1, 16))

_GROUP_FOLDER = re.compile(r"^v_.+_(\d+)$")
_LOOSE_CLIP = re.compile(r"^v_.+_(\d+)_\d+$")
_IGNORED_FOLDERS = ("annotation", "annotations")


def load_ucf11(
    root,
    *,
    train_groups=DEFAULT_TRAIN_GROUPS,
    validation_groups=(),
    extensions=("avi", "mpg"),
    name="ucf11",
):
    """Lists the UCF-11 clips with a leave-groups-out split.

    The clips of each action's groups `train_groups` go to `"train"`, those
    of `validation_groups` to `"validation"`, all other groups to `"test"`.
    Group numbers are per action (group 3 of `basketball` and group 3 of
    `biking` are unrelated), and the same numbers are used for every action.
    A group's clips never end up in two splits.

    The default, groups 1-15 for training and 16-25 for testing, puts 60% of
    the groups in training. Groups differ in size (4 clips or more), so the
    clip counts only approximate the thesis's 975 training and 625 test
    clips of 1600 (61% / 39%), but whole groups stay apart.

    Args:
        root: str or path-like. The folder that holds the 11 action folders
            (`basketball`, ..., `walking`).
        train_groups: iterable of positive int. Group numbers (`NN`) for
            training. Defaults to `range(1, 16)`.
        validation_groups: iterable of positive int. Group numbers for
            validation; must not overlap `train_groups`. Defaults to `()`.
        extensions: sequence of str. Extensions of clip files (the original
            release has `.avi`, the updated one `.mpg`). Other files, such
            as annotations, are ignored. Defaults to `("avi", "mpg")`.
        name: str. The index's name. Defaults to `"ucf11"`.

    Returns:
        A single-label `vidattn.data.importers.DatasetIndex` with the class
        names `UCF11_ACTIONS`. Each entry's `video_id` is the clip's file
        name without extension (`"v_shooting_01_01"`) and its `group` is
        `"<action>/<NN>"` (`"basketball/01"`).

    Raises:
        FileNotFoundError: if `root` or an action folder is missing.
        ValueError: if an action folder holds no clips, a folder or loose
            clip is not named `v_<name>_<NN>` (`_<MM>` for clips), the group
            arguments are not positive ints or overlap, no clip falls in
            `train_groups`, or two clips share a name.

    Example:

    >>> import vidattn.data.importers as importers
    >>> index = importers.load_ucf11("/data/UCF11_updated_mpg")
    >>> {e.group for e in index.split("train")} & {
    ...     e.group for e in index.split("test")}
    set()
    """
    hint = (
        "Pass the folder that holds the 11 action folders of the UCF YouTube "
        "Action Data Set (e.g. 'UCF11_updated_mpg')."
    )
    root = _common.check_root(root, "UCF-11", hint)
    train = _group_numbers(train_groups, "train_groups")
    validation = _group_numbers(validation_groups, "validation_groups")
    if not train:
        raise ValueError(
            "Expected at least one group number in `train_groups`. "
            f"Received: train_groups={train_groups!r}"
        )
    overlap = sorted(train & validation)
    if overlap:
        raise ValueError(
            "Expected `train_groups` and `validation_groups` not to overlap "
            "(a group's clips must stay in one split). Received both with "
            f"groups {overlap}."
        )
    extensions = _common.standardize_extensions(extensions, ("avi", "mpg"))

    found = _common.subfolders(root)
    absent = [action for action in UCF11_ACTIONS if action not in found]
    if absent:
        raise FileNotFoundError(
            f"Expected the UCF-11 action folders {', '.join(UCF11_ACTIONS)} "
            f"in {root!r}. Missing: {', '.join(absent)}. Found: "
            f"{_common.abbreviate(found, limit=12) or 'no folder'}. {hint}"
        )

    entries = []
    groups_seen = set()
    for label, action in enumerate(UCF11_ACTIONS):
        action_dir = os.path.join(root, action)
        clips = _action_clips(action_dir, extensions)
        if not clips:
            raise ValueError(
                f"{action_dir}: expected clips of the action {action!r} "
                "(files with extension "
                f"{', '.join(extensions)}) in group folders v_<name>_<NN>. "
                "Received none. Check the download, or `extensions`."
            )
        for group, path in clips:
            groups_seen.add(group)
            if group in train:
                split = "train"
            elif group in validation:
                split = "validation"
            else:
                split = "test"
            entries.append(
                VideoEntry(
                    video_id=os.path.splitext(os.path.basename(path))[0],
                    path=path,
                    split=split,
                    labels=(label,),
                    group=f"{action}/{group:02d}",
                )
            )
    if not train & groups_seen:
        raise ValueError(
            "Expected some clips in `train_groups`. Received "
            f"train_groups={sorted(train)}, but the groups found are "
            f"{sorted(groups_seen)}."
        )
    return DatasetIndex(
        entries, class_names=UCF11_ACTIONS, multi_label=False, name=name
    )


def _action_clips(action_dir, extensions):
    """Returns `(group_number, path)` for each clip of one action, sorted."""
    clips = []
    for filename in _common.video_files(action_dir, extensions):
        match = _LOOSE_CLIP.match(os.path.splitext(filename)[0])
        if match is None:
            raise ValueError(
                f"{action_dir}: expected a clip outside a group folder to be "
                f"named v_<name>_<NN>_<MM> (NN: its group). Received: "
                f"{filename!r}. Rename it, or move it into its group folder."
            )
        clips.append((int(match.group(1)), os.path.join(action_dir, filename)))
    for folder in _common.subfolders(action_dir):
        if folder.lower() in _IGNORED_FOLDERS:
            continue
        match = _GROUP_FOLDER.match(folder)
        if match is None:
            raise ValueError(
                f"{action_dir}: expected group folders named v_<name>_<NN> "
                "(e.g. v_shooting_01) and an optional Annotation folder. "
                f"Received a folder {folder!r}. Move it out of the dataset."
            )
        group_dir = os.path.join(action_dir, folder)
        group = int(match.group(1))
        for filename in _common.video_files(group_dir, extensions):
            clips.append((group, os.path.join(group_dir, filename)))
    return sorted(clips)


def _group_numbers(groups, name):
    if isinstance(groups, (str, bytes)):
        items = None
    else:
        try:
            items = tuple(groups)
        except TypeError:
            items = None
    if items is None or not all(
        isinstance(g, numbers.Integral) and not isinstance(g, bool) and g > 0
        for g in items
    ):
        raise ValueError(
            f"Expected `{name}` to be an iterable of positive int group "
            f"numbers (e.g. range(1, 16)). Received: {name}={groups!r}"
        )
    return {int(g) for g in items}
