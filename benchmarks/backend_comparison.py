"""Training and inference throughput of one model under TensorFlow and JAX.

The paper-sized action model (3 x 512 LSTM, 7x7x1024 cubes, 30 steps, batch
32, as `action_recognizer_throughput.py`) is built once in a worker process
per Keras backend (the backend is fixed when Keras loads, so one process
cannot hold both). The parent asks the workers for a round of timed steps in
turn and measures the float32 matmul peak between rounds, so that a load
shared with other work on the machine weighs on every backend alike.

    python benchmarks/backend_comparison.py
    python benchmarks/backend_comparison.py --policy mixed_bfloat16
    python benchmarks/backend_comparison.py --implementation autodiff

Prints each round, then one summary line: each backend's median clips/s,
its share of the peak, and JAX's median ratio to TensorFlow.
"""

import argparse
import json
import os
import subprocess
import sys

import numpy as np
from action_recognizer_throughput import add_model_arguments

BACKENDS = ("tensorflow", "jax")


def worker(args):
    """Builds the model, then times one round per line read from stdin."""
    import keras
    from action_recognizer_throughput import make_model
    from action_recognizer_throughput import timed

    model, features, labels = make_model(
        args, policy=args.policy, implementation=args.implementation
    )
    steps = {
        "train": lambda: model.train_on_batch(features, labels),
        "infer": lambda: model.predict_on_batch(features),
    }
    for step in steps.values():
        step()  # trace and compile
    print(json.dumps({"ready": keras.backend.backend()}), flush=True)
    for _ in sys.stdin:
        print(
            json.dumps(
                {mode: timed(step, args.steps) for mode, step in steps.items()}
            ),
            flush=True,
        )


def start_worker(backend, argv):
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
    process = subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), "--worker", *argv],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    ready = json.loads(process.stdout.readline())
    if ready.get("ready") != backend:
        raise RuntimeError(f"Expected a {backend} worker. Received: {ready}")
    return process


def ask_round(process):
    process.stdin.write("round\n")
    process.stdin.flush()
    return json.loads(process.stdout.readline())


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    add_model_arguments(parser)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--policy", default="float32")
    parser.add_argument("--implementation", default="sequence_gradient")
    parser.add_argument("--worker", action="store_true")
    args = parser.parse_args()
    if args.worker:
        return worker(args)

    from action_recognizer_throughput import clip_flops
    from machine_peak import matmul_gflops

    argv = [arg for arg in sys.argv[1:] if arg != "--worker"]
    # One at a time: each compiles on every core.
    workers = {backend: start_worker(backend, argv) for backend in BACKENDS}
    seconds = {(b, m): [] for b in BACKENDS for m in ("train", "infer")}
    peaks = []
    for index in range(args.rounds):
        peaks.append(matmul_gflops())
        for backend, process in workers.items():
            for mode, value in ask_round(process).items():
                seconds[(backend, mode)].append(value)
        print(
            f"round {index + 1}: peak {peaks[-1]:.0f} GFLOP/s; "
            + "; ".join(
                f"{b} {m} {args.batch / v[-1]:.1f} clips/s"
                for (b, m), v in seconds.items()
            ),
            flush=True,
        )
    for process in workers.values():
        process.stdin.close()
        process.wait()

    flops = args.batch * clip_flops(args)
    peak = max(peaks)
    parts = []
    for (backend, mode), values in seconds.items():
        median = float(np.median(values))
        work = (3 if mode == "train" else 1) * flops
        share = 100 * work / median / 1e9 / peak
        parts.append(
            f"{backend} {mode} {args.batch / median:.1f} clips/s "
            f"({share:.0f}% of peak)"
        )
    ratios = {
        mode: float(
            np.median(
                np.array(seconds[("tensorflow", mode)])
                / np.array(seconds[("jax", mode)])
            )
        )
        for mode in ("train", "infer")
    }
    print(
        f"{args.layers}x{args.units} {args.grid}x{args.grid}x{args.channels} "
        f"T={args.frames} B={args.batch} {args.attention} {args.policy} "
        f"{args.implementation}, float32 matmul peak {peak:.0f} GFLOP/s: "
        + "; ".join(parts)
        + f"; jax/tensorflow train {ratios['train']:.2f}x, "
        f"infer {ratios['infer']:.2f}x",
        flush=True,
    )


if __name__ == "__main__":
    main()
