import keras
import numpy as np
import pytest

import vidattn
from tests.fixtures import numpy_reference
from tests.test_case import run_layer_test
from tests.test_case import run_masking_test


def make_features(seed=0, value=None):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(3, 5, 4, 8)).astype("float32")


def test_layer(tmp_path):
    run_layer_test(
        vidattn.layers.LSTMStateInitializer,
        init_kwargs={"units": 6, "num_layers": 2, "hidden_units": (5,)},
        input_data={"features": make_features()},
        expected_output_shape=[(3, 6)] * 4,
        tmp_path=tmp_path,
    )


def test_matches_numpy_reference_with_and_without_mask():
    features = make_features()
    mask = np.ones((3, 5), bool)
    mask[0, 2:] = False
    layer = vidattn.layers.LSTMStateInitializer(6, num_layers=3)
    for frame_mask in (None, mask):
        states = layer(features, mask=frame_mask)
        expected = numpy_reference.initial_states(
            features.astype("float64"),
            [
                keras.ops.convert_to_numpy(w)
                for w in layer.hidden_mlp[0].weights
            ],
            [keras.ops.convert_to_numpy(w) for w in layer.cell_mlp[0].weights],
            3,
            frame_mask,
        )
        assert len(states) == 6
        for received, wanted in zip(states, expected):
            np.testing.assert_allclose(received, wanted, atol=1e-6)


def test_padded_frames_change_nothing():
    layer = vidattn.layers.LSTMStateInitializer(6, num_layers=2)
    run_masking_test(
        lambda features, mask: dict(enumerate(layer(features, mask=mask))),
        make_features(1),
        valid_frames=3,
        padded_frames=5,
    )


def test_hidden_layers():
    layer = vidattn.layers.LSTMStateInitializer(
        6, num_layers=2, hidden_units=(5, 4)
    )
    layer(np.ones((2, 3, 4, 8), "float32"))
    assert len(layer.weights) == 2 * 3 * 2


def test_large_features_stay_finite_under_float16():
    keras.mixed_precision.set_global_policy("mixed_float16")
    layer = vidattn.layers.LSTMStateInitializer(6)
    states = layer(np.full((2, 3, 4, 8), 300.0, "float32"))
    assert states[0].dtype == "float16"
    assert np.all(np.isfinite(keras.ops.convert_to_numpy(states[1])))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"units": -2}, "units=-2"),
        ({"units": 2, "hidden_units": (3, 0)}, "hidden_units=(3, 0)"),
    ],
)
def test_invalid_arguments(kwargs, message):
    with pytest.raises(ValueError, match="Expected") as error:
        vidattn.layers.LSTMStateInitializer(**kwargs)
    assert message in str(error.value)


def test_features_of_the_wrong_rank():
    with pytest.raises(
        ValueError, match=r"\(batch, frames, locations, channels\)"
    ):
        vidattn.layers.LSTMStateInitializer(4)(np.ones((2, 3, 8), "float32"))
