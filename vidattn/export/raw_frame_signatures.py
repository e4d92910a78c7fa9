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


def add_raw_frame_endpoints(archive, answer_functions, backbone, frames=None):
    """Adds a `<name>_from_frames` twin of feature-taking signatures.

    Each twin takes `frames` uint8 `(batch, frames, height, width, 3)` (any
    height and width; RGB, channels-last, as decoded), and `frame_mask`
    bool `(batch, frames)` where its answer takes one, and returns what the
    answer function returns on the frames' feature cubes
    (`frame_features`). A frame tensor of another dtype is refused by the
    signature (TensorFlow: "expected to be a uint8 tensor"); one of another
    shape, e.g. without 3 channels, by an error that names the input
    (`vidattn.export.check_serving_inputs`).

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
    frames_spec = tf.TensorSpec(
        (None, frames, None, None, 3), tf.uint8, "frames"
    )
    mask_spec = tf.TensorSpec((None, frames), tf.bool, "frame_mask")

    # One function that every twin calls: the backbone is traced once, and
    # the SavedModel holds its graph once. Its variables are tracked
    # through the twins that use them: tracking the backbone's model would
    # also trace and save Keras's default signature of it.
    @tf.function(input_signature=[frames_spec])
    def features_of(video_frames):
        inputs = check_serving_inputs({"frames": video_frames}, [frames_spec])
        return frame_features(backbone, inputs["frames"])

    names = []
    for name, (answer, has_mask) in answer_functions.items():
        endpoint = f"{name}{FROM_FRAMES_SUFFIX}"
        if has_mask:
            archive.add_endpoint(
                endpoint,
                _masked_twin(answer, features_of),
                input_signature=[frames_spec, mask_spec],
            )
        else:
            archive.add_endpoint(
                endpoint,
                _twin(answer, features_of),
                input_signature=[frames_spec],
            )
        names.append(endpoint)
    return names


def raw_frame_endpoint_adder(backbone, names=None):
    """An endpoint adder that gives an export's signatures frame twins.

    For `vidattn.export.write_export`'s `endpoint_adders` (and so
    `export_action_model`, `export_video_captioner`, `export_model`):
    `adder(archive, model, signatures)` adds, for each chosen
    `vidattn.export.ServingSignature` that takes `features` (and
    `frame_mask`), its `<name>_from_frames` twin
    (`add_raw_frame_endpoints`). The twins take the frames count that
    the chosen signatures' features fix, if they all fix the same one.

    Args:
        backbone: the `vidattn.backbones.Backbone` the model's features
            came from.
        names: sequence of str, or `None` (default): every signature that
            takes features.

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
    if isinstance(names, str):
        raise ValueError(
            "Expected `names` to be a sequence of signature names or None. "
            f"Received the str names={names!r}: write [{names!r}]."
        )

    def add_endpoints(archive, model, signatures):
        chosen = _feature_signatures(signatures, names)
        frame_counts = {
            signature.input_signature[0].shape[1]
            for signature in chosen.values()
        }
        answer_functions = {
            name: (
                _keyword_answer(signature.function),
                len(signature.input_names) == 2,
            )
            for name, signature in chosen.items()
        }
        add_raw_frame_endpoints(
            archive,
            answer_functions,
            backbone,
            frames=frame_counts.pop() if len(frame_counts) == 1 else None,
        )

    return add_endpoints


def _feature_signatures(signatures, names):
    takes_features = {
        name: signature
        for name, signature in signatures.items()
        if signature.input_names in (("features",), ("features", "frame_mask"))
    }
    if names is None:
        return takes_features
    if any(name not in takes_features for name in names):
        raise ValueError(
            "Expected `names` among the export's signatures that take "
            f"features: {sorted(takes_features)}. Received: names={names!r}"
        )
    return {name: takes_features[name] for name in names}


def _keyword_answer(function):
    def answer(features, frame_mask=None):
        if frame_mask is None:
            return function(features=features)
        return function(features=features, frame_mask=frame_mask)

    return answer


# A signature's inputs take the names of its function's arguments.
def _twin(answer, features_of):
    def answer_frames(frames):
        return answer(features_of(frames))

    return answer_frames


def _masked_twin(answer, features_of):
    def answer_frames(frames, frame_mask):
        return answer(features_of(frames), frame_mask)

    return answer_frames


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
