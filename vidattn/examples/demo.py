"""The demo: the whole pipeline, from rendered video files to a served model.

1. Render the moving-region task (`vidattn.datasets.rendered_moving_region`) to
   MP4 files: the class is the shape inside a white ring. Every video holds
   two shapes of every class, one of each in a grey ring, on a cluttered
   background, and the shapes move: what is in the frame is the same for
   every class, only where the white ring is tells it (`RENDERED_TASK`).
2. Decode them with PyAV and extract 7x7x1280 EfficientNet-Lite0 feature
   cubes (the offline ImageNet backbone at 224x224) into TFRecord shards.
3. Train soft attention in both forms (the thesis's linear location
   softmax and the additive form of its released code, which sees the
   current frame) and the average-pooled LSTM baseline.
4. Evaluate all three under the thesis's protocol on held-out videos (the
   reports, with every video's predicted probabilities, go to
   `evaluation/<model>.json`).
5. Run both attention models over every held-out video
   (`vidattn.analysis.attend`), measure how much attention falls on the
   ringed shape, print the table of accuracy and attention beside uniform,
   and write the attention report of the additive model (PNG strips and an
   HTML page).
6. Export the additive attention model as a SavedModel for TF Serving.
7. Describe videos (thesis ch. 3): the captioning learning check
   (`vidattn.examples.caption_check`) renders clips of coloured shapes
   that move or stay still with templated sentences, extracts their
   features, trains the soft-attention captioner and STA-first-time-step,
   and scores both on held-out clips (BLEU-1..4, METEOR). A few held-out
   clips then go from their MP4 files through `vidattn describe`'s path
   (decode, backbone, captioner, beam search): their sentences, references
   and scores are printed, and the per-word attention report (thesis Figs.
   3.2-3.4) is written beside the action report, linked from it.

Every stage resumes: rerunning skips the videos already rendered and
extracted and the models already trained, and after a kill continues
training from the last finished epoch.
"""

import dataclasses
import json
import os
import time

import numpy as np

from vidattn.analysis.video_attention import attend
from vidattn.data.feature_dataset import FeatureDataset
from vidattn.data.importers.dataset_index import DatasetIndex
from vidattn.data.importers.video_entry import VideoEntry
from vidattn.data.video_reader import VideoReader
from vidattn.datasets.moving_region import attention_on_region
from vidattn.datasets.rendered_moving_region import render_moving_region_videos
from vidattn.datasets.rendered_moving_region import write_video
from vidattn.evaluation import evaluate_action_model
from vidattn.evaluation import format_report
from vidattn.training.action_training import train_action_model
from vidattn.training.run_folder import BEST_MODEL
from vidattn.training.training_config import TrainingConfig
from vidattn.utils.arguments import check_int
from vidattn.utils.arguments import check_non_negative_int
from vidattn.utils.arguments import check_positive_int
from vidattn.utils.atomic_write import write_json_atomically
from vidattn.visualization.attention_maps import write_attention_report

SPLIT_SIZES = {"train": 240, "validation": 60, "test": 100}
SPLIT_SEEDS = {"train": 1, "validation": 2, "test": 3}
FPS = 10
"""Frame rate of the rendered videos, of the stored features and of the
frames the attention report draws."""
ATTENTION_MODELS = ("soft_attention_linear", "soft_attention_additive")
REPORTED_MODEL = "soft_attention_additive"
# The rendered task. With the ringed shape alone among random distractors,
# averaging the frame's features told the class as well as looking did
# (1.000 held out): here the bag of shapes and rings is the same for every
# class, and pooling keeps only what the backbone binds of "white ring
# around this shape" inside one cell (see BUILD_NOTES.md).
RENDERED_TASK = dict(
    twins_per_class=2, num_distractors=0, decoy_rings=True, clutter=40
)


@dataclasses.dataclass
class DemoSettings:
    """Sizes of the demo; the defaults run in a few minutes on 2 CPU cores.

    Raises:
        ValueError: if a size is not a positive integer (`report_videos`:
            not a non-negative one).
    """

    train_videos: int = SPLIT_SIZES["train"]
    validation_videos: int = SPLIT_SIZES["validation"]
    test_videos: int = SPLIT_SIZES["test"]
    frames: int = 12
    window: int = 8
    stride: int = 2
    epochs: int = 10
    units: int = 128
    num_layers: int = 1
    report_videos: int = 8
    caption_train_videos: int = 240
    caption_test_videos: int = 60
    caption_epochs: int = 8
    shown_captions: int = 4
    seed: int = 0

    def __post_init__(self):
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if field.name == "seed":
                check_int(field.name, value)
            elif field.name in ("report_videos", "shown_captions"):
                check_non_negative_int(field.name, value)
            else:
                check_positive_int(field.name, value)


def format_results_table(summary):
    """The demo's table: each model's accuracy and where attention falls.

    Args:
        summary: the dict `run_demo` returns (its `"accuracy"`,
            `"attention_on_ring"` and `"uniform_attention"`).

    Returns:
        str. One row per model (held-out accuracy, attention on the ringed
        shape's cell and its multiple of uniform attention), then what the
        table shows, in words that follow the figures.
    """
    accuracy = summary["accuracy"]
    focus = summary["attention_on_ring"]
    uniform = summary["uniform_attention"]
    lines = [
        f"{'model':<26}{'held-out accuracy':>18}   attention on the ringed "
        f"shape (uniform {uniform:.3f})"
    ]
    for name, value in accuracy.items():
        looked = (
            f"{focus[name]:.3f} ({focus[name] / uniform:.1f}x uniform)"
            if name in focus
            else "- (pools all cells alike)"
        )
        lines.append(f"{name.replace('_', ' '):<26}{value:>18.3f}   {looked}")
    pooled = accuracy.get("average_pooled")
    best = max(focus, key=lambda name: accuracy[name])
    if pooled is not None:
        margin = accuracy[best] - pooled
        name = best.replace("_", " ")
        looks = f"{focus[best] / uniform:.1f}x uniform attention"
        if margin > 0:
            lines.append(
                f"The {name} model beats the average-pooled LSTM by "
                f"{margin:.3f} and puts {looks} on the ringed shape."
            )
        else:
            lines.append(
                f"The {name} model does not beat the average-pooled LSTM "
                f"here ({margin:+.3f}), with {looks} on the ringed shape: "
                "pooling the frame's features tells the class as well as "
                "looking does."
            )
    linear = focus.get("soft_attention_linear")
    if linear is not None and linear < 2 * uniform:
        lines.append(
            "The linear form (thesis eq. 2.4) picks where to look from the "
            "LSTM state alone, before it sees the frame, and the state does "
            "not know where the ring is: its attention stays near uniform."
        )
    return "\n".join(lines)


def _stage(message):
    print(f"\n== {message}", flush=True)


def _check_rendered_task(video_dir, task):
    path = os.path.join(video_dir, "task.json")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as file:
            recorded = json.load(file)
        if recorded != task:
            raise ValueError(
                f"Expected the videos in {video_dir} to show the demo's task "
                f"{task}. Received videos of {recorded} (recorded in {path}), "
                "from an earlier version or other settings. Run the demo "
                "with another --output_dir, or delete that folder to render "
                "again."
            )
    elif os.path.isdir(video_dir) and os.listdir(video_dir):
        raise ValueError(
            f"Expected {video_dir} to hold the demo's videos with their "
            f"task.json. Received a folder without it (videos of an earlier "
            "version of the demo, whose task differs). Run the demo with "
            "another --output_dir, or delete that folder to render again."
        )
    else:
        os.makedirs(video_dir, exist_ok=True)
        write_json_atomically(path, task)


def render_dataset(video_dir, settings):
    """Renders the three splits to MP4 files.

    A video already on disk is kept, so that a rerun skips it. The task the
    videos show is recorded in `task.json` beside them; videos of another
    task (another `RENDERED_TASK`, frame count or seed) are refused rather
    than mixed in.

    Returns:
        `(index, truth)`: the `DatasetIndex` of the videos, and for each
        video id the ringed shape's cell at every frame.

    Raises:
        ValueError: if `video_dir` holds videos of another task.
    """
    _check_rendered_task(
        video_dir,
        dict(RENDERED_TASK, frames=settings.frames, seed=settings.seed),
    )
    entries, truth = [], {}
    sizes = {
        "train": settings.train_videos,
        "validation": settings.validation_videos,
        "test": settings.test_videos,
    }
    class_names = None
    for split, count in sizes.items():
        videos = render_moving_region_videos(
            count,
            frames=settings.frames,
            fps=FPS,
            seed=SPLIT_SEEDS[split] + 10 * settings.seed,
            **RENDERED_TASK,
        )
        class_names = videos.class_names
        for index in range(count):
            video_id = f"{split}_{index:04d}"
            path = os.path.join(video_dir, split, f"{video_id}.mp4")
            if not os.path.exists(path):
                write_video(path, videos.frames[index], FPS)
            entries.append(
                VideoEntry(
                    video_id, path, split, labels=(int(videos.labels[index]),)
                )
            )
            truth[video_id] = videos.region[index]
    return DatasetIndex(
        entries, class_names=class_names, name="moving_region"
    ), truth


def _where_models_look(index, region_truth, test_dir, runs, settings):
    """Attention on the ringed shape, and the report's records."""
    import keras

    test_data = FeatureDataset(test_dir)
    paths = {entry.video_id: entry.path for entry in index.split("test")}
    models = {
        name: keras.models.load_model(runs[name]["best_model"])
        for name in ATTENTION_MODELS
    }
    focus = {name: [] for name in ATTENTION_MODELS}
    report_records = []
    for position, video in enumerate(test_data.videos()):
        video_id = video["video_id"]
        features = video["features"]
        frames = VideoReader(paths[video_id]).read(fps=FPS).frames
        truth = region_truth[video_id][: len(features)]
        for name, model in models.items():
            record = attend(
                model,
                frames[: len(features)],
                video_id,
                features=features,
                class_names=test_data.class_names,
                true=int(video["labels"][0]),
            )
            focus[name].append(
                attention_on_region(record.attention[None], truth[None])
            )
            if name == REPORTED_MODEL and position < settings.report_videos:
                report_records.append(record)
    return (
        {name: float(np.mean(values)) for name, values in focus.items()},
        report_records,
        test_data.grid_size,
    )


def describe_demo_videos(output_dir, report_dir, settings, backbone, verbose=1):
    """The demo's captioning part: the check, sentences and pictures.

    Runs `vidattn.examples.caption_check.run_caption_check` (resumable) in
    `output_dir`, then describes the first `settings.report_videos` held-out
    clips from their MP4 files with the soft-attention captioner
    (`vidattn.analysis.describe_videos`: decode, backbone, beam search),
    scores each sentence against its references, prints
    `settings.shown_captions` of them, and writes the per-word attention
    report to `report_dir`.

    Returns:
        A dict: `"output_dir"`, `"report_html"` and `"figures"` (each
        model's held-out scores, the soft model's attention on the named
        objects, and the described clips' sentences and scores).
    """
    import keras

    from vidattn.analysis.video_description import describe_videos
    from vidattn.analysis.video_description import description_record
    from vidattn.examples.caption_check import CaptionCheckSettings
    from vidattn.examples.caption_check import format_caption_check
    from vidattn.examples.caption_check import run_caption_check
    from vidattn.metrics.caption_metrics import caption_scores
    from vidattn.training.caption_inputs import caption_references
    from vidattn.visualization.caption_attention_maps import (
        write_caption_report,
    )

    check = run_caption_check(
        output_dir,
        CaptionCheckSettings(
            train_videos=settings.caption_train_videos,
            test_videos=settings.caption_test_videos,
            epochs=settings.caption_epochs,
            seed=settings.seed,
        ),
        verbose=verbose,
    )
    print(format_caption_check(check))
    references = caption_references(
        FeatureDataset(os.path.join(output_dir, "features", "test"))
    )
    video_ids = sorted(references)[: settings.report_videos]
    model = keras.models.load_model(
        os.path.join(output_dir, "models", "soft_attention.keras")
    )
    descriptions = describe_videos(
        model,
        [
            os.path.join(output_dir, "videos", "test", f"{video_id}.mp4")
            for video_id in video_ids
        ],
        backbone,
    )
    _, per_video = caption_scores(
        {video_id: references[video_id] for video_id in video_ids},
        {d["video_id"]: d["caption"] for d in descriptions},
        metrics=("bleu", "meteor"),
        per_video=True,
    )
    records = [
        dataclasses.replace(
            description_record(description),
            references=tuple(references[description["video_id"]]),
            scores={
                name: per_video[description["video_id"]][name]
                for name in ("BLEU-4", "METEOR")
            },
        )
        for description in descriptions
    ]
    print(
        "\nHeld-out clips described from their MP4 files (decode, "
        "backbone, captioner, beam search of width 4):"
    )
    for record in records[: settings.shown_captions]:
        print(
            f"  {record.video_id}: {record.sentence}\n"
            f"  {'':{len(record.video_id)}}  reference: "
            f"{record.references[0]}\n"
            f"  {'':{len(record.video_id)}}  BLEU-4 "
            f"{record.scores['BLEU-4']:.3f}, METEOR "
            f"{record.scores['METEOR']:.3f}"
        )
    report_html = write_caption_report(
        records,
        report_dir,
        title="vidattn demo: what the soft-attention captioner says, and "
        "where it looks for each word",
        links={"Where the action model looks": "../index.html"},
    )
    print(f"Per-word attention report: {report_html}")
    return {
        "output_dir": output_dir,
        "report_html": report_html,
        "figures": {
            "scores": {
                name: result["scores"]
                for name, result in check["results"].items()
            },
            # NaN (no object word in any sentence) is not JSON: null.
            "attention_on_named_object": {
                key: None
                if isinstance(value, float) and value != value
                else value
                for key, value in check["results"]["soft_attention"][
                    "attention"
                ].items()
            },
            "described": {
                record.video_id: {
                    "sentence": record.sentence,
                    "references": list(record.references),
                    **record.scores,
                }
                for record in records
            },
        },
    }


def run_demo(output_dir, settings=None, verbose=2):
    """Runs the demo and returns a summary dict of results and paths.

    Args:
        output_dir: str. Where everything goes; a rerun resumes there.
        settings: a `DemoSettings`, or `None` for the defaults.
        verbose: Keras `fit` verbosity.

    Returns:
        The summary that `summary.json` holds: `"seconds"`, `"paths"`,
        held-out `"accuracy"` of each model, `"attention_on_ring"` of the
        attention models and `"uniform_attention"` for comparison,
        `"best_models"`, and `"captioning"` (see `describe_demo_videos`).
    """
    import keras

    from vidattn.backbones.efficientnet_lite0 import EfficientNetLite0Backbone
    from vidattn.export.saved_model_exporter import export_action_model
    from vidattn.extraction import FeatureExtractor

    settings = settings or DemoSettings()
    started = time.perf_counter()
    os.makedirs(output_dir, exist_ok=True)
    paths = {
        "videos": os.path.join(output_dir, "videos"),
        "features": os.path.join(output_dir, "features"),
        "runs": os.path.join(output_dir, "runs"),
        "evaluation": os.path.join(output_dir, "evaluation"),
        "report": os.path.join(output_dir, "attention_report"),
        "export": os.path.join(output_dir, "export", "moving_region", "1"),
    }

    _stage(
        "1/7 Rendering videos: the class is the shape inside the white "
        "ring, among twins of every class in grey rings and clutter"
    )
    index, region_truth = render_dataset(paths["videos"], settings)
    index.to_json(os.path.join(output_dir, "index.json"))
    sizes = ", ".join(f"{k}: {v}" for k, v in index.split_sizes().items())
    print(f"{len(index)} MP4 files in {paths['videos']} ({sizes})")

    _stage(
        "2/7 Extracting EfficientNet-Lite0 features (ImageNet weights, "
        "224x224 -> 7x7x1280)"
    )
    backbone = EfficientNetLite0Backbone()
    extractor = FeatureExtractor(
        backbone, sampling=FPS, verbose=1, progress_interval=5.0
    )
    for split, summary in extractor.extract_splits(
        index, paths["features"]
    ).items():
        print(f"  {summary}")

    window_options = dict(window=settings.window, stride=settings.stride)
    candidates = (
        ("soft_attention_linear", dict(model="attention", attention="linear")),
        (
            "soft_attention_additive",
            dict(model="attention", attention="additive"),
        ),
        ("average_pooled", dict(model="average_pooled")),
    )
    results = {}
    for name, choice in candidates:
        _stage(
            f"3/7 Training {name.replace('_', ' ')} ({settings.epochs} epochs)"
        )
        config = TrainingConfig(
            units=settings.units,
            num_layers=settings.num_layers,
            dropout=0.5,
            learning_rate=2e-3,
            batch_size=32,
            epochs=settings.epochs,
            seed=settings.seed,
            **choice,
            **window_options,
        )
        run_dir = os.path.join(paths["runs"], name)
        train_action_model(
            config,
            os.path.join(paths["features"], "train"),
            os.path.join(paths["features"], "validation"),
            run_dir,
            verbose=verbose,
        )
        results[name] = {
            "run": run_dir,
            "best_model": os.path.join(run_dir, BEST_MODEL),
        }

    _stage("4/7 Evaluating on held-out videos (thesis protocol)")
    test_dir = os.path.join(paths["features"], "test")
    for name, result in results.items():
        report = evaluate_action_model(
            result["best_model"],
            test_dir,
            window=settings.window,
            stride=settings.stride,
        )
        result["report"] = report
        write_json_atomically(
            os.path.join(paths["evaluation"], f"{name}.json"), report
        )
        print(f"[{name}]")
        print(format_report(report))

    _stage(
        "5/7 Where the models look: attention on the ringed shape, and the "
        "report"
    )
    attention_on_ring, report_records, grid = _where_models_look(
        index, region_truth, test_dir, results, settings
    )
    figures = {
        "accuracy": {
            name: r["report"]["scores"]["accuracy"]
            for name, r in results.items()
        },
        "attention_on_ring": attention_on_ring,
        "uniform_attention": 1.0 / grid**2,
    }
    print(format_results_table(figures))
    index_html = write_attention_report(
        report_records,
        paths["report"],
        title="vidattn demo: where soft attention (additive) looks",
        links={"What the captioner says, word by word": "captions/index.html"},
    )
    print(f"Report: {index_html}")

    _stage(
        "6/7 Exporting the additive soft-attention model (SavedModel for TF "
        "Serving)"
    )
    additive = keras.models.load_model(results[REPORTED_MODEL]["best_model"])
    export_action_model(additive, paths["export"], overwrite=True)
    print(
        f"SavedModel: {paths['export']}  "
        f"(saved_model_cli show --all --dir {paths['export']})"
    )

    _stage(
        "7/7 Describing videos (thesis ch. 3): soft attention against "
        "STA-first-time-step on clips of moving shapes"
    )
    captions = describe_demo_videos(
        os.path.join(output_dir, "captions"),
        os.path.join(paths["report"], "captions"),
        settings,
        backbone,
        verbose=int(bool(verbose)),
    )

    summary = {
        "seconds": time.perf_counter() - started,
        "paths": dict(
            paths,
            report_html=index_html,
            captions=captions["output_dir"],
            caption_report_html=captions["report_html"],
        ),
        **figures,
        "captioning": captions["figures"],
        "best_models": {name: r["best_model"] for name, r in results.items()},
    }
    write_json_atomically(
        os.path.join(output_dir, "summary.json"), summary, indent=2
    )
    return summary
