import keras
from keras import ops

from vidattn.layers.lstm_state_initializer import LSTMStateInitializer
from vidattn.layers.soft_attention_lstm import SoftAttentionLSTM
from vidattn.losses.doubly_stochastic_penalty import doubly_stochastic_penalty
from vidattn.models.video_classifier import VideoClassifier
from vidattn.utils.arguments import check_non_negative_number


@keras.saving.register_keras_serializable(package="vidattn")
class ActionRecognizer(VideoClassifier):
    """The soft-attention action recognition model of the thesis, chapter 2.

    A stack of LSTM layers reads one frame's feature cube per step through a
    location softmax driven by the top layer's previous hidden state
    (`vidattn.layers.SoftAttentionLSTM`); its initial states come from
    MLPs of the mean feature (`vidattn.layers.LSTMStateInitializer`). At every
    step a tanh hidden layer and a softmax (or sigmoid, multi-label) predict
    the class; the clip's prediction is the mean over steps. The loss is
    thesis eq. 2.7: the cross-entropy and weight decay of
    `vidattn.models.VideoClassifier` plus the doubly stochastic attention
    penalty `attention_penalty * sum_i (1 - sum_t l_t,i)^2`, computed from
    the float32 attention weights.

    Args:
        num_classes: int. Number of action classes.
        units: int. Width of every LSTM layer. Defaults to `512`.
        num_layers: int. Number of LSTM layers. Defaults to `3`.
        attention: str. `"linear"` (thesis eq. 2.4, default) or `"additive"`.
        attention_units: int or `None`. Width of the additive attention.
        head_units: int or `None`. Width of the tanh hidden layer of the
            output head; defaults to `units`.
        dropout: float. Dropout on all non-recurrent connections. Defaults to
            `0.5`.
        multi_label: bool. Sigmoid outputs and binary cross-entropy
            (Hollywood2). Defaults to `False`.
        attention_penalty: float. The penalty's weight lambda. Defaults to
            `0.0`.
        weight_decay: float. Weight decay gamma. Defaults to `1e-5`.
        unroll: bool. Unroll the recurrence over the frames (needs a fixed
            number of frames). On CPU it trained no faster than the loop and
            predicted slower (see BUILD_NOTES.md). Needed to compile with
            `jit_compile=True`: XLA cannot differentiate the loop of
            `keras.ops.scan` on TensorFlow, which has no bound. Defaults to
            `False`.
        seed: int or `None`. Seed of the dropout masks.
        class_names: sequence of str, or `None`. The classes' names.
        feature_metadata: dict or `None`. The features the model reads (see
            `vidattn.models.VideoClassifier`).
        feature_normalization: `"mean_norm"` (default) or `None`: each
            clip's cubes divided by their mean location norm, or the
            features as they are (see `vidattn.models.VideoClassifier`).
        **kwargs: Base model arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: Feature cubes `(batch, frames, K, K, channels)`, or a dict
            `{"features": ..., "frame_mask": (batch, frames) bool}`.
        training: Python bool. Whether dropout is active.

    Returns:
        A dict: `"probabilities"` (batch, num_classes), the clip prediction;
        `"step_probabilities"` and `"step_logits"` (batch, frames,
        num_classes); `"attention"` (batch, frames, K, K), the location
        softmax of every step, float32 under every dtype policy.

    Raises:
        ValueError: if an argument is out of range, or the features are not
            of shape `(batch, frames, K, K, channels)`.

    Example:

    >>> import numpy as np, vidattn
    >>> features = np.random.rand(4, 6, 7, 7, 32).astype("float32")
    >>> labels = np.array([0, 1, 2, 1])
    >>> model = vidattn.models.ActionRecognizer(3, units=16, num_layers=2)
    >>> model.compile()
    >>> history = model.fit(features, labels, epochs=1, verbose=0)
    >>> model.predict(features, verbose=0)["attention"].shape
    (4, 6, 7, 7)
    """

    def __init__(
        self,
        num_classes,
        units=512,
        num_layers=3,
        attention="linear",
        attention_units=None,
        head_units=None,
        dropout=0.5,
        multi_label=False,
        attention_penalty=0.0,
        weight_decay=1e-5,
        unroll=False,
        seed=None,
        class_names=None,
        feature_metadata=None,
        feature_normalization="mean_norm",
        **kwargs,
    ):
        super().__init__(
            num_classes=num_classes,
            multi_label=multi_label,
            weight_decay=weight_decay,
            class_names=class_names,
            feature_metadata=feature_metadata,
            feature_normalization=feature_normalization,
            **kwargs,
        )
        self.attention_penalty = check_non_negative_number(
            "attention_penalty", attention_penalty
        )
        self.units = units
        self.num_layers = num_layers
        self.attention = attention
        self.attention_units = attention_units
        self.head_units = head_units
        self.dropout = dropout
        self.unroll = unroll
        self.seed = seed
        # Built in this order, the weights keep the order (and the optimizer
        # variables the layout) of the `.keras` files of earlier versions.
        self.state_initializer = LSTMStateInitializer(
            units, num_layers=num_layers, name="state_initializer"
        )
        self.recurrent = SoftAttentionLSTM(
            units,
            num_layers=num_layers,
            attention=attention,
            attention_units=attention_units,
            dropout=dropout,
            seed=seed,
            unroll=unroll,
            name="recurrent",
        )
        self.step_classifier = self.make_step_classifier(
            head_units or units, dropout
        )

    @property
    def cell(self):
        """The `vidattn.layers.SoftAttentionLSTMCell` of the recurrence.

        `.keras` files keep its weights under this attribute's name, as
        earlier versions, which had the cell as a model attribute, did.
        """
        return self.recurrent.cell

    def build_layers(self, features_shape, grid_size, channels):
        sequence_shape = (
            features_shape[0],
            features_shape[1],
            grid_size * grid_size,
            channels,
        )
        self.state_initializer.build(sequence_shape)
        self.recurrent.build(sequence_shape)
        hidden_shape = (features_shape[0], features_shape[1], self.units)
        for layer in self.step_classifier:
            layer.build(hidden_shape)
            hidden_shape = layer.compute_output_shape(hidden_shape)

    def call(self, inputs, training=None):
        features, frame_mask = self.read_inputs(inputs)
        sequence = self.flatten_locations(features)
        states = self.state_initializer(sequence, mask=frame_mask)
        hidden, attention = self.recurrent(
            sequence, initial_state=states, mask=frame_mask, training=training
        )
        attention = ops.reshape(attention, ops.shape(features)[:4])
        return self.predictions(
            self.classify_steps(hidden, training),
            frame_mask,
            attention=attention,
        )

    def compile(self, optimizer="adam", metrics="auto", **kwargs):
        """As `VideoClassifier.compile`; TensorFlow XLA needs `unroll`."""
        if (
            kwargs.get("jit_compile") is True
            and not self.unroll
            and keras.backend.backend() == "tensorflow"
        ):
            raise ValueError(
                "Expected `unroll=True` to compile with `jit_compile=True`: "
                "XLA cannot differentiate the unbounded loop over the frames "
                "that `unroll=False` runs. Received: unroll=False. Build the "
                "model with unroll=True, or compile with jit_compile=False."
            )
        super().compile(optimizer=optimizer, metrics=metrics, **kwargs)

    def per_example_loss(self, y, y_pred, frame_mask=None):
        """The cross-entropy plus the weighted attention penalty (eq. 2.7)."""
        loss = super().per_example_loss(y, y_pred, frame_mask)
        if self.attention_penalty > 0:
            loss = loss + self.attention_penalty * doubly_stochastic_penalty(
                y_pred["attention"], frame_mask
            )
        return loss

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "units": self.units,
                "num_layers": self.num_layers,
                "attention": self.attention,
                "attention_units": self.attention_units,
                "head_units": self.head_units,
                "dropout": self.dropout,
                "attention_penalty": self.attention_penalty,
                "unroll": self.unroll,
                "seed": self.seed,
            }
        )
        return config
