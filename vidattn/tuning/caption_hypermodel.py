import keras
import keras_tuner
import numpy as np

from vidattn.data.feature_dataset import FeatureDataset
from vidattn.layers.caption_tokenizer import END_ID
from vidattn.layers.caption_tokenizer import START_ID
from vidattn.layers.caption_tokenizer import UNKNOWN_ID
from vidattn.models.caption_model_factory import build_video_captioner
from vidattn.training.caption_inputs import caption_batches
from vidattn.training.caption_score_callback import CaptionScoreCallback
from vidattn.training.caption_training_config import ATTENTION_FORMS
from vidattn.tuning.search_objectives import search_objective
from vidattn.tuning.search_space import check_choices
from vidattn.tuning.search_space import check_common_space
from vidattn.tuning.search_space import choice_or_value
from vidattn.tuning.search_space import dropout_hyperparameter
from vidattn.tuning.search_space import fit_with_metrics
from vidattn.tuning.search_space import learning_rate_hyperparameter
from vidattn.tuning.search_space import penalty_hyperparameter
from vidattn.utils.arguments import check_positive_int

# The caption metrics each objective needs (`vidattn.metrics.caption_scores`).
_SCORED_METRICS = {"bleu4": ("bleu",), "meteor": ("bleu", "meteor")}


class CaptionHyperModel(keras_tuner.HyperModel):
    """keras-tuner search space of the soft-attention video captioner.

    Searches the captioner of thesis chapter 3: the LSTM width, the word
    embedding size, the attention penalty lambda, the dropout, the learning
    rate, the attention form, and the beam width of the sentences that the
    objective scores. The beam width is a hyperparameter of the objective
    only: two trials that differ only in it train the same weights. Each
    trial's model comes from `vidattn.models.build_video_captioner`, as in
    `vidattn train --task captioning`.

    `fit` takes `vidattn.data.FeatureDataset`s: every training caption once
    per epoch (`vidattn.training.caption_batches`, the same seeded order in
    every trial), the teacher-forced validation loss, and with a BLEU-4 or
    METEOR objective, the first `validation_videos` captioned validation
    videos described by beam search and scored against all their
    references after every epoch (`vidattn.training.CaptionScoreCallback`),
    so that keras-tuner keeps each trial's best epoch.

    Args:
        tokenizer: the adapted `vidattn.layers.CaptionTokenizer` (from the
            training captions: `vidattn.training.build_caption_tokenizer`).
        frames, grid_size, channels: the videos' feature cubes, `(frames,
            K, K, channels)`, to build each trial's model (the linear
            attention has one weight per location of `frames` frames).
        widths, embedding_dims: LSTM units and word embedding sizes
            searched. Default to `(256, 512)` and `(256, 512)`.
        penalties: lambda values searched (`hp.Choice`). Defaults to
            `(0.0, 1.0, 10.0)`.
        penalty_range: `(low, high)` or `None`: lambda uniform over it
            (`hp.Float`) instead of `penalties`.
        dropout_range: `(low, high)`, in steps of 0.1. Defaults to
            `(0.0, 0.6)`.
        learning_rate_range: `(low, high)`, on a log scale. Defaults to
            `(1e-4, 1e-2)`.
        attentions: `"linear"` and/or `"additive"`; one form is fixed.
            Defaults to `("linear",)`.
        beam_widths: beam widths of the scored sentences; one width is
            fixed. Defaults to `(4,)`.
        weight_decay: float. Defaults to `1e-5`.
        feature_metadata: dict or `None`. Saved with every model.
        objective: `"bleu4"`, `"meteor"` or `"val_loss"`. Defaults to
            `"val_loss"`.
        batch_size: int. Captions per batch. Defaults to `32`.
        validation_videos: int. Videos described and scored per epoch.
            Defaults to `100`.
        max_length: int. Most words of a scored sentence. Defaults to
            `30`.
        seed: int. Seed of every trial's weights, dropout and caption
            order. Defaults to `0`.
        **kwargs: `keras_tuner.HyperModel` arguments (`name`, `tunable`).

    Raises:
        ValueError: if a searched value is out of range, or the objective
            does not score a captioner.

    Example:

    ```python
    train = vidattn.data.FeatureDataset("features/msvd_train")
    validation = vidattn.data.FeatureDataset("features/msvd_validation")
    tokenizer = vidattn.training.build_caption_tokenizer(train)
    hypermodel = CaptionHyperModel(
        tokenizer, 26, train.grid_size, train.channels,
        beam_widths=(1, 4), objective="bleu4",
    )
    tuner = keras_tuner.RandomSearch(
        hypermodel, objective=hypermodel.objective, max_trials=10,
        directory="tuning_runs", project_name="youtube2text",
    )
    tuner.search(train, validation_data=validation, epochs=5)
    ```
    """

    def __init__(
        self,
        tokenizer,
        frames,
        grid_size,
        channels,
        widths=(256, 512),
        embedding_dims=(256, 512),
        penalties=(0.0, 1.0, 10.0),
        penalty_range=None,
        dropout_range=(0.0, 0.6),
        learning_rate_range=(1e-4, 1e-2),
        attentions=("linear",),
        beam_widths=(4,),
        weight_decay=1e-5,
        feature_metadata=None,
        objective="val_loss",
        batch_size=32,
        validation_videos=100,
        max_length=30,
        seed=0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.tokenizer = tokenizer
        self.input_shape = (frames, grid_size, grid_size, channels)
        self.widths = check_choices("widths", widths, check_positive_int)
        self.embedding_dims = check_choices(
            "embedding_dims", embedding_dims, check_positive_int
        )
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
        self.beam_widths = check_choices(
            "beam_widths", beam_widths, check_positive_int
        )
        self.weight_decay = weight_decay
        self.feature_metadata = feature_metadata
        self.objective_name = objective
        self.objective = search_objective(objective, "captioning")
        self.batch_size = check_positive_int("batch_size", batch_size)
        self.validation_videos = check_positive_int(
            "validation_videos", validation_videos
        )
        self.max_length = check_positive_int("max_length", max_length)
        self.seed = seed
        self._score_callback = None

    def build(self, hp):
        # Declared here so that every trial draws it; only `fit` reads it.
        choice_or_value(hp, "beam_width", self.beam_widths)
        model = build_video_captioner(
            "soft_attention",
            tokenizer=self.tokenizer,
            feature_metadata=self.feature_metadata,
            units=hp.Choice("units", self.widths),
            embedding_dim=hp.Choice("embedding_dim", self.embedding_dims),
            attention=choice_or_value(hp, "attention", self.attentions),
            attention_penalty=penalty_hyperparameter(
                hp, self.penalties, self.penalty_range
            ),
            dropout=dropout_hyperparameter(hp, self.dropout_range),
            weight_decay=self.weight_decay,
            seed=self.seed,
        )
        model(
            {
                "features": np.zeros((1,) + self.input_shape, "float32"),
                "frame_mask": np.ones((1, self.input_shape[0]), bool),
                "caption_ids": np.array(
                    [[START_ID, UNKNOWN_ID, END_ID]], "int32"
                ),
            }
        )
        learning_rate = learning_rate_hyperparameter(
            hp, self.learning_rate_range
        )
        model.compile(optimizer=keras.optimizers.Adam(learning_rate))
        return model

    def batches(self, data, shuffle=True):
        """The caption batches of a `FeatureDataset` that a trial reads."""
        return caption_batches(
            data,
            self.tokenizer,
            self.batch_size,
            shuffle=shuffle,
            seed=self.seed if shuffle else None,
        )

    def score_callback(self, validation, beam_width):
        """The callback that scores the validation sentences of a trial.

        The videos are read once per search; each trial sets its beam
        width.
        """
        if self._score_callback is None:
            self._score_callback = CaptionScoreCallback.from_dataset(
                validation,
                self.validation_videos,
                metrics=_SCORED_METRICS[self.objective_name],
                # The end token is a word of the search.
                max_length=self.max_length + 1,
                batch_size=self.batch_size,
                verbose=False,
            )
        self._score_callback.beam_width = beam_width
        return self._score_callback

    def fit(self, hp, model, x, validation_data=None, **kwargs):
        """Trains a trial's model; datasets are read as caption batches.

        Args:
            hp: the trial's `keras_tuner.HyperParameters`.
            model: the model `build` returned.
            x: the training `vidattn.data.FeatureDataset` (or what
                `model.fit` takes).
            validation_data: the validation `FeatureDataset` (or what
                `model.fit` takes; a BLEU-4 or METEOR objective needs the
                dataset).
            **kwargs: `model.fit` arguments (`epochs`, `callbacks`, ...).

        Returns:
            The `keras.callbacks.History`, with the objective per epoch.

        Raises:
            ValueError: if the objective scores sentences and
                `validation_data` is not a `FeatureDataset`.
        """
        score_callback = None
        if self.objective_name in _SCORED_METRICS:
            if not isinstance(validation_data, FeatureDataset):
                raise ValueError(
                    f"Expected the validation vidattn.data.FeatureDataset "
                    f"for objective={self.objective_name!r}, which scores "
                    f"sentences of its videos. Received: validation_data="
                    f"{type(validation_data).__name__}."
                )
            beam_width = (
                hp.get("beam_width")
                if len(self.beam_widths) > 1
                else (self.beam_widths[0])
            )
            score_callback = self.score_callback(validation_data, beam_width)
        if isinstance(x, FeatureDataset):
            x = self.batches(x)
        if isinstance(validation_data, FeatureDataset):
            validation_data = self.batches(validation_data, shuffle=False)
        return fit_with_metrics(
            model, score_callback, x, validation_data=validation_data, **kwargs
        )
