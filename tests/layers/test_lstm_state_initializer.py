import keras
import numpy as np
import pytest

import vidattn
from tests.fixtures import numpy_reference
from tests.testing import assert_config_round_trip


def test_matches_numpy_reference_with_and_without_mask():
    rng = np.random.default_rng(0)
    features = rng.normal(size=(3, 5, 4, 8)).astype("float32")
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


def test_hidden_layers_and_config_round_trip():
    layer = vidattn.layers.LSTMStateInitializer(
        6, num_layers=2, hidden_units=(5, 4)
    )
    states = layer(np.ones((2, 3, 4, 8), "float32"))
    assert [tuple(s.shape) for s in states] == [(2, 6)] * 4
    assert len(layer.weights) == 2 * 3 * 2
    assert_config_round_trip(layer)


def test_mixed_precision_states_in_the_compute_dtype():
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
