"""The serving signatures of a captioner: sentences by beam search."""

import tensorflow as tf

from vidattn.export.serving_input_checks import check_serving_inputs
from vidattn.export.serving_signature import ServingSignature
from vidattn.layers.caption_tokenizer import END_ID
from vidattn.layers.caption_tokenizer import PADDING_ID
from vidattn.layers.caption_tokenizer import START_ID
from vidattn.utils.arguments import check_non_negative_number
from vidattn.utils.arguments import check_positive_int


def _words(token_ids, vocabulary):
    """The token of each position before the end token, `""` after it."""
    ended = tf.cumsum(tf.cast(tf.equal(token_ids, END_ID), tf.int32), axis=1)
    kept = (ended == 0) & (token_ids != START_ID) & (token_ids != PADDING_ID)
    tokens = tf.gather(
        tf.constant(vocabulary),
        tf.clip_by_value(token_ids, 0, len(vocabulary) - 1),
    )
    return tf.where(kept, tokens, "")


def caption_signatures(
    model, *, beam_width=4, max_length=30, length_normalization=0.0
):
    """The signatures that serve a captioner, ready to trace or wrap.

    - `caption`: `features` float32 `(batch, N, K, K, D)` → the beam
      search of `VideoCaptioner.generate`, in the graph: `captions` string
      `(batch,)`, `words` string `(batch, max_length)` (the sentence's
      words by position, `""` from the end token on), `token_ids` int32
      `(batch, max_length)`, `length` int32 `(batch,)`, `log_probability`
      and `score` float32 `(batch,)`, `attention` float32
      `(batch, max_length, N, K, K)` and `beta` float32 `(batch,
      max_length)` of each word. Without a tokenizer, no `captions` nor
      `words`.
    - `caption_with_mask`: the same, plus `frame_mask` bool `(batch, N)`
      (False for padded frames, which get no attention).

    `N` is the model's number of frames with linear attention (its weights
    are per location) and any number otherwise.

    Args:
        model: a built `vidattn.models.VideoCaptioner`.
        beam_width: int. Beam width of the served search; `1` is greedy.
            Defaults to `4`.
        max_length: int. The most words per sentence. Defaults to `30`.
        length_normalization: float. See `VideoCaptioner.generate`.
            Defaults to `0.0`.

    Returns:
        A dict of `vidattn.export.ServingSignature` by name: `"caption"`,
        `"caption_with_mask"`.

    Raises:
        ValueError: if an argument is out of range.

    Example:

    ```python
    signatures = vidattn.export.caption_signatures(captioner, beam_width=2)
    signatures["caption"].function(features=cubes)["words"]
    ```
    """
    beam_width = check_positive_int("beam_width", beam_width)
    max_length = check_positive_int("max_length", max_length)
    length_normalization = check_non_negative_number(
        "length_normalization", length_normalization
    )
    grid_size, _, channels = model.feature_grid
    frames = None
    if model.attention == "linear":
        frames = model.attention_layer.num_locations // grid_size**2
    specs = (
        tf.TensorSpec(
            (None, frames, grid_size, grid_size, channels),
            tf.float32,
            "features",
        ),
        tf.TensorSpec((None, frames), tf.bool, "frame_mask"),
    )
    tokenizer = model.tokenizer

    def caption(features, frame_mask=None):
        inputs = {"features": features}
        if frame_mask is not None:
            inputs["frame_mask"] = frame_mask
        inputs = check_serving_inputs(inputs, specs)
        outputs = model.search(
            inputs["features"],
            inputs.get("frame_mask"),
            beam_width=beam_width,
            max_length=max_length,
            length_normalization=length_normalization,
        )
        if tokenizer is not None:
            outputs["captions"] = tokenizer.detokenize(outputs["token_ids"])
            outputs["words"] = _words(
                outputs["token_ids"], tokenizer.get_vocabulary()
            )
        return outputs

    search = f"beam search of width {beam_width}, at most {max_length} words"
    return {
        "caption": ServingSignature(
            lambda features: caption(features),
            specs[:1],
            f"videos' feature cubes -> a sentence each ({search})",
        ),
        "caption_with_mask": ServingSignature(
            caption,
            specs,
            f"padded videos -> a sentence each ({search})",
        ),
    }
