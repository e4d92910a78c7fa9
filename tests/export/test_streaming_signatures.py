import keras
import numpy as np
import pytest
import tensorflow as tf

import vidattn
from vidattn.export.streaming_signatures import STATE_NAMES
from vidattn.export.streaming_signatures import add_streaming_endpoints
from vidattn.export.streaming_signatures import stream_start
from vidattn.export.streaming_signatures import stream_step

BATCH, FRAMES, GRID, CHANNELS, UNITS, CLASSES = 2, 5, 2, 8, 8, 3


def make_features(seed=0, frames=FRAMES):
    # Location norms near 30, as last-conv features have: the mean-norm
    # scale changes every step's inputs, so a stream that lost it would not
    # match the whole-clip pass.
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(BATCH, frames, GRID, GRID, CHANNELS))
    return (10 * features).astype("float32")


def make_model(num_layers=2, attention="additive", **kwargs):
    model = vidattn.models.ActionRecognizer(
        CLASSES,
        units=UNITS,
        num_layers=num_layers,
        attention=attention,
        **kwargs,
    )
    model(make_features())
    return model


def export_stream(model, path, track=False):
    archive = keras.export.ExportArchive()
    if track:  # As an exporter that adds its own signatures does.
        archive.track(model)
    add_streaming_endpoints(archive, model)
    archive.write_out(str(path), verbose=False)
    return tf.saved_model.load(str(path)).signatures


def running_means(step_probabilities):
    """The mean of the step probabilities up to each step, in NumPy."""
    steps = np.arange(1, step_probabilities.shape[1] + 1)[None, :, None]
    return np.cumsum(step_probabilities, axis=1) / steps


@pytest.mark.parametrize(
    "num_layers, attention, feature_normalization, multi_label",
    [
        (1, "linear", "mean_norm", False),
        (2, "additive", "mean_norm", True),
        (2, "linear", None, True),
        (1, "additive", None, False),
    ],
)
def test_the_exported_stream_equals_the_whole_clip_pass(
    num_layers, attention, feature_normalization, multi_label, tmp_path
):
    model = make_model(
        num_layers,
        attention,
        feature_normalization=feature_normalization,
        multi_label=multi_label,
    )
    features = make_features(seed=1)
    whole_clip = model.predict(features, verbose=0)
    signatures = export_stream(model, tmp_path / "1")

    state = signatures["stream_start"](features=tf.constant(features))
    assert sorted(state) == sorted(STATE_NAMES)
    np.testing.assert_array_equal(state["step_count"], [0, 0])
    expected_running = running_means(whole_clip["step_probabilities"])
    for t in range(FRAMES):
        answer = signatures["stream_step"](
            frame=tf.constant(features[:, t]), **state
        )
        state = {name: answer[name] for name in STATE_NAMES}
        for key in ("step_probabilities", "attention"):
            np.testing.assert_allclose(
                answer[key].numpy(), whole_clip[key][:, t], atol=1e-5
            )
        np.testing.assert_allclose(
            answer["probabilities"].numpy(), expected_running[:, t], atol=1e-5
        )
    np.testing.assert_array_equal(state["step_count"], [FRAMES, FRAMES])
    np.testing.assert_allclose(
        answer["probabilities"].numpy(), whole_clip["probabilities"], atol=1e-5
    )


@pytest.mark.parametrize(
    "policy, num_layers, attention",
    [("float32", 1, "linear"), ("mixed_bfloat16", 2, "additive")],
)
def test_the_stream_in_python_equals_the_whole_clip_pass_of_padded_clips(
    policy, num_layers, attention
):
    keras.mixed_precision.set_global_policy(policy)
    # Under JAX the whole-clip scan is compiled, and XLA keeps some bfloat16
    # intermediates at a higher precision than the eager step does: they
    # agree to bfloat16's resolution (2**-8), not float32's.
    atol = 1e-5 if policy == "float32" else 1e-3
    model = make_model(num_layers, attention)
    features = make_features(seed=2)
    # The first clip has 3 frames and 2 of padding, whose values must not
    # count in its start (scale and mean feature).
    features[0, 3:] = 1000.0
    mask = np.ones((BATCH, FRAMES), bool)
    mask[0, 3:] = False
    whole_clip = model(
        {"features": features, "frame_mask": mask}, training=False
    )
    whole_clip = {
        key: keras.ops.convert_to_numpy(value)
        for key, value in whole_clip.items()
    }
    state = stream_start(model, features, mask)
    for t in range(FRAMES):
        answer = stream_step(model, features[:, t], state)
        state = {name: answer[name] for name in STATE_NAMES}
        valid = [0, 1] if t < 3 else [1]
        for key in ("step_probabilities", "attention"):
            np.testing.assert_allclose(
                keras.ops.convert_to_numpy(answer[key])[valid],
                whole_clip[key][valid, t],
                atol=atol,
            )
        if t == 2:
            np.testing.assert_allclose(
                keras.ops.convert_to_numpy(answer["probabilities"])[0],
                whole_clip["probabilities"][0],
                atol=atol,
            )
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(answer["probabilities"])[1],
        whole_clip["probabilities"][1],
        atol=atol,
    )
    assert keras.ops.convert_to_numpy(state["hidden"]).dtype == np.float32


@pytest.mark.parametrize(
    "make_baseline",
    [
        lambda: vidattn.models.PooledLSTMRecognizer(CLASSES, "max", units=4),
        lambda: vidattn.models.SoftmaxRegressionRecognizer(CLASSES),
    ],
    ids=["pooled_lstm", "softmax_regression"],
)
def test_models_without_attention_are_refused(make_baseline):
    model = make_baseline()
    model(make_features())
    with pytest.raises(ValueError, match="Expected a vidattn.models.Action"):
        stream_start(model, make_features())
    with pytest.raises(ValueError, match="clip signature"):
        add_streaming_endpoints(keras.export.ExportArchive(), model)


def test_an_unbuilt_model_a_wrong_cube_and_a_partial_state_are_refused():
    model = vidattn.models.ActionRecognizer(CLASSES, units=UNITS)
    with pytest.raises(ValueError, match="Expected a built model"):
        stream_start(model, make_features())
    model(make_features())
    with pytest.raises(ValueError, match=r"\(2, 2, 8\), the model's grid"):
        stream_start(model, make_features()[..., :4])
    state = stream_start(model, make_features())
    with pytest.raises(ValueError, match=r"\(batch, K, K, channels\)"):
        stream_step(model, make_features()[:, 0, :1], state)
    del state["step_count"]
    with pytest.raises(ValueError, match=r"without \['step_count'\]"):
        stream_step(model, make_features()[:, 0], state)


def test_the_exported_signatures_refuse_wrong_shapes_and_dtypes(tmp_path):
    model = make_model(num_layers=2)
    signatures = export_stream(model, tmp_path / "1", track=True)
    features = make_features()
    state = signatures["stream_start"](features=tf.constant(features))
    with pytest.raises(
        tf.errors.InvalidArgumentError,
        match=r"Expected input `frame` of shape \(-1, 2, 2, 8\) float32. "
        r"Received a tensor of shape:\] \[2 2 2 4\]",
    ):
        signatures["stream_step"](
            frame=tf.constant(features[:, 0, ..., :4]), **state
        )
    one_layer = dict(state, hidden=state["hidden"][:, :1])
    with pytest.raises(
        tf.errors.InvalidArgumentError,
        match=r"Expected input `hidden` of shape \(-1, 2, 8\) float32",
    ):
        signatures["stream_step"](
            frame=tf.constant(features[:, 0]), **one_layer
        )
    with pytest.raises(
        tf.errors.InvalidArgumentError,
        match=r"Expected input `features` of shape \(-1, -1, 2, 2, 8\)",
    ):
        signatures["stream_start"](features=tf.constant(features[:, 0]))
    with pytest.raises(
        tf.errors.InvalidArgumentError,
        match="expected to be a float tensor but is a double tensor",
    ):
        signatures["stream_start"](
            features=tf.constant(features.astype("float64"))
        )
