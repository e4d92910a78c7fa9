import keras
import keras_tuner
import numpy as np

from vidattn.models.action_model_factory import build_action_model


class ActionHyperModel(keras_tuner.HyperModel):
    """keras-tuner search space of the soft-attention action model.

    Searches what the thesis tuned by cross-validation (section 2.2.2): the
    depth (it tried 1 to 5 LSTM layers), the width (512 and 1024), the
    attention penalty lambda (0, 1, 10), and the dropout and learning rate.
    Each trial's model comes from `vidattn.models.build_action_model`, as in
    `vidattn train`.

    Args:
        num_classes: int.
        frames, grid_size, channels: the shape of the training windows,
            `(frames, K, K, channels)`, to build each trial's model.
        multi_label: bool. Defaults to `False`.
        depths, widths, penalties: the values searched. Defaults to
            `(1, 2, 3)`, `(128, 256, 512, 1024)` and `(0.0, 1.0, 10.0)`.
        attention: `"linear"` or `"additive"`. Defaults to `"linear"`.
        weight_decay: float. Defaults to `1e-5`.
        class_names: sequence of str, or `None`. Saved with every model.
        feature_metadata: dict or `None`. Saved with every model (see
            `vidattn.models.VideoClassifier`).
        **kwargs: `keras_tuner.HyperModel` arguments (`name`, `tunable`).

    Example:

    ```python
    import keras_tuner, vidattn
    from vidattn.tuning import ActionHyperModel

    data = vidattn.data.FeatureDataset("features/train")
    hypermodel = ActionHyperModel(
        len(data.class_names), 30, data.grid_size, data.channels
    )
    tuner = keras_tuner.RandomSearch(
        hypermodel, objective="val_loss", max_trials=20,
        directory="tuning_runs", project_name="ucf11",
    )
    tuner.search(data.windows(), validation_data=..., epochs=5)
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
        attention="linear",
        weight_decay=1e-5,
        class_names=None,
        feature_metadata=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_classes = num_classes
        self.input_shape = (frames, grid_size, grid_size, channels)
        self.multi_label = multi_label
        self.depths = list(depths)
        self.widths = list(widths)
        self.penalties = [float(p) for p in penalties]
        self.attention = attention
        self.weight_decay = weight_decay
        self.class_names = class_names
        self.feature_metadata = feature_metadata

    def build(self, hp):
        model = build_action_model(
            "attention",
            self.num_classes,
            multi_label=self.multi_label,
            class_names=self.class_names,
            feature_metadata=self.feature_metadata,
            units=hp.Choice("units", self.widths),
            num_layers=hp.Choice("num_layers", self.depths),
            attention=self.attention,
            attention_penalty=hp.Choice("attention_penalty", self.penalties),
            dropout=hp.Float("dropout", 0.0, 0.6, step=0.1, default=0.5),
            weight_decay=self.weight_decay,
        )
        model(np.zeros((1,) + self.input_shape, "float32"))
        learning_rate = hp.Float(
            "learning_rate", 1e-4, 1e-2, sampling="log", default=1e-3
        )
        model.compile(optimizer=keras.optimizers.Adam(learning_rate))
        return model
