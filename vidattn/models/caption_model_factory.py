"""The captioning models by name: the thesis's model and its baselines."""

from vidattn.models.video_captioner import VideoCaptioner
from vidattn.utils.arguments import check_one_of

# Each name: the arguments of `VideoCaptioner` that the name itself fixes.
_CAPTION_MODELS = {
    "soft_attention": {},
    "average_pool": {"attention": "uniform"},
    "first_time_step": {"video_input": "first_step"},
}
CAPTION_MODELS = tuple(_CAPTION_MODELS)
"""The names `build_video_captioner` knows: the thesis's STA-soft, then its
baselines STA-avg-pool and STA-first-time-step (Table 3.1)."""


def build_video_captioner(name="soft_attention", **kwargs):
    """Builds the captioning model that `name` names.

    Args:
        name: str. One of `CAPTION_MODELS`: `"soft_attention"` (default),
            `"average_pool"` (`attention="uniform"`) or `"first_time_step"`
            (`video_input="first_step"`).
        **kwargs: Arguments of `vidattn.models.VideoCaptioner` (a tokenizer
            or `vocabulary_size`, `units`, ...), less those the name fixes.

    Returns:
        An unbuilt `vidattn.models.VideoCaptioner`.

    Raises:
        ValueError: if `name` is unknown (the message lists the known ones),
            or an argument contradicts what the name fixes.

    Example:

    >>> import vidattn
    >>> model = vidattn.models.build_video_captioner(
    ...     "average_pool", vocabulary_size=100, units=32, embedding_dim=16
    ... )
    >>> model.attention
    'uniform'
    """
    fixed = _CAPTION_MODELS[check_one_of("name", name, CAPTION_MODELS)]
    for key, value in fixed.items():
        if key in kwargs and kwargs[key] != value:
            raise ValueError(
                f"Expected no `{key}` other than {value!r} for the {name!r} "
                f"model, which fixes it. Received: {key}={kwargs[key]!r}"
            )
    return VideoCaptioner(**{**kwargs, **fixed})
