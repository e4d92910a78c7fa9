"""A function of tensors compiled into one graph by the Keras backend."""

import keras


def compiled_function(function):
    """`function` traced into a graph under TensorFlow; as it is otherwise.

    TensorFlow runs `keras.ops.while_loop` eagerly one Python iteration at a
    time unless it is traced, so a loop that must run inside the graph (a
    beam search) is wrapped in a `tf.function` that keeps one trace per
    input signature (`reduce_retracing`). JAX traces a
    `keras.ops.while_loop` itself (`jax.lax.while_loop`); other backends run
    the function as it is.

    Args:
        function: A callable of tensors (or `None`s) returning a nested
            structure of tensors.

    Returns:
        A callable with the same arguments and results.
    """
    if keras.backend.backend() != "tensorflow":
        return function
    import tensorflow as tf

    return tf.function(function, reduce_retracing=True)
