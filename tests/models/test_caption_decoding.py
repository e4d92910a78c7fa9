import itertools

import keras
import numpy as np
import pytest

import vidattn
from tests.test_case import assert_structures_close
from tests.test_case import to_numpy

VOCABULARY, MEMORY = 6, 13
START, END, PADDING = 2, 3, 0
SCALARS = ("length", "log_probability", "score")


class PathModel:
    """A toy captioner whose next-word log-probs depend on the whole path.

    Its state is a hash of the words so far, `history = (history * V + word
    + 1) mod M`, and a call counter; the log-probs are row `history` of a
    fixed random table. A search that continues the wrong row's state, or
    records the wrong row's outputs, gets different numbers. The step
    outputs reveal the path: the word fed, the call count, and a float
    vector made from the log-probs.
    """

    def __init__(
        self, seed=0, scale=2.0, end_bias=0.0, never_end=False, end_after=None
    ):
        rng = np.random.default_rng(seed)
        logits = scale * rng.normal(size=(MEMORY, VOCABULARY))
        logits[:, END] += end_bias
        if never_end:
            logits[:, END] = -np.inf
        if end_after is not None:
            # Every history reached after `end_after` words ends the sentence.
            logits[:, END] = 50.0
        self.table = (logits - _logsumexp(logits)).astype("float32")
        self.end_after = end_after

    def initial_history(self, batch_size):
        return (np.arange(batch_size, dtype="int32") * 5) % MEMORY

    def numpy_step(self, word, history, calls):
        history = (history * VOCABULARY + word + 1) % MEMORY
        log_probs = self.table[history]
        if self.end_after is not None and calls + 1 <= self.end_after:
            log_probs = np.where(
                np.arange(VOCABULARY) == END, -np.inf, log_probs
            )
        outputs = {
            "previous_word": np.int32(word),
            "calls": np.int32(calls + 1),
            "attention": np.exp(log_probs[:4]).reshape(2, 2),
        }
        return log_probs, history, calls + 1, outputs

    def keras_step(self, word_ids, state):
        history = (state["history"] * VOCABULARY + word_ids + 1) % MEMORY
        log_probs = keras.ops.take(self.table, history, axis=0)
        calls = state["calls"] + 1
        if self.end_after is not None:
            no_end = (keras.ops.arange(VOCABULARY) == END)[None, :] & (
                calls <= self.end_after
            )[:, None]
            log_probs = keras.ops.where(no_end, float("-inf"), log_probs)
        outputs = {
            "previous_word": word_ids,
            "calls": calls,
            "attention": keras.ops.reshape(
                keras.ops.exp(log_probs[:, :4]), (-1, 2, 2)
            ),
        }
        return log_probs, {"history": history, "calls": calls}, outputs

    def initial_state(self, batch_size):
        return {
            "history": self.initial_history(batch_size),
            "calls": np.zeros((batch_size,), "int32"),
        }


def _logsumexp(x):
    top = np.max(x, axis=-1, keepdims=True)
    return top + np.log(np.sum(np.exp(x - top), axis=-1, keepdims=True))


def numpy_score(log_probability, length, alpha):
    if alpha == 0:
        return np.float32(log_probability)
    return np.float32(log_probability) / np.float32(length) ** np.float32(alpha)


def numpy_greedy(model, batch_size, max_length):
    results = []
    for history in model.initial_history(batch_size):
        word, calls, log_prob, tokens, outputs = START, 0, np.float32(0), [], []
        while len(tokens) < max_length:
            log_probs, history, calls, step_outputs = model.numpy_step(
                word, history, calls
            )
            word = int(np.argmax(log_probs))
            log_prob = np.float32(log_prob + log_probs[word])
            tokens.append(word)
            outputs.append(step_outputs)
            if word == END:
                break
        results.append((tokens, log_prob, log_prob, outputs))
    return stack_results(results, max_length)


def numpy_beam_search(model, batch_size, beam_width, max_length, alpha):
    """Plain beam search with the semantics `beam_search` documents."""
    results = []
    for history in model.initial_history(batch_size):
        beams = [
            {
                "tokens": [],
                "outputs": [],
                "log_prob": np.float32(0.0 if k == 0 else -np.inf),
                "finished": False,
                "history": history,
                "calls": 0,
                "word": START,
            }
            for k in range(beam_width)
        ]
        for step in range(max_length):
            if all(beam["finished"] for beam in beams):
                break
            candidates = []
            for beam in beams:
                log_probs, new_history, calls, outputs = model.numpy_step(
                    beam["word"], beam["history"], beam["calls"]
                )
                for word in range(VOCABULARY):
                    if beam["finished"]:
                        if word != PADDING:
                            candidates.append((-np.inf, None))
                            continue
                        child = dict(beam, word=PADDING)
                    else:
                        log_prob = np.float32(
                            beam["log_prob"] + log_probs[word]
                        )
                        child = {
                            "tokens": beam["tokens"] + [word],
                            "outputs": beam["outputs"] + [outputs],
                            "log_prob": log_prob,
                            "finished": word == END or log_prob == -np.inf,
                            "history": new_history,
                            "calls": calls,
                            "word": word,
                        }
                    candidates.append(
                        (
                            numpy_score(
                                child["log_prob"], len(child["tokens"]), alpha
                            ),
                            child,
                        )
                    )
            order = sorted(
                range(len(candidates)), key=lambda i: -candidates[i][0]
            )
            beams = [candidates[i][1] for i in order[:beam_width]]
        scores = [
            numpy_score(b["log_prob"], len(b["tokens"]), alpha) for b in beams
        ]
        best = beams[int(np.argmax(scores))]
        results.append(
            (best["tokens"], best["log_prob"], max(scores), best["outputs"])
        )
    return stack_results(results, max_length)


def stack_results(results, max_length):
    stacked = {key: [] for key in ("token_ids",) + SCALARS}
    stacked.update(previous_word=[], calls=[], attention=[])
    for tokens, log_prob, score, outputs in results:
        stacked["token_ids"].append(
            tokens + [PADDING] * (max_length - len(tokens))
        )
        stacked["length"].append(len(tokens))
        stacked["log_probability"].append(log_prob)
        stacked["score"].append(score)
        for key, zero in (
            ("previous_word", np.int32(0)),
            ("calls", np.int32(0)),
            ("attention", np.zeros((2, 2), "float32")),
        ):
            values = [step[key] for step in outputs]
            values += [zero] * (max_length - len(outputs))
            stacked[key].append(np.stack(values))
    return {key: np.array(value) for key, value in stacked.items()}


def brute_force_best(model, batch_size, max_length, alpha):
    """The best-scoring complete sentence of each video, by enumeration."""
    best = []
    for history in model.initial_history(batch_size):
        best_score, best_tokens = -np.inf, None
        for length in range(1, max_length + 1):
            for tokens in itertools.product(range(VOCABULARY), repeat=length):
                if END in tokens[:-1] or (
                    length < max_length and tokens[-1] != END
                ):
                    continue
                word, state, calls, log_prob = START, history, 0, 0.0
                for token in tokens:
                    log_probs, state, calls, _ = model.numpy_step(
                        word, state, calls
                    )
                    log_prob += float(log_probs[token])
                    word = token
                score = log_prob / length**alpha
                if score > best_score:
                    best_score, best_tokens = score, list(tokens)
        best.append(best_tokens + [PADDING] * (max_length - len(best_tokens)))
    return np.array(best)


def run_greedy(model, batch_size, max_length=8):
    return run_search("greedy", model, batch_size, max_length)


def run_beam(model, batch_size, beam_width, max_length=8, **kwargs):
    return run_search(
        "beam", model, batch_size, max_length, beam_width=beam_width, **kwargs
    )


def run_search(search, model, batch_size, max_length, **kwargs):
    return to_numpy(
        getattr(vidattn.models, f"{search}_search")(
            model.keras_step,
            model.initial_state(batch_size),
            batch_size=batch_size,
            max_length=max_length,
            **kwargs,
        )
    )


def assert_results_equal(expected, received):
    assert sorted(received) == sorted(expected)
    for key in ("token_ids", "length", "previous_word", "calls"):
        np.testing.assert_array_equal(received[key], expected[key], key)
    for key in ("log_probability", "score", "attention"):
        np.testing.assert_allclose(received[key], expected[key], atol=1e-5)
    assert received["token_ids"].dtype == np.int32
    assert received["length"].dtype == np.int32
    assert received["log_probability"].dtype == np.float32
    assert received["score"].dtype == np.float32


def test_tile_beams_repeats_each_row_in_place():
    structure = {"h": np.array([[1.0], [2.0]]), "c": [np.array([5, 6])]}
    tiled = to_numpy(vidattn.models.tile_beams(structure, 3))
    np.testing.assert_array_equal(tiled["h"][:, 0], [1, 1, 1, 2, 2, 2])
    np.testing.assert_array_equal(tiled["c"][0], [5, 5, 5, 6, 6, 6])


@pytest.mark.parametrize("batch_size", [1, 3])
def test_greedy_matches_numpy(batch_size):
    model = PathModel(seed=1, end_bias=0.5)
    assert_results_equal(
        numpy_greedy(model, batch_size, 8), run_greedy(model, batch_size)
    )


@pytest.mark.parametrize("alpha", [0.0, 0.7])
@pytest.mark.parametrize("beam_width", [1, 2, 4])
@pytest.mark.parametrize("batch_size", [1, 3])
def test_beam_search_matches_numpy(batch_size, beam_width, alpha):
    model = PathModel(seed=1)
    expected = numpy_beam_search(model, batch_size, beam_width, 8, alpha)
    received = run_beam(
        model, batch_size, beam_width, length_normalization=alpha
    )
    assert_results_equal(expected, received)


def test_normalized_scores_rank_finished_against_alive_hypotheses():
    # With this model, ranking by log probability during the search and
    # normalising only the final choice would end video 0 with 5 1 5 1 ...
    model = PathModel(seed=7)
    expected = numpy_beam_search(model, 3, 2, 8, 0.7)
    received = run_beam(model, 3, 2, length_normalization=0.7)
    assert_results_equal(expected, received)
    np.testing.assert_array_equal(received["token_ids"][0, :4], [5, 0, 3, 0])


def on_host(callback, *tensors):
    """Calls `callback` with the NumPy values of `tensors` at every step.

    Eager TensorFlow runs `keras.ops.while_loop` step by step in Python;
    JAX traces the loop's body once and runs it compiled, so the values
    reach Python through `jax.debug.callback`. Call `wait_for_host()`
    before reading what the callbacks recorded.
    """
    if keras.backend.backend() == "jax":
        import jax

        jax.debug.callback(callback, *tensors)
    else:
        callback(*(keras.ops.convert_to_numpy(t) for t in tensors))


def wait_for_host():
    if keras.backend.backend() == "jax":
        import jax

        jax.effects_barrier()


def test_greedy_feeds_padding_after_the_end():
    model = PathModel(seed=1)
    fed = np.full((8, 3), -1)

    def record(step, word_ids):
        fed[int(step)] = word_ids

    def recording_step(word_ids, state):
        on_host(record, state["calls"][0], word_ids)
        return model.keras_step(word_ids, state)

    result = to_numpy(
        vidattn.models.greedy_search(
            recording_step, model.initial_state(3), batch_size=3, max_length=8
        )
    )
    wait_for_host()
    # Video 1 ends at once: fed the start, its end token, then padding.
    assert result["length"][1] == 1
    np.testing.assert_array_equal(fed[:, 1], [START, END] + [PADDING] * 6)
    np.testing.assert_array_equal(fed[1:, 0], result["token_ids"][0, :7])


def test_searches_find_sentences_that_differ():
    # Guards the comparisons above against a model too easy to tell apart.
    model = PathModel(seed=1)
    greedy = run_greedy(model, 3)
    beam = run_beam(model, 3, 4)
    assert len({tuple(row) for row in greedy["token_ids"]}) == 3
    assert not np.array_equal(greedy["token_ids"], beam["token_ids"])
    assert np.all(beam["log_probability"] >= greedy["log_probability"] - 1e-6)


def test_beam_width_one_equals_greedy():
    model = PathModel(seed=3)
    greedy = run_greedy(model, 4, max_length=10)
    beam = run_beam(model, 4, 1, max_length=10)
    assert_structures_close(greedy, beam, atol=0, rtol=0)


@pytest.mark.parametrize("alpha", [0.0, 1.0])
def test_wide_beam_finds_the_brute_force_best(alpha):
    model = PathModel(seed=1, scale=3.0, end_bias=-1.0)
    # 341 hypotheses at most are ever on offer with 6 words and 4 steps.
    received = run_beam(model, 2, 400, max_length=4, length_normalization=alpha)
    np.testing.assert_array_equal(
        received["token_ids"], brute_force_best(model, 2, 4, alpha)
    )


def test_chosen_outputs_follow_the_chosen_words():
    model = PathModel(seed=5, end_bias=0.5)
    result = run_beam(model, 3, 4, max_length=10)
    for b in range(3):
        length = result["length"][b]
        assert length < 10
        fed = [START] + list(result["token_ids"][b, : length - 1])
        np.testing.assert_array_equal(result["previous_word"][b, :length], fed)
        np.testing.assert_array_equal(
            result["calls"][b, :length], np.arange(1, length + 1)
        )
        assert result["token_ids"][b, length - 1] == END
        assert np.all(result["token_ids"][b, length:] == PADDING)
        assert np.all(result["calls"][b, length:] == 0)
        assert np.all(result["attention"][b, length:] == 0)


@pytest.mark.parametrize("search", ["greedy", "beam"])
def test_stops_when_every_sentence_has_ended(search):
    model = PathModel(seed=6, end_after=2)
    calls = []

    def counted_step(word_ids, state):
        on_host(calls.append, state["calls"][0])
        return model.keras_step(word_ids, state)

    kwargs = {"beam_width": 3} if search == "beam" else {}
    function = getattr(vidattn.models, f"{search}_search")
    result = to_numpy(
        function(
            counted_step,
            model.initial_state(2),
            batch_size=2,
            max_length=30,
            **kwargs,
        )
    )
    np.testing.assert_array_equal(result["length"], [3, 3])
    np.testing.assert_array_equal(result["token_ids"][:, 2], [END, END])
    wait_for_host()
    # Three words, then every beam has ended: three calls, not thirty.
    assert len(calls) == 3


@pytest.mark.parametrize("search", ["greedy", "beam"])
def test_max_length_without_end(search):
    model = PathModel(seed=7, never_end=True)
    if search == "beam":
        result = run_beam(model, 2, 3, max_length=5)
    else:
        result = run_greedy(model, 2, max_length=5)
    np.testing.assert_array_equal(result["length"], [5, 5])
    assert not np.any(result["token_ids"] == END)
    assert np.all(result["calls"] == np.arange(1, 6))


def compiled(search):
    """`search(history, calls)` traced as a whole, as serving or fit runs it.

    TensorFlow traces it once for every batch size; `jax.jit` traces it
    again for every new shape.
    """
    if keras.backend.backend() == "jax":
        import jax

        return jax.jit(search)
    import tensorflow as tf

    spec = tf.TensorSpec((None,), tf.int32)
    return tf.function(search, input_signature=[spec, spec])


@pytest.mark.skipif(
    keras.backend.backend() not in ("tensorflow", "jax"),
    reason="traces with `tf.function` or `jax.jit`",
)
@pytest.mark.parametrize("max_length", [3, 12])
def test_traced_once_inside_a_compiled_function(max_length):
    model = PathModel(seed=8, end_bias=-1.0)
    traced_calls = []

    def step_fn(word_ids, state):
        traced_calls.append(1)
        return model.keras_step(word_ids, state)

    @compiled
    def search(history, calls):
        return vidattn.models.beam_search(
            step_fn,
            {"history": history, "calls": calls},
            batch_size=keras.ops.shape(history)[0],
            beam_width=3,
            max_length=max_length,
            length_normalization=0.5,
        )

    state = model.initial_state(3)
    in_graph = to_numpy(search(state["history"], state["calls"]))
    assert len(traced_calls) == 2
    if keras.backend.backend() == "jax":
        search(state["history"] + 1, state["calls"])
    else:
        search(state["history"][:2], state["calls"][:2])
    assert len(traced_calls) == 2
    expected = numpy_beam_search(model, 3, 3, max_length, 0.5)
    assert_results_equal(expected, in_graph)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"beam_width": 0}, "Expected `beam_width` to be a positive integer"),
        ({"max_length": 0}, "Expected `max_length` to be a positive integer"),
        (
            {"length_normalization": -0.5},
            "Expected `length_normalization` to be a finite number >= 0",
        ),
        ({"batch_size": 0}, "Expected `batch_size` to be a positive integer"),
    ],
)
def test_bad_arguments(kwargs, message):
    model = PathModel()
    arguments = {"batch_size": 2, **kwargs}
    with pytest.raises(ValueError, match=message + ".*Received"):
        vidattn.models.beam_search(
            model.keras_step, model.initial_state(2), **arguments
        )


def test_step_outputs_may_not_hide_result_keys():
    model = PathModel()

    def step_fn(word_ids, state):
        log_probs, state, outputs = model.keras_step(word_ids, state)
        return log_probs, state, dict(outputs, score=outputs["calls"])

    with pytest.raises(ValueError, match="Expected step outputs without"):
        vidattn.models.greedy_search(
            step_fn, model.initial_state(2), batch_size=2
        )
