"""One serving signature: a traceable function and the inputs it takes."""

import dataclasses


@dataclasses.dataclass(frozen=True)
class ServingSignature:
    """A named endpoint of an export, before it is traced into the archive.

    The export functions build these and add each one to a
    `keras.export.ExportArchive`; code that wraps them (raw frames through a
    backbone before the features) can call `function` itself inside its own
    `tf.function`.

    Args:
        function: callable. Takes the inputs of `input_signature` as keyword
            arguments named after their specs (`features`, `frame_mask`) and
            returns a dict of named tensors, the signature's outputs.
        input_signature: tuple of `tf.TensorSpec`, each with its `name`, in
            the order of `function`'s arguments.
        description: str. One line on what the signature answers.

    Example:

    ```python
    signatures = vidattn.export.action_signatures(model)
    clip = signatures["clip"]
    outputs = clip.function(features=cubes)
    [spec.name for spec in clip.input_signature]  # ["features"]
    ```
    """

    function: object
    input_signature: tuple
    description: str = ""

    @property
    def input_names(self):
        """The names of the inputs, in order."""
        return tuple(spec.name for spec in self.input_signature)
