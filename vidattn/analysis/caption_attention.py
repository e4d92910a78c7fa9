"""What a captioner says about a video, and where it looks for each word.

`caption_attention_records` describes a batch of videos with one call of a
captioner's `generate()` and cuts its arrays to each sentence's words: a
`CaptionAttentionRecord` per video, the input of
`vidattn.visualization.write_caption_report` and
`caption_attention_strip` (the thesis's Figs. 3.2-3.4).
`attention_on_cells` measures how much of each word's attention falls on
chosen cells (an object's, frame by frame) against what uniform attention
would put there.
"""

import collections.abc
import dataclasses
import math

import numpy as np

from vidattn.layers.caption_tokenizer import END_ID
from vidattn.layers.caption_tokenizer import UNKNOWN_TOKEN
from vidattn.metrics.caption_metrics import caption_scores
from vidattn.utils.arguments import check_positive_int


@dataclasses.dataclass(frozen=True, eq=False)
class CaptionAttentionRecord:
    """One video's generated sentence and the attention behind each word.

    The record is checked when built: one `(N, K, K)` attention map and one
    gate value per word, one mask entry (and one frame, when given) per
    sampled frame, at least one valid frame.

    Args:
        video_id: str. Names the video in the report.
        frames: uint8 array `(N, height, width, 3)`: the RGB frames the
            features came from, one per feature cube; or `None` (the
            pictures then draw the attention maps alone).
        frame_mask: bool array `(N,)`, False for padding frames; or `None`
            when every frame is valid.
        words: list of str. The generated words, the end token excluded.
        attention: float array `(words, N, K, K)`: each word's softmax over
            the video's space-time locations.
        beta: float array `(words,)`: each word's gate `beta_t`.
        log_probability: float. The sentence's log probability (end token
            included).
        references: tuple of str. The video's reference sentences. Defaults
            to `()`.
        scores: dict from metric name (e.g. `"BLEU-4"`) to float, or
            `None`. Defaults to `None`.

    Raises:
        ValueError: if a shape disagrees with the others, a value is not
            finite, an attention weight is negative, no frame is valid, or
            the frames are not uint8.
        TypeError: if a word or reference is not a str.

    Example:

    >>> import numpy as np, vidattn
    >>> record = vidattn.analysis.CaptionAttentionRecord(
    ...     "clip",
    ...     frames=None,
    ...     frame_mask=np.array([True, True, False]),
    ...     words=["a", "cat"],
    ...     attention=np.full((2, 3, 2, 2), 1 / 8),
    ...     beta=np.array([0.9, 0.4]),
    ...     log_probability=-2.5,
    ... )
    >>> record.sentence, record.attention.shape
    ('a cat', (2, 3, 2, 2))
    """

    video_id: str
    frames: np.ndarray
    frame_mask: np.ndarray
    words: list
    attention: np.ndarray
    beta: np.ndarray
    log_probability: float
    references: tuple = ()
    scores: dict = None

    def __post_init__(self):
        video_id = str(self.video_id)
        where = f"Video {video_id!r}: expected"
        words = _strings(self.words, where, "words")
        attention = np.asarray(self.attention, dtype=np.float32)
        if attention.ndim != 4 or attention.shape[2] != attention.shape[3]:
            raise ValueError(
                f"{where} attention of shape (words, N, K, K). Received: "
                f"shape={attention.shape}"
            )
        if len(attention) != len(words):
            raise ValueError(
                f"{where} one attention map per word: {len(words)} words "
                f"{words}. Received: attention of shape {attention.shape}"
            )
        if not np.all(np.isfinite(attention)) or np.any(attention < 0):
            raise ValueError(
                f"{where} finite, non-negative attention weights. Received: "
                f"weights from {np.nanmin(attention)} to "
                f"{np.nanmax(attention)}"
            )
        num_frames = attention.shape[1]
        beta = np.asarray(self.beta, dtype=np.float32)
        if beta.shape != (len(words),) or not np.all(np.isfinite(beta)):
            raise ValueError(
                f"{where} one finite beta per word, shape ({len(words)},). "
                f"Received: beta={beta!r}"
            )
        frame_mask = _frame_mask(self.frame_mask, num_frames, where)
        frames = self.frames
        if frames is not None:
            frames = np.asarray(frames)
            if frames.ndim != 4 or frames.shape[-1] != 3:
                raise ValueError(
                    f"{where} frames of shape ({num_frames}, height, width, "
                    f"3). Received: shape={frames.shape}"
                )
            if len(frames) != num_frames or frames.dtype != np.uint8:
                raise ValueError(
                    f"{where} {num_frames} uint8 frames, one per feature "
                    f"cube of the attention. Received: {len(frames)} frames "
                    f"of dtype {frames.dtype}"
                )
        log_probability = self.log_probability
        if isinstance(log_probability, bool) or not isinstance(
            log_probability, (int, float, np.number)
        ):
            raise ValueError(
                f"{where} a float log_probability. Received: "
                f"log_probability={log_probability!r}"
            )
        references = _strings(self.references, where, "references")
        scores = self.scores
        if scores is not None:
            if not isinstance(scores, collections.abc.Mapping):
                raise ValueError(
                    f"{where} scores as a dict from metric name to float, "
                    f"or None. Received: scores={scores!r}"
                )
            scores = {str(name): float(value) for name, value in scores.items()}
        for name, value in (
            ("video_id", video_id),
            ("frames", frames),
            ("frame_mask", frame_mask),
            ("words", words),
            ("attention", attention),
            ("beta", beta),
            ("log_probability", float(log_probability)),
            ("references", tuple(references)),
            ("scores", scores),
        ):
            object.__setattr__(self, name, value)

    @property
    def sentence(self):
        """str. The generated words joined by spaces."""
        return " ".join(self.words)

    @property
    def frame_shares(self):
        """float32 `(words, N)`: the share of each word's attention per frame.

        Rows of words with no attention at all (the first-time-step
        baseline after its first word) are zeros.
        """
        per_frame = self.attention.sum(axis=(2, 3))
        totals = per_frame.sum(axis=1, keepdims=True)
        return np.divide(
            per_frame,
            totals,
            out=np.zeros_like(per_frame),
            where=totals > 0,
        )


def _strings(values, where, name):
    if isinstance(values, str) or not isinstance(
        values, collections.abc.Iterable
    ):
        raise TypeError(
            f"{where} {name} as a list of str. Received: {name}={values!r}"
        )
    values = list(values)
    for value in values:
        if not isinstance(value, str):
            raise TypeError(
                f"{where} every item of {name} to be a str. Received: "
                f"{value!r} in {name}={values!r}"
            )
    return values


def _frame_mask(frame_mask, num_frames, where):
    if frame_mask is None:
        return np.ones((num_frames,), bool)
    frame_mask = np.asarray(frame_mask)
    if frame_mask.shape != (num_frames,) or frame_mask.dtype != bool:
        raise ValueError(
            f"{where} a bool frame_mask of shape ({num_frames},), one entry "
            f"per frame. Received: dtype={frame_mask.dtype}, "
            f"shape={frame_mask.shape}"
        )
    if not frame_mask.any():
        raise ValueError(
            f"{where} at least one valid frame (frame_mask True). Received: "
            "a frame_mask that is False everywhere"
        )
    return frame_mask


def caption_attention_records(
    model,
    features,
    *,
    frames=None,
    frame_mask=None,
    video_ids=None,
    references=None,
    metrics=(),
    beam_width=4,
    max_length=30,
):
    """Describes videos with a captioner and records where each word looked.

    One call of `model.generate()` over the whole batch; each video's
    arrays are cut to its words (the end token and the padding after it
    dropped).

    Args:
        model: a captioner with `generate()`
            (`vidattn.models.VideoCaptioner`). Without a tokenizer, words
            are the ids as str.
        features: float array `(videos, N, K, K, D)`.
        frames: uint8 array `(videos, N, height, width, 3)` (or a list of
            `(N, height, width, 3)` arrays), or `None`. Defaults to `None`.
        frame_mask: bool array `(videos, N)` or `None` (all valid).
            Defaults to `None`.
        video_ids: list of str or `None` (`"video_0"`, `"video_1"`, ...).
            Defaults to `None`.
        references: `None`, a list with one sequence of reference
            sentences per video, or a mapping from video id to them.
            Defaults to `None`.
        metrics: sequence of metric names of `vidattn.metrics.caption_scores`
            (e.g. `("bleu", "meteor")`) to score each video's sentence
            against its references, or `()` (default) for no scores. METEOR
            adds 8-30 s of Java start-up.
        beam_width: int. Defaults to `4` (the thesis's); `1` is greedy.
        max_length: int. The most words, end token included. Defaults to
            `30`.

    Returns:
        A list of `CaptionAttentionRecord`, one per video, in order.

    Raises:
        ValueError: if the numbers of videos disagree, or `metrics` are
            asked for without references for every video.

    Example:

    >>> import numpy as np, vidattn
    >>> tokenizer = vidattn.layers.CaptionTokenizer(["a", "cat", "runs"])
    >>> model = vidattn.models.VideoCaptioner(
    ...     tokenizer, units=16, embedding_dim=8
    ... )
    >>> features = np.random.rand(2, 3, 2, 2, 8).astype("float32")
    >>> records = vidattn.analysis.caption_attention_records(
    ...     model, features, max_length=4
    ... )
    >>> len(records), records[0].attention.shape[1:]
    (2, (3, 2, 2))
    """
    features = np.asarray(features, dtype=np.float32)
    num_videos = len(features)
    if video_ids is None:
        video_ids = [f"video_{index}" for index in range(num_videos)]
    video_ids = [str(video_id) for video_id in video_ids]
    frames = [None] * num_videos if frames is None else list(frames)
    references = _references_per_video(references, video_ids)
    for name, values in (
        ("video_ids", video_ids),
        ("frames", frames),
        ("references", references),
    ):
        if len(values) != num_videos:
            raise ValueError(
                f"Expected one entry of `{name}` per video: {num_videos}, "
                f"as the features. Received: {len(values)}"
            )
    inputs = {"features": features}
    if frame_mask is not None:
        inputs["frame_mask"] = np.asarray(frame_mask, dtype=bool)
    result = model.generate(
        inputs,
        beam_width=check_positive_int("beam_width", beam_width),
        max_length=check_positive_int("max_length", max_length),
    )
    scores = _scores(video_ids, references, result, model, metrics)
    vocabulary = _vocabulary(model)
    records = []
    for index, video_id in enumerate(video_ids):
        token_ids = result["token_ids"][index, : result["length"][index]]
        if len(token_ids) and token_ids[-1] == END_ID:
            token_ids = token_ids[:-1]
        count = len(token_ids)
        records.append(
            CaptionAttentionRecord(
                video_id,
                frames=frames[index],
                frame_mask=None
                if frame_mask is None
                else inputs["frame_mask"][index],
                words=[vocabulary(token_id) for token_id in token_ids],
                attention=result["attention"][index, :count],
                beta=result["beta"][index, :count],
                log_probability=float(result["log_probability"][index]),
                references=references[index],
                scores=scores.get(video_id),
            )
        )
    return records


def _references_per_video(references, video_ids):
    if references is None:
        return [()] * len(video_ids)
    if isinstance(references, collections.abc.Mapping):
        return [tuple(references.get(video_id, ())) for video_id in video_ids]
    return [tuple(sentences) for sentences in references]


def _vocabulary(model):
    tokenizer = getattr(model, "tokenizer", None)
    if tokenizer is None:
        return str
    tokens = tokenizer.get_vocabulary()
    return lambda index: (
        tokens[index] if 0 <= index < len(tokens) else UNKNOWN_TOKEN
    )


def _scores(video_ids, references, result, model, metrics):
    metrics = tuple(metrics)
    if not metrics:
        return {}
    missing = [
        video_id
        for video_id, sentences in zip(video_ids, references)
        if not sentences
    ]
    if missing:
        raise ValueError(
            f"Expected references for every video to score with {metrics}. "
            f"Received: none for {missing}. Give `references` or leave "
            "`metrics` empty."
        )
    if "captions" not in result:
        raise ValueError(
            "Expected a captioner with a tokenizer to score its sentences. "
            f"Received: {type(model).__name__} without one; leave `metrics` "
            "empty."
        )
    _, per_video = caption_scores(
        dict(zip(video_ids, map(list, references))),
        dict(zip(video_ids, result["captions"])),
        metrics=metrics,
        per_video=True,
    )
    return per_video


def attention_on_cells(record_or_attention, cells, *, frame_mask=None):
    """The attention each word puts on chosen cells, and uniform's share.

    Sums each word's attention, over all frames, on the chosen cells of
    each frame (for example the cells an object occupies), and compares it
    with uniform attention over the valid locations, which puts
    `chosen valid cells / valid locations` there.

    Args:
        record_or_attention: a `CaptionAttentionRecord`, or float array
            `(words, N, K, K)` of attention maps.
        cells: where to measure, one of:
            - int array `(N,)`: one flat cell index `row * K + column` per
              frame (negative: no cell in that frame);
            - bool array `(N, K, K)`: the same cells for every word;
            - bool array `(words, N, K, K)`: cells per word (e.g. the
              object each word names).
        frame_mask: bool array `(N,)` or `None`. The valid frames; taken
            from the record, or all frames when `None`.

    Returns:
        A dict of float64 NumPy arrays: `"per_frame"` `(words, N)`, the mass
        on the cells in each frame; `"mass"` `(words,)`, its sum over the
        frames; `"uniform"` `(words,)`, the mass uniform attention would
        put there; `"ratio"` `(words,)`, `mass / uniform` (`nan` where
        uniform is 0).

    Raises:
        ValueError: if `cells` has none of the shapes above, or a cell
            index is out of range.

    Example:

    >>> import numpy as np, vidattn
    >>> attention = np.zeros((1, 2, 2, 2))
    >>> attention[0, :, 0, 1] = 0.5  # Half in cell 1 of each frame.
    >>> measure = vidattn.analysis.attention_on_cells(
    ...     attention, np.array([1, 1])
    ... )
    >>> measure["mass"], measure["uniform"], measure["ratio"]
    (array([1.]), array([0.25]), array([4.]))
    """
    if isinstance(record_or_attention, CaptionAttentionRecord):
        attention = record_or_attention.attention
        if frame_mask is None:
            frame_mask = record_or_attention.frame_mask
    else:
        attention = np.asarray(record_or_attention)
    attention = np.asarray(attention, dtype=np.float64)
    if attention.ndim != 4 or attention.shape[2] != attention.shape[3]:
        raise ValueError(
            "Expected attention of shape (words, N, K, K). Received: "
            f"shape={attention.shape}"
        )
    num_words, num_frames, grid, _ = attention.shape
    frame_mask = _frame_mask(frame_mask, num_frames, "Expected")
    mask = _cell_mask(np.asarray(cells), attention.shape)
    per_frame = (attention * mask).sum(axis=(2, 3))
    chosen_valid = (mask & frame_mask[:, None, None]).sum(axis=(1, 2, 3))
    uniform = chosen_valid / (frame_mask.sum() * grid * grid)
    uniform = np.broadcast_to(uniform, (num_words,)).astype(np.float64)
    mass = per_frame.sum(axis=1)
    ratio = np.divide(
        mass, uniform, out=np.full_like(mass, math.nan), where=uniform > 0
    )
    return {
        "per_frame": per_frame,
        "mass": mass,
        "uniform": uniform,
        "ratio": ratio,
    }


def _cell_mask(cells, attention_shape):
    """A bool mask `(words or 1, N, K, K)` of the chosen cells."""
    num_words, num_frames, grid, _ = attention_shape
    if cells.dtype == bool and cells.shape in (
        attention_shape[1:],
        attention_shape,
    ):
        return cells.reshape((-1,) + attention_shape[1:])
    if cells.shape == (num_frames,) and np.issubdtype(cells.dtype, np.integer):
        if np.any(cells >= grid * grid):
            raise ValueError(
                f"Expected flat cell indices below {grid * grid} (K={grid}). "
                f"Received: cells={cells.tolist()}"
            )
        mask = np.zeros((num_frames, grid * grid), bool)
        present = cells >= 0
        mask[np.flatnonzero(present), cells[present]] = True
        return mask.reshape((1, num_frames, grid, grid))
    raise ValueError(
        f"Expected cells as int flat indices ({num_frames},), or a bool "
        f"mask ({num_frames}, {grid}, {grid}) or ({num_words}, "
        f"{num_frames}, {grid}, {grid}). Received: dtype={cells.dtype}, "
        f"shape={cells.shape}"
    )
