"""The decoding half of a captioner: beam search and greedy decoding."""

import keras
import numpy as np
from keras import ops

from vidattn.layers.caption_tokenizer import PADDING_ID
from vidattn.layers.caption_tokenizer import START_ID
from vidattn.models.caption_decoding import beam_search
from vidattn.models.caption_decoding import greedy_search
from vidattn.models.caption_decoding import tile_beams
from vidattn.models.video_classifier import VideoClassifier
from vidattn.utils.arguments import check_non_negative_number
from vidattn.utils.arguments import check_positive_int
from vidattn.utils.compiled_function import compiled_function
from vidattn.utils.feature_shapes import check_feature_cube_shape


class CaptionGenerator(keras.Model):
    """Base class of captioners: sentences from `step()`, in the graph.

    A subclass (`vidattn.models.VideoCaptioner`) provides the model's one
    decoding step and what it needs per video, and this class turns them
    into sentences with `vidattn.models.beam_search` or `greedy_search`:

    - `prepare_context(features, frame_mask)`: what depends only on the
      video, computed once;
    - `initial_states(features, frame_mask)`: the decoder's states before
      the first word;
    - `step(word_ids, states, context)`: `(states, word_logits,
      attention_weights, beta)` for the next word;
    - the attributes `vocabulary_size`, `feature_grid` (set when built) and
      `tokenizer` (or `None`).
    """

    def search(
        self,
        features,
        frame_mask=None,
        *,
        beam_width=4,
        max_length=30,
        length_normalization=0.0,
    ):
        """Decodes a batch of videos inside the graph; see `generate()`.

        The in-graph part of `generate()`, for callers that trace it
        themselves (a SavedModel signature, a `tf.function`): takes tensors
        and returns the tensors of the search, without the captions' text.
        """
        batch_size = ops.shape(features)[0]
        features = ops.cast(features, self.compute_dtype)
        context = self.prepare_context(features, frame_mask)
        states = self.initial_states(features, frame_mask)
        if beam_width > 1:
            context = tile_beams(context, beam_width)
        # Padding and the start token are never a next word.
        never_next = np.zeros((self.vocabulary_size,), "float32")
        never_next[[PADDING_ID, START_ID]] = -1e9

        def step_fn(word_ids, states):
            states, logits, weights, beta = self.step(word_ids, states, context)
            log_probs = ops.log_softmax(logits + never_next, axis=-1)
            return log_probs, states, {"attention": weights, "beta": beta}

        if beam_width == 1:
            result = greedy_search(
                step_fn, states, batch_size=batch_size, max_length=max_length
            )
        else:
            result = beam_search(
                step_fn,
                states,
                batch_size=batch_size,
                beam_width=beam_width,
                max_length=max_length,
                length_normalization=length_normalization,
            )
        grid_size = self.feature_grid[0]
        result["attention"] = ops.reshape(
            result["attention"],
            (
                batch_size,
                max_length,
                ops.shape(features)[1],
                grid_size,
                grid_size,
            ),
        )
        return result

    def generate(
        self,
        inputs,
        *,
        beam_width=4,
        max_length=30,
        length_normalization=0.0,
    ):
        """Describes videos: a sentence each, and where it looked per word.

        Beam search (the thesis's best width, 4, by default) or greedy
        decoding (`beam_width=1`) over `step()`, the function that teacher
        forcing trains, run inside the graph (one `keras.ops.while_loop`
        over words that stops when every sentence has ended); see
        `vidattn.models.beam_search` for the search's rules. Padding and
        the start token are never chosen as a next word; the unknown word
        can be.

        Args:
            inputs: Feature cubes `(batch, N, K, K, D)`, or a dict with
                `"features"` and optionally `"frame_mask"` `(batch, N)`
                (False for padded frames, which get no attention).
            beam_width: int. Hypotheses kept per video; `1` is greedy
                decoding. Defaults to `4`.
            max_length: int. The most words per sentence, its end token
                included. Defaults to `30`.
            length_normalization: float. The exponent `alpha` of the
                ranking score `log_probability / length ** alpha`; `0`
                (default) ranks by log probability, as the thesis's code.

        Returns:
            A dict of NumPy arrays over the chosen sentence of each video:
            `"token_ids"` int32 `(batch, max_length)` (no start token, the
            end token when produced, then padding), `"length"` int32
            `(batch,)` (words up to and including the end),
            `"log_probability"` and `"score"` float32 `(batch,)`,
            `"attention"` float32 `(batch, max_length, N, K, K)` and
            `"beta"` float32 `(batch, max_length)` for each word (zeros
            after the end); with a tokenizer also `"captions"`, a list of
            str (the words before the end token).

        Raises:
            ValueError: if an argument is out of range or the features are
                not of shape `(batch, N, K, K, D)`, or a video has no valid
                frame.

        Example:

        >>> import numpy as np, vidattn
        >>> tokenizer = vidattn.layers.CaptionTokenizer(["a", "man", "runs"])
        >>> model = vidattn.models.VideoCaptioner(
        ...     tokenizer, units=16, embedding_dim=12, attention="additive"
        ... )
        >>> features = np.random.rand(2, 3, 2, 2, 8).astype("float32")
        >>> result = model.generate(features, beam_width=2, max_length=5)
        >>> result["token_ids"].shape, result["attention"].shape
        ((2, 5), (2, 5, 3, 2, 2))
        >>> len(result["captions"])
        2
        """
        beam_width = check_positive_int("beam_width", beam_width)
        max_length = check_positive_int("max_length", max_length)
        length_normalization = check_non_negative_number(
            "length_normalization", length_normalization
        )
        features, frame_mask = VideoClassifier.unpack_inputs(inputs)
        features = ops.convert_to_tensor(features)
        if frame_mask is not None:
            frame_mask = ops.convert_to_tensor(frame_mask, "bool")
        shape, _, _ = check_feature_cube_shape(tuple(features.shape))
        if not self.built:
            self.build({"features": shape})
        if tuple(shape[2:]) != tuple(self.feature_grid):
            raise ValueError(
                "Expected features of shape (batch, frames, "
                f"{', '.join(map(str, self.feature_grid))}), the cubes the "
                f"model was built on. Received: shape={shape}"
            )
        # Kept out of the model's tracked attributes (and so out of its
        # saved files): one traced search per setting.
        searches = self.__dict__.setdefault("_compiled_searches", {})
        key = (beam_width, max_length, float(length_normalization))
        if key not in searches:
            searches[key] = compiled_function(
                lambda features, frame_mask: self.search(
                    features,
                    frame_mask,
                    beam_width=beam_width,
                    max_length=max_length,
                    length_normalization=length_normalization,
                )
            )
        result = searches[key](features, frame_mask)
        result = {
            name: ops.convert_to_numpy(value) for name, value in result.items()
        }
        if self.tokenizer is not None:
            result["captions"] = self.tokenizer.decode_ids(result["token_ids"])
        return result
