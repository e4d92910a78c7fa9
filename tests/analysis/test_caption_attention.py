import numpy as np
import pytest

import vidattn
from vidattn.analysis import CaptionAttentionRecord
from vidattn.analysis import attention_on_cells
from vidattn.analysis import caption_attention_records
from vidattn.layers import CaptionTokenizer

VIDEOS, FRAMES, GRID, CHANNELS, MAX_LENGTH = 3, 4, 2, 8, 5
# Ids: 0 padding, 1 unknown, 2 start, 3 end, then "a" 4, "cat" 5, "runs" 6.
VOCABULARY = ["a", "cat", "runs"]


def record_arguments(**overrides):
    arguments = dict(
        video_id="clip",
        frames=np.zeros((3, 8, 8, 3), np.uint8),
        frame_mask=np.array([True, True, False]),
        words=["a", "cat"],
        attention=np.full((2, 3, 2, 2), 1 / 8, np.float32),
        beta=np.array([0.9, 0.4]),
        log_probability=-2.5,
    )
    arguments.update(overrides)
    return arguments


class FixedCaptioner:
    """A captioner whose `generate()` returns arrays fixed in advance."""

    def __init__(self, token_ids, length, tokenizer=None):
        self.tokenizer = tokenizer
        rng = np.random.default_rng(0)
        self.result = {
            "token_ids": np.array(token_ids, np.int32),
            "length": np.array(length, np.int32),
            "log_probability": np.array([-1.5, -2.5, -3.5], np.float32),
            "attention": rng.random((VIDEOS, MAX_LENGTH, FRAMES, GRID, GRID)),
            "beta": rng.random((VIDEOS, MAX_LENGTH)),
        }
        if tokenizer is not None:
            self.result["captions"] = tokenizer.decode_ids(token_ids)
        self.calls = []

    def generate(self, inputs, **options):
        self.calls.append((inputs, options))
        return self.result


def test_records_cut_each_videos_arrays_to_its_words():
    tokenizer = CaptionTokenizer(VOCABULARY)
    model = FixedCaptioner(
        # Ended after 2 words; never ended; only the end token.
        token_ids=[[4, 5, 3, 0, 0], [4, 1, 6, 9, 5], [3, 0, 0, 0, 0]],
        length=[3, 5, 1],
        tokenizer=tokenizer,
    )
    features = np.zeros((VIDEOS, FRAMES, GRID, GRID, CHANNELS))
    frame_mask = np.array([[1, 1, 1, 0], [1, 1, 1, 1], [1, 0, 0, 0]], bool)
    frames = np.arange(VIDEOS * FRAMES * 6 * 6 * 3).astype(np.uint8)
    frames = frames.reshape((VIDEOS, FRAMES, 6, 6, 3))
    records = caption_attention_records(
        model,
        features,
        frames=frames,
        frame_mask=frame_mask,
        video_ids=["x", "y", "z"],
        references={"x": ["a cat"], "z": ["nothing", "at all"]},
        beam_width=2,
        max_length=MAX_LENGTH,
    )
    inputs, options = model.calls[0]
    assert len(model.calls) == 1
    assert options == {"beam_width": 2, "max_length": MAX_LENGTH}
    np.testing.assert_array_equal(inputs["frame_mask"], frame_mask)
    assert [record.video_id for record in records] == ["x", "y", "z"]
    # Id 9 is past the vocabulary: the unknown token, as decode_ids says.
    assert [record.words for record in records] == [
        ["a", "cat"],
        ["a", "[UNK]", "runs", "[UNK]", "cat"],
        [],
    ]
    assert [r.sentence for r in records] == model.result["captions"]
    for index, (record, count) in enumerate(zip(records, (2, 5, 0))):
        np.testing.assert_allclose(
            record.attention, model.result["attention"][index, :count]
        )
        np.testing.assert_allclose(
            record.beta, model.result["beta"][index, :count]
        )
        np.testing.assert_array_equal(record.frames, frames[index])
        np.testing.assert_array_equal(record.frame_mask, frame_mask[index])
        assert record.scores is None
    assert [r.log_probability for r in records] == [-1.5, -2.5, -3.5]
    assert [r.references for r in records] == [
        ("a cat",),
        (),
        ("nothing", "at all"),
    ]


def test_records_of_a_model_without_tokenizer_name_words_by_id():
    model = FixedCaptioner(
        token_ids=[[4, 3, 0, 0, 0]] * VIDEOS, length=[2] * VIDEOS
    )
    records = caption_attention_records(
        model, np.zeros((VIDEOS, FRAMES, GRID, GRID, CHANNELS))
    )
    assert [record.words for record in records] == [["4"]] * VIDEOS
    assert [record.video_id for record in records] == [
        "video_0",
        "video_1",
        "video_2",
    ]
    assert records[0].frames is None and records[0].frame_mask.all()


def test_records_agree_with_a_real_captioners_generate():
    tokenizer = CaptionTokenizer(VOCABULARY)
    model = vidattn.models.VideoCaptioner(
        tokenizer, units=16, embedding_dim=8, seed=1
    )
    rng = np.random.default_rng(1)
    features = rng.random((2, FRAMES, GRID, GRID, CHANNELS)).astype("float32")
    frame_mask = np.array([[1, 1, 1, 1], [1, 1, 0, 0]], bool)
    inputs = {"features": features, "frame_mask": frame_mask}
    result = model.generate(inputs, beam_width=2, max_length=MAX_LENGTH)
    records = caption_attention_records(
        model,
        features,
        frame_mask=frame_mask,
        beam_width=2,
        max_length=MAX_LENGTH,
    )
    for index, record in enumerate(records):
        words = result["captions"][index].split()
        assert record.words == words
        np.testing.assert_allclose(
            record.attention, result["attention"][index, : len(words)]
        )
        np.testing.assert_allclose(
            record.log_probability, result["log_probability"][index]
        )
    # Padding frames get no attention: every word's shares are on frames 0-1.
    np.testing.assert_allclose(records[1].frame_shares[:, 2:], 0.0)
    np.testing.assert_allclose(records[1].frame_shares.sum(axis=1), 1.0)


def test_records_score_each_sentence_against_its_references():
    tokenizer = CaptionTokenizer(VOCABULARY)
    model = FixedCaptioner(
        token_ids=[[4, 5, 6, 4, 5], [4, 5, 6, 4, 5], [3, 0, 0, 0, 0]],
        length=[5, 5, 1],
        tokenizer=tokenizer,
    )
    features = np.zeros((VIDEOS, FRAMES, GRID, GRID, CHANNELS))
    references = [["a cat runs a cat"], ["dogs sleep here today"], ["a cat"]]
    records = caption_attention_records(
        model, features, references=references, metrics=("bleu",)
    )
    assert sorted(records[0].scores) == ["BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4"]
    assert records[0].scores["BLEU-4"] == pytest.approx(1.0, abs=1e-6)
    assert records[1].scores["BLEU-1"] == pytest.approx(0.0, abs=1e-6)
    assert records[2].scores["BLEU-4"] == 0.0
    with pytest.raises(ValueError, match=r"references for every video"):
        caption_attention_records(
            model, features, references=references[:2] + [[]], metrics=("bleu",)
        )


def test_records_refuse_inputs_for_another_number_of_videos():
    model = FixedCaptioner(token_ids=[[3] * 5] * VIDEOS, length=[1] * VIDEOS)
    features = np.zeros((VIDEOS, FRAMES, GRID, GRID, CHANNELS))
    with pytest.raises(
        ValueError, match=r"one entry of `video_ids` per video: 3.*Received: 2"
    ):
        caption_attention_records(model, features, video_ids=["a", "b"])


@pytest.mark.parametrize(
    "overrides, error, message",
    [
        (
            {"attention": np.zeros((3, 3, 2, 2))},
            ValueError,
            r"Video 'clip': expected one attention map per word: 2 words",
        ),
        (
            {"attention": np.zeros((2, 3, 2, 3))},
            ValueError,
            r"attention of shape \(words, N, K, K\)",
        ),
        (
            {"attention": np.full((2, 3, 2, 2), -0.1)},
            ValueError,
            "non-negative attention weights",
        ),
        (
            {"beta": np.ones(3)},
            ValueError,
            r"one finite beta per word, .*\(2,\)",
        ),
        (
            {"frame_mask": np.array([True, False])},
            ValueError,
            r"bool frame_mask of shape \(3,\)",
        ),
        (
            {"frame_mask": np.zeros(3, bool)},
            ValueError,
            "at least one valid frame",
        ),
        (
            {"frames": np.zeros((2, 8, 8, 3), np.uint8)},
            ValueError,
            r"3 uint8 frames.*Received: 2 frames",
        ),
        (
            {"frames": np.zeros((3, 8, 8, 3), np.float32)},
            ValueError,
            "of dtype float32",
        ),
        ({"words": "a cat"}, TypeError, "words as a list of str"),
        ({"words": ["a", 5]}, TypeError, "every item of words to be a str"),
        ({"references": "a cat"}, TypeError, "references as a list of str"),
        ({"log_probability": "low"}, ValueError, "a float log_probability"),
        ({"scores": [0.3]}, ValueError, "scores as a dict"),
    ],
)
def test_record_refuses_what_does_not_fit(overrides, error, message):
    with pytest.raises(error, match=message):
        CaptionAttentionRecord(**record_arguments(**overrides))


def test_record_normalizes_its_fields():
    record = CaptionAttentionRecord(
        **record_arguments(
            frame_mask=None,
            references=["a cat", "the cat"],
            scores={"BLEU-4": np.float32(0.5)},
        )
    )
    assert record.frame_mask.tolist() == [True, True, True]
    assert record.references == ("a cat", "the cat")
    assert record.scores == {"BLEU-4": 0.5}
    assert record.attention.dtype == np.float32
    np.testing.assert_allclose(record.frame_shares, np.full((2, 3), 1 / 3))


def numpy_attention_on_cells(attention, cell_mask, frame_mask):
    """The measure by loops: `cell_mask` `(words, N, K, K)` bool."""
    words, frames, grid, _ = attention.shape
    mass = np.zeros(words)
    uniform = np.zeros(words)
    valid_locations = frame_mask.sum() * grid * grid
    for word in range(words):
        for frame in range(frames):
            for row in range(grid):
                for column in range(grid):
                    if cell_mask[word, frame, row, column]:
                        mass[word] += attention[word, frame, row, column]
                        if frame_mask[frame]:
                            uniform[word] += 1 / valid_locations
    return mass, uniform


def test_attention_on_cells_matches_numpy():
    rng = np.random.default_rng(3)
    words, frames, grid = 3, 5, 3
    frame_mask = np.array([True, True, True, True, False])
    attention = rng.random((words, frames, grid, grid))
    attention[:, ~frame_mask] = 0
    attention /= attention.sum(axis=(1, 2, 3), keepdims=True)
    cells = np.array([0, 4, -1, 8, 2])
    flat_mask = np.zeros((words, frames, grid * grid), bool)
    for frame, cell in enumerate(cells):
        if cell >= 0:
            flat_mask[:, frame, cell] = True
    cell_mask = flat_mask.reshape((words, frames, grid, grid))
    measure = attention_on_cells(attention, cells, frame_mask=frame_mask)
    mass, uniform = numpy_attention_on_cells(attention, cell_mask, frame_mask)
    np.testing.assert_allclose(measure["mass"], mass)
    # Three chosen cells in valid frames (frame 4 is padding), of 4 * 9.
    np.testing.assert_allclose(measure["uniform"], [3 / 36] * words)
    np.testing.assert_allclose(measure["uniform"], uniform)
    np.testing.assert_allclose(measure["ratio"], mass / uniform)
    np.testing.assert_allclose(
        measure["per_frame"][:, 1], attention[:, 1, 1, 1]
    )
    # The same cells as a mask per frame, and a different mask per word.
    same = attention_on_cells(attention, cell_mask[0], frame_mask=frame_mask)
    np.testing.assert_allclose(same["mass"], mass)
    per_word = rng.random((words, frames, grid, grid)) < 0.3
    measure = attention_on_cells(attention, per_word, frame_mask=frame_mask)
    mass, uniform = numpy_attention_on_cells(attention, per_word, frame_mask)
    np.testing.assert_allclose(measure["mass"], mass)
    np.testing.assert_allclose(measure["uniform"], uniform)


def test_attention_on_cells_reads_a_records_frame_mask():
    record = CaptionAttentionRecord(**record_arguments())
    measure = attention_on_cells(record, np.array([0, 0, 0]))
    # 1/8 on cell 0 of each of 3 frames; uniform: 2 valid cells of 8.
    np.testing.assert_allclose(measure["mass"], [3 / 8, 3 / 8])
    np.testing.assert_allclose(measure["uniform"], [2 / 8, 2 / 8])
    np.testing.assert_allclose(measure["ratio"], [1.5, 1.5])


def test_attention_on_cells_refuses_cells_that_do_not_fit():
    attention = np.full((1, 2, 2, 2), 1 / 8)
    with pytest.raises(ValueError, match=r"flat cell indices below 4 \(K=2\)"):
        attention_on_cells(attention, np.array([0, 4]))
    with pytest.raises(ValueError, match=r"Expected cells as int flat"):
        attention_on_cells(attention, np.zeros((2, 3, 3), bool))
    with pytest.raises(ValueError, match=r"Expected attention of shape"):
        attention_on_cells(np.zeros((2, 2, 2)), np.array([0, 1]))
