# ruff: noqa: E501 (test ids are as long as their names)
"""The layer, model and loss tests, run again under Keras's JAX backend.

vidattn's layers, models and losses are written with `keras.ops` only, so a
user may train them under `KERAS_BACKEND=jax`. CI runs these tests a second
time in a process with that backend: each layer's and model's NumPy reference,
a `fit` step, `.keras` round trips, mixed precision, the sequence-gradient
recurrence's hand-written backward pass under `jax.grad`, and the caption
searches' compiled loops.
"""

import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from tests.fixtures.backends import needs_jax

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Test file: the tests in it to run (all of it when empty).
JAX_TESTS = {
    "tests/layers/test_gated_spatio_temporal_attention.py": [],
    "tests/layers/test_lstm_state_initializer.py": [],
    "tests/layers/test_soft_attention_lstm_cell.py": [],
    "tests/layers/test_soft_attention_lstm.py": [
        "test_layer[additive-True-sequence_gradient]",
        "test_matches_numpy_reference[linear-3-True-sequence_gradient]",
        "test_matches_numpy_reference[additive-1-True-sequence_gradient]",
        "test_masked_steps_keep_the_states_and_repeat_the_outputs[False-sequence_gradient]",
        "test_attention_is_float32_and_sums_to_one_under_mixed_precision",
        "test_dropout_masks_non_recurrent_connections_only_in_training",
        "test_unroll_needs_a_fixed_number_of_frames",
    ],
    "tests/layers/test_soft_attention_recurrence.py": [
        "test_outputs_and_gradients_equal_the_autodiff_loop[linear-1-True-0.4]",
        "test_outputs_and_gradients_equal_the_autodiff_loop[additive-1-True-0.4]",
        "test_gradients_equal_central_differences[additive]",
        "test_mixed_precision_gradients_follow_the_float32_ones[mixed_float16]",
    ],
    "tests/layers/test_caption_tokenizer.py": [
        "test_call_in_tf_function_and_dataset_map_equals_eager",
    ],
    "tests/losses": [],
    "tests/export/test_streaming_signatures.py": [
        "test_the_stream_in_python_equals_the_whole_clip_pass_of_padded_clips",
        "test_an_unbuilt_model_a_wrong_cube_and_a_partial_state_are_refused",
    ],
    "tests/models/test_action_recognizer.py": [
        "test_outputs_and_loss_match_numpy_reference",
        "test_multi_label_loss_matches_numpy_reference",
        "test_fit_evaluate_predict_on_tf_data",
        "test_keras_file_round_trip_after_fit_keeps_training",
        "test_bfloat16_attention_is_float32_and_the_penalty_uses_it",
        "test_xla_needs_the_unrolled_loop_on_tensorflow_only",
    ],
    "tests/models/test_baselines.py": [
        "test_pooled_lstm_matches_numpy_reference",
        "test_softmax_regression_matches_numpy_reference",
        "test_model[softmax_regression]",
    ],
    "tests/models/test_saved_model_compatibility.py": [
        "test_a_model_saved_by_an_earlier_version_loads_and_agrees[action_recognizer_linear]",
    ],
    "tests/models/test_video_classifier.py": [
        "test_class_names_and_feature_metadata_travel_in_the_keras_file[attention]",
    ],
    "tests/models/test_caption_decoding.py": [
        "test_greedy_matches_numpy[3]",
        "test_beam_search_matches_numpy[3-4-0.7]",
        "test_wide_beam_finds_the_brute_force_best[1.0]",
        "test_greedy_feeds_padding_after_the_end",
        "test_stops_when_every_sentence_has_ended[beam]",
        "test_traced_once_inside_a_compiled_function[12]",
    ],
    "tests/models/test_caption_decoder_recurrence.py": [
        "test_outputs_and_gradients_equal_the_autodiff_scan[additive-True-0.5]",
        "test_outputs_and_gradients_equal_the_autodiff_scan[first_step-True-0.5]",
        "test_gradients_equal_float64_central_differences[linear]",
    ],
    "tests/models/test_video_captioner.py": [
        "test_teacher_forcing_and_loss_match_numpy_reference[linear-True]",
        "test_teacher_forcing_and_loss_match_numpy_reference[additive-True]",
        "test_teacher_forcing_and_loss_match_numpy_reference[first_step-True]",
        "test_step_by_step_decoding_equals_teacher_forcing",
        "test_mixed_precision_keeps_softmaxes_logits_and_loss_float32",
        "test_a_tokenizer_travels_with_the_model",
        "test_a_captioner_holding_a_tokenizer_compiles_its_train_step",
    ],
    "tests/models/test_video_captioner_generation.py": [
        "test_generated_sentences_are_what_teacher_forcing_scores[additive-3]",
    ],
}

NO_TENSORFLOW_SCRIPT = """
import sys
import numpy as np
import vidattn

model = vidattn.models.ActionRecognizer(2, units=8, num_layers=2)
model.compile()
features = np.random.default_rng(0).normal(size=(4, 3, 2, 2, 5))
model.fit(features.astype("float32"), np.array([0, 1, 0, 1]), verbose=0)
captioner = vidattn.models.VideoCaptioner(
    vocabulary_size=7, units=8, embedding_dim=4
)
captioner.compile()
captions = np.array([[1, 4, 5, 2], [1, 6, 2, 0], [1, 3, 2, 0], [1, 4, 2, 0]])
inputs = {"features": features[:, :2].astype("float32"), "caption_ids": captions}
captioner.fit(inputs, verbose=0)
print("tensorflow" in sys.modules, model.jit_compile, captioner.jit_compile)
"""

# Trains, saves and runs both models under the backend of the process:
# `python -c SCRIPT train|predict FOLDER`. "train" fits and saves them;
# "predict" loads them. Either way their outputs on fixed inputs go to
# FOLDER/outputs-<backend>.npz.
MODELS_SCRIPT = """
import os, sys
import keras
import numpy as np
import vidattn

mode, folder = sys.argv[1:]
rng = np.random.default_rng(0)
features = rng.normal(size=(6, 4, 2, 2, 5)).astype("float32")
mask = np.ones((6, 4), bool)
mask[0, 3:] = False
captions = np.array([[1, 4, 5, 2, 0]] * 3 + [[1, 6, 3, 4, 2]] * 3)
action_file = os.path.join(folder, "action.keras")
captioner_file = os.path.join(folder, "captioner.keras")
if mode == "train":
    model = vidattn.models.ActionRecognizer(
        3, units=8, num_layers=2, attention="additive", seed=1
    )
    model.compile()
    model.fit(features, np.array([0, 1, 2] * 2), epochs=2, verbose=0)
    model.save(action_file)
    captioner = vidattn.models.VideoCaptioner(
        vocabulary_size=7, units=8, embedding_dim=4, seed=1
    )
    captioner.compile()
    captioner.fit(
        {"features": features, "caption_ids": captions}, epochs=2, verbose=0
    )
    captioner.save(captioner_file)
model = keras.models.load_model(action_file)
captioner = keras.models.load_model(captioner_file)
action = model({"features": features, "frame_mask": mask}, training=False)
forced = captioner({"features": features, "caption_ids": captions})
described = captioner.generate(features, beam_width=3, max_length=6)
outputs = {
    "action_" + key: keras.ops.convert_to_numpy(value)
    for key, value in action.items()
}
outputs.update(
    ("teacher_forced_" + key, keras.ops.convert_to_numpy(value))
    for key, value in forced.items()
)
outputs.update(("described_" + key, value) for key, value in described.items())
np.savez(os.path.join(folder, f"outputs-{keras.backend.backend()}.npz"), **outputs)
try:
    vidattn.export.export_action_model(model, os.path.join(folder, "export"))
except ValueError as error:
    print("export:", error)
"""


def jax_test_ids():
    return [
        f"{path}::{name}" if name else path
        for path, names in JAX_TESTS.items()
        for name in (names or [""])
    ]


def run_under(backend, arguments, timeout):
    env = dict(os.environ, KERAS_BACKEND=backend, PYTHONPATH=REPO)
    env.pop("PYTEST_XDIST_WORKER", None)
    return subprocess.run(
        [sys.executable, *map(str, arguments)],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=timeout,
        check=False,
    )


@needs_jax
def test_models_train_under_jax_without_importing_tensorflow():
    process = run_under("jax", ["-c", NO_TENSORFLOW_SCRIPT], timeout=300)
    assert process.returncode == 0, process.stderr[-3000:]
    assert process.stdout.split()[-3:] == ["False", "True", "True"]


@pytest.mark.slow
@needs_jax
def test_layer_and_model_tests_pass_under_jax():
    process = run_under(
        "jax",
        [
            "-m",
            "pytest",
            "-q",
            "-n",
            "0",
            "-p",
            "no:cacheprovider",
            "--durations=0",
            *jax_test_ids(),
        ],
        timeout=2400,
    )
    assert process.returncode == 0, process.stdout[-6000:]
    assert " passed" in process.stdout.splitlines()[-1]


def assert_same_outputs(expected, received):
    assert sorted(expected) == sorted(received)
    for key in expected:
        if expected[key].dtype.kind in "iub":
            np.testing.assert_array_equal(received[key], expected[key], key)
        else:
            np.testing.assert_allclose(
                received[key], expected[key], rtol=1e-5, atol=1e-6, err_msg=key
            )


@needs_jax
def test_models_trained_under_jax_load_predict_and_export_under_tensorflow(
    tmp_path,
):
    process = run_under("jax", ["-c", MODELS_SCRIPT, "train", tmp_path], 300)
    assert process.returncode == 0, process.stderr[-3000:]
    assert "export: Expected Keras's tensorflow backend" in process.stdout
    assert "KERAS_BACKEND=tensorflow" in process.stdout
    under_jax = dict(np.load(tmp_path / "outputs-jax.npz"))
    assert not os.path.exists(tmp_path / "export")

    process = run_under(
        "tensorflow", ["-c", MODELS_SCRIPT, "predict", tmp_path], 300
    )
    assert process.returncode == 0, process.stderr[-3000:]
    under_tensorflow = dict(np.load(tmp_path / "outputs-tensorflow.npz"))
    assert_same_outputs(under_jax, under_tensorflow)
    assert under_jax["described_length"].min() >= 1

    served = tf.saved_model.load(str(tmp_path / "export"))
    features = tf.constant(
        np.random.default_rng(0).normal(size=(6, 4, 2, 2, 5)), tf.float32
    )
    outputs = served.signatures["serving_default"](features=features)
    # The unmasked videos: the export's default signature takes no mask.
    np.testing.assert_allclose(
        outputs["probabilities"].numpy()[1:],
        under_jax["action_probabilities"][1:],
        rtol=1e-5,
        atol=1e-6,
    )


@needs_jax
def test_models_trained_under_tensorflow_predict_the_same_under_jax(tmp_path):
    process = run_under(
        "tensorflow", ["-c", MODELS_SCRIPT, "train", tmp_path], 300
    )
    assert process.returncode == 0, process.stderr[-3000:]
    under_tensorflow = dict(np.load(tmp_path / "outputs-tensorflow.npz"))
    process = run_under("jax", ["-c", MODELS_SCRIPT, "predict", tmp_path], 300)
    assert process.returncode == 0, process.stderr[-3000:]
    assert_same_outputs(
        under_tensorflow, dict(np.load(tmp_path / "outputs-jax.npz"))
    )
