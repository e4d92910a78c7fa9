"""Every signature of an export, answered where vidattn cannot be imported.

One action model and one captioner are exported once for the module; one
fresh process (`serving_client.py`) then loads each export, runs every
signature, runs `saved_model_cli run` on it, answers a PredictRequest for
it as TF Serving does, and sends the requests that must be refused.
"""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

import vidattn

pytestmark = pytest.mark.slow

CLIENT = os.path.join(os.path.dirname(__file__), "serving_client.py")
ACTION_SIGNATURES = (
    "clip",
    "clip_with_mask",
    "video",
    "video_with_mask",
    "serving_default",
)
CAPTION_SIGNATURES = ("caption", "caption_with_mask", "serving_default")


def make_action_model():
    model = vidattn.models.ActionRecognizer(
        3,
        units=8,
        num_layers=1,
        class_names=["run", "jump", "wave"],
        feature_metadata={"window": 3, "stored_fps": 10.0, "fps": 5.0},
        seed=1,
    )
    model(np.zeros((1, 3, 2, 2, 8), "float32"))
    return model


def make_captioner():
    tokenizer = vidattn.layers.CaptionTokenizer(["a", "man", "is", "cooking"])
    model = vidattn.models.VideoCaptioner(
        tokenizer, units=8, embedding_dim=6, attention="additive", seed=3
    )
    features = np.zeros((2, 4, 2, 2, 8), "float32")
    model({"features": features, "caption_ids": np.array([[2, 4, 3]] * 2)})
    # Sentences of several words rather than an untrained model's `<end>`.
    bias = model.word_logits_layer.bias
    bias.assign(bias.numpy() - 5.0 * np.eye(bias.shape[0])[3])
    return model


def run_serving_client(folder, cases):
    """Runs `serving_client.py` on `cases`, from a folder outside the repo.

    Its answers and `refusals.json` land in `folder`.
    """
    cases_path = folder / "cases.json"
    cases_path.write_text(json.dumps(cases))
    empty = folder / "cwd"
    empty.mkdir()
    completed = subprocess.run(
        [sys.executable, CLIENT, str(cases_path)],
        cwd=empty,
        capture_output=True,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": ""},
    )
    assert completed.returncode == 0, completed.stderr[-3000:]


def save_inputs(folder, name, inputs):
    paths = {}
    for key, value in inputs.items():
        paths[key] = str(folder / f"{name}.{key}.npy")
        np.save(paths[key], value)
    return paths


@pytest.fixture(scope="module")
def round_trip(tmp_path_factory):
    folder = tmp_path_factory.mktemp("serving")
    rng = np.random.default_rng(0)
    features = rng.normal(size=(2, 6, 2, 2, 8)).astype("float32")
    mask = np.ones((2, 6), bool)
    mask[1, 4:] = False
    action_model = make_action_model()
    captioner = make_captioner()
    action_dir = vidattn.export.export_model(
        action_model, folder / "exports" / "actions", top_k=2
    )
    caption_dir = vidattn.export.export_model(
        captioner, folder / "exports" / "captions", beam_width=2, max_length=5
    )
    plain = save_inputs(folder, "features", {"features": features})
    masked = save_inputs(
        folder, "masked", {"features": features, "frame_mask": mask}
    )
    refused = {
        "grid": save_inputs(
            folder, "grid", {"features": np.zeros((1, 4, 3, 3, 8), "float32")}
        ),
        "dtype": save_inputs(
            folder, "dtype", {"features": features.astype("float64")}
        ),
        "rank": save_inputs(
            folder, "rank", {"features": np.zeros((4, 2, 2, 8), "float32")}
        ),
        "mask": save_inputs(
            folder,
            "mask",
            {"features": features, "frame_mask": np.ones((2, 5), bool)},
        ),
    }

    def signature_inputs(names):
        return {
            name: masked if name.endswith("with_mask") else plain
            for name in names
        }

    def refused_cases(prefix):
        return {
            case: {
                "signature": f"{prefix}_with_mask"
                if case == "mask"
                else prefix,
                "inputs": paths,
            }
            for case, paths in refused.items()
        }

    cases = {
        "exports": [
            {
                "name": "actions",
                "dir": action_dir,
                "signatures": signature_inputs(ACTION_SIGNATURES),
                "refused": refused_cases("clip"),
            },
            {
                "name": "captions",
                "dir": caption_dir,
                "signatures": signature_inputs(CAPTION_SIGNATURES),
                "refused": refused_cases("caption"),
            },
        ]
    }
    run_serving_client(folder, cases)
    return {
        "folder": folder,
        "features": features,
        "mask": mask,
        "action_model": action_model,
        "captioner": captioner,
        "refusals": json.loads((folder / "refusals.json").read_text()),
        "keras_answers": {},
    }


def answers(round_trip, export, signature, route):
    """The outputs the client saved for one signature and route."""
    folder = round_trip["folder"]
    if route == "cli":
        directory = folder / f"{export}.{signature}.cli"
        return {
            path[: -len(".npy")]: np.load(directory / path, allow_pickle=True)
            for path in os.listdir(directory)
        }
    prefix = f"{export}.{signature}.{route}."
    return {
        path[len(prefix) : -len(".npy")]: np.load(
            folder / path, allow_pickle=True
        )
        for path in os.listdir(folder)
        if path.startswith(prefix)
    }


def keras_answers(round_trip, export, signature):
    """What the Keras model (in this process) answers for a signature."""
    if export == "actions" and signature == "serving_default":
        signature = "clip"
    if export == "captions" and signature == "serving_default":
        signature = "caption"
    cache = round_trip["keras_answers"]
    if (export, signature) not in cache:
        cache[export, signature] = _keras_answers(round_trip, export, signature)
    return cache[export, signature]


def _keras_answers(round_trip, export, signature):
    features = tf.constant(round_trip["features"])
    inputs = {"features": features}
    if signature.endswith("with_mask"):
        inputs["frame_mask"] = tf.constant(round_trip["mask"])
    if export == "actions":
        signatures = vidattn.export.action_signatures(
            round_trip["action_model"], top_k=2
        )
    else:
        signatures = vidattn.export.caption_signatures(
            round_trip["captioner"], beam_width=2, max_length=5
        )
    outputs = tf.function(signatures[signature].function)(**inputs)
    return {key: value.numpy() for key, value in outputs.items()}


def assert_same(actual, expected):
    assert sorted(actual) == sorted(expected)
    for key, value in expected.items():
        if value.dtype.kind in "SOU":
            np.testing.assert_array_equal(actual[key].astype(bytes), value)
        else:
            np.testing.assert_allclose(actual[key], value, atol=1e-5)


SIGNATURES = [("actions", name) for name in ACTION_SIGNATURES] + [
    ("captions", name) for name in CAPTION_SIGNATURES
]


@pytest.mark.parametrize("export, signature", SIGNATURES)
@pytest.mark.parametrize("route", ["loaded", "cli", "grpc"])
def test_every_route_answers_as_the_keras_model(
    round_trip, export, signature, route
):
    assert_same(
        answers(round_trip, export, signature, route),
        keras_answers(round_trip, export, signature),
    )


def test_the_clip_signature_is_the_keras_models_prediction(round_trip):
    model = round_trip["action_model"]
    expected = model.predict(round_trip["features"], verbose=0)
    served = answers(round_trip, "actions", "clip", "grpc")
    for key in ("probabilities", "step_probabilities", "attention"):
        np.testing.assert_allclose(served[key], expected[key], atol=1e-5)
    top = np.argsort(-expected["probabilities"], axis=1)[:, :2]
    names = np.array(["run", "jump", "wave"])[top]
    np.testing.assert_array_equal(
        served["top_k_class_names"].astype(str), names
    )


def test_the_caption_signature_is_the_captioners_sentence(round_trip):
    captioner = round_trip["captioner"]
    expected = captioner.generate(
        {"features": round_trip["features"], "frame_mask": round_trip["mask"]},
        beam_width=2,
        max_length=5,
    )
    served = answers(round_trip, "captions", "caption_with_mask", "grpc")
    captions = [caption.decode() for caption in served["captions"]]
    assert captions == expected["captions"]
    assert all(len(caption.split()) > 1 for caption in captions)
    # The padded frames of the second video get no attention.
    assert np.all(served["attention"][1, :, 4:] == 0)
    words = [
        " ".join(word.decode() for word in row if word)
        for row in served["words"]
    ]
    assert words == expected["captions"]
    for key in ("token_ids", "length", "log_probability", "attention", "beta"):
        np.testing.assert_allclose(served[key], expected[key], atol=1e-5)


@pytest.mark.parametrize("export", ["actions", "captions"])
def test_requests_of_wrong_shape_or_dtype_are_refused_clearly(
    round_trip, export
):
    refusals = round_trip["refusals"]
    grid = refusals[f"{export}.grid"]
    assert (
        "Expected input `features` of shape (-1, -1, 2, 2, 8) float32" in grid
    )
    assert "[1 4 3 3 8]" in grid
    rank = refusals[f"{export}.rank"]
    assert "Expected input `features` of shape (-1, -1, 2, 2, 8)" in rank
    assert "[4 2 2 8]" in rank
    mask = refusals[f"{export}.mask"]
    assert "Expected input `frame_mask` of shape (batch, frames)" in mask
    assert "[2 6 2 2 8] [2 5]" in mask
    # TensorFlow refuses a wrong dtype before the signature's code runs,
    # by the input's position and the two dtypes.
    dtype = refusals[f"{export}.dtype"]
    assert "expected to be a float tensor but is a double tensor" in dtype
