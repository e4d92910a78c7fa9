"""Backbones by name: the names `vidattn extract --backbone` accepts.

A name picks an implementation: a registered backbone (`efficientnet_lite0`,
found under any spelling that differs only in case, `_` and `-`), else a
`keras.applications` constructor (`"InceptionV3"`, `"ResNet50"`, ...) as a
`KerasApplicationBackbone`. A name that is neither is an error that lists
both.
"""

from vidattn.backbones.efficientnet_lite0 import EfficientNetLite0Backbone
from vidattn.backbones.keras_application_backbone import (
    KerasApplicationBackbone,
)
from vidattn.backbones.keras_application_backbone import keras_application_names

_BACKBONES = {}


def _spelling(name):
    """The key of a name in the registry: case, `_` and `-` do not count."""
    return name.replace("_", "").replace("-", "").lower()


def register_backbone(name, builder):
    """Makes `builder` the backbone that `name` picks.

    Args:
        name: str. The backbone's name, e.g. `"efficientnet_lite0"`. Any
            spelling that differs only in case, `_` and `-` picks it too.
        builder: callable. `builder(weights=..., layer_name=...,
            input_size=...)` returns a `vidattn.backbones.Backbone`;
            `layer_name` and `input_size` may be None (the network's own).

    Raises:
        ValueError: if `name` is empty or already registered, or `builder`
            is not callable.
    """
    if not isinstance(name, str) or not _spelling(name):
        raise ValueError(
            f"Expected `name` to be a non-empty string. Received: name={name!r}"
        )
    if _spelling(name) in _BACKBONES:
        raise ValueError(
            f"Expected a new backbone name. Received: name={name!r}, which is "
            f"already registered (known: {', '.join(backbone_names())})."
        )
    if not callable(builder):
        raise ValueError(
            f"Expected `builder` to be callable. Received: builder={builder!r}"
        )
    _BACKBONES[_spelling(name)] = (name, builder)


def backbone_names():
    """The names of the registered backbones (not `keras.applications`)."""
    return tuple(name for name, _ in _BACKBONES.values())


def build_backbone(
    name="efficientnet_lite0",
    *,
    weights="imagenet",
    layer_name=None,
    input_size=None,
):
    """Builds a backbone from its name, as the `vidattn extract` flags give it.

    Args:
        name: str. A registered backbone (`"efficientnet_lite0"`: the
            offline ImageNet EfficientNet-Lite0,
            `vidattn.backbones.EfficientNetLite0Backbone`) or the name of a
            `keras.applications` constructor (`"InceptionV3"`, `"ResNet50"`,
            ...: a `vidattn.backbones.KerasApplicationBackbone`). Defaults to
            `"efficientnet_lite0"`.
        weights: `"imagenet"`, `None` (or `"none"`: random), or a weights
            file. Keras applications download `"imagenet"` weights on first
            use; EfficientNet-Lite0 reads them from an installed package.
            Defaults to `"imagenet"`.
        layer_name: str or None. The layer whose maps are stored. Defaults to
            `None`: the backbone's last convolutional map.
        input_size: int, `(height, width)` or None. Defaults to `None`: the
            size the network was trained at (224 for EfficientNet-Lite0).

    Returns:
        A `vidattn.backbones.Backbone`.

    Raises:
        ValueError: if the name is neither (the message lists the known
            names), or the other arguments do not fit the network.

    Example:

    ```python
    backbone = vidattn.backbones.build_backbone("ResNet50", weights=None)
    backbone.feature_shape  # (7, 7, 2048)
    ```
    """
    if isinstance(weights, str) and weights.lower() == "none":
        weights = None
    if isinstance(name, str) and _spelling(name) in _BACKBONES:
        _, builder = _BACKBONES[_spelling(name)]
        return builder(
            weights=weights, layer_name=layer_name, input_size=input_size
        )
    applications = keras_application_names()
    if name not in applications:
        raise ValueError(
            "Expected `name` (`--backbone`) to be a registered backbone "
            f"({', '.join(backbone_names())}) or a keras.applications model "
            f"({', '.join(applications)}). Received: name={name!r}"
        )
    return KerasApplicationBackbone(
        name, weights=weights, layer_name=layer_name, input_size=input_size
    )


def _build_efficientnet_lite0(weights, layer_name, input_size):
    options = {"layer_name": layer_name, "input_size": input_size}
    return EfficientNetLite0Backbone(
        weights=weights,
        **{key: value for key, value in options.items() if value is not None},
    )


register_backbone("efficientnet_lite0", _build_efficientnet_lite0)
