"""The serving signatures of an action model: clips and whole videos."""

import tensorflow as tf

from vidattn.export.serving_input_checks import check_serving_inputs
from vidattn.export.serving_signature import ServingSignature
from vidattn.export.video_windows import cut_video_windows
from vidattn.metrics.video_aggregation import AGGREGATIONS
from vidattn.utils.arguments import check_one_of
from vidattn.utils.arguments import check_positive_int
from vidattn.utils.arguments import check_positive_number

CLIP_OUTPUTS = ("probabilities", "step_probabilities", "attention")


def window_settings(model, window_length=None, fps=None):
    """The windows a served model's `video` signature cuts, from its metadata.

    Args:
        model: a `vidattn.models.VideoClassifier`.
        window_length: int or `None`: the model's training window
            (`feature_metadata["window"]`), else 30 (the thesis's).
        fps: float or `None`: the model's training frame rate
            (`feature_metadata["fps"]`), else the stored frames' rate.

    Returns:
        `(window_length, frame_skip)`: `frame_skip = stored_fps / fps`
        stored frames between a window's frames (1 when either rate is
        unknown).

    Raises:
        ValueError: if `fps` does not divide the stored frame rate into a
            whole number, or an argument is out of range.
    """
    metadata = model.feature_metadata or {}
    if window_length is None:
        window_length = metadata.get("window") or 30
    window_length = check_positive_int("window_length", window_length)
    if fps is None:
        fps = metadata.get("fps")
    stored_fps = metadata.get("stored_fps")
    if fps is None or stored_fps is None:
        return window_length, 1
    fps = check_positive_number("fps", fps)
    skip = round(stored_fps / fps)
    if skip < 1 or abs(stored_fps / fps - skip) > 1e-6 * stored_fps / fps:
        raise ValueError(
            "Expected `fps` to divide the model's stored frame rate into a "
            f"whole number of frames. Received: fps={fps} with stored_fps="
            f"{stored_fps} (skip {stored_fps / fps:.4g}). Choose an fps such "
            f"as {stored_fps / max(skip, 1):g}."
        )
    return window_length, skip


def _top_k(probabilities, class_names, k):
    scores, indices = tf.math.top_k(probabilities, k=k)
    return {
        "top_k_class_names": tf.gather(tf.constant(class_names), indices),
        "top_k_scores": scores,
    }


def action_signatures(
    model,
    *,
    frames=None,
    top_k=5,
    window_length=None,
    fps=None,
    stride=1,
    aggregation="mean",
    window_batch_size=32,
):
    """The signatures that serve an action model, ready to trace or wrap.

    - `clip`: `features` float32 `(batch, frames, K, K, D)` →
      `probabilities` `(batch, classes)` (the mean of the per-step
      probabilities), `top_k_class_names` string and `top_k_scores`
      float32 `(batch, k)`, `step_probabilities` `(batch, frames,
      classes)` and, for attention models, `attention` `(batch, frames, K,
      K)`: what `model.predict` returns for the clip.
    - `clip_with_mask`: the same, plus `frame_mask` bool `(batch, frames)`
      (False for padded frames).
    - `video`: the frames of whole videos (`(batch, frames, K, K, D)`, all
      of the same length; one video is a batch of 1) → the thesis's test
      protocol (section 2.2.2), as `vidattn.evaluation.predict_videos`
      runs it: every window of each video (`window_length` frames
      `frame_skip` apart, starts `stride` apart, a short video's last
      frame repeated), each window's mean per-step probabilities, their
      mean (or vote) over the video → `probabilities` `(batch, classes)`,
      the top k, and `num_windows` int32 `(batch,)`.
    - `video_with_mask`: the same for videos of different lengths in one
      padded batch: `frame_mask` True on each video's frames, False on the
      padding after them.

    Class names are the model's, or the class indices as text when it has
    none. Each function checks the sizes its specs fix (K, K, D) and that
    the mask fits the features, failing with a message that names the input
    (`vidattn.export.check_serving_inputs`).

    Args:
        model: a built `vidattn.models.VideoClassifier`.
        frames: int or `None`. Frames per clip; `None` (default) takes any.
        top_k: int. Classes in the top-k outputs (at most the model's).
            Defaults to `5`.
        window_length: int or `None`. See `window_settings`.
        fps: float or `None`. See `window_settings`.
        stride: int. Stored frames between window starts. Defaults to `1`
            (the thesis's).
        aggregation: `"mean"` (default, the thesis's) or `"vote"`.
        window_batch_size: int. Windows the `video` signatures run through
            the model at a time, which bounds their memory. Defaults to
            `32`.

    Returns:
        A dict of `vidattn.export.ServingSignature` by name: `"clip"`,
        `"clip_with_mask"`, `"video"`, `"video_with_mask"`.

    Raises:
        ValueError: if an argument is out of range.

    Example:

    ```python
    signatures = vidattn.export.action_signatures(model, top_k=3)
    outputs = signatures["clip"].function(features=cubes)
    outputs["top_k_class_names"]  # (batch, 3) strings
    ```
    """
    frames = check_positive_int("frames", frames, allow_none=True)
    top_k = min(check_positive_int("top_k", top_k), model.num_classes)
    stride = check_positive_int("stride", stride)
    check_one_of("aggregation", aggregation, AGGREGATIONS)
    window_batch_size = check_positive_int(
        "window_batch_size", window_batch_size
    )
    window_length, skip = window_settings(model, window_length, fps)
    class_names = list(
        model.class_names or [str(index) for index in range(model.num_classes)]
    )
    grid_size, _, channels = model.input_spec_shape()

    def features_spec(length):
        return tf.TensorSpec(
            (None, length, grid_size, grid_size, channels),
            tf.float32,
            "features",
        )

    def mask_spec(length):
        return tf.TensorSpec((None, length), tf.bool, "frame_mask")

    clip_specs = (features_spec(frames), mask_spec(frames))
    video_specs = (features_spec(None), mask_spec(None))

    def clip(features, frame_mask=None):
        inputs = check_serving_inputs(_named(features, frame_mask), clip_specs)
        outputs = model(inputs, training=False)
        served = {k: outputs[k] for k in CLIP_OUTPUTS if k in outputs}
        served.update(_top_k(outputs["probabilities"], class_names, top_k))
        return served

    def predict_windows(windows):
        return model(windows, training=False)["probabilities"]

    def video(features, frame_mask=None):
        inputs = check_serving_inputs(_named(features, frame_mask), video_specs)
        features = inputs["features"]
        if frame_mask is None:
            shape = tf.shape(features)
            frame_mask = tf.ones(shape[:2], tf.bool)
        else:
            frame_mask = inputs["frame_mask"]
        windows, video_index = cut_video_windows(
            features, frame_mask, window_length, skip, stride
        )
        probabilities = _in_batches(predict_windows, windows, window_batch_size)
        if aggregation == "vote":
            probabilities = tf.one_hot(
                tf.argmax(probabilities, axis=-1), model.num_classes
            )
        num_videos = tf.shape(features)[0]
        video_probabilities = tf.math.unsorted_segment_mean(
            probabilities, video_index, num_videos
        )
        served = {
            "probabilities": tf.ensure_shape(
                video_probabilities, [None, model.num_classes]
            ),
            "num_windows": tf.math.bincount(
                video_index, minlength=num_videos, dtype=tf.int32
            ),
        }
        served.update(_top_k(served["probabilities"], class_names, top_k))
        return served

    protocol = (
        f"{window_length}-frame windows {skip} stored frame(s) apart, "
        f"starts {stride} apart, {aggregation} over the windows"
    )
    return {
        "clip": ServingSignature(
            lambda features: clip(features),
            clip_specs[:1],
            "one clip's feature cubes -> its class probabilities",
        ),
        "clip_with_mask": ServingSignature(
            clip, clip_specs, "padded clips -> their class probabilities"
        ),
        "video": ServingSignature(
            lambda features: video(features),
            video_specs[:1],
            f"whole videos of one length -> their prediction ({protocol})",
        ),
        "video_with_mask": ServingSignature(
            video,
            video_specs,
            f"whole videos, padded -> their prediction ({protocol})",
        ),
    }


def _named(features, frame_mask):
    inputs = {"features": features}
    if frame_mask is not None:
        inputs["frame_mask"] = frame_mask
    return inputs


def _in_batches(predict, windows, batch_size):
    """`predict` over the windows, `batch_size` at a time, in order."""
    count = tf.shape(windows)[0]
    batches = (count + batch_size - 1) // batch_size
    # The last batch is filled with copies of the first window, then cut.
    filler = tf.repeat(windows[:1], batches * batch_size - count, axis=0)
    padded = tf.concat([windows, filler], axis=0)
    padded = tf.reshape(
        padded,
        tf.concat([[batches, batch_size], tf.shape(windows)[1:]], axis=0),
    )
    predictions = tf.map_fn(
        predict, padded, fn_output_signature=tf.float32, parallel_iterations=1
    )
    return tf.reshape(predictions, [batches * batch_size, -1])[:count]
