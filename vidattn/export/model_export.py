"""`vidattn export`'s library half: a model into `NAME/VERSION/`."""

from vidattn.export.export_layout import version_directory
from vidattn.export.saved_model_exporter import export_action_model
from vidattn.export.saved_model_exporter import export_video_captioner

ACTION_SETTINGS = (
    "frames",
    "top_k",
    "window_length",
    "fps",
    "stride",
    "aggregation",
    "streaming",
    "backbone",
)
CAPTION_SETTINGS = (
    "beam_width",
    "max_length",
    "length_normalization",
    "backbone",
)


def export_model(
    model,
    export_base,
    *,
    version=None,
    overwrite=False,
    endpoint_adders=(),
    **settings,
):
    """Exports an action model or a captioner as a new version to serve.

    Writes `export_base/VERSION/`, TF Serving's layout for the model folder
    given as `--model_base_path` (the server serves the highest version),
    with `export_action_model` or `export_video_captioner`.

    Args:
        model: a built `vidattn.models.VideoClassifier` or
            `vidattn.models.VideoCaptioner`.
        export_base: str or path-like. The model's folder
            (`exports/ucf11`).
        version: int or `None`. See `vidattn.export.version_directory`:
            the next integer by default.
        overwrite: bool. Whether an existing version may be replaced.
            Defaults to `False`.
        endpoint_adders: more signatures; see `vidattn.export.write_export`.
        **settings: for action models `frames`, `top_k`,
            `window_length`, `fps`, `stride`, `aggregation` (see
            `vidattn.export.action_signatures`), `streaming`; for
            captioners `beam_width`, `max_length`, `length_normalization`;
            for both `backbone` (see `vidattn.export.export_action_model`).

    Returns:
        The version's folder, a str.

    Raises:
        ValueError: if a setting does not apply to the model, the version
            exists without `overwrite`, or an export argument is invalid.

    Example:

    ```python
    model = keras.models.load_model("run/best.keras")
    vidattn.export.export_model(model, "exports/ucf11")  # exports/ucf11/1
    ```
    """
    from vidattn.models.caption_generator import CaptionGenerator

    captioner = isinstance(model, CaptionGenerator)
    allowed = CAPTION_SETTINGS if captioner else ACTION_SETTINGS
    kind = "a captioner" if captioner else "an action model"
    unknown = sorted(set(settings) - set(allowed))
    if unknown:
        raise ValueError(
            f"Expected the settings of {kind} ({', '.join(allowed)}). "
            f"Received: {', '.join(unknown)}, which do not apply to "
            f"{type(model).__name__}: leave them out."
        )
    export_dir = version_directory(export_base, version, overwrite)
    export = export_video_captioner if captioner else export_action_model
    return export(
        model,
        export_dir,
        overwrite=overwrite,
        endpoint_adders=endpoint_adders,
        **settings,
    )
