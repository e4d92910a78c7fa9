"""SavedModel export of the action models, for TF Serving."""

import os
import shutil
import tempfile

import keras
import tensorflow as tf

SERVING_OUTPUTS = ("probabilities", "step_probabilities", "attention")


def export_action_model(model, export_dir, frames=None, overwrite=False):
    """Writes an action model as a SavedModel that TF Serving can load.

    Two signatures, both float32:

    - `serving_default`: `features` `(batch, frames, K, K, channels)` →
      `probabilities` `(batch, num_classes)`, `step_probabilities`
      `(batch, frames, num_classes)` and, for attention models, `attention`
      `(batch, frames, K, K)`.
    - `serve_with_mask`: the same plus `frame_mask` `(batch, frames)` bool
      for padded clips.

    The directory appears whole or not at all: it is written beside its
    final place and renamed.

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
    >>> path = vidattn.export.export_action_model(model, "/tmp/vidattn_doc/1", overwrite=True)
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
    parent = os.path.dirname(os.path.abspath(export_dir))
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".export-", dir=parent)
    try:
        archive.write_out(staging, verbose=False)
        if os.path.exists(export_dir):
            shutil.rmtree(export_dir)
        os.replace(staging, export_dir)
    finally:
        if os.path.exists(staging):
            shutil.rmtree(staging)
    return export_dir
