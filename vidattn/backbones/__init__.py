"""Per-frame feature extractors: RGB frames in, K×K×D feature cubes out.

`build_backbone(name, ...)` picks one by name (see `backbone_names()` and
`register_backbone`); the classes build one directly.
"""

from vidattn.backbones.backbone import Backbone
from vidattn.backbones.efficientnet_lite0 import EfficientNetLite0Backbone
from vidattn.backbones.keras_application_backbone import (
    KerasApplicationBackbone,
)
from vidattn.backbones.registry import backbone_names
from vidattn.backbones.registry import build_backbone
from vidattn.backbones.registry import register_backbone
from vidattn.backbones.torch_state_dict import TorchStateDictError
from vidattn.backbones.torch_state_dict import load_torch_state_dict
