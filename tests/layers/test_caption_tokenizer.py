import ast
import os
import shutil

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.test_case import run_config_test
from vidattn.layers import CaptionTokenizer
from vidattn.layers import caption_tokenizer

# What Stanford PTBTokenizer 3.4.1 (coco-caption's, run with -lowerCase)
# followed by coco-caption's punctuation filter returns for each sentence.
PTB_PAIRS = [
    ("A man is slicing a tomato.", "a man is slicing a tomato"),
    (
        "Someone's pouring milk into a bowl!",
        "someone 's pouring milk into a bowl",
    ),
    ("A man's playing a guitar", "a man 's playing a guitar"),
    ("The woman doesn't like the cat.", "the woman does n't like the cat"),
    ("A boy can't ride the bike.", "a boy ca n't ride the bike"),
    ("They're dancing on the stage.", "they 're dancing on the stage"),
    ("A girl won't stop singing", "a girl wo n't stop singing"),
    ("I'm cooking some eggs.", "i 'm cooking some eggs"),
    ("He'll cut the onion", "he 'll cut the onion"),
    ("We've seen a dog running.", "we 've seen a dog running"),
    ("She'd like to swim.", "she 'd like to swim"),
    (
        "A  man   is  walking   with  extra spaces.",
        "a man is walking with extra spaces",
    ),
    ("A DOG IS RUNNING IN THE PARK", "a dog is running in the park"),
    ("A well-known chef is cooking.", "a well-known chef is cooking"),
    (
        "A man is peeling a potato -- quickly.",
        "a man is peeling a potato quickly",
    ),
    ("Two men are playing ping-pong.", "two men are playing ping-pong"),
    ("3 kids are playing with 2 balls.", "3 kids are playing with 2 balls"),
    ("A woman slices 1.5 pounds of meat.", "a woman slices 1.5 pounds of meat"),
    ('A man says "hello" to a woman.', "a man says hello to a woman"),
    ("A man is playing a 'guitar'.", "a man is playing a guitar"),
    (
        "A cat, a dog, and a bird are playing.",
        "a cat a dog and a bird are playing",
    ),
    (
        "A man is cutting (chopping) vegetables.",
        "a man is cutting -lrb- chopping -rrb- vegetables",
    ),
    (
        "A woman is mixing flour; then she adds eggs.",
        "a woman is mixing flour then she adds eggs",
    ),
    ("What is the man doing?", "what is the man doing"),
    ("A man is riding a horse...", "a man is riding a horse"),
    (
        "The children's toys are on the floor.",
        "the children 's toys are on the floor",
    ),
    (
        "A person is 'slicing' bread: carefully.",
        "a person is slicing bread carefully",
    ),
    ("The dogs' owner is walking.", "the dogs owner is walking"),
    (
        "A man is cutting a piece of meat with a knife",
        "a man is cutting a piece of meat with a knife",
    ),
    ("a panda is eating bamboo", "a panda is eating bamboo"),
    ("Gonna cook some food.", "gon na cook some food"),
    (
        "A man is playing a guitar & singing.",
        "a man is playing a guitar & singing",
    ),
    (
        "A woman is applying make-up on her face.",
        "a woman is applying make-up on her face",
    ),
    ("Cannot open the door.", "can not open the door"),
    (
        "A man is doing push-ups at 5 o'clock.",
        "a man is doing push-ups at 5 o'clock",
    ),
    (
        "A man {with a hat} is cooking [badly].",
        "a man -lcb- with a hat -rcb- is cooking -lsb- badly -rsb-",
    ),
    ("A man is playing - guitar.", "a man is playing guitar"),
    ("The cat is on the mat!!", "the cat is on the mat !!"),
    ("Someone is slicing a tomato?!", "someone is slicing a tomato ?!"),
    (
        "A man is typing on a computer's keyboard.",
        "a man is typing on a computer 's keyboard",
    ),
    ("A man is jumping/running.", "a man is jumping/running"),
    ("The price is $5.", "the price is $ 5"),
    ("A man is walking at 10:30.", "a man is walking at 10:30"),
    ("'Tis a man dancing.", "'t is a man dancing"),
    ("A man is cooking. He adds salt.", "a man is cooking he adds salt"),
    ("Mr. Smith is cooking.", "mr. smith is cooking"),
    ("A man is cooking.He adds salt.", "a man is cooking.he adds salt"),
    ("It is 50% off.", "it is 50 % off"),
    ("A man at&t #1 @home.", "a man at & t # 1 @home"),
    ("A man is walking.. slowly", "a man is walking slowly"),
    ("U.S. soldiers are marching.", "u.s. soldiers are marching"),
    ("The dog's. ", "the dog 's"),
    ("A man is playing a guitar etc.", "a man is playing a guitar etc."),
    ("A man says 'hi' and leaves.", "a man says hi and leaves"),
    ("A man's dog's toy.", "a man 's dog 's toy"),
    (
        "a man is cooking gonna wanna gotta lemme gimme cannot",
        "a man is cooking gon na wan na got ta lem me gim me can not",
    ),
    ("A man is cooking (badly.)", "a man is cooking -lrb- badly -rrb-"),
    ("A man, 1,000 times.", "a man 1,000 times"),
    ("Some ' quote", "some quote"),
    ("A man-", "a man"),
    ("-A man", "a man"),
    ("A man is run-ning- fast", "a man is run-ning fast"),
    (
        "A woman is cutting the onion's skin.",
        "a woman is cutting the onion 's skin",
    ),
    ("A man is doing his thing; yes: ok", "a man is doing his thing yes ok"),
    ("A man is cooking!", "a man is cooking"),
    ("Él está cocinando una tortilla.", "él está cocinando una tortilla"),
    ("A MAN'S CAT CAN'T JUMP", "a man 's cat ca n't jump"),
    ("IT'S A DOG", "it 's a dog"),
    ("A man is shooting ... a gun", "a man is shooting a gun"),
    ("A man is shooting…", "a man is shooting"),
    ("'Tis the season.", "'t is the season"),
    ("A dog isn't barking", "a dog is n't barking"),
    ("A man is riding a 10-speed bike.", "a man is riding a 10-speed bike"),
    ("There are 2.5 men.", "there are 2.5 men"),
    ("A man is .5 miles away.", "a man is .5 miles away"),
    ("The man's' dog", "the man 's dog"),
    ("He said `hello'", "he said hello"),
    ("A man    is   walking\twith a tab", "a man is walking with a tab"),
]
# Where `standardize` knowingly differs from PTBTokenizer (see the docstring).
PTB_DIFFERENCES = [
    ("Y'all are dancing.", "y'all are dancing", "y' all are dancing"),
    ("A man is 6'2\" tall.", "a man is 6'2 tall", "a man is 6 2 tall"),
    ("Cafe\u00b4 man.", "cafe\u00b4 man", "cafe \u00b4 man"),
]
CAPTIONS = [
    "A man is slicing a tomato.",
    "A man is slicing an onion.",
    "Someone's pouring milk into a bowl!",
    "A woman is slicing a potato",
    "A dog is running.",
]
# a: 5, is: 4, slicing: 3, man: 2, then once each, alphabetically.
VOCABULARY = [
    "a",
    "is",
    "slicing",
    "man",
    "'s",
    "an",
    "bowl",
    "dog",
    "into",
    "milk",
    "onion",
    "potato",
    "pouring",
    "running",
    "someone",
    "tomato",
    "woman",
]


def _word_ids(caption):
    return [VOCABULARY.index(word) + 4 for word in caption.split()]


@pytest.fixture(scope="module")
def tokenizer():
    tokenizer = CaptionTokenizer(max_length=6)
    tokenizer.adapt(CAPTIONS)
    return tokenizer


def test_standardize_matches_ptb_tokenizer_outputs():
    tokenizer = CaptionTokenizer()
    sentences = [sentence for sentence, _ in PTB_PAIRS]
    received = [
        text.decode("utf-8")
        for text in tokenizer.standardize(sentences).numpy()
    ]
    assert received == [expected for _, expected in PTB_PAIRS]
    for sentence, ours, _ in PTB_DIFFERENCES:
        assert tokenizer.standardize(sentence).numpy().decode() == ours


@pytest.mark.skipif(shutil.which("java") is None, reason="needs Java")
def test_recorded_outputs_are_the_real_ptb_tokenizer_outputs():
    ptb = pytest.importorskip("pycocoevalcap.tokenizer.ptbtokenizer")
    sentences = [sentence for sentence, _ in PTB_PAIRS] + [
        sentence for sentence, _, _ in PTB_DIFFERENCES
    ]
    result = ptb.PTBTokenizer().tokenize(
        {i: [{"caption": s}] for i, s in enumerate(sentences)}
    )
    expected = [ptb_text for _, ptb_text in PTB_PAIRS] + [
        ptb_text for _, _, ptb_text in PTB_DIFFERENCES
    ]
    assert [result[i][0] for i in range(len(sentences))] == expected


def test_standardize_runs_in_a_graph():
    tokenizer = CaptionTokenizer()
    standardize = tf.function(tokenizer.standardize)
    received = standardize(tf.constant([["I'm HERE, now."]]))
    assert received.shape == (1, 1)
    assert received.numpy()[0, 0] == b"i 'm here now"


def test_adapt_orders_words_by_count_then_alphabetically(tokenizer):
    assert (
        tokenizer.get_vocabulary()
        == [
            "",
            "[UNK]",
            "<start>",
            "<end>",
        ]
        + VOCABULARY
    )
    assert tokenizer.vocabulary_size == 4 + len(VOCABULARY)
    assert tokenizer.num_adapted_captions == 5
    # "someone 's pouring milk into a bowl" has 7 words > max_length=6.
    assert tokenizer.num_truncated_captions == 1


def test_adapt_reads_datasets_and_generators_and_min_count():
    batched = tf.data.Dataset.from_tensor_slices(CAPTIONS).batch(2)
    scalars = tf.data.Dataset.from_tensor_slices(CAPTIONS)
    for source in (batched, scalars, (c for c in CAPTIONS)):
        tokenizer = CaptionTokenizer(min_count=2)
        tokenizer.adapt(source)
        assert tokenizer.vocabulary == ["a", "is", "slicing", "man"]
        assert tokenizer.num_adapted_captions == 5


def test_call_frames_pads_and_truncates(tokenizer):
    ids = tokenizer(
        [
            "A man is slicing a tomato.",
            "Someone's pouring milk into a bowl!",
            "a dog",
        ]
    )
    assert ids.dtype == tf.int32 and ids.shape == (3, 8)
    expected = [
        [2] + _word_ids("a man is slicing a tomato") + [3],
        [2] + _word_ids("someone 's pouring milk into a") + [3],
        [2] + _word_ids("a dog") + [3, 0, 0, 0, 0],
    ]
    np.testing.assert_array_equal(ids.numpy(), expected)
    scalar = tokenizer("a dog")
    np.testing.assert_array_equal(scalar.numpy(), expected[2])


def test_unknown_words_map_to_the_unknown_id(tokenizer):
    ids = tokenizer(["a zebra is running"]).numpy()[0]
    assert ids[:6].tolist() == [2, 4, 1, 5, 17, 3]


def test_call_in_tf_function_and_dataset_map_equals_eager(tokenizer):
    eager = tokenizer(CAPTIONS).numpy()
    in_function = tf.function(lambda c: tokenizer(c))(tf.constant(CAPTIONS))
    np.testing.assert_array_equal(in_function.numpy(), eager)
    dataset = tf.data.Dataset.from_tensor_slices(CAPTIONS).batch(2)
    mapped = np.concatenate([b.numpy() for b in dataset.map(tokenizer)])
    np.testing.assert_array_equal(mapped, eager)


@pytest.mark.parametrize(
    "caption, expected",
    [
        ("", "at least one word after standardization"),
        (" ... !", "at least one word after standardization"),
        ("Zebras graze.", "at least one word of the vocabulary"),
    ],
)
def test_bad_captions_are_refused_eagerly_and_in_graphs(
    tokenizer, caption, expected
):
    with pytest.raises(ValueError) as info:
        tokenizer(["a dog", caption])
    message = str(info.value)
    assert f"Caption 1 of the batch: expected a caption with {expected}" in (
        message
    )
    assert f"«{caption}»" in message
    sources = tf.constant(["video_id=v0", "video_id=v7"])
    dataset = tf.data.Dataset.from_tensors(tf.constant(["a dog", caption])).map(
        lambda c: tokenizer(c, sources=sources)
    )
    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        list(dataset)
    assert f"video_id=v7: expected a caption with {expected}" in (
        info.value.message
    )


def test_adapt_refuses_a_caption_without_words_and_too_high_min_count():
    with pytest.raises(ValueError, match="Caption 1: expected a caption"):
        CaptionTokenizer().adapt(["a dog", "?"])
    with pytest.raises(ValueError, match="video_id=v2: expected a caption"):
        CaptionTokenizer().adapt(
            ["a dog", "?"], sources=["video_id=v1", "video_id=v2"]
        )
    with pytest.raises(ValueError, match="min_count=3 times"):
        CaptionTokenizer(min_count=3).adapt(["a dog", "a cat"])
    with pytest.raises(ValueError, match="received a single string"):
        CaptionTokenizer().adapt("a dog")


def test_a_tokenizer_without_vocabulary_says_so():
    tokenizer = CaptionTokenizer(name="words")
    assert tokenizer.vocabulary_size == 0
    with pytest.raises(ValueError, match="words has no vocabulary yet"):
        tokenizer(["a dog"])
    with pytest.raises(ValueError, match="call `adapt"):
        tokenizer.decode_ids([[2, 3]])


@pytest.mark.parametrize(
    "arguments, message",
    [
        (dict(max_length=0), "Expected `max_length` to be a positive integer"),
        (dict(min_count=1.5), "Expected `min_count` to be a positive integer"),
        (dict(vocabulary="a dog"), "Expected `vocabulary` to be a list of str"),
        (dict(vocabulary=[]), "at least one word"),
        (dict(vocabulary=["a", "<end>"]), "special tokens.*'<end>'"),
        (dict(vocabulary=["a", "b", "a"]), "repeated words.*'a'"),
        (
            dict(vocabulary=["Dog", "a b", ",", "dog"]),
            "standardization never gives.*'Dog', 'a b', ','",
        ),
    ],
)
def test_argument_validation(arguments, message):
    with pytest.raises(ValueError, match=message):
        CaptionTokenizer(**arguments)


def test_detokenize_and_decode_ids_stop_at_the_end(tokenizer):
    ids = tokenizer(["a man is slicing a tomato", "a dog", "a zebra"]).numpy()
    ids[2, 5] = 99  # Beyond the vocabulary, after END: never read.
    extra = np.array([[2, 4, 99, 5, 0, 0, 0, 0]])  # No END at all.
    ids = np.concatenate([ids, extra])
    expected = [
        "a man is slicing a tomato",
        "a dog",
        "a [UNK]",
        "a [UNK] is",
    ]
    assert tokenizer.decode_ids(ids) == expected
    decoded = tokenizer.detokenize(tf.constant(ids))
    assert [text.decode() for text in decoded.numpy()] == expected
    in_graph = tf.function(tokenizer.detokenize)(tf.constant(ids, tf.int32))
    assert [text.decode() for text in in_graph.numpy()] == expected


def test_config_round_trip_gives_the_same_ids(tokenizer):
    config = tokenizer.get_config()
    assert config["vocabulary"] == VOCABULARY
    assert (config["max_length"], config["min_count"]) == (6, 1)
    restored = run_config_test(tokenizer)
    np.testing.assert_array_equal(
        restored(CAPTIONS).numpy(), tokenizer(CAPTIONS).numpy()
    )


@pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="a model's string inputs run on TensorFlow only: Keras converts "
    "a model's inputs to the backend's tensors",
)
def test_keras_file_keeps_the_vocabulary(tokenizer, tmp_path):
    captions = keras.Input(shape=(), dtype="string")
    model = keras.Model(captions, tokenizer(captions))
    path = os.path.join(tmp_path, "tokenizer.keras")
    model.save(path)
    restored = keras.models.load_model(path)
    assert restored.layers[-1].get_vocabulary() == tokenizer.get_vocabulary()
    np.testing.assert_array_equal(
        restored(tf.constant(CAPTIONS)).numpy(), tokenizer(CAPTIONS).numpy()
    )


@pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="SavedModel export needs the TensorFlow backend",
)
def test_saved_model_keeps_the_vocabulary(tokenizer, tmp_path):
    module = tf.Module()
    module.tokenizer = tokenizer
    module.tokenize = tf.function(
        lambda captions: tokenizer(captions),
        input_signature=[tf.TensorSpec([None], tf.string)],
    )
    module.detokenize = tf.function(
        tokenizer.detokenize,
        input_signature=[tf.TensorSpec([None, None], tf.int32)],
    )
    path = os.path.join(tmp_path, "saved_model")
    tf.saved_model.save(module, path)
    restored = tf.saved_model.load(path)
    ids = restored.tokenize(tf.constant(CAPTIONS))
    np.testing.assert_array_equal(ids.numpy(), tokenizer(CAPTIONS).numpy())
    texts = restored.detokenize(ids).numpy()
    assert texts[3] == b"a woman is slicing a potato"


def test_module_imports_no_tensorflow_at_load():
    with open(caption_tokenizer.__file__) as f:
        tree = ast.parse(f.read())
    top_level = [
        alias.name
        for node in tree.body
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    ] + [node.module for node in tree.body if isinstance(node, ast.ImportFrom)]
    assert not any(name.startswith("tensorflow") for name in top_level)
