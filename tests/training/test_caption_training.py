"""From captioned TFRecords to a trained captioner, its sentences and scores."""

import csv
import glob
import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

import vidattn
from tests.fixtures.caption_datasets import write_captioned_dataset
from tests.training.test_action_training import StopAfterEpoch
from vidattn.data import FeatureDataset
from vidattn.training import CaptionTrainingConfig
from vidattn.training import build_caption_tokenizer
from vidattn.training import caption_batches
from vidattn.training import caption_references
from vidattn.training import train_caption_model


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


# A run of `train_caption_model` on videos whose features say their words.
SENTENCES = (
    ("a man is running on a road", "a man runs on a road"),
    ("a woman is cooking some food", "a woman cooks some food"),
)
FRAMES, GRID, CHANNELS = 4, 2, 4


def write_sentence_split(directory, split, count, seed, extra_caption=None):
    """Videos of class `i % 2`, whose features hold the class on a channel.

    Every video has 4 frames (`even:4/8` sampling); the last video's last
    frame is padding. `extra_caption` is added to the first video.
    """
    rng = np.random.default_rng(seed)
    with vidattn.data.ShardWriter(
        str(directory),
        backbone="generated",
        layer="sentences",
        input_size=(8, 8),
        grid_size=GRID,
        channels=CHANNELS,
        split=split,
        max_videos_per_shard=3,
    ) as writer:
        for index in range(count):
            features = rng.normal(0, 0.3, (FRAMES, GRID, GRID, CHANNELS))
            features[..., index % 2] += 2.0
            padding = 1 if index == count - 1 else 0
            if padding:
                features[-padding:] = 0.0
            captions = list(SENTENCES[index % 2])
            if index == 0 and extra_caption:
                captions.append(extra_caption)
            writer.write(
                f"{split}_{index}",
                features.astype("float32"),
                captions=captions,
                sampling=f"even:{FRAMES}/8",
                padding_frames=padding,
            )
    return str(directory)


@pytest.fixture(scope="module")
def sentence_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("sentences")
    return (
        write_sentence_split(root / "train", "train", 10, seed=1),
        write_sentence_split(
            root / "validation",
            "validation",
            4,
            seed=2,
            extra_caption="a man is running quickly",
        ),
    )


def small_caption_config(**overrides):
    values = dict(
        units=16,
        embedding_dim=8,
        batch_size=4,
        epochs=3,
        learning_rate=0.05,
        dropout=0.0,
        max_length=8,
        beam_width=2,
        best_metric="BLEU-4",
        validation_videos=4,
        attention_images=2,
        seed=3,
    )
    values.update(overrides)
    return CaptionTrainingConfig(**values)


@pytest.fixture(scope="module")
def finished_run(sentence_data, tmp_path_factory):
    output_dir = str(tmp_path_factory.mktemp("run"))
    summary = train_caption_model(
        small_caption_config(), *sentence_data, output_dir, verbose=0
    )
    return output_dir, summary


def read_history(output_dir):
    with open(os.path.join(output_dir, "history.csv")) as file:
        return list(csv.DictReader(file))


def validation_inputs(validation_dir):
    videos = list(FeatureDataset(validation_dir).videos())
    features = np.stack([v["features"] for v in videos]).astype("float32")
    frame_mask = np.ones(features.shape[:2], bool)
    frame_mask[-1, -1] = False
    references = {v["video_id"]: list(v["captions"]) for v in videos}
    return [v["video_id"] for v in videos], features, frame_mask, references


@pytest.mark.slow
def test_the_best_captioner_is_the_one_of_the_best_validation_bleu_4(
    sentence_data, finished_run
):
    train_dir, validation_dir = sentence_data
    output_dir, summary = finished_run
    rows = read_history(output_dir)
    assert [int(row["epoch"]) for row in rows] == [0, 1, 2]
    for name in ("BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4", "ROUGE-L", "CIDEr"):
        assert f"val_{name}" in rows[0]
    assert "val_METEOR" not in rows[0]
    bleu_4 = [float(row["val_BLEU-4"]) for row in rows]
    best = json.load(open(os.path.join(output_dir, "best.json")))
    assert best == {
        "monitor": "val_BLEU-4",
        "value": pytest.approx(max(bleu_4)),
        "epoch": bleu_4.index(max(bleu_4)) + 1,
    }
    assert summary["best"] == best

    # The best model's own sentences, scored apart from the run, give its
    # recorded BLEU-4.
    video_ids, features, frame_mask, references = validation_inputs(
        validation_dir
    )
    model = keras.models.load_model(summary["best_model"])
    sentences = model.generate(
        {"features": features, "frame_mask": frame_mask},
        beam_width=2,
        max_length=9,
    )["captions"]
    scores = vidattn.metrics.caption_scores(
        references, dict(zip(video_ids, sentences)), metrics=("bleu",)
    )
    assert scores["BLEU-4"] == pytest.approx(best["value"], abs=1e-9)
    assert max(bleu_4) > 0.5, (bleu_4, sentences)


@pytest.mark.slow
def test_a_captioning_run_keeps_its_vocabulary_data_and_features(
    sentence_data, finished_run
):
    train_dir, validation_dir = sentence_data
    output_dir, summary = finished_run
    words = open(summary["vocabulary"]).read().split("\n")[:-1]
    # The training captions' words only: "quickly" is in a validation one.
    assert sorted(words) == sorted(
        {word for pair in SENTENCES for s in pair for word in s.split()}
    )
    model = keras.models.load_model(summary["final_model"])
    assert model.tokenizer.vocabulary == words
    assert model.feature_metadata == {
        "backbone": "generated",
        "layer": "sentences",
        "input_size": [8, 8],
        "grid_size": 2,
        "channels": 4,
        "stored_fps": None,
        "sampling": "even:4/8",
        "train_split": "train",
    }
    saved = json.load(open(os.path.join(output_dir, "config.json")))
    assert saved["units"] == 16 and saved["best_metric"] == "BLEU-4"
    assert saved["train_data"] == os.path.abspath(train_dir)
    assert (saved["train_captions"], saved["vocabulary_size"]) == (20, 16)
    assert saved["sampling"] == "even:4/8"
    assert not [name for name in os.listdir(output_dir) if ".tmp" in name]
    tags = set()
    for path in glob.glob(os.path.join(output_dir, "logs", "validation", "*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            tags.update(value.tag for value in event.summary.value)
    assert {"epoch_BLEU-4", "epoch_CIDEr", "epoch_loss"} <= tags
    # Each epoch, the first two validation videos' sentences and per-word
    # attention.
    attention_tags = []
    for path in glob.glob(os.path.join(output_dir, "logs", "attention", "*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            attention_tags += [value.tag for value in event.summary.value]
    first_two = [v["video_id"] for v in FeatureDataset(validation_dir).videos()]
    for video_id in first_two[:2]:
        assert attention_tags.count(f"{video_id}/attention") == 3
        assert attention_tags.count(f"{video_id}/sentence") == 3


@pytest.mark.slow
def test_a_killed_captioning_run_resumes_to_the_weights_of_an_unkilled_run(
    sentence_data, finished_run, tmp_path
):
    uninterrupted_dir, uninterrupted = finished_run
    config = small_caption_config()
    with pytest.raises(KeyboardInterrupt):
        train_caption_model(
            config,
            *sentence_data,
            str(tmp_path),
            verbose=0,
            callbacks=[StopAfterEpoch(0)],
        )
    resumed = train_caption_model(
        config, *sentence_data, str(tmp_path), verbose=0
    )
    assert resumed["resumed_from_epoch"] == 1
    assert len(resumed["history"]["loss"]) == 2
    expected = keras.models.load_model(uninterrupted["final_model"])
    received = keras.models.load_model(resumed["final_model"])
    assert received.tokenizer.vocabulary == expected.tokenizer.vocabulary
    for e, r in zip(expected.get_weights(), received.get_weights()):
        np.testing.assert_allclose(r, e, rtol=1e-4, atol=1e-5)
    assert [row["val_BLEU-4"] for row in read_history(str(tmp_path))] == [
        row["val_BLEU-4"] for row in read_history(uninterrupted_dir)
    ]

    # Rerunning the finished run finds it done.
    again = train_caption_model(
        config, *sentence_data, str(tmp_path), verbose=0
    )
    assert again["history"] == {} and again["resumed_from_epoch"] == 3


@pytest.mark.slow
def test_a_captioning_run_refuses_another_configuration_or_other_captions(
    sentence_data, finished_run, tmp_path
):
    output_dir, _ = finished_run
    with pytest.raises(
        ValueError, match=r"Received different values .*'units': \(16, 32\)"
    ):
        train_caption_model(
            small_caption_config(units=32), *sentence_data, output_dir
        )
    other = write_sentence_split(
        tmp_path / "other", "train", 10, seed=1, extra_caption="a dog barks"
    )
    with pytest.raises(ValueError) as error:
        train_caption_model(
            small_caption_config(), other, sentence_data[1], output_dir
        )
    message = str(error.value)
    assert "vocabulary.txt, 12 words" in message and "(14 words)" in message
    assert other in message


def test_linear_attention_refuses_videos_of_different_frame_counts(tmp_path):
    write_captioned_dataset(tmp_path / "train")
    with pytest.raises(ValueError) as error:
        train_caption_model(
            small_caption_config(),
            str(tmp_path / "train"),
            str(tmp_path / "train"),
            str(tmp_path / "run"),
        )
    assert "Received videos of [2, 3, 4, 5, 6] frames" in str(error.value)
    assert "--evenly_spaced 26/240" in str(error.value)
    assert not os.path.exists(tmp_path / "run" / "config.json")


def test_a_run_without_java_stops_before_training_and_says_what_to_do(
    sentence_data, tmp_path, monkeypatch
):
    monkeypatch.setattr(
        vidattn.training.caption_training.shutil, "which", lambda name: None
    )
    with pytest.raises(vidattn.metrics.JavaNotFoundError) as error:
        train_caption_model(
            small_caption_config(best_metric="METEOR"),
            *sentence_data,
            str(tmp_path),
        )
    message = str(error.value)
    assert "PTB tokenizer" in message and "METEOR run on Java" in message
    assert "--best_metric loss --validation_videos 0" in message
    assert os.listdir(tmp_path) == []
