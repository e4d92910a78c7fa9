import json

import keras
from keras import ops

from vidattn.losses.training_loss import training_loss
from vidattn.models.model_compilation import compile_from_saved_config
from vidattn.models.model_compilation import set_jit_compile_default
from vidattn.utils.arguments import check_non_negative_number
from vidattn.utils.arguments import check_one_of
from vidattn.utils.arguments import check_positive_int
from vidattn.utils.feature_normalization import FEATURE_NORMALIZATIONS
from vidattn.utils.feature_normalization import divide_by_mean_norm
from vidattn.utils.feature_shapes import check_feature_cube_shape

FEATURE_METADATA_KEYS = (
    "backbone",
    "layer",
    "input_size",
    "grid_size",
    "channels",
    "stored_fps",
    "fps",
    "window",
    "sampling",
    "train_split",
)


@keras.saving.register_keras_serializable(package="vidattn")
class VideoClassifier(keras.Model):
    """Base class of the action models: per-step predictions, the thesis loss.

    Subclasses implement `call()` returning `self.predictions(...)`. Inputs
    are a tensor of feature cubes `(batch, frames, K, K, channels)` or a dict
    `{"features": ..., "frame_mask": (batch, frames) bool}` whose mask marks
    padded frames `False`.

    Every model predicts a class at every step. The loss is that of thesis
    eq. 2.7 less the attention term, averaged over the batch:

        sum_t CE(y, y_hat_t) + weight_decay * sum(theta^2)

    where CE is the categorical cross-entropy (softmax outputs) or, for
    multi-label data (`multi_label=True`, Hollywood2), the binary
    cross-entropy summed over classes (sigmoid outputs). A subclass adds its
    own terms per example by overriding `per_example_loss()`
    (`vidattn.models.ActionRecognizer` adds the attention penalty). Labels
    are integer class ids of shape `(batch,)`, or multi-hot
    `(batch, num_classes)` when `multi_label=True`. A clip's prediction is
    the mean of its valid steps' probabilities.

    What a model needs to be used travels with it, in its config and so in
    its `.keras` file: the names of its classes and the description of the
    features it reads.

    Args:
        num_classes: int. Number of action classes.
        multi_label: bool. Sigmoid outputs and binary cross-entropy. Defaults
            to `False`.
        weight_decay: float. The weight decay gamma on all trainable weights.
            Defaults to `1e-5`.
        class_names: sequence of `num_classes` str, or `None`. The name of
            each class, in the order of the outputs. Defaults to `None`.
        feature_metadata: dict or `None`. The features the model reads, with
            keys among `"backbone"`, `"layer"`, `"input_size"`,
            `"grid_size"`, `"channels"`, `"stored_fps"`, `"fps"` (the frame
            rate of the windows it was trained on), `"window"`,
            `"sampling"` (how the records' frames were drawn, e.g.
            `"even:26/240"`) and `"train_split"` (the training split's
            name); values that JSON can hold. Defaults to `None`.
        feature_normalization: `"mean_norm"` (default) or `None`. Whether
            each clip's cubes are divided by the mean L2 norm of the
            locations of its valid frames before the model reads them
            (computed in float32). Last-conv features have location norms
            of tens, at which the LSTM gates and the attention's tanh
            saturate; divided, they have norms near 1, and a location keeps
            its size relative to the others. `None` reads the features as
            they are (models saved before this argument existed load with
            `None`).
        **kwargs: Base model arguments, such as `name` and `dtype`.

    Raises:
        ValueError: if an argument is out of range, or the class names or
            feature metadata are not of the form above.
    """

    def __init__(
        self,
        num_classes,
        multi_label=False,
        weight_decay=1e-5,
        class_names=None,
        feature_metadata=None,
        feature_normalization="mean_norm",
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_positive_int("num_classes", num_classes)
        if not multi_label and num_classes < 2:
            raise ValueError(
                "Expected `num_classes` >= 2 for single-label classification. "
                f"Received: num_classes={num_classes!r}"
            )
        self.num_classes = int(num_classes)
        self.multi_label = bool(multi_label)
        self.weight_decay = check_non_negative_number(
            "weight_decay", weight_decay
        )
        self.class_names = self._check_class_names(class_names, num_classes)
        self.feature_normalization = check_one_of(
            "feature_normalization",
            feature_normalization,
            FEATURE_NORMALIZATIONS,
        )
        # Kept as JSON text: attribute tracking would wrap a dict.
        self._feature_metadata = json.dumps(
            self._check_feature_metadata(feature_metadata)
        )

    @property
    def feature_metadata(self):
        """The features the model reads: a dict (a new copy), or `None`."""
        return json.loads(self._feature_metadata)

    @staticmethod
    def _check_class_names(class_names, num_classes):
        if class_names is None:
            return None
        if isinstance(class_names, (str, bytes)) or not all(
            isinstance(name, str) for name in class_names
        ):
            raise ValueError(
                "Expected `class_names` to be a sequence of str. Received: "
                f"class_names={class_names!r}"
            )
        class_names = tuple(class_names)
        if len(class_names) != num_classes:
            raise ValueError(
                f"Expected {num_classes} `class_names`, one per class. "
                f"Received {len(class_names)}: class_names={class_names!r}"
            )
        return class_names

    @staticmethod
    def _check_feature_metadata(feature_metadata):
        if feature_metadata is None:
            return None
        if not isinstance(feature_metadata, dict):
            raise ValueError(
                "Expected `feature_metadata` to be a dict or None. Received: "
                f"feature_metadata={feature_metadata!r}"
            )
        unknown = sorted(set(feature_metadata) - set(FEATURE_METADATA_KEYS))
        if unknown:
            raise ValueError(
                f"Expected `feature_metadata` keys among "
                f"{FEATURE_METADATA_KEYS}. Received unknown keys: {unknown}"
            )
        try:
            return json.loads(json.dumps(feature_metadata))
        except TypeError as error:
            raise ValueError(
                "Expected `feature_metadata` values that JSON can hold. "
                f"Received: feature_metadata={feature_metadata!r} ({error})"
            ) from None

    @staticmethod
    def unpack_inputs(inputs):
        """Returns `(features, frame_mask)` from a tensor or a dict input."""
        if isinstance(inputs, dict):
            if "features" not in inputs:
                raise ValueError(
                    'Expected a dict input with the key "features" (and '
                    f'optionally "frame_mask"). Received keys: {sorted(inputs)}'
                )
            return inputs["features"], inputs.get("frame_mask")
        return inputs, None

    def read_inputs(self, inputs):
        """`(features, frame_mask)` as the model reads them.

        The features of a tensor or dict input (see `unpack_inputs`), in the
        compute dtype, divided by each frame's mean location norm under
        `feature_normalization="mean_norm"`.
        """
        features, frame_mask = self.unpack_inputs(inputs)
        features = ops.cast(features, self.compute_dtype)
        if self.feature_normalization is not None:
            features = divide_by_mean_norm(features, frame_mask)
        return features, frame_mask

    @staticmethod
    def check_features_shape(input_shape):
        """Validates the input shape; returns `(features_shape, K, channels)`.

        `input_shape` is the shape of the features tensor, or a dict of shapes
        with the key `"features"` (see
        `vidattn.utils.feature_shapes.check_feature_cube_shape`).
        """
        return check_feature_cube_shape(input_shape)

    def build(self, input_shape):
        features_shape, grid_size, channels = self.check_features_shape(
            input_shape
        )
        self.feature_grid = (grid_size, grid_size, channels)
        self.build_layers(features_shape, grid_size, channels)
        self.built = True

    def build_layers(self, features_shape, grid_size, channels):
        """Builds the subclass's layers for validated features."""
        raise NotImplementedError

    def input_spec_shape(self):
        """`(K, K, channels)` of the features the built model takes."""
        return self.feature_grid

    @staticmethod
    def flatten_locations(features):
        """`(batch, frames, K, K, D)` to `(batch, frames, K*K, D)`."""
        batch_size, frames, grid_size = ops.shape(features)[:3]
        return ops.reshape(
            features,
            (batch_size, frames, grid_size * grid_size, features.shape[-1]),
        )

    def classify_steps(self, hidden, training=None):
        """Runs `self.step_classifier` (see `make_step_classifier`)."""
        for layer in self.step_classifier:
            hidden = layer(hidden, training=training)
        return hidden

    def make_step_classifier(self, head_units, dropout):
        """The thesis's output head: dropout, tanh layer, dropout, logits."""
        return [
            keras.layers.Dropout(dropout, name="hidden_dropout"),
            keras.layers.Dense(
                head_units, activation="tanh", name="head_dense"
            ),
            keras.layers.Dropout(dropout, name="head_dropout"),
            keras.layers.Dense(
                self.num_classes, dtype="float32", name="class_logits"
            ),
        ]

    def predictions(self, step_logits, frame_mask=None, attention=None):
        """The outputs dict every action model returns.

        Args:
            step_logits: float32 `(batch, frames, num_classes)`.
            frame_mask: Optional boolean `(batch, frames)`.
            attention: Optional `(batch, frames, K, K)` location softmaxes.

        Returns:
            A dict with `"probabilities"` (batch, num_classes): the clip's
            prediction, mean of the valid steps; `"step_probabilities"` and
            `"step_logits"` (batch, frames, num_classes); and `"attention"`
            (batch, frames, K, K) when the model attends.
        """
        step_logits = ops.cast(step_logits, "float32")
        if self.multi_label:
            step_probabilities = ops.sigmoid(step_logits)
        else:
            step_probabilities = ops.softmax(step_logits, axis=-1)
        if frame_mask is None:
            probabilities = ops.mean(step_probabilities, axis=1)
        else:
            weights = ops.expand_dims(ops.cast(frame_mask, "float32"), -1)
            probabilities = ops.sum(step_probabilities * weights, axis=1) / (
                ops.maximum(ops.sum(weights, axis=1), 1.0)
            )
        outputs = {
            "probabilities": probabilities,
            "step_probabilities": step_probabilities,
            "step_logits": step_logits,
        }
        if attention is not None:
            outputs["attention"] = ops.cast(attention, "float32")
        return outputs

    def step_cross_entropy(self, labels, step_logits):
        """Cross-entropy of every step, float32 `(batch, frames)`."""
        step_logits = ops.cast(step_logits, "float32")
        if self.multi_label:
            labels = ops.cast(labels, "float32")
            per_class = (
                ops.maximum(step_logits, 0.0)
                - step_logits * (ops.expand_dims(labels, 1))
                + ops.log1p(ops.exp(-ops.abs(step_logits)))
            )
            return ops.sum(per_class, axis=-1)
        labels = ops.cast(ops.reshape(labels, (-1,)), "int32")
        log_probabilities = ops.log_softmax(step_logits, axis=-1)
        one_hot = ops.one_hot(labels, self.num_classes, dtype="float32")
        return -ops.sum(log_probabilities * ops.expand_dims(one_hot, 1), -1)

    def per_example_loss(self, y, y_pred, frame_mask=None):
        """The loss of each example before weighting and weight decay.

        The cross-entropy summed over the valid steps. Subclasses add their
        own terms (`super().per_example_loss(...) + term`).

        Args:
            y: The labels.
            y_pred: The outputs dict of `call()`.
            frame_mask: Optional boolean `(batch, frames)`.

        Returns:
            A float32 tensor of shape `(batch,)`.
        """
        step_loss = self.step_cross_entropy(y, y_pred["step_logits"])
        if frame_mask is not None:
            step_loss = step_loss * ops.cast(frame_mask, "float32")
        return ops.sum(step_loss, axis=1)

    def compute_loss(
        self, x=None, y=None, y_pred=None, sample_weight=None, training=True
    ):
        _, frame_mask = self.unpack_inputs(x)
        example_loss = self.per_example_loss(y, y_pred, frame_mask)
        return training_loss(
            example_loss, sample_weight, self.weight_decay, model=self
        )

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        return super().compute_metrics(
            x, y, y_pred["probabilities"], sample_weight
        )

    def compile(self, optimizer="adam", metrics="auto", **kwargs):
        """Compiles with the thesis's defaults: Adam and the loss of eq. 2.7.

        Args:
            optimizer: Optimizer name or instance. Defaults to Adam with
                learning rate 1e-3.
            metrics: `"auto"` for clip accuracy (single-label) or the area
                under the precision-recall curve averaged over classes
                (multi-label, an estimate of mAP); or a list of Keras metrics
                applied to the clip probabilities.
            **kwargs: Other `keras.Model.compile()` arguments, e.g.
                `jit_compile` (default `False` on TensorFlow, Keras's
                `"auto"` on other backends). `loss` is not accepted: the
                loss is the model's.
        """
        if "loss" in kwargs:
            raise ValueError(
                "Expected no `loss` argument: action models compute the loss "
                "of thesis eq. 2.7 themselves (set `weight_decay`, and "
                "`attention_penalty` for attention models, on the model). "
                f"Received: loss={kwargs['loss']!r}"
            )
        if metrics == "auto":
            if self.multi_label:
                metrics = [
                    keras.metrics.AUC(
                        curve="PR",
                        multi_label=True,
                        num_thresholds=500,
                        name="average_precision",
                    )
                ]
            else:
                metrics = [keras.metrics.SparseCategoricalAccuracy("accuracy")]
        set_jit_compile_default(kwargs)
        super().compile(optimizer=optimizer, metrics=metrics, **kwargs)

    def compile_from_config(self, config):
        compile_from_saved_config(self, config)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_classes": self.num_classes,
                "multi_label": self.multi_label,
                "weight_decay": self.weight_decay,
                "class_names": None
                if self.class_names is None
                else list(self.class_names),
                "feature_metadata": self.feature_metadata,
                "feature_normalization": self.feature_normalization,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        # Models saved before `feature_normalization` read raw features.
        config.setdefault("feature_normalization", None)
        return cls(**config)
