import keras
import numpy as np
import pytest

import vidattn
from tests.fixtures import numpy_reference
from tests.fixtures.numpy_reference import cell_weights
from tests.test_case import run_layer_test

BATCH, STEPS, LOCATIONS, CHANNELS, UNITS = 3, 5, 4, 8, 16


def make_inputs(seed=0, num_layers=2):
    return numpy_reference.random_sequences(
        BATCH, STEPS, LOCATIONS, CHANNELS, UNITS, num_layers, seed
    )


@pytest.mark.parametrize("attention", ["linear", "additive"])
def test_layer(attention, tmp_path):
    features, states = make_inputs()
    run_layer_test(
        vidattn.layers.SoftAttentionLSTMCell,
        init_kwargs={
            "units": UNITS,
            "num_layers": 2,
            "attention": attention,
            "attention_units": 7,
            "dropout": 0.25,
        },
        input_data={"inputs": features[:, 0], "states": states},
        expected_output_shape=((BATCH, UNITS), [(BATCH, UNITS)] * 4),
        tmp_path=tmp_path,
    )


@pytest.mark.parametrize("num_layers", [1, 3])
@pytest.mark.parametrize("attention", ["linear", "additive"])
def test_keras_rnn_over_the_cell_matches_numpy_reference(num_layers, attention):
    features, states = make_inputs(num_layers=num_layers)
    cell = vidattn.layers.SoftAttentionLSTMCell(
        UNITS,
        num_layers=num_layers,
        attention=attention,
        attention_units=12,
        bias_initializer="random_normal",
    )
    rnn = keras.layers.RNN(cell, return_sequences=True, return_state=True)
    hidden, *final_states = rnn(features, initial_state=states)
    expected_hidden, _, expected_states = numpy_reference.soft_attention_lstm(
        features.astype("float64"),
        [s.astype("float64") for s in states],
        cell_weights(cell),
        attention,
    )
    np.testing.assert_allclose(hidden, expected_hidden, atol=1e-5)
    for received, expected in zip(final_states, expected_states):
        np.testing.assert_allclose(received, expected, atol=1e-5)


@pytest.mark.parametrize("attention", ["linear", "additive"])
def test_step_returns_the_float32_attention_of_the_reference(attention):
    features, states = make_inputs(1)
    cell = vidattn.layers.SoftAttentionLSTMCell(
        UNITS, num_layers=2, attention=attention
    )
    cell.build(features[:, 0].shape)
    hidden, attention_weights, new_states = cell.step(features[:, 0], states)
    expected_hidden, expected_attention, expected_states = (
        numpy_reference.soft_attention_lstm(
            features[:, :1].astype("float64"),
            [s.astype("float64") for s in states],
            cell_weights(cell),
            attention,
        )
    )
    assert attention_weights.dtype == "float32"
    np.testing.assert_allclose(
        attention_weights, expected_attention[:, 0], atol=1e-6
    )
    np.testing.assert_allclose(hidden, expected_hidden[:, 0], atol=1e-5)
    for received, expected in zip(new_states, expected_states):
        np.testing.assert_allclose(received, expected, atol=1e-5)
    # `call` is the step without the attention.
    called, called_states = cell(features[:, 0], states)
    np.testing.assert_allclose(called, hidden)


def test_keras_rnn_draws_one_dropout_mask_per_sequence():
    features, _ = make_inputs(4)
    cell = vidattn.layers.SoftAttentionLSTMCell(UNITS, 2, dropout=0.5, seed=1)
    rnn = keras.layers.RNN(cell, return_sequences=True)
    inference = keras.ops.convert_to_numpy(rnn(features))
    np.testing.assert_allclose(
        inference, keras.ops.convert_to_numpy(rnn(features))
    )
    training = keras.ops.convert_to_numpy(rnn(features, training=True))
    assert not np.allclose(inference, training)
    masks = cell.dropout_masks(BATCH)
    assert [tuple(m.shape) for m in masks] == [
        (BATCH, CHANNELS),
        (BATCH, UNITS),
    ]
    assert vidattn.layers.SoftAttentionLSTMCell(UNITS).dropout_masks(2) is None


def test_location_logits_are_float32_under_mixed_precision():
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    features, states = make_inputs(7)
    for attention in ("linear", "additive"):
        cell = vidattn.layers.SoftAttentionLSTMCell(
            UNITS, 2, attention=attention
        )
        cell.build((BATCH, LOCATIONS, CHANNELS))
        logits = cell.location_logits(
            keras.ops.cast(features[:, 0], "bfloat16"),
            keras.ops.cast(states[2], "bfloat16"),
        )
        assert logits.dtype == "float32"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            {"units": 0},
            "Expected `units` to be a positive integer. Received: units=0",
        ),
        ({"units": 4, "num_layers": 0}, "Received: num_layers=0"),
        ({"units": 4, "attention": "hard"}, "Received: attention='hard'"),
        ({"units": 4, "dropout": 1.0}, "Received: dropout=1.0"),
        ({"units": 4, "attention_units": -1}, "Received: attention_units=-1"),
    ],
)
def test_invalid_arguments(kwargs, message):
    with pytest.raises(ValueError, match="Expected") as error:
        vidattn.layers.SoftAttentionLSTMCell(**kwargs)
    assert message in str(error.value)


def test_step_input_of_the_wrong_rank_names_the_expected_layout():
    cell = vidattn.layers.SoftAttentionLSTMCell(UNITS)
    with pytest.raises(
        ValueError, match=r"\(batch, locations, channels\)"
    ) as error:
        keras.layers.RNN(cell)(np.zeros((2, 5, 8), "float32"))
    assert "(2, 8)" in str(error.value)
