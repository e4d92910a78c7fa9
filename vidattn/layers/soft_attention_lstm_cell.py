import keras
from keras import ops

from vidattn.utils.arguments import check_fraction
from vidattn.utils.arguments import check_one_of
from vidattn.utils.arguments import check_positive_int
from vidattn.utils.keras_internals import DropoutRNNCell

ATTENTION_FORMS = ("linear", "additive")


@keras.saving.register_keras_serializable(package="vidattn")
class SoftAttentionLSTMCell(keras.layers.Layer, DropoutRNNCell):
    """A stack of LSTM layers that attends over the locations of each frame.

    At step `t` the top layer's previous hidden state `h(t-1)` produces a
    softmax `l_t` over the `K*K` locations of the frame's feature cube
    (thesis eq. 2.4). The expectation of the frame's feature slices under it,
    `x_t = sum_i l_t,i X_t,i` (eq. 2.5), is the bottom LSTM layer's input;
    layer `k > 1` takes layer `k - 1`'s `h(t)` (eqs. 2.1-2.3). All layers live
    in one cell because the attention of the bottom layer at step `t` depends
    on the top layer's state at step `t - 1`.

    Two forms of the location softmax are offered:

    - `"linear"` (the thesis, eq. 2.4): `l_t = softmax(W h(t-1))`.
    - `"additive"` (Show, Attend and Tell; the thesis's released code):
      `l_t = softmax(v . tanh(X_t W_x + h(t-1) W_h + b))`, which also sees the
      current frame.

    Each layer's gates are one affine map of `[input, h(t-1)]`, laid out
    `(i, f, g, o)` as in `keras.layers.LSTMCell`.

    The cell is a standard Keras RNN cell: `call()` returns the top layer's
    `h(t)` and the new states, so `keras.layers.RNN` can drive it. The
    attention weights of each step come from `step()`, which
    `vidattn.layers.SoftAttentionLSTM` drives over a sequence to return them
    as a float32 output beside the hidden states; use that layer rather than
    `keras.layers.RNN` to see where the model looks. Attention logits and
    the softmax are computed in float32 under mixed precision.

    Args:
        units: int. Width of every LSTM layer's hidden and cell state.
        num_layers: int. Number of stacked LSTM layers. Defaults to `1`.
        attention: str. `"linear"` (default) or `"additive"`.
        attention_units: int or `None`. Hidden width of the additive
            attention's tanh layer; defaults to `units`. Ignored for
            `"linear"`.
        dropout: float in `[0, 1)`. Dropout on the non-recurrent connections:
            the attended input of the bottom layer and each layer's input from
            the layer below. The mask is fixed over the steps of a sequence.
            Defaults to `0.0`.
        unit_forget_bias: bool. Add 1 to the forget gates' bias at
            initialization. Defaults to `True`.
        kernel_initializer: Initializer of the gate kernels. Defaults to
            `"glorot_uniform"`.
        attention_initializer: Initializer of the attention weights. Defaults
            to `"glorot_uniform"`.
        bias_initializer: Initializer of the gate biases. Defaults to
            `"zeros"`.
        seed: int or `None`. Seed of the dropout masks.
        **kwargs: Base layer arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: The feature slices of one frame, of shape
            `(batch, locations, channels)`.
        states: A list of `2 * num_layers` tensors of shape `(batch, units)`:
            `[h_1, c_1, h_2, c_2, ...]`, bottom layer first.
        training: Python bool. Whether dropout is active.

    Returns:
        A tuple `(hidden, new_states)`: the top layer's `h(t)`, of shape
        `(batch, units)`, and the states after this step.

    Raises:
        ValueError: if an argument is out of range, or the step input is not
            of shape `(batch, locations, channels)`.

    Example:

    >>> import numpy as np, keras, vidattn
    >>> features = np.random.rand(2, 5, 49, 64).astype("float32")
    >>> cell = vidattn.layers.SoftAttentionLSTMCell(16, num_layers=3)
    >>> keras.layers.RNN(cell, return_sequences=True)(features).shape
    TensorShape([2, 5, 16])
    >>> states = cell.get_initial_state(2)
    >>> hidden, attention, states = cell.step(features[:, 0], states)
    >>> attention.shape, attention.dtype
    (TensorShape([2, 49]), tf.float32)

    Reference:
        S. Sharma, "Action Recognition and Video Description using Visual
        Attention", MSc thesis, University of Toronto, 2016, chapter 2.
    """

    def __init__(
        self,
        units,
        num_layers=1,
        attention="linear",
        attention_units=None,
        dropout=0.0,
        unit_forget_bias=True,
        kernel_initializer="glorot_uniform",
        attention_initializer="glorot_uniform",
        bias_initializer="zeros",
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = check_positive_int("units", units)
        self.num_layers = check_positive_int("num_layers", num_layers)
        self.attention = check_one_of("attention", attention, ATTENTION_FORMS)
        self.attention_units = check_positive_int(
            "attention_units", attention_units, allow_none=True
        )
        self.dropout = check_fraction("dropout", dropout)
        self.unit_forget_bias = unit_forget_bias
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.attention_initializer = keras.initializers.get(
            attention_initializer
        )
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.state_size = [units] * (2 * num_layers)
        self.output_size = units
        self.num_locations = None
        self.channels = None

    def build(self, input_shape):
        if (
            len(input_shape) != 3
            or input_shape[1] is None
            or (input_shape[2] is None)
        ):
            raise ValueError(
                "Expected each step's input of shape (batch, locations, "
                "channels) with known locations and channels, i.e. features "
                "of shape (batch, frames, locations, channels) for the "
                "sequence. Received step input of shape "
                f"{tuple(input_shape)}"
            )
        self.num_locations = int(input_shape[1])
        self.channels = int(input_shape[2])

        if self.attention == "linear":
            self.attention_kernel = self.add_weight(
                name="attention_kernel",
                shape=(self.units, self.num_locations),
                initializer=self.attention_initializer,
                autocast=False,
            )
        else:
            attention_units = self.attention_units or self.units
            self.attention_feature_kernel = self.add_weight(
                name="attention_feature_kernel",
                shape=(self.channels, attention_units),
                initializer=self.attention_initializer,
            )
            self.attention_state_kernel = self.add_weight(
                name="attention_state_kernel",
                shape=(self.units, attention_units),
                initializer=self.attention_initializer,
            )
            self.attention_bias = self.add_weight(
                name="attention_bias",
                shape=(attention_units,),
                initializer="zeros",
            )
            self.attention_score_kernel = self.add_weight(
                name="attention_score_kernel",
                shape=(attention_units, 1),
                initializer=self.attention_initializer,
                autocast=False,
            )

        self.kernels = []
        self.biases = []
        for layer_index in range(self.num_layers):
            input_dim = self.channels if layer_index == 0 else self.units
            self.kernels.append(
                self.add_weight(
                    name=f"kernel_{layer_index}",
                    shape=(input_dim + self.units, 4 * self.units),
                    initializer=self.kernel_initializer,
                )
            )
            self.biases.append(
                self.add_weight(
                    name=f"bias_{layer_index}",
                    shape=(4 * self.units,),
                    initializer=self._gate_bias_initializer,
                )
            )
        self.built = True

    def _gate_bias_initializer(self, shape, dtype=None):
        bias = self.bias_initializer(shape, dtype=dtype)
        if not self.unit_forget_bias:
            return bias
        units = self.units
        forget = ops.ones((units,), dtype=dtype)
        return ops.concatenate(
            [bias[:units], bias[units : 2 * units] + forget, bias[2 * units :]]
        )

    def location_logits(self, frame_features, top_hidden):
        """Float32 logits of the location softmax (eq. 2.4), `(batch, K*K)`."""
        if self.attention == "linear":
            return ops.matmul(
                ops.cast(top_hidden, "float32"), self.attention_kernel
            )
        projected = ops.tanh(
            ops.einsum(
                "bld,da->bla", frame_features, self.attention_feature_kernel
            )
            + ops.expand_dims(
                ops.matmul(top_hidden, self.attention_state_kernel), 1
            )
            + self.attention_bias
        )
        scores = ops.matmul(
            ops.cast(projected, "float32"), self.attention_score_kernel
        )
        return ops.squeeze(scores, -1)

    def dropout_masks(self, batch_size):
        """Draws the dropout masks of one sequence, or `None` without dropout.

        One mask per non-recurrent connection, to be kept over the steps of
        the sequence: the attended input (`channels` wide) and each upper
        layer's input (`units` wide).

        Args:
            batch_size: int or scalar tensor.

        Returns:
            A list of `num_layers` tensors in the compute dtype, or `None`
            when `dropout` is 0.
        """
        if self.dropout == 0:
            return None
        widths = [self.channels] + [self.units] * (self.num_layers - 1)
        return [
            keras.random.dropout(
                ops.ones((batch_size, width), dtype=self.compute_dtype),
                rate=self.dropout,
                seed=self.seed_generator,
            )
            for width in widths
        ]

    def get_dropout_mask(self, step_input):
        # `keras.layers.RNN` resets the cached masks before every sequence
        # (`DropoutRNNCell.reset_dropout_mask`).
        if getattr(self, "_dropout_mask", None) is None:
            self._dropout_mask = self.dropout_masks(ops.shape(step_input)[0])
        return self._dropout_mask

    def get_recurrent_dropout_mask(self, step_input):
        return None

    def step(self, inputs, states, dropout_masks=None):
        """One step of the attention LSTM stack, attention included.

        Args:
            inputs: The feature slices of one frame, of shape
                `(batch, locations, channels)`.
            states: A list of `2 * num_layers` tensors of shape
                `(batch, units)`: `[h_1, c_1, h_2, c_2, ...]`.
            dropout_masks: What `dropout_masks()` returned for this sequence
                (training), or `None` (no dropout).

        Returns:
            A tuple `(hidden, attention_weights, new_states)`: the top layer's
            `h(t)` `(batch, units)` in the compute dtype, the float32
            location softmax `l_t` `(batch, locations)` that this step used,
            and the new states.
        """
        top_hidden = states[2 * (self.num_layers - 1)]
        attention_weights = ops.softmax(
            self.location_logits(inputs, top_hidden), axis=-1
        )
        layer_input = ops.einsum(
            "bl,bld->bd", ops.cast(attention_weights, inputs.dtype), inputs
        )
        new_states = []
        for layer_index in range(self.num_layers):
            hidden = states[2 * layer_index]
            cell_state = states[2 * layer_index + 1]
            if dropout_masks is not None:
                layer_input = layer_input * dropout_masks[layer_index]
            gates = (
                ops.matmul(
                    ops.concatenate([layer_input, hidden], axis=-1),
                    self.kernels[layer_index],
                )
                + self.biases[layer_index]
            )
            input_gate, forget_gate, candidate, output_gate = ops.split(
                gates, 4, axis=-1
            )
            cell_state = ops.sigmoid(forget_gate) * cell_state + ops.sigmoid(
                input_gate
            ) * ops.tanh(candidate)
            hidden = ops.sigmoid(output_gate) * ops.tanh(cell_state)
            new_states.extend([hidden, cell_state])
            layer_input = hidden
        return hidden, attention_weights, new_states

    def call(self, inputs, states, training=False):
        dropout_masks = self.get_dropout_mask(inputs) if training else None
        hidden, _, new_states = self.step(inputs, states, dropout_masks)
        return hidden, new_states

    def get_initial_state(self, batch_size=None):
        return [
            ops.zeros((batch_size, self.units), dtype=self.compute_dtype)
            for _ in range(2 * self.num_layers)
        ]

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "units": self.units,
                "num_layers": self.num_layers,
                "attention": self.attention,
                "attention_units": self.attention_units,
                "dropout": self.dropout,
                "unit_forget_bias": self.unit_forget_bias,
                "kernel_initializer": keras.initializers.serialize(
                    self.kernel_initializer
                ),
                "attention_initializer": keras.initializers.serialize(
                    self.attention_initializer
                ),
                "bias_initializer": keras.initializers.serialize(
                    self.bias_initializer
                ),
                "seed": self.seed,
            }
        )
        return config
