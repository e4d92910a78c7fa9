"""A check of tensor values that raises a clear error, eager or in a graph.

Keras has no backend-neutral assertion: under TensorFlow a traced function
(`fit`, `predict`) cannot raise a Python error from a tensor's value, so the
check becomes a `tf.debugging.Assert` op there, which fails the step with the
same message. Eagerly, on any backend, it raises `ValueError`. Inside a
traced JAX function the values are unknown and nothing is checked.
"""

import keras
import numpy as np


def assert_all(condition, message, guarded=None):
    """Fails with `message` unless every element of `condition` is true.

    Args:
        condition: A boolean tensor.
        message: str. What was expected, what was received, what to do.
        guarded: Optional tensor or nested structure of tensors that must
            not be used before the check: in a TensorFlow graph, ops run as
            soon as their inputs are ready, so an op that fails on the bad
            value (a shape mismatch) could otherwise fail first, with a less
            clear error.

    Returns:
        `guarded`: in a TensorFlow graph, computed after the check; as given
        otherwise.

    Raises:
        ValueError: eagerly, if an element is false. In a TensorFlow graph
            the step fails with `tf.errors.InvalidArgumentError` instead.
    """
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        if not tf.executing_eagerly():
            check = tf.debugging.Assert(tf.reduce_all(condition), [message])
            if guarded is None:
                return None
            with tf.control_dependencies([check]):
                return keras.tree.map_structure(tf.identity, guarded)
    elif keras.backend.backend() == "jax":
        import jax

        if isinstance(condition, jax.core.Tracer):
            return guarded
    if not np.all(keras.ops.convert_to_numpy(condition)):
        raise ValueError(message)
    return guarded
