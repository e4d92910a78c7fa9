import json

import keras
import numpy as np
import pytest

from tests.fixtures.caption_datasets import write_captioned_dataset
from vidattn.data import FeatureDataset
from vidattn.training import BestModelCheckpoint
from vidattn.training import CaptionScoreCallback


def test_the_first_captioned_videos_are_scored_with_their_padding_masked(
    tmp_path,
):
    stored = write_captioned_dataset(
        tmp_path / "data", padding_counts=[1, 0, 0, 2, 0]
    )
    callback = CaptionScoreCallback.from_dataset(
        FeatureDataset(str(tmp_path / "data")), 3
    )
    # video_1 has no captions.
    assert callback.video_ids == ["video_0", "video_2", "video_3"]
    assert callback.features.shape == (3, 6, 2, 2, 3)
    np.testing.assert_array_equal(callback.features[1, :4], stored[2])
    np.testing.assert_array_equal(callback.features[1, 4:], 0)
    np.testing.assert_array_equal(
        callback.frame_mask,
        [[1, 1, 0, 0, 0, 0], [1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 0, 0]],
    )
    assert callback.references["video_3"][1] == "A woman cuts an onion"


class Sayer(keras.Sequential):
    """A model whose `generate` says what it is told, one list per epoch."""

    def __init__(self, sentences_per_epoch):
        super().__init__([keras.Input((1,)), keras.layers.Dense(1)])
        self.sentences_per_epoch = list(sentences_per_epoch)
        self.calls = []

    def generate(self, inputs, beam_width, max_length):
        self.calls.append((inputs["features"].shape, beam_width, max_length))
        return {"captions": self.sentences_per_epoch.pop(0)}


@pytest.mark.slow
def test_meteor_scores_reach_the_logs_and_choose_the_best_model(tmp_path):
    references = {
        "a": ["a man is slicing a tomato", "someone slices a tomato"],
        "b": ["a dog is running in the park", "a dog runs"],
    }
    model = Sayer(
        [
            ["a man is slicing a tomato", "a dog runs"],
            ["a cat sleeps", "a bird sings"],
        ]
    )
    features = np.zeros((2, 3, 2, 2, 4), "float16")
    scoring = CaptionScoreCallback(
        ["a", "b"],
        features,
        np.ones((2, 3), bool),
        references,
        metrics=("bleu", "meteor"),
        beam_width=3,
        max_length=7,
        verbose=False,
    )
    checkpoint = BestModelCheckpoint(
        tmp_path / "best.keras", monitor="val_METEOR", mode="max"
    )
    history = keras.callbacks.History()
    callbacks = keras.callbacks.CallbackList(
        [scoring, checkpoint, history], model=model
    )
    callbacks.on_train_begin()
    for epoch in range(2):
        callbacks.on_epoch_end(epoch, {"loss": 1.0})
    meteor = history.history["val_METEOR"]
    assert {"val_BLEU-1", "val_BLEU-4"} <= set(history.history)
    assert model.calls == [((2, 3, 2, 2, 4), 3, 7)] * 2
    # Exact references score high, unrelated sentences low; the worse second
    # epoch leaves the best model of the first.
    assert meteor[0] > 0.9 and meteor[1] < 0.2
    assert json.load(open(tmp_path / "best.json")) == {
        "monitor": "val_METEOR",
        "value": meteor[0],
        "epoch": 1,
    }
    assert scoring.captions == {"a": "a cat sleeps", "b": "a bird sings"}
