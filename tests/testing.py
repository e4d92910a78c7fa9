"""Checks shared by the layer and model tests."""

import json

import keras
import numpy as np


def assert_config_round_trip(layer_or_model):
    """`from_config(get_config())` and the JSON serialization both round trip."""
    config = layer_or_model.get_config()
    clone = layer_or_model.__class__.from_config(config)
    assert clone.get_config() == config
    serialized = json.loads(
        json.dumps(keras.saving.serialize_keras_object(layer_or_model))
    )
    restored = keras.saving.deserialize_keras_object(serialized)
    assert type(restored) is type(layer_or_model)
    assert restored.get_config() == config


def assert_saved_model_round_trip(model, inputs, tmp_path, output_key=None):
    """`.keras` save and reload give the same outputs."""
    expected = model.predict(inputs, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    restored = keras.models.load_model(path)
    received = restored.predict(inputs, verbose=0)
    if output_key is not None:
        expected, received = expected[output_key], received[output_key]
    keras.tree.map_structure(
        lambda e, r: np.testing.assert_allclose(e, r, rtol=1e-6, atol=1e-6),
        expected,
        received,
    )
    return restored


def get_weight(layer, name):
    """The value of `layer`'s weight whose path ends with `name`."""
    matches = [w for w in layer.weights if w.path.endswith("/" + name)]
    assert len(matches) == 1, [w.path for w in layer.weights]
    return keras.ops.convert_to_numpy(matches[0])
