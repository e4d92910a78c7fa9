from keras import ops


def doubly_stochastic_penalty(attention_weights, mask=None, target=1.0):
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
        target: float, or `"uniform"` for the number of valid steps divided
            by the number of locations. Defaults to `1.0`.

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
    if isinstance(target, str):
        if target != "uniform":
            raise ValueError(
                'Expected `target` to be a float or "uniform". '
                f"Received: target={target!r}"
            )
        target = ops.sum(coverage, axis=-1, keepdims=True) / ops.cast(
            ops.shape(coverage)[-1], "float32"
        )
    return ops.sum(ops.square(target - coverage), axis=-1)
