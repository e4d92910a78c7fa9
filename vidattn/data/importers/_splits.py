"""Splits of a user's own videos: split folders, or a seeded random split.

Private: shared by the folder importers (`load_folder`,
`load_captioned_folder`).
"""

import math
import random

from vidattn.data.importers import _common

# Split folder names and the split each stands for, in reading order.
SPLIT_FOLDERS = {
    "train": "train",
    "validation": "validation",
    "val": "validation",
    "test": "test",
}
DEFAULT_FRACTIONS = (0.8, 0.1, 0.1)


def find_split_folders(root, fractions):
    """The split folders in `root` in reading order, maybe none.

    Raises:
        ValueError: if `root` holds both `val/` and `validation/`, or it
            holds split folders and `fractions` is not `None`.
    """
    split_folders = [f for f in SPLIT_FOLDERS if f in _common.subfolders(root)]
    if "val" in split_folders and "validation" in split_folders:
        raise ValueError(
            f"{root}: expected one validation folder. Received both 'val' "
            "and 'validation'. Merge them."
        )
    if split_folders and fractions is not None:
        raise ValueError(
            f"{root}: expected no `fractions`, since its split folders "
            f"({', '.join(split_folders)}) fix the split. Received: "
            f"fractions={fractions!r}. Leave `fractions` out."
        )
    return split_folders


def check_fractions(fractions):
    """Returns `fractions` as three floats summing to 1, or raises."""
    try:
        values = tuple(float(f) for f in fractions)
    except (TypeError, ValueError):
        values = ()
    if (
        len(values) != 3
        or not all(math.isfinite(v) and v >= 0 for v in values)
        or abs(sum(values) - 1) > 1e-6
    ):
        raise ValueError(
            "Expected `fractions` (`--split_fractions`) to be three "
            "non-negative numbers (train, "
            "validation, test) summing to 1, such as (0.8, 0.1, 0.1). "
            f"Received: fractions={fractions!r}"
        )
    total = sum(values)
    return tuple(v / total for v in values)


def split_counts(n, fractions):
    """Cuts `n` videos by `fractions` with largest-remainder rounding."""
    shares = [n * f for f in fractions]
    counts = [math.floor(s) for s in shares]
    # Ties go to the earlier split (train first).
    by_remainder = sorted(range(3), key=lambda i: (counts[i] - shares[i], i))
    for i in by_remainder[: max(0, n - sum(counts))]:
        counts[i] += 1
    counts[2] = n - counts[0] - counts[1]
    if n and fractions[0] > 0 and counts[0] == 0:
        donor = 2 if counts[2] >= counts[1] else 1
        counts[donor] -= 1
        counts[0] += 1
    return counts


def random_splits(n, fractions, seed):
    """The splits of `n` videos, in their order, drawn at random.

    Args:
        n: int. How many videos.
        fractions: triple of float from `check_fractions`.
        seed: str. Seeds the shuffle; a str is hashed with SHA-512, so the
            draw is the same on every platform.

    Returns:
        A list of `n` split names whose counts are `split_counts(n,
        fractions)`.
    """
    order = list(range(n))
    random.Random(seed).shuffle(order)
    counts = split_counts(n, fractions)
    splits = [None] * n
    for position, index in enumerate(order):
        if position < counts[0]:
            splits[index] = "train"
        elif position < counts[0] + counts[1]:
            splits[index] = "validation"
        else:
            splits[index] = "test"
    return splits
