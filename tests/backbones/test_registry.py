"""Tests for vidattn.backbones.build_backbone: backbones by name."""

import pytest

from vidattn.backbones import EfficientNetLite0Backbone
from vidattn.backbones import KerasApplicationBackbone
from vidattn.backbones import backbone_names
from vidattn.backbones import build_backbone
from vidattn.backbones import register_backbone
from vidattn.backbones import registry


@pytest.mark.parametrize(
    "name", ["efficientnet_lite0", "EfficientNet-Lite0", "efficientnetlite0"]
)
def test_efficientnet_lite0_under_its_spellings(name):
    backbone = build_backbone(name, weights="none", input_size=32)
    assert isinstance(backbone, EfficientNetLite0Backbone)
    assert backbone.name == "efficientnet_lite0"
    assert backbone.layer_name == "top_activation"
    assert backbone.input_size == (32, 32)


def test_a_keras_application_by_its_name():
    backbone = build_backbone("MobileNetV2", weights=None, input_size=32)
    assert isinstance(backbone, KerasApplicationBackbone)
    assert (backbone.name, backbone.layer_name) == ("MobileNetV2", "out_relu")


@pytest.mark.parametrize("name", ["resnet_9000", "", None, "mobilenetv2"])
def test_unknown_name_lists_the_known_ones(name):
    with pytest.raises(ValueError) as info:
        build_backbone(name, weights=None)
    message = str(info.value)
    assert f"Received: name={name!r}" in message
    assert "efficientnet_lite0" in message
    assert "InceptionV3" in message and "ResNet50" in message


def test_register_backbone(monkeypatch):
    monkeypatch.setattr(registry, "_BACKBONES", dict(registry._BACKBONES))
    calls = []

    def build_mine(weights, layer_name, input_size):
        calls.append((weights, layer_name, input_size))
        return "backbone"

    register_backbone("my_net", build_mine)
    assert backbone_names() == ("efficientnet_lite0", "my_net")
    assert build_backbone("My-Net", weights="none", input_size=64) == "backbone"
    assert calls == [(None, None, 64)]
    with pytest.raises(ValueError, match="already registered"):
        register_backbone("MY_NET", build_mine)
