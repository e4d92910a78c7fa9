"""`VideoCaptioner.generate`: decoding agrees with teacher forcing."""

import keras
import numpy as np
import pytest
from keras import ops

import vidattn
from tests.models.test_video_captioner import FRAME_MASK
from tests.models.test_video_captioner import make_inputs
from tests.models.test_video_captioner import make_model
from tests.test_case import to_numpy

WORDS = ["a", "man", "woman", "is", "cooking", "dancing", "the", "dog"]


def teacher_forced_view(model, x, token_ids, length):
    """What teacher forcing says of generated sentences, word by word.

    Returns the log probability of each sentence (padding and the start
    token excluded from the softmax, as `generate` excludes them), and the
    attention and beta of each generated word.
    """
    batch, max_length = token_ids.shape
    ids = np.zeros((batch, max_length + 1), "int32")
    ids[:, 0] = vidattn.layers.caption_tokenizer.START_ID
    ids[:, 1:] = token_ids
    # An untrained model may end a sentence at once, a caption that
    # training refuses; scoring it is still well defined.
    model.check_captions = lambda caption_ids: ops.cast(caption_ids, "int32")
    outputs = model({**x, "caption_ids": ids})
    del model.check_captions
    logits = ops.convert_to_numpy(outputs["word_logits"]).astype("float64")
    logits[..., [0, 2]] = -np.inf
    log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    chosen = np.take_along_axis(log_probs, token_ids[..., None], -1)[..., 0]
    words = np.arange(max_length)[None] < length[:, None]
    return (
        np.where(words, chosen, 0.0).sum(-1),
        ops.convert_to_numpy(outputs["attention"]),
        ops.convert_to_numpy(outputs["beta"]),
        words,
    )


@pytest.mark.parametrize("beam_width", [1, 3])
@pytest.mark.parametrize("variant", ["linear", "additive", "first_step"])
def test_generated_sentences_are_what_teacher_forcing_scores(
    variant, beam_width
):
    options = {
        "linear": {},
        "additive": {"attention": "additive"},
        "first_step": {"attention": "additive", "video_input": "first_step"},
    }[variant]
    x = make_inputs(3, frame_mask=True)
    model = make_model(**options)
    model(x)
    video = {"features": x["features"], "frame_mask": x["frame_mask"]}
    result = model.generate(video, beam_width=beam_width, max_length=6)

    log_probability, attention, beta, words = teacher_forced_view(
        model, video, result["token_ids"], result["length"]
    )
    np.testing.assert_allclose(
        result["log_probability"], log_probability, rtol=1e-5, atol=1e-5
    )
    attention = attention * words[..., None, None, None]
    np.testing.assert_allclose(result["attention"], attention, atol=1e-5)
    np.testing.assert_allclose(result["beta"], beta * words, atol=1e-5)
    padded = ~FRAME_MASK[:, None, :, None, None] & words[..., None, None, None]
    assert np.all(
        result["attention"][np.broadcast_to(padded, attention.shape)] == 0
    )


def test_beam_search_of_width_one_equals_greedy_decoding():
    x = make_inputs(4)
    model = make_model(attention="additive")
    model(x)
    features = ops.convert_to_tensor(x["features"])
    context = model.prepare_context(features)
    states = model.initial_states(features)

    def step_fn(word_ids, states):
        states, logits, weights, beta = model.step(word_ids, states, context)
        log_probs = ops.log_softmax(logits, axis=-1)
        return log_probs, states, {"attention": weights, "beta": beta}

    greedy = vidattn.models.greedy_search(
        step_fn, states, batch_size=3, max_length=6
    )
    beam = vidattn.models.beam_search(
        step_fn, states, batch_size=3, beam_width=1, max_length=6
    )
    # The same words; the floats to rounding, since JAX compiles each
    # search's loop as its own program.
    greedy, beam = to_numpy(greedy), to_numpy(beam)
    assert set(greedy) == set(beam)
    for key in greedy:
        if np.issubdtype(greedy[key].dtype, np.integer):
            np.testing.assert_array_equal(greedy[key], beam[key], err_msg=key)
        else:
            np.testing.assert_allclose(
                greedy[key], beam[key], rtol=1e-6, atol=1e-7, err_msg=key
            )


def test_a_model_file_alone_turns_features_into_words(tmp_path):
    tokenizer = vidattn.layers.CaptionTokenizer(WORDS)
    x = make_inputs(5)
    x["caption_ids"] = np.minimum(
        x["caption_ids"], tokenizer.vocabulary_size - 1
    )
    model = vidattn.models.VideoCaptioner(
        tokenizer, units=16, embedding_dim=12, dropout=0.0, seed=2
    )
    model(x)
    expected = model.generate(x["features"], max_length=5)
    path = str(tmp_path / "captioner.keras")
    model.save(path)

    restored = keras.saving.load_model(path)
    received = restored.generate(x["features"], max_length=5)
    assert restored.tokenizer.get_vocabulary() == tokenizer.get_vocabulary()
    assert received["captions"] == expected["captions"]
    np.testing.assert_array_equal(received["token_ids"], expected["token_ids"])
    for caption, ids, length in zip(
        received["captions"], received["token_ids"], received["length"]
    ):
        words = [WORDS[i - 4] if i >= 4 else "[UNK]" for i in ids[:length]]
        if ids[length - 1] == vidattn.layers.caption_tokenizer.END_ID:
            words = words[:-1]
        assert caption == " ".join(words)


def test_generation_refuses_bad_arguments_and_features():
    x = make_inputs(6)
    model = make_model()
    model(x)
    with pytest.raises(ValueError, match="Received: beam_width=0"):
        model.generate(x["features"], beam_width=0)
    with pytest.raises(ValueError, match="Received: max_length=0"):
        model.generate(x["features"], max_length=0)
    with pytest.raises(ValueError, match="the cubes the model was built on"):
        model.generate(np.zeros((1, 4, 3, 3, 8), "float32"))
    with pytest.raises(ValueError, match="looks channels-first"):
        model.generate(np.zeros((1, 4, 8, 2, 2), "float32"))
    no_frames = np.zeros((3, 4), bool)
    with pytest.raises(Exception, match="at least one valid frame"):
        model.generate({"features": x["features"], "frame_mask": no_frames})
