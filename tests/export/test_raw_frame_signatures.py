import keras
import numpy as np
import pytest
import tensorflow as tf

import vidattn
from vidattn.export.raw_frame_signatures import add_raw_frame_endpoints
from vidattn.export.raw_frame_signatures import frame_features

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


@pytest.fixture(scope="module")
def exported(backbone, tmp_path_factory):
    """A clip answer and a captioner's, with their frame twins, served.

    What the Keras models answer on `backbone.extract` of the videos is
    computed here too, before the tests' Keras sessions are cleared.
    """
    videos = make_videos()
    mask = np.ones((BATCH, FRAMES), bool)
    mask[0, 2:] = False
    features = extract(backbone, videos)
    model = vidattn.models.ActionRecognizer(3, units=8, num_layers=1)
    captioner = vidattn.models.VideoCaptioner(
        vocabulary_size=7, units=8, embedding_dim=4, attention="additive"
    )
    # Built on captions, as training builds it: Keras traces a tracked
    # model's default signature from the shapes it was built on.
    captioner({"features": features, "caption_ids": np.array([[1, 4, 2]] * 2)})
    expected_clip = model.predict(
        {"features": features, "frame_mask": mask}, verbose=0
    )
    expected_caption = captioner.generate(features, beam_width=1, max_length=4)

    def clip(features, frame_mask=None):
        outputs = model(
            {"features": features, "frame_mask": frame_mask}, training=False
        )
        return {key: outputs[key] for key in ("probabilities", "attention")}

    def caption(features, frame_mask=None):
        return captioner.search(
            features, frame_mask, beam_width=1, max_length=4
        )

    # The endpoints track the variables they read; tracking the models too
    # would trace and save Keras's default signature of each.
    archive = keras.export.ExportArchive()
    names = add_raw_frame_endpoints(
        archive,
        {"clip": (clip, True), "caption": (caption, False)},
        backbone,
    )
    path = str(tmp_path_factory.mktemp("raw_frames") / "1")
    archive.write_out(path, verbose=False)
    return {
        "names": names,
        "signatures": tf.saved_model.load(path).signatures,
        "videos": videos,
        "mask": mask,
        "clip": expected_clip,
        "caption": expected_caption,
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
    assert exported["names"] == ["clip_from_frames", "caption_from_frames"]
    outputs = exported["signatures"]["clip_from_frames"](
        frames=tf.constant(exported["videos"]),
        frame_mask=tf.constant(exported["mask"]),
    )
    assert sorted(outputs) == ["attention", "probabilities"]
    for key in ("probabilities", "attention"):
        np.testing.assert_allclose(
            outputs[key].numpy(), exported["clip"][key], atol=1e-4
        )


@pytest.mark.slow
def test_the_captioner_twin_describes_the_frames_as_the_features(exported):
    outputs = exported["signatures"]["caption_from_frames"](
        frames=tf.constant(exported["videos"])
    )
    expected = exported["caption"]
    np.testing.assert_array_equal(
        outputs["token_ids"].numpy(), expected["token_ids"]
    )
    for key in ("score", "attention", "beta"):
        np.testing.assert_allclose(
            outputs[key].numpy(), expected[key], atol=1e-4
        )


@pytest.mark.slow
def test_float_frames_and_other_channel_counts_are_refused(exported):
    signature = exported["signatures"]["caption_from_frames"]
    with pytest.raises(
        tf.errors.InvalidArgumentError,
        match="expected to be a uint8 tensor but is a float tensor",
    ):
        signature(frames=tf.constant(exported["videos"].astype("float32")))
    rgba = np.zeros((1, 2, 8, 8, 4), "uint8")
    with pytest.raises(
        tf.errors.InvalidArgumentError,
        match=r"Expected `frames` of shape \(batch, frames, height, width, "
        r"3\), RGB channels-last.*Received shape:\] \[1 2 8 8 4\]",
    ):
        signature(frames=tf.constant(rgba))


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
