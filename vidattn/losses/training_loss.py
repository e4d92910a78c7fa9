from keras import ops

from vidattn.utils.keras_internals import scale_loss_for_distribution


def training_loss(
    example_loss, sample_weight=None, weight_decay=0.0, model=None
):
    """A batch's loss from its per-example losses, as vidattn models train.

    The (sample-weighted) mean of the per-example losses, plus
    `weight_decay * sum(theta^2)` over the model's trainable weights and the
    model's added losses (`model.losses`), divided by the number of replicas
    under `tf.distribute` as Keras's own losses are before the gradients are
    summed over replicas.

    Args:
        example_loss: float32 tensor of shape `(batch,)`.
        sample_weight: Optional tensor of shape `(batch,)` or `(batch, 1)`.
        weight_decay: float. The weight decay gamma. Defaults to `0.0`.
        model: The `keras.Model` whose weights decay and whose added losses
            count; `None` for neither.

    Returns:
        A float32 scalar.
    """
    if sample_weight is not None:
        sample_weight = ops.cast(ops.reshape(sample_weight, (-1,)), "float32")
        loss = ops.sum(example_loss * sample_weight) / ops.maximum(
            ops.sum(sample_weight), 1e-8
        )
    else:
        loss = ops.mean(example_loss)
    if model is not None:
        if weight_decay > 0:
            loss = loss + weight_decay * ops.sum(
                [
                    ops.sum(ops.square(ops.cast(weight, "float32")))
                    for weight in model.trainable_weights
                ]
            )
        for extra_loss in model.losses:
            loss = loss + ops.cast(extra_loss, "float32")
    return scale_loss_for_distribution(loss)
