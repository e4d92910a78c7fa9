"""Batches of windows cut from groups of whole videos by one gather each.

A window of `L` frames shares all but one frame with its neighbour, so
copying each window out of its video and then into a batch moves every
stored frame about `2 * L` times. Here a group of videos is concatenated
once (frames `[N, K, K, D]`, cast once to the output dtype), each window is
a row of `L` frame indices into it, and each batch is written by one
`tf.gather` of `batch_size` rows straight into its final buffer. Batches
that straddle two groups take their first rows from the previous group,
which a `scan` carries forward without copying it.
"""

import tensorflow as tf


def group_windows(videos, *, group_size, seed, shuffle, dtype):
    """Concatenates `group_size` videos and lists their windows.

    Args:
        videos: `tf.data.Dataset` of dicts with `"features"` `(T, K, K, D)`,
            `"rows"` int32 `(W, L)` (frame indices into the video) and
            per-window `(W, ...)` tensors under `"targets"`.
        group_size: int. Videos per group.
        seed: int or None. Seed of the shuffle of each group's windows.
        shuffle: bool. Whether to shuffle each group's windows (freshly
            each epoch).
        dtype: tf.DType. Dtype of the group's frames.

    Returns:
        A `tf.data.Dataset` of groups: `"frames"` `(N, K, K, D)` in `dtype`,
        `"rows"` int32 `(W, L)` indices into `"frames"`, and `"targets"`.
    """
    groups = videos.ragged_batch(group_size, row_splits_dtype=tf.int32)
    if shuffle:
        keys = tf.data.Dataset.random(seed, rerandomize_each_iteration=True)
        groups = tf.data.Dataset.zip(groups, keys)
    else:
        groups = groups.map(lambda group: (group, tf.constant(0, tf.int64)))

    def concatenate(group, key):
        features = group["features"]
        first_frames = features.row_splits[:-1]
        rows = group["rows"]
        video_of_window = rows.value_rowids()
        rows = rows.values + tf.gather(first_frames, video_of_window)[:, None]
        targets = {
            name: value.values for name, value in group["targets"].items()
        }
        if shuffle:
            order = tf.argsort(
                tf.random.stateless_uniform(
                    tf.shape(rows)[:1], seed=tf.stack([key, key // 7 + 1])
                )
            )
            rows = tf.gather(rows, order)
            targets = {
                name: tf.gather(value, order) for name, value in targets.items()
            }
        return {
            "frames": tf.cast(features.values, dtype),
            "rows": rows,
            "targets": targets,
        }

    return groups.map(concatenate, num_parallel_calls=tf.data.AUTOTUNE)


def batch_groups(groups, batch_size, *, drop_remainder, deterministic):
    """Cuts batches of `batch_size` windows from a dataset of groups.

    Every window appears once, in group order (and within a group in the
    group's order); only the last batch may be smaller, and it is dropped
    when `drop_remainder` is True.

    Args:
        groups: `tf.data.Dataset` as returned by `group_windows`.
        batch_size: int. Windows per batch.
        drop_remainder: bool. Whether to drop a last, smaller batch.
        deterministic: bool. Whether the parallel gathers keep the order.

    Returns:
        A `tf.data.Dataset` of `(features, targets)`: features
        `(batch, L, K, K, D)` in the groups' dtype and each target
        `(batch, ...)`.
    """
    spec = groups.element_spec
    empty = tf.nest.map_structure(
        lambda s: tf.zeros([0 if d is None else d for d in s.shape], s.dtype),
        spec,
    )
    # The end-of-data group releases the last rows the scan still carries.
    groups = groups.map(lambda group: (group, False)).concatenate(
        tf.data.Dataset.from_tensors((empty, True))
    )

    def merge(carry, group):
        frames = tf.concat([carry["frames"], group["frames"]], axis=0)
        offset = tf.shape(carry["frames"], out_type=tf.int32)[0]
        return {
            "frames": frames,
            "rows": tf.concat([carry["rows"], group["rows"] + offset], axis=0),
            "targets": tf.nest.map_structure(
                lambda a, b: tf.concat([a, b], axis=0),
                carry["targets"],
                group["targets"],
            ),
        }

    def plan(carry, element):
        group, final = element
        carried = tf.shape(carry["rows"])[0]
        total = carried + tf.shape(group["rows"])[0]
        num_full = total // batch_size
        remainder = tf.logical_and(
            final, tf.logical_and(carried > 0, not drop_remainder)
        )
        # Too few windows for a batch: carry both, copying their frames
        # (rare: only groups smaller than a batch).
        merge_all = tf.logical_and(num_full == 0, tf.logical_not(final))
        taken = tf.maximum(num_full * batch_size - carried, 0)
        next_carry = tf.cond(
            merge_all,
            lambda: merge(carry, group),
            lambda: {
                "frames": group["frames"],
                "rows": group["rows"][taken:],
                "targets": tf.nest.map_structure(
                    lambda value: value[taken:], group["targets"]
                ),
            },
        )
        output = (carry, group, num_full, remainder, merge_all)
        return next_carry, output

    def slices(carry, group, num_full, remainder, merge_all):
        num_batches = tf.where(
            merge_all, 0, num_full + tf.cast(remainder, num_full.dtype)
        )
        carried = tf.shape(carry["rows"])[0]

        def bounds(index):
            # Batch 0 takes every carried row first; a remainder batch
            # (num_full == 0) takes only carried rows.
            start = tf.maximum(index * batch_size - carried, 0)
            stop = tf.minimum(
                (index + 1) * batch_size - carried,
                tf.shape(group["rows"])[0],
            )
            stop = tf.where(index < num_full, stop, start)
            return carry, group, index == 0, start, stop

        batch_indices = tf.data.Dataset.range(tf.cast(num_batches, tf.int64))
        return batch_indices.map(lambda index: bounds(tf.cast(index, tf.int32)))

    def gather(carry, group, with_carry, start, stop):
        rows = group["rows"][start:stop]
        targets = tf.nest.map_structure(
            lambda value: value[start:stop], group["targets"]
        )

        def from_group():
            return tf.gather(group["frames"], rows), targets

        def from_both():
            return (
                tf.concat(
                    [
                        tf.gather(carry["frames"], carry["rows"]),
                        tf.gather(group["frames"], rows),
                    ],
                    axis=0,
                ),
                tf.nest.map_structure(
                    lambda a, b: tf.concat([a, b], axis=0),
                    carry["targets"],
                    targets,
                ),
            )

        use_carry = tf.logical_and(with_carry, tf.shape(carry["rows"])[0] > 0)
        return tf.cond(use_carry, from_both, from_group)

    batches = groups.scan(empty, plan).flat_map(slices)
    return batches.map(
        gather,
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=deterministic,
    )
