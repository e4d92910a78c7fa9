"""Throughput of the training-window pipeline against the raw TFRecord read.

Writes a synthetic dataset of realistic size with `vidattn.data.ShardWriter`
(default: 200 videos x 120 frames x 7x7x1024 float16, about 2.4 GB) in a
temporary folder, opens it with `vidattn.data.FeatureDataset` (checksums
verified), then measures on the same files:

- the raw read: `tf.data.TFRecordDataset` over all shards, only summing the
  record lengths;
- the training pipeline: `FeatureDataset.windows()` (30-frame windows,
  stride 1, shuffled, batch 32, float32 features), in windows/s, in GB/s of
  float32 windows produced, and in MB/s of records consumed, for at most
  `--seconds` seconds after the first batch.

The files were just written, so both reads come from the page cache: the
comparison is of the pipeline's CPU cost, not of a disk. Prints ONE line.

    PYTHONPATH=. python benchmarks/data_pipeline_throughput.py
    PYTHONPATH=. python benchmarks/data_pipeline_throughput.py \
        --videos 50 --frames 60 --seconds 10
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

from vidattn.data import FeatureDataset  # noqa: E402
from vidattn.data import ShardWriter  # noqa: E402


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


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--videos", type=int, default=200)
    parser.add_argument("--frames", type=int, default=120)
    parser.add_argument("--grid", type=int, default=7)
    parser.add_argument("--channels", type=int, default=1024)
    parser.add_argument("--window", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=45.0)
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
        windows = data.windows(args.batch_size, window_length=args.window)
        iterator = iter(windows)
        start = time.perf_counter()
        inputs, _ = next(iterator)
        first_batch_s = time.perf_counter() - start
        count = 0
        start = time.perf_counter()
        for inputs, _ in iterator:
            count += int(inputs["features"].shape[0])
            if time.perf_counter() - start > args.seconds:
                break
        window_s = time.perf_counter() - start
        window_bytes = args.window * args.grid**2 * args.channels * 4
        windows_per_s = count / window_s
        window_gb_s = windows_per_s * window_bytes / 1e9
        # Each video's windows consume its record once.
        record_mb_s = windows_per_s * total_bytes / total_windows / 1e6
        peak_rss_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6

        print(
            f"data_pipeline_throughput: {args.videos} videos x {args.frames} "
            f"frames x {args.grid}x{args.grid}x{args.channels} float16 = "
            f"{total_bytes / 1e9:.2f} GB in {len(manifest['shards'])} shards "
            f"(write {total_bytes / write_s / 1e6:.0f} MB/s, open+SHA-256 "
            f"{open_s:.1f} s); raw TFRecord read {raw_mb_s:.0f} MB/s; "
            f"training windows ({args.window} frames, stride 1, shuffled, "
            f"batch {args.batch_size}, float32): {windows_per_s:.0f} "
            f"windows/s = {window_gb_s:.2f} GB/s of windows = "
            f"{record_mb_s:.0f} MB/s of records ({record_mb_s / raw_mb_s:.1%} "
            f"of raw), {count}/{total_windows} windows in {window_s:.1f} s, "
            f"first batch {first_batch_s:.1f} s; peak RSS {peak_rss_gb:.2f} GB "
            f"({os.cpu_count()} CPUs, page cache warm)"
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
