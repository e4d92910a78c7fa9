"""`.keras` files written by earlier versions still load, with equal outputs.

The files in `tests/fixtures/saved_models/` were written at commit dd57a31
(see `make_saved_models.py` there), when the attention LSTM was a cell
driven by `keras.layers.RNN` and the base class held the attention penalty.
"""

import pathlib

import keras
import numpy as np
import pytest

FIXTURES = pathlib.Path(__file__).parents[1] / "fixtures" / "saved_models"
MODELS = (
    "action_recognizer_linear",
    "action_recognizer_additive",
    "max_pooled_lstm",
    "softmax_regression",
)


@pytest.fixture(scope="module")
def expected():
    return dict(np.load(FIXTURES / "expected.npz"))


@pytest.mark.parametrize("name", MODELS)
def test_a_model_saved_by_an_earlier_version_loads_and_agrees(name, expected):
    model = keras.models.load_model(FIXTURES / f"{name}.keras")
    features, labels = expected["features"], expected["labels"]
    outputs = model.predict_on_batch(features)
    masked = model.predict_on_batch(
        {"features": features, "frame_mask": expected["frame_mask"]}
    )
    keys = [key for key in expected if key.startswith(f"{name}/")]
    assert len(keys) >= 5
    for key in keys:
        output = key.split("/")[1]
        if output == "loss":
            received = model.compute_loss(features, labels, outputs)
        elif output.startswith("masked_"):
            received = masked[output[len("masked_") :]]
        else:
            received = outputs[output]
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(received),
            expected[key],
            atol=1e-6,
            err_msg=key,
        )
    assert model.class_names is None and model.feature_metadata is None
    # The optimizer state came back too, and training goes on.
    assert int(model.optimizer.iterations.numpy()) == 1
    model.fit(features, labels, epochs=1, verbose=0)
