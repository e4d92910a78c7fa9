import keras
import keras_tuner
import numpy as np

from vidattn.data.feature_dataset import FeatureDataset
from vidattn.layers.soft_attention_lstm_cell import ATTENTION_FORMS
from vidattn.models.action_model_factory import build_action_model
from vidattn.tuning.search_objectives import search_objective
from vidattn.tuning.search_space import check_choices
from vidattn.tuning.search_space import check_common_space
from vidattn.tuning.search_space import choice_or_value
from vidattn.tuning.search_space import dropout_hyperparameter
from vidattn.tuning.search_space import fit_with_metrics
from vidattn.tuning.search_space import learning_rate_hyperparameter
from vidattn.tuning.search_space import penalty_hyperparameter
from vidattn.tuning.video_metrics_callback import VideoMetricsCallback
from vidattn.utils.arguments import check_positive_int


class ActionHyperModel(keras_tuner.HyperModel):
    """keras-tuner search space of the soft-attention action model.

    Searches what the thesis tuned by cross-validation (section 2.2.2): the
    depth (it tried 1 to 5 LSTM layers), the width (512 and 1024), the
    attention penalty lambda (0, 1, 10, or any value in a range), and the
    dropout, the learning rate and the attention form (the thesis's
    linear location softmax, the released code's additive one). Each
    trial's model comes from `vidattn.models.build_action_model`, as in
    `vidattn train`.

    `fit` takes `vidattn.data.FeatureDataset`s: each trial trains on the
    same seeded windows, and its objective is computed on the validation
    videos under the thesis's protocol after every epoch
    (`vidattn.tuning.VideoMetricsCallback`), so that keras-tuner keeps
    each trial's best epoch and Hyperband compares trials on it.

    Args:
        num_classes: int.
        frames, grid_size, channels: the shape of the training windows,
            `(frames, K, K, channels)`, to build each trial's model.
        multi_label: bool. Defaults to `False`.
        depths, widths: LSTM layers and units searched. Default to
            `(1, 2, 3)` and `(128, 256, 512, 1024)`.
        penalties: lambda values searched (`hp.Choice`). Defaults to
            `(0.0, 1.0, 10.0)`.
        penalty_range: `(low, high)` or `None`. When given, lambda is
            searched uniformly over it (`hp.Float`) instead of `penalties`.
        dropout_range: `(low, high)` dropout rates, in steps of 0.1.
            Defaults to `(0.0, 0.6)`.
        learning_rate_range: `(low, high)` Adam learning rates, on a log
            scale. Defaults to `(1e-4, 1e-2)`.
        attentions: attention forms searched, `"linear"` and/or
            `"additive"`; one form is fixed, not searched. Defaults to
            `("linear",)`.
        weight_decay: float. Defaults to `1e-5`.
        class_names: sequence of str, or `None`. Saved with every model.
        feature_metadata: dict or `None`. Saved with every model (see
            `vidattn.models.VideoClassifier`).
        objective: str. A name of `vidattn.tuning.OBJECTIVES` for the
            action task: `"video_accuracy"`, `"video_map"` (computed after
            every epoch) or `"val_loss"`. Defaults to `"val_loss"`.
        stride, fps, batch_size: the training windows (`frames` long)
            that `fit` reads from a `FeatureDataset`. Default to `1`,
            `None` (the stored frames) and `32`.
        seed: int. Seed of every trial's weights, dropout and data order.
            Defaults to `0`.
        **kwargs: `keras_tuner.HyperModel` arguments (`name`, `tunable`).

    Raises:
        ValueError: if a searched value is out of range, or the objective
            does not score an action model.

    Example:

    ```python
    import keras_tuner, vidattn
    from vidattn.tuning import ActionHyperModel

    train = vidattn.data.FeatureDataset("features/train")
    validation = vidattn.data.FeatureDataset("features/validation")
    hypermodel = ActionHyperModel(
        len(train.class_names), 30, train.grid_size, train.channels,
        depths=(1, 2, 3, 4, 5), penalty_range=(0.0, 10.0),
        attentions=("linear", "additive"), objective="video_accuracy",
    )
    tuner = keras_tuner.RandomSearch(
        hypermodel, objective=hypermodel.objective, max_trials=20,
        directory="tuning_runs", project_name="ucf11",
    )
    tuner.search(train, validation_data=validation, epochs=5)
    ```
    """

    def __init__(
        self,
        num_classes,
        frames,
        grid_size,
        channels,
        multi_label=False,
        depths=(1, 2, 3),
        widths=(128, 256, 512, 1024),
        penalties=(0.0, 1.0, 10.0),
        penalty_range=None,
        dropout_range=(0.0, 0.6),
        learning_rate_range=(1e-4, 1e-2),
        attentions=("linear",),
        weight_decay=1e-5,
        class_names=None,
        feature_metadata=None,
        objective="val_loss",
        stride=1,
        fps=None,
        batch_size=32,
        seed=0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_classes = num_classes
        self.input_shape = (frames, grid_size, grid_size, channels)
        self.multi_label = multi_label
        self.depths = check_choices("depths", depths, check_positive_int)
        self.widths = check_choices("widths", widths, check_positive_int)
        common = check_common_space(
            penalties,
            penalty_range,
            dropout_range,
            learning_rate_range,
            attentions,
            ATTENTION_FORMS,
        )
        for name, value in common.items():
            setattr(self, name, value)
        self.weight_decay = weight_decay
        self.class_names = class_names
        self.feature_metadata = feature_metadata
        self.objective_name = objective
        self.objective = search_objective(objective, "action", multi_label)
        self.stride = check_positive_int("stride", stride)
        self.fps = fps
        self.batch_size = check_positive_int("batch_size", batch_size)
        self.seed = seed

    def build(self, hp):
        model = build_action_model(
            "attention",
            self.num_classes,
            multi_label=self.multi_label,
            class_names=self.class_names,
            feature_metadata=self.feature_metadata,
            units=hp.Choice("units", self.widths),
            num_layers=hp.Choice("num_layers", self.depths),
            attention=choice_or_value(hp, "attention", self.attentions),
            attention_penalty=penalty_hyperparameter(
                hp, self.penalties, self.penalty_range
            ),
            dropout=dropout_hyperparameter(hp, self.dropout_range),
            weight_decay=self.weight_decay,
            seed=self.seed,
        )
        model(np.zeros((1,) + self.input_shape, "float32"))
        learning_rate = learning_rate_hyperparameter(
            hp, self.learning_rate_range
        )
        model.compile(optimizer=keras.optimizers.Adam(learning_rate))
        return model

    def windows(self, data, shuffle=True):
        """The windows of a `FeatureDataset` that a trial trains on."""
        return data.windows(
            self.batch_size,
            window_length=self.input_shape[0],
            target_fps=self.fps,
            stride=self.stride,
            shuffle=shuffle,
            seed=self.seed if shuffle else None,
            deterministic=True,
            dtype=data.dtype,
        )

    def fit(self, hp, model, x, validation_data=None, **kwargs):
        """Trains a trial's model; datasets are read as windows.

        Args:
            hp: the trial's `keras_tuner.HyperParameters`.
            model: the model `build` returned.
            x: the training `vidattn.data.FeatureDataset` (or what
                `model.fit` takes).
            validation_data: the validation `FeatureDataset` (or what
                `model.fit` takes; a video objective needs the dataset).
            **kwargs: `model.fit` arguments (`epochs`, `callbacks`, ...).

        Returns:
            The `keras.callbacks.History`, with the objective per epoch.

        Raises:
            ValueError: if the objective is a video metric and
                `validation_data` is not a `FeatureDataset`.
        """
        metrics_callback = None
        if self.objective_name in ("video_accuracy", "video_map"):
            if not isinstance(validation_data, FeatureDataset):
                raise ValueError(
                    f"Expected the validation vidattn.data.FeatureDataset "
                    f"for objective={self.objective_name!r}, which scores "
                    f"its videos. Received: validation_data="
                    f"{type(validation_data).__name__}."
                )
            metrics_callback = VideoMetricsCallback(
                validation_data,
                window=self.input_shape[0],
                fps=self.fps,
                stride=self.stride,
                batch_size=self.batch_size,
            )
        if isinstance(x, FeatureDataset):
            x = self.windows(x)
        if isinstance(validation_data, FeatureDataset):
            validation_data = self.windows(validation_data, shuffle=False)
        return fit_with_metrics(
            model,
            metrics_callback,
            x,
            validation_data=validation_data,
            **kwargs,
        )
