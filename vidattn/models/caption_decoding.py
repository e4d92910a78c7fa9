"""Greedy and beam search over a captioning model's one-word step, in-graph.

Both searches drive the same `step_fn` that teacher forcing uses, so the
three cannot disagree about the model:

    log_probs, new_state, step_outputs = step_fn(word_ids, state)

- `word_ids`: int32 `(rows,)`, the previous word of each row: the start
  token at the first step, then the word chosen at the step before (the
  end token once, then `padding_id` after a row's sentence has ended).
- `state`: a nested structure (list, tuple, dict) of tensors whose leading
  dimension is `rows`; `new_state` has the same structure and shapes.
- `log_probs`: float `(rows, vocabulary)`, the log-softmax of the word
  logits (computed in float32; cast to float32 here in any case).
- `step_outputs`: a dict of tensors with leading dimension `rows` that the
  search records for every word, e.g. `{"attention": (rows, locations),
  "beta": (rows,)}`.

Greedy search has `rows = batch`. Beam search has `rows = batch *
beam_width`, the beams of one video adjacent (row `b * beam_width + k`); it
tiles `initial_state` itself, and a model tiles the fixed context that its
`step_fn` closes over (the video features) with `tile_beams`.

The searches are one `keras.ops.while_loop` over words, with fixed-shape
histories written at the step's index, so a `tf.function` or `jax.jit`
traces `step_fn` twice (the first word, which sets the shapes of the
histories, and the loop body) whatever `max_length` is. They stop as soon
as every sentence of the batch has ended. Only `keras.ops` is used, so they
run under any Keras backend.

Both return a dict of:

- `"token_ids"`: int32 `(batch, max_length)`, the words of the chosen
  sentence without the start token, with the end token when one was
  produced, and `padding_id` after it.
- `"length"`: int32 `(batch,)`, the number of words up to and including
  the end token (`max_length` when none was produced).
- `"log_probability"`: float32 `(batch,)`, the sum of the chosen words' log
  probabilities (the end token's included).
- `"score"`: float32 `(batch,)`, the score that chose the sentence (see
  `beam_search`); the log probability for greedy search.
- every key of `step_outputs`, stacked as `(batch, max_length, ...)`: the
  outputs of the steps that produced the chosen words (along the chosen
  beam's ancestry), zeros after the end.
"""

from keras import ops
from keras import tree

from vidattn.layers.caption_tokenizer import END_ID
from vidattn.layers.caption_tokenizer import PADDING_ID
from vidattn.layers.caption_tokenizer import START_ID
from vidattn.utils.arguments import check_int
from vidattn.utils.arguments import check_non_negative_number
from vidattn.utils.arguments import check_positive_int

RESULT_KEYS = ("token_ids", "length", "log_probability", "score")


def tile_beams(structure, beam_width):
    """Repeats every row of a nested structure `beam_width` times.

    Row `b` of each tensor becomes rows `b * beam_width` to
    `b * beam_width + beam_width - 1`: the layout of the rows that
    `beam_search` hands to `step_fn`. A model tiles with it the fixed
    context that its step function closes over.

    Args:
        structure: a tensor, or a nested structure (list, tuple, dict) of
            tensors with the batch as leading dimension.
        beam_width: int. How many times to repeat each row.

    Returns:
        The same structure, each tensor with `beam_width` times as many rows.

    Raises:
        ValueError: if `beam_width` is not a positive integer.

    Example:

    >>> import numpy as np
    >>> tiled = vidattn.models.tile_beams({"h": np.array([[1.0], [2.0]])}, 2)
    >>> keras.ops.convert_to_numpy(tiled["h"])[:, 0].tolist()
    [1.0, 1.0, 2.0, 2.0]
    """
    beam_width = check_positive_int("beam_width", beam_width)
    return tree.map_structure(
        lambda x: ops.repeat(x, beam_width, axis=0), structure
    )


def greedy_search(
    step_fn,
    initial_state,
    *,
    batch_size,
    start_id=START_ID,
    end_id=END_ID,
    max_length=30,
    padding_id=PADDING_ID,
):
    """The sentence that takes the most probable word at every step.

    A sentence ends with its first end token; from then on its row is fed
    `padding_id` and adds nothing to its log probability. The search stops
    when every sentence of the batch has ended, or after `max_length`
    words. See the module's docstring for `step_fn` and the result.

    Args:
        step_fn: callable `(word_ids, state) -> (log_probs, new_state,
            step_outputs)` with `rows = batch_size`.
        initial_state: nested structure of tensors `(batch_size, ...)`.
        batch_size: int or scalar int tensor. The number of videos.
        start_id: int. The word fed at the first step. Defaults to `2`.
        end_id: int. The word that ends a sentence. Defaults to `3`.
        max_length: int. The most words generated, the end token included.
            Defaults to `30`.
        padding_id: int. The word after the end. Defaults to `0`.

    Returns:
        A dict of `"token_ids"`, `"length"`, `"log_probability"`, `"score"`
        (equal to the log probability) and every key of `step_outputs`.

    Raises:
        ValueError: if an argument is out of range, or `step_outputs` uses
            a key of the result.

    Example:

    >>> import numpy as np
    >>> table = np.log(np.full((4, 4), 0.1) + 0.6 * np.eye(4)[[1, 3, 0, 0]])
    >>> def step_fn(word_ids, state):
    ...     log_probs = keras.ops.take(table.astype("float32"), word_ids, 0)
    ...     return log_probs, state, {"previous": word_ids}
    >>> result = vidattn.models.greedy_search(
    ...     step_fn, {}, batch_size=1, start_id=0, max_length=5)
    >>> keras.ops.convert_to_numpy(result["token_ids"]).tolist()
    [[1, 3, 0, 0, 0]]
    """
    batch_size, max_length = _check_search_arguments(
        batch_size, start_id, end_id, max_length
    )
    check_int("padding_id", padding_id)

    def choose(index, log_probs, search):
        finished = search["finished"]
        best = ops.cast(ops.argmax(log_probs, axis=-1), "int32")
        best_log_prob = ops.take_along_axis(log_probs, best[:, None], axis=1)
        token_ids = ops.where(finished, padding_id, best)
        search = {
            "log_probability": search["log_probability"]
            + ops.where(finished, 0.0, best_log_prob[:, 0]),
            "length": ops.where(finished, search["length"], index + 1),
            "finished": finished | (token_ids == end_id),
        }
        return token_ids, None, search, {"token_ids": token_ids}

    search = {
        "log_probability": ops.zeros((batch_size,), "float32"),
        "length": ops.zeros((batch_size,), "int32"),
        "finished": ops.zeros((batch_size,), "bool"),
    }
    search, history = _search_loop(
        step_fn,
        initial_state,
        ops.full((batch_size,), start_id, "int32"),
        search,
        choose,
        max_length,
    )
    return _result(
        history["token_ids"],
        history["outputs"],
        search["length"],
        search["log_probability"],
        search["log_probability"],
        padding_id,
    )


def beam_search(
    step_fn,
    initial_state,
    *,
    batch_size,
    beam_width=4,
    start_id=START_ID,
    end_id=END_ID,
    max_length=30,
    length_normalization=0.0,
    padding_id=PADDING_ID,
):
    """The best of `beam_width` sentences grown in parallel, per video.

    Every video keeps `beam_width` hypotheses. At each step each hypothesis
    offers its extensions, all of them ranked by their score:

        score = log_probability / length ** length_normalization

    where `log_probability` sums the log probabilities of the hypothesis's
    words (end token included) and `length` counts them (a simplified form
    of the length penalty of Wu et al. 2016, "Google's Neural Machine
    Translation System", without its constant 5; `length_normalization=0`
    ranks by log probability, as the thesis's closest public code,
    arctic-capgen-vid, does). The `beam_width` best-scoring extensions of a
    video become its hypotheses; ties go to the lower beam, then the lower
    word id.

    - The first expansion comes from one beam: the others start at a score
      of -inf, so the first hypotheses are `beam_width` different words.
    - An alive hypothesis offers every word. A hypothesis that has produced
      the end token is finished: it offers only `padding_id`, at log
      probability 0, so it keeps its score and length, and it competes with
      the alive extensions for the `beam_width` places. The alive
      hypotheses are thus `beam_width` minus the finished ones, as in
      arctic-capgen-vid; a finished one leaves only when `beam_width`
      better hypotheses push it out.
    - A hypothesis at -inf (possible only when `beam_width` exceeds the
      words on offer) counts as finished.
    - The search stops when every hypothesis of every video has finished,
      or after `max_length` words; the result is each video's
      best-scoring hypothesis (the lower beam on a tie). An alive
      hypothesis at the end has `length = max_length`.

    With `beam_width=1` this is greedy search. See the module's docstring
    for `step_fn` and the result.

    Args:
        step_fn: callable `(word_ids, state) -> (log_probs, new_state,
            step_outputs)` with `rows = batch_size * beam_width`, row
            `b * beam_width + k` being beam `k` of video `b`.
        initial_state: nested structure of tensors `(batch_size, ...)`;
            tiled here to `beam_width` rows per video.
        batch_size: int or scalar int tensor. The number of videos.
        beam_width: int. The hypotheses kept per video. Defaults to `4`
            (the thesis's).
        start_id: int. The word fed at the first step. Defaults to `2`.
        end_id: int. The word that ends a sentence. Defaults to `3`.
        max_length: int. The most words generated, the end token included.
            Defaults to `30`.
        length_normalization: float >= 0. The exponent `alpha` of the
            length in the score above. Defaults to `0.0`.
        padding_id: int. The word after the end. Defaults to `0`.

    Returns:
        A dict of `"token_ids"`, `"length"`, `"log_probability"`, `"score"`
        and every key of `step_outputs`, for the chosen hypothesis.

    Raises:
        ValueError: if an argument is out of range, or `step_outputs` uses
            a key of the result.

    Example:

    A Markov chain over 5 words where the likelier first word leads
    nowhere in particular: greedy search takes it, a beam of 2 does not.

    >>> import numpy as np
    >>> probs = np.full((5, 5), 0.01)
    >>> probs[2, [1, 4]] = 0.5, 0.4  # After <start>: word 1 or word 4.
    >>> probs[1, [1, 3, 4]] = 0.3, 0.4, 0.3
    >>> probs[4, 3] = 0.9  # After word 4: the end.
    >>> log_probs = np.log(probs / probs.sum(1, keepdims=True))
    >>> def step_fn(word_ids, state):
    ...     next_word = keras.ops.take(log_probs.astype("float32"), word_ids, 0)
    ...     return next_word, state, {}
    >>> for search in (vidattn.models.greedy_search,
    ...                vidattn.models.beam_search):
    ...     result = search(step_fn, {}, batch_size=1, max_length=4)
    ...     print(keras.ops.convert_to_numpy(result["token_ids"]).tolist())
    [[1, 3, 0, 0]]
    [[4, 3, 0, 0]]
    """
    beam_width = check_positive_int("beam_width", beam_width)
    batch_size, max_length = _check_search_arguments(
        batch_size, start_id, end_id, max_length
    )
    alpha = check_non_negative_number(
        "length_normalization", length_normalization
    )
    check_int("padding_id", padding_id)
    row_offsets = ops.arange(batch_size, dtype="int32")[:, None] * beam_width

    def choose(index, log_probs, search):
        vocabulary = ops.shape(log_probs)[-1]
        log_probs = ops.reshape(log_probs, (-1, beam_width, vocabulary))
        finished = search["finished"][..., None]
        only_padding = ops.where(
            ops.arange(vocabulary) == padding_id, 0.0, float("-inf")
        )
        candidate_log_prob = search["log_probability"][..., None] + ops.where(
            finished, only_padding, log_probs
        )
        candidate_length = ops.where(
            finished, search["length"][..., None], index + 1
        )
        candidate_score = _score(candidate_log_prob, candidate_length, alpha)
        flat_shape = (-1, beam_width * vocabulary)
        _, chosen = ops.top_k(
            ops.reshape(candidate_score, flat_shape), beam_width
        )
        chosen = ops.cast(chosen, "int32")
        parents = chosen // vocabulary
        token_ids = chosen % vocabulary
        parent_finished = ops.take_along_axis(search["finished"], parents, 1)
        log_probability = ops.take_along_axis(
            ops.reshape(candidate_log_prob, flat_shape), chosen, 1
        )
        search = {
            "log_probability": log_probability,
            "length": ops.where(
                parent_finished,
                ops.take_along_axis(search["length"], parents, 1),
                index + 1,
            ),
            "finished": parent_finished
            | (token_ids == end_id)
            | (log_probability == float("-inf")),
        }
        record = {"token_ids": token_ids, "parents": parents}
        rows = ops.reshape(row_offsets + parents, (-1,))
        return ops.reshape(token_ids, (-1,)), rows, search, record

    first_beam = ops.arange(beam_width) == 0
    search = {
        "log_probability": ops.broadcast_to(
            ops.where(first_beam, 0.0, float("-inf")), (batch_size, beam_width)
        ),
        "length": ops.zeros((batch_size, beam_width), "int32"),
        "finished": ops.zeros((batch_size, beam_width), "bool"),
    }
    search, history = _search_loop(
        step_fn,
        tile_beams(initial_state, beam_width),
        ops.full((batch_size * beam_width,), start_id, "int32"),
        search,
        choose,
        max_length,
    )
    score = _score(search["log_probability"], search["length"], alpha)
    best = ops.cast(ops.argmax(score, axis=1), "int32")[:, None]
    beams = _ancestry(history["parents"], best, history["steps"])

    def along_ancestry(values):
        # (max_length, batch * beam_width, ...) -> (max_length, batch, ...)
        rows = ops.reshape(beams + row_offsets[None, :, 0], (max_length, -1))
        return ops.take_along_axis(
            values,
            ops.reshape(rows, ops.shape(rows) + (1,) * (len(values.shape) - 2)),
            axis=1,
        )

    token_rows = ops.reshape(
        history["token_ids"], (max_length, -1)
    )  # (max_length, batch * beam_width)
    return _result(
        along_ancestry(token_rows),
        tree.map_structure(along_ancestry, history["outputs"]),
        ops.take_along_axis(search["length"], best, 1)[:, 0],
        ops.take_along_axis(search["log_probability"], best, 1)[:, 0],
        ops.take_along_axis(score, best, 1)[:, 0],
        padding_id,
    )


def _check_search_arguments(batch_size, start_id, end_id, max_length):
    if not ops.is_tensor(batch_size):
        batch_size = check_positive_int("batch_size", batch_size)
    check_int("start_id", start_id)
    check_int("end_id", end_id)
    return batch_size, check_positive_int("max_length", max_length)


def _score(log_probability, length, alpha):
    if alpha == 0.0:
        return log_probability
    return log_probability / ops.power(ops.cast(length, "float32"), alpha)


def _search_loop(
    step_fn, initial_state, first_word_ids, search, choose, max_length
):
    """Runs `step_fn` word by word until `search` has finished everywhere.

    `choose(index, log_probs, search)` returns `(word_ids, rows, search,
    record)`: the next words, the rows of the step's state and outputs that
    the next words continue (`None` to keep every row where it is), the new
    search state, and a dict of tensors to record at `index`.

    Returns the final search state and the history: every record key and
    `"outputs"` (the step outputs of the continued rows) as tensors
    `(max_length, ...)` written up to the last step run, and `"steps"`, the
    number of steps run.
    """

    def step(index, word_ids, state, search):
        log_probs, state, outputs = step_fn(word_ids, state)
        _check_step_outputs(outputs)
        log_probs = ops.cast(log_probs, "float32")
        word_ids, rows, search, record = choose(index, log_probs, search)
        if rows is not None:
            state, outputs = tree.map_structure(
                lambda x: ops.take(x, rows, axis=0), (state, dict(outputs))
            )
        return word_ids, state, search, dict(record, outputs=outputs)

    # The first step runs outside the loop: its records give the shapes and
    # dtypes of the histories.
    first = ops.convert_to_tensor(0, "int32")
    word_ids, state, search, record = step(
        first, first_word_ids, initial_state, search
    )
    history = tree.map_structure(
        lambda x: _write(
            ops.repeat(ops.zeros_like(x)[None], max_length, axis=0), first, x
        ),
        record,
    )

    def unfinished(index, word_ids, state, search, history):
        return ops.logical_and(
            index < max_length, ops.logical_not(ops.all(search["finished"]))
        )

    def body(index, word_ids, state, search, history):
        word_ids, state, search, record = step(index, word_ids, state, search)
        history = tree.map_structure(
            lambda h, x: _write(h, index, x), history, record
        )
        return index + 1, word_ids, state, search, history

    steps, _, _, search, history = ops.while_loop(
        unfinished,
        body,
        (first + 1, word_ids, state, search, history),
    )
    return search, dict(history, steps=steps)


def _write(history, index, value):
    return ops.scatter_update(history, ops.reshape(index, (1, 1)), value[None])


def _check_step_outputs(outputs):
    if not isinstance(outputs, dict):
        raise ValueError(
            "Expected `step_fn` to return a dict of step outputs as its third "
            f"value. Received: step_outputs={outputs!r}"
        )
    clashes = sorted(set(outputs) & set(RESULT_KEYS))
    if clashes:
        raise ValueError(
            f"Expected step outputs without the result's keys {RESULT_KEYS}. "
            f"Received: step_outputs with keys {sorted(outputs)}. Rename "
            f"{clashes} in the step function."
        )


def _ancestry(parents, last_beam, steps):
    """The beam of each step that leads to `last_beam` at the last step.

    `parents`: int32 `(max_length, batch, beam_width)`, the beam at the
    previous step that each beam continues; `last_beam`: `(batch, 1)`.
    Returns int32 `(max_length, batch)`; steps not run keep `last_beam`.
    """
    beams = ops.repeat(ops.transpose(last_beam), ops.shape(parents)[0], 0)

    def backwards(i, carry):
        beams, beam = carry
        index = steps - 1 - i
        beams = _write(beams, index, beam[:, 0])
        parent = ops.take_along_axis(
            ops.take(parents, index, axis=0), beam, axis=1
        )
        return beams, parent

    beams, _ = ops.fori_loop(0, steps, backwards, (beams, last_beam))
    return beams


def _result(token_ids, outputs, length, log_probability, score, padding_id):
    """Batch-major tensors, padded after each sentence's length."""
    max_length = token_ids.shape[0]
    written = ops.arange(max_length, dtype="int32")[None, :] < length[:, None]

    def batch_major(values, fill):
        values = ops.moveaxis(values, 0, 1)
        mask = ops.reshape(
            written, ops.shape(written) + (1,) * (len(values.shape) - 2)
        )
        return ops.where(mask, values, ops.cast(fill, values.dtype))

    result = {
        "token_ids": batch_major(token_ids, padding_id),
        "length": length,
        "log_probability": log_probability,
        "score": score,
    }
    result.update(
        {key: batch_major(value, 0) for key, value in outputs.items()}
    )
    return result
