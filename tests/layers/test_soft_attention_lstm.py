import keras
import numpy as np
import pytest

import vidattn
from tests.fixtures import numpy_reference
from tests.fixtures.numpy_reference import cell_weights
from tests.test_case import run_layer_test
from tests.test_case import run_masking_test
from tests.test_case import run_precision_test

BATCH, STEPS, LOCATIONS, CHANNELS, UNITS = 3, 5, 4, 8, 16
IMPLEMENTATIONS = ["autodiff", "sequence_gradient"]


def make_inputs(seed=0, num_layers=2):
    return numpy_reference.random_sequences(
        BATCH, STEPS, LOCATIONS, CHANNELS, UNITS, num_layers, seed
    )


def run(layer, features, states=None, mask=None, training=True):
    """The outputs as NumPy, in training, where `implementation` applies."""
    hidden, attention, final_states = layer(
        features, initial_state=states, mask=mask, training=training
    )
    to_numpy = keras.ops.convert_to_numpy
    return (
        to_numpy(hidden),
        to_numpy(attention),
        [to_numpy(s) for s in final_states],
    )


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.parametrize("unroll", [False, True])
@pytest.mark.parametrize("attention", ["linear", "additive"])
def test_layer(attention, unroll, implementation, tmp_path):
    features, states = make_inputs()
    run_layer_test(
        vidattn.layers.SoftAttentionLSTM,
        init_kwargs={
            "units": UNITS,
            "num_layers": 2,
            "attention": attention,
            "dropout": 0.25,
            "unroll": unroll,
            "implementation": implementation,
        },
        input_data={"sequences": features, "initial_state": states},
        expected_output_shape=(
            (BATCH, STEPS, UNITS),
            (BATCH, STEPS, LOCATIONS),
        ),
        float32_outputs=(False, True),
        tmp_path=tmp_path,
    )


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.parametrize("unroll", [False, True])
@pytest.mark.parametrize("num_layers", [1, 3])
@pytest.mark.parametrize("attention", ["linear", "additive"])
def test_matches_numpy_reference(num_layers, attention, unroll, implementation):
    features, states = make_inputs(num_layers=num_layers)
    layer = vidattn.layers.SoftAttentionLSTM(
        UNITS,
        num_layers=num_layers,
        attention=attention,
        attention_units=12,
        bias_initializer="random_normal",
        unroll=unroll,
        return_state=True,
        implementation=implementation,
    )
    hidden, attention_weights, final_states = run(layer, features, states)
    expected_hidden, expected_weights, expected_states = (
        numpy_reference.soft_attention_lstm(
            features.astype("float64"),
            [s.astype("float64") for s in states],
            cell_weights(layer.cell),
            attention,
        )
    )
    np.testing.assert_allclose(hidden, expected_hidden, atol=1e-5)
    np.testing.assert_allclose(attention_weights, expected_weights, atol=1e-5)
    for received, expected in zip(final_states, expected_states):
        np.testing.assert_allclose(received, expected, atol=1e-5)


@pytest.mark.parametrize("attention", ["linear", "additive"])
def test_every_location_softmax_sums_to_one(attention):
    features, _ = make_inputs(1)
    layer = vidattn.layers.SoftAttentionLSTM(UNITS, 2, attention=attention)
    _, weights_seq = layer(features)
    weights_seq = keras.ops.convert_to_numpy(weights_seq)
    assert weights_seq.shape == (BATCH, STEPS, LOCATIONS)
    assert np.all(weights_seq >= 0)
    np.testing.assert_allclose(weights_seq.sum(-1), 1.0, atol=1e-6)


def test_linear_attention_ignores_the_current_frame_and_additive_sees_it():
    features, _ = make_inputs(2)
    changed = features.copy()
    changed[:, 0] *= -3.0
    for attention, should_change in (("linear", False), ("additive", True)):
        layer = vidattn.layers.SoftAttentionLSTM(UNITS, attention=attention)
        first = keras.ops.convert_to_numpy(layer(features)[1][:, 0])
        second = keras.ops.convert_to_numpy(layer(changed)[1][:, 0])
        assert np.allclose(first, second) != should_change


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.parametrize("unroll", [False, True])
def test_masked_steps_keep_the_states_and_repeat_the_outputs(
    unroll, implementation
):
    features, states = make_inputs(3)
    mask = np.ones((BATCH, STEPS), bool)
    mask[0, 3:] = False
    mask[1, 1] = False
    mask[2, 0] = False
    layer = vidattn.layers.SoftAttentionLSTM(
        UNITS,
        num_layers=2,
        unroll=unroll,
        return_state=True,
        implementation=implementation,
    )
    hidden, weights_seq, final_states = run(layer, features, states, mask)
    expected = numpy_reference.soft_attention_lstm(
        features.astype("float64"),
        states,
        cell_weights(layer.cell),
        "linear",
        mask,
    )
    # Everywhere, masked steps included: they repeat the previous outputs
    # (zeros before the first valid step), as keras.layers.RNN does.
    np.testing.assert_allclose(hidden, expected[0], atol=1e-5)
    np.testing.assert_allclose(weights_seq, expected[1], atol=1e-5)
    for received, wanted in zip(final_states, expected[2]):
        np.testing.assert_allclose(received, wanted, atol=1e-5)
    # Example 0 stops after step 3: its final states are those of step 3 run
    # alone on the first three frames.
    short = run(layer, features[:1, :3], [s[:1] for s in states])
    for received, wanted in zip(final_states, short[2]):
        np.testing.assert_allclose(received[0], wanted[0], atol=1e-5)


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
def test_padded_frames_change_nothing(implementation):
    features, states = make_inputs(8)
    layer = vidattn.layers.SoftAttentionLSTM(
        UNITS, num_layers=2, implementation=implementation
    )

    def call(inputs, mask):
        hidden, attention = layer(
            inputs, initial_state=states, mask=mask, training=True
        )
        return {"hidden": hidden, "attention": attention}

    run_masking_test(call, features, valid_frames=3, padded_frames=STEPS)


def test_dropout_masks_non_recurrent_connections_only_in_training():
    features, _ = make_inputs(4)
    layer = vidattn.layers.SoftAttentionLSTM(UNITS, 2, dropout=0.5, seed=1)
    inference = keras.ops.convert_to_numpy(layer(features)[0])
    np.testing.assert_allclose(
        inference, keras.ops.convert_to_numpy(layer(features)[0])
    )
    hidden, attention = layer(features, training=True)
    assert not np.allclose(inference, keras.ops.convert_to_numpy(hidden))
    # The attention weights still form a distribution under dropout.
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(attention).sum(-1), 1.0, atol=1e-6
    )


@pytest.mark.parametrize("attention", ["linear", "additive"])
def test_attention_is_float32_and_sums_to_one_under_mixed_precision(
    attention,
):
    features, states = make_inputs(7)
    results = run_precision_test(
        lambda: vidattn.layers.SoftAttentionLSTM(UNITS, 2, attention=attention),
        lambda layer: layer(features, initial_state=states),
        float32_outputs=(False, True),
    )
    for _, attention_weights in results.values():
        np.testing.assert_allclose(
            attention_weights.sum(-1), 1.0, atol=1e-6, rtol=0
        )


def test_features_of_the_wrong_rank_name_the_expected_layout():
    layer = vidattn.layers.SoftAttentionLSTM(UNITS)
    with pytest.raises(
        ValueError, match=r"\(batch, frames, locations, channels\)"
    ) as error:
        layer(np.zeros((2, 5, 8), "float32"))
    assert "(2, 5, 8)" in str(error.value)


def test_unroll_needs_a_fixed_number_of_frames():
    layer = vidattn.layers.SoftAttentionLSTM(UNITS, unroll=True)
    with pytest.raises(ValueError, match="fixed number of frames"):
        layer(keras.KerasTensor((None, None, LOCATIONS, CHANNELS)))
