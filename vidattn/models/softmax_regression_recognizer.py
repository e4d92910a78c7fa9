import keras
from keras import ops

from vidattn.models.video_classifier import VideoClassifier


@keras.saving.register_keras_serializable(package="vidattn")
class SoftmaxRegressionRecognizer(VideoClassifier):
    """The thesis's softmax regression baseline on the full feature cube.

    At every step a linear map of the whole flattened `K x K x D` cube gives
    the class logits (section 2.2.2); the clip's prediction is the mean over
    steps. Same outputs (less `"attention"`), loss and `compile()` defaults as
    `vidattn.models.ActionRecognizer`.

    Args:
        num_classes: int. Number of action classes.
        dropout: float. Dropout on the flattened cube. Defaults to `0.0`.
        multi_label: bool. Sigmoid outputs and binary cross-entropy.
        weight_decay: float. Weight decay gamma. Defaults to `1e-5`.
        class_names: sequence of str, or `None`. The classes' names.
        feature_metadata: dict or `None`. The features the model reads (see
            `vidattn.models.VideoClassifier`).
        feature_normalization: `"mean_norm"` (default) or `None`: each
            clip's cubes divided by their mean location norm, or the
            features as they are (see `vidattn.models.VideoClassifier`).
        seed: int or `None`. Seed of the dropout mask.
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
    >>> model = vidattn.models.SoftmaxRegressionRecognizer(3)
    >>> model.predict(features, verbose=0)["step_probabilities"].shape
    (4, 6, 3)
    """

    def __init__(
        self,
        num_classes,
        dropout=0.0,
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
        self.dropout = dropout
        self.seed = seed
        self.cube_dropout = keras.layers.Dropout(
            dropout, seed=seed, name="cube_dropout"
        )
        self.class_logits = keras.layers.Dense(
            num_classes, dtype="float32", name="class_logits"
        )

    def build_layers(self, features_shape, grid_size, channels):
        self.class_logits.build(
            (
                features_shape[0],
                features_shape[1],
                grid_size * grid_size * channels,
            )
        )

    def call(self, inputs, training=None):
        features, frame_mask = self.read_inputs(inputs)
        batch_size, frames = ops.shape(features)[:2]
        cubes = ops.reshape(features, (batch_size, frames, -1))
        cubes = self.cube_dropout(cubes, training=training)
        return self.predictions(self.class_logits(cubes), frame_mask)

    def get_config(self):
        config = super().get_config()
        config.update({"dropout": self.dropout, "seed": self.seed})
        return config
