"""Importer for a user's own videos, one folder per class.

Two layouts are read::

    root/                          root/
      cooking/                       train/
        a.mp4                          cooking/
        b.mov                            a.mp4
      dancing/                         dancing/
        c.mkv                        validation/      (or val/; optional)
                                       ...
                                     test/            (optional)
                                       cooking/
                                         b.mov

Left, the split is drawn at random with a seed, class by class; right, the
split folders fix it.
"""

import os

from vidattn.data.importers import _common
from vidattn.data.importers._splits import DEFAULT_FRACTIONS
from vidattn.data.importers._splits import SPLIT_FOLDERS
from vidattn.data.importers._splits import check_fractions
from vidattn.data.importers._splits import find_split_folders
from vidattn.data.importers._splits import random_splits
from vidattn.data.importers.dataset_index import DatasetIndex
from vidattn.data.importers.video_entry import VideoEntry
from vidattn.utils.arguments import check_int


def load_folder(root, *, extensions=None, fractions=None, seed=0, name=None):
    """Lists a folder of videos sorted into one folder per class.

    With class folders directly in `root`, each class's videos are shuffled
    with a generator seeded by `seed` and the class name and cut into train,
    validation and test by `fractions` (largest-remainder rounding; a class
    with any video keeps at least one for training when the train fraction
    is positive). The split of a class therefore does not change when
    other classes are added or removed, and is the same on every machine.

    With split folders `train/`, `validation/` (or `val/`) and `test/` in
    `root`, each holding class folders, the folders decide the split. Then
    the classes are those of `train/` (when present), and another split
    folder may not hold a class that `train/` lacks.

    Only video files directly inside class folders are listed (subfolders
    are not searched); hidden files and other extensions are ignored. The
    class names are the class folders' names, sorted.

    Args:
        root: str or path-like. The dataset folder.
        extensions: `None` or sequence of str. Video file extensions,
            matched ignoring case. Defaults to `None`: mp4, avi, mkv, mov and
            webm.
        fractions: `None` or a triple of non-negative numbers summing to 1:
            the train, validation and test shares of a random split. Not
            allowed with split folders. Defaults to `None`: `(0.8, 0.1, 0.1)`
            for a random split.
        seed: int. The random split's seed. Defaults to 0.
        name: `None` or str. The index's name. Defaults to `None`: the
            folder's name.

    Returns:
        A single-label `vidattn.data.importers.DatasetIndex`. Each
        `video_id` is the video's path relative to `root` without its
        extension, with `/` separators (`"cooking/a"`, `"train/cooking/a"`);
        `group` is `None`.

    Raises:
        FileNotFoundError: if `root` is missing.
        ValueError: if `root` holds no class folder, mixes split folders
            with other folders or holds videos outside class folders, a
            class folder holds no video, a split folder holds a class that
            `train/` lacks, two videos differ only in extension, or the
            arguments are malformed.

    Example:

    >>> import vidattn.data.importers as importers
    >>> index = importers.load_folder("/data/my_videos", seed=1)
    >>> index.class_names
    ('cooking', 'dancing')
    >>> index.split("train")[0].video_id
    'cooking/a'
    """
    extensions = _common.standardize_extensions(
        extensions, _common.VIDEO_EXTENSIONS
    )
    check_int("seed", seed)
    root = _common.check_root(root, "video dataset")
    _check_no_loose_videos(root, extensions, "class folders")
    folders = _common.subfolders(root)
    split_folders = find_split_folders(root, fractions)
    if split_folders:
        others = [f for f in folders if f not in SPLIT_FOLDERS]
        if others:
            raise ValueError(
                f"{root}: expected either split folders (train, validation "
                "or val, test) that hold class folders, or class folders "
                f"only. Received both: split folders {', '.join(split_folders)}"
                f" and the folders {_common.abbreviate(others)}. Move the "
                "class folders into a split folder, or rename the split "
                "folders."
            )
        class_names, videos = _read_split_folders(
            root, split_folders, extensions
        )
    else:
        fractions = check_fractions(
            DEFAULT_FRACTIONS if fractions is None else fractions
        )
        class_names, videos = _read_random_split(
            root, folders, extensions, fractions, int(seed)
        )
    label_of = {
        class_name: label for label, class_name in enumerate(class_names)
    }
    entries = [
        VideoEntry(
            video_id=os.path.splitext(relative)[0].replace(os.sep, "/"),
            path=os.path.join(root, relative),
            split=split,
            labels=(label_of[class_name],),
        )
        for relative, split, class_name in videos
    ]
    return DatasetIndex(
        entries,
        class_names=class_names,
        multi_label=False,
        name=name or os.path.basename(root) or "folder",
    )


def _read_split_folders(root, split_folders, extensions):
    """Returns the class names and `(relative path, split, class)` triples."""
    classes_of = {}
    for folder in split_folders:
        split_dir = os.path.join(root, folder)
        _check_no_loose_videos(split_dir, extensions, "class folders")
        classes_of[folder] = _common.subfolders(split_dir)
        if not classes_of[folder]:
            raise ValueError(
                f"{split_dir}: expected one folder of videos per class. "
                "Received no folder. Add class folders, or remove the split "
                "folder."
            )
    if "train" in classes_of:
        class_names = classes_of["train"]
        for folder, classes in classes_of.items():
            unknown = [c for c in classes if c not in class_names]
            if unknown:
                raise ValueError(
                    f"{os.path.join(root, folder)}: expected the classes of "
                    f"{os.path.join(root, 'train')} "
                    f"({_common.abbreviate(class_names)}). Received the "
                    f"unknown class {unknown[0]!r}, which train/ lacks. Add "
                    "training videos of it, or remove the folder."
                )
    else:
        class_names = sorted({c for cs in classes_of.values() for c in cs})
    videos = []
    for folder in split_folders:
        for class_name in classes_of[folder]:
            relative = os.path.join(folder, class_name)
            for filename in _class_videos(root, relative, extensions):
                videos.append(
                    (
                        os.path.join(relative, filename),
                        SPLIT_FOLDERS[folder],
                        class_name,
                    )
                )
    return tuple(class_names), videos


def _read_random_split(root, folders, extensions, fractions, seed):
    """Returns the class names and `(relative path, split, class)` triples."""
    if not folders:
        raise ValueError(
            f"{root}: expected one folder of videos per class (or split "
            "folders train/, validation/, test/ holding them). Received no "
            "folder. Sort the videos into class folders."
        )
    videos = []
    for class_name in folders:
        filenames = _class_videos(root, class_name, extensions)
        splits = random_splits(
            len(filenames), fractions, f"{seed}/{class_name}"
        )
        for filename, split in zip(filenames, splits):
            videos.append(
                (os.path.join(class_name, filename), split, class_name)
            )
    return tuple(folders), videos


def _class_videos(root, relative, extensions):
    folder = os.path.join(root, relative)
    filenames = _common.video_files(folder, extensions)
    if not filenames:
        raise ValueError(
            f"{folder}: expected videos of the class "
            f"{os.path.basename(relative)!r} (extensions "
            f"{', '.join(extensions)}). Received an empty class folder. Add "
            "videos, or remove the folder."
        )
    return filenames


def _check_no_loose_videos(folder, extensions, expected):
    loose = _common.video_files(folder, extensions)
    if loose:
        raise ValueError(
            f"{folder}: expected videos inside {expected}, so that each has "
            f"a class. Received videos directly in it: "
            f"{_common.abbreviate(loose)}. Move them into class folders."
        )
