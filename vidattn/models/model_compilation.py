"""What every vidattn model does the same way when it is compiled."""

import keras


def set_jit_compile_default(compile_arguments):
    """Keeps XLA off by default on TensorFlow, Keras's default elsewhere.

    On TensorFlow, XLA cannot differentiate the unbounded loop of
    `keras.ops.scan` that the recurrences run, and it did not train faster
    on CPU (see BUILD_NOTES.md); JAX compiles each training step whole.

    Args:
        compile_arguments: dict of `keras.Model.compile()` keyword
            arguments, updated in place.
    """
    if keras.backend.backend() == "tensorflow":
        compile_arguments.setdefault("jit_compile", False)


def compile_from_saved_config(model, config):
    """`compile_from_config` of a model that computes its own loss.

    The saved compile config holds the loss Keras recorded; the model's own
    `compile()` refuses a `loss` argument, so it is dropped, and the
    optimizer is built so that its saved variables can be loaded. So is
    `jit_compile`, which Keras records as the saving backend resolved it
    (`True` under JAX, which compiles every step): the loading backend
    chooses its own default (TensorFlow cannot XLA-compile the loops).
    """
    config = keras.saving.deserialize_keras_object(config)
    config.pop("loss", None)
    config.pop("jit_compile", None)
    model.compile(**config)
    if model.built:
        model.optimizer.build(model.trainable_variables)
