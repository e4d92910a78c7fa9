"""What a trained model needs beside it: its class names and its backbone.

An action model carries its class names (`model.class_names`) and, when it
was trained on extracted features, where they came from
(`model.feature_metadata`: backbone, layer, input size, frame rate, ...).
The analysis commands read them through these helpers, so that they work on
a model file alone.
"""

DEFAULT_BACKBONE = "efficientnet_lite0"


def class_names_of(model, fallback=None):
    """The class names of `model`, or `fallback` when it carries none.

    Args:
        model: an action model.
        fallback: sequence of str or `None`. The names to use when the model
            carries none (a model built without `class_names`; a dataset's
            names, for instance). Defaults to `None`.

    Returns:
        A tuple of str, or `None` when no source names the classes.
    """
    for names in (getattr(model, "class_names", None), fallback):
        if names:
            return tuple(str(name) for name in names)
    return None


def feature_metadata_of(model):
    """Where the model's features came from, or `None` when it does not say.

    Returns:
        A dict with `backbone`, `layer`, `input_size`, `grid_size`,
        `channels`, `stored_fps`, `fps` and `window`, or `None`.
    """
    metadata = getattr(model, "feature_metadata", None)
    return dict(metadata) if metadata else None


def backbone_for(
    model, name=None, layer_name=None, weights="imagenet", input_size=None
):
    """Builds the backbone whose features `model` was trained on.

    Each argument left `None` is taken from the model's feature metadata
    when it has one, else from the defaults of `vidattn extract`
    (EfficientNet-Lite0's last convolutional map at its own input size).

    Args:
        model: an action model.
        name: str or `None`. The backbone's name, as `vidattn extract`
            takes it. Defaults to `None`.
        layer_name: str or `None`. The layer whose maps were stored.
            Defaults to `None`.
        weights: `"imagenet"`, `"none"` or a weights file. Defaults to
            `"imagenet"`.
        input_size: int or `None`. Defaults to `None`.

    Returns:
        A `vidattn.backbones.Backbone`.

    Raises:
        ValueError: if the name is not a known backbone, or the other
            arguments do not fit it.
    """
    from vidattn.backbones import build_backbone

    metadata = feature_metadata_of(model) or {}
    if name is None:
        name = metadata.get("backbone") or DEFAULT_BACKBONE
        layer_name = layer_name or metadata.get("layer")
        input_size = input_size or metadata.get("input_size")
    if isinstance(input_size, (list, tuple)):
        input_size = tuple(input_size)
    return build_backbone(
        name, weights=weights, layer_name=layer_name, input_size=input_size
    )
