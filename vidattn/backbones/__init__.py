"""Per-frame feature extractors: RGB frames in, K×K×D feature cubes out."""

from vidattn.backbones.backbone import Backbone
from vidattn.backbones.efficientnet_lite0 import EfficientNetLite0Backbone
from vidattn.backbones.keras_application_backbone import (
    KerasApplicationBackbone,
)
from vidattn.backbones.torch_state_dict import TorchStateDictError
from vidattn.backbones.torch_state_dict import load_torch_state_dict
