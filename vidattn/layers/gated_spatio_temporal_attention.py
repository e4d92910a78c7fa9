import keras
from keras import ops

from vidattn.utils.arguments import check_one_of
from vidattn.utils.arguments import check_positive_int
from vidattn.utils.arguments import check_positive_int_tuple
from vidattn.utils.feature_shapes import check_feature_cube_shape
from vidattn.utils.tensor_checks import assert_all

ATTENTION_FORMS = ("linear", "additive", "uniform")

# The logit of a padded frame's location: its softmax weight underflows to
# exactly 0 in float32 beside any real logit.
MASKED_LOGIT = -1e9


@keras.saving.register_keras_serializable(package="vidattn")
class GatedSpatioTemporalAttention(keras.layers.Layer):
    """Gated soft attention over all space-time locations of a video.

    The attention of the thesis's video description decoder (chapter 3). A
    query `h(t-1)` (the decoder's previous hidden state) makes a softmax
    `l_t` over all `N*K*K` locations of the video's `N` feature cubes of
    `K x K` slices (eq. 3.2); the expected feature under it is scaled by the
    gating scalar `beta_t = sigmoid(f_beta(h(t-1)))` (eqs. 3.3 and 3.5):

        x_t = beta_t * sum_i l_t,i X_i

    where `f_beta` is an MLP with `gate_hidden_units` tanh hidden layers and
    one output unit. Three forms of the location softmax are offered:

    - `"linear"` (the thesis): `l_t = softmax(W h(t-1))`, `W` of shape
      `(d, N*K*K)`, so the number of frames must be known when the layer is
      built.
    - `"additive"` (Show, Attend and Tell):
      `l_t = softmax(v . tanh(X W_x + h(t-1) W_h + b))`.
    - `"uniform"`: the same weight on every valid location, i.e. average
      pooling over the feature cubes (the thesis's STA-avg-pool baseline).
      It has no gate (`beta_t = 1`): the baseline "pays equal attention to
      all the feature locations", and a gate would give it a learnt
      per-word input scale that the attention model is being compared on.

    A decoder attends once per word over the same video, so the work that
    depends on the video only (flattening the locations, the additive
    form's `X W_x`, the location mask) is done once by `prepare()`, and each
    word's attention by `attend()`; `call()` does both for one query.

    Locations of padded frames (`frame_mask` False) get exactly zero weight.
    Logits, softmax and gate are float32 under mixed precision.

    Args:
        attention: str. `"linear"` (default), `"additive"` or `"uniform"`.
        attention_units: int or `None`. Width of the additive form's tanh
            layer; defaults to the query's width. Ignored by the others.
        gate_hidden_units: tuple of int. Widths of the gate MLP's hidden
            tanh layers. Defaults to `()`: one affine layer.
        attention_initializer: Initializer of the attention weights. Defaults
            to `"glorot_uniform"`.
        kernel_initializer: Initializer of the gate MLP's kernels. Defaults
            to `"glorot_uniform"`.
        **kwargs: Base layer arguments, such as `name` and `dtype`.

    Call arguments:
        features: Feature cubes of shape `(batch, N, K, K, D)`.
        hidden: The query `h(t-1)`, of shape `(batch, d)`.
        frame_mask: Optional boolean tensor `(batch, N)`; `False` marks
            padded frames. Every video needs at least one valid frame.

    Returns:
        A tuple `(expected_feature, attention_weights, beta)`: `x_t` of shape
        `(batch, D)` in the compute dtype, the float32 location softmax
        `(batch, N, K, K)`, and the float32 gate `(batch,)`.

    Raises:
        ValueError: if an argument is out of range, the features are not of
            shape `(batch, N, K, K, D)` (or `N` is unknown with
            `"linear"`), or a video has no valid frame.

    Example:

    >>> import numpy as np, vidattn
    >>> features = np.random.rand(2, 3, 4, 4, 8).astype("float32")
    >>> hidden = np.random.rand(2, 16).astype("float32")
    >>> layer = vidattn.layers.GatedSpatioTemporalAttention("additive")
    >>> feature, weights, beta = layer(features, hidden)
    >>> feature.shape, weights.shape, beta.shape
    (TensorShape([2, 8]), TensorShape([2, 3, 4, 4]), TensorShape([2]))
    >>> context = layer.prepare(features)
    >>> feature, weights, beta = layer.attend(context, hidden)
    >>> weights.shape
    TensorShape([2, 48])

    Reference:
        S. Sharma, "Action Recognition and Video Description using Visual
        Attention", MSc thesis, University of Toronto, 2016, chapter 3.
        K. Xu et al., "Show, Attend and Tell", ICML 2015 (the additive form
        and the gate).
    """

    def __init__(
        self,
        attention="linear",
        attention_units=None,
        gate_hidden_units=(),
        attention_initializer="glorot_uniform",
        kernel_initializer="glorot_uniform",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.attention = check_one_of("attention", attention, ATTENTION_FORMS)
        self.attention_units = check_positive_int(
            "attention_units", attention_units, allow_none=True
        )
        gate_hidden_units = check_positive_int_tuple(
            "gate_hidden_units", gate_hidden_units
        )
        self.gate_hidden_units = gate_hidden_units
        self.attention_initializer = keras.initializers.get(
            attention_initializer
        )
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.gate = []
        if attention != "uniform":
            self.gate = [
                keras.layers.Dense(
                    width,
                    activation="tanh",
                    kernel_initializer=self.kernel_initializer,
                    dtype=self.dtype_policy,
                    name=f"gate_dense_{index}",
                )
                for index, width in enumerate(gate_hidden_units)
            ]
            self.gate.append(
                keras.layers.Dense(
                    1,
                    kernel_initializer=self.kernel_initializer,
                    dtype="float32",
                    name="gate_logit",
                )
            )
        self.num_locations = None
        self.channels = None

    def build(self, features_shape, hidden_shape, frame_mask_shape=None):
        shape, grid_size, channels = check_feature_cube_shape(features_shape)
        if self.attention == "linear" and shape[1] is None:
            raise ValueError(
                'Expected a known number of frames N with attention="linear" '
                "(its weights are (d, N*K*K)). Received features of shape "
                f"{shape}. Give the features a fixed N, or use "
                'attention="additive".'
            )
        hidden_shape = tuple(hidden_shape)
        if len(hidden_shape) != 2 or hidden_shape[-1] is None:
            raise ValueError(
                "Expected a query of shape (batch, units) with known units. "
                f"Received: hidden shape={hidden_shape}"
            )
        units = int(hidden_shape[-1])
        self.grid_size = int(grid_size)
        self.channels = int(channels)
        if shape[1] is not None:
            self.num_locations = int(shape[1]) * self.grid_size**2

        if self.attention == "linear":
            self.attention_kernel = self.add_weight(
                name="attention_kernel",
                shape=(units, self.num_locations),
                initializer=self.attention_initializer,
                autocast=False,
            )
        elif self.attention == "additive":
            attention_units = self.attention_units or units
            self.attention_feature_kernel = self.add_weight(
                name="attention_feature_kernel",
                shape=(self.channels, attention_units),
                initializer=self.attention_initializer,
            )
            self.attention_state_kernel = self.add_weight(
                name="attention_state_kernel",
                shape=(units, attention_units),
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
        width = units
        for dense in self.gate:
            dense.build((hidden_shape[0], width))
            width = dense.units
        self.built = True

    def prepare(self, features, frame_mask=None):
        """What every word's attention over one video needs, computed once.

        Args:
            features: Feature cubes `(batch, N, K, K, D)`.
            frame_mask: Optional boolean `(batch, N)`.

        Returns:
            A dict of tensors with a leading batch axis (tile them to
            search several hypotheses per video): `"locations"`, the flattened
            slices `(batch, N*K*K, D)` in the compute dtype; with
            `"additive"`, `"projected_locations"` `X W_x` `(batch, N*K*K,
            attention_units)`; with a frame mask, `"location_mask"`, boolean
            `(batch, N*K*K)`.

        Raises:
            ValueError: if a video has no valid frame (in a TensorFlow graph,
                `InvalidArgumentError` with the same message).
        """
        features = ops.cast(features, self.compute_dtype)
        if self.attention == "linear":
            features = self._check_frames(features)
        if frame_mask is not None:
            frame_mask = ops.cast(frame_mask, "bool")
            features, frame_mask = assert_all(
                ops.any(frame_mask, axis=-1),
                "Expected every video to have at least one valid frame "
                "(frame_mask True). Received a video whose frames are all "
                "padding: drop it from the data, or check how its "
                "frame_mask was made.",
                (features, frame_mask),
            )
        batch_size = ops.shape(features)[0]
        locations = ops.reshape(features, (batch_size, -1, self.channels))
        context = {"locations": locations}
        if self.attention == "additive":
            context["projected_locations"] = ops.matmul(
                locations, self._cast(self.attention_feature_kernel)
            )
        if frame_mask is not None:
            location_mask = ops.repeat(frame_mask, self.grid_size**2, axis=1)
            context["location_mask"] = location_mask
        return context

    def _check_frames(self, features):
        frames = self.num_locations // self.grid_size**2
        message = (
            f"Expected videos of {frames} frames: linear attention has a "
            f"weight per location of the {frames} frames it was built on. "
            "Received features of shape {shape}. Give every video the same "
            'number of frames (e.g. sampling "even:26/240"), or use '
            'attention="additive".'
        )
        received = features.shape[1]
        if received is not None:
            if received != frames:
                raise ValueError(message.format(shape=tuple(features.shape)))
            return features
        return assert_all(
            ops.equal(ops.shape(features)[1], frames),
            message.format(shape="(batch, frames, K, K, D) of other frames"),
            features,
        )

    def _cast(self, weight):
        # `prepare` and `attend` run outside `__call__` (in a decoder's
        # step), where Keras does not autocast the weights.
        return ops.cast(weight, self.compute_dtype)

    def location_logits(self, context, hidden):
        """Float32 logits of the location softmax, `(batch, N*K*K)`."""
        if self.attention == "linear":
            return ops.matmul(
                ops.cast(hidden, "float32"), self.attention_kernel
            )
        if self.attention == "uniform":
            locations = context["locations"]
            return ops.zeros(ops.shape(locations)[:2], "float32")
        projected = ops.tanh(
            context["projected_locations"]
            + ops.expand_dims(
                ops.matmul(hidden, self._cast(self.attention_state_kernel))
                + self._cast(self.attention_bias),
                1,
            )
        )
        scores = ops.matmul(
            ops.cast(projected, "float32"), self.attention_score_kernel
        )
        return ops.squeeze(scores, -1)

    def gate_value(self, hidden):
        """The float32 gate `beta_t` (eq. 3.5), `(batch,)`; 1 for uniform."""
        if not self.gate:
            return ops.ones(ops.shape(hidden)[:1], "float32")
        for dense in self.gate:
            hidden = dense(hidden)
        return ops.sigmoid(ops.squeeze(hidden, -1))

    def attend(self, context, hidden):
        """One query's gated attention over a prepared video.

        Args:
            context: What `prepare()` returned for the video(s).
            hidden: The query `h(t-1)`, `(batch, d)`.

        Returns:
            A tuple `(expected_feature, attention_weights, beta)`: `x_t`
            `(batch, D)` in the compute dtype, the float32 softmax
            `(batch, N*K*K)` and the float32 gate `(batch,)`.
        """
        logits = self.location_logits(context, hidden)
        location_mask = context.get("location_mask")
        if location_mask is not None:
            logits = ops.where(location_mask, logits, MASKED_LOGIT)
        weights = ops.softmax(logits, axis=-1)
        if location_mask is not None:
            # Exactly 0 already beside a valid location; this also keeps a
            # video without one at zeros rather than a uniform softmax.
            weights = weights * ops.cast(location_mask, "float32")
        beta = self.gate_value(hidden)
        locations = context["locations"]
        expected = ops.einsum(
            "bl,bld->bd", ops.cast(weights, locations.dtype), locations
        )
        if self.gate:
            expected = expected * ops.cast(
                ops.expand_dims(beta, -1), expected.dtype
            )
        return expected, weights, beta

    def call(self, features, hidden, frame_mask=None):
        expected, weights, beta = self.attend(
            self.prepare(features, frame_mask), hidden
        )
        weights = ops.reshape(
            weights,
            (
                ops.shape(features)[0],
                ops.shape(features)[1],
                self.grid_size,
                self.grid_size,
            ),
        )
        return expected, weights, beta

    def compute_output_spec(self, features, hidden, frame_mask=None):
        batch, frames, grid_size = features.shape[:3]
        return (
            keras.KerasTensor(
                (batch, features.shape[-1]), dtype=self.compute_dtype
            ),
            keras.KerasTensor(
                (batch, frames, grid_size, grid_size), dtype="float32"
            ),
            keras.KerasTensor((batch,), dtype="float32"),
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "attention": self.attention,
                "attention_units": self.attention_units,
                "gate_hidden_units": list(self.gate_hidden_units),
                "attention_initializer": keras.initializers.serialize(
                    self.attention_initializer
                ),
                "kernel_initializer": keras.initializers.serialize(
                    self.kernel_initializer
                ),
            }
        )
        return config
