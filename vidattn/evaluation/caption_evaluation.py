"""The thesis's captioning protocol (section 3.2) on a feature dataset."""

import os
import time

import keras
import numpy as np

from vidattn.data.feature_dataset import FeatureDataset
from vidattn.data.frame_sampling import FrameSampling
from vidattn.evaluation.feature_matching import check_features
from vidattn.evaluation.feature_matching import model_num_frames
from vidattn.metrics.caption_metrics import METRICS
from vidattn.metrics.caption_metrics import caption_scores
from vidattn.models.caption_generator import CaptionGenerator
from vidattn.utils.arguments import check_non_negative_number
from vidattn.utils.arguments import check_positive_int
from vidattn.utils.frame_padding import pad_videos

TOKENIZATION_TEXT = (
    "coco-caption's PTB tokenizer (pycocoevalcap 1.2; lower case, "
    "punctuation removed), on generated and reference sentences alike"
)

# Seconds between progress lines (a Progbar redraws at most this often).
PROGRESS_INTERVAL_S = 5.0


def sampling_text(spec):
    """A frame sampling rule (`"even:26/240"`, ...) in words."""
    sampling = FrameSampling.parse(spec)
    if sampling.kind == "even":
        return (
            f"{sampling.num_frames} frames evenly spaced over the first "
            f"{sampling.first_frames} of each video (thesis section 3.2.2); "
            "black frames stand in for those a shorter video lacks and are "
            "masked (no attention, no weight in the initial state)"
        )
    if sampling.kind == "fps":
        return f"frames resampled to {sampling.fps:g} fps"
    return "every decoded frame"


def _load(model):
    if isinstance(model, (str, os.PathLike)):
        path = os.path.abspath(os.fspath(model))
        return path, keras.models.load_model(path)
    return f"<{type(model).__name__} {model.name!r}>", model


def _check_captioner(model, model_path):
    if not isinstance(model, CaptionGenerator):
        raise ValueError(
            f"Expected a captioning model (vidattn.models.VideoCaptioner). "
            f"Received {model_path}, a {type(model).__name__}: evaluate it "
            "with the action flags (--window, --fps, ...) instead."
        )
    if getattr(model, "tokenizer", None) is None:
        raise ValueError(
            f"Expected a captioner that carries its tokenizer, to turn word "
            f"ids into sentences. Received {model_path}, built with "
            "`vocabulary_size` only: build it with "
            "vidattn.training.build_caption_tokenizer(train_data)."
        )


def _check_captioned(data):
    if not int(data.num_captions.sum()):
        raise ValueError(
            f"Expected a dataset with reference captions to score against. "
            f"Received {data.directory}, whose manifest lists none. Extract "
            "the features with the dataset's captions (e.g. `vidattn "
            "extract --dataset msvd`)."
        )


def _check_frames(model, data, model_path):
    num_frames = model_num_frames(model)
    longest = int(data.num_frames.max())
    if num_frames is not None and longest > num_frames:
        raise ValueError(
            f"The model {model_path} reads videos of {num_frames} frames "
            f"(its linear attention has a weight per frame); the data in "
            f"{data.directory} hold videos of up to {longest} frames. "
            "Expected features extracted with the model's frame sampling."
        )
    return num_frames


def _check_sampling(model, video, model_path, directory):
    expected = (getattr(model, "feature_metadata", None) or {}).get("sampling")
    if expected is not None and expected != video["sampling"]:
        raise ValueError(
            f"Expected features sampled the way the model {model_path} was "
            f"trained on (sampling={expected!r}). Received "
            f"sampling={video['sampling']!r} for video "
            f"{video['video_id']!r} in {directory}."
        )


def _batches(videos, batch_size):
    batch = []
    for video in videos:
        batch.append(video)
        if len(batch) == batch_size:
            yield batch
            batch = []
    if batch:
        yield batch


def evaluate_caption_model(
    model,
    data_dir,
    *,
    beam_width=4,
    max_length=30,
    length_normalization=0.0,
    batch_size=32,
    metrics=METRICS,
    verbose=1,
):
    """Describes every video of a split and scores the sentences.

    The thesis's protocol (section 3.2): each video's sentence comes from
    beam search (width 4) over the captioner, and is scored with
    coco-caption's BLEU-1..4, METEOR, ROUGE-L and CIDEr against **all**
    reference captions of its video (`vidattn.metrics.caption_scores`).
    Videos without references are described but not scored (the report
    counts them).

    Args:
        model: str or `vidattn.models.VideoCaptioner`. A `.keras`
            captioner, or a loaded one.
        data_dir: str. The dataset folder to score (the test split), with
            captions.
        beam_width: int. Hypotheses kept per video; 1 is greedy decoding.
            Defaults to `4`.
        max_length: int. The most words per sentence, the end included.
            Defaults to `30`.
        length_normalization: float. The exponent `alpha` of the beam's
            ranking score `log p / length ** alpha`. Defaults to `0.0`
            (the thesis: by log probability).
        batch_size: int. Videos described at once. Defaults to `32`.
        metrics: sequence of str, among `"bleu"`, `"meteor"`, `"rouge_l"`,
            `"cider"`. Defaults to all four (METEOR adds 8-30 s of Java
            start-up).
        verbose: int. 1 shows progress (a `keras.utils.Progbar`, one line
            every 5 s at most); 0 nothing. Defaults to `1`.

    Returns:
        A dict, ready for JSON: `"task"` (`"captioning"`), `"model"`,
        `"data"`, `"split"`, `"num_videos"`, `"num_references"`,
        `"protocol"` (a dict: `"beam_width"`, `"max_length"`,
        `"length_normalization"`, `"frames_per_video"`, `"sampling"` (the
        records' rules), `"sampling_text"`, `"videos_with_padding"`,
        `"references_per_video"` (mean over scored videos),
        `"videos_scored"`, `"videos_without_references"`,
        `"tokenization"`, `"metrics"` (the score names)), `"scores"`
        (score name -> float) and `"sentences"` (video id ->
        `{"sentence": str, "log_probability": float}`, in the data's
        order).

    Raises:
        ValueError: if the model is no captioner or has no tokenizer; the
            data hold no captions, or features (backbone, layer, K x K x
            channels, sampling, frame count) of another kind than the
            model's; an argument is out of range; a record holds NaN or
            inf features.
        ImportError, OSError: if pycocoevalcap or Java is missing.

    Example:

    ```python
    report = vidattn.evaluation.evaluate_caption_model(
        "run/best.keras", "/data/msvd/test"
    )
    print(vidattn.evaluation.format_caption_report(report))
    ```
    """
    beam_width = check_positive_int("beam_width", beam_width)
    max_length = check_positive_int("max_length", max_length)
    length_normalization = check_non_negative_number(
        "length_normalization", length_normalization
    )
    batch_size = check_positive_int("batch_size", batch_size)
    data = FeatureDataset(data_dir)
    _check_captioned(data)
    model_path, model = _load(model)
    _check_captioner(model, model_path)
    check_features(model, data, model_path)
    num_frames = _check_frames(model, data, model_path)

    progress = None
    if verbose:
        progress = keras.utils.Progbar(
            data.num_videos,
            verbose=1,
            interval=PROGRESS_INTERVAL_S,
            unit_name="video",
            stateful_metrics=("videos/s",),
        )
    started = time.perf_counter()
    sentences, references, samplings = {}, {}, set()
    padded_videos = 0
    for batch in _batches(data.videos(), batch_size):
        for video in batch:
            _check_sampling(model, video, model_path, data.directory)
        features, frame_mask = pad_videos(
            [video["features"] for video in batch],
            [
                np.arange(video["num_frames"])
                < video["num_frames"] - video["padding_frames"]
                for video in batch
            ],
            num_frames=num_frames,
        )
        result = model.generate(
            {"features": features, "frame_mask": frame_mask},
            beam_width=beam_width,
            max_length=max_length,
            length_normalization=length_normalization,
        )
        for video, caption, log_probability in zip(
            batch, result["captions"], result["log_probability"]
        ):
            sentences[video["video_id"]] = {
                "sentence": caption,
                "log_probability": float(log_probability),
            }
            references[video["video_id"]] = list(video["captions"])
            samplings.add(video["sampling"])
            padded_videos += bool(video["padding_frames"])
        if progress is not None:
            rate = len(sentences) / max(time.perf_counter() - started, 1e-9)
            progress.update(len(sentences), [("videos/s", rate)])

    scored = {video: refs for video, refs in references.items() if refs}
    scores = caption_scores(
        scored,
        {video: sentences[video]["sentence"] for video in scored},
        metrics=metrics,
    )
    num_references = sum(len(refs) for refs in scored.values())
    frame_counts = sorted({int(count) for count in data.num_frames})
    return {
        "task": "captioning",
        "model": model_path,
        "data": data.directory,
        "split": data.split,
        "num_videos": data.num_videos,
        "num_references": num_references,
        "protocol": {
            "beam_width": beam_width,
            "max_length": max_length,
            "length_normalization": float(length_normalization),
            "frames_per_video": (
                frame_counts[0] if len(frame_counts) == 1 else frame_counts
            ),
            "sampling": sorted(samplings),
            "sampling_text": "; ".join(
                sampling_text(spec) for spec in sorted(samplings)
            ),
            "videos_with_padding": padded_videos,
            "references_per_video": num_references / len(scored),
            "videos_scored": len(scored),
            "videos_without_references": data.num_videos - len(scored),
            "tokenization": TOKENIZATION_TEXT,
            "metrics": list(scores),
        },
        "scores": scores,
        "sentences": sentences,
    }


def coco_results(report):
    """The generated sentences in coco-caption's results format.

    Args:
        report: what `evaluate_caption_model` returns.

    Returns:
        A list `[{"image_id": video_id, "caption": sentence}, ...]` in the
        data's order: what coco-caption's `COCO.loadRes` reads.
    """
    return [
        {"image_id": video_id, "caption": entry["sentence"]}
        for video_id, entry in report["sentences"].items()
    ]


def format_caption_report(report):
    """A captioning report a person reads: the protocol, then the scores.

    Scores are printed as papers print them, multiplied by 100.

    Args:
        report: what `evaluate_caption_model` returns.

    Returns:
        The text, one line per fact, without a final newline.
    """
    protocol, scores = report["protocol"], report["scores"]
    decoding = (
        "greedy decoding"
        if protocol["beam_width"] == 1
        else f"beam search of width {protocol['beam_width']}"
    )
    if protocol["length_normalization"]:
        ranking = f"log p / length ** {protocol['length_normalization']:g}"
    else:
        ranking = "log probability (no length normalization)"
    lines = [
        f"Evaluation of {report['model']}",
        f"  data: {report['data']} (split {report['split']}): "
        f"{report['num_videos']} videos, {protocol['videos_scored']} scored "
        f"against {report['num_references']} references "
        f"({protocol['references_per_video']:.1f} per video)",
        f"  frames: {protocol['frames_per_video']} per video, "
        f"{', '.join(protocol['sampling'])}: {protocol['sampling_text']}; "
        f"{protocol['videos_with_padding']} videos padded",
        f"  decoding: {decoding}, at most {protocol['max_length']} words, "
        f"ranked by {ranking}",
        f"  scoring: {protocol['tokenization']}",
    ]
    if protocol["videos_without_references"]:
        lines.append(
            f"  {protocol['videos_without_references']} videos without "
            "references are described but not scored"
        )
    lines.append("  scores (x 100):")
    for name, value in scores.items():
        lines.append(f"    {name:<8} {100 * value:6.2f}")
    return "\n".join(lines)
