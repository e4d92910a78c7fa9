import json

import keras
from keras import ops

from vidattn.layers.caption_tokenizer import END_ID
from vidattn.layers.caption_tokenizer import PADDING_ID
from vidattn.layers.gated_spatio_temporal_attention import (
    GatedSpatioTemporalAttention,
)
from vidattn.layers.lstm_state_initializer import LSTMStateInitializer
from vidattn.losses.doubly_stochastic_penalty import doubly_stochastic_penalty
from vidattn.losses.training_loss import training_loss
from vidattn.models.caption_decoder_recurrence import caption_decoder_recurrence
from vidattn.models.caption_decoder_recurrence import scanned_caption_decoder
from vidattn.models.caption_generator import CaptionGenerator
from vidattn.models.model_compilation import compile_from_saved_config
from vidattn.models.model_compilation import set_jit_compile_default
from vidattn.models.video_classifier import VideoClassifier
from vidattn.utils.arguments import check_fraction
from vidattn.utils.arguments import check_non_negative_number
from vidattn.utils.arguments import check_one_of
from vidattn.utils.arguments import check_positive_int
from vidattn.utils.arguments import check_positive_int_tuple
from vidattn.utils.feature_normalization import FEATURE_NORMALIZATIONS
from vidattn.utils.feature_normalization import divide_by_mean_norm
from vidattn.utils.feature_shapes import check_feature_cube_shape
from vidattn.utils.tensor_checks import assert_all

VIDEO_INPUTS = ("every_step", "first_step")
PENALTY_TARGETS = ("uniform", "literal")
OUTPUT_ACTIVATIONS = (None, "tanh")
IMPLEMENTATIONS = ("autodiff", "sequence_gradient")

# The non-recurrent connections that dropout reaches, and the width of each.
DROPOUT_CONNECTIONS = (
    "word",
    "lstm_context",
    "output_hidden",
    "output_context",
    "deep_output",
)


@keras.saving.register_keras_serializable(package="vidattn")
class VideoCaptioner(CaptionGenerator):
    """The spatio-temporal soft-attention video captioner of the thesis, ch. 3.

    An LSTM decoder writes a caption one word at a time while attending over
    all `N*K*K` space-time locations of the video's feature cubes:

    - eq. 3.1: the gates `(i, f, g, o)` are one affine map of
      `[E y(t-1), h(t-1), x_t]` (forget bias 1 at initialization);
    - eqs. 3.2, 3.3, 3.5: `x_t = beta_t * sum_i l_t,i X_i`, from
      `vidattn.layers.GatedSpatioTemporalAttention` on `h(t-1)`;
    - eq. 3.4, the deep output layer:
      `logits_t = W_p(E y(t-1) + W_h h_t + W_x x_t) + b_p`, with an optional
      tanh before `W_p` (`output_activation="tanh"`, as the released code of
      its closest public relative, arctic-capgen-vid, had);
    - `c0`, `h0` from MLPs of the mean feature over the valid locations
      (`vidattn.layers.LSTMStateInitializer`, eq. 2.6).

    Dropout reaches every non-recurrent connection (the word embedding, `x_t`
    into the LSTM, `h_t` and `x_t` into the output, the deep output before
    `W_p`) with masks fixed over the steps of a caption; never the recurrence.

    The baselines of the thesis's Table 3.1 are the same model with
    `attention="uniform"` (STA-avg-pool) or `video_input="first_step"`
    (STA-first-time-step: the attended video enters at the first step only,
    zeros afterwards, where the attention and beta outputs are zeros).

    The features are read at a scale that does not depend on the backbone
    (`feature_normalization="mean_norm"`): each video's cubes divided by
    the mean L2 norm of its locations. Last-conv maps of ImageNet CNNs have
    location norms of 20-90 (EfficientNet-Lite0: 25 on background, 40 on
    objects); at that scale the attention's tanh and the LSTM's gates
    saturate: on the rendered captioning check (`vidattn check --task
    captioning`, seed 0) attention moved off every object (3e-7 of each
    object word's attention on the object it names, uniform 0.020) and
    BLEU-4 was 0.67; normalized, BLEU-4 was 0.91 (STA-first-time-step:
    0.71), with 8x more attention on the named object than on the others.

    Sentences come from `generate()` (beam search or greedy decoding, from
    `vidattn.models.CaptionGenerator`). One step function serves training
    and decoding: `step()` is
    `recurrent_step()` (the part the recurrence needs) followed by
    `output_logits()`. Teacher forcing (`call`) runs the recurrence over
    the words (see `implementation`) and the output layer once over all of
    them.
    The video's part of the attention is computed once per video
    (`prepare_context`), and the words' part of the gates once per caption.

    The loss (thesis eq. 3.6), per caption, averaged over the batch: the
    negative log-likelihood of the whole caption (summed over its words,
    padding excluded), plus `attention_penalty` times the doubly stochastic
    penalty `sum_i (target - sum_t l_t,i)^2` over the valid locations and
    words, plus `weight_decay` times the sum of squared trainable weights.
    With `penalty_target="literal"` the target is the thesis's 1; with
    `"uniform"` (default) it is (words / valid locations), which attention
    can reach: ~10 words cannot cover 1274 locations once each, and the
    literal penalty starts near 1,200 and swamps the likelihood.

    Args:
        tokenizer: A Keras layer with a `vocabulary_size` (attribute or
            method) that maps text to ids, e.g.
            `vidattn.layers.CaptionTokenizer`; tracked, so the vocabulary is
            saved with the model. Give it or `vocabulary_size`.
        vocabulary_size: int. Number of word ids (special ids included) when
            no tokenizer is given.
        units: int. The LSTM's width d. Defaults to `512`.
        embedding_dim: int. The word embedding's width n. Defaults to `512`.
        attention: str. `"linear"` (thesis eq. 3.2, default), `"additive"`
            (Show, Attend and Tell) or `"uniform"` (average pooling).
        attention_units: int or `None`. Width of the additive attention;
            defaults to `units`.
        video_input: str. `"every_step"` (default) or `"first_step"`.
        gate_hidden_units: tuple of int. Hidden tanh layers of `f_beta`.
            Defaults to `()`.
        state_hidden_units: tuple of int. Hidden tanh layers of the initial
            state MLPs. Defaults to `()`.
        output_activation: `None` (default, eq. 3.4) or `"tanh"`.
        dropout: float in `[0, 1)`. Defaults to `0.5`.
        attention_penalty: float. The penalty's weight lambda. Defaults to
            `1.0` (the thesis's best).
        penalty_target: str. `"uniform"` (default) or `"literal"`.
        weight_decay: float. The weight decay gamma. Defaults to `1e-5`.
        feature_normalization: `"mean_norm"` (default) or `None`. Whether
            each video's features are divided by the mean L2 norm of its
            valid locations before anything reads them (see
            `normalize_features`).
        feature_metadata: dict or `None`. The features the model reads (see
            `vidattn.models.VideoClassifier`).
        seed: int or `None`. Seed of the dropout masks.
        implementation: str. How teacher forcing's loop over the words is
            differentiated: `"autodiff"` (default) scans `recurrent_step()`
            with `keras.ops.scan` and lets the backend differentiate it
            (each weight gradient summed word by word);
            `"sequence_gradient"` runs the same computation with a
            hand-written backward loop through the words that computes
            every weight gradient once per batch, as one matmul over all
            `words * batch` rows (`vidattn.models.caption_decoder_recurrence`).
            Both give the same outputs and gradients (to float rounding);
            decoding (`step()`) is the same for both. On one CPU thread at
            the thesis's sizes the sequence gradient trained 1.09x as fast
            at d = 4096 with linear attention, as fast at d = 512, and
            0.74x as fast with additive attention (whose time goes to
            passes over a `(batch, locations, attention_units)` tensor per
            word, which it recomputes rather than stores): hence not the
            default.
        **kwargs: Base model arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: A dict `{"features": (batch, N, K, K, D) float,
            "frame_mask": (batch, N) bool (optional),
            "caption_ids": (batch, length) int}`; each caption is
            `[START, w1, ..., wk, END, 0, ...]` with at least one word.
        training: Python bool. Whether dropout is active.

    Returns:
        A dict of float32 tensors over the `length - 1` predicted positions:
        `"word_logits"` `(batch, length - 1, vocabulary_size)`,
        `"attention"` `(batch, length - 1, N, K, K)` and `"beta"`
        `(batch, length - 1)`.

    Raises:
        ValueError: if an argument is out of range; the features are not of
            shape `(batch, N, K, K, D)`; the caption ids are not a 2-D
            integer tensor; a caption has no word or a video no valid frame
            (in a TensorFlow graph, `InvalidArgumentError` with the message).

    Example:

    >>> import numpy as np, vidattn
    >>> x = {
    ...     "features": np.random.rand(2, 3, 2, 2, 8).astype("float32"),
    ...     "caption_ids": np.array([[2, 5, 6, 3], [2, 7, 3, 0]], "int32"),
    ... }
    >>> model = vidattn.models.VideoCaptioner(
    ...     vocabulary_size=10, units=16, embedding_dim=12
    ... )
    >>> model.compile()
    >>> history = model.fit(x, epochs=1, verbose=0)
    >>> model(x)["word_logits"].shape
    TensorShape([2, 3, 10])

    Reference:
        S. Sharma, "Action Recognition and Video Description using Visual
        Attention", MSc thesis, University of Toronto, 2016, chapter 3.
    """

    def __init__(
        self,
        tokenizer=None,
        vocabulary_size=None,
        units=512,
        embedding_dim=512,
        attention="linear",
        attention_units=None,
        video_input="every_step",
        gate_hidden_units=(),
        state_hidden_units=(),
        output_activation=None,
        dropout=0.5,
        attention_penalty=1.0,
        penalty_target="uniform",
        weight_decay=1e-5,
        feature_normalization="mean_norm",
        feature_metadata=None,
        seed=None,
        implementation="autodiff",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if (tokenizer is None) == (vocabulary_size is None):
            raise ValueError(
                "Expected exactly one of `tokenizer` (a layer that maps text "
                "to ids) and `vocabulary_size` (an int, for ids only). "
                f"Received: tokenizer={tokenizer!r}, "
                f"vocabulary_size={vocabulary_size!r}"
            )
        if tokenizer is not None:
            size = getattr(tokenizer, "vocabulary_size", None)
            if size is None:
                raise ValueError(
                    "Expected `tokenizer` to be a Keras layer with a "
                    "`vocabulary_size`, such as vidattn.layers."
                    f"CaptionTokenizer. Received: tokenizer={tokenizer!r}"
                )
            vocabulary_size = size() if callable(size) else size
        self.tokenizer = tokenizer
        self.vocabulary_size = check_positive_int(
            "vocabulary_size", vocabulary_size
        )
        self.units = check_positive_int("units", units)
        self.embedding_dim = check_positive_int("embedding_dim", embedding_dim)
        self.attention = attention
        self.attention_units = attention_units
        self.video_input = check_one_of(
            "video_input", video_input, VIDEO_INPUTS
        )
        self.gate_hidden_units = check_positive_int_tuple(
            "gate_hidden_units", gate_hidden_units
        )
        self.state_hidden_units = check_positive_int_tuple(
            "state_hidden_units", state_hidden_units
        )
        self.output_activation = check_one_of(
            "output_activation", output_activation, OUTPUT_ACTIVATIONS
        )
        self.dropout = check_fraction("dropout", dropout)
        self.attention_penalty = check_non_negative_number(
            "attention_penalty", attention_penalty
        )
        self.penalty_target = check_one_of(
            "penalty_target", penalty_target, PENALTY_TARGETS
        )
        self.weight_decay = check_non_negative_number(
            "weight_decay", weight_decay
        )
        self.feature_normalization = check_one_of(
            "feature_normalization",
            feature_normalization,
            FEATURE_NORMALIZATIONS,
        )
        # Kept as JSON text: attribute tracking would wrap a dict.
        self._feature_metadata = json.dumps(
            VideoClassifier._check_feature_metadata(feature_metadata)
        )
        self.seed = seed
        self.implementation = check_one_of(
            "implementation", implementation, IMPLEMENTATIONS
        )
        self.seed_generator = keras.random.SeedGenerator(seed)

        self.word_embedding = keras.layers.Embedding(
            self.vocabulary_size, self.embedding_dim, name="word_embedding"
        )
        self.state_initializer = LSTMStateInitializer(
            self.units,
            hidden_units=self.state_hidden_units,
            name="state_initializer",
        )
        self.attention_layer = GatedSpatioTemporalAttention(
            attention,
            attention_units=attention_units,
            gate_hidden_units=self.gate_hidden_units,
            name="attention",
        )
        self.output_hidden_projection = keras.layers.Dense(
            self.embedding_dim, use_bias=False, name="output_hidden_projection"
        )
        self.output_context_projection = keras.layers.Dense(
            self.embedding_dim, use_bias=False, name="output_context_projection"
        )
        self.word_logits_layer = keras.layers.Dense(
            self.vocabulary_size, dtype="float32", name="word_logits"
        )

    @property
    def feature_metadata(self):
        """The features the model reads: a dict (a new copy), or `None`."""
        return json.loads(self._feature_metadata)

    @staticmethod
    def unpack_inputs(inputs):
        """`(features, frame_mask, caption_ids)` of a checked input dict."""
        if not isinstance(inputs, dict) or not {
            "features",
            "caption_ids",
        } <= set(inputs):
            received = sorted(inputs) if isinstance(inputs, dict) else inputs
            raise ValueError(
                'Expected a dict input with the keys "features" and '
                '"caption_ids" (and optionally "frame_mask"). Received: '
                f"{received!r}"
            )
        return (
            inputs["features"],
            inputs.get("frame_mask"),
            inputs["caption_ids"],
        )

    def build(self, input_shape):
        if isinstance(input_shape, dict) and "caption_ids" in input_shape:
            ids_shape = tuple(input_shape["caption_ids"])
            if len(ids_shape) != 2:
                raise ValueError(
                    "Expected caption ids of shape (batch, length). "
                    f"Received: shape={ids_shape}"
                )
        shape, grid_size, channels = check_feature_cube_shape(input_shape)
        self.feature_grid = (grid_size, grid_size, channels)
        batch = shape[0]
        self.word_embedding.build((batch,))
        self.state_initializer.build(
            (batch, shape[1], grid_size * grid_size, channels)
        )
        self.attention_layer.build(shape, (batch, self.units))
        units, width = self.units, 4 * self.units
        self.input_kernel = self.add_weight(
            name="input_kernel",
            shape=(self.embedding_dim, width),
            initializer="glorot_uniform",
        )
        self.recurrent_kernel = self.add_weight(
            name="recurrent_kernel",
            shape=(units, width),
            initializer="orthogonal",
        )
        self.context_kernel = self.add_weight(
            name="context_kernel",
            shape=(channels, width),
            initializer="glorot_uniform",
        )
        self.lstm_bias = self.add_weight(
            name="lstm_bias",
            shape=(width,),
            initializer=lambda shape, dtype=None: ops.concatenate(
                [
                    ops.zeros((units,), dtype),
                    ops.ones((units,), dtype),
                    ops.zeros((2 * units,), dtype),
                ]
            ),
        )
        self.output_hidden_projection.build((batch, units))
        self.output_context_projection.build((batch, channels))
        self.word_logits_layer.build((batch, self.embedding_dim))
        self.built = True

    def _cast(self, weight):
        # The step runs outside `__call__` in a decoder, where Keras does not
        # autocast the weights.
        return ops.cast(weight, self.compute_dtype)

    def dropout_masks(self, batch_size):
        """The dropout masks of one batch of captions, or `None` (no dropout).

        Args:
            batch_size: int or scalar tensor.

        Returns:
            A dict of `(batch, width)` masks in the compute dtype, one per
            connection of `DROPOUT_CONNECTIONS`, kept over the steps of a
            caption; `None` when `dropout` is 0.
        """
        if self.dropout == 0:
            return None
        channels = self.feature_grid[-1]
        widths = {
            "word": self.embedding_dim,
            "lstm_context": channels,
            "output_hidden": self.units,
            "output_context": channels,
            "deep_output": self.embedding_dim,
        }
        return {
            key: keras.random.dropout(
                ops.ones((batch_size, widths[key]), dtype=self.compute_dtype),
                rate=self.dropout,
                seed=self.seed_generator,
            )
            for key in DROPOUT_CONNECTIONS
        }

    @staticmethod
    def _dropped(values, dropout_masks, key):
        if dropout_masks is None:
            return values
        mask = dropout_masks[key]
        if len(values.shape) == 3:
            mask = ops.expand_dims(mask, 1)
        return values * mask

    def normalize_features(self, features, frame_mask=None):
        """The features as the model reads them (`feature_normalization`).

        With `"mean_norm"`, each video's cubes are divided by the mean L2
        norm of its valid locations, computed in float32: a location's
        vector then has a norm near 1, and a location's norm relative to
        the others (an object's slice is often larger than the
        background's) is kept. With `None`, the features as they are.

        Args:
            features: `(batch, N, K, K, D)`.
            frame_mask: Optional boolean `(batch, N)`.

        Returns:
            The features, in the compute dtype.
        """
        features = ops.cast(features, self.compute_dtype)
        if self.feature_normalization is None:
            return features
        return divide_by_mean_norm(features, frame_mask)

    def prepare_context(self, features, frame_mask=None):
        """The video's part of the attention, once per video (see
        `vidattn.layers.GatedSpatioTemporalAttention.prepare`), of the
        normalized features."""
        # The features are data: no gradient flows to them, and saying so
        # spares the loop's backward pass a (batch, N*K*K, D) gradient per
        # word.
        features = ops.stop_gradient(
            self.normalize_features(features, frame_mask)
        )
        return self.attention_layer.prepare(features, frame_mask)

    def initial_states(self, features, frame_mask=None):
        """The decoder's states before the first word.

        Args:
            features: `(batch, N, K, K, D)`.
            frame_mask: Optional boolean `(batch, N)`.

        Returns:
            A list of tensors with a leading batch axis, in the compute
            dtype: `[h0, c0]` (each `(batch, units)`), and with
            `video_input="first_step"` a third, `(batch, 1)`: 1 while the
            video is still to enter, then 0.
        """
        batch_size, frames = ops.shape(features)[:2]
        features = self.normalize_features(features, frame_mask)
        sequence = ops.reshape(
            features, (batch_size, frames, -1, features.shape[-1])
        )
        states = list(self.state_initializer(sequence, mask=frame_mask))
        if self.video_input == "first_step":
            states.append(ops.ones((batch_size, 1), self.compute_dtype))
        return states

    def embed_words(self, word_ids, dropout_masks=None):
        """`E y` of ids of any shape, with the word dropout."""
        embedded = ops.cast(self.word_embedding(word_ids), self.compute_dtype)
        return self._dropped(embedded, dropout_masks, "word")

    def word_gates(self, embedded_words):
        """The words' part of the gates (with the bias), for all at once."""
        return ops.matmul(
            embedded_words, self._cast(self.input_kernel)
        ) + self._cast(self.lstm_bias)

    def recurrent_step(self, word_gates, states, context, dropout_masks=None):
        """The part of a step that the recurrence needs (eqs. 3.1-3.3, 3.5).

        Args:
            word_gates: What `word_gates()` gives for the previous words,
                `(batch, 4 * units)`.
            states: The list from `initial_states()` or the previous step.
            context: What `prepare_context()` returned.
            dropout_masks: What `dropout_masks()` returned, or `None`.

        Returns:
            A tuple `(new_states, expected_feature, attention_weights,
            beta)`: `x_t` `(batch, D)` in the compute dtype, the float32
            location softmax `(batch, N*K*K)` and gate `(batch,)`.
        """
        hidden, cell = states[:2]
        expected, weights, beta = self.attention_layer.attend(context, hidden)
        new_states = []
        if self.video_input == "first_step":
            video_still_to_enter = states[2]
            expected = expected * video_still_to_enter
            entered = ops.cast(video_still_to_enter, "float32")
            weights = weights * entered
            beta = beta * entered[:, 0]
            new_states = [ops.zeros_like(video_still_to_enter)]
        gates = (
            word_gates
            + ops.matmul(hidden, self._cast(self.recurrent_kernel))
            + ops.matmul(
                self._dropped(expected, dropout_masks, "lstm_context"),
                self._cast(self.context_kernel),
            )
        )
        input_gate, forget_gate, candidate, output_gate = ops.split(
            gates, 4, axis=-1
        )
        cell = ops.sigmoid(forget_gate) * cell + ops.sigmoid(
            input_gate
        ) * ops.tanh(candidate)
        hidden = ops.sigmoid(output_gate) * ops.tanh(cell)
        return [hidden, cell, *new_states], expected, weights, beta

    def output_logits(
        self, embedded_words, hidden, expected_feature, dropout_masks=None
    ):
        """Float32 word logits of the deep output layer (eq. 3.4).

        Takes one step's `(batch, ...)` tensors or a sequence's
        `(batch, steps, ...)`.
        """
        deep = (
            embedded_words
            + self.output_hidden_projection(
                self._dropped(hidden, dropout_masks, "output_hidden")
            )
            + self.output_context_projection(
                self._dropped(expected_feature, dropout_masks, "output_context")
            )
        )
        if self.output_activation == "tanh":
            deep = ops.tanh(deep)
        deep = self._dropped(deep, dropout_masks, "deep_output")
        return self.word_logits_layer(deep)

    def step(self, word_ids, states, context, dropout_masks=None):
        """One decoding step: the previous words to the next words' logits.

        Args:
            word_ids: int `(batch,)`, the previous words `y(t-1)`.
            states: The list from `initial_states()` or the previous step.
            context: What `prepare_context()` returned.
            dropout_masks: What `dropout_masks()` returned, or `None`.

        Returns:
            A tuple `(new_states, word_logits, attention_weights, beta)`:
            float32 logits `(batch, vocabulary_size)`, location softmax
            `(batch, N*K*K)` and gate `(batch,)`.
        """
        embedded = self.embed_words(word_ids, dropout_masks)
        new_states, expected, weights, beta = self.recurrent_step(
            self.word_gates(embedded), states, context, dropout_masks
        )
        logits = self.output_logits(
            embedded, new_states[0], expected, dropout_masks
        )
        return new_states, logits, weights, beta

    def check_captions(self, caption_ids):
        """The ids as int32, unless they are not 2-D captions with words.

        Ids held in floats are cast, as `keras.layers.Embedding` casts them
        (Keras traces a model's default SavedModel signature with float
        inputs).
        """
        dtype = keras.backend.standardize_dtype(caption_ids.dtype)
        numeric = "int" in dtype or "float" in dtype
        if not numeric or len(caption_ids.shape) != 2:
            raise ValueError(
                "Expected caption ids as an integer tensor of shape (batch, "
                "length): [START, w1, ..., wk, END, 0, ...]. Received: "
                f"dtype={dtype}, shape={tuple(caption_ids.shape)}. Map the "
                "text to ids with the model's tokenizer."
            )
        caption_ids = ops.cast(caption_ids, "int32")
        targets = caption_ids[:, 1:]
        words = ops.logical_and(
            ops.not_equal(targets, PADDING_ID), ops.not_equal(targets, END_ID)
        )
        return assert_all(
            ops.any(words, axis=-1),
            "Expected every caption to have at least one word between its "
            "start and end. Received a caption with none: drop empty "
            "captions from the data.",
            caption_ids,
        )

    def call(self, inputs, training=None):
        features, frame_mask, caption_ids = self.unpack_inputs(inputs)
        caption_ids = self.check_captions(caption_ids)
        batch_size = ops.shape(features)[0]
        dropout_masks = self.dropout_masks(batch_size) if training else None
        context = self.prepare_context(features, frame_mask)
        states = self.initial_states(features, frame_mask)
        embedded = self.embed_words(caption_ids[:, :-1], dropout_masks)
        word_gates = ops.transpose(self.word_gates(embedded), (1, 0, 2))
        if self.implementation == "sequence_gradient":
            hidden, expected, weights, beta = caption_decoder_recurrence(
                self, word_gates, context, states, dropout_masks
            )
        else:
            hidden, expected, weights, beta = scanned_caption_decoder(
                self, word_gates, context, states, dropout_masks
            )
        hidden = ops.transpose(hidden, (1, 0, 2))
        expected = ops.transpose(expected, (1, 0, 2))
        logits = self.output_logits(embedded, hidden, expected, dropout_masks)
        grid_size = self.feature_grid[0]
        attention = ops.reshape(
            ops.transpose(weights, (1, 0, 2)),
            (batch_size, -1, ops.shape(features)[1], grid_size, grid_size),
        )
        return {
            "word_logits": logits,
            "attention": attention,
            "beta": ops.transpose(beta, (1, 0)),
        }

    def per_example_loss(self, caption_ids, y_pred, frame_mask=None):
        """Eq. 3.6 less the weight decay, per caption, float32 `(batch,)`."""
        targets = ops.cast(caption_ids[:, 1:], "int32")
        word_mask = ops.not_equal(targets, PADDING_ID)
        log_probabilities = ops.log_softmax(y_pred["word_logits"], axis=-1)
        target_log_probabilities = ops.squeeze(
            ops.take_along_axis(
                log_probabilities, ops.expand_dims(targets, -1), axis=-1
            ),
            -1,
        )
        loss = -ops.sum(
            target_log_probabilities * ops.cast(word_mask, "float32"), axis=-1
        )
        if self.attention_penalty > 0:
            location_mask = None
            if frame_mask is not None:
                grid_size = self.feature_grid[0]
                location_mask = ops.repeat(
                    ops.cast(frame_mask, "bool"), grid_size * grid_size, 1
                )
            loss = loss + self.attention_penalty * doubly_stochastic_penalty(
                y_pred["attention"],
                word_mask,
                target=1.0 if self.penalty_target == "literal" else "uniform",
                location_mask=location_mask,
            )
        return loss

    def compute_loss(
        self, x=None, y=None, y_pred=None, sample_weight=None, training=True
    ):
        _, frame_mask, caption_ids = self.unpack_inputs(x)
        example_loss = self.per_example_loss(caption_ids, y_pred, frame_mask)
        return training_loss(
            example_loss, sample_weight, self.weight_decay, model=self
        )

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        caption_ids = self.unpack_inputs(x)[2]
        targets = caption_ids[:, 1:]
        word_weight = ops.cast(ops.not_equal(targets, PADDING_ID), "float32")
        if sample_weight is not None:
            word_weight = word_weight * ops.cast(
                ops.reshape(sample_weight, (-1, 1)), "float32"
            )
        return super().compute_metrics(
            x, targets, y_pred["word_logits"], word_weight
        )

    def compile(self, optimizer="adam", metrics="auto", **kwargs):
        """Compiles with the thesis's defaults: Adam and the loss of eq. 3.6.

        Args:
            optimizer: Optimizer name or instance. Defaults to Adam with
                learning rate 1e-3.
            metrics: `"auto"` for the accuracy of the next word over the
                caption's words (padding excluded), or a list of Keras metrics
                of `(target ids, word logits)`.
            **kwargs: Other `keras.Model.compile()` arguments. `loss` is not
                accepted: the loss is the model's. `jit_compile` defaults to
                `False` on the TensorFlow backend, where `True` is refused,
                and to Keras's `"auto"` on the others (JAX compiles each
                training step whole with XLA).

        Raises:
            ValueError: if `loss` is given, or `jit_compile=True` on the
                TensorFlow backend.
        """
        if "loss" in kwargs:
            raise ValueError(
                "Expected no `loss` argument: the captioner computes the loss "
                "of thesis eq. 3.6 itself (set `attention_penalty`, "
                "`penalty_target` and `weight_decay` on the model). "
                f"Received: loss={kwargs['loss']!r}"
            )
        if (
            kwargs.get("jit_compile") is True
            and keras.backend.backend() == "tensorflow"
        ):
            raise ValueError(
                "Expected jit_compile=False on the TensorFlow backend: XLA "
                "cannot differentiate the unbounded loop of `keras.ops.scan` "
                "over the words there, and the same steps in an unrolled "
                "loop trained no faster on CPU under XLA (see "
                "benchmarks/video_captioner_throughput.py --compare). "
                "Received: jit_compile=True. Compile with jit_compile=False "
                "(the default), or train on the JAX backend."
            )
        if metrics == "auto":
            metrics = [keras.metrics.SparseCategoricalAccuracy("word_accuracy")]
        set_jit_compile_default(kwargs)
        super().compile(optimizer=optimizer, metrics=metrics, **kwargs)

    def compile_from_config(self, config):
        compile_from_saved_config(self, config)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "tokenizer": None
                if self.tokenizer is None
                else keras.saving.serialize_keras_object(self.tokenizer),
                "vocabulary_size": None
                if self.tokenizer is not None
                else self.vocabulary_size,
                "units": self.units,
                "embedding_dim": self.embedding_dim,
                "attention": self.attention,
                "attention_units": self.attention_units,
                "video_input": self.video_input,
                "gate_hidden_units": list(self.gate_hidden_units),
                "state_hidden_units": list(self.state_hidden_units),
                "output_activation": self.output_activation,
                "dropout": self.dropout,
                "attention_penalty": self.attention_penalty,
                "penalty_target": self.penalty_target,
                "weight_decay": self.weight_decay,
                "feature_normalization": self.feature_normalization,
                "feature_metadata": self.feature_metadata,
                "seed": self.seed,
                "implementation": self.implementation,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        # Captioners saved before `feature_normalization` read raw features.
        config.setdefault("feature_normalization", None)
        if config.get("tokenizer") is not None:
            config["tokenizer"] = keras.saving.deserialize_keras_object(
                config["tokenizer"]
            )
        return cls(**config)
