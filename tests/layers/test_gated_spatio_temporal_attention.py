import keras
import numpy as np
import pytest

import vidattn
from tests.fixtures import caption_reference
from tests.test_case import run_layer_test

BATCH, FRAMES, GRID, CHANNELS, UNITS = 3, 4, 2, 8, 16
LOCATIONS = FRAMES * GRID * GRID


def make_inputs(seed=0):
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(BATCH, FRAMES, GRID, GRID, CHANNELS))
    hidden = rng.normal(scale=0.5, size=(BATCH, UNITS))
    frame_mask = np.array([[1, 1, 1, 1], [1, 1, 0, 0], [1, 0, 0, 0]], bool)
    return features.astype("float32"), hidden.astype("float32"), frame_mask


def reference_weights(layer):
    return {
        "attention/" + w.path.split("/", 1)[1]: keras.ops.convert_to_numpy(
            w
        ).astype("float64")
        for w in layer.weights
    }


@pytest.mark.parametrize("attention", ["linear", "additive", "uniform"])
def test_layer(attention, tmp_path):
    # Without a frame mask: the `.keras` check rebuilds the model on zeros,
    # an all-padding mask, which is an error (tested below).
    features, hidden, _ = make_inputs()
    run_layer_test(
        vidattn.layers.GatedSpatioTemporalAttention,
        init_kwargs={
            "attention": attention,
            "attention_units": 7,
            "gate_hidden_units": (5,),
        },
        input_data={
            "features": features,
            "hidden": hidden,
        },
        expected_output_shape=(
            (BATCH, CHANNELS),
            (BATCH, FRAMES, GRID, GRID),
            (BATCH,),
        ),
        float32_outputs=(False, True, True),
        tmp_path=tmp_path,
        # Average pooling has no weights to train.
        run_training_check=attention != "uniform",
    )


@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("attention", ["linear", "additive", "uniform"])
def test_matches_numpy_reference(attention, masked):
    features, hidden, frame_mask = make_inputs(1)
    if not masked:
        frame_mask = np.ones_like(frame_mask)
    layer = vidattn.layers.GatedSpatioTemporalAttention(
        attention, attention_units=6, gate_hidden_units=(5, 3)
    )
    expected_feature, weights, beta = layer(features, hidden, frame_mask)
    locations = features.astype("float64").reshape(BATCH, LOCATIONS, -1)
    location_mask = np.repeat(frame_mask, GRID * GRID, axis=1)
    reference = caption_reference.attend(
        locations,
        location_mask,
        hidden.astype("float64"),
        reference_weights(layer),
        attention,
    )
    np.testing.assert_allclose(expected_feature, reference[0], atol=1e-5)
    np.testing.assert_allclose(
        np.reshape(weights, (BATCH, -1)), reference[1], atol=1e-6
    )
    np.testing.assert_allclose(beta, reference[2], atol=1e-6)
    # Padded frames get exactly zero weight.
    weights = np.reshape(weights, (BATCH, -1))
    assert np.all(weights[~location_mask] == 0.0)
    np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-6)


def test_uniform_attention_is_average_pooling_without_gate():
    features, hidden, frame_mask = make_inputs(2)
    layer = vidattn.layers.GatedSpatioTemporalAttention("uniform")
    expected_feature, _, beta = layer(features, hidden, frame_mask)
    valid = frame_mask[:, :, None, None, None]
    mean = (features * valid).sum((1, 2, 3)) / (valid.sum(1)[:, 0, 0] * 4)
    np.testing.assert_allclose(expected_feature, mean, atol=1e-6)
    np.testing.assert_array_equal(beta, np.ones(BATCH))
    assert layer.weights == []


def test_attend_reuses_the_prepared_projection():
    # The locations are projected once per video: after `prepare`, `attend`
    # does not read the feature kernel.
    features, hidden, frame_mask = make_inputs(3)
    layer = vidattn.layers.GatedSpatioTemporalAttention("additive")
    layer(features, hidden, frame_mask)
    context = layer.prepare(features, frame_mask)
    before = keras.ops.convert_to_numpy(layer.attend(context, hidden)[1])
    layer.attention_feature_kernel.assign(
        np.zeros(layer.attention_feature_kernel.shape, "float32")
    )
    after = keras.ops.convert_to_numpy(layer.attend(context, hidden)[1])
    np.testing.assert_array_equal(before, after)
    fresh = keras.ops.convert_to_numpy(
        layer.attend(layer.prepare(features, frame_mask), hidden)[1]
    )
    assert not np.allclose(before, fresh)
    assert set(context) == {
        "locations",
        "projected_locations",
        "location_mask",
    }


def test_a_video_without_valid_frames_is_an_error():
    features, hidden, frame_mask = make_inputs()
    frame_mask[1] = False
    layer = vidattn.layers.GatedSpatioTemporalAttention()
    with pytest.raises(ValueError, match="at least one valid frame"):
        layer(features, hidden, frame_mask)


def test_linear_attention_needs_a_known_number_of_frames():
    layer = vidattn.layers.GatedSpatioTemporalAttention("linear")
    with pytest.raises(ValueError, match="known number of frames N"):
        layer.build((None, None, GRID, GRID, CHANNELS), (None, UNITS))
    additive = vidattn.layers.GatedSpatioTemporalAttention("additive")
    additive.build((None, None, GRID, GRID, CHANNELS), (None, UNITS))


def test_channels_first_features_are_refused_with_a_hint():
    layer = vidattn.layers.GatedSpatioTemporalAttention()
    with pytest.raises(ValueError, match="looks channels-first"):
        layer.build((None, FRAMES, CHANNELS, GRID, GRID), (None, UNITS))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"attention": "hard"}, "Received: attention='hard'"),
        ({"attention_units": 0}, "Received: attention_units=0"),
        ({"gate_hidden_units": (4, 0)}, "Received: gate_hidden_units=(4, 0)"),
    ],
)
def test_invalid_arguments(kwargs, message):
    with pytest.raises(ValueError, match="Expected") as error:
        vidattn.layers.GatedSpatioTemporalAttention(**kwargs)
    assert message in str(error.value)
