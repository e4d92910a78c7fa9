import keras
import numpy as np
import pytest

import vidattn
from vidattn.analysis import search_glimpse
from vidattn.datasets import generate_moving_region_videos


@pytest.fixture(scope="module")
def trained():
    keras.utils.set_random_seed(0)
    videos = generate_moving_region_videos(1200, seed=11)
    model = vidattn.models.ActionRecognizer(
        4,
        units=32,
        num_layers=1,
        attention="additive",
        dropout=0.0,
        weight_decay=0.0,
    )
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    model.fit(
        videos.features, videos.labels, epochs=4, batch_size=32, verbose=0
    )
    return model


@pytest.mark.slow
def test_a_new_glimpse_changes_the_prediction_and_leaves_the_model_alone(
    trained,
):
    video = generate_moving_region_videos(1, seed=12)
    features = video.features[0]
    before_weights = [w.copy() for w in trained.get_weights()]
    original = trained.predict(features[None], verbose=0)["probabilities"][0]
    target = int(np.argsort(original)[-2])  # the runner-up class
    result = search_glimpse(trained, features, target, max_steps=300)
    assert result.found, result.found_probabilities
    assert result.found_probabilities.argmax() == target
    np.testing.assert_allclose(
        result.trained_probabilities, original, atol=1e-5
    )
    assert not np.allclose(
        result.found_attention, result.trained_attention, atol=1e-3
    )
    np.testing.assert_allclose(
        result.found_attention.sum((1, 2)), 1.0, atol=1e-5
    )
    for before, after in zip(before_weights, trained.get_weights()):
        np.testing.assert_array_equal(before, after)
    # Only the location weights moved: the trained model with the found
    # location weights sees and predicts what the search found.
    glimpsed = vidattn.models.ActionRecognizer.from_config(trained.get_config())
    glimpsed(features[None])
    glimpsed.set_weights(trained.get_weights())
    location = [
        w for w in glimpsed.cell.weights if "attention" in w.path.split("/")[-1]
    ]
    assert result.location_weight_paths == tuple(
        w.path.split("/", 1)[1] for w in location
    )
    for weight, value in zip(location, result.location_weights):
        weight.assign(value)
    outputs = glimpsed.predict(features[None], verbose=0)
    np.testing.assert_allclose(
        outputs["probabilities"][0], result.found_probabilities, atol=1e-5
    )
    np.testing.assert_allclose(
        outputs["attention"][0], result.found_attention, atol=1e-5
    )
    # The three glimpses as report records, the target as the true class.
    frames = np.zeros((len(features), 8, 8, 3), np.uint8)
    records = result.records(frames, "v", ("a", "b", "c", "d"))
    assert [r.video_id for r in records] == [
        f"v {title}" for title in result.titles
    ]
    assert records[2].predicted == target and records[2].correct
    np.testing.assert_array_equal(
        records[0].attention, result.trained_attention
    )


def test_refuses_a_model_without_attention_and_a_bad_class():
    pooled = vidattn.models.PooledLSTMRecognizer(3, units=4, num_layers=1)
    with pytest.raises(ValueError, match="Expected a soft-attention model"):
        search_glimpse(pooled, np.zeros((2, 2, 2, 4), "float32"), 0)
    model = vidattn.models.ActionRecognizer(3, units=4, num_layers=1)
    model(np.zeros((1, 2, 2, 2, 4), "float32"))
    with pytest.raises(
        ValueError, match=r"Expected `target_class` in \[0, 3\)"
    ):
        search_glimpse(model, np.zeros((2, 2, 2, 4), "float32"), 5)
    with pytest.raises(ValueError, match="Expected `max_steps`"):
        search_glimpse(model, np.zeros((2, 2, 2, 4), "float32"), 1, -1)
