"""SavedModel export of the action models and captioners, for TF Serving."""

import json
import os

import keras
import tensorflow as tf

from vidattn.utils.arguments import check_non_negative_number
from vidattn.utils.arguments import check_positive_int
from vidattn.utils.atomic_write import atomic_output_path

SERVING_OUTPUTS = ("probabilities", "step_probabilities", "attention")
METADATA = "metadata"
"""The attribute of the loaded SavedModel that holds the model's metadata."""


def export_metadata(model):
    """What a server needs to know about a model, JSON-ready.

    Args:
        model: a `vidattn.models.VideoClassifier` or
            `vidattn.models.VideoCaptioner`.

    Returns:
        A dict: `"model"` (the class name) and `"feature_metadata"` (dict or
        `None`); for an action model `"num_classes"`, `"multi_label"` and
        `"class_names"` (list or `None`); for a captioner
        `"vocabulary_size"`.
    """
    metadata = {
        "model": type(model).__name__,
        "feature_metadata": getattr(model, "feature_metadata", None),
    }
    if hasattr(model, "num_classes"):
        class_names = getattr(model, "class_names", None)
        metadata.update(
            {
                "num_classes": model.num_classes,
                "multi_label": model.multi_label,
                "class_names": None
                if class_names is None
                else list(class_names),
            }
        )
    else:
        metadata["vocabulary_size"] = model.vocabulary_size
    return metadata


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
        ValueError: if the model is not built, the directory exists, or
            Keras runs on another backend than TensorFlow.

    Example:

    >>> import numpy as np, vidattn
    >>> model = vidattn.models.ActionRecognizer(3, units=8, num_layers=1)
    >>> _ = model(np.zeros((1, 4, 2, 2, 16), "float32"))
    >>> path = vidattn.export.export_action_model(
    ...     model, "/tmp/vidattn_doc/1", overwrite=True
    ... )
    """
    export_dir = _check_export(model, export_dir, overwrite)
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
    return _write_archive(archive, export_metadata(model), export_dir)


def _check_export(model, export_dir, overwrite):
    if keras.backend.backend() != "tensorflow":
        # Keras would convert a JAX model with jax2tf; the exports here are
        # TensorFlow graphs traced from the same `.keras` file instead, so
        # that every backend's model serves the same signatures.
        raise ValueError(
            "Expected Keras's tensorflow backend to export a SavedModel. "
            f"Received: the {keras.backend.backend()} backend. Save the model "
            "(`model.save('model.keras')`) and export it from a process "
            "started with KERAS_BACKEND=tensorflow: a .keras file trained "
            "under any backend loads there with the same weights and outputs."
        )
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
    return export_dir


def _write_archive(archive, metadata, export_dir):
    """Adds the metadata dict and writes the archive whole or not at all."""
    metadata = tf.Variable(json.dumps(metadata), trainable=False, name=METADATA)
    archive.add_variable_collection(METADATA, [metadata])
    with atomic_output_path(export_dir, directory=True) as staging:
        archive.write_out(staging, verbose=False)
    return export_dir


def export_video_captioner(
    model,
    export_dir,
    *,
    beam_width=4,
    max_length=30,
    length_normalization=0.0,
    overwrite=False,
):
    """Writes a captioner as a SavedModel that describes videos in words.

    The beam search of `VideoCaptioner.generate` runs inside the served
    graph, and the vocabulary travels in the SavedModel (the tokenizer's
    lookup tables), so the folder alone turns feature cubes into sentences.
    Two signatures:

    - `serving_default`: `features` float32 `(batch, N, K, K, channels)` →
      `captions` string `(batch,)` (when the model has a tokenizer),
      `token_ids` int32 `(batch, max_length)`, `length` int32 `(batch,)`,
      `log_probability` and `score` float32 `(batch,)`, `attention`
      float32 `(batch, max_length, N, K, K)` and `beta` float32
      `(batch, max_length)` (see `VideoCaptioner.generate`).
    - `serve_with_mask`: the same plus `frame_mask` bool `(batch, N)` for
      padded videos.

    `N` is the model's number of frames with linear attention (its weights
    are per location) and any number otherwise. The metadata
    (`export_metadata`, with `"beam_width"`, `"max_length"` and
    `"length_normalization"`) reads back with `read_export_metadata`.

    Args:
        model: a built `vidattn.models.VideoCaptioner`.
        export_dir: str. Where to write the SavedModel, e.g.
            `"exports/msvd/1"`.
        beam_width: int. Beam width of the served search; `1` is greedy.
            Defaults to `4`.
        max_length: int. The most words per sentence. Defaults to `30`.
        length_normalization: float. See `VideoCaptioner.generate`.
            Defaults to `0.0`.
        overwrite: bool. Replace an existing directory. Defaults to `False`.

    Returns:
        The export directory.

    Raises:
        ValueError: if the model is not built, an argument is out of range,
            the directory exists, or Keras runs on another backend than
            TensorFlow.

    Example:

    ```python
    vidattn.export.export_video_captioner(captioner, "exports/msvd/1")
    served = tf.saved_model.load("exports/msvd/1")
    served.signatures["serving_default"](features=cubes)["captions"]
    ```
    """
    export_dir = _check_export(model, export_dir, overwrite)
    beam_width = check_positive_int("beam_width", beam_width)
    max_length = check_positive_int("max_length", max_length)
    length_normalization = check_non_negative_number(
        "length_normalization", length_normalization
    )
    grid_size, _, channels = model.feature_grid
    frames = None
    if model.attention == "linear":
        frames = model.attention_layer.num_locations // grid_size**2
    features_spec = tf.TensorSpec(
        (None, frames, grid_size, grid_size, channels), tf.float32, "features"
    )
    mask_spec = tf.TensorSpec((None, frames), tf.bool, "frame_mask")

    def describe(features, frame_mask=None):
        outputs = model.search(
            features,
            frame_mask,
            beam_width=beam_width,
            max_length=max_length,
            length_normalization=length_normalization,
        )
        if model.tokenizer is not None:
            outputs["captions"] = model.tokenizer.detokenize(
                outputs["token_ids"]
            )
        return outputs

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(
        "serving_default", describe, input_signature=[features_spec]
    )
    archive.add_endpoint(
        "serve_with_mask", describe, input_signature=[features_spec, mask_spec]
    )
    model_metadata = export_metadata(model)
    model_metadata.update(
        beam_width=beam_width,
        max_length=max_length,
        length_normalization=length_normalization,
    )
    return _write_archive(archive, model_metadata, export_dir)
