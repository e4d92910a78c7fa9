"""SavedModel export of the action models, for TF Serving."""

import json
import os

import keras
import tensorflow as tf

from vidattn.utils.atomic_write import atomic_output_path

SERVING_OUTPUTS = ("probabilities", "step_probabilities", "attention")
METADATA = "metadata"
"""The attribute of the loaded SavedModel that holds the model's metadata."""


def export_metadata(model):
    """What a server needs to know about an action model, JSON-ready.

    Args:
        model: a `vidattn.models.VideoClassifier`.

    Returns:
        A dict: `"model"` (the class name), `"num_classes"`,
        `"multi_label"`, `"class_names"` (list or `None`) and
        `"feature_metadata"` (dict or `None`).
    """
    class_names = getattr(model, "class_names", None)
    return {
        "model": type(model).__name__,
        "num_classes": model.num_classes,
        "multi_label": model.multi_label,
        "class_names": None if class_names is None else list(class_names),
        "feature_metadata": getattr(model, "feature_metadata", None),
    }


def read_export_metadata(saved_model):
    """Reads back the metadata that `export_action_model` wrote.

    Args:
        saved_model: the export folder, or what `tf.saved_model.load`
            returned for it.

    Returns:
        The dict of `export_metadata`.

    Raises:
        ValueError: if the SavedModel holds no vidattn metadata (it was not
            written by `export_action_model`, or by an older version).

    Example:

    ```python
    served = tf.saved_model.load("exports/ucf11/1")
    class_names = vidattn.export.read_export_metadata(served)["class_names"]
    ```
    """
    if isinstance(saved_model, (str, os.PathLike)):
        saved_model = tf.saved_model.load(os.fspath(saved_model))
    variables = getattr(saved_model, METADATA, None)
    if not variables:
        raise ValueError(
            "Expected a SavedModel written by "
            "vidattn.export.export_action_model, with its metadata. "
            f"Received one without a `{METADATA}` attribute."
        )
    return json.loads(variables[0].numpy().decode("utf-8"))


def export_action_model(model, export_dir, frames=None, overwrite=False):
    """Writes an action model as a SavedModel that TF Serving can load.

    Two signatures, both float32:

    - `serving_default`: `features` `(batch, frames, K, K, channels)` →
      `probabilities` `(batch, num_classes)`, `step_probabilities`
      `(batch, frames, num_classes)` and, for attention models, `attention`
      `(batch, frames, K, K)`.
    - `serve_with_mask`: the same plus `frame_mask` `(batch, frames)` bool
      for padded clips.

    The model's class names and feature description (`export_metadata`)
    travel with it, as a string variable that `read_export_metadata` reads
    back from the folder or from `tf.saved_model.load`'s result.

    The directory appears whole or not at all
    (`vidattn.utils.atomic_output_path`).

    Args:
        model: a built `vidattn.models.VideoClassifier`.
        export_dir: str. Where to write the SavedModel, e.g.
            `"exports/ucf11/1"` (TF Serving wants a numbered version folder).
        frames: int or `None`. Frames per request; `None` (default) accepts
            any number of frames.
        overwrite: bool. Replace an existing directory. Defaults to `False`.

    Returns:
        The export directory.

    Raises:
        ValueError: if the model is not built or the directory exists.

    Example:

    >>> import numpy as np, vidattn
    >>> model = vidattn.models.ActionRecognizer(3, units=8, num_layers=1)
    >>> _ = model(np.zeros((1, 4, 2, 2, 16), "float32"))
    >>> path = vidattn.export.export_action_model(
    ...     model, "/tmp/vidattn_doc/1", overwrite=True
    ... )
    """
    if not model.built:
        raise ValueError(
            "Expected a built model: call it on a batch of features or fit "
            "it before exporting. Received an unbuilt "
            f"{type(model).__name__}."
        )
    export_dir = os.fspath(export_dir)
    if os.path.exists(export_dir) and not overwrite:
        raise ValueError(
            f"Expected a new export directory. Received {export_dir!r}, which "
            "exists: pass overwrite=True or choose a new version number."
        )
    grid_size, _, channels = model.input_spec_shape()
    features_spec = tf.TensorSpec(
        (None, frames, grid_size, grid_size, channels), tf.float32, "features"
    )
    mask_spec = tf.TensorSpec((None, frames), tf.bool, "frame_mask")

    def serving_outputs(outputs):
        return {k: outputs[k] for k in SERVING_OUTPUTS if k in outputs}

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(
        "serving_default",
        lambda features: serving_outputs(model(features, training=False)),
        input_signature=[features_spec],
    )
    archive.add_endpoint(
        "serve_with_mask",
        lambda features, frame_mask: serving_outputs(
            model(
                {"features": features, "frame_mask": frame_mask}, training=False
            )
        ),
        input_signature=[features_spec, mask_spec],
    )
    metadata = tf.Variable(
        json.dumps(export_metadata(model)), trainable=False, name=METADATA
    )
    archive.add_variable_collection(METADATA, [metadata])
    with atomic_output_path(export_dir, directory=True) as staging:
        archive.write_out(staging, verbose=False)
    return export_dir
