"""Whether a dataset holds the features a trained model reads."""


def model_feature_shape(model):
    """The `(K, K, channels)` feature cubes a built model reads, or `None`.

    Action models say it with `input_spec_shape()`, captioners with their
    `feature_grid`; an unbuilt model does not know yet.
    """
    if not getattr(model, "built", False):
        return None
    if hasattr(model, "input_spec_shape"):
        return tuple(model.input_spec_shape())
    grid = getattr(model, "feature_grid", None)
    return tuple(grid) if grid else None


def check_features(model, data, model_path):
    """Refuses data of other features than the model was trained on.

    The backbone and layer are compared when the model's
    `feature_metadata` names them, and the cubes' `(K, K, channels)` when
    the model is built.

    Args:
        model: a loaded action model or captioner.
        data: the `vidattn.data.FeatureDataset` to score.
        model_path: str. The model's file, for messages.

    Raises:
        ValueError: naming what the model reads and what the data hold.
    """
    metadata = getattr(model, "feature_metadata", None) or {}
    for name in ("backbone", "layer"):
        expected = metadata.get(name)
        if expected is not None and expected != getattr(data, name):
            raise ValueError(
                f"Expected features of the {name} the model {model_path} "
                f"was trained on ({name}={expected!r}). Received "
                f"{name}={getattr(data, name)!r} in {data.directory}."
            )
    expected = model_feature_shape(model)
    if expected is None:
        return
    received = (data.grid_size, data.grid_size, data.channels)
    if expected != received:
        raise ValueError(
            f"The model {model_path} reads "
            f"{'x'.join(map(str, expected))} features (K x K x channels); "
            f"the data in {data.directory} hold "
            f"{'x'.join(map(str, received))} features ({data.backbone}, "
            f"{data.layer}). Expected features of the backbone and layer "
            "the model was trained on."
        )


def model_num_frames(model):
    """The number of frames N a model's weights fix, or `None` if any fits.

    The thesis's linear attention has one weight per space-time location
    (`(d, N*K*K)`), so a captioner built with it reads videos of exactly
    the N frames it was trained on; the additive and uniform forms read any
    number.
    """
    layer = getattr(model, "attention_layer", None)
    if getattr(layer, "attention", None) != "linear":
        return None
    locations = getattr(layer, "num_locations", None)
    grid_size = getattr(layer, "grid_size", None)
    if not locations or not grid_size:
        return None
    return locations // grid_size**2
