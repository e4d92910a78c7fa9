"""What a captioner trains and is scored on, from a `FeatureDataset`."""

import tensorflow as tf
from absl import logging

from vidattn.layers.caption_tokenizer import PADDING_ID
from vidattn.layers.caption_tokenizer import CaptionTokenizer
from vidattn.utils.arguments import check_positive_int


def _video_source(video_id):
    return f"video_id={video_id}"


def _check_captioned(dataset):
    if not int(dataset.num_captions.sum()):
        raise ValueError(
            f"Expected a dataset with captions. Received {dataset.directory}, "
            "whose manifest lists none. Extract the features with the "
            "dataset's captions (e.g. the MSVD importer)."
        )


def build_caption_tokenizer(dataset, max_length=30, min_count=1):
    """A `CaptionTokenizer` adapted on every caption of a dataset.

    Only the captions are read (`FeatureDataset.video_captions`), not the
    features. Pass the training split: words seen only in validation or
    test captions must stay unknown to the model.

    Args:
        dataset: `vidattn.data.FeatureDataset`. The training split.
        max_length: int. Words kept per caption. Defaults to `30`.
        min_count: int. Times a word must occur to be kept. Defaults to
            `1`.

    Returns:
        The adapted `vidattn.layers.CaptionTokenizer`; its
        `num_adapted_captions` and `num_truncated_captions` say how many
        captions it read and how many are longer than `max_length` (a
        warning is logged when there are any).

    Raises:
        ValueError: if the dataset has no captions, or a caption has no
            words after standardization (naming its video).
    """
    _check_captioned(dataset)
    tokenizer = CaptionTokenizer(max_length=max_length, min_count=min_count)
    references = caption_references(dataset)
    tokenizer.adapt(
        (caption for captions in references.values() for caption in captions),
        sources=(
            _video_source(video_id)
            for video_id, captions in references.items()
            for _ in captions
        ),
    )
    if tokenizer.num_truncated_captions:
        logging.warning(
            "%d of %d training captions in %s are longer than max_length=%d "
            "words and are cut to it; pass a larger max_length to keep them "
            "whole.",
            tokenizer.num_truncated_captions,
            tokenizer.num_adapted_captions,
            dataset.directory,
            max_length,
        )
    return tokenizer


def caption_references(dataset):
    """Every video's captions, for scoring generated captions.

    Args:
        dataset: `vidattn.data.FeatureDataset`.

    Returns:
        A dict `{video_id: [caption, ...]}` in manifest order, holding the
        captions as stored (not standardized); a video without captions
        maps to `[]`.
    """
    return dict(dataset.video_captions())


def caption_batches(
    dataset,
    tokenizer,
    batch_size=32,
    *,
    shuffle=True,
    seed=None,
    shuffle_buffer_size=128,
    deterministic=None,
    cycle_length=8,
    drop_remainder=False,
    dtype="float32",
):
    """The inputs of `VideoCaptioner.fit`: every caption once per epoch.

    Built on `FeatureDataset.captions()`: each element pairs one caption
    with all stored frames of its video, batches padded to their longest
    video. Each batch's caption ids are cut to its longest caption
    (`max_length + 2` ids at most), so that short captions cost short
    steps.

    Args:
        dataset: `vidattn.data.FeatureDataset` with captions.
        tokenizer: `vidattn.layers.CaptionTokenizer` with a vocabulary
            (e.g. from `build_caption_tokenizer`).
        batch_size: int. Captions per batch. Defaults to `32`.
        shuffle: bool. Whether to shuffle each epoch. Defaults to `True`.
        seed: int or None. Seed of the shuffles. Defaults to `None`.
        shuffle_buffer_size: int. (Video, caption) pairs in the shuffle
            buffer. Defaults to `128`.
        deterministic: bool or None. Whether parallel reads keep a fixed
            order; None means `seed is not None or not shuffle`, so that
            a seed, or no shuffling, gives a reproducible order. Defaults
            to `None`.
        cycle_length: int. Shards read at once. Defaults to `8`.
        drop_remainder: bool. Whether to drop a last, smaller batch.
            Defaults to `False`.
        dtype: str. Dtype of the features. Defaults to `"float32"`.

    Returns:
        A `tf.data.Dataset` of dicts `{"features": (batch, N, K, K, D)` in
        `dtype`, `"frame_mask": (batch, N)` bool, `"caption_ids": (batch,
        L)` int32}`, `N` the longest video of the batch and `L` its longest
        caption plus 2 (`[START_ID, words..., END_ID, 0, ...]`). No
        targets: the captioner's loss reads the ids. Its cardinality is
        set.

    Raises:
        ValueError: if an argument is invalid, the dataset has no captions
            or the tokenizer no vocabulary. While iterating,
            `tf.errors.InvalidArgumentError` for a caption without words
            after standardization or without a known word, naming the
            video id, the caption and what was expected.

    Example:

    ```python
    train = vidattn.data.FeatureDataset("/data/msvd/train")
    tokenizer = vidattn.training.build_caption_tokenizer(train)
    inputs = vidattn.training.caption_batches(train, tokenizer, seed=1)
    captioner.fit(inputs, epochs=10)
    ```
    """
    check_positive_int("batch_size", batch_size)
    if not isinstance(tokenizer, CaptionTokenizer):
        raise ValueError(
            "Expected `tokenizer` to be a vidattn.layers.CaptionTokenizer. "
            f"Received: tokenizer={tokenizer!r}"
        )
    if tokenizer.vocabulary is None:
        raise ValueError(
            "Expected a tokenizer with a vocabulary. Received one that has "
            "none: build it with build_caption_tokenizer(train_dataset)."
        )
    _check_captioned(dataset)
    if deterministic is None:
        deterministic = seed is not None or not shuffle
    pairs = dataset.captions(
        batch_size,
        shuffle=shuffle,
        shuffle_buffer_size=shuffle_buffer_size,
        seed=seed,
        deterministic=deterministic,
        cycle_length=cycle_length,
        drop_remainder=drop_remainder,
        dtype=dtype,
    )
    sources = tf.constant([_video_source(i) for i in dataset.video_ids])

    def to_inputs(video, captions):
        ids = tokenizer(
            captions, sources=tf.gather(sources, video["video_index"])
        )
        lengths = tf.reduce_sum(tf.cast(ids != PADDING_ID, tf.int32), axis=1)
        return {
            "features": video["features"],
            "frame_mask": video["frame_mask"],
            "caption_ids": ids[:, : tf.reduce_max(lengths)],
        }

    return pairs.map(
        to_inputs,
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=deterministic,
    )
