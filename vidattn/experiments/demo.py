"""The demo: the whole pipeline, from rendered video files to a served model.

1. Render the moving-region task (`vidattn.datasets.rendered_moving_region`) to
   MP4 files: the class is the shape inside a white ring that moves among
   the other shapes.
2. Decode them with PyAV and extract 7x7x1280 EfficientNet-Lite0 feature
   cubes (the offline ImageNet backbone at 224x224) into TFRecord shards.
3. Train soft attention in both forms (the thesis's linear location
   softmax and the additive form of its released code, which sees the
   current frame) and the average-pooled LSTM baseline.
4. Evaluate both under the thesis's protocol on held-out videos.
5. Measure how much attention falls on the ringed shape and write the
   attention report of the additive model (PNG strips and an HTML page).
6. Export the additive attention model as a SavedModel for TF Serving.

Every stage resumes: rerunning after a kill skips the videos already
rendered and extracted and continues training from the last finished epoch.
"""

import dataclasses
import json
import os
import time

import numpy as np

from vidattn.data.feature_dataset import FeatureDataset
from vidattn.data.importers.dataset_index import DatasetIndex
from vidattn.data.importers.video_entry import VideoEntry
from vidattn.data.video_reader import VideoReader
from vidattn.datasets.moving_region import attention_on_region
from vidattn.datasets.rendered_moving_region import render_moving_region_videos
from vidattn.datasets.rendered_moving_region import write_video
from vidattn.training.action_training import evaluate_action_model
from vidattn.training.action_training import format_report
from vidattn.training.action_training import train_action_model
from vidattn.training.training_config import TrainingConfig
from vidattn.visualization.attention_maps import write_attention_report

SPLIT_SIZES = {"train": 240, "validation": 60, "test": 100}
SPLIT_SEEDS = {"train": 1, "validation": 2, "test": 3}


@dataclasses.dataclass
class DemoSettings:
    """Sizes of the demo; the defaults run in a few minutes on 2 CPU cores."""

    train_videos: int = SPLIT_SIZES["train"]
    validation_videos: int = SPLIT_SIZES["validation"]
    test_videos: int = SPLIT_SIZES["test"]
    frames: int = 12
    window: int = 8
    stride: int = 2
    epochs: int = 12
    units: int = 128
    num_layers: int = 1
    report_videos: int = 8
    seed: int = 0


def _stage(message):
    print(f"\n== {message}", flush=True)


def render_dataset(video_dir, settings):
    """Renders the three splits to MP4 files; returns the index and the truth."""
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
            seed=SPLIT_SEEDS[split] + 10 * settings.seed,
        )
        class_names = videos.class_names
        for index in range(count):
            video_id = f"{split}_{index:04d}"
            path = os.path.join(video_dir, split, f"{video_id}.mp4")
            if not os.path.exists(path):
                write_video(path, videos.frames[index], videos.fps)
            entries.append(
                VideoEntry(
                    video_id, path, split, labels=(int(videos.labels[index]),)
                )
            )
            truth[video_id] = videos.region[index]
    return DatasetIndex(
        entries, class_names=class_names, name="moving_region"
    ), truth


def run_demo(output_dir, settings=None, verbose=2):
    """Runs the demo and returns a summary dict of results and paths."""
    import keras

    from vidattn.backbones.efficientnet_lite0 import EfficientNetLite0Backbone
    from vidattn.data.feature_extractor import FeatureExtractor
    from vidattn.export.saved_model_exporter import export_action_model

    settings = settings or DemoSettings()
    started = time.perf_counter()
    os.makedirs(output_dir, exist_ok=True)
    paths = {
        "videos": os.path.join(output_dir, "videos"),
        "features": os.path.join(output_dir, "features"),
        "runs": os.path.join(output_dir, "runs"),
        "report": os.path.join(output_dir, "attention_report"),
        "export": os.path.join(output_dir, "export", "moving_region", "1"),
    }

    _stage(
        "1/6 Rendering videos: the class is the shape inside the moving white ring"
    )
    index, region_truth = render_dataset(paths["videos"], settings)
    index.to_json(os.path.join(output_dir, "index.json"))
    print(
        f"{len(index)} MP4 files in {paths['videos']} ({', '.join(f'{k}: {v}' for k, v in index.split_sizes().items())})"
    )

    _stage(
        "2/6 Extracting EfficientNet-Lite0 features (ImageNet weights, 224x224 -> 7x7x1280)"
    )
    backbone = EfficientNetLite0Backbone()
    extractor = FeatureExtractor(
        backbone, sampling=10, verbose=1, progress_interval=5.0
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
            f"3/6 Training {name.replace('_', ' ')} ({settings.epochs} epochs)"
        )
        config = TrainingConfig(
            units=settings.units,
            num_layers=settings.num_layers,
            dropout=0.3,
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
            "best_model": os.path.join(run_dir, "best.keras"),
        }

    _stage("4/6 Evaluating on held-out videos (thesis protocol)")
    test_dir = os.path.join(paths["features"], "test")
    for name, result in results.items():
        report = evaluate_action_model(
            result["best_model"],
            test_dir,
            window=settings.window,
            stride=settings.stride,
        )
        result["report"] = report
        print(f"[{name}]")
        print(format_report(report))

    _stage(
        "5/6 Where the models look: attention on the ringed shape, and the report"
    )
    test_data = FeatureDataset(test_dir)
    entries = {entry.video_id: entry for entry in index.split("test")}
    class_names = list(test_data.class_names)
    grid = test_data.grid_size
    report_videos = []
    for name in ("soft_attention_linear", "soft_attention_additive"):
        model = keras.models.load_model(results[name]["best_model"])
        focus = []
        for position, video in enumerate(test_data.videos()):
            video_id = video["video_id"]
            features = video["features"][None].astype("float32")
            outputs = model.predict_on_batch(features)
            truth = region_truth[video_id][: features.shape[1]]
            focus.append(attention_on_region(outputs["attention"], truth[None]))
            if name.endswith("additive") and position < settings.report_videos:
                frames = (
                    VideoReader(entries[video_id].path)
                    .read(fps=10)
                    .frames[: features.shape[1]]
                )
                predicted = int(outputs["probabilities"][0].argmax())
                report_videos.append(
                    {
                        "video_id": video_id,
                        "frames": frames,
                        "attention": outputs["attention"][0],
                        "predicted": class_names[predicted],
                        "true": class_names[int(video["labels"][0])],
                        "confidence": float(
                            outputs["probabilities"][0, predicted]
                        ),
                    }
                )
        results[name]["attention_on_ring"] = float(np.mean(focus))
        print(
            f"{name}: attention on the ringed shape's cell, all test videos and frames: "
            f"{np.mean(focus):.3f} (uniform {1 / grid**2:.3f})"
        )
    index_html = write_attention_report(
        report_videos,
        paths["report"],
        title="vidattn demo: where soft attention (additive) looks",
    )
    print(f"Report: {index_html}")

    _stage(
        "6/6 Exporting the additive soft-attention model (SavedModel for TF Serving)"
    )
    additive = keras.models.load_model(
        results["soft_attention_additive"]["best_model"]
    )
    export_action_model(additive, paths["export"], overwrite=True)
    print(
        f"SavedModel: {paths['export']}  (saved_model_cli show --all --dir {paths['export']})"
    )

    summary = {
        "seconds": time.perf_counter() - started,
        "paths": dict(paths, report_html=index_html),
        "accuracy": {
            name: r["report"]["scores"]["accuracy"]
            for name, r in results.items()
        },
        "attention_on_ring": {
            name: r["attention_on_ring"]
            for name, r in results.items()
            if "attention_on_ring" in r
        },
        "uniform_attention": 1.0 / grid**2,
        "best_models": {name: r["best_model"] for name, r in results.items()},
    }
    with open(
        os.path.join(output_dir, "summary.json.tmp"), "w", encoding="utf-8"
    ) as file:
        json.dump(summary, file, indent=2)
    os.replace(
        os.path.join(output_dir, "summary.json.tmp"),
        os.path.join(output_dir, "summary.json"),
    )
    return summary
