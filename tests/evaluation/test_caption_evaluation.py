import keras
import numpy as np
import pytest

import vidattn
from tests.fixtures.caption_datasets import CAPTIONS
from tests.fixtures.caption_datasets import CHANNELS
from tests.fixtures.caption_datasets import GRID_SIZE
from tests.fixtures.caption_datasets import write_captioned_dataset
from tests.fixtures.feature_datasets import write_split
from vidattn.datasets import generate_moving_region_videos
from vidattn.evaluation import coco_results
from vidattn.evaluation import evaluate_caption_model
from vidattn.evaluation import format_caption_report
from vidattn.metrics import caption_scores

# Black padding at the end of videos 1 and 3 (of 5 and 6 frames).
PADDING = (0, 2, 0, 3, 0)
FAST_METRICS = ("bleu", "rouge_l", "cider")


def _captioner(data, **kwargs):
    keras.utils.set_random_seed(3)
    tokenizer = vidattn.training.build_caption_tokenizer(data)
    arguments = dict(
        units=16,
        embedding_dim=8,
        attention="additive",
        dropout=0.0,
        attention_penalty=0.0,
        weight_decay=0.0,
        seed=3,
    )
    return vidattn.models.VideoCaptioner(tokenizer, **{**arguments, **kwargs})


@pytest.fixture(scope="module")
def captioned(tmp_path_factory):
    root = tmp_path_factory.mktemp("captioned")
    stored = write_captioned_dataset(root / "test", padding_counts=PADDING)
    data = vidattn.data.FeatureDataset(str(root / "test"))
    model = _captioner(data)
    model.generate(stored[0][None], beam_width=1, max_length=2)
    model.save(root / "captioner.keras")
    return str(root / "test"), str(root / "captioner.keras"), stored


def test_sentences_are_each_videos_own_and_scores_are_coco_captions(
    captioned,
):
    data_dir, model_path, stored = captioned
    report = evaluate_caption_model(
        model_path,
        data_dir,
        beam_width=2,
        max_length=8,
        batch_size=3,
        metrics=FAST_METRICS,
        verbose=0,
    )
    model = keras.models.load_model(model_path)
    ids = [f"video_{index}" for index in range(5)]
    assert list(report["sentences"]) == ids
    # Each video alone, unpadded but for its own black frames, gives the
    # sentence that the batches of 3 videos padded to 6 frames gave.
    for video_id, features, padding in zip(ids, stored, PADDING):
        mask = np.arange(len(features)) < len(features) - padding
        alone = model.generate(
            {"features": features[None], "frame_mask": mask[None]},
            beam_width=2,
            max_length=8,
        )
        entry = report["sentences"][video_id]
        assert entry["sentence"] == alone["captions"][0]
        np.testing.assert_allclose(
            entry["log_probability"], alone["log_probability"][0], atol=1e-5
        )
    # Video 1 has no references: described, not scored.
    references = {i: list(c) for i, c in zip(ids, CAPTIONS) if c}
    expected = caption_scores(
        references,
        {i: report["sentences"][i]["sentence"] for i in references},
        metrics=FAST_METRICS,
    )
    assert report["scores"] == expected
    assert list(report["scores"]) == [
        "BLEU-1",
        "BLEU-2",
        "BLEU-3",
        "BLEU-4",
        "ROUGE-L",
        "CIDEr",
    ]
    assert report["task"] == "captioning"
    assert (report["num_videos"], report["num_references"]) == (5, 7)
    protocol = report["protocol"]
    assert protocol["references_per_video"] == 7 / 4
    assert protocol["videos_scored"] == 4
    assert protocol["videos_without_references"] == 1
    assert protocol["videos_with_padding"] == 2
    assert protocol["frames_per_video"] == [2, 3, 4, 5, 6]
    assert protocol["sampling"] == ["fps=10"]
    assert (protocol["beam_width"], protocol["max_length"]) == (2, 8)

    assert coco_results(report) == [
        {"image_id": i, "caption": report["sentences"][i]["sentence"]}
        for i in ids
    ]
    text = format_caption_report(report)
    assert "beam search of width 2, at most 8 words" in text
    assert "4 scored against 7 references (1.8 per video)" in text
    assert "1 videos without references" in text
    assert f"BLEU-4   {100 * expected['BLEU-4']:6.2f}" in text


def test_an_action_model_is_refused(captioned):
    data_dir, _, _ = captioned
    model = vidattn.models.ActionRecognizer(3, units=8, num_layers=1)
    model(np.zeros((1, 4, GRID_SIZE, GRID_SIZE, CHANNELS), "float32"))
    with pytest.raises(ValueError, match="Expected a captioning model"):
        evaluate_caption_model(model, data_dir, verbose=0)


def test_data_without_captions_are_refused(captioned, tmp_path):
    _, model_path, _ = captioned
    videos = generate_moving_region_videos(2, frames=4, seed=1)
    data_dir = write_split(tmp_path / "action", videos, "test")
    with pytest.raises(ValueError, match="whose manifest lists none"):
        evaluate_caption_model(model_path, data_dir, verbose=0)


def test_features_of_another_shape_are_refused(captioned):
    data_dir, _, stored = captioned
    data = vidattn.data.FeatureDataset(data_dir)
    model = _captioner(data)
    model.build({"features": (1, 2, GRID_SIZE, GRID_SIZE, 5)})
    with pytest.raises(ValueError, match=r"reads 2x2x5 features .* hold 2x2x3"):
        evaluate_caption_model(model, data_dir, verbose=0)


def test_a_linear_model_of_fewer_frames_than_the_data_is_refused(captioned):
    data_dir, _, _ = captioned
    data = vidattn.data.FeatureDataset(data_dir)
    model = _captioner(data, attention="linear")
    model.build({"features": (1, 4, GRID_SIZE, GRID_SIZE, CHANNELS)})
    with pytest.raises(ValueError, match="reads videos of 4 frames"):
        evaluate_caption_model(model, data_dir, verbose=0)
