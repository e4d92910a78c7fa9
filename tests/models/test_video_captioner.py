import keras
import numpy as np
import pytest

import vidattn
from tests.fixtures import caption_reference
from tests.test_case import run_config_test
from tests.test_case import run_model_saving_test
from tests.test_case import run_precision_test
from tests.test_case import run_training_test

VOCABULARY, UNITS, EMBEDDING = 20, 16, 12
FRAME_MASK = np.array([[1, 1, 1, 1], [1, 1, 0, 0], [1, 1, 1, 0]], bool)


def make_inputs(seed=0, frame_mask=False):
    features, ids = caption_reference.random_batch(
        vocabulary=VOCABULARY, seed=seed
    )
    x = {"features": features, "caption_ids": ids}
    if frame_mask:
        x["frame_mask"] = FRAME_MASK
    return x


def make_model(**kwargs):
    arguments = {
        "vocabulary_size": VOCABULARY,
        "units": UNITS,
        "embedding_dim": EMBEDDING,
        "attention_units": 6,
        "seed": 1,
    }
    arguments.update(kwargs)
    return vidattn.models.VideoCaptioner(**arguments)


VARIANTS = {
    "linear": {},
    "additive": {"attention": "additive", "gate_hidden_units": (5,)},
    "linear_tanh_literal": {
        "output_activation": "tanh",
        "penalty_target": "literal",
    },
    "average_pool": {"attention": "uniform"},
    "first_step": {"video_input": "first_step", "attention": "additive"},
}


@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_teacher_forcing_and_loss_match_numpy_reference(variant, masked):
    x = make_inputs(frame_mask=masked)
    model = make_model(
        weight_decay=0.0,
        attention_penalty=0.7,
        dropout=0.5,
        **VARIANTS[variant],
    )
    outputs = model(x)
    config = model.get_config()
    expected = caption_reference.teacher_forced(
        x["features"],
        x["caption_ids"],
        caption_reference.weights_of(model),
        config,
        frame_mask=x.get("frame_mask"),
    )
    for key in ("word_logits", "attention", "beta"):
        assert outputs[key].dtype == "float32"
        np.testing.assert_allclose(
            outputs[key], expected[key], atol=1e-5, err_msg=key
        )
    loss = model.compute_loss(x, None, outputs)
    np.testing.assert_allclose(loss, expected["example_loss"].mean(), rtol=1e-5)


def test_each_video_is_read_at_the_same_scale_whatever_its_features_norm():
    # Scaling one video's features (another backbone, another layer) leaves
    # what the model makes of it unchanged; without the normalization, not.
    x = make_inputs(frame_mask=True)
    scaled = dict(
        x,
        features=x["features"]
        * np.array([30.0, 1.0, 0.1])[:, None, None, None, None].astype(
            "float32"
        ),
    )
    for variant in ("linear", "additive"):
        model = make_model(**VARIANTS[variant])
        np.testing.assert_allclose(
            model(scaled)["word_logits"], model(x)["word_logits"], atol=1e-5
        )
    raw = make_model(feature_normalization=None)
    assert not np.allclose(
        raw(scaled)["word_logits"][0], raw(x)["word_logits"][0], atol=1e-3
    )
    # The padded frames of the second video do not count in its norm.
    padded = dict(x, features=x["features"].copy())
    padded["features"][~x["frame_mask"]] = 1000.0
    model = make_model()
    np.testing.assert_allclose(
        model(padded)["word_logits"], model(x)["word_logits"], atol=1e-5
    )
    with pytest.raises(ValueError, match="feature_normalization"):
        make_model(feature_normalization="l2")


@pytest.mark.parametrize("variant", ["additive", "first_step"])
def test_step_by_step_decoding_equals_teacher_forcing(variant):
    x = make_inputs(1, frame_mask=True)
    model = make_model(**VARIANTS[variant])
    outputs = keras.tree.map_structure(keras.ops.convert_to_numpy, model(x))
    context = model.prepare_context(x["features"], x["frame_mask"])
    states = model.initial_states(x["features"], x["frame_mask"])
    ids = x["caption_ids"]
    for t in range(ids.shape[1] - 1):
        states, logits, weights, beta = model.step(ids[:, t], states, context)
        assert logits.dtype == weights.dtype == beta.dtype == "float32"
        np.testing.assert_allclose(
            logits, outputs["word_logits"][:, t], atol=1e-5
        )
        np.testing.assert_allclose(
            np.reshape(weights, outputs["attention"][:, t].shape),
            outputs["attention"][:, t],
            atol=1e-6,
        )
        np.testing.assert_allclose(beta, outputs["beta"][:, t], atol=1e-6)


def test_config_saving_and_training(tmp_path):
    x = make_inputs(2, frame_mask=True)
    model = make_model(attention="additive", feature_metadata={"fps": 5})
    run_config_test(model)
    model(x)
    run_config_test(model)
    run_training_test(make_model(attention="additive"), x)
    model.compile()
    history = model.fit(x, epochs=1, verbose=0).history
    assert set(history) == {"loss", "word_accuracy"}
    restored = run_model_saving_test(model, x, tmp_path)
    assert restored.compiled
    assert restored.feature_metadata == {"fps": 5}


def test_mixed_precision_keeps_softmaxes_logits_and_loss_float32():
    x = make_inputs(3, frame_mask=True)

    def fit_and_call(model):
        model.compile()
        history = model.fit(x, epochs=1, verbose=0).history
        assert np.all(np.isfinite(history["loss"]))
        outputs = model(x)
        outputs["loss"] = model.compute_loss(x, None, outputs)
        return outputs

    results = run_precision_test(
        lambda: make_model(attention="additive"),
        fit_and_call,
        float32_outputs={
            "word_logits": True,
            "attention": True,
            "beta": True,
            "loss": True,
        },
    )
    for outputs in results.values():
        np.testing.assert_allclose(
            outputs["attention"].sum((-1, -2, -3)), 1.0, atol=1e-6
        )


def test_uniform_penalty_target_is_attainable_and_literal_is_not():
    # Average pooling spreads each word's attention evenly: the uniform
    # target's penalty is 0, the literal one sum_i (1 - words / L)^2.
    x = make_inputs(4, frame_mask=True)
    losses = {}
    for target in ("uniform", "literal"):
        model = make_model(
            attention="uniform", penalty_target=target, weight_decay=0.0
        )
        outputs = model(x)
        with_penalty = model.per_example_loss(
            x["caption_ids"], outputs, x["frame_mask"]
        )
        model.attention_penalty = 0.0
        losses[target] = keras.ops.convert_to_numpy(
            with_penalty
        ) - keras.ops.convert_to_numpy(
            model.per_example_loss(x["caption_ids"], outputs, x["frame_mask"])
        )
    np.testing.assert_allclose(losses["uniform"], 0.0, atol=1e-5)
    words = (x["caption_ids"][:, 1:] != 0).sum(1)
    locations = FRAME_MASK.sum(1) * 4
    np.testing.assert_allclose(
        losses["literal"], locations * (1 - words / locations) ** 2, rtol=1e-5
    )


def test_padded_words_and_frames_change_nothing():
    x = make_inputs(5, frame_mask=True)
    model = make_model(attention="additive")
    loss = model.compute_loss(x, None, model(x))
    changed = dict(x)
    # Longer padding: more steps after END, whose predictions do not count.
    ids = np.pad(x["caption_ids"], ((0, 0), (0, 3)))
    features = x["features"].copy()
    features[~FRAME_MASK] = 100.0
    changed["caption_ids"] = ids
    changed["features"] = features
    changed_outputs = model(changed)
    np.testing.assert_allclose(
        model.compute_loss(changed, None, changed_outputs), loss, rtol=1e-6
    )
    attention = keras.ops.convert_to_numpy(changed_outputs["attention"])
    assert np.all(attention[~FRAME_MASK[:, None].repeat(8, 1)] == 0.0)


def test_dropout_is_active_only_in_training():
    x = make_inputs(6)
    model = make_model(dropout=0.5)
    inference = keras.ops.convert_to_numpy(model(x)["word_logits"])
    np.testing.assert_array_equal(
        inference, keras.ops.convert_to_numpy(model(x)["word_logits"])
    )
    training = keras.ops.convert_to_numpy(
        model(x, training=True)["word_logits"]
    )
    assert not np.allclose(inference, training)
    masks = model.dropout_masks(3)
    assert sorted(masks) == sorted(
        vidattn.models.video_captioner.DROPOUT_CONNECTIONS
    )
    assert make_model(dropout=0.0).dropout_masks(3) is None


def test_unknown_caption_length():
    x = make_inputs(7)
    model = make_model()
    model(x)
    spec = {
        "features": keras.KerasTensor((None, 4, 2, 2, 8)),
        "caption_ids": keras.KerasTensor((None, None), dtype="int32"),
    }
    outputs = model(spec)
    assert tuple(outputs["word_logits"].shape) == (None, None, VOCABULARY)


@keras.saving.register_keras_serializable(package="vidattn_tests")
class StandInTokenizer(keras.layers.Layer):
    def __init__(self, words=("a", "b"), **kwargs):
        super().__init__(**kwargs)
        self.words = list(words)

    @property
    def vocabulary_size(self):
        return 4 + len(self.words)

    def get_config(self):
        return {**super().get_config(), "words": self.words}


def test_a_tokenizer_travels_with_the_model(tmp_path):
    model = make_model(
        vocabulary_size=None, tokenizer=StandInTokenizer(["cat", "dog", "runs"])
    )
    assert model.vocabulary_size == 7
    restored = run_config_test(model)
    assert restored.tokenizer.words == ["cat", "dog", "runs"]
    x = make_inputs(8)
    x["caption_ids"] = np.minimum(x["caption_ids"], 6)
    restored = run_model_saving_test(model, x, tmp_path)
    assert restored.tokenizer.words == ["cat", "dog", "runs"]


def test_a_captioner_holding_a_tokenizer_compiles_its_train_step():
    # Keras compiles a model only if every sublayer `supports_jit`; under
    # JAX an uncompiled step runs op by op (about four times slower).
    model = make_model(
        vocabulary_size=None,
        tokenizer=vidattn.layers.CaptionTokenizer(["cat", "dog", "runs"]),
    )
    model.compile()
    assert model.jit_compile == (keras.backend.backend() == "jax")


def test_bad_inputs_are_clear_errors():
    x = make_inputs(9, frame_mask=True)
    model = make_model()
    model(x)
    with pytest.raises(ValueError, match="looks channels-first"):
        make_model()(dict(x, features=np.zeros((3, 4, 8, 2, 2), "float32")))
    with pytest.raises(ValueError, match="integer tensor of shape"):
        model(dict(x, caption_ids=x["caption_ids"] > 0))
    np.testing.assert_array_equal(
        model(dict(x, caption_ids=x["caption_ids"].astype("float32")))["beta"],
        model(x)["beta"],
    )
    with pytest.raises(ValueError, match="shape \\(batch, length\\)"):
        make_model()(dict(x, caption_ids=x["caption_ids"][0]))
    empty = x["caption_ids"].copy()
    empty[1] = [2, 3, 0, 0, 0, 0]
    with pytest.raises(ValueError, match="at least one word"):
        model(dict(x, caption_ids=empty))
    no_frames = FRAME_MASK.copy()
    no_frames[2] = False
    with pytest.raises(ValueError, match="at least one valid frame"):
        model(dict(x, frame_mask=no_frames))
    with pytest.raises(ValueError, match="no `loss` argument"):
        model.compile(loss="mse")


@pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="a traced JAX step has no in-graph assertion: the frame check "
    "runs on eager calls only there",
)
@pytest.mark.parametrize("implementation", ["autodiff", "sequence_gradient"])
def test_fit_on_a_video_without_frames_fails_in_the_graph(implementation):
    # In the graph the number of locations is unknown after the check.
    x = make_inputs(9, frame_mask=True)
    no_frames = FRAME_MASK.copy()
    no_frames[2] = False
    model = make_model(implementation=implementation)
    model.compile()
    with pytest.raises(Exception, match="at least one valid frame"):
        model.fit(dict(x, frame_mask=no_frames), epochs=1, verbose=0)


@pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="XLA differentiates the scan over the words on other backends",
)
def test_jit_compile_is_refused_on_tensorflow():
    with pytest.raises(ValueError, match="Expected jit_compile=False"):
        make_model().compile(jit_compile=True)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"vocabulary_size": None}, "exactly one of `tokenizer`"),
        ({"tokenizer": StandInTokenizer()}, "exactly one of `tokenizer`"),
        ({"units": 0}, "Received: units=0"),
        ({"video_input": "last"}, "Received: video_input='last'"),
        ({"output_activation": "relu"}, "Received: output_activation='relu'"),
        ({"penalty_target": 1.0}, "Received: penalty_target=1.0"),
        ({"dropout": 1.0}, "Received: dropout=1.0"),
        ({"attention": "hard"}, "Received: attention='hard'"),
        ({"state_hidden_units": (0,)}, "Received: state_hidden_units=(0,)"),
    ],
)
def test_invalid_arguments(kwargs, message):
    with pytest.raises(ValueError, match="Expected") as error:
        make_model(**kwargs)
    assert message in str(error.value)
