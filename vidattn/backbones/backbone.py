"""The interface shared by the per-frame feature extractors."""

import numbers

import keras
import numpy as np


class Backbone:
    """Base class of the feature extractors: frames in, K×K×D cubes out.

    A backbone wraps a convolutional network cut at one layer. `extract()`
    takes RGB frames of any size, on the 0-255 scale (uint8, or floats on the
    same scale), resizes them to `input_size`, applies the preprocessing the
    network was trained with, and returns the layer's feature maps
    channels-last, one `(K, K, D)` cube per frame: the `K × K` locations the
    soft-attention models attend over (Sharma et al., 2015: 7×7×1024 from
    GoogLeNet).

    Preprocessing lives inside the backbone so that wrongly scaled frames
    cannot reach the network: float frames already normalised (values in
    `[0, 1]`, or negative values) are refused rather than silently mangled.

    Subclasses build a `keras.Model` from preprocessed images
    `(batch, height, width, 3)` to feature maps `(batch, K, K, D)`, pass it to
    `Backbone.__init__`, and implement `preprocess()`.

    Args:
        model: `keras.Model` mapping preprocessed images of shape
            `(batch, input_size[0], input_size[1], 3)` to square feature maps
            of shape `(batch, K, K, D)`.
        name: str. A short name for the backbone (used in file metadata).
        layer_name: str. The layer the feature maps come from.
        input_size: int or tuple `(height, width)`: the size frames are
            resized to before the network.
        crop_to_aspect_ratio: bool. When resizing, first crop the largest
            centred region with the target aspect ratio (as
            `keras.layers.Resizing` does), instead of stretching the whole
            frame. Defaults to `False`.

    Attributes:
        model: the `keras.Model` producing the feature maps.
        name: str.
        layer_name: str.
        input_size: tuple `(height, width)`.
        grid_size: int, K: the feature map is `K × K`.
        channels: int, D: the feature depth.
        feature_shape: tuple `(K, K, D)`.
        crop_to_aspect_ratio: bool.

    Raises:
        ValueError: if the model's output is not a square map
            `(batch, K, K, D)`.
    """

    def __init__(
        self, model, name, layer_name, input_size, crop_to_aspect_ratio=False
    ):
        self.model = model
        self.name = name
        self.layer_name = layer_name
        self.input_size = standardize_input_size(input_size)
        self.crop_to_aspect_ratio = bool(crop_to_aspect_ratio)
        output_shape = tuple(model.output.shape)
        if len(output_shape) != 4 or None in output_shape[1:]:
            raise ValueError(
                f"Expected layer '{layer_name}' of {name} to output feature "
                "maps of shape (batch, K, K, channels); received "
                f"{output_shape} at input size {self.input_size}. Choose a "
                "convolutional layer."
            )
        _, height, width, channels = output_shape
        if height != width:
            raise ValueError(
                f"Expected layer '{layer_name}' of {name} to output a square "
                f"K×K grid; received {height}×{width} at input size "
                f"{self.input_size}. Use a square `input_size`."
            )
        self.grid_size = int(height)
        self.channels = int(channels)
        self.feature_shape = (self.grid_size, self.grid_size, self.channels)

    def __repr__(self):
        return (
            f"{type(self).__name__}(name={self.name!r}, "
            f"layer_name={self.layer_name!r}, input_size={self.input_size}, "
            f"feature_shape={self.feature_shape})"
        )

    def preprocess(self, images):
        """Maps float32 RGB images on the 0-255 scale to the network's input.

        Args:
            images: float32 tensor or array of shape
                `(batch, height, width, 3)`, values in `[0, 255]`.

        Returns:
            A float32 tensor of the same shape, scaled the way the network was
            trained.
        """
        raise NotImplementedError(
            f"{type(self).__name__} must implement `preprocess(images)`."
        )

    def extract(self, frames, batch_size=32):
        """Computes the feature cube of every frame.

        Args:
            frames: array-like of shape `(frames, height, width, 3)`: RGB
                frames, uint8 or floats on the 0-255 scale, of any size (they
                are resized to `input_size`).
            batch_size: positive int. Frames per forward pass. Defaults to 32.

        Returns:
            A float32 NumPy array of shape `(frames, K, K, D)`, channels-last.

        Raises:
            ValueError: if `frames` does not have shape
                `(frames, height, width, 3)`, holds values outside
                `[0, 255]`, or is a float array on the `[0, 1]` scale.
        """
        return self._run(self.model, frames, batch_size)

    def _run(self, model, frames, batch_size):
        if (
            isinstance(batch_size, bool)
            or not isinstance(batch_size, numbers.Integral)
            or batch_size <= 0
        ):
            raise ValueError(
                "Expected `batch_size` to be a positive integer. "
                f"Received: batch_size={batch_size!r}"
            )
        frames = validate_frames(frames)
        count = frames.shape[0]
        output_shape = tuple(int(d) for d in model.output.shape[1:])
        if count == 0:
            return np.zeros((0,) + output_shape, dtype=np.float32)
        batch_size = min(int(batch_size), count)
        outputs = []
        for start in range(0, count, batch_size):
            batch = frames[start : start + batch_size]
            size = batch.shape[0]
            if size < batch_size:
                # Pad the last batch: one input shape, one traced graph.
                padding = np.zeros(
                    (batch_size - size,) + batch.shape[1:], batch.dtype
                )
                batch = np.concatenate([batch, padding])
            images = self._resize(batch.astype(np.float32))
            images = self.preprocess(images)
            result = model.predict_on_batch(images)
            outputs.append(np.asarray(result, dtype=np.float32)[:size])
        return np.concatenate(outputs)

    def _resize(self, images):
        if tuple(images.shape[1:3]) == self.input_size:
            return images
        return keras.ops.image.resize(
            images,
            self.input_size,
            interpolation="bilinear",
            antialias=True,
            crop_to_aspect_ratio=self.crop_to_aspect_ratio,
        )


def standardize_input_size(input_size):
    """Returns `input_size` as a tuple `(height, width)` of positive ints."""
    if isinstance(input_size, numbers.Integral) and not isinstance(
        input_size, bool
    ):
        input_size = (int(input_size), int(input_size))
    if (
        not isinstance(input_size, (tuple, list))
        or len(input_size) != 2
        or not all(
            isinstance(s, numbers.Integral)
            and not isinstance(s, bool)
            and s > 0
            for s in input_size
        )
    ):
        raise ValueError(
            "Expected `input_size` to be a positive int or a tuple of two "
            "positive ints (height, width). Received: "
            f"input_size={input_size!r}"
        )
    return (int(input_size[0]), int(input_size[1]))


def validate_frames(frames):
    """Checks that `frames` are RGB frames on the 0-255 scale.

    Args:
        frames: array-like of shape `(frames, height, width, 3)`.

    Returns:
        The frames as a NumPy array (uint8, or the input's numeric dtype).

    Raises:
        ValueError: if the shape is not `(frames, height, width, 3)`, the
            dtype is not numeric, values fall outside `[0, 255]`, or float
            frames lie on the `[0, 1]` scale.
    """
    array = np.asarray(frames)
    if array.ndim != 4 or array.shape[-1] != 3:
        hint = ""
        if array.ndim == 3 and array.shape[-1] == 3:
            hint = " For a single frame, add a leading axis: `frames[None]`."
        elif array.ndim == 4 and array.shape[1] == 3:
            hint = (
                " The frames look channels-first; transpose them with "
                "axes (0, 2, 3, 1)."
            )
        raise ValueError(
            "Expected frames of shape (frames, height, width, 3), RGB, "
            f"channels-last; received an array of shape {array.shape}.{hint}"
        )
    if array.dtype == np.uint8:
        return array
    if array.dtype == bool or not (
        np.issubdtype(array.dtype, np.integer)
        or np.issubdtype(array.dtype, np.floating)
    ):
        raise ValueError(
            "Expected frames of dtype uint8, or a float dtype with values in "
            f"[0, 255]; received dtype {array.dtype}."
        )
    if array.size == 0:
        return array
    if np.issubdtype(array.dtype, np.floating) and not np.all(
        np.isfinite(array)
    ):
        raise ValueError(
            "Expected frames with finite values in [0, 255]; received NaN or "
            "infinite values."
        )
    low, high = array.min(), array.max()
    if low < 0 or high > 255:
        raise ValueError(
            "Expected frames with values in [0, 255] (uint8, or floats on the "
            f"same scale); received values in [{low:g}, {high:g}]. Pass the "
            "decoded frames, not frames normalised for another network: the "
            "backbone applies its own preprocessing."
        )
    if np.issubdtype(array.dtype, np.floating) and 0 < high <= 1:
        raise ValueError(
            "Expected float frames on the 0-255 scale; received values in "
            f"[{low:g}, {high:g}], which look scaled to [0, 1]. Multiply them "
            "by 255 or pass uint8 frames: the backbone applies its own "
            "preprocessing."
        )
    return array
