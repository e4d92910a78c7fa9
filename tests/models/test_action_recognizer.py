import keras
import numpy as np
import pytest
import tensorflow as tf

import vidattn
from tests.fixtures import numpy_reference
from tests.fixtures.numpy_reference import cell_weights
from tests.test_case import run_model_test

BATCH, FRAMES, GRID, CHANNELS, UNITS, CLASSES = 4, 5, 2, 8, 16, 3


def make_data(seed=0, multi_label=False):
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(BATCH, FRAMES, GRID, GRID, CHANNELS)).astype(
        "float32"
    )
    if multi_label:
        labels = (rng.random((BATCH, CLASSES)) < 0.5).astype("float32")
    else:
        labels = rng.integers(0, CLASSES, size=BATCH)
    return features, labels


def dense_weights(layer):
    return [keras.ops.convert_to_numpy(w) for w in layer.weights]


def reference_forward(model, features, mask=None):
    """Thesis eqs. 2.1-2.6 and the output head, in NumPy."""
    x = features.reshape(BATCH, FRAMES, GRID * GRID, CHANNELS).astype("float64")
    if model.feature_normalization == "mean_norm":
        x = numpy_reference.mean_norm(x, mask)
    initializer = model.state_initializer
    states = numpy_reference.initial_states(
        x,
        dense_weights(initializer.hidden_mlp[0]),
        dense_weights(initializer.cell_mlp[0]),
        model.num_layers,
        mask,
    )
    hidden, attention, _ = numpy_reference.soft_attention_lstm(
        x, states, cell_weights(model.cell), model.attention, mask
    )
    head_kernel, head_bias = dense_weights(model.step_classifier[1])
    class_kernel, class_bias = dense_weights(model.step_classifier[3])
    step_logits = (
        np.tanh(hidden @ head_kernel + head_bias) @ class_kernel + class_bias
    )
    return step_logits, attention


def reference_loss(model, features, labels):
    """Thesis eq. 2.7, averaged over the batch."""
    step_logits, attention = reference_forward(model, features)
    cross_entropy = numpy_reference.cross_entropy_per_step(
        labels, step_logits, model.multi_label
    ).sum(axis=1)
    penalty = numpy_reference.doubly_stochastic_penalty(attention)
    decay = sum(
        (keras.ops.convert_to_numpy(w).astype("float64") ** 2).sum()
        for w in model.trainable_weights
    )
    return np.mean(cross_entropy + model.attention_penalty * penalty) + (
        model.weight_decay * decay
    )


@pytest.mark.parametrize("unroll", [False, True])
@pytest.mark.parametrize("num_layers", [1, 3])
@pytest.mark.parametrize("attention", ["linear", "additive"])
def test_outputs_and_loss_match_numpy_reference(num_layers, attention, unroll):
    features, labels = make_data()
    model = vidattn.models.ActionRecognizer(
        CLASSES,
        unroll=unroll,
        units=UNITS,
        num_layers=num_layers,
        attention=attention,
        attention_penalty=1.5,
        weight_decay=1e-3,
    )
    outputs = model(features)
    step_logits, attention_weights = reference_forward(model, features)
    np.testing.assert_allclose(outputs["step_logits"], step_logits, atol=1e-5)
    np.testing.assert_allclose(
        outputs["attention"],
        attention_weights.reshape(BATCH, FRAMES, GRID, GRID),
        atol=1e-5,
    )
    probabilities = numpy_reference.softmax(step_logits).mean(axis=1)
    np.testing.assert_allclose(
        outputs["probabilities"], probabilities, atol=1e-5
    )
    loss = model.compute_loss(features, labels, outputs)
    np.testing.assert_allclose(
        float(loss), reference_loss(model, features, labels), rtol=1e-5
    )


def test_multi_label_loss_matches_numpy_reference():
    features, labels = make_data(1, multi_label=True)
    model = vidattn.models.ActionRecognizer(
        CLASSES,
        units=UNITS,
        num_layers=2,
        multi_label=True,
        attention_penalty=0.5,
    )
    outputs = model(features)
    step_logits, _ = reference_forward(model, features)
    np.testing.assert_allclose(
        outputs["step_probabilities"],
        numpy_reference.sigmoid(step_logits),
        atol=1e-5,
    )
    loss = model.compute_loss(features, labels, outputs)
    np.testing.assert_allclose(
        float(loss), reference_loss(model, features, labels), rtol=1e-5
    )


def test_fit_evaluate_predict_on_tf_data():
    features, labels = make_data(4)
    dataset = tf.data.Dataset.from_tensor_slices(
        ({"features": features}, labels)
    ).batch(2)
    model = vidattn.models.ActionRecognizer(CLASSES, units=UNITS, num_layers=2)
    model.compile()
    history = model.fit(dataset, epochs=2, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    metrics = model.evaluate(dataset, verbose=0, return_dict=True)
    assert set(metrics) == {"loss", "accuracy"}
    predictions = model.predict(dataset.map(lambda x, y: x), verbose=0)
    assert predictions["probabilities"].shape == (BATCH, CLASSES)
    assert predictions["attention"].shape == (BATCH, FRAMES, GRID, GRID)


def test_multi_label_compiles_with_average_precision():
    features, labels = make_data(5, multi_label=True)
    model = vidattn.models.ActionRecognizer(
        CLASSES, units=UNITS, num_layers=1, multi_label=True
    )
    model.compile()
    metrics = model.fit(features, labels, epochs=1, verbose=0).history
    assert "average_precision" in metrics


@pytest.mark.parametrize("attention", ["linear", "additive"])
def test_model(attention, tmp_path):
    features, labels = make_data(7)
    run_model_test(
        lambda: vidattn.models.ActionRecognizer(
            CLASSES,
            units=UNITS,
            num_layers=2,
            attention=attention,
            attention_penalty=1.0,
            dropout=0.1,
            class_names=["run", "jump", "sit"],
            feature_metadata={"backbone": "generated", "grid_size": GRID},
        ),
        features,
        labels,
        tmp_path,
        expected_outputs={
            "probabilities": (BATCH, CLASSES),
            "step_probabilities": (BATCH, FRAMES, CLASSES),
            "step_logits": (BATCH, FRAMES, CLASSES),
            "attention": (BATCH, FRAMES, GRID, GRID),
        },
    )


def test_bfloat16_attention_is_float32_and_the_penalty_uses_it():
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    features, labels = make_data(6)
    model = vidattn.models.ActionRecognizer(
        CLASSES, units=UNITS, num_layers=2, attention_penalty=2.0
    )
    outputs = model(features)
    attention = keras.ops.convert_to_numpy(outputs["attention"])
    assert attention.dtype == np.float32
    np.testing.assert_allclose(attention.sum((-1, -2)), 1.0, atol=1e-6)
    # Not rounded to bfloat16 on the way out.
    rounded = keras.ops.convert_to_numpy(
        keras.ops.cast(keras.ops.cast(attention, "bfloat16"), "float32")
    )
    assert np.mean(rounded != attention) > 0.5
    # The penalty of the loss is that of these float32 values.
    penalty = model.per_example_loss(
        labels, outputs
    ) - vidattn.models.VideoClassifier.per_example_loss(model, labels, outputs)
    np.testing.assert_allclose(
        penalty,
        2.0 * numpy_reference.doubly_stochastic_penalty(attention),
        rtol=1e-5,
    )


def test_keras_file_round_trip_after_fit_keeps_training(tmp_path):
    features, labels = make_data(8)
    model = vidattn.models.ActionRecognizer(
        CLASSES, units=UNITS, num_layers=2, attention="additive"
    )
    model.compile()
    model.fit(features, labels, epochs=1, verbose=0)
    model.save(tmp_path / "model.keras")
    restored = keras.models.load_model(tmp_path / "model.keras")
    restored.fit(features, labels, epochs=1, verbose=0)


@pytest.mark.parametrize(
    "shape, message",
    [
        (
            (2, 5, 4, 8),
            r"Expected features of shape \(batch, frames, K, K, channels\)",
        ),
        ((2, 5, 8, 2, 2), "channels-first"),
    ],
)
def test_features_of_the_wrong_shape_are_refused(shape, message):
    model = vidattn.models.ActionRecognizer(CLASSES, units=UNITS, num_layers=1)
    with pytest.raises(ValueError, match=message) as error:
        model(np.zeros(shape, "float32"))
    assert str(shape) in str(error.value)


def test_a_dict_without_features_is_refused():
    model = vidattn.models.ActionRecognizer(CLASSES, units=UNITS, num_layers=1)
    with pytest.raises(ValueError, match='key "features"'):
        model({"frames": np.zeros((1, 2, 2, 2, 8), "float32")})


def test_compile_refuses_a_loss():
    model = vidattn.models.ActionRecognizer(CLASSES, units=UNITS, num_layers=1)
    with pytest.raises(ValueError, match="Expected no `loss` argument"):
        model.compile(loss="mse")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"num_classes": 1}, "num_classes=1"),
        (
            {"num_classes": 3, "attention_penalty": -1.0},
            "attention_penalty=-1.0",
        ),
        ({"num_classes": 3, "units": 0}, "units=0"),
    ],
)
def test_invalid_arguments(kwargs, message):
    with pytest.raises(ValueError, match="Expected") as error:
        vidattn.models.ActionRecognizer(**kwargs)
    assert message in str(error.value)


def test_xla_needs_the_unrolled_loop_on_tensorflow_only():
    features, labels = make_data(9)
    model = vidattn.models.ActionRecognizer(CLASSES, units=UNITS, num_layers=1)
    if keras.backend.backend() == "tensorflow":
        with pytest.raises(ValueError, match="Expected `unroll=True`"):
            model.compile(jit_compile=True)
        model = vidattn.models.ActionRecognizer(
            CLASSES, units=UNITS, num_layers=1, unroll=True
        )
    model.compile(jit_compile=True)
    history = model.fit(features, labels, epochs=1, verbose=0).history
    assert np.isfinite(history["loss"][0])
