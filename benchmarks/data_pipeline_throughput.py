"""Throughput of the training-window pipeline against the raw TFRecord read.

Writes a synthetic dataset of realistic size with `vidattn.data.ShardWriter`
(default: 200 videos x 120 frames x 7x7x1024 float16, about 2.4 GB) in a
temporary folder, opens it with `vidattn.data.FeatureDataset` (checksums
verified), then measures on the same files:

- the raw read: `tf.data.TFRecordDataset` over all shards, only summing the
  record lengths;
- training windows (30 frames, stride 1, shuffled, batch 32, as `vidattn
  train` asks for them) in alternating rounds of `--seconds` each:
  `FeatureDataset.windows()` in float32 and in float16, and the pipeline it
  replaced (commit 78d699e: one gather per window, a shuffle buffer of
  windows, then batch and cast), in windows/s, with the process's user and
  kernel CPU seconds per window;
- unless `--train-steps 0`, the training rate of the paper-sized
  `vidattn.models.ActionRecognizer` (3 x 512, float32) on random data of
  the same shape, `train_on_batch` in the same process, and the headroom:
  windows/s over clips/s. The GPU rates of BUILD_NOTES (3,630 clips/s at
  batch 32, 14,600 at batch 256, Keras-JAX on an H200) are compared too.

The files were just written, so the reads come from the page cache: the
comparison is of the pipeline's CPU cost, not of a disk. Prints one line
per measurement and a summary.

    PYTHONPATH=. python benchmarks/data_pipeline_throughput.py
    PYTHONPATH=. python benchmarks/data_pipeline_throughput.py \
        --videos 50 --frames 60 --seconds 10 --rounds 1
"""

import argparse
import os
import resource
import shutil
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import vidattn  # noqa: E402
from vidattn.data import FeatureDataset  # noqa: E402
from vidattn.data import ShardWriter  # noqa: E402
from vidattn.data.feature_dataset import _window_plan  # noqa: E402

LEGACY = "78d699e float32"
GPU_CLIPS_PER_S = {"H200 batch 32": 3630, "H200 batch 256": 14600}


def write_dataset(directory, videos, frames, grid, channels, seed=0):
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(frames, grid, grid, channels)).astype("float16")
    classes = [f"class_{i}" for i in range(11)]
    with ShardWriter(
        directory,
        backbone="synthetic",
        layer="none",
        input_size=(224, 224),
        grid_size=grid,
        channels=channels,
        class_names=classes,
        stored_fps=30.0,
    ) as writer:
        for i in range(videos):
            # Distinct records without paying for fresh random numbers.
            features = np.roll(base, i, axis=0) + np.float16(i % 5)
            writer.write(f"video_{i:05d}", features, labels=i % len(classes))
    return writer.manifest


def raw_read(paths):
    records = tf.data.TFRecordDataset(
        paths, num_parallel_reads=tf.data.AUTOTUNE
    )
    lengths = records.map(
        lambda record: tf.cast(tf.strings.length(record), tf.int64)
    )
    start = time.perf_counter()
    total = int(lengths.reduce(tf.constant(0, tf.int64), lambda a, b: a + b))
    return total, time.perf_counter() - start


def legacy_windows(
    data, batch_size, window_length, dtype, shuffle_buffer_size=256
):
    """`FeatureDataset.windows()` as of commit 78d699e (for comparison).

    Each window is gathered out of its video on its own, shuffled in a
    buffer of windows, copied into a batch, then cast.
    """
    videos = data._records(
        shuffle=True, seed=None, deterministic=False, cycle_length=8
    )

    def plan(video):
        starts, indices = _window_plan(
            video["num_frames"], window_length, 1, 1, video["padding_frames"]
        )
        reference = {"features": video["features"], "label": video["label"]}
        return tf.data.Dataset.from_tensor_slices((starts, indices)).map(
            lambda start, frames: (reference, start, frames)
        )

    windows = videos.interleave(plan, cycle_length=8, block_length=1)
    windows = windows.map(
        lambda reference, start, frames: (
            {"features": tf.gather(reference["features"], frames)},
            reference["label"],
        ),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=False,
    )
    windows = windows.shuffle(shuffle_buffer_size).batch(batch_size)
    windows = windows.map(
        lambda inputs, label: (
            {"features": tf.cast(inputs["features"], dtype)},
            label,
        ),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    return windows.prefetch(tf.data.AUTOTUNE)


def measure_windows(dataset, seconds):
    """Windows/s and CPU seconds (user, kernel) per window over `seconds`."""
    iterator = iter(dataset)
    start = time.perf_counter()
    next(iterator)
    first_batch_s = time.perf_counter() - start
    count = 0
    cpu = os.times()
    start = time.perf_counter()
    for inputs, _ in iterator:
        count += int(inputs["features"].shape[0])
        if time.perf_counter() - start > seconds:
            break
    elapsed = time.perf_counter() - start
    used = os.times()
    return {
        "windows_per_s": count / elapsed,
        "user_ms": (used.user - cpu.user) / count * 1e3,
        "kernel_ms": (used.system - cpu.system) / count * 1e3,
        "first_batch_s": first_batch_s,
    }


def training_rate(args, steps):
    """Clips/s of `train_on_batch` of the paper-sized action model."""
    rng = np.random.default_rng(0)
    shape = (args.batch_size, args.window, args.grid, args.grid, args.channels)
    features = tf.constant(rng.random(shape, dtype=np.float32))
    labels = tf.constant(rng.integers(0, 11, args.batch_size))
    model = vidattn.models.ActionRecognizer(11, units=512, num_layers=3)
    model.compile()
    model.train_on_batch(features, labels)
    model.train_on_batch(features, labels)
    start = time.perf_counter()
    for _ in range(steps):
        model.train_on_batch(features, labels)
    return args.batch_size * steps / (time.perf_counter() - start)


VARIANTS = {
    LEGACY: lambda data, args: legacy_windows(
        data, args.batch_size, args.window, "float32"
    ),
    "windows() float32": lambda data, args: data.windows(
        args.batch_size, window_length=args.window
    ),
    "windows() float16": lambda data, args: data.windows(
        args.batch_size, window_length=args.window, dtype="float16"
    ),
}


def ratios(rates, reference):
    """`name rate (rate / reference x)` for each variant, or the legacy's."""
    if isinstance(reference, str):
        reference = rates.get(reference)
    return ", ".join(
        f"{name} {rate:.0f}"
        + (f" ({rate / reference:.2f}x)" if reference else "")
        for name, rate in rates.items()
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--videos", type=int, default=200)
    parser.add_argument("--frames", type=int, default=120)
    parser.add_argument("--grid", type=int, default=7)
    parser.add_argument("--channels", type=int, default=1024)
    parser.add_argument("--window", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--train-steps", type=int, default=5)
    parser.add_argument(
        "--variants",
        default=",".join(VARIANTS),
        help=f"comma-separated, from {', '.join(VARIANTS)}",
    )
    parser.add_argument("--dir", default=None, help="parent of the temp folder")
    args = parser.parse_args()

    root = tempfile.mkdtemp(prefix="vidattn_bench_", dir=args.dir)
    directory = os.path.join(root, "train")
    try:
        start = time.perf_counter()
        manifest = write_dataset(
            directory, args.videos, args.frames, args.grid, args.channels
        )
        write_s = time.perf_counter() - start
        total_bytes = sum(s["num_bytes"] for s in manifest["shards"])

        start = time.perf_counter()
        data = FeatureDataset(directory, verify_checksums=True)
        open_s = time.perf_counter() - start

        raw_bytes, raw_s = raw_read(list(data.shard_paths))
        raw_mb_s = raw_bytes / raw_s / 1e6
        total_windows = data.num_windows(args.window)
        rss_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
        print(
            f"data: {args.videos} videos x {args.frames} frames x "
            f"{args.grid}x{args.grid}x{args.channels} float16 = "
            f"{total_bytes / 1e9:.2f} GB in {len(manifest['shards'])} shards, "
            f"{total_windows} windows of {args.window} frames; write "
            f"{total_bytes / write_s / 1e6:.0f} MB/s, open+SHA-256 "
            f"{open_s:.1f} s; raw TFRecord read {raw_mb_s:.0f} MB/s; peak RSS "
            f"so far {rss_gb:.2f} GB",
            flush=True,
        )

        variants = {name: VARIANTS[name] for name in args.variants.split(",")}
        results = {name: [] for name in variants}
        for round_index in range(args.rounds):
            for name, build in variants.items():
                result = measure_windows(build(data, args), args.seconds)
                results[name].append(result)
                print(
                    f"round {round_index + 1} {name}: "
                    f"{result['windows_per_s']:.0f} windows/s, CPU per "
                    f"window {result['user_ms']:.2f} ms user + "
                    f"{result['kernel_ms']:.2f} ms kernel, first batch "
                    f"{result['first_batch_s']:.1f} s; load "
                    f"{os.getloadavg()[0]:.2f}",
                    flush=True,
                )
        best = {
            name: max(r["windows_per_s"] for r in rounds)
            for name, rounds in results.items()
        }
        peak_rss_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
        print(
            f"best windows/s (batch {args.batch_size}, stride 1, shuffled): "
            f"{ratios(best, LEGACY)}; peak RSS {peak_rss_gb:.2f} GB "
            f"({os.cpu_count()} CPUs, page cache warm)",
            flush=True,
        )
        if args.train_steps:
            clips = training_rate(args, args.train_steps)
            print(
                f"ActionRecognizer (3 x 512) float32 train_on_batch: "
                f"{clips:.1f} clips/s; windows/s over it: "
                f"{ratios(best, clips)}; load {os.getloadavg()[0]:.2f}",
                flush=True,
            )
        for gpu, clips in GPU_CLIPS_PER_S.items():
            print(
                f"windows/s over {gpu} ({clips} clips/s): {ratios(best, clips)}"
            )
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
