import keras
from keras import ops

# The per-replica loss must be divided by the number of replicas under
# tf.distribute, as Keras's own losses do; Keras keeps this helper private.
from keras.src.losses.loss import scale_loss_for_distribution  # noqa: E402

from vidattn.losses.doubly_stochastic_penalty import doubly_stochastic_penalty


@keras.saving.register_keras_serializable(package="vidattn")
class VideoClassifier(keras.Model):
    """Base class of the action models: per-step predictions, the thesis loss.

    Subclasses implement `call()` returning `self.predictions(...)`. Inputs
    are a tensor of feature cubes `(batch, frames, K, K, channels)` or a dict
    `{"features": ..., "frame_mask": (batch, frames) bool}` whose mask marks
    padded frames `False`.

    Every model predicts a class at every step. The loss is thesis eq. 2.7,
    averaged over the batch:

        sum_t CE(y, y_hat_t) + attention_penalty * sum_i (1 - sum_t l_t,i)^2
            + weight_decay * sum(theta^2)

    where CE is the categorical cross-entropy (softmax outputs) or, for
    multi-label data (`multi_label=True`, Hollywood2), the binary
    cross-entropy summed over classes (sigmoid outputs). Labels are integer
    class ids of shape `(batch,)`, or multi-hot `(batch, num_classes)` when
    `multi_label=True`. A clip's prediction is the mean of its valid steps'
    probabilities.

    Args:
        num_classes: int. Number of action classes.
        multi_label: bool. Sigmoid outputs and binary cross-entropy. Defaults
            to `False`.
        attention_penalty: float. The doubly stochastic penalty's weight
            lambda. Defaults to `0.0`.
        weight_decay: float. The weight decay gamma on all trainable weights.
            Defaults to `1e-5`.
        **kwargs: Base model arguments, such as `name` and `dtype`.
    """

    def __init__(
        self,
        num_classes,
        multi_label=False,
        attention_penalty=0.0,
        weight_decay=1e-5,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(
                "Expected `num_classes` to be a positive integer. "
                f"Received: num_classes={num_classes!r}"
            )
        if not multi_label and num_classes < 2:
            raise ValueError(
                "Expected `num_classes` >= 2 for single-label classification. "
                f"Received: num_classes={num_classes!r}"
            )
        for name, value in (
            ("attention_penalty", attention_penalty),
            ("weight_decay", weight_decay),
        ):
            if not isinstance(value, (int, float)) or value < 0:
                raise ValueError(
                    f"Expected `{name}` to be a non-negative float. "
                    f"Received: {name}={value!r}"
                )
        self.num_classes = num_classes
        self.multi_label = bool(multi_label)
        self.attention_penalty = float(attention_penalty)
        self.weight_decay = float(weight_decay)

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

    @staticmethod
    def check_features_shape(input_shape):
        """Validates the input shape; returns `(features_shape, K, channels)`.

        `input_shape` is the shape of the features tensor, or a dict of shapes
        with the key `"features"`.
        """
        if isinstance(input_shape, dict):
            if "features" not in input_shape:
                raise ValueError(
                    'Expected a dict input with the key "features" (and '
                    'optionally "frame_mask"). Received keys: '
                    f"{sorted(input_shape)}"
                )
            input_shape = input_shape["features"]
        shape = tuple(input_shape)
        if len(shape) != 5:
            raise ValueError(
                "Expected features of shape (batch, frames, K, K, channels). "
                f"Received: shape={shape}"
            )
        grid_height, grid_width, channels = shape[2:]
        if None in (grid_height, grid_width, channels):
            raise ValueError(
                "Expected features with a known grid and channel count, "
                f"(batch, frames, K, K, channels). Received: shape={shape}"
            )
        if grid_height != grid_width:
            hint = ""
            if grid_height > grid_width:
                hint = (
                    " This looks channels-first: transpose each cube to "
                    "(K, K, channels)."
                )
            raise ValueError(
                "Expected features of shape (batch, frames, K, K, channels) "
                f"with a square K x K grid. Received: shape={shape}.{hint}"
            )
        return shape, grid_height, channels

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
        """The thesis's output head: dropout, tanh hidden layer, dropout, logits."""
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

    def compute_loss(
        self, x=None, y=None, y_pred=None, sample_weight=None, training=True
    ):
        _, frame_mask = self.unpack_inputs(x)
        step_loss = self.step_cross_entropy(y, y_pred["step_logits"])
        if frame_mask is not None:
            step_loss = step_loss * ops.cast(frame_mask, "float32")
        example_loss = ops.sum(step_loss, axis=1)
        if self.attention_penalty > 0 and "attention" in y_pred:
            example_loss = example_loss + self.attention_penalty * (
                doubly_stochastic_penalty(y_pred["attention"], frame_mask)
            )
        if sample_weight is not None:
            sample_weight = ops.cast(
                ops.reshape(sample_weight, (-1,)), "float32"
            )
            loss = ops.sum(example_loss * sample_weight) / ops.maximum(
                ops.sum(sample_weight), 1e-8
            )
        else:
            loss = ops.mean(example_loss)
        if self.weight_decay > 0:
            loss = loss + self.weight_decay * ops.sum(
                [
                    ops.sum(ops.square(ops.cast(weight, "float32")))
                    for weight in self.trainable_weights
                ]
            )
        for extra_loss in self.losses:
            loss = loss + ops.cast(extra_loss, "float32")
        return scale_loss_for_distribution(loss)

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
                `jit_compile`. `loss` is not accepted: the loss is the model's.
        """
        if "loss" in kwargs:
            raise ValueError(
                "Expected no `loss` argument: action models compute the loss "
                "of thesis eq. 2.7 themselves (set `attention_penalty` and "
                "`weight_decay` on the model). "
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
        kwargs.setdefault("jit_compile", False)
        super().compile(optimizer=optimizer, metrics=metrics, **kwargs)

    def compile_from_config(self, config):
        config = keras.saving.deserialize_keras_object(config)
        config.pop("loss", None)
        self.compile(**config)
        if self.built:
            self.optimizer.build(self.trainable_variables)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_classes": self.num_classes,
                "multi_label": self.multi_label,
                "attention_penalty": self.attention_penalty,
                "weight_decay": self.weight_decay,
            }
        )
        return config
