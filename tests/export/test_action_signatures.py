import numpy as np
import pytest
import tensorflow as tf

import vidattn
from tests.fixtures.feature_datasets import shortened
from tests.fixtures.feature_datasets import write_split
from vidattn.datasets.moving_region import generate_moving_region_videos
from vidattn.evaluation.action_evaluation import predict_videos


@pytest.fixture(scope="module")
def videos_and_model(tmp_path_factory):
    # Lengths around the window's span (2 * (3 - 1) + 1 = 5 stored frames):
    # videos too short for one window, just long enough, and longer.
    videos = shortened(
        generate_moving_region_videos(6, frames=12, seed=2), [3, 5, 12, 8]
    )
    folder = write_split(
        tmp_path_factory.mktemp("videos") / "test", videos, "test"
    )
    model = vidattn.models.ActionRecognizer(
        4,
        units=8,
        num_layers=1,
        feature_metadata={"window": 3, "stored_fps": 10.0, "fps": 5.0},
        seed=0,
    )
    model(np.zeros((1, 3, 4, 4, 32), "float32"))
    return videos, vidattn.data.FeatureDataset(folder), model


def padded(videos):
    frames = max(len(features) for features in videos.features)
    batch = np.zeros((len(videos.features), frames, 4, 4, 32), "float32")
    mask = np.zeros((len(videos.features), frames), bool)
    for index, features in enumerate(videos.features):
        batch[index, : len(features)] = features
        mask[index, : len(features)] = True
    return batch, mask


@pytest.mark.parametrize("aggregation", ["mean", "vote"])
def test_the_video_signature_is_the_thesis_protocol_of_predict_videos(
    videos_and_model, aggregation
):
    videos, data, model = videos_and_model
    expected, _ = predict_videos(
        model, data, window=3, fps=5.0, stride=2, aggregation=aggregation
    )
    signatures = vidattn.export.action_signatures(
        model, stride=2, aggregation=aggregation, window_batch_size=4
    )
    features, mask = padded(videos)
    served = tf.function(signatures["video_with_mask"].function)(
        features=tf.constant(features), frame_mask=tf.constant(mask)
    )
    np.testing.assert_allclose(served["probabilities"], expected, atol=1e-5)
    # Windows of 3 frames 2 apart, starts 2 apart: 1 for 3 and 5 frames.
    np.testing.assert_array_equal(served["num_windows"], [1, 1, 4, 2, 1, 1])
    # One video alone, through the signature without a mask.
    alone = signatures["video"].function(
        features=tf.constant(videos.features[2][None])
    )
    np.testing.assert_allclose(
        alone["probabilities"][0], expected[2], atol=1e-5
    )


def test_clip_outputs_and_top_k_names_follow_the_keras_model():
    model = vidattn.models.ActionRecognizer(
        3, units=8, num_layers=1, class_names=["a", "b", "c"], seed=1
    )
    features = np.random.default_rng(0).normal(size=(2, 4, 2, 2, 8))
    features = features.astype("float32")
    expected = model.predict(features, verbose=0)
    signatures = vidattn.export.action_signatures(model, top_k=2)
    served = signatures["clip"].function(features=tf.constant(features))
    assert sorted(served) == [
        "attention",
        "probabilities",
        "step_probabilities",
        "top_k_class_names",
        "top_k_scores",
    ]
    np.testing.assert_allclose(
        served["probabilities"], expected["probabilities"], atol=1e-6
    )
    order = np.argsort(-expected["probabilities"], axis=1)[:, :2]
    np.testing.assert_array_equal(
        served["top_k_class_names"].numpy().astype(str),
        np.array(["a", "b", "c"])[order],
    )
    np.testing.assert_allclose(
        served["top_k_scores"],
        np.take_along_axis(expected["probabilities"], order, 1),
        atol=1e-6,
    )


def test_a_mask_with_a_hole_is_refused_by_the_video_signature():
    model = vidattn.models.ActionRecognizer(3, units=8, num_layers=1)
    model(np.zeros((1, 2, 2, 2, 8), "float32"))
    signatures = vidattn.export.action_signatures(model, window_length=2)
    with pytest.raises(tf.errors.InvalidArgumentError, match="padding only"):
        signatures["video_with_mask"].function(
            features=tf.zeros((1, 4, 2, 2, 8)),
            frame_mask=tf.constant([[True, False, True, False]]),
        )


def test_window_settings_come_from_the_model_and_refuse_a_bad_fps():
    model = vidattn.models.ActionRecognizer(
        3,
        units=8,
        num_layers=1,
        feature_metadata={"window": 8, "stored_fps": 30.0, "fps": 10.0},
    )
    assert vidattn.export.window_settings(model) == (8, 3)
    assert vidattn.export.window_settings(model, 4, fps=15.0) == (4, 2)
    with pytest.raises(ValueError, match="Received: fps=7"):
        vidattn.export.window_settings(model, fps=7.0)
