"""Which videos an extraction run reads: the entries of one split."""

from vidattn.data.importers import SPLITS
from vidattn.data.importers import DatasetIndex
from vidattn.data.importers import VideoEntry


def select_entries(index_or_entries, split, class_names=None, multi_label=None):
    """The entries of one split, with the dataset's classes.

    Args:
        index_or_entries: a `DatasetIndex`, or an iterable of `VideoEntry`.
        split: str. `"train"`, `"validation"` or `"test"`.
        class_names: sequence of str or None. The classes, when plain
            entries are given (a `DatasetIndex` carries its own). Defaults to
            `None`: no classes.
        multi_label: bool or None. As `class_names`. Defaults to `None`:
            single-label.

    Returns:
        A tuple `(entries, class_names, multi_label)`: the split's entries in
        their given order, a tuple of str and a bool.

    Raises:
        ValueError: if `split` is unknown, an item is not a `VideoEntry`,
            video ids repeat, labels do not fit the classes, or classes are
            given both by an index and by argument.
    """
    if split not in SPLITS:
        raise ValueError(
            f"Expected `split` to be one of {', '.join(SPLITS)}. "
            f"Received: split={split!r}"
        )
    if isinstance(index_or_entries, DatasetIndex):
        if class_names is not None or multi_label is not None:
            raise ValueError(
                "Expected no `class_names` or `multi_label` with a "
                "DatasetIndex, which carries its own. Received: "
                f"class_names={class_names!r}, multi_label={multi_label!r}"
            )
        index = index_or_entries
    else:
        if isinstance(index_or_entries, (str, bytes, VideoEntry)):
            raise ValueError(
                "Expected a DatasetIndex or an iterable of VideoEntry. "
                f"Received: {index_or_entries!r}"
            )
        # DatasetIndex checks ids and labels against the classes.
        index = DatasetIndex(
            index_or_entries,
            class_names=() if class_names is None else class_names,
            multi_label=bool(multi_label),
        )
    entries = index.split(split)
    return entries, tuple(index.class_names), bool(index.multi_label)
