import json

import keras
import numpy as np
import pytest
import tensorflow as tf

import vidattn
from tests.export.test_serving_round_trip import answers
from tests.export.test_serving_round_trip import assert_same
from tests.export.test_serving_round_trip import run_serving_client
from tests.export.test_serving_round_trip import save_inputs
from vidattn.export.raw_frame_signatures import add_raw_frame_endpoints
from vidattn.export.raw_frame_signatures import frame_features
from vidattn.export.raw_frame_signatures import raw_frame_endpoint_adder
from vidattn.export.serving_signature import ServingSignature
from vidattn.export.streaming_signatures import STATE_NAMES
from vidattn.export.streaming_signatures import streaming_signatures

# EfficientNet-Lite0 at 64x64 keeps the backbone fast: 2x2x1280 cubes.
INPUT_SIZE, GRID, CHANNELS = 64, 2, 1280
BATCH, FRAMES, HEIGHT, WIDTH = 2, 3, 48, 80


@pytest.fixture(scope="module")
def backbone():
    return vidattn.backbones.EfficientNetLite0Backbone(input_size=INPUT_SIZE)


def make_videos(seed=0, height=HEIGHT, width=WIDTH):
    rng = np.random.default_rng(seed)
    shape = (BATCH, FRAMES, height, width, 3)
    return rng.integers(0, 256, shape).astype("uint8")


def extract(backbone, videos):
    return np.stack([backbone.extract(video) for video in videos])


def features_spec():
    return tf.TensorSpec(
        (None, None, GRID, GRID, CHANNELS), tf.float32, "features"
    )


def make_mask():
    mask = np.ones((BATCH, FRAMES), bool)
    mask[0, 2:] = False
    return mask


@pytest.fixture(scope="module")
def exported(backbone, tmp_path_factory):
    """An action model's export with its stream and three frame twins.

    An endpoint adder gives frame twins to the export's `clip_with_mask`
    and `stream_step` signatures and to a captioner's search. What the
    Keras models answer on `backbone.extract` of the videos is computed
    here too, before the tests' Keras sessions are cleared.
    """
    videos = make_videos()
    features = extract(backbone, videos)
    model = vidattn.models.ActionRecognizer(
        3, units=8, num_layers=1, class_names=["run", "jump", "swim"]
    )
    captioner = vidattn.models.VideoCaptioner(
        vocabulary_size=7, units=8, embedding_dim=4, attention="additive"
    )
    expected = {
        "clip": model.predict(
            {"features": features, "frame_mask": make_mask()}, verbose=0
        ),
        "caption": captioner.generate(features, beam_width=1, max_length=4),
    }

    def caption(features, frame_mask=None):
        return captioner.search(
            features, frame_mask, beam_width=1, max_length=4
        )

    def add_twins(archive, model, signatures):
        # One adder call, so that the backbone is traced once.
        chosen = {
            "clip_with_mask": signatures["clip_with_mask"],
            "stream_step": signatures["stream_step"],
            "caption": ServingSignature(caption, (features_spec(),)),
        }
        raw_frame_endpoint_adder(backbone)(archive, model, chosen)

    path = tmp_path_factory.mktemp("export") / "1"
    vidattn.export.export_action_model(model, path, endpoint_adders=[add_twins])
    return {
        "dir": str(path),
        "signatures": tf.saved_model.load(str(path)).signatures,
        "videos": videos,
        "features": features,
        "expected": expected,
    }


@pytest.mark.parametrize("height, width", [(HEIGHT, WIDTH), (64, 64)])
def test_the_features_equal_those_of_backbone_extract(backbone, height, width):
    # 48x80 is resized (and stretched to a square); 64x64 is the input size.
    videos = make_videos(seed=1, height=height, width=width)
    features = frame_features(backbone, tf.constant(videos))
    expected = extract(backbone, videos)
    assert expected.shape == (BATCH, FRAMES, GRID, GRID, CHANNELS)
    np.testing.assert_allclose(features.numpy(), expected, atol=1e-4)


@pytest.mark.slow
def test_the_clip_twin_answers_as_the_model_on_extracted_features(exported):
    twins = [
        name for name in exported["signatures"] if name.endswith("_from_frames")
    ]
    assert sorted(twins) == [
        "caption_from_frames",
        "clip_with_mask_from_frames",
        "stream_step_from_frames",
    ]
    outputs = exported["signatures"]["clip_with_mask_from_frames"](
        frames=tf.constant(exported["videos"]),
        frame_mask=tf.constant(make_mask()),
    )
    expected = exported["expected"]["clip"]
    for key in ("probabilities", "step_probabilities", "attention"):
        np.testing.assert_allclose(
            outputs[key].numpy(), expected[key], atol=1e-4
        )
    best = np.argmax(expected["probabilities"], axis=-1)
    names = np.array([b"run", b"jump", b"swim"])
    np.testing.assert_array_equal(
        outputs["top_k_class_names"].numpy()[:, 0], names[best]
    )


@pytest.mark.slow
def test_the_captioner_twin_describes_the_frames_as_the_features(exported):
    outputs = exported["signatures"]["caption_from_frames"](
        frames=tf.constant(exported["videos"])
    )
    expected = exported["expected"]["caption"]
    np.testing.assert_array_equal(
        outputs["token_ids"].numpy(), expected["token_ids"]
    )
    for key in ("score", "attention", "beta"):
        np.testing.assert_allclose(
            outputs[key].numpy(), expected[key], atol=1e-4
        )


@pytest.mark.slow
def test_the_exported_stream_ends_on_the_clip_signature_s_answer(exported):
    signatures = exported["signatures"]
    features = exported["features"]
    state = signatures["stream_start"](features=tf.constant(features))
    for t in range(FRAMES):
        state = signatures["stream_step"](
            frame=tf.constant(features[:, t]),
            **{name: state[name] for name in STATE_NAMES},
        )
    clip = signatures["clip"](features=tf.constant(features))
    np.testing.assert_allclose(
        state["probabilities"].numpy(), clip["probabilities"].numpy(), atol=1e-5
    )


@pytest.mark.slow
def test_a_stream_of_frames_ends_on_the_clip_s_answer(exported):
    signatures = exported["signatures"]
    videos, features = exported["videos"], exported["features"]
    state = signatures["stream_start"](features=tf.constant(features))
    for t in range(FRAMES):
        state = signatures["stream_step_from_frames"](
            frame=tf.constant(videos[:, t]),
            **{name: state[name] for name in STATE_NAMES},
        )
    clip = signatures["clip"](features=tf.constant(features))
    np.testing.assert_allclose(
        state["probabilities"].numpy(), clip["probabilities"].numpy(), atol=1e-4
    )


@pytest.mark.slow
def test_float_frames_and_other_channel_counts_are_refused(exported):
    signature = exported["signatures"]["caption_from_frames"]
    with pytest.raises(
        tf.errors.InvalidArgumentError,
        match="expected to be a uint8 tensor but is a float tensor",
    ):
        signature(frames=tf.constant(exported["videos"].astype("float32")))
    rgba = np.zeros((BATCH, FRAMES, 8, 8, 4), "uint8")
    with pytest.raises(
        tf.errors.InvalidArgumentError,
        match=r"Expected input `frames` of shape \(-1, -1, -1, -1, 3\) "
        r"uint8. Received a tensor of shape:\] \[2 3 8 8 4\]",
    ):
        signature(frames=tf.constant(rgba))


@pytest.mark.slow
def test_every_route_answers_where_vidattn_cannot_be_imported(
    exported, tmp_path
):
    """The client of `test_serving_round_trip.py`, on these signatures.

    It runs each one loaded, through `saved_model_cli run` and as a
    PredictRequest, in a process that cannot import vidattn; each answer
    must be the loaded signature's here (which the tests above hold to the
    Keras models').
    """
    signatures = exported["signatures"]
    videos, features = exported["videos"], exported["features"]
    state = signatures["stream_start"](features=tf.constant(features))
    # One signature of each family: every `saved_model_cli run` loads the
    # whole export again, backbone and all (8 s or more each).
    inputs = {
        "clip_with_mask_from_frames": {
            "frames": videos,
            "frame_mask": make_mask(),
        },
        "stream_step": {
            "frame": features[:, 0],
            **{name: state[name].numpy() for name in STATE_NAMES},
        },
    }
    refused = {
        "float_frames": {"frames": videos.astype("float32")},
        "rgba": {"frames": np.zeros((BATCH, FRAMES, 8, 8, 4), "uint8")},
    }
    cases = {
        "exports": [
            {
                "name": "export",
                "dir": exported["dir"],
                "signatures": {
                    name: save_inputs(tmp_path, name, values)
                    for name, values in inputs.items()
                },
                "refused": {
                    case: {
                        "signature": "caption_from_frames",
                        "inputs": save_inputs(tmp_path, case, values),
                    }
                    for case, values in refused.items()
                },
            }
        ]
    }
    run_serving_client(tmp_path, cases)
    for name, values in inputs.items():
        expected = signatures[name](
            **{key: tf.constant(value) for key, value in values.items()}
        )
        expected = {key: value.numpy() for key, value in expected.items()}
        for route in ("loaded", "cli", "grpc"):
            served = answers({"folder": tmp_path}, "export", name, route)
            assert_same(served, expected)
    refusals = json.loads((tmp_path / "refusals.json").read_text())
    assert "expected to be a uint8 tensor" in refusals["export.float_frames"]
    assert (
        "Expected input `frames` of shape (-1, -1, -1, -1, 3) uint8"
        in refusals["export.rgba"]
    )


class RecordingArchive:
    """Records the endpoints added, without tracing them."""

    def __init__(self):
        self.endpoints = {}

    def add_endpoint(self, name, fn, input_signature):
        self.endpoints[name] = [
            (spec.name, tuple(spec.shape), spec.dtype.name)
            for spec in input_signature
        ]


def test_the_adder_twins_the_signatures_that_take_features(backbone):
    model = vidattn.models.ActionRecognizer(3, units=8, num_layers=1)
    model(np.zeros((1, FRAMES, GRID, GRID, CHANNELS), "float32"))
    signatures = vidattn.export.action_signatures(model, frames=FRAMES)
    signatures.update(streaming_signatures(model))
    archive = RecordingArchive()
    raw_frame_endpoint_adder(backbone)(archive, model, signatures)
    frames = ("frames", (None, None, None, None, 3), "uint8")
    mask = ("frame_mask", (None, None), "bool")
    # Each twin takes the frame count of its signature.
    clip_frames = ("frames", (None, FRAMES, None, None, 3), "uint8")
    clip_mask = ("frame_mask", (None, FRAMES), "bool")
    # `stream_start` takes features too (a stream may start from frames);
    # `stream_step` takes a frame's cube, and its twin a frame.
    states = archive.endpoints["stream_step_from_frames"][1:]
    assert [name for name, _, _ in states] == list(STATE_NAMES)
    assert archive.endpoints == {
        "stream_start_from_frames": [frames],
        "stream_step_from_frames": [
            ("frame", (None, None, None, 3), "uint8"),
            *states,
        ],
        "clip_from_frames": [clip_frames],
        "clip_with_mask_from_frames": [clip_frames, clip_mask],
        "video_from_frames": [frames],
        "video_with_mask_from_frames": [frames, mask],
    }
    archive = RecordingArchive()
    adder = raw_frame_endpoint_adder(backbone, ["clip_with_mask"])
    adder(archive, model, signatures)
    assert archive.endpoints == {
        "clip_with_mask_from_frames": [
            ("frames", (None, FRAMES, None, None, 3), "uint8"),
            ("frame_mask", (None, FRAMES), "bool"),
        ]
    }


@pytest.mark.parametrize(
    "answer_functions, backbone_argument, message",
    [
        ({}, None, "non-empty dict"),
        ({"clip": (lambda f: f, "yes")}, None, "callable and a bool"),
        ({"clip": lambda f: f}, None, "callable and a bool"),
        ({"clip": (lambda f: f, False)}, "efficientnet", "Backbone"),
    ],
)
def test_the_arguments_are_checked(
    backbone, answer_functions, backbone_argument, message
):
    with pytest.raises(ValueError, match=message):
        add_raw_frame_endpoints(
            keras.export.ExportArchive(),
            answer_functions,
            backbone_argument or backbone,
        )


def test_the_adder_checks_its_backbone_and_the_names_it_is_given(backbone):
    with pytest.raises(ValueError, match="Backbone"):
        raw_frame_endpoint_adder("efficientnet_lite0")
    with pytest.raises(ValueError, match=r"write \['clip'\]"):
        raw_frame_endpoint_adder(backbone, names="clip")
    model = vidattn.models.ActionRecognizer(3, units=8, num_layers=1)
    model(np.zeros((1, FRAMES, GRID, GRID, CHANNELS), "float32"))
    adder = raw_frame_endpoint_adder(backbone, names=["clip", "stream_step"])
    signatures = vidattn.export.action_signatures(model)
    with pytest.raises(ValueError, match="'clip', 'clip_with_mask', 'video'"):
        adder(keras.export.ExportArchive(), model, signatures)


def test_answer_functions_get_frame_twins(backbone):
    def answer(features, frame_mask=None):
        return {"features": features}

    archive = RecordingArchive()
    names = add_raw_frame_endpoints(
        archive,
        {"clip": (answer, True), "caption": (answer, False)},
        backbone,
        frames=FRAMES,
    )
    assert names == ["clip_from_frames", "caption_from_frames"]
    frames = ("frames", (None, FRAMES, None, None, 3), "uint8")
    assert archive.endpoints == {
        "clip_from_frames": [frames, ("frame_mask", (None, FRAMES), "bool")],
        "caption_from_frames": [frames],
    }


def test_a_backbone_of_other_cubes_is_refused(backbone, tmp_path):
    model = vidattn.models.ActionRecognizer(3, units=8, num_layers=1)
    model(np.zeros((1, FRAMES, 2, 2, 8), "float32"))
    with pytest.raises(
        ValueError,
        match=r"Expected a backbone whose cubes are the model's, \(2, 2, 8\).*"
        r"\(2, 2, 1280\)",
    ):
        vidattn.export.export_action_model(
            model, tmp_path / "1", backbone=backbone
        )
    assert not (tmp_path / "1").exists()
