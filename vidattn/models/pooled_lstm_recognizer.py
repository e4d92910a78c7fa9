import keras
from keras import ops

from vidattn.layers.lstm_state_initializer import LSTMStateInitializer
from vidattn.models.video_classifier import VideoClassifier
from vidattn.utils.arguments import check_one_of
from vidattn.utils.arguments import check_positive_int

POOLINGS = ("average", "max")


@keras.saving.register_keras_serializable(package="vidattn")
class PooledLSTMRecognizer(VideoClassifier):
    """The thesis's average- and max-pooled LSTM baselines (section 2.2.2).

    The same model as `vidattn.models.ActionRecognizer` without attention:
    each frame's `K x K x D` cube is average- or max-pooled over its
    locations to one `D`-dimensional slice, which a stack of LSTM layers
    (initial states from the mean feature, thesis eq. 2.6) reads step by
    step. Same outputs (less `"attention"`), loss and `compile()` defaults.

    Args:
        num_classes: int. Number of action classes.
        pooling: str. `"average"` (default) or `"max"`.
        units: int. Width of every LSTM layer. Defaults to `512`.
        num_layers: int. Number of LSTM layers. Defaults to `3`.
        head_units: int or `None`. Width of the output head's tanh layer;
            defaults to `units`.
        dropout: float. Dropout on all non-recurrent connections. Defaults to
            `0.5`.
        multi_label: bool. Sigmoid outputs and binary cross-entropy.
        weight_decay: float. Weight decay gamma. Defaults to `1e-5`.
        class_names: sequence of str, or `None`. The classes' names.
        feature_metadata: dict or `None`. The features the model reads (see
            `vidattn.models.VideoClassifier`).
        feature_normalization: `"mean_norm"` (default) or `None`: each
            clip's cubes divided by their mean location norm, or the
            features as they are (see `vidattn.models.VideoClassifier`).
        seed: int or `None`. Seed of the dropout masks.
        **kwargs: Base model arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: Feature cubes `(batch, frames, K, K, channels)`, or a dict
            `{"features": ..., "frame_mask": (batch, frames) bool}`.
        training: Python bool. Whether dropout is active.

    Returns:
        A dict with `"probabilities"` (batch, num_classes),
        `"step_probabilities"` and `"step_logits"` (batch, frames,
        num_classes).

    Example:

    >>> import numpy as np, vidattn
    >>> features = np.random.rand(4, 6, 7, 7, 32).astype("float32")
    >>> model = vidattn.models.PooledLSTMRecognizer(3, "max", units=16)
    >>> model.predict(features, verbose=0)["probabilities"].shape
    (4, 3)
    """

    def __init__(
        self,
        num_classes,
        pooling="average",
        units=512,
        num_layers=3,
        head_units=None,
        dropout=0.5,
        multi_label=False,
        weight_decay=1e-5,
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
        self.pooling = check_one_of("pooling", pooling, POOLINGS)
        self.units = check_positive_int("units", units)
        self.num_layers = num_layers
        self.head_units = head_units
        self.dropout = dropout
        self.seed = seed
        self.state_initializer = LSTMStateInitializer(
            units, num_layers=num_layers, name="state_initializer"
        )
        self.lstm_layers = [
            keras.layers.LSTM(
                units,
                return_sequences=True,
                dropout=dropout,
                unit_forget_bias=True,
                seed=seed,
                name=f"lstm_{index}",
            )
            for index in range(num_layers)
        ]
        self.step_classifier = self.make_step_classifier(
            head_units or units, dropout
        )

    def build_layers(self, features_shape, grid_size, channels):
        batch_size, frames = features_shape[:2]
        self.state_initializer.build(
            (batch_size, frames, grid_size * grid_size, channels)
        )
        sequence_shape = (batch_size, frames, channels)
        for lstm in self.lstm_layers:
            lstm.build(sequence_shape)
            sequence_shape = (batch_size, frames, self.units)
        for layer in self.step_classifier:
            layer.build(sequence_shape)
            sequence_shape = layer.compute_output_shape(sequence_shape)

    def call(self, inputs, training=None):
        features, frame_mask = self.read_inputs(inputs)
        locations = self.flatten_locations(features)
        states = self.state_initializer(locations, mask=frame_mask)
        if self.pooling == "average":
            hidden = ops.mean(locations, axis=2)
        else:
            hidden = ops.max(locations, axis=2)
        for index, lstm in enumerate(self.lstm_layers):
            hidden = lstm(
                hidden,
                initial_state=states[2 * index : 2 * index + 2],
                mask=frame_mask,
                training=training,
            )
        return self.predictions(
            self.classify_steps(hidden, training), frame_mask
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "pooling": self.pooling,
                "units": self.units,
                "num_layers": self.num_layers,
                "head_units": self.head_units,
                "dropout": self.dropout,
                "seed": self.seed,
            }
        )
        return config
