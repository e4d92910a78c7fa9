import keras
import numpy as np
import pytest
import tensorflow as tf

from vidattn.export.signature_checks import check_tensorflow_backend
from vidattn.export.signature_checks import checked_input

SPEC = tf.TensorSpec((None, 3, 4), tf.float32, "cubes")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """A loaded signature, which (unlike a `tf.function`) runs any shape."""
    module = tf.Module()
    module.check = tf.function(
        lambda cubes: {"cubes": checked_input(cubes, SPEC, "(batch, K, D)")},
        input_signature=[SPEC],
    )
    path = str(tmp_path_factory.mktemp("checks"))
    tf.saved_model.save(module, path, signatures=module.check)
    return tf.saved_model.load(path).signatures["serving_default"]


def test_a_tensor_of_the_declared_shape_passes_unchanged(served):
    cubes = np.arange(2 * 3 * 4, dtype="float32").reshape(2, 3, 4)
    np.testing.assert_array_equal(served(cubes=cubes)["cubes"], cubes)


@pytest.mark.parametrize(
    "shape, received",
    [
        ((2, 3, 5), "[2 3 5]"),
        ((2, 12), "[2 12]"),
        ((2, 3, 4, 1), "[2 3 4 1]"),
        ((0, 3, 4), "[0 3 4]"),
    ],
    ids=["other_size", "lower_rank", "higher_rank", "empty_batch"],
)
def test_other_shapes_are_refused_naming_the_layout(served, shape, received):
    expected = (
        r"Expected `cubes` of shape \(batch, K, D\) = \(None, 3, 4\) "
        r"\(float32; None: any size\). Received shape:\] \["
        + received[1:-1]
        + r"\]"
    )
    with pytest.raises(tf.errors.InvalidArgumentError, match=expected):
        served(cubes=tf.zeros(shape))


def test_other_backends_are_told_how_to_export(monkeypatch):
    check_tensorflow_backend()
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    with pytest.raises(ValueError, match="Received: the jax backend"):
        check_tensorflow_backend()
