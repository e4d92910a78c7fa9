import keras
from keras import ops

from vidattn.utils.arguments import check_positive_int
from vidattn.utils.arguments import check_positive_int_tuple


@keras.saving.register_keras_serializable(package="vidattn")
class LSTMStateInitializer(keras.layers.Layer):
    """Initial LSTM states from the mean feature of a video (thesis eq. 2.6).

    `c0 = f_c(mean)` and `h0 = f_h(mean)`, where `mean` is the feature slice
    averaged over the valid frames and all locations, and `f_c`, `f_h` are two
    multilayer perceptrons with tanh activations. Each of them outputs the
    state of every layer of a stacked LSTM at once. With the default
    `hidden_units=()` each is one tanh affine layer, as in the thesis's
    released code.

    Args:
        units: int. Width of each LSTM layer's state.
        num_layers: int. Number of stacked LSTM layers. Defaults to `1`.
        hidden_units: tuple of int. Widths of the MLPs' hidden tanh layers.
            Defaults to `()`.
        kernel_initializer: Initializer of the MLPs' kernels. Defaults to
            `"glorot_uniform"`.
        **kwargs: Base layer arguments, such as `name` and `dtype`.

    Call arguments:
        features: Tensor of shape `(batch, frames, locations, channels)`.
        mask: Optional boolean tensor of shape `(batch, frames)`; `False`
            marks padded frames, which the mean leaves out.

    Returns:
        A list of `2 * num_layers` tensors of shape `(batch, units)`,
        `[h0_1, c0_1, h0_2, c0_2, ...]`, bottom layer first: the layout of
        `vidattn.layers.SoftAttentionLSTMCell`'s states.

    Raises:
        ValueError: if an argument is out of range or the features are not of
            rank 4.

    Example:

    >>> import numpy as np, vidattn
    >>> features = np.random.rand(2, 5, 49, 64).astype("float32")
    >>> states = vidattn.layers.LSTMStateInitializer(16, num_layers=2)(features)
    >>> len(states), states[0].shape
    (4, TensorShape([2, 16]))
    """

    def __init__(
        self,
        units,
        num_layers=1,
        hidden_units=(),
        kernel_initializer="glorot_uniform",
        **kwargs,
    ):
        super().__init__(**kwargs)
        units = check_positive_int("units", units)
        num_layers = check_positive_int("num_layers", num_layers)
        hidden_units = check_positive_int_tuple("hidden_units", hidden_units)
        self.units = units
        self.num_layers = num_layers
        self.hidden_units = hidden_units
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.supports_masking = True

        def mlp(prefix):
            widths = list(hidden_units) + [num_layers * units]
            return [
                keras.layers.Dense(
                    width,
                    activation="tanh",
                    kernel_initializer=self.kernel_initializer,
                    dtype=self.dtype_policy,
                    name=f"{prefix}_{index}",
                )
                for index, width in enumerate(widths)
            ]

        self.hidden_mlp = mlp("hidden_state_dense")
        self.cell_mlp = mlp("cell_state_dense")

    def build(self, features_shape, mask_shape=None):
        if len(features_shape) != 4:
            raise ValueError(
                "Expected features of shape (batch, frames, locations, "
                f"channels). Received: shape={tuple(features_shape)}"
            )
        for stack in (self.hidden_mlp, self.cell_mlp):
            width = features_shape[-1]
            for dense in stack:
                dense.build((features_shape[0], width))
                width = dense.units
        self.built = True

    def mean_feature(self, features, mask=None):
        """The feature averaged over valid frames and all locations, float32."""
        features = ops.cast(features, "float32")
        per_frame = ops.mean(features, axis=2)
        if mask is None:
            return ops.mean(per_frame, axis=1)
        weights = ops.expand_dims(ops.cast(mask, "float32"), -1)
        total = ops.sum(per_frame * weights, axis=1)
        count = ops.maximum(ops.sum(weights, axis=1), 1.0)
        return total / count

    def call(self, features, mask=None):
        mean = ops.cast(self.mean_feature(features, mask), self.compute_dtype)
        hidden, cell = mean, mean
        for dense in self.hidden_mlp:
            hidden = dense(hidden)
        for dense in self.cell_mlp:
            cell = dense(cell)
        hidden_states = ops.split(hidden, self.num_layers, axis=-1)
        cell_states = ops.split(cell, self.num_layers, axis=-1)
        states = []
        for hidden_state, cell_state in zip(hidden_states, cell_states):
            states.extend([hidden_state, cell_state])
        return states

    def compute_mask(self, features, mask=None):
        return None

    def compute_output_shape(self, features_shape, mask_shape=None):
        return [(features_shape[0], self.units)] * (2 * self.num_layers)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "units": self.units,
                "num_layers": self.num_layers,
                "hidden_units": list(self.hidden_units),
                "kernel_initializer": keras.initializers.serialize(
                    self.kernel_initializer
                ),
            }
        )
        return config
