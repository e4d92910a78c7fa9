"""Feature cubes divided by the mean norm of their locations.

Last-conv features of ImageNet backbones have location norms of tens (20 to
90 for EfficientNet-Lite0's 7x7x1280 cubes). At that size the attention's
tanh and the LSTM gates saturate from the first step, and the models learn
to look away from the objects (see BUILD_NOTES.md, "feature
normalization"). Dividing by the mean location norm brings a location's
vector near norm 1 and keeps how large one location is against the others.
"""

from keras import ops

FEATURE_NORMALIZATIONS = ("mean_norm", None)
"""The `feature_normalization` values the models take."""


def divide_by_mean_norm(features, frame_mask=None):
    """Divides each video's cubes by the mean L2 norm of their locations.

    The norms and the division are computed in float32 (a blank frame's
    tiny norm would overflow float16); the result has the features' dtype.

    Args:
        features: `(batch, frames, K, K, D)`.
        frame_mask: Optional boolean `(batch, frames)`; frames marked
            `False` (padding) do not count in the mean.

    Returns:
        The divided features, of the same shape and dtype.
    """
    return scale_features(features, mean_norm_scale(features, frame_mask))


def mean_norm_scale(features, frame_mask=None):
    """One over each video's mean location norm, in float32.

    What `divide_by_mean_norm` multiplies the video's cubes by, kept apart
    so that a stream can compute it once, at its start, and apply it to
    every frame that follows (`scale_features`).

    Args:
        features: `(batch, frames, K, K, D)`.
        frame_mask: Optional boolean `(batch, frames)`; frames marked
            `False` (padding) do not count in the mean.

    Returns:
        A float32 tensor of shape `(batch,)`.
    """
    features = ops.cast(features, "float32")
    norms = ops.sqrt(ops.sum(ops.square(features), axis=-1))
    batch_size, frames = ops.shape(norms)[0], ops.shape(norms)[1]
    frame_norms = ops.mean(ops.reshape(norms, (batch_size, frames, -1)), -1)
    if frame_mask is None:
        valid = ops.ones_like(frame_norms)
    else:
        valid = ops.cast(frame_mask, "float32")
    mean_norm = ops.sum(frame_norms * valid, axis=-1) / ops.maximum(
        ops.sum(valid, axis=-1), 1.0
    )
    return 1.0 / ops.maximum(mean_norm, 1e-6)


def scale_features(features, scale):
    """Multiplies each video's cubes by its scale, in float32.

    Args:
        features: `(batch, ...)` cubes of any rank: a clip's
            `(batch, frames, K, K, D)` or one frame's `(batch, K, K, D)`.
        scale: float32 `(batch,)`, e.g. from `mean_norm_scale`.

    Returns:
        The scaled features, of the same shape and dtype.
    """
    dtype = features.dtype
    features = ops.cast(features, "float32")
    scale = ops.reshape(scale, (-1,) + (1,) * (len(features.shape) - 1))
    return ops.cast(features * scale, dtype)
