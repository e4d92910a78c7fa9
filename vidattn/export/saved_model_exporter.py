"""SavedModel export of the action models and captioners, for TF Serving."""

import os

import keras

from vidattn.export.action_signatures import action_signatures
from vidattn.export.action_signatures import window_settings
from vidattn.export.archive_writer import write_export
from vidattn.export.caption_signatures import caption_signatures
from vidattn.export.export_metadata import CLASS_NAMES_FILE
from vidattn.export.export_metadata import VOCABULARY_FILE
from vidattn.export.export_metadata import export_metadata
from vidattn.export.raw_frame_signatures import raw_frame_signatures
from vidattn.export.streaming_signatures import streaming_signatures
from vidattn.models.action_recognizer import ActionRecognizer


def export_action_model(
    model,
    export_dir,
    frames=None,
    overwrite=False,
    *,
    top_k=5,
    window_length=None,
    fps=None,
    stride=1,
    aggregation="mean",
    streaming=None,
    backbone=None,
    endpoint_adders=(),
):
    """Writes an action model as a SavedModel that TF Serving can load.

    The signatures of `vidattn.export.action_signatures`: `clip` (also
    `serving_default`), `clip_with_mask`, `video` and `video_with_mask`;
    for the soft-attention model `stream_start` and `stream_step`
    (`vidattn.export.streaming_signatures`: a stream classified frame by
    frame); and, given the backbone the features came from, a
    `<name>_from_frames` twin of each, which takes uint8 RGB frames
    (`vidattn.export.raw_frame_signatures`).

    What a client needs to know travels in the folder's `assets/`:
    `vidattn_metadata.json` (`export_metadata`, with the `video`
    signatures' `window_length`, `frame_skip`, `stride` and `aggregation`,
    and `top_k`) and `class_names.txt` (one a line, in the order of the
    outputs; the class indices when the model has no names). The metadata
    is also a string variable, which `read_export_metadata` reads back.

    The directory appears whole or not at all
    (`vidattn.utils.atomic_output_path`).

    Args:
        model: a built `vidattn.models.VideoClassifier`.
        export_dir: str. Where to write the SavedModel, e.g.
            `"exports/ucf11/1"` (TF Serving wants a numbered version folder;
            `vidattn.export.export_model` numbers it).
        frames: int or `None`. Frames per clip; `None` (default) accepts
            any number of frames.
        overwrite: bool. Replace an existing directory. Defaults to `False`.
        top_k, window_length, fps, stride, aggregation: see
            `vidattn.export.action_signatures`.
        streaming: bool or `None`. Add the streaming signatures. `None`
            (default): for an `ActionRecognizer`, the model that attends.
        backbone: a `vidattn.backbones.Backbone` or `None` (default). The
            backbone the model's features came from (same network, layer
            and input size), to add the frame twins of every signature.
        endpoint_adders: more signatures; see `vidattn.export.write_export`.

    Returns:
        The export directory.

    Raises:
        ValueError: if the model is not built, an argument is out of range,
            `streaming=True` for a model without attention, the directory
            exists, or Keras runs on another backend than TensorFlow.

    Example:

    >>> import numpy as np, vidattn
    >>> model = vidattn.models.ActionRecognizer(3, units=8, num_layers=1)
    >>> _ = model(np.zeros((1, 4, 2, 2, 16), "float32"))
    >>> path = vidattn.export.export_action_model(
    ...     model, "/tmp/vidattn_doc/1", overwrite=True
    ... )
    """
    export_dir = _check_export(model, export_dir, overwrite)
    signatures = action_signatures(
        model,
        frames=frames,
        top_k=top_k,
        window_length=window_length,
        fps=fps,
        stride=stride,
        aggregation=aggregation,
    )
    if streaming is None:
        streaming = isinstance(model, ActionRecognizer)
    if streaming:
        signatures.update(streaming_signatures(model))
    signatures = _with_frame_twins(model, signatures, backbone)
    window_length, frame_skip = window_settings(model, window_length, fps)
    metadata = export_metadata(model)
    metadata.update(_backbone_metadata(backbone))
    metadata.update(
        top_k=min(top_k, model.num_classes),
        window_length=window_length,
        frame_skip=frame_skip,
        stride=stride,
        aggregation=aggregation,
        signatures={name: s.description for name, s in signatures.items()},
    )
    class_names = model.class_names or [
        str(index) for index in range(model.num_classes)
    ]
    return write_export(
        model,
        signatures,
        metadata,
        export_dir,
        text_files={CLASS_NAMES_FILE: class_names},
        endpoint_adders=endpoint_adders,
    )


def _with_frame_twins(model, signatures, backbone):
    if backbone is None:
        return signatures
    cube = tuple(model.feature_grid)
    if tuple(getattr(backbone, "feature_shape", cube)) != cube:
        raise ValueError(
            f"Expected a backbone whose cubes are the model's, {cube}. "
            f"Received {backbone!r}, whose cubes are "
            f"{tuple(backbone.feature_shape)}: give the backbone, layer and "
            "input size the model's features were extracted with."
        )
    return {**signatures, **raw_frame_signatures(signatures, backbone)}


def _backbone_metadata(backbone):
    """What the `_from_frames` signatures run, for the export's metadata."""
    if backbone is None:
        return {}
    return {
        "frames_backbone": {
            "name": backbone.name,
            "layer": backbone.layer_name,
            "input_size": list(backbone.input_size),
            "feature_shape": list(backbone.feature_shape),
        }
    }


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


def export_video_captioner(
    model,
    export_dir,
    *,
    beam_width=4,
    max_length=30,
    length_normalization=0.0,
    overwrite=False,
    backbone=None,
    endpoint_adders=(),
):
    """Writes a captioner as a SavedModel that describes videos in words.

    The beam search of `VideoCaptioner.generate` runs inside the served
    graph, and the vocabulary travels in the SavedModel (the tokenizer's
    lookup tables), so the folder alone turns feature cubes into sentences.
    The signatures of `vidattn.export.caption_signatures`: `caption` (also
    `serving_default`) and `caption_with_mask`; given the backbone the
    features came from, their `<name>_from_frames` twins, which take uint8
    RGB frames (`vidattn.export.raw_frame_signatures`).

    `assets/` holds `vidattn_metadata.json` (`export_metadata`, with
    `"beam_width"`, `"max_length"` and `"length_normalization"`; also read
    back by `read_export_metadata`) and, with a tokenizer,
    `vocabulary.txt` (line `i` the token of id `i`).

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
        backbone: a `vidattn.backbones.Backbone` or `None` (default): see
            `export_action_model`.
        endpoint_adders: more signatures; see `vidattn.export.write_export`.

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
    signatures = caption_signatures(
        model,
        beam_width=beam_width,
        max_length=max_length,
        length_normalization=length_normalization,
    )
    signatures = _with_frame_twins(model, signatures, backbone)
    metadata = export_metadata(model)
    metadata.update(_backbone_metadata(backbone))
    metadata.update(
        beam_width=beam_width,
        max_length=max_length,
        length_normalization=float(length_normalization),
        signatures={name: s.description for name, s in signatures.items()},
    )
    text_files = {}
    if model.tokenizer is not None:
        text_files[VOCABULARY_FILE] = model.tokenizer.get_vocabulary()
    return write_export(
        model,
        signatures,
        metadata,
        export_dir,
        text_files=text_files,
        endpoint_adders=endpoint_adders,
    )
