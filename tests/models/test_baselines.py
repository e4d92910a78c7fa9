import keras
import numpy as np
import pytest

import vidattn
from tests.fixtures import numpy_reference
from tests.test_case import run_model_test

BATCH, FRAMES, GRID, CHANNELS, UNITS, CLASSES = 4, 5, 2, 8, 16, 3
OUTPUTS = {
    "probabilities": (BATCH, CLASSES),
    "step_probabilities": (BATCH, FRAMES, CLASSES),
    "step_logits": (BATCH, FRAMES, CLASSES),
}


def make_data(seed=0):
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(BATCH, FRAMES, GRID, GRID, CHANNELS)).astype(
        "float32"
    )
    return features, rng.integers(0, CLASSES, size=BATCH)


def to_numpy(weights):
    return [keras.ops.convert_to_numpy(w).astype("float64") for w in weights]


def keras_lstm(sequence, h, c, kernel, recurrent_kernel, bias):
    """keras.layers.LSTM in NumPy, its kernel split in input and recurrent."""
    fused = np.concatenate([kernel, recurrent_kernel], axis=0)
    outputs = []
    for t in range(sequence.shape[1]):
        h, c = numpy_reference.lstm_step(sequence[:, t], h, c, fused, bias)
        outputs.append(h)
    return np.stack(outputs, 1)


@pytest.mark.parametrize("pooling", ["average", "max"])
def test_pooled_lstm_matches_numpy_reference(pooling):
    features, labels = make_data()
    model = vidattn.models.PooledLSTMRecognizer(
        CLASSES, pooling=pooling, units=UNITS, num_layers=2
    )
    outputs = model(features)
    cubes = numpy_reference.mean_norm(
        features.reshape(BATCH, FRAMES, GRID * GRID, CHANNELS).astype("float64")
    )
    states = numpy_reference.initial_states(
        cubes,
        to_numpy(model.state_initializer.hidden_mlp[0].weights),
        to_numpy(model.state_initializer.cell_mlp[0].weights),
        2,
    )
    hidden = cubes.mean(2) if pooling == "average" else cubes.max(2)
    for index, lstm in enumerate(model.lstm_layers):
        hidden = keras_lstm(
            hidden, *states[2 * index : 2 * index + 2], *to_numpy(lstm.weights)
        )
    head_kernel, head_bias = to_numpy(model.step_classifier[1].weights)
    class_kernel, class_bias = to_numpy(model.step_classifier[3].weights)
    step_logits = (
        np.tanh(hidden @ head_kernel + head_bias) @ class_kernel + class_bias
    )
    np.testing.assert_allclose(outputs["step_logits"], step_logits, atol=1e-5)
    assert "attention" not in outputs


def test_softmax_regression_matches_numpy_reference():
    features, labels = make_data(1)
    model = vidattn.models.SoftmaxRegressionRecognizer(
        CLASSES, weight_decay=1e-2
    )
    outputs = model(features)
    kernel, bias = to_numpy(model.class_logits.weights)
    cubes = numpy_reference.mean_norm(features.astype("float64"))
    step_logits = cubes.reshape(BATCH, FRAMES, -1) @ kernel + bias
    np.testing.assert_allclose(outputs["step_logits"], step_logits, atol=1e-5)
    expected_loss = (
        numpy_reference.cross_entropy_per_step(labels, step_logits, False)
        .sum(1)
        .mean()
    )
    expected_loss += 1e-2 * ((kernel**2).sum() + (bias**2).sum())
    np.testing.assert_allclose(
        float(model.compute_loss(features, labels, outputs)),
        expected_loss,
        rtol=1e-5,
    )


@pytest.mark.parametrize(
    "make_model",
    [
        lambda: vidattn.models.PooledLSTMRecognizer(
            CLASSES,
            "average",
            units=UNITS,
            num_layers=2,
            class_names=["a", "b", "c"],
        ),
        lambda: vidattn.models.PooledLSTMRecognizer(
            CLASSES, "max", units=UNITS, num_layers=1
        ),
        lambda: vidattn.models.SoftmaxRegressionRecognizer(
            CLASSES, dropout=0.2, feature_metadata={"layer": "top"}
        ),
    ],
    ids=["average", "max", "softmax_regression"],
)
def test_model(make_model, tmp_path):
    features, labels = make_data(2)
    run_model_test(make_model, features, labels, tmp_path, OUTPUTS)


def test_invalid_pooling():
    with pytest.raises(ValueError, match="Expected `pooling` to be one of"):
        vidattn.models.PooledLSTMRecognizer(CLASSES, pooling="median")


@pytest.mark.parametrize(
    "model_class",
    [
        vidattn.models.PooledLSTMRecognizer,
        vidattn.models.SoftmaxRegressionRecognizer,
    ],
)
def test_a_baseline_takes_no_attention_penalty(model_class):
    with pytest.raises(ValueError, match="attention_penalty"):
        model_class(CLASSES, attention_penalty=1.0)
    assert "attention_penalty" not in model_class(CLASSES).get_config()
