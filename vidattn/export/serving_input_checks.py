"""Checks of a request's tensors inside a served graph, with clear messages.

A SavedModel's signature fixes its inputs' dtypes and ranks, and TF Serving
refuses another dtype by name. It does not check the sizes that a signature
fixes (K, K, D) nor that two inputs agree (the mask's frames and the
features'): a request that misses them would fail deep inside the model, in
a reshape or a matmul, with an error that names neither the input nor what
was expected. These checks fail first, naming both.
"""

import tensorflow as tf


def _shape_text(spec):
    dims = ["-1" if dim is None else str(dim) for dim in spec.shape.as_list()]
    return f"({', '.join(dims)}) {spec.dtype.name}"


def check_serving_inputs(inputs, input_signature):
    """Fails a request whose tensors do not fit the signature's specs.

    The sizes that each spec fixes must match, and a `frame_mask` must have
    the batch and frames of `features`.

    Args:
        inputs: dict of tensors, by input name.
        input_signature: named `tf.TensorSpec`s: those of the inputs (specs
            of absent inputs are skipped).

    Returns:
        `inputs`, each tensor computed after the checks.
    """
    checks = []
    for spec in input_signature:
        if spec.name not in inputs:
            continue
        value = inputs[spec.name]
        rank = spec.shape.rank
        # TensorFlow takes a signature's declared rank for granted (it folds
        # `tf.rank`), so the rank is read off the shape's padded values.
        shape = tf.concat([tf.shape(value), tf.fill([rank + 1], -1)], 0)
        fits = (shape[rank - 1] >= 0) & (shape[rank] < 0)
        known = [(axis, dim) for axis, dim in enumerate(spec.shape) if dim]
        if known:
            actual = tf.gather(shape, [axis for axis, _ in known])
            fits &= tf.reduce_all(tf.equal(actual, [d for _, d in known]))
        checks.append(
            tf.debugging.Assert(
                fits,
                [
                    f"Expected input `{spec.name}` of shape "
                    f"{_shape_text(spec)}. Received a tensor of shape:",
                    tf.shape(value),
                ],
                summarize=8,
            )
        )
    if "frame_mask" in inputs and "features" in inputs:
        features_shape = tf.shape(inputs["features"])[:2]
        mask_shape = tf.shape(inputs["frame_mask"])
        # After the checks above, which make both shapes of length 2.
        with tf.control_dependencies(checks):
            fits = tf.reduce_all(tf.equal(features_shape, mask_shape))
        checks.append(
            tf.debugging.Assert(
                fits,
                [
                    "Expected input `frame_mask` of shape (batch, frames), "
                    "the first two sizes of `features`. Received "
                    "`features` and `frame_mask` of shapes:",
                    tf.shape(inputs["features"]),
                    mask_shape,
                ],
                summarize=8,
            )
        )
    with tf.control_dependencies(checks):
        return {name: tf.identity(value) for name, value in inputs.items()}
