from keras import ops


def doubly_stochastic_penalty(
    attention_weights, mask=None, target=1.0, location_mask=None
):
    """The doubly stochastic attention penalty of Xu et al. (2015).

    `sum_i (target - sum_t l_t,i)^2` for each example (thesis eqs. 2.7 and
    3.6): it pushes the attention summed over time towards `target` at every
    location, so that the model looks at each location at some point.

    With `T` steps and `L` locations the attention summed over time and
    locations is `T`, so the penalty's minimum is `L * (target - T / L)^2`,
    reached by attending uniformly over time. The thesis's `target = 1` is
    attainable for action recognition (30 steps, 49 locations); a captioner
    with ~10 words over `N * K * K = 1274` locations cannot come close to it
    and should use `target = T / L` instead (`target="uniform"`).

    Args:
        attention_weights: Tensor of shape `(batch, steps, locations)` or
            `(batch, steps, K, K)`; each step sums to 1 over the locations.
        mask: Optional boolean tensor of shape `(batch, steps)`. Masked steps
            add nothing to the sum over time.
        target: float, or `"uniform"` for the attention summed over the
            valid steps and locations (the number of valid steps) divided by
            the number of valid locations. Defaults to `1.0`.
        location_mask: Optional boolean tensor of shape `(batch, locations)`
            (or `(batch, ...)` that flattens to it). Masked locations (e.g.
            those of a captioner's padded frames) are left out of the sum
            over locations and of the uniform target's count.

    Returns:
        A float32 tensor of shape `(batch,)`.

    Example:

    >>> import numpy as np
    >>> from vidattn.losses import doubly_stochastic_penalty
    >>> weights = np.full((1, 4, 4), 0.25, "float32")
    >>> float(doubly_stochastic_penalty(weights)[0])
    0.0
    """
    attention_weights = ops.cast(attention_weights, "float32")
    batch_size, steps = ops.shape(attention_weights)[:2]
    attention_weights = ops.reshape(attention_weights, (batch_size, steps, -1))
    if mask is not None:
        attention_weights = attention_weights * ops.expand_dims(
            ops.cast(mask, "float32"), -1
        )
    coverage = ops.sum(attention_weights, axis=1)
    if location_mask is None:
        valid = None
        num_locations = ops.cast(ops.shape(coverage)[-1], "float32")
    else:
        valid = ops.cast(
            ops.reshape(location_mask, (batch_size, -1)), "float32"
        )
        num_locations = ops.maximum(ops.sum(valid, axis=-1, keepdims=True), 1.0)
    if isinstance(target, str):
        if target != "uniform":
            raise ValueError(
                'Expected `target` to be a float or "uniform". '
                f"Received: target={target!r}"
            )
        target = ops.sum(coverage, axis=-1, keepdims=True) / num_locations
    squared = ops.square(target - coverage)
    if valid is not None:
        squared = squared * valid
    return ops.sum(squared, axis=-1)
