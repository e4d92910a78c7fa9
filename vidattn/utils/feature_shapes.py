"""The check of a batch of feature cubes' shape, shared by every video model."""


def check_feature_cube_shape(input_shape):
    """Validates the input shape; returns `(features_shape, K, channels)`.

    Args:
        input_shape: The shape of a features tensor
            `(batch, frames, K, K, channels)`, or a dict of shapes with the
            key `"features"`.

    Returns:
        A tuple `(shape, K, channels)`: the shape as a tuple, the grid's side
        and the channel count.

    Raises:
        ValueError: if the shape is not of that layout, its grid or channels
            are unknown, or the grid is not square (with a hint when the
            cubes look channels-first).
    """
    if isinstance(input_shape, dict):
        if "features" not in input_shape:
            raise ValueError(
                'Expected a dict input with the key "features" (and '
                'optionally "frame_mask"). Received keys: '
                f"{sorted(input_shape)}"
            )
        input_shape = input_shape["features"]
    shape = tuple(input_shape)
    if len(shape) != 5:
        raise ValueError(
            "Expected features of shape (batch, frames, K, K, channels). "
            f"Received: shape={shape}"
        )
    grid_height, grid_width, channels = shape[2:]
    if None in (grid_height, grid_width, channels):
        raise ValueError(
            "Expected features with a known grid and channel count, "
            f"(batch, frames, K, K, channels). Received: shape={shape}"
        )
    if grid_height != grid_width:
        hint = ""
        if grid_height > grid_width:
            hint = (
                " This looks channels-first: transpose each cube to "
                "(K, K, channels)."
            )
        raise ValueError(
            "Expected features of shape (batch, frames, K, K, channels) "
            f"with a square K x K grid. Received: shape={shape}.{hint}"
        )
    return shape, grid_height, channels
