"""Caption words to ids and back, with the vocabulary saved in the model.

Captioning is string work, which is TensorFlow's job: this layer uses
`tf.strings` and `keras.layers.StringLookup`, so it runs under the
TensorFlow backend or inside `tf.data` (`decode_ids` needs neither).
"""

import collections
import re

import keras
import numpy as np

from vidattn.utils.arguments import check_positive_int

PADDING_ID = 0
UNKNOWN_ID = 1
START_ID = 2
END_ID = 3
PADDING_TOKEN = ""
UNKNOWN_TOKEN = "[UNK]"
START_TOKEN = "<start>"
END_TOKEN = "<end>"
SPECIAL_TOKENS = (PADDING_TOKEN, UNKNOWN_TOKEN, START_TOKEN, END_TOKEN)

PUNCTUATIONS = (
    "''",
    "'",
    "``",
    "`",
    "-LRB-",
    "-RRB-",
    "-LCB-",
    "-RCB-",
    ".",
    "?",
    "!",
    ",",
    ":",
    "-",
    "--",
    "...",
    ";",
)
"""The tokens that coco-caption's `PTBTokenizer` drops after tokenizing."""

_ABBREVIATIONS = (
    "co",
    "corp",
    "dr",
    "etc",
    "inc",
    "jr",
    "ltd",
    "mr",
    "mrs",
    "ms",
    "prof",
    "sr",
    "st",
    "vs",
)
# Regex rewrites, in order, that turn a lower-cased caption padded with
# spaces into Stanford PTBTokenizer's tokens separated by spaces. RE2 has no
# look-around: spaces are doubled first so that neighbouring matches each
# find their own space, and protected characters are marked with \x01
# (a kept period) or \x02 (a kept apostrophe) and restored afterwards.
_PTB_REWRITES = (
    (r"\s+", "  "),
    ("\"|``|''", " "),
    ("\u2026|\\.{2,}", " ... "),
    (r"-{2,}", " -- "),
    (r"(\s)(-+)", r"\1\2 "),
    (r"(-+)(\s)", r" \1\2"),
    (r"\(", " -lrb- "),
    (r"\)", " -rrb- "),
    (r"\[", " -lsb- "),
    (r"\]", " -rsb- "),
    (r"\{", " -lcb- "),
    (r"\}", " -rcb- "),
    (r"([;$%&#])", r" \1 "),
    (r"([?!]+)", r" \1 "),
    # A comma or colon between digits belongs to a number (1,000; 10:30).
    (r"([^0-9])([,:])", r"\1 \2 "),
    (r"([,:])([^0-9])", r" \1 \2"),
    # A period ending a word is split off, except after an abbreviation.
    (
        r"(\s)(" + "|".join(_ABBREVIATIONS) + r"|[a-z](\.[a-z])+)\.(\s)",
        "\\1\\2\x01\\4",
    ),
    (r"([^\s.])\.(\s)", r"\1 .\2"),
    ("\x01", "."),
    (r"(\s)'t(is|was)(\s)", "\\1\x02t \\2\\3"),
    (r"(\s)(`+|'+)", r"\1\2 "),
    (r"([^\s])(`+|'+)(\s)", r"\1 \2\3"),
    (r"([^\s'])'(s|m|d|ll|re|ve)(\s)", r"\1 '\2\3"),
    (r"([^\s'])n't(\s)", r"\1 n't\2"),
    ("\x02", "'"),
    (r"(\s)(can)(not)(\s)", r"\1\2 \3\4"),
    (r"(\s)(gon|wan)(na)(\s)", r"\1\2 \3\4"),
    (r"(\s)(got)(ta)(\s)", r"\1\2 \3\4"),
    (r"(\s)(lem|gim)(me)(\s)", r"\1\2 \3\4"),
)
_PUNCTUATION_PATTERN = "|".join(re.escape(token) for token in PUNCTUATIONS)
_ADAPT_CHUNK = 4096


def _tensorflow():
    """TensorFlow, imported on first use so that `import vidattn` does not."""
    import tensorflow

    return tensorflow


def _join_message(parts):
    """Joins str and scalar string tensors: a str eagerly, else a tensor."""
    tf = _tensorflow()
    if tf.executing_eagerly():
        return "".join(
            part if isinstance(part, str) else part.numpy().decode("utf-8")
            for part in parts
        )
    return tf.strings.join(parts)


def _iterate_strings(captions):
    """Yields each caption of a list, iterable or `tf.data.Dataset` as str."""
    tf = _tensorflow()
    if isinstance(captions, (str, bytes)):
        raise ValueError(
            "Expected `captions` to be an iterable of strings (a list, a "
            "generator or a tf.data.Dataset of strings); received a single "
            f"string {captions!r}. Wrap it in a list."
        )
    if isinstance(captions, tf.data.Dataset):
        captions = captions.as_numpy_iterator()
    for item in captions:
        if isinstance(item, tf.Tensor):
            item = item.numpy()
        for caption in np.asarray(item, dtype=object).reshape(-1):
            if isinstance(caption, bytes):
                caption = caption.decode("utf-8")
            if not isinstance(caption, str):
                raise ValueError(
                    "Expected `captions` to hold strings. Received: "
                    f"{caption!r} of type {type(caption).__name__}."
                )
            yield caption


def _empty_caption(where, caption):
    """The parts of the message for a caption without words."""
    return [
        where,
        ": expected a caption with at least one word after standardization "
        "(lower case, punctuation removed). Received: caption «",
        caption,
        "». Remove it or write it in words.",
    ]


@keras.saving.register_keras_serializable(package="vidattn")
class CaptionTokenizer(keras.layers.Layer):
    """Turns captions into fixed-length word ids, and ids back into words.

    A caption is standardized as coco-caption's `PTBTokenizer` does before
    scoring (lower case, clitics split off: "don't" -> "do n't", "man's" ->
    "man 's", punctuation tokens dropped), so that the model learns the
    words it is scored on. Its words are then looked up in the vocabulary
    and framed as `[START_ID, w1, ..., wk, END_ID, 0, ...]`.

    The vocabulary lives in `keras.layers.StringLookup` layers and in this
    layer's config, so it is saved inside a `.keras` file of any model that
    holds the tokenizer, and its lookup tables inside a SavedModel.

    Ids: `PADDING_ID = 0` (`""`), `UNKNOWN_ID = 1` (`"[UNK]"`), `START_ID =
    2` (`"<start>"`), `END_ID = 3` (`"<end>"`), and the vocabulary's words
    from 4, by count descending and then alphabetically.

    Standardization differs from Stanford's PTBTokenizer (3.4.1, as
    coco-caption runs it) only on rare inputs: an apostrophe inside a word
    other than a clitic is kept ("y'all", PTB: "y' all"; "6'2", PTB: "6 2"),
    non-ASCII symbols stay attached to their word ("cafe´", PTB: "cafe ´"),
    and abbreviations are only those of a short list (mr., dr., etc., ...)
    and letter-period acronyms (u.s.). Like PTBTokenizer run with
    `-lowerCase`, brackets become the words `-lrb-`, `-rrb-`, `-lsb-`, ...,
    which its punctuation list (in upper case) does not remove.

    Args:
        vocabulary: list of str or None. The words, without the special
            tokens, in id order from 4; each must be a standardized token.
            None leaves the tokenizer empty until `adapt`. Defaults to
            `None`.
        max_length: int. Words kept per caption; longer captions are cut
            (`adapt` counts them). Defaults to `30`.
        min_count: int. Times `adapt` must see a word to keep it. Defaults
            to `1`.
        **kwargs: Base layer arguments, such as `name`.

    Call arguments:
        captions: string tensor of shape `(batch,)` or a scalar string.
        sources: optional string tensor of shape `(batch,)` naming where
            each caption comes from (e.g. `"video 'v1'"`), quoted in error
            messages instead of its position in the batch.

    Returns:
        int32 tensor of shape `(batch, max_length + 2)` (or
        `(max_length + 2,)` for a scalar caption).

    Raises:
        ValueError: for an invalid argument or vocabulary, and, eagerly, for
            a caption without words after standardization or whose words
            are all unknown, or a call before the tokenizer has a
            vocabulary. Inside a `tf.function` or `tf.data` pipeline the
            caption checks raise `tf.errors.InvalidArgumentError` with the
            same message.

    Example:

    >>> import vidattn
    >>> tokenizer = vidattn.layers.CaptionTokenizer(max_length=5)
    >>> tokenizer.adapt(["A man is slicing a tomato.", "A man cooks."])
    >>> tokenizer(["a man cooks"]).numpy()
    array([[2, 4, 5, 6, 3, 0, 0]], dtype=int32)
    >>> tokenizer.decode_ids([[2, 4, 5, 6, 3, 0, 0]])
    ['a man cooks']

    Reference:
        Chen et al., "Microsoft COCO Captions: Data Collection and
        Evaluation Server", 2015 (coco-caption's PTB tokenization).
    """

    def __init__(self, vocabulary=None, max_length=30, min_count=1, **kwargs):
        kwargs.setdefault("trainable", False)
        super().__init__(**kwargs)
        self.max_length = check_positive_int("max_length", max_length)
        self.min_count = check_positive_int("min_count", min_count)
        # Captions stay TensorFlow strings on every Keras backend, as they do
        # for `keras.layers.StringLookup`: Keras must not convert them to
        # the backend's tensors (JAX has no strings).
        self._convert_input_args = False
        self._allow_non_tensor_positional_args = True
        self.num_adapted_captions = 0
        self.num_truncated_captions = 0
        lookup_options = dict(mask_token=PADDING_TOKEN, oov_token=UNKNOWN_TOKEN)
        self._lookup = keras.layers.StringLookup(
            **lookup_options, name="lookup"
        )
        self._inverse_lookup = keras.layers.StringLookup(
            **lookup_options, invert=True, name="inverse_lookup"
        )
        # The tokenizer runs in tf.data, never inside a model's train step:
        # a model that holds it (`VideoCaptioner`) stays XLA-compilable, as
        # JAX compiles every step (Keras asks each sublayer).
        for layer in (self, self._lookup, self._inverse_lookup):
            layer.supports_jit = True
        self.vocabulary = None
        if vocabulary is not None:
            self.set_vocabulary(vocabulary)
        self.built = True

    def set_vocabulary(self, vocabulary):
        """Sets the words, in id order from 4, without the special tokens.

        Raises:
            ValueError: if `vocabulary` is empty, repeats a word, holds a
                special token, or a word that standardization never gives
                (upper case, spaces, a punctuation token).
        """
        if isinstance(vocabulary, (str, bytes)) or not all(
            isinstance(word, str) for word in vocabulary
        ):
            raise ValueError(
                "Expected `vocabulary` to be a list of str. Received: "
                f"vocabulary={vocabulary!r}"
            )
        vocabulary = list(vocabulary)
        if not vocabulary:
            raise ValueError(
                "Expected `vocabulary` to hold at least one word. Received: "
                "vocabulary=[]"
            )
        special = sorted(set(vocabulary) & set(SPECIAL_TOKENS))
        repeated = sorted(
            word for word, n in collections.Counter(vocabulary).items() if n > 1
        )
        impossible = [
            word
            for word in vocabulary
            if not word
            or word != word.lower()
            or len(word.split()) != 1
            or word in PUNCTUATIONS
        ]
        for problem, words in (
            ("special tokens, which take ids 0 to 3", special),
            ("repeated words", repeated),
            ("words that standardization never gives", impossible),
        ):
            if words:
                raise ValueError(
                    "Expected `vocabulary` to hold unique standardized words "
                    "(as `standardize` returns them) without the special "
                    f"tokens {list(SPECIAL_TOKENS)}. Received {problem}: "
                    f"{words[:10]}"
                )
        self.vocabulary = vocabulary
        full = [START_TOKEN, END_TOKEN] + vocabulary
        self._lookup.set_vocabulary(full)
        self._inverse_lookup.set_vocabulary(full)

    @property
    def vocabulary_size(self):
        """Number of ids, the 4 special tokens included (0 if empty)."""
        if self.vocabulary is None:
            return 0
        return len(SPECIAL_TOKENS) + len(self.vocabulary)

    def get_vocabulary(self):
        """Returns the token of every id, from 0: `["", "[UNK]", ...]`."""
        return list(SPECIAL_TOKENS) + list(self.vocabulary or [])

    def standardize(self, captions):
        """Tokenizes captions as coco-caption's PTBTokenizer does.

        Args:
            captions: string tensor of any shape (or what converts to one).

        Returns:
            A string tensor of the same shape: each caption's tokens in
            lower case, joined by single spaces, without the tokens of
            `PUNCTUATIONS`. Runs in a graph (`tf.strings` regex ops).
        """
        tf = _tensorflow()
        captions = tf.convert_to_tensor(captions, tf.string)
        text = tf.strings.lower(tf.reshape(captions, [-1]), encoding="utf-8")
        text = tf.strings.join([" ", text, " "])
        for pattern, rewrite in _PTB_REWRITES:
            text = tf.strings.regex_replace(text, pattern, rewrite)
        tokens = tf.strings.split(text)
        kept = tf.logical_not(
            tf.strings.regex_full_match(
                tokens.flat_values, _PUNCTUATION_PATTERN
            )
        )
        tokens = tf.ragged.boolean_mask(tokens, tokens.with_flat_values(kept))
        text = tf.strings.reduce_join(tokens, axis=-1, separator=" ")
        return tf.reshape(text, tf.shape(captions))

    def adapt(self, captions, sources=None):
        """Sets the vocabulary to the words of `captions`.

        Words seen at least `min_count` times are kept, ordered by count
        descending and then alphabetically. Afterwards
        `num_adapted_captions` holds how many captions were counted and
        `num_truncated_captions` how many have more than `max_length` words
        (the tokenizer will cut them).

        Args:
            captions: an iterable of str (a list, a generator) or a
                `tf.data.Dataset` of string scalars or batches.
            sources: optional iterable of str, one per caption, naming
                where it comes from (e.g. `"video_id=v1"`) in errors.
                Defaults to the caption's position.

        Raises:
            ValueError: if a caption has no words after standardization, or
                no word is seen `min_count` times.
        """
        counts = collections.Counter()
        num_captions = num_truncated = 0
        chunk, chunk_sources = [], []
        sources = iter(sources) if sources is not None else None

        def count(chunk, chunk_sources):
            nonlocal num_captions, num_truncated
            standardized = self.standardize(chunk).numpy()
            for index, (caption, text) in enumerate(zip(chunk, standardized)):
                words = text.decode("utf-8").split()
                if not words:
                    where = (
                        chunk_sources[index]
                        if chunk_sources
                        else f"Caption {num_captions + index}"
                    )
                    raise ValueError("".join(_empty_caption(where, caption)))
                num_truncated += len(words) > self.max_length
                counts.update(words)
            num_captions += len(chunk)

        for caption in _iterate_strings(captions):
            chunk.append(caption)
            if sources is not None:
                chunk_sources.append(next(sources))
            if len(chunk) == _ADAPT_CHUNK:
                count(chunk, chunk_sources)
                chunk, chunk_sources = [], []
        if chunk:
            count(chunk, chunk_sources)
        kept = sorted(
            (word for word, n in counts.items() if n >= self.min_count),
            key=lambda word: (-counts[word], word),
        )
        if not kept:
            raise ValueError(
                f"Expected at least one word seen min_count={self.min_count} "
                f"times. Received {num_captions} captions with "
                f"{len(counts)} distinct words, the most frequent seen "
                f"{max(counts.values(), default=0)} times. Lower min_count "
                "or adapt on more captions."
            )
        self.set_vocabulary(kept)
        self.num_adapted_captions = num_captions
        self.num_truncated_captions = num_truncated

    def _check_vocabulary(self):
        if self.vocabulary is None:
            raise ValueError(
                f"{self.name} has no vocabulary yet. Expected one: call "
                "`adapt(captions)` first, or pass `vocabulary=[...]`."
            )

    def _check_captions(
        self, captions, standardized, num_words, num_known, sources
    ):
        """Fails on the first caption without words or without known words."""
        tf = _tensorflow()
        empty = tf.equal(num_words, 0)
        unknown = tf.logical_and(tf.logical_not(empty), tf.equal(num_known, 0))
        bad = tf.logical_or(empty, unknown)

        def describe():
            first = tf.argmax(tf.cast(bad, tf.int32), output_type=tf.int32)
            if sources is None:
                where = tf.strings.join(
                    ["Caption ", tf.strings.as_string(first), " of the batch"]
                )
            else:
                where = tf.gather(sources, first)
            caption = tf.gather(captions, first)
            unknown_message = _join_message(
                [
                    where,
                    ": expected a caption with at least one word of the "
                    f"vocabulary ({len(self.vocabulary)} words). Received: "
                    "caption «",
                    caption,
                    "» (standardized «",
                    tf.gather(standardized, first),
                    "»), whose words are all unknown. Adapt the tokenizer on "
                    "captions that hold its words, or lower min_count="
                    f"{self.min_count}.",
                ]
            )
            empty_message = _join_message(_empty_caption(where, caption))
            if tf.executing_eagerly():
                return empty_message if empty[first] else unknown_message
            return tf.where(
                tf.gather(empty, first), empty_message, unknown_message
            )

        if tf.executing_eagerly():
            if tf.reduce_any(bad):
                raise ValueError(describe())
            return []
        message = tf.cond(tf.reduce_any(bad), describe, lambda: tf.constant(""))
        return [
            tf.debugging.Assert(tf.logical_not(tf.reduce_any(bad)), [message])
        ]

    def __call__(self, captions, *args, **kwargs):
        # Keras takes only tensors as positional inputs; captions may come
        # as str or lists, as they do to `StringLookup`.
        if not isinstance(captions, keras.KerasTensor):
            captions = _tensorflow().convert_to_tensor(captions, "string")
        return super().__call__(captions, *args, **kwargs)

    def call(self, captions, sources=None):
        tf = _tensorflow()
        self._check_vocabulary()
        captions = tf.convert_to_tensor(captions, tf.string)
        scalar = captions.shape.rank == 0
        if scalar:
            captions = captions[None]
        if sources is not None:
            sources = tf.reshape(tf.convert_to_tensor(sources, tf.string), [-1])
        standardized = self.standardize(captions)
        words = tf.strings.split(standardized)
        ids = words.with_flat_values(
            tf.cast(self._lookup(words.flat_values), tf.int32)
        )
        num_known = tf.reduce_sum(
            tf.cast(tf.not_equal(ids, UNKNOWN_ID), tf.int32), axis=1
        )
        checks = self._check_captions(
            captions, standardized, words.row_lengths(), num_known, sources
        )
        with tf.control_dependencies(checks):
            ids = tf.identity(ids[:, : self.max_length])
        frame = tf.ones_like(ids[:, :1])
        ids = tf.concat([frame * START_ID, ids, frame * END_ID], axis=1)
        ids = ids.to_tensor(PADDING_ID, shape=[None, self.max_length + 2])
        return ids[0] if scalar else ids

    def compute_output_spec(self, captions, sources=None):
        shape = tuple(captions.shape) + (self.max_length + 2,)
        return keras.KerasTensor(shape, dtype="int32")

    def detokenize(self, ids):
        """Turns ids into captions, in TensorFlow ops.

        Args:
            ids: integer tensor of shape `(batch, length)`.

        Returns:
            A string tensor of shape `(batch,)`: the words before the first
            `END_ID`, joined by spaces, without start and padding ids; an
            id beyond the vocabulary reads as `"[UNK]"`.
        """
        tf = _tensorflow()
        self._check_vocabulary()
        ids = tf.convert_to_tensor(ids)
        ended = tf.cumsum(tf.cast(tf.equal(ids, END_ID), tf.int32), axis=1) > 0
        kept = tf.logical_not(ended) & (ids != START_ID) & (ids != PADDING_ID)
        words = self._inverse_lookup(tf.cast(ids, tf.int64))
        return tf.strings.reduce_join(
            tf.ragged.boolean_mask(words, kept), axis=1, separator=" "
        )

    def decode_ids(self, ids):
        """Turns ids into captions with NumPy and Python only.

        Args:
            ids: array-like of integers, `(batch, length)`; any backend's
                tensor that `numpy.asarray` reads.

        Returns:
            A list of `batch` str, as `detokenize` gives.
        """
        self._check_vocabulary()
        tokens = self.get_vocabulary()
        captions = []
        for row in np.asarray(ids).reshape(len(ids), -1).tolist():
            words = []
            for index in row:
                if index == END_ID:
                    break
                if index in (START_ID, PADDING_ID):
                    continue
                in_range = 0 <= index < len(tokens)
                words.append(tokens[index] if in_range else UNKNOWN_TOKEN)
            captions.append(" ".join(words))
        return captions

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "vocabulary": self.vocabulary,
                "max_length": self.max_length,
                "min_count": self.min_count,
            }
        )
        return config
