import keras
import numpy as np
import pytest

from tests.fixtures import caption_reference
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


def reference_loss(x, weights, config, cotangents_by_key):
    outputs = caption_reference.teacher_forced(
        x["features"],
        x["caption_ids"],
        weights,
        config,
        frame_mask=x.get("frame_mask"),
    )
    return sum(
        (outputs[key] * cotangents_by_key[key]).sum()
        for key in cotangents_by_key
    )


@pytest.mark.parametrize("variant", ["linear", "additive"])
def test_gradients_equal_float64_central_differences(variant):
    x = make_inputs(2, frame_mask=True)
    keras.utils.set_random_seed(0)
    model = make_model(implementation="sequence_gradient", **VARIANTS[variant])
    weights = cotangents(model(x), seed=3)
    _, grads = outputs_and_gradients(model, x, weights)
    received = {
        variable.path.split("/", 1)[1]: grad
        for variable, grad in zip(model.trainable_variables, grads)
    }
    arrays = caption_reference.weights_of(model)
    config = model.get_config()
    # The weights that the loop reads, and one of the state initializer's;
    # a sample of each one's entries keeps the differences fast.
    names = [
        name
        for name in received
        if name.startswith("attention/")
        or name in ("recurrent_kernel", "context_kernel", "input_kernel")
        or name.startswith("state_initializer/hidden_state")
    ]
    rng = np.random.default_rng(4)
    epsilon = 1e-6
    for name in names:
        array = arrays[name]
        flat = array.reshape(-1)
        picks = rng.choice(flat.size, size=min(flat.size, 8), replace=False)
        expected = []
        for pick in picks:
            original = flat[pick]
            flat[pick] = original + epsilon
            upper = reference_loss(x, arrays, config, weights)
            flat[pick] = original - epsilon
            lower = reference_loss(x, arrays, config, weights)
            flat[pick] = original
            expected.append((upper - lower) / (2 * epsilon))
        expected = np.array(expected)
        got = received[name].reshape(-1)[picks]
        error = np.linalg.norm(got - expected) / np.linalg.norm(expected)
        assert error < 1e-4, (name, error)


def test_fit_step_equals_the_autodiff_one():
    x = make_inputs(3, frame_mask=True)
    trained = {}
    for implementation in ("autodiff", "sequence_gradient"):
        keras.utils.set_random_seed(0)
        model = make_model(
            implementation=implementation, dropout=0.3, **VARIANTS["additive"]
        )
        model.compile(optimizer=keras.optimizers.SGD(0.5))
        history = model.fit(x, batch_size=3, epochs=1, verbose=0)
        assert np.isfinite(history.history["loss"][0])
        trained[implementation] = [
            keras.ops.convert_to_numpy(w) for w in model.trainable_weights
        ]
    for received, expected in zip(
        trained["sequence_gradient"], trained["autodiff"]
    ):
        np.testing.assert_allclose(received, expected, atol=1e-5)


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision_follows_the_autodiff_scan_and_float32(policy):
    x = make_inputs(4, frame_mask=True)
    results = {}
    previous = keras.mixed_precision.global_policy()
    try:
        for name, implementation in (
            ("float32", "sequence_gradient"),
            (policy, "autodiff"),
            (policy, "sequence_gradient"),
        ):
            keras.mixed_precision.set_global_policy(name)
            keras.utils.set_random_seed(0)
            model = make_model(
                implementation=implementation, **VARIANTS["additive"]
            )
            outputs = model(x)
            if name == "float32":
                weights = cotangents(outputs, seed=5)
                float32_weights = model.get_weights()
            else:
                # Initializers may draw differently under another policy.
                model.set_weights(float32_weights)
            results[implementation, name] = outputs_and_gradients(
                model, x, weights
            )
    finally:
        keras.mixed_precision.set_global_policy(previous)
    outputs, grads = results["sequence_gradient", policy]
    autodiff_outputs, autodiff_grads = results["autodiff", policy]
    float32_outputs = results["sequence_gradient", "float32"][0]
    for key in ("word_logits", "attention", "beta"):
        assert outputs[key].dtype == np.float32, key
        np.testing.assert_allclose(
            outputs[key], float32_outputs[key], atol=0.1, err_msg=key
        )
        np.testing.assert_allclose(
            outputs[key], autodiff_outputs[key], atol=0.02, err_msg=key
        )
    for received, expected in zip(grads, autodiff_grads):
        received = received.astype("float32")
        expected = expected.astype("float32")
        assert np.all(np.isfinite(received))
        error = np.linalg.norm(received - expected) / np.linalg.norm(expected)
        assert error < 0.05, error


def test_implementation_is_saved_and_old_configs_get_the_default():
    model = make_model(implementation="sequence_gradient")
    config = model.get_config()
    assert config["implementation"] == "sequence_gradient"
    restored = type(model).from_config(config)
    assert restored.implementation == "sequence_gradient"
    del config["implementation"]
    assert type(model).from_config(config).implementation == "autodiff"
    with pytest.raises(ValueError, match="Received: implementation=.cudnn."):
        make_model(implementation="cudnn")
