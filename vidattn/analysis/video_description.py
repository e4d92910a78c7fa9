"""From video files to sentences: decode, backbone, captioner, beam search.

`describe_videos` is the one path from a user's videos to a captioner's
sentences and where it looked for each word: the frames are drawn with the
sampling rule the model's features came from, resized as `vidattn
extract` resizes them, passed through the backbone the model names, and
described by `model.generate()`. `vidattn describe`, the demo and the
per-word attention pictures all start here.
"""

import os

import numpy as np
from absl import logging

from vidattn.analysis.caption_attention import CaptionAttentionRecord
from vidattn.analysis.model_metadata import backbone_for
from vidattn.analysis.model_metadata import feature_metadata_of
from vidattn.data.frame_sampling import FrameSampling
from vidattn.data.video_reader import VideoDecodeError
from vidattn.data.video_reader import VideoReader
from vidattn.evaluation.feature_matching import model_num_frames
from vidattn.utils.frame_padding import pad_videos

DEFAULT_SAMPLING = "even:26/240"
"""The thesis's rule (section 3.2.2), for a model that does not name its."""


def sampling_for(model, sampling=None):
    """The frame sampling rule to describe videos with, and where it is from.

    Args:
        model: a captioner.
        sampling: `None`, or a rule that overrides the model's (anything
            `vidattn.data.FrameSampling.parse` reads: `"even:26/240"`,
            `"fps=10"`, ...). Defaults to `None`.

    Returns:
        `(FrameSampling, source)`: `source` is `"given"`, `"model"` (its
        `feature_metadata["sampling"]`) or `"default"` (the model names
        none: the thesis's `even:26/240`).

    Raises:
        ValueError: if the rule is not one `FrameSampling` reads.
    """
    if sampling is not None:
        return FrameSampling.parse(sampling), "given"
    named = (feature_metadata_of(model) or {}).get("sampling")
    if named:
        return FrameSampling.parse(named), "model"
    return FrameSampling.parse(DEFAULT_SAMPLING), "default"


def _decode(path, sampling, backbone):
    # The size `vidattn extract` decodes to (FeatureExtractor.decode_size):
    # the same PIL resize, so that the features equal the extracted ones.
    size = None if backbone.crop_to_aspect_ratio else backbone.input_size
    sampled = sampling.read(VideoReader(path, size=size))
    mask = np.arange(len(sampled.frames)) < (
        len(sampled.frames) - sampled.padding_frames
    )
    return sampled.frames, mask


def _check_frame_count(sampling, num_frames):
    if num_frames is not None and (
        sampling.kind != "even" or sampling.num_frames != num_frames
    ):
        raise ValueError(
            f"The model reads videos of {num_frames} frames (its linear "
            "attention has a weight per frame). Expected a sampling rule of "
            f"{num_frames} frames, such as 'even:{num_frames}/240'. "
            f"Received: sampling={sampling.spec!r}"
        )


def describe_videos(
    model,
    paths,
    backbone=None,
    *,
    sampling=None,
    beam_width=4,
    max_length=30,
    length_normalization=0.0,
    skip_unreadable=False,
):
    """Describes video files with a captioner: a sentence each, and where.

    Each video is decoded with `sampling` (default: the rule the model's
    features came from, see `sampling_for`) at the size `vidattn
    extract` decodes to; the black frames that stand in for frames a short
    video lacks are masked (`frame_mask` False), as in training. The frames
    go through `backbone` (default: the one the model names, see
    `vidattn.analysis.backbone_for`), and all videos through one
    `model.generate()`.

    Args:
        model: a `vidattn.models.VideoCaptioner` with its tokenizer.
        paths: sequence of str or path-like. Video files.
        backbone: a `vidattn.backbones.Backbone` or `None` (the model's).
            Defaults to `None`.
        sampling: `None` or a frame sampling rule (`"even:26/240"`, ...).
            Defaults to `None`.
        beam_width: int. Defaults to `4`.
        max_length: int. Defaults to `30`.
        length_normalization: float. Defaults to `0.0`.
        skip_unreadable: bool. Whether a video that cannot be decoded comes
            back as `{"video_id", "path", "error"}` (the reason) while the
            others are described, rather than raising. Defaults to `False`.

    Returns:
        A list with a dict per path, in order: `"video_id"` (the file's
        name without extension), `"path"`, `"frames"` uint8 `(N, H, W, 3)`
        (what the backbone saw, at its input size), `"features"` float32
        `(N, K, K, D)`, `"frame_mask"` bool `(N,)`, `"caption"` str,
        `"words"` (its words, then `"<end>"` when the sentence ended),
        `"log_probability"` float, `"attention"` float32
        `(len(words), N, K, K)` and `"beta"` float32 `(len(words),)`: one
        map and gate per word. An unreadable video, with
        `skip_unreadable`, has `"error"` instead of the arrays.

    Raises:
        vidattn.data.VideoDecodeError: (a `ValueError`) for an unreadable
            video, unless `skip_unreadable`.
        ValueError: if the model has no tokenizer, the sampling does not
            give the frames the model reads, or the backbone's features
            are not the model's.

    Example:

    ```python
    model = keras.models.load_model("run/best.keras")
    for video in vidattn.analysis.describe_videos(model, ["cat.mp4"]):
        print(video["path"], video["caption"], video["log_probability"])
    ```
    """
    if getattr(model, "tokenizer", None) is None:
        raise ValueError(
            "Expected a captioner that carries its tokenizer "
            "(vidattn.models.VideoCaptioner built with a CaptionTokenizer). "
            f"Received: {type(model).__name__}"
        )
    sampling, _ = sampling_for(model, sampling)
    num_frames = model_num_frames(model)
    _check_frame_count(sampling, num_frames)
    if backbone is None:
        backbone = backbone_for(model)
    grid = tuple(getattr(model, "feature_grid", None) or ())
    if grid and grid != tuple(backbone.feature_shape):
        raise ValueError(
            f"The model reads {'x'.join(map(str, grid))} features (K x K x "
            f"channels); the backbone {backbone!r} gives "
            f"{'x'.join(map(str, backbone.feature_shape))}. Expected the "
            "backbone, layer and input size the model was trained on."
        )
    results, described = [], []
    for path in paths:
        path = os.fspath(path)
        video_id = os.path.splitext(os.path.basename(path))[0]
        result = {"video_id": video_id, "path": path}
        results.append(result)
        try:
            frames, mask = _decode(path, sampling, backbone)
        except VideoDecodeError as error:
            if not skip_unreadable:
                raise
            logging.warning("%s", error)
            result["error"] = error.reason
            continue
        result.update(
            frames=frames,
            features=backbone.extract(frames),
            frame_mask=mask,
        )
        described.append(result)
    if not described:
        return results
    features, frame_mask = pad_videos(
        [result["features"] for result in described],
        [result["frame_mask"] for result in described],
        num_frames=num_frames,
    )
    generated = model.generate(
        {"features": features, "frame_mask": frame_mask},
        beam_width=beam_width,
        max_length=max_length,
        length_normalization=length_normalization,
    )
    for index, result in enumerate(described):
        length = int(generated["length"][index])
        caption = generated["captions"][index]
        words = caption.split()
        words += ["<end>"] * (length - len(words))
        frames = len(result["frames"])
        result.update(
            caption=caption,
            words=words,
            log_probability=float(generated["log_probability"][index]),
            attention=generated["attention"][index, :length, :frames],
            beta=generated["beta"][index, :length],
        )
    return results


def description_record(description):
    """A described video as the per-word attention pictures draw it.

    Args:
        description: One dict of what `describe_videos` returns (not an
            unreadable video's).

    Returns:
        A `vidattn.analysis.CaptionAttentionRecord` of the sentence's words
        (the end token left out), their attention maps and gates, and the
        frames the backbone saw; the input of
        `vidattn.visualization.write_caption_report`.

    Raises:
        ValueError: if the video could not be read (the dict has an
            `"error"`).
    """
    if "error" in description:
        raise ValueError(
            f"Expected a described video. Received {description['path']}, "
            f"which could not be read: {description['error']}"
        )
    words = list(description["words"])
    if words and words[-1] == "<end>":
        words = words[:-1]
    return CaptionAttentionRecord(
        video_id=description["video_id"],
        frames=description["frames"],
        frame_mask=description["frame_mask"],
        words=words,
        attention=description["attention"][: len(words)],
        beta=description["beta"][: len(words)],
        log_probability=description["log_probability"],
    )
