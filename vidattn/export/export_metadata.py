"""What a served model is: its classes or words, features and settings."""

import json
import os

import tensorflow as tf

METADATA = "metadata"
"""The attribute of the loaded SavedModel that holds the model's metadata."""

METADATA_FILE = "vidattn_metadata.json"
"""The metadata's file in the SavedModel's `assets/`."""

CLASS_NAMES_FILE = "class_names.txt"
"""An action model's class names, one a line, in the order of its outputs."""

VOCABULARY_FILE = "vocabulary.txt"
"""A captioner's tokens, one a line, line `i` the word of id `i`."""

# Keys of a model's `feature_metadata` also given at the top level, where a
# client looks for what to send.
_FEATURE_KEYS = ("backbone", "layer", "input_size", "stored_fps", "fps")


def export_metadata(model):
    """What a server needs to know about a model, JSON-ready.

    Args:
        model: a `vidattn.models.VideoClassifier` or
            `vidattn.models.VideoCaptioner`.

    Returns:
        A dict: `"model"` (the class name), `"vidattn_version"`,
        `"feature_metadata"` (dict or `None`), its `"backbone"`, `"layer"`,
        `"input_size"`, `"stored_fps"` and `"fps"` (each `None` when
        unknown), and `"grid_size"` and `"channels"` of the feature cubes
        the model was built on; for an action model `"num_classes"`,
        `"multi_label"` and `"class_names"` (list or `None`); for a
        captioner `"vocabulary_size"`.
    """
    import vidattn

    feature_metadata = getattr(model, "feature_metadata", None)
    metadata = {
        "model": type(model).__name__,
        "vidattn_version": vidattn.__version__,
        "feature_metadata": feature_metadata,
    }
    for key in _FEATURE_KEYS:
        metadata[key] = (feature_metadata or {}).get(key)
    if hasattr(model, "num_classes"):
        grid_size, _, channels = model.input_spec_shape()
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
        grid_size, _, channels = model.feature_grid
        metadata["vocabulary_size"] = model.vocabulary_size
    metadata.update(grid_size=int(grid_size), channels=int(channels))
    return metadata


def read_export_metadata(saved_model):
    """Reads back the metadata that an export wrote.

    Reads the string variable that every vidattn export holds (exports
    written before the metadata went into `assets/` have only that); the
    same JSON is in the folder's `assets/vidattn_metadata.json`, for
    clients without TensorFlow.

    Args:
        saved_model: the export folder, or what `tf.saved_model.load`
            returned for it.

    Returns:
        The dict of `export_metadata`, with the export's settings.

    Raises:
        ValueError: if the SavedModel holds no vidattn metadata (it was not
            written by `vidattn.export`).

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
            "Expected a SavedModel written by vidattn.export "
            "(export_action_model, export_video_captioner or `vidattn "
            f"export`), with its metadata. Received one without a "
            f"`{METADATA}` attribute."
        )
    return json.loads(variables[0].numpy().decode("utf-8"))
