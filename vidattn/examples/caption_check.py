"""Does a captioner that looks describe better? The captioning learning check.

The thesis's claim (ch. 3): a soft-attention captioner, which looks at the
right place for each word, describes videos better than STA-first-time-step,
the same decoder that sees the attended video only at its first word (both
start from the mean feature of the video).

1. Render videos of a few coloured shapes that move left, move right or
   stay still (`vidattn.datasets.rendered_captions`), with sentences that
   name each object's colour, shape and motion, and write them as MP4.
2. Decode them with PyAV and extract EfficientNet-Lite0 feature cubes (the
   offline ImageNet backbone, 224x224 -> 7x7x1280) into TFRecord shards.
3. Train each captioner with `model.fit` on `caption_batches`.
4. On held-out videos: beam search, BLEU-1..4 and METEOR (when Java is
   there) against the templated sentences, and the attention mass on the
   object each colour, shape and motion word names.

The mean feature holds every colour, shape and motion of a video but mixes
up which belongs to which object; reading one object at a time is what
attention adds. Every stage resumes: rerunning keeps the rendered videos,
the extracted features and the models already trained.
"""

import dataclasses
import os
import shutil
import time

import numpy as np

from vidattn.data.feature_dataset import FeatureDataset
from vidattn.data.frame_sampling import FrameSampling
from vidattn.data.importers.dataset_index import DatasetIndex
from vidattn.data.importers.video_entry import VideoEntry
from vidattn.datasets.rendered_captions import attention_on_named_objects
from vidattn.datasets.rendered_captions import render_caption_videos
from vidattn.datasets.rendered_moving_region import write_video
from vidattn.models.caption_model_factory import CAPTION_MODELS
from vidattn.utils.arguments import check_int
from vidattn.utils.arguments import check_non_negative_int
from vidattn.utils.arguments import check_non_negative_number
from vidattn.utils.arguments import check_one_of
from vidattn.utils.arguments import check_positive_int
from vidattn.utils.arguments import check_positive_number
from vidattn.utils.atomic_write import atomic_output_path
from vidattn.utils.atomic_write import write_json_atomically

SPLIT_SEEDS = {"train": 1, "validation": 2, "test": 3}
FPS = 4
"""Frame rate of the rendered videos."""
SUMMARY_FILENAME = "summary.json"


@dataclasses.dataclass
class CaptionCheckSettings:
    """Sizes of the captioning check; the defaults ran in 333 s on 2 CPU
    cores shared with other jobs.

    Attributes:
        train_videos: int. Rendered training videos (3 sentences each).
        validation_videos: int. Videos whose loss picks each model's best
            epoch; `0` keeps the last epoch.
        test_videos: int. Held-out videos that the figures come from.
        frames: int. Frames per video, at most 7.
        objects_per_video: int. Objects in each video.
        epochs: int. Training epochs of each model.
        units: int. LSTM width.
        embedding_dim: int. Word embedding width.
        attention: str. `"additive"` (finds an object by what it looks
            like) or `"linear"` (thesis eq. 3.2: a place chosen from the
            state alone).
        learning_rate: float. Adam's learning rate.
        attention_penalty: float. Weight of the doubly stochastic penalty;
            `0` (default, as every released script of the thesis's code)
            lets attention stay on a few objects, which the penalty's
            uniform target spreads over all locations (at 1, seed 0: 0.023
            on the named object, uniform 0.020).
        batch_size: int. Captions per batch.
        models: tuple of str. Names of `vidattn.models.CAPTION_MODELS`.
        beam_width: int. Beam width of the generated sentences.
        seed: int. Seeds the videos and the weights.

    Raises:
        ValueError: if a setting is out of range.
    """

    train_videos: int = 240
    validation_videos: int = 0
    test_videos: int = 60
    frames: int = 4
    objects_per_video: int = 3
    epochs: int = 12
    units: int = 128
    embedding_dim: int = 64
    attention: str = "additive"
    learning_rate: float = 3e-3
    attention_penalty: float = 0.0
    batch_size: int = 32
    models: tuple = ("soft_attention", "first_time_step")
    beam_width: int = 4
    seed: int = 0

    def __post_init__(self):
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if field.name == "seed":
                check_int(field.name, value)
            elif field.name == "validation_videos":
                check_non_negative_int(field.name, value)
            elif field.name == "attention":
                check_one_of(field.name, value, ("additive", "linear"))
            elif field.name == "learning_rate":
                check_positive_number(field.name, value)
            elif field.name == "attention_penalty":
                check_non_negative_number(field.name, value)
            elif field.name == "models":
                self.models = tuple(value)
                if not self.models:
                    raise ValueError(
                        "Expected at least one model name. Received: models=()"
                    )
                for name in self.models:
                    check_one_of("models", name, CAPTION_MODELS)
            else:
                check_positive_int(field.name, value)


def render_dataset(video_dir, settings):
    """Renders the splits to MP4 files; a video already on disk is kept.

    Returns:
        `(index, objects)`: the `DatasetIndex` of the videos with their
        sentences, and for each video id its objects
        (`RenderedCaptionVideos.objects`).
    """
    entries, objects = [], {}
    sizes = {
        "train": settings.train_videos,
        "validation": settings.validation_videos,
        "test": settings.test_videos,
    }
    for split, count in sizes.items():
        if not count:
            continue
        videos = render_caption_videos(
            count,
            frames=settings.frames,
            objects_per_video=settings.objects_per_video,
            fps=FPS,
            seed=SPLIT_SEEDS[split] + 10 * settings.seed,
        )
        for index in range(count):
            video_id = f"{split}_{index:04d}"
            path = os.path.join(video_dir, split, f"{video_id}.mp4")
            if not os.path.exists(path):
                write_video(path, videos.frames[index], FPS)
            entries.append(
                VideoEntry(
                    video_id, path, split, captions=videos.captions[index]
                )
            )
            objects[video_id] = videos.objects[index]
    return DatasetIndex(entries, name="rendered_captions"), objects


def _train(name, settings, tokenizer, train, validation, verbose):
    import keras

    from vidattn.models.caption_model_factory import build_video_captioner
    from vidattn.training.caption_inputs import caption_batches
    from vidattn.training.caption_training import caption_feature_metadata
    from vidattn.training.caption_training import records_sampling

    keras.utils.set_random_seed(settings.seed)
    model = build_video_captioner(
        name,
        tokenizer=tokenizer,
        units=settings.units,
        embedding_dim=settings.embedding_dim,
        attention=settings.attention,
        dropout=0.0,
        attention_penalty=settings.attention_penalty,
        weight_decay=0.0,
        # What `vidattn describe` needs to read new videos as these were.
        feature_metadata=caption_feature_metadata(
            train, records_sampling(train)
        ),
        seed=settings.seed,
    )
    model.compile(optimizer=keras.optimizers.Adam(settings.learning_rate))
    batches = caption_batches(
        train, tokenizer, settings.batch_size, seed=settings.seed
    )
    callbacks, validation_batches = [], None
    if validation is not None:
        validation_batches = caption_batches(
            validation, tokenizer, settings.batch_size, shuffle=False
        )
        callbacks.append(
            keras.callbacks.EarlyStopping(
                patience=settings.epochs, restore_best_weights=True
            )
        )
    model.fit(
        batches,
        epochs=settings.epochs,
        validation_data=validation_batches,
        callbacks=callbacks,
        verbose=verbose,
    )
    return model


def describe_test_videos(model, test, beam_width):
    """Generated sentences and attention for every video of a split.

    Returns:
        `(video_ids, captions, attention)`: lists of str and a float array
        `(videos, length, N, K, K)`.
    """
    videos = list(test.videos())
    features = np.stack([video["features"] for video in videos])
    result = model.generate(
        features.astype("float32"), beam_width=beam_width, max_length=30
    )
    return (
        [video["video_id"] for video in videos],
        result["captions"],
        result["attention"],
    )


def _score(references, candidates):
    """BLEU-1..4 and METEOR, or `({}, note)` without Java."""
    from vidattn.metrics.caption_metrics import caption_scores

    if shutil.which("java") is None:
        return {}, (
            "No scores: coco-caption's PTB tokenizer and METEOR need a "
            "`java` on PATH, and there is none."
        )
    metrics = ("bleu", "meteor")
    return caption_scores(references, candidates, metrics=metrics), None


def format_caption_check(summary):
    """The check's table for a person: scores, attention, examples.

    Args:
        summary: what `run_caption_check` returned.

    Returns:
        str, several lines.
    """
    lines = [
        f"{'model':<18}{'BLEU-1':>8}{'BLEU-2':>8}{'BLEU-3':>8}{'BLEU-4':>8}"
        f"{'METEOR':>8}   attention on the named object"
    ]
    for name, result in summary["results"].items():
        scores = result["scores"]
        row = f"{name:<18}" + "".join(
            f"{scores.get(key, float('nan')):>8.3f}"
            for key in ("BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4", "METEOR")
        )
        focus = result.get("attention")
        if focus is None:
            row += "   (attends at the first word only)"
        else:
            ratio = focus["named"] / focus["uniform"]
            row += (
                f"   {focus['named']:.3f} ({ratio:.1f}x "
                f"uniform {focus['uniform']:.3f}; other objects "
                f"{focus['other']:.3f})"
            )
        lines.append(row + f"   [{result['seconds']:.0f} s]")
    for name, result in summary["results"].items():
        lines.append(f"\n{name}, first held-out videos:")
        for example in result["examples"]:
            lines.append(f"  {example['video_id']}: {example['generated']}")
            lines.append(
                f"  {'':{len(example['video_id'])}}  reference: "
                f"{example['reference']}"
            )
    lines.extend(summary["notes"])
    lines.append(f"Total {summary['seconds']:.0f} s.")
    return "\n".join(lines)


def run_caption_check(output_dir, settings=None, verbose=0):
    """Runs the captioning check and returns its summary.

    Args:
        output_dir: str. Videos, features, models and `summary.json` go
            there; a rerun resumes.
        settings: a `CaptionCheckSettings`, or `None` for the defaults.
        verbose: int. Keras `fit` verbosity and progress of the stages.

    Returns:
        The dict that `summary.json` holds: `"settings"`; `"results"`, for
        each model name a dict with `"scores"` (`"BLEU-1"`..`"BLEU-4"`,
        `"METEOR"` when Java is there), `"attention"` (what
        `vidattn.datasets.attention_on_named_objects` returns; absent for
        `"first_time_step"`, whose attention serves the first word only)
        and `"examples"` (a few video ids with generated and reference
        sentences); `"notes"`, a list of str; and `"seconds"`.

    Raises:
        ValueError: if `settings` is not a `CaptionCheckSettings`.
    """
    from vidattn.backbones.efficientnet_lite0 import EfficientNetLite0Backbone
    from vidattn.extraction import FeatureExtractor
    from vidattn.training.caption_inputs import build_caption_tokenizer
    from vidattn.training.caption_inputs import caption_references

    settings = settings or CaptionCheckSettings()
    if not isinstance(settings, CaptionCheckSettings):
        raise ValueError(
            "Expected `settings` to be a CaptionCheckSettings. Received: "
            f"settings={settings!r}"
        )
    started = time.perf_counter()
    os.makedirs(output_dir, exist_ok=True)
    index, objects = render_dataset(
        os.path.join(output_dir, "videos"), settings
    )
    features_dir = os.path.join(output_dir, "features")
    extractor = FeatureExtractor(
        EfficientNetLite0Backbone(),
        sampling=FrameSampling.evenly_spaced(settings.frames, settings.frames),
        verbose=int(bool(verbose)),
        progress_interval=10.0,
    )
    extractor.extract_splits(index, features_dir)
    splits = {
        split: FeatureDataset(os.path.join(features_dir, split))
        for split, count in index.split_sizes().items()
        if count
    }
    tokenizer = build_caption_tokenizer(splits["train"])
    references = caption_references(splits["test"])
    results, notes = {}, []
    for name in settings.models:
        import keras

        model_path = os.path.join(output_dir, "models", f"{name}.keras")
        model_started = time.perf_counter()
        if os.path.exists(model_path):
            model = keras.models.load_model(model_path)
        else:
            model = _train(
                name,
                settings,
                tokenizer,
                splits["train"],
                splits.get("validation"),
                verbose,
            )
            with atomic_output_path(model_path, suffix=".keras") as temporary:
                model.save(temporary)
        video_ids, captions, attention = describe_test_videos(
            model, splits["test"], settings.beam_width
        )
        candidates = dict(zip(video_ids, captions))
        scores, note = _score(references, candidates)
        if note and note not in notes:
            notes.append(note)
        result = {
            "scores": scores,
            "examples": [
                {
                    "video_id": video_id,
                    "generated": candidates[video_id],
                    "reference": references[video_id][0],
                }
                for video_id in video_ids[:3]
            ],
        }
        if model.video_input == "every_step":
            ordered = [objects[video_id] for video_id in video_ids]
            result["attention"] = attention_on_named_objects(
                attention, captions, ordered
            )
        result["seconds"] = time.perf_counter() - model_started
        results[name] = result
    summary = {
        "settings": dataclasses.asdict(settings),
        "results": results,
        "notes": notes,
        "seconds": time.perf_counter() - started,
    }
    write_json_atomically(
        os.path.join(output_dir, SUMMARY_FILENAME), summary, indent=2
    )
    return summary
