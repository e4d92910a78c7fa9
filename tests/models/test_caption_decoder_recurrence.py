import keras
import numpy as np
import pytest

from tests.models.test_video_captioner import make_inputs
from tests.models.test_video_captioner import make_model

pytestmark = pytest.mark.skipif(
    keras.backend.backend() not in ("tensorflow", "jax"),
    reason="The gradients are taken with tf.GradientTape or jax.grad.",
)

VARIANTS = {
    "linear": {},
    "additive": {"attention": "additive", "gate_hidden_units": (5,)},
    "uniform": {"attention": "uniform"},
    "first_step": {"video_input": "first_step", "attention": "additive"},
}


def cotangents(outputs, seed=1):
    """Random weights of every output, so that each one's gradient counts."""
    rng = np.random.default_rng(seed)
    return {
        key: rng.normal(size=tuple(value.shape)).astype("float32")
        for key, value in outputs.items()
    }


def weighted_sum(outputs, weights):
    return sum(
        keras.ops.sum(keras.ops.cast(outputs[key], "float32") * weights[key])
        for key in sorted(weights)
    )


def outputs_and_gradients(model, x, weights, training=False):
    """The outputs and the gradients of a weighted sum of them.

    Gradients with respect to the model's trainable variables (in their
    order), then the features.
    """
    if keras.backend.backend() == "jax":
        outputs, grads = _jax_gradients(model, x, weights, training)
    else:
        outputs, grads = _tape_gradients(model, x, weights, training)
    to_numpy = keras.ops.convert_to_numpy
    return (
        {key: to_numpy(value) for key, value in outputs.items()},
        [to_numpy(grad) for grad in grads],
    )


def _tape_gradients(model, x, weights, training):
    import tensorflow as tf

    features = tf.Variable(x["features"])
    with tf.GradientTape() as tape:
        outputs = model(dict(x, features=features.value()), training=training)
        loss = weighted_sum(outputs, weights)
    sources = [v.value for v in model.trainable_variables] + [features]
    return outputs, tape.gradient(loss, sources)


def _jax_gradients(model, x, weights, training):
    import jax

    non_trainable = [v.value for v in model.non_trainable_variables]

    def loss(trainable, features, x):
        outputs, _ = model.stateless_call(
            trainable,
            non_trainable,
            dict(x, features=features),
            training=training,
        )
        return weighted_sum(outputs, weights), outputs

    (_, outputs), grads = jax.jit(
        jax.value_and_grad(loss, argnums=(0, 1), has_aux=True)
    )(
        [v.value for v in model.trainable_variables],
        keras.ops.convert_to_tensor(x["features"]),
        x,
    )
    return outputs, list(grads[0]) + [grads[1]]


def compare_implementations(variant, masked, dropout=0.0, seed=0):
    x = make_inputs(seed, frame_mask=masked)
    results = {}
    for implementation in ("autodiff", "sequence_gradient"):
        # Same seed, same weights, same dropout masks.
        keras.utils.set_random_seed(0)
        model = make_model(
            implementation=implementation, dropout=dropout, **VARIANTS[variant]
        )
        model(x)
        if implementation == "autodiff":
            weights = cotangents(model(x))
        results[implementation] = outputs_and_gradients(
            model, x, weights, training=dropout > 0
        )
    return model, results["sequence_gradient"], results["autodiff"]


@pytest.mark.parametrize(
    "variant, masked, dropout",
    [
        ("linear", False, 0.0),
        ("linear", True, 0.5),
        ("additive", True, 0.0),
        ("additive", True, 0.5),
        ("uniform", True, 0.5),
        ("first_step", True, 0.5),
    ],
)
def test_outputs_and_gradients_equal_the_autodiff_scan(
    variant, masked, dropout
):
    model, (outputs, grads), (expected_outputs, expected_grads) = (
        compare_implementations(variant, masked, dropout)
    )
    for key in ("word_logits", "attention", "beta"):
        assert outputs[key].dtype == np.float32
        np.testing.assert_allclose(
            outputs[key], expected_outputs[key], atol=1e-5, err_msg=key
        )
    names = [v.path for v in model.trainable_variables] + ["features"]
    assert len(grads) == len(expected_grads) == len(names)
    for name, received, expected in zip(names, grads, expected_grads):
        if np.abs(expected).max() == 0:
            # The uniform and first-step variants leave some attention
            # weights unused.
            np.testing.assert_array_equal(received, 0.0, err_msg=name)
            continue
        np.testing.assert_allclose(
            received, expected, atol=1e-4, rtol=1e-4, err_msg=name
        )
