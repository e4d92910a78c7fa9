"""Checks shared by the functions that add serving signatures.

A loaded SavedModel signature refuses a tensor of the wrong dtype itself
("expected to be a float tensor but is a double tensor"), but not one of
the wrong shape: that fails deep in the graph, at whichever reshape or
matmul first disagrees. The signatures assert their inputs' shapes first,
with an error that names the layout expected.
"""

import keras


def check_tensorflow_backend():
    """Raises unless Keras runs on TensorFlow, which writes SavedModels.

    Raises:
        ValueError: under another backend, saying how to export instead.
    """
    if keras.backend.backend() != "tensorflow":
        raise ValueError(
            "Expected Keras's tensorflow backend to add SavedModel "
            f"endpoints. Received: the {keras.backend.backend()} backend. "
            "Export from a process started with KERAS_BACKEND=tensorflow: "
            "a .keras file saved under any backend loads there."
        )


def checked_input(value, spec, layout):
    """Returns `value` once its shape is asserted to fit `spec`, at run time.

    The tensor must have the spec's rank, its sizes where the spec gives
    them, and every axis at least 1 long (an empty batch or clip is
    refused too).

    Args:
        value: the signature's input tensor.
        spec: its `tf.TensorSpec` (`None` dims take any size), with at
            least one `None` dim (a fully known spec's shape would be a
            graph constant, not the tensor's).
        layout: str. What the axes mean, e.g. `"(batch, K, K, channels)"`.

    Returns:
        `value`, through an identity that runs after the check.

    Example:

    ```python
    def step(frame):
        frame = checked_input(frame, frame_spec, "(batch, K, K, channels)")
        ...
    ```
    """
    import tensorflow as tf

    expected = tuple(spec.shape)
    rank = len(expected)
    # The shape's values are padded rather than its length compared: the
    # graph knows the declared rank, and would fold `tf.size` or `tf.rank`
    # into that constant instead of reading the tensor fed at run time.
    padded = tf.concat([tf.shape(value), tf.zeros([rank + 1], tf.int32)], 0)
    fits = tf.logical_and(
        tf.reduce_all(padded[:rank] > 0), tf.equal(padded[rank], 0)
    )
    for axis, size in enumerate(expected):
        if size is not None:
            fits = tf.logical_and(fits, tf.equal(padded[axis], size))
    dims = ", ".join("None" if size is None else str(size) for size in expected)
    check = tf.debugging.Assert(
        fits,
        [
            f"Expected `{spec.name}` of shape {layout} = ({dims}) "
            f"({spec.dtype.name}; None: any size). Received shape:",
            tf.shape(value),
        ],
        summarize=rank + 2,
    )
    with tf.control_dependencies([check]):
        return tf.identity(value)
