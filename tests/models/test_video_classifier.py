import keras
import numpy as np
import pytest

import vidattn

METADATA = {
    "backbone": "inception_v3",
    "layer": "mixed7",
    "input_size": (299, 299),
    "grid_size": 2,
    "channels": 8,
    "stored_fps": 30.0,
    "fps": 10.0,
    "window": 4,
}


@pytest.mark.parametrize(
    "make_model",
    [
        lambda **kwargs: vidattn.models.ActionRecognizer(
            2, units=4, num_layers=1, **kwargs
        ),
        lambda **kwargs: vidattn.models.PooledLSTMRecognizer(
            2, units=4, num_layers=1, **kwargs
        ),
        lambda **kwargs: vidattn.models.SoftmaxRegressionRecognizer(
            2, **kwargs
        ),
    ],
    ids=["attention", "pooled", "softmax_regression"],
)
def test_class_names_and_feature_metadata_travel_in_the_keras_file(
    make_model, tmp_path
):
    model = make_model(class_names=["walk", "run"], feature_metadata=METADATA)
    assert model.class_names == ("walk", "run")
    assert model.feature_metadata["input_size"] == [299, 299]
    model(np.zeros((1, 4, 2, 2, 8), "float32"))
    model.save(tmp_path / "model.keras")
    restored = keras.models.load_model(tmp_path / "model.keras")
    assert restored.class_names == ("walk", "run")
    assert restored.feature_metadata == dict(METADATA, input_size=[299, 299])
    # A copy: changing it changes nothing in the model.
    restored.feature_metadata["fps"] = 1.0
    assert restored.feature_metadata["fps"] == 10.0
    assert make_model().class_names is None
    assert make_model().feature_metadata is None


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"class_names": "ab"}, "sequence of str"),
        ({"class_names": ["a", 2]}, "sequence of str"),
        ({"class_names": ["a", "b", "c"]}, "Expected 2 `class_names`"),
        ({"feature_metadata": ["fps"]}, "dict or None"),
        ({"feature_metadata": {"frame_rate": 10}}, "unknown keys"),
        ({"feature_metadata": {"fps": object()}}, "values that JSON"),
        ({"weight_decay": -1.0}, "weight_decay=-1.0"),
    ],
)
def test_invalid_arguments(kwargs, message):
    with pytest.raises(ValueError, match="Expected") as error:
        vidattn.models.SoftmaxRegressionRecognizer(2, **kwargs)
    assert message in str(error.value)
