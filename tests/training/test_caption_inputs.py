import collections

import numpy as np
import pytest
import tensorflow as tf

from tests.fixtures.caption_datasets import CAPTIONS
from tests.fixtures.caption_datasets import write_captioned_dataset
from vidattn.data import FeatureDataset
from vidattn.layers import CaptionTokenizer
from vidattn.training import build_caption_tokenizer
from vidattn.training import caption_batches
from vidattn.training import caption_references

# The fixture's captions as PTBTokenizer gives them, by video.
STANDARDIZED = (
    ("a man is slicing a tomato", "someone slices a tomato"),
    (),
    ("a dog is running",),
    (
        "a woman is slicing an onion",
        "a woman cuts an onion",
        "someone 's cooking",
    ),
    ("a man is running",),
)
# a: 7, is: 4, then 2 each, then 1 each, alphabetically within a count.
VOCABULARY = [
    "a",
    "is",
    "an",
    "man",
    "onion",
    "running",
    "slicing",
    "someone",
    "tomato",
    "woman",
    "'s",
    "cooking",
    "cuts",
    "dog",
    "slices",
]


@pytest.fixture(scope="module")
def captioned(tmp_path_factory):
    directory = tmp_path_factory.mktemp("msvd")
    features = write_captioned_dataset(directory)
    return FeatureDataset(str(directory)), features


def test_tokenizer_is_adapted_on_every_caption(captioned, caplog):
    dataset, _ = captioned
    with caplog.at_level("WARNING"):
        tokenizer = build_caption_tokenizer(dataset, max_length=5, min_count=1)
    assert "2 of 7 training captions" in caplog.text
    assert "max_length=5" in caplog.text
    assert tokenizer.vocabulary == VOCABULARY
    assert tokenizer.num_adapted_captions == 7
    assert tokenizer.num_truncated_captions == 2  # The two of 6 words.
    rare = build_caption_tokenizer(dataset, min_count=2)
    assert rare.vocabulary == VOCABULARY[:10]


def test_references_are_the_stored_captions(captioned):
    dataset, _ = captioned
    assert caption_references(dataset) == {
        f"video_{index}": list(captions)
        for index, captions in enumerate(CAPTIONS)
    }


def _video_of(features, stored):
    """Index of the stored video whose frames start the padded features."""
    matches = [
        index
        for index, frames in enumerate(stored)
        if np.array_equal(features[: len(frames)], frames)
    ]
    assert len(matches) == 1
    return matches[0]


def test_batches_hold_every_caption_once_per_epoch(captioned):
    dataset, stored = captioned
    tokenizer = build_caption_tokenizer(dataset)
    batches = caption_batches(dataset, tokenizer, batch_size=3, seed=4)
    assert batches.cardinality().numpy() == 3
    expected = collections.Counter(
        (index, caption)
        for index, captions in enumerate(STANDARDIZED)
        for caption in captions
    )
    for _ in range(2):
        received = collections.Counter()
        for batch in batches:
            assert set(batch) == {"features", "frame_mask", "caption_ids"}
            features = batch["features"].numpy()
            mask = batch["frame_mask"].numpy()
            ids = batch["caption_ids"]
            assert features.dtype == np.float32 and mask.dtype == bool
            assert ids.dtype == tf.int32
            assert features.shape[1:] == (mask.shape[1], 2, 2, 3)
            assert features.shape[0] == mask.shape[0] == ids.shape[0]
            for row, caption in enumerate(tokenizer.decode_ids(ids.numpy())):
                video = _video_of(features[row], stored)
                assert mask[row].sum() == len(stored[video])
                received[(video, caption)] += 1
        assert received == expected


def test_black_padding_frames_are_masked(tmp_path):
    # Black padding frames at the end of each video (of 3, 5, 4, 6, 2).
    padding_counts = (1, 0, 3, 5, 0)
    stored = write_captioned_dataset(tmp_path, padding_counts=padding_counts)
    dataset = FeatureDataset(str(tmp_path))
    tokenizer = build_caption_tokenizer(dataset)
    seen = collections.Counter()
    for batch in caption_batches(dataset, tokenizer, batch_size=3, seed=2):
        features = batch["features"].numpy()
        for row, mask in enumerate(batch["frame_mask"].numpy()):
            video = _video_of(features[row], stored)
            real = len(stored[video]) - padding_counts[video]
            np.testing.assert_array_equal(mask, np.arange(len(mask)) < real)
            seen[video] += 1
    assert seen == {0: 2, 2: 1, 3: 3, 4: 1}


def test_caption_ids_are_cut_to_the_longest_caption_of_the_batch(captioned):
    dataset, _ = captioned
    tokenizer = build_caption_tokenizer(dataset, max_length=5)

    def lengths(batch_size):
        batches = caption_batches(
            dataset, tokenizer, batch_size=batch_size, shuffle=False
        )
        received = []
        for batch in batches:
            ids = batch["caption_ids"].numpy()
            words = [len(text.split()) for text in tokenizer.decode_ids(ids)]
            assert (ids[:, 0] == 2).all()
            assert all(ids[row, n + 1] == 3 for row, n in enumerate(words))
            received.append(ids.shape[1])
        return received

    # Words per caption, in manifest order: 6 (cut to 5), 4, 4, 6 (cut to
    # 5), 5, 3, 4; plus START and END.
    assert lengths(1) == [7, 6, 6, 7, 7, 5, 6]
    assert lengths(3) == [7, 7, 6]


def test_a_seed_gives_the_same_batches(captioned):
    dataset, _ = captioned
    tokenizer = build_caption_tokenizer(dataset)

    def epoch():
        batches = caption_batches(dataset, tokenizer, batch_size=2, seed=9)
        return [batch["caption_ids"].numpy().tolist() for batch in batches]

    first = epoch()
    assert epoch() == first
    unshuffled = caption_batches(
        dataset, tokenizer, batch_size=7, shuffle=False
    )
    ids = next(iter(unshuffled))["caption_ids"].numpy()
    assert tokenizer.decode_ids(ids) == [
        caption for captions in STANDARDIZED for caption in captions
    ]


@pytest.mark.parametrize(
    "caption, expected",
    [
        ("...", "at least one word after standardization"),
        ("Zebras graze.", "at least one word of the vocabulary"),
    ],
)
def test_a_bad_caption_fails_naming_its_video(tmp_path, caption, expected):
    write_captioned_dataset(tmp_path, [["A man."], ["A dog.", caption]], [2, 3])
    dataset = FeatureDataset(str(tmp_path))
    tokenizer = CaptionTokenizer(vocabulary=["a", "man", "dog"])
    batches = caption_batches(dataset, tokenizer, batch_size=3, shuffle=False)
    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        list(batches)
    assert (
        f"video_id=video_1: expected a caption with {expected}"
        in info.value.message
    )
    assert f"caption «{caption}»" in info.value.message
    if caption == "...":
        with pytest.raises(ValueError, match="video_id=video_1: expected"):
            build_caption_tokenizer(dataset)


def test_refusals(tmp_path, captioned):
    dataset, _ = captioned
    with pytest.raises(ValueError, match="`batch_size` to be a positive"):
        caption_batches(dataset, CaptionTokenizer(vocabulary=["a"]), 0)
    with pytest.raises(ValueError, match="with a vocabulary"):
        caption_batches(dataset, CaptionTokenizer())
    with pytest.raises(ValueError, match="`tokenizer` to be a vidattn"):
        caption_batches(dataset, "words")
    write_captioned_dataset(tmp_path, [[], []], [2, 2])
    uncaptioned = FeatureDataset(str(tmp_path))
    with pytest.raises(ValueError, match="Expected a dataset with captions"):
        build_caption_tokenizer(uncaptioned)
