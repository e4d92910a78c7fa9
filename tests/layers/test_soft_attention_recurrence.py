import keras
import numpy as np
import pytest

import vidattn
from tests.fixtures import numpy_reference
from tests.fixtures.numpy_reference import cell_weights

BATCH, STEPS, LOCATIONS, CHANNELS, UNITS = 3, 5, 4, 8, 16

pytestmark = pytest.mark.skipif(
    keras.backend.backend() not in ("tensorflow", "jax"),
    reason="The gradients are taken with tf.GradientTape or jax.grad.",
)


def padding_mask():
    mask = np.ones((BATCH, STEPS), bool)
    mask[0, 3:] = False
    mask[1, 1] = False
    mask[2, 0] = False
    return mask


def make_layer(implementation, num_layers, attention, dropout=0.0, **kwargs):
    return vidattn.layers.SoftAttentionLSTM(
        UNITS,
        num_layers=num_layers,
        attention=attention,
        attention_units=12,
        dropout=dropout,
        seed=3,
        bias_initializer="random_normal",
        implementation=implementation,
        return_state=True,
        **kwargs,
    )


def loss_weights(num_layers, seed=1):
    """Random cotangents of every output: hidden, attention, final states."""
    rng = np.random.default_rng(seed)
    return (
        rng.normal(size=(BATCH, STEPS, UNITS)).astype("float32"),
        rng.normal(size=(BATCH, STEPS, LOCATIONS)).astype("float32"),
        [
            rng.normal(size=(BATCH, UNITS)).astype("float32")
            for _ in range(2 * num_layers)
        ],
    )


def outputs_and_gradients(layer, features, states, mask, training, weights):
    """The outputs and the gradients of a weighted sum of them.

    The sequence-gradient loop runs in training only (`training=True`).

    Gradients with respect to the layer's weights, then the initial states,
    then the features.
    """
    cotangents = list(weights[:2]) + list(weights[2])

    def weighted_sum(outputs):
        hidden, attention, final_states = outputs
        outputs = [hidden, attention] + list(final_states)
        loss = sum(
            keras.ops.sum(keras.ops.cast(output, "float32") * cotangent)
            for output, cotangent in zip(outputs, cotangents)
        )
        return loss, outputs

    if keras.backend.backend() == "jax":
        outputs, grads = _jax_gradients(
            layer, weighted_sum, features, states, mask, training
        )
    else:
        outputs, grads = _tape_gradients(
            layer, weighted_sum, features, states, mask, training
        )
    to_numpy = keras.ops.convert_to_numpy
    return [to_numpy(o) for o in outputs], [to_numpy(g) for g in grads]


def _tape_gradients(layer, weighted_sum, features, states, mask, training):
    import tensorflow as tf

    features = keras.Variable(features)
    states = [keras.Variable(s) for s in states]
    with tf.GradientTape() as tape:
        loss, outputs = weighted_sum(
            layer(
                features.value,
                initial_state=[s.value for s in states],
                mask=mask,
                training=training,
            )
        )
    sources = layer.trainable_variables + states + [features]
    return outputs, tape.gradient(loss, [v.value for v in sources])


def _jax_gradients(layer, weighted_sum, features, states, mask, training):
    import jax

    if not layer.built:
        layer.build(features.shape)
    non_trainable = [v.value for v in layer.non_trainable_variables]

    def loss(trainable, states, features):
        outputs, _ = layer.stateless_call(
            trainable,
            non_trainable,
            features,
            initial_state=states,
            mask=mask,
            training=training,
        )
        return weighted_sum(outputs)

    (_, outputs), grads = jax.jit(
        jax.value_and_grad(loss, argnums=(0, 1, 2), has_aux=True)
    )(
        [v.value for v in layer.trainable_variables],
        [keras.ops.convert_to_tensor(s) for s in states],
        keras.ops.convert_to_tensor(features),
    )
    return outputs, grads[0] + grads[1] + [grads[2]]


@pytest.mark.parametrize(
    "masked, dropout", [(False, 0.0), (True, 0.0), (True, 0.4)]
)
@pytest.mark.parametrize("num_layers", [1, 3])
@pytest.mark.parametrize("attention", ["linear", "additive"])
def test_outputs_and_gradients_equal_the_autodiff_loop(
    attention, num_layers, masked, dropout
):
    features, states = numpy_reference.random_sequences(
        BATCH, STEPS, LOCATIONS, CHANNELS, UNITS, num_layers, seed=4
    )
    mask = padding_mask() if masked else None
    weights = loss_weights(num_layers)
    results = {}
    for implementation in ("autodiff", "sequence_gradient"):
        # Same seed, same weights, same dropout masks.
        keras.utils.set_random_seed(0)
        layer = make_layer(implementation, num_layers, attention, dropout)
        results[implementation] = outputs_and_gradients(
            layer, features, states, mask, True, weights
        )
    (outputs, grads), (expected_outputs, expected_grads) = (
        results["sequence_gradient"],
        results["autodiff"],
    )
    for received, expected in zip(outputs, expected_outputs):
        np.testing.assert_allclose(received, expected, atol=1e-5)
    assert len(grads) == len(expected_grads)
    for received, expected in zip(grads, expected_grads):
        assert np.abs(expected).max() > 0
        np.testing.assert_allclose(received, expected, atol=1e-4, rtol=1e-4)


def test_unrolled_recurrence_equals_the_scanned_one():
    features, states = numpy_reference.random_sequences(
        BATCH, STEPS, LOCATIONS, CHANNELS, UNITS, 2, seed=5
    )
    weights = loss_weights(2)
    results = []
    for unroll in (False, True):
        keras.utils.set_random_seed(0)
        layer = make_layer("sequence_gradient", 2, "linear", unroll=unroll)
        results.append(
            outputs_and_gradients(
                layer, features, states, padding_mask(), True, weights
            )
        )
    for received, expected in zip(*[a + b for a, b in results]):
        np.testing.assert_allclose(received, expected, atol=1e-5)


def numpy_loss(features, states, weights, attention, mask, cotangents):
    hidden, attention_weights, final_states = (
        numpy_reference.soft_attention_lstm(
            features, states, weights, attention, mask
        )
    )
    loss = (hidden * cotangents[0]).sum() + (
        attention_weights * cotangents[1]
    ).sum()
    for state, weight in zip(final_states, cotangents[2]):
        loss += (state * weight).sum()
    return loss


def central_differences(loss, arrays, epsilon=1e-6):
    """d loss / d every entry of every float64 array, perturbed in place."""
    grads = []
    for array in arrays:
        grad = np.zeros_like(array)
        for index in np.ndindex(array.shape):
            original = array[index]
            array[index] = original + epsilon
            upper = loss()
            array[index] = original - epsilon
            lower = loss()
            array[index] = original
            grad[index] = (upper - lower) / (2 * epsilon)
        grads.append(grad)
    return grads


@pytest.mark.parametrize("attention", ["linear", "additive"])
def test_gradients_equal_central_differences(attention):
    num_layers = 2
    features, states = numpy_reference.random_sequences(
        BATCH, STEPS, LOCATIONS, CHANNELS, UNITS, num_layers, seed=6
    )
    mask = padding_mask()
    cotangents = loss_weights(num_layers, seed=2)
    layer = make_layer("sequence_gradient", num_layers, attention)
    _, grads = outputs_and_gradients(
        layer, features, states, mask, True, cotangents
    )

    weights = {
        name: (
            [w.astype("float64") for w in value]
            if isinstance(value, list)
            else value.astype("float64")
        )
        for name, value in cell_weights(layer.cell).items()
    }
    # In the order of `layer.trainable_variables`.
    if attention == "linear":
        arrays = [weights["attention_kernel"]]
    else:
        arrays = [
            weights[name]
            for name in (
                "attention_feature_kernel",
                "attention_state_kernel",
                "attention_bias",
                "attention_score_kernel",
            )
        ]
    for kernel, bias in zip(weights["kernels"], weights["biases"]):
        arrays += [kernel, bias]
    states64 = [s.astype("float64") for s in states]
    features64 = features.astype("float64")
    arrays += states64 + [features64]
    expected = central_differences(
        lambda: numpy_loss(
            features64, states64, weights, attention, mask, cotangents
        ),
        arrays,
    )
    assert len(grads) == len(expected)
    for received, wanted in zip(grads, expected):
        error = np.linalg.norm(received - wanted) / np.linalg.norm(wanted)
        assert error < 1e-4, error


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_gradients_follow_the_float32_ones(policy):
    features, states = numpy_reference.random_sequences(
        BATCH, STEPS, LOCATIONS, CHANNELS, UNITS, 2, seed=7
    )
    weights = loss_weights(2)
    results = {}
    previous = keras.mixed_precision.global_policy()
    try:
        for name in ("float32", policy):
            keras.mixed_precision.set_global_policy(name)
            keras.utils.set_random_seed(0)
            layer = make_layer("sequence_gradient", 2, "additive")
            layer.build(features.shape)
            results[name] = (layer,) + outputs_and_gradients(
                layer, features, states, padding_mask(), True, weights
            )
    finally:
        keras.mixed_precision.set_global_policy(previous)
    layer, outputs, grads = results[policy]
    _, expected_outputs, expected_grads = results["float32"]
    hidden, attention = outputs[:2]
    assert hidden.dtype == np.dtype(layer.compute_dtype)
    assert attention.dtype == np.float32
    # Frames before the first valid one output zeros.
    seen = np.cumsum(padding_mask(), axis=1) > 0
    np.testing.assert_allclose(attention[seen].sum(-1), 1.0, atol=1e-6)
    np.testing.assert_array_equal(attention[~seen], 0.0)
    for received, expected in zip(grads, expected_grads):
        assert np.all(np.isfinite(received.astype("float32")))
        error = np.linalg.norm(
            received.astype("float32") - expected
        ) / np.linalg.norm(expected)
        assert error < 0.05, error


def test_action_recognizer_fit_step_equals_the_autodiff_one():
    rng = np.random.default_rng(8)
    features = rng.normal(size=(4, STEPS, 2, 2, CHANNELS)).astype("float32")
    frame_mask = np.ones((4, STEPS), bool)
    frame_mask[1, 3:] = False
    inputs = {"features": features, "frame_mask": frame_mask}
    labels = rng.integers(0, 3, size=4)
    trained = {}
    for implementation in ("autodiff", "sequence_gradient"):
        keras.utils.set_random_seed(0)
        model = vidattn.models.ActionRecognizer(
            3, units=UNITS, num_layers=2, dropout=0.3, attention_penalty=1.0
        )
        # The models build their recurrence with the layer's default.
        model.recurrent.implementation = implementation
        model.compile(optimizer=keras.optimizers.SGD(0.5))
        history = model.fit(inputs, labels, batch_size=4, verbose=0)
        assert np.isfinite(history.history["loss"][0])
        trained[implementation] = [
            keras.ops.convert_to_numpy(w) for w in model.trainable_weights
        ]
    for received, expected in zip(
        trained["sequence_gradient"], trained["autodiff"]
    ):
        np.testing.assert_allclose(received, expected, atol=1e-5)


def test_implementation_round_trips_and_unknown_ones_are_refused():
    layer = vidattn.layers.SoftAttentionLSTM(
        UNITS, implementation="sequence_gradient"
    )
    config = layer.get_config()
    assert config["implementation"] == "sequence_gradient"
    restored = vidattn.layers.SoftAttentionLSTM.from_config(config)
    assert restored.implementation == "sequence_gradient"
    with pytest.raises(ValueError, match="Received: implementation=.cudnn."):
        vidattn.layers.SoftAttentionLSTM(UNITS, implementation="cudnn")
