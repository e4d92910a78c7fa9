"""Serving signatures that take video frames: the backbone in the graph.

A client that has video but no feature cubes sends decoded uint8 RGB
frames; the served graph resizes and preprocesses them as
`vidattn.backbones.Backbone.extract` does, runs the backbone, and hands the
cubes to a signature function that takes features (the clip's
probabilities, a captioner's sentence, ...). The answers are those of the
feature-taking signature on `backbone.extract(frames)`.
"""

import tensorflow as tf
from keras import ops

from vidattn.backbones.backbone import Backbone
from vidattn.export.serving_input_checks import check_serving_inputs
from vidattn.export.serving_signature import ServingSignature
from vidattn.utils.arguments import check_positive_int

FROM_FRAMES_SUFFIX = "_from_frames"
"""What a feature-taking signature's name gets, to name its frames twin."""


def frame_features(backbone, frames):
    """Feature cubes of a batch of videos, computed as `Backbone.extract` does.

    The frames are resized to the backbone's input size and preprocessed
    with the backbone's own `preprocess`, one video at a time (so the
    network holds one video's frames at once, not the whole batch's).

    Args:
        backbone: a `vidattn.backbones.Backbone`.
        frames: uint8 (or float on the 0-255 scale) RGB
            `(batch, frames, height, width, 3)`.

    Returns:
        float32 `(batch, frames, K, K, channels)`: `backbone.extract` of
        each video's frames.

    Example:

    >>> import numpy as np, vidattn
    >>> from vidattn.export.raw_frame_signatures import frame_features
    >>> backbone = vidattn.backbones.EfficientNetLite0Backbone(
    ...     weights=None, input_size=64
    ... )
    >>> videos = np.zeros((2, 3, 48, 80, 3), "uint8")
    >>> tuple(frame_features(backbone, videos).shape)
    (2, 3, 2, 2, 1280)
    """

    def video_features(video):
        images = backbone.preprocess(
            backbone._resize(ops.cast(video, "float32"))
        )
        return ops.cast(backbone.model(images, training=False), "float32")

    return ops.map(video_features, frames)


def raw_frame_signatures(signatures, backbone, names=None):
    """The `<name>_from_frames` twins of signatures that take feature cubes.

    A twin takes what its signature takes, with the cubes replaced by the
    frames they come from: `features` `(batch, frames, K, K, channels)` by
    `frames` uint8 `(batch, frames, height, width, 3)`, and a stream step's
    `frame` `(batch, K, K, channels)` by `frame` uint8
    `(batch, height, width, 3)` (any height and width; RGB, channels-last,
    as decoded). Its outputs are the signature's on `frame_features`. All
    twins call one `tf.function` of the backbone, so an export traces and
    holds the backbone's graph once. A frame tensor of another dtype is
    refused by the signature (TensorFlow: "expected to be a uint8 tensor");
    one of another shape, e.g. without 3 channels, by an error that names
    the input (`vidattn.export.check_serving_inputs`).

    Args:
        signatures: dict of `vidattn.export.ServingSignature` by name.
        backbone: the `vidattn.backbones.Backbone` the model's features
            came from (same network, layer and input size).
        names: sequence of str, or `None` (default): every signature that
            takes `features` or a `frame`.

    Returns:
        A dict of `vidattn.export.ServingSignature` by twin name.

    Raises:
        ValueError: if `backbone` is not a `Backbone`, or `names` names a
            signature that takes no cubes.

    Example:

    ```python
    signatures = vidattn.export.action_signatures(model)
    twins = raw_frame_signatures(signatures, backbone, ["clip"])
    twins["clip_from_frames"].function(frames=uint8_videos)
    ```
    """
    _check_backbone(backbone)
    _check_names(names)
    chosen = _cube_signatures(signatures, names)
    videos_spec = tf.TensorSpec((None, None, None, None, 3), tf.uint8)

    # One function that every twin calls: the backbone is traced once, and
    # the SavedModel holds its graph once. Its variables are tracked
    # through the twins that use them: tracking the backbone's model would
    # also trace and save Keras's default signature of it.
    @tf.function(input_signature=[videos_spec])
    def features_of(videos):
        return frame_features(backbone, videos)

    twins = {}
    for name, signature in chosen.items():
        specs = tuple(_frames_spec(spec) for spec in signature.input_signature)
        twins[f"{name}{FROM_FRAMES_SUFFIX}"] = ServingSignature(
            _twin(signature.function, specs, features_of),
            specs,
            f"{signature.description} (from uint8 RGB frames through "
            f"{backbone.name})",
        )
    return twins


def add_raw_frame_endpoints(archive, answer_functions, backbone, frames=None):
    """Adds `<name>_from_frames` endpoints for answer functions of cubes.

    The functions' twins are those of `raw_frame_signatures`, for answer
    functions that are not `vidattn.export.ServingSignature`s yet.

    Args:
        archive: a `keras.export.ExportArchive`. The backbone's variables
            join it through the endpoints that read them; the answer
            functions' models are the caller's to track.
        answer_functions: dict. A signature name (e.g. `"clip"`) to
            `(function, has_mask)`: `function(features, frame_mask=None)`
            returns a dict of tensors from float32 cubes
            `(batch, frames, K, K, channels)` of the backbone's grid, and
            `has_mask` says whether the twin takes a `frame_mask`.
        backbone: the `vidattn.backbones.Backbone` the model's features
            came from (same network, layer and input size).
        frames: int or `None`. Frames per video; `None` (default) takes any
            number (a captioner with linear attention needs its own).

    Returns:
        The names of the endpoints added.

    Raises:
        ValueError: if the arguments are not of the forms above.

    Example:

    ```python
    archive = keras.export.ExportArchive()
    archive.track(model)

    def clip(features, frame_mask=None):
        outputs = model({"features": features, "frame_mask": frame_mask})
        return {"probabilities": outputs["probabilities"]}

    add_raw_frame_endpoints(archive, {"clip": (clip, True)}, backbone)
    archive.write_out("exports/ucf11/1")
    served = tf.saved_model.load("exports/ucf11/1")
    served.signatures["clip_from_frames"](frames=videos, frame_mask=mask)
    ```
    """
    _check_arguments(answer_functions, backbone, frames)
    features_spec = tf.TensorSpec(
        (None, frames) + tuple(backbone.feature_shape), tf.float32, "features"
    )
    mask_spec = tf.TensorSpec((None, frames), tf.bool, "frame_mask")
    signatures = {
        name: ServingSignature(
            answer,
            (features_spec, mask_spec) if has_mask else (features_spec,),
        )
        for name, (answer, has_mask) in answer_functions.items()
    }
    return _add_endpoints(archive, raw_frame_signatures(signatures, backbone))


def raw_frame_endpoint_adder(backbone, names=None):
    """An endpoint adder that gives an export's signatures frame twins.

    For `vidattn.export.write_export`'s `endpoint_adders`:
    `adder(archive, model, signatures)` adds the `raw_frame_signatures`
    twins of the chosen signatures. `export_action_model(...,
    backbone=...)` and `export_video_captioner(..., backbone=...)` add them
    without an adder.

    Args:
        backbone: the `vidattn.backbones.Backbone` the model's features
            came from.
        names: sequence of str, or `None` (default): every signature that
            takes `features` or a `frame`.

    Returns:
        The adder, a callable `(archive, model, signatures)`.

    Example:

    ```python
    backbone = vidattn.backbones.build_backbone("efficientnet_lite0")
    vidattn.export.export_action_model(
        model,
        "exports/ucf11/1",
        endpoint_adders=[raw_frame_endpoint_adder(backbone, ["clip"])],
    )
    served = tf.saved_model.load("exports/ucf11/1")
    served.signatures["clip_from_frames"](frames=uint8_videos)
    ```
    """
    _check_backbone(backbone)
    _check_names(names)

    def add_endpoints(archive, model, signatures):
        del model
        _add_endpoints(
            archive, raw_frame_signatures(signatures, backbone, names)
        )

    return add_endpoints


def _add_endpoints(archive, signatures):
    for name, signature in signatures.items():
        archive.add_endpoint(
            name,
            signature.function,
            input_signature=list(signature.input_signature),
        )
    return list(signatures)


def _takes_cubes(signature):
    return "features" in signature.input_names or (
        "frame" in signature.input_names
    )


def _cube_signatures(signatures, names):
    takes_cubes = {
        name: signature
        for name, signature in signatures.items()
        if _takes_cubes(signature)
    }
    if names is None:
        return takes_cubes
    if any(name not in takes_cubes for name in names):
        raise ValueError(
            "Expected `names` among the export's signatures that take "
            f"feature cubes: {sorted(takes_cubes)}. Received: names={names!r}"
        )
    return {name: takes_cubes[name] for name in names}


def _frames_spec(spec):
    """The uint8 frames spec that stands in for a cubes spec."""
    if spec.name == "features":
        return tf.TensorSpec(
            (None, spec.shape[1], None, None, 3), tf.uint8, "frames"
        )
    if spec.name == "frame":
        return tf.TensorSpec((None, None, None, 3), tf.uint8, "frame")
    return spec


# A signature's inputs take the names of their specs: the twin takes them
# positionally, in the specs' order.
def _twin(function, specs, features_of):
    names = [spec.name for spec in specs]

    def answer_frames(*tensors):
        inputs = check_serving_inputs(dict(zip(names, tensors)), specs)
        if "frames" in inputs:
            inputs["features"] = features_of(inputs.pop("frames"))
        if "frame" in inputs:
            inputs["frame"] = features_of(inputs["frame"][:, None])[:, 0]
        return function(**inputs)

    return answer_frames


def _check_names(names):
    if isinstance(names, str):
        raise ValueError(
            "Expected `names` to be a sequence of signature names or None. "
            f"Received the str names={names!r}: write [{names!r}]."
        )


def _check_backbone(backbone):
    if not isinstance(backbone, Backbone):
        raise ValueError(
            "Expected `backbone` to be a vidattn.backbones.Backbone, e.g. "
            "vidattn.backbones.build_backbone('efficientnet_lite0'). "
            f"Received: backbone={backbone!r}"
        )


def _check_arguments(answer_functions, backbone, frames):
    _check_backbone(backbone)
    if frames is not None:
        check_positive_int("frames", frames)
    if not isinstance(answer_functions, dict) or not answer_functions:
        raise ValueError(
            "Expected `answer_functions` to be a non-empty dict of signature "
            "names to (function, has_mask). Received: "
            f"answer_functions={answer_functions!r}"
        )
    for name, entry in answer_functions.items():
        if (
            not isinstance(name, str)
            or not isinstance(entry, tuple)
            or len(entry) != 2
            or not callable(entry[0])
            or not isinstance(entry[1], bool)
        ):
            raise ValueError(
                "Expected `answer_functions` to map signature names (str) "
                "to (function, has_mask) pairs, a callable and a bool. "
                f"Received: {name!r}: {entry!r}"
            )
