"""The hyperparameters of a captioning run, saved beside its models."""

import dataclasses

from vidattn.models.caption_model_factory import CAPTION_MODELS
from vidattn.training.saved_configuration import SavedConfiguration
from vidattn.training.training_config import OPTIMIZERS
from vidattn.training.training_config import PRECISIONS
from vidattn.utils.arguments import check_fraction
from vidattn.utils.arguments import check_non_negative_int
from vidattn.utils.arguments import check_non_negative_number
from vidattn.utils.arguments import check_one_of
from vidattn.utils.arguments import check_positive_int
from vidattn.utils.arguments import check_positive_number

ATTENTION_FORMS = ("linear", "additive")
BEST_METRICS = ("METEOR", "BLEU-4", "loss")
POSITIVE_INTS = (
    "units",
    "embedding_dim",
    "batch_size",
    "epochs",
    "shuffle_buffer",
    "beam_width",
    "max_length",
    "min_count",
)
NON_NEGATIVE_INTS = ("seed", "validation_videos", "attention_images")


@dataclasses.dataclass
class CaptionTrainingConfig(SavedConfiguration):
    """Everything that decides a video-captioning training run.

    Defaults follow the thesis (section 3.2.2): one LSTM layer, a word
    embedding of n = 512, d = 4096 units, the linear location softmax,
    attention penalty lambda = 1, weight decay 1e-5, dropout 0.5 on all
    non-recurrent connections, Adam for 15 epochs, beam search of width 4.

    `units` defaults to the thesis's best, 4096, so that a run of the
    defaults is the thesis's model. At D = 1024 features on 26 frames of
    7x7 and 10,000 words, the model then has 119M weights (92M in the
    LSTM), 7 times the 17M of d = 512, and costs about as many times the
    compute per word: on a CPU, `units=512` (the default of
    `vidattn.models.VideoCaptioner`) is the practical choice.

    Attributes:
        model: `"soft_attention"` (the thesis's STA-soft) or a baseline of
            its Table 3.1: `"average_pool"`, `"first_time_step"` (see
            `vidattn.models.build_video_captioner`).
        units: the LSTM's width d (hidden state, cell state, initial state
            MLPs).
        embedding_dim: the word embedding's width n.
        attention: `"linear"` (eq. 3.2) or `"additive"`; `average_pool`
            averages uniformly and ignores it and `attention_units`.
        attention_units: width of the additive attention, `None` for
            `units`.
        attention_penalty: lambda of eq. 3.6 (the doubly stochastic
            penalty, normalised as `vidattn.models.VideoCaptioner` says).
        dropout, weight_decay: as in the thesis.
        optimizer, learning_rate, batch_size, epochs: the optimisation;
            `batch_size` counts captions.
        precision: `"float32"`, `"mixed_float16"` (NVIDIA GPUs) or
            `"mixed_bfloat16"` (CPUs and TPUs with bfloat16).
        seed: seeds the weights, the shuffles and the dropout masks of every
            epoch, so a resumed run repeats an unkilled one.
        shuffle_buffer: (video, caption) pairs in the shuffle buffer.
        max_length, min_count: the vocabulary, built from the training
            captions: words kept per caption, and times a word must occur.
        beam_width: beam search's width when validation videos are
            described (`1`: greedy decoding).
        best_metric: what chooses `best.keras`: `"METEOR"` (the default:
            what video-captioning papers select on), `"BLEU-4"` (no METEOR
            Java start-up each epoch) or `"loss"` (the validation captions'
            loss under teacher forcing, as the thesis's closest public
            relative, arctic-capgen-vid, selected).
        validation_videos: how many validation videos (the first, in the
            dataset's order) are described with beam search and scored
            after every epoch: BLEU-1..4, ROUGE-L, CIDEr, and METEOR when
            it is the best metric. 100 is MSVD's whole validation split;
            0 scores none (needs `best_metric="loss"`).
        attention_images: validation videos whose per-word attention is
            logged to TensorBoard every epoch.
    """

    model: str = "soft_attention"
    units: int = 4096
    embedding_dim: int = 512
    attention: str = "linear"
    attention_units: int = None
    attention_penalty: float = 1.0
    dropout: float = 0.5
    weight_decay: float = 1e-5
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    batch_size: int = 32
    epochs: int = 15
    precision: str = "float32"
    seed: int = 0
    shuffle_buffer: int = 256
    max_length: int = 30
    min_count: int = 1
    beam_width: int = 4
    best_metric: str = "METEOR"
    validation_videos: int = 100
    attention_images: int = 4

    def __post_init__(self):
        for name, allowed in (
            ("model", CAPTION_MODELS),
            ("attention", ATTENTION_FORMS),
            ("optimizer", OPTIMIZERS),
            ("precision", PRECISIONS),
            ("best_metric", BEST_METRICS),
        ):
            check_one_of(name, getattr(self, name), allowed)
        for name in POSITIVE_INTS:
            check_positive_int(name, getattr(self, name))
        for name in NON_NEGATIVE_INTS:
            check_non_negative_int(name, getattr(self, name))
        check_positive_int(
            "attention_units", self.attention_units, allow_none=True
        )
        check_positive_number("learning_rate", self.learning_rate)
        check_fraction("dropout", self.dropout)
        check_non_negative_number("attention_penalty", self.attention_penalty)
        check_non_negative_number("weight_decay", self.weight_decay)
        if self.validation_videos == 0 and self.best_metric != "loss":
            raise ValueError(
                "Expected validation videos to score when the best model is "
                f"chosen on {self.best_metric}. Received: validation_videos=0"
                f", best_metric={self.best_metric!r}. Score some videos "
                "(e.g. validation_videos=100), or choose on the validation "
                "loss (best_metric='loss')."
            )

    @property
    def score_metrics(self):
        """The `vidattn.metrics.caption_scores` metrics of each epoch."""
        if self.validation_videos == 0:
            return ()
        metrics = ("bleu", "rouge_l", "cider")
        return metrics + (("meteor",) if self.best_metric == "METEOR" else ())

    def model_hyperparameters(self):
        """The arguments of `vidattn.models.build_video_captioner`.

        Returns:
            A dict of hyperparameters, without the tokenizer and the
            feature metadata; `average_pool` gets no `attention` or
            `attention_units` (it fixes uniform attention, whose penalty is
            0).
        """
        hyperparameters = {
            "units": self.units,
            "embedding_dim": self.embedding_dim,
            "attention": self.attention,
            "attention_units": self.attention_units,
            "attention_penalty": self.attention_penalty,
            "dropout": self.dropout,
            "weight_decay": self.weight_decay,
            "seed": self.seed,
        }
        if self.model == "average_pool":
            del hyperparameters["attention"], hyperparameters["attention_units"]
        return hyperparameters
