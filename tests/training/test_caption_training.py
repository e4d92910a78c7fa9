"""From captioned TFRecords to a trained captioner, its sentences and scores."""

import keras
import numpy as np
import pytest

import vidattn
from tests.fixtures.caption_datasets import write_captioned_dataset
from vidattn.data import FeatureDataset
from vidattn.training import build_caption_tokenizer
from vidattn.training import caption_batches
from vidattn.training import caption_references


@pytest.mark.slow
def test_a_captioner_trained_on_tfrecords_says_its_captions(tmp_path):
    write_captioned_dataset(tmp_path / "train")
    train = FeatureDataset(str(tmp_path / "train"))
    tokenizer = build_caption_tokenizer(train)
    keras.utils.set_random_seed(0)
    model = vidattn.models.VideoCaptioner(
        tokenizer,
        units=32,
        embedding_dim=16,
        attention="additive",
        dropout=0.0,
        weight_decay=0.0,
    )
    model.compile(optimizer=keras.optimizers.Adam(0.03))
    batches = caption_batches(train, tokenizer, batch_size=7, seed=0)
    history = model.fit(batches, epochs=20, verbose=0)
    losses = history.history["loss"]
    assert np.all(np.isfinite(losses))
    assert losses[-1] < 0.2 * losses[0]

    references = {
        video_id: captions
        for video_id, captions in caption_references(train).items()
        if captions
    }
    candidates = {}
    for video in train.videos():
        if video["video_id"] in references:
            features = video["features"][None].astype("float32")
            result = model.generate(features, beam_width=4, max_length=10)
            candidates[video["video_id"]] = result["captions"][0]
    # Each video's sentence is one of its own captions, or close to one.
    scores = vidattn.metrics.caption_scores(
        references, candidates, metrics=("bleu", "rouge_l")
    )
    assert scores["BLEU-1"] > 0.8, (scores, candidates)
    assert scores["ROUGE-L"] > 0.8, (scores, candidates)


def test_linear_attention_needs_every_video_to_have_the_frames_it_was_built_on(
    tmp_path,
):
    write_captioned_dataset(tmp_path / "train")
    train = FeatureDataset(str(tmp_path / "train"))
    tokenizer = build_caption_tokenizer(train)
    model = vidattn.models.VideoCaptioner(tokenizer, units=8, embedding_dim=4)
    batches = caption_batches(train, tokenizer, batch_size=2, shuffle=False)
    first, second = list(batches.take(2))
    model(first)
    with pytest.raises(ValueError, match=r"Expected videos of \d+ frames"):
        model(second)
    model.compile()
    with pytest.raises(Exception, match=r"Expected videos of \d+ frames"):
        model.fit(batches, epochs=1, verbose=0)
