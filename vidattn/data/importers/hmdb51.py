"""Importer for HMDB-51 (Kuehne et al., 2011) with its three official splits.

The published layout (`hmdb51_org.rar`, one `.rar` per class inside, and
`test_train_splits.rar`)::

    root/
      brush_hair/
        April_09_brush_hair_u_nm_np1_ba_goo_0.avi
        ...
      cartwheel/
      ...
      testTrainMulti_7030_splits/
        brush_hair_test_split1.txt
        brush_hair_test_split2.txt
        brush_hair_test_split3.txt
        ...

Each split file lists every video of its class, one a line, as
`<video file name> <tag>`: tag 1 marks a training video, 2 a test video and
0 a video that the split leaves out (70 / 30 / the rest per class).
"""

import numbers
import os
import re

from vidattn.data.importers import _common
from vidattn.data.importers.dataset_index import DatasetIndex
from vidattn.data.importers.video_entry import VideoEntry

SPLITS_FOLDER = "testTrainMulti_7030_splits"

_TAGS = {"0": None, "1": "train", "2": "test"}
_SPLIT_FILE = re.compile(r"^(?P<name>.+)_test_split(?P<number>\d+)\.txt$")


def load_hmdb51(
    root,
    *,
    split_number=1,
    splits_dir=None,
    extensions=None,
    missing="error",
    name=None,
):
    """Lists the HMDB-51 videos of one official train/test split.

    The classes are the folders of `root` (except the splits folder), in
    sorted order, which for the full dataset is the usual order
    (`brush_hair` = 0, ..., `wave` = 50). Videos tagged 0 in the split file
    are left out, as are videos on disk that the split file does not list.

    A listed name is looked up as it is (`x.avi`) and then by its stem with
    any of `extensions`, so videos converted to another container are found.

    Args:
        root: str or path-like. The folder that holds one folder per class.
        split_number: int, 1, 2 or 3. Which official split. Defaults to 1.
        splits_dir: `None`, str or path-like. The folder of the split files
            `<class>_test_split<N>.txt`. Defaults to `None`:
            `<root>/testTrainMulti_7030_splits`.
        extensions: `None` or sequence of str. Video file extensions.
            Defaults to `None`: mp4, avi, mkv, mov and webm.
        missing: `"error"` or `"skip"`. What to do with listed videos that
            have no file: raise one error naming the first few, or leave
            them out with one warning. Defaults to `"error"`.
        name: `None` or str. The index's name. Defaults to `None`:
            `"hmdb51_split<N>"`.

    Returns:
        A single-label `vidattn.data.importers.DatasetIndex` with `"train"`
        and `"test"` entries. Each `video_id` is the listed file name
        without extension; `group` is `None`.

    Raises:
        FileNotFoundError: if `root`, the splits folder or a class's split
            file is missing.
        ValueError: if a split file names a class without a folder, a line
            is not `<name> <0|1|2>`, a video is listed twice, a class folder
            holds no video or a class gets no training video, or (with
            `missing="error"`) listed videos have no file.

    Example:

    >>> import vidattn.data.importers as importers
    >>> index = importers.load_hmdb51("/data/hmdb51", split_number=2)
    >>> index.num_classes, len(index.split("train")), len(index.split("test"))
    (51, 3570, 1530)
    """
    if (
        isinstance(split_number, bool)
        or not isinstance(split_number, numbers.Integral)
        or split_number not in (1, 2, 3)
    ):
        raise ValueError(
            "Expected `split_number` to be 1, 2 or 3 (the three official "
            f"HMDB-51 splits). Received: split_number={split_number!r}"
        )
    split_number = int(split_number)
    _common.check_missing_policy(missing)
    extensions = _common.standardize_extensions(
        extensions, _common.VIDEO_EXTENSIONS
    )
    root = _common.check_root(
        root,
        "HMDB-51",
        "Pass the folder that holds one folder of videos per class.",
    )
    if splits_dir is None:
        splits_dir = os.path.join(root, SPLITS_FOLDER)
    splits_dir = os.path.abspath(os.fspath(splits_dir))
    hint = (
        f"Extract {SPLITS_FOLDER}/ from test_train_splits.rar (on the HMDB-51 "
        "page) there, or pass `splits_dir`."
    )
    _common.check_folder(splits_dir, "HMDB-51 split files folder", hint)

    class_names = [
        folder
        for folder in _common.subfolders(root)
        if os.path.realpath(os.path.join(root, folder))
        != os.path.realpath(splits_dir)
    ]
    if not class_names:
        raise ValueError(
            f"{root}: expected one folder of videos per class. Received no "
            "class folder. Extract the per-class archives of hmdb51_org.rar."
        )
    known = set(class_names)
    for filename in sorted(os.listdir(splits_dir)):
        match = _SPLIT_FILE.match(filename)
        if match is None or int(match.group("number")) != split_number:
            continue
        if match.group("name") not in known:
            raise ValueError(
                f"{os.path.join(splits_dir, filename)}: expected split files "
                f"of the classes in {root!r}. Received one for the unknown "
                f"class {match.group('name')!r}, which has no folder there. "
                "Add that class's videos, or remove the split file."
            )

    entries = []
    missing_videos = []
    listed = 0
    listed_at = {}
    train_counts = {}
    split_paths = {}
    for label, class_name in enumerate(class_names):
        class_dir = os.path.join(root, class_name)
        split_path = os.path.join(
            splits_dir, f"{class_name}_test_split{split_number}.txt"
        )
        split_paths[class_name] = split_path
        videos = _common.video_files(class_dir, extensions)
        if not videos:
            raise ValueError(
                f"{class_dir}: expected the videos of the class "
                f"{class_name!r} (extensions {', '.join(extensions)}). "
                "Received an empty class folder. Extract its archive, or "
                "remove the folder."
            )
        by_stem = _common.index_by_stem(videos)
        train_counts[class_name] = 0
        lines = _common.read_list_file(
            split_path, f"HMDB-51 split file of class {class_name!r}", hint
        )
        for number, line in lines:
            fields = line.rsplit(None, 1)
            if len(fields) != 2 or fields[1] not in _TAGS:
                raise ValueError(
                    f"{split_path}, line {number}: expected '<video file "
                    "name> <tag>' with tag 0 (unused), 1 (train) or 2 (test). "
                    f"Received: {line!r}"
                )
            listed_name, tag = fields
            video_id = os.path.splitext(listed_name)[0]
            if video_id in listed_at:
                first_path, first_number = listed_at[video_id]
                raise ValueError(
                    f"{split_path}, line {number}: expected each video listed "
                    f"once. Received {listed_name!r} again; it is also on "
                    f"line {first_number} of {first_path}. Remove one line."
                )
            listed_at[video_id] = (split_path, number)
            split = _TAGS[tag]
            if split is None:
                continue
            listed += 1
            filename = _common.find_video(
                class_dir, by_stem, listed_name, extensions
            )
            if filename is None:
                missing_videos.append(f"{class_name}/{listed_name}")
                continue
            train_counts[class_name] += split == "train"
            entries.append(
                VideoEntry(
                    video_id=video_id,
                    path=os.path.join(class_dir, filename),
                    split=split,
                    labels=(label,),
                )
            )
    _common.report_problems(
        missing_videos,
        listed,
        missing,
        f"in the split {split_number} files have no file on disk",
        f"in its class folder under {root}",
        "Check that every class archive of hmdb51_org.rar was extracted, "
        "or `extensions`.",
    )
    for class_name, count in train_counts.items():
        if not count:
            raise ValueError(
                f"{split_paths[class_name]}: expected at least one "
                f"training video (tag 1) of the class {class_name!r} on "
                "disk. Received none. Check the split file and the class "
                "folder."
            )
    return DatasetIndex(
        entries,
        class_names=class_names,
        multi_label=False,
        name=name or f"hmdb51_split{split_number}",
    )
