import numpy as np
import pytest

from tests.fixtures import numpy_reference
from vidattn.losses import doubly_stochastic_penalty


def random_attention(rng, shape):
    return numpy_reference.softmax(rng.normal(size=shape)).astype("float32")


def test_matches_numpy_reference_with_mask():
    rng = np.random.default_rng(0)
    attention = random_attention(rng, (3, 6, 9))
    mask = rng.random((3, 6)) < 0.7
    for frame_mask in (None, mask):
        np.testing.assert_allclose(
            doubly_stochastic_penalty(attention, frame_mask),
            numpy_reference.doubly_stochastic_penalty(attention, frame_mask),
            rtol=1e-6,
        )


def test_grid_attention_is_flattened():
    rng = np.random.default_rng(1)
    attention = random_attention(rng, (2, 4, 9)).reshape(2, 4, 3, 3)
    np.testing.assert_allclose(
        doubly_stochastic_penalty(attention),
        numpy_reference.doubly_stochastic_penalty(attention),
        rtol=1e-6,
    )


def test_uniform_target_is_zero_for_uniform_attention_over_many_locations():
    # 3 steps over 1274 locations cannot reach a target of 1 per location.
    attention = np.full((1, 3, 1274), 1.0 / 1274, "float32")
    literal = float(doubly_stochastic_penalty(attention)[0])
    assert literal == pytest.approx(1274 * (1 - 3 / 1274) ** 2, rel=1e-5)
    assert float(
        doubly_stochastic_penalty(attention, target="uniform")[0]
    ) == pytest.approx(0.0, abs=1e-6)


def test_invalid_target():
    with pytest.raises(
        ValueError, match='Expected `target` to be a float or "uniform"'
    ):
        doubly_stochastic_penalty(np.ones((1, 2, 3), "float32"), target="mean")


def test_location_mask_leaves_masked_locations_out():
    # 2 steps over 6 locations of which the last 2 are padding (weight 0).
    attention = np.zeros((1, 2, 6), "float32")
    attention[0, 0, :4] = [0.5, 0.5, 0.0, 0.0]
    attention[0, 1, :4] = [0.0, 0.0, 0.5, 0.5]
    location_mask = np.array([[1, 1, 1, 1, 0, 0]], bool)
    # Literal target 1: (1 - 0.5)^2 at each of the 4 valid locations.
    np.testing.assert_allclose(
        doubly_stochastic_penalty(attention, location_mask=location_mask),
        [1.0],
        rtol=1e-6,
    )
    # Uniform target 2 words / 4 valid locations = 0.5: met exactly.
    np.testing.assert_allclose(
        doubly_stochastic_penalty(
            attention, target="uniform", location_mask=location_mask
        ),
        [0.0],
        atol=1e-7,
    )
    # Without the mask the padded locations count: target 2/6.
    np.testing.assert_allclose(
        doubly_stochastic_penalty(attention, target="uniform"),
        [4 * (0.5 - 2 / 6) ** 2 + 2 * (2 / 6) ** 2],
        rtol=1e-6,
    )
