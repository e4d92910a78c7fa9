import keras
import numpy as np
import pytest

import vidattn
from tests.fixtures import numpy_reference
from tests.fixtures.numpy_reference import cell_weights
from tests.testing import assert_config_round_trip

BATCH, STEPS, LOCATIONS, CHANNELS, UNITS = 3, 5, 4, 8, 16


def make_inputs(seed=0):
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(BATCH, STEPS, LOCATIONS, CHANNELS)).astype(
        "float32"
    )
    return features, rng


def run_cell(cell, features, states, mask=None):
    rnn = keras.layers.RNN(cell, return_sequences=True, return_state=True)
    outputs, *final_states = rnn(features, initial_state=states, mask=mask)
    hidden, attention = cell.split_outputs(outputs)
    to_numpy = keras.ops.convert_to_numpy
    return (
        to_numpy(hidden),
        to_numpy(attention),
        [to_numpy(s) for s in final_states],
    )


@pytest.mark.parametrize("num_layers", [1, 3])
@pytest.mark.parametrize("attention", ["linear", "additive"])
def test_matches_numpy_reference(num_layers, attention):
    features, rng = make_inputs()
    states = [
        rng.normal(scale=0.5, size=(BATCH, UNITS)).astype("float32")
        for _ in range(2 * num_layers)
    ]
    cell = vidattn.layers.SoftAttentionLSTMCell(
        UNITS,
        num_layers=num_layers,
        attention=attention,
        attention_units=12,
        bias_initializer="random_normal",
    )
    hidden, weights_seq, final_states = run_cell(cell, features, states)
    expected_hidden, expected_weights, expected_states = (
        numpy_reference.soft_attention_lstm(
            features.astype("float64"),
            [s.astype("float64") for s in states],
            cell_weights(cell),
            attention,
        )
    )
    np.testing.assert_allclose(hidden, expected_hidden, atol=1e-5)
    np.testing.assert_allclose(weights_seq, expected_weights, atol=1e-5)
    for received, expected in zip(final_states, expected_states):
        np.testing.assert_allclose(received, expected, atol=1e-5)


@pytest.mark.parametrize("attention", ["linear", "additive"])
def test_every_location_softmax_sums_to_one(attention):
    features, _ = make_inputs(1)
    cell = vidattn.layers.SoftAttentionLSTMCell(UNITS, 2, attention=attention)
    _, weights_seq, _ = run_cell(cell, features, None)
    assert weights_seq.shape == (BATCH, STEPS, LOCATIONS)
    assert np.all(weights_seq >= 0)
    np.testing.assert_allclose(weights_seq.sum(-1), 1.0, atol=1e-6)


def test_linear_attention_ignores_the_current_frame_and_additive_sees_it():
    features, _ = make_inputs(2)
    changed = features.copy()
    changed[:, 0] *= -3.0
    for attention, should_change in (("linear", False), ("additive", True)):
        cell = vidattn.layers.SoftAttentionLSTMCell(UNITS, attention=attention)
        first = run_cell(cell, features, None)[1][:, 0]
        second = run_cell(cell, changed, None)[1][:, 0]
        assert np.allclose(first, second) != should_change


def test_masked_steps_keep_the_states():
    features, rng = make_inputs(3)
    states = [
        rng.normal(size=(BATCH, UNITS)).astype("float32") for _ in range(4)
    ]
    mask = np.ones((BATCH, STEPS), bool)
    mask[0, 3:] = False
    mask[1, 1] = False
    cell = vidattn.layers.SoftAttentionLSTMCell(UNITS, num_layers=2)
    hidden, weights_seq, final_states = run_cell(cell, features, states, mask)
    expected = numpy_reference.soft_attention_lstm(
        features.astype("float64"), states, cell_weights(cell), "linear", mask
    )
    np.testing.assert_allclose(hidden[mask], expected[0][mask], atol=1e-5)
    for received, wanted in zip(final_states, expected[2]):
        np.testing.assert_allclose(received, wanted, atol=1e-5)
    # Example 0 stops after step 3: its final states are those of step 3 run
    # alone on the first three frames.
    short = run_cell(cell, features[:1, :3], [s[:1] for s in states])
    for received, wanted in zip(final_states, short[2]):
        np.testing.assert_allclose(received[0], wanted[0], atol=1e-5)


def test_dropout_masks_non_recurrent_connections_only_in_training():
    features, _ = make_inputs(4)
    cell = vidattn.layers.SoftAttentionLSTMCell(UNITS, 2, dropout=0.5, seed=1)
    rnn = keras.layers.RNN(cell, return_sequences=True)
    inference = keras.ops.convert_to_numpy(rnn(features))
    np.testing.assert_allclose(
        inference, keras.ops.convert_to_numpy(rnn(features))
    )
    training = keras.ops.convert_to_numpy(rnn(features, training=True))
    assert not np.allclose(inference, training)
    # The attention weights still form a distribution under dropout.
    np.testing.assert_allclose(training[..., UNITS:].sum(-1), 1.0, atol=1e-6)


def test_config_round_trip():
    cell = vidattn.layers.SoftAttentionLSTMCell(
        UNITS,
        num_layers=3,
        attention="additive",
        attention_units=7,
        dropout=0.25,
    )
    assert_config_round_trip(cell)


def test_save_and_load_inside_a_model(tmp_path):
    features, _ = make_inputs(5)
    inputs = keras.Input((STEPS, LOCATIONS, CHANNELS))
    cell = vidattn.layers.SoftAttentionLSTMCell(UNITS, num_layers=2)
    outputs = keras.layers.RNN(cell, return_sequences=True)(inputs)
    model = keras.Model(inputs, outputs)
    expected = model.predict(features, verbose=0)
    model.save(tmp_path / "cell.keras")
    restored = keras.models.load_model(tmp_path / "cell.keras")
    np.testing.assert_allclose(
        restored.predict(features, verbose=0), expected, atol=1e-6
    )


def test_symbolic_and_eager_shapes_agree():
    features, _ = make_inputs(6)
    cell = vidattn.layers.SoftAttentionLSTMCell(UNITS, num_layers=2)
    symbolic = keras.layers.RNN(cell, return_sequences=True)(
        keras.Input((None, LOCATIONS, CHANNELS))
    )
    eager = keras.layers.RNN(
        vidattn.layers.SoftAttentionLSTMCell(UNITS, num_layers=2),
        return_sequences=True,
    )(features)
    assert (
        tuple(symbolic.shape[2:])
        == tuple(eager.shape[2:])
        == (UNITS + LOCATIONS,)
    )


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
@pytest.mark.parametrize("attention", ["linear", "additive"])
def test_mixed_precision(policy, attention):
    keras.mixed_precision.set_global_policy(policy)
    features, _ = make_inputs(7)
    cell = vidattn.layers.SoftAttentionLSTMCell(UNITS, 2, attention=attention)
    rnn = keras.layers.RNN(cell, return_sequences=True)
    outputs = rnn(features)
    assert outputs.dtype == policy.split("_")[1]
    logits = cell.location_logits(
        keras.ops.cast(features[:, 0], cell.compute_dtype),
        keras.ops.zeros((BATCH, UNITS), cell.compute_dtype),
    )
    assert logits.dtype == "float32"
    _, weights_seq = cell.split_outputs(outputs)
    assert weights_seq.dtype == "float32"
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(weights_seq).sum(-1), 1.0, atol=1e-2
    )


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
