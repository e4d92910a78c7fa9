"""Any `keras.applications` network as a per-frame feature extractor."""

import importlib
import os

import keras

from vidattn.backbones.backbone import Backbone
from vidattn.backbones.backbone import standardize_input_size

# The sizes the applications were trained at, where they are not 224.
_DEFAULT_INPUT_SIZES = {
    "InceptionV3": 299,
    "InceptionResNetV2": 299,
    "Xception": 299,
    "NASNetLarge": 331,
    "EfficientNetB1": 240,
    "EfficientNetB2": 260,
    "EfficientNetB3": 300,
    "EfficientNetB4": 380,
    "EfficientNetB5": 456,
    "EfficientNetB6": 528,
    "EfficientNetB7": 600,
    "EfficientNetV2B1": 240,
    "EfficientNetV2B2": 260,
    "EfficientNetV2B3": 300,
    "EfficientNetV2S": 384,
    "EfficientNetV2M": 480,
    "EfficientNetV2L": 480,
}


class KerasApplicationBackbone(Backbone):
    """A `keras.applications` network cut at a named layer: a feature extractor.

    The network is built without its classifier (`include_top=False`) at a
    fixed input size, and cut at `layer_name`; by default at its last layer,
    the final convolutional (or activation) map before global pooling:
    InceptionV3 `"mixed10"` (8×8×2048 at 299), ResNet50 `"conv5_block3_out"`
    (7×7×2048 at 224), EfficientNetB0 `"top_activation"` (7×7×1280),
    MobileNetV2 `"out_relu"` (7×7×1280). Frames are resized to `input_size`
    and passed through that application's own `preprocess_input` (caffe-style
    BGR mean subtraction for ResNet50 and VGG, `[-1, 1]` scaling for
    Inception and MobileNet, nothing for EfficientNet, whose models rescale
    inside).

    Args:
        application: str or callable. The name of a `keras.applications`
            constructor (`"InceptionV3"`, `"ResNet50"`, `"EfficientNetB0"`,
            `"MobileNetV2"`, ...) or the constructor itself.
        weights: `"imagenet"` (Keras downloads them on first use, into
            `~/.keras/models`), `None` (random initialisation), or the path of
            a local weights file for the classifier-less network (e.g. Keras's
            `*_notop.h5` download, or `model.save_weights()` of
            `application(include_top=False)`). Defaults to `"imagenet"`.
        layer_name: `None` or str. The layer whose output is the feature map.
            Defaults to `None`: the network's last layer.
        input_size: `None`, int, or tuple `(height, width)`, square. Defaults
            to `None`: the size the application was trained at (299 for
            InceptionV3 and Xception, 224 for most).
        crop_to_aspect_ratio: bool. See `vidattn.backbones.Backbone`.
            Defaults to `False`.
        **application_kwargs: further arguments of the constructor, such as
            `alpha=0.5` for MobileNetV2.

    Attributes:
        application_name: str. The constructor's name.
        preprocess_input: the application's `preprocess_input` function.

    Raises:
        ValueError: if `application` is not a `keras.applications`
            constructor, `layer_name` is not one of its layers or does not
            output a square `(K, K, D)` map, or `weights` is neither
            `"imagenet"`, `None`, nor an existing file.

    Example:

    >>> import numpy as np
    >>> import vidattn
    >>> backbone = vidattn.backbones.KerasApplicationBackbone(
    ...     "MobileNetV2", weights=None)
    >>> backbone.extract(np.zeros((2, 240, 320, 3), "uint8")).shape
    (2, 7, 7, 1280)
    >>> backbone.layer_name, backbone.input_size
    ('out_relu', (224, 224))
    """

    def __init__(
        self,
        application,
        weights="imagenet",
        layer_name=None,
        input_size=None,
        crop_to_aspect_ratio=False,
        **application_kwargs,
    ):
        constructor, application_name = _resolve_application(application)
        if not (
            weights is None
            or weights == "imagenet"
            or isinstance(weights, (str, os.PathLike))
        ):
            raise ValueError(
                "Expected `weights` to be 'imagenet', None, or a file path. "
                f"Received: weights={weights!r}"
            )
        if weights is not None and weights != "imagenet":
            weights = os.fspath(weights)
            if not os.path.isfile(weights):
                raise ValueError(
                    "Expected `weights` to be 'imagenet', None, or an existing "
                    f"weights file; no file at '{weights}'."
                )
        if input_size is None:
            input_size = _DEFAULT_INPUT_SIZES.get(application_name, 224)
        size = standardize_input_size(input_size)
        for reserved in (
            "include_top",
            "input_shape",
            "input_tensor",
            "pooling",
        ):
            if reserved in application_kwargs:
                raise ValueError(
                    f"Expected no `{reserved}` argument: the backbone builds "
                    f"{application_name} without its classifier at "
                    "`input_size`. "
                    f"Received: {reserved}={application_kwargs[reserved]!r}"
                )
        network = constructor(
            include_top=False,
            weights=weights,
            input_shape=(size[0], size[1], 3),
            pooling=None,
            **application_kwargs,
        )
        if layer_name is None:
            layer_name = network.layers[-1].name
        layer_names = [layer.name for layer in network.layers]
        if layer_name not in layer_names:
            candidates = [
                name
                for name in layer_names
                if any(
                    part in name
                    for part in ("conv", "relu", "activation", "out", "mixed")
                )
            ][-5:]
            raise ValueError(
                f"Expected `layer_name` (`--layer`) to be a layer of "
                f"{application_name} "
                f"(without its classifier), such as {candidates}. Received: "
                f"layer_name={layer_name!r}"
            )
        model = keras.Model(
            network.input,
            network.get_layer(layer_name).output,
            name=f"{network.name}_{layer_name}",
        )
        module = importlib.import_module(constructor.__module__)
        self.application_name = application_name
        self.weights = weights
        self.preprocess_input = module.preprocess_input
        super().__init__(
            model,
            name=application_name,
            layer_name=layer_name,
            input_size=size,
            crop_to_aspect_ratio=crop_to_aspect_ratio,
        )

    def preprocess(self, images):
        """Applies the application's `preprocess_input` to float32 RGB on 0-255.

        Args:
            images: float32 tensor or array `(batch, height, width, 3)`.

        Returns:
            A float32 tensor of the same shape, as the application expects.
        """
        images = keras.ops.convert_to_tensor(images, dtype="float32")
        return self.preprocess_input(images)


def _resolve_application(application):
    if isinstance(application, str):
        constructor = getattr(keras.applications, application, None)
        name = application
    else:
        constructor = application
        name = getattr(application, "__name__", repr(application))
    module_name = getattr(constructor, "__module__", "") or ""
    module = importlib.import_module(module_name) if module_name else None
    if (
        not callable(constructor)
        or not name[:1].isupper()
        or not module_name.startswith(("keras.", "keras.src."))
        or "applications" not in module_name
        or not hasattr(module, "preprocess_input")
    ):
        available = keras_application_names()
        raise ValueError(
            "Expected `application` to name a keras.applications model such as "
            f"{available[:6]} ... ({len(available)} in all). Received: "
            f"application={application!r}"
        )
    return constructor, name


def keras_application_names():
    """The names of the `keras.applications` constructors, sorted.

    Returns:
        A tuple of str, such as `("ConvNeXtBase", ..., "Xception")`.
    """
    return tuple(sorted(n for n in dir(keras.applications) if n[:1].isupper()))
