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


MODEL_MAKERS = {
    "attention": lambda **kwargs: vidattn.models.ActionRecognizer(
        3, units=8, num_layers=1, **kwargs
    ),
    "pooled": lambda **kwargs: vidattn.models.PooledLSTMRecognizer(
        3, units=8, num_layers=1, **kwargs
    ),
    "softmax_regression": lambda **kwargs: (
        vidattn.models.SoftmaxRegressionRecognizer(3, **kwargs)
    ),
}


@pytest.mark.parametrize("model_name", sorted(MODEL_MAKERS))
def test_mean_norm_reads_a_clip_at_any_scale(model_name):
    make_model = MODEL_MAKERS[model_name]
    rng = np.random.default_rng(5)
    features = rng.normal(size=(2, 4, 2, 2, 6)).astype("float32")
    scales = np.array([0.1, 50.0], "float32").reshape(2, 1, 1, 1, 1)
    model = make_model()
    np.testing.assert_allclose(
        model(features * scales)["step_logits"],
        model(features)["step_logits"],
        atol=1e-5,
    )
    raw = make_model(feature_normalization=None)
    raw(features)
    raw.set_weights(model.get_weights())
    assert not np.allclose(
        raw(features * scales)["step_logits"],
        raw(features)["step_logits"],
        atol=1e-3,
    )
    # A padded frame counts in no clip's norm.
    mask = np.array([[True, True, True, False]] * 2)
    padded = features.copy()
    padded[:, 3] *= 1000.0
    np.testing.assert_allclose(
        model({"features": padded, "frame_mask": mask})["probabilities"],
        model({"features": features, "frame_mask": mask})["probabilities"],
        atol=1e-5,
    )
    # A blank (all-zero) clip reads as zeros, not NaN, under float16 too.
    features[0] = 0.0
    for dtype in (None, "mixed_float16"):
        blank = make_model(dtype=dtype)
        assert np.all(np.isfinite(blank(features)["step_logits"]))


def test_feature_normalization_is_checked():
    with pytest.raises(ValueError, match="feature_normalization"):
        vidattn.models.ActionRecognizer(3, feature_normalization="l2")
