"""Training and inference throughput of the paper-sized soft-attention model.

3 LSTM layers x 512 units, 7x7x1024 feature cubes, 30 steps, batch 32
(thesis section 2.2). Reports clips/s and the achieved GFLOP/s as a fraction
of this machine's float32 matmul GFLOP/s, measured in the same run.

    python benchmarks/action_recognizer_throughput.py            # one line
    python benchmarks/action_recognizer_throughput.py --sweep    # a line per variant
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras import ops  # noqa: E402

import vidattn  # noqa: E402


def matmul_gflops(size=2048, repeats=20):
    """The machine's float32 matmul GFLOP/s, best of a few runs."""
    a = tf.random.normal((size, size))
    b = tf.random.normal((size, size))
    run = tf.function(lambda: tf.reduce_sum(tf.matmul(a, b)))
    run()
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(repeats):
            run().numpy()
        best = min(best, (time.perf_counter() - start) / repeats)
    return 2 * size**3 / best / 1e9


def forward_flops(
    units, layers, locations, channels, frames, classes, attention
):
    """Multiply-adds x 2 of one clip's forward pass."""
    per_step = 2 * locations * channels  # eq. 2.5, the weighted sum
    if attention == "linear":
        per_step += 2 * units * locations
    else:
        per_step += 2 * locations * channels * units + 2 * units * units
        per_step += 2 * locations * units
    per_step += 2 * (channels + units) * 4 * units  # bottom layer, eq. 2.1
    per_step += (layers - 1) * 2 * (2 * units) * 4 * units
    per_step += 2 * units * units + 2 * units * classes  # the output head
    initial = 2 * channels * 2 * layers * units  # eq. 2.6
    return frames * per_step + initial


class SplitGatesCell(vidattn.layers.SoftAttentionLSTMCell):
    """Variant: the input and recurrent halves of the gates as two matmuls."""

    def call(self, inputs, states, training=False):
        top_hidden = states[2 * (self.num_layers - 1)]
        weights = ops.softmax(self.location_logits(inputs, top_hidden), axis=-1)
        layer_input = ops.einsum(
            "bl,bld->bd", ops.cast(weights, inputs.dtype), inputs
        )
        new_states = []
        for k in range(self.num_layers):
            hidden, cell = states[2 * k], states[2 * k + 1]
            kernel = self.kernels[k]
            split = kernel.shape[0] - self.units
            gates = (
                ops.matmul(layer_input, kernel[:split])
                + ops.matmul(hidden, kernel[split:])
                + self.biases[k]
            )
            i, f, g, o = ops.split(gates, 4, axis=-1)
            cell = ops.sigmoid(f) * cell + ops.sigmoid(i) * ops.tanh(g)
            hidden = ops.sigmoid(o) * ops.tanh(cell)
            new_states += [hidden, cell]
            layer_input = hidden
        return ops.concatenate(
            [hidden, ops.cast(weights, hidden.dtype)], -1
        ), new_states


def measure(
    args, unroll=False, jit_compile=False, split_gates=False, policy="float32"
):
    keras.mixed_precision.set_global_policy(policy)
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    shape = (args.batch, args.frames, args.grid, args.grid, args.channels)
    features = tf.constant(rng.random(shape, dtype=np.float32))
    labels = tf.constant(rng.integers(0, args.classes, args.batch))
    model = vidattn.models.ActionRecognizer(
        args.classes,
        units=args.units,
        num_layers=args.layers,
        attention=args.attention,
        unroll=unroll,
    )
    if split_gates:
        model.cell.__class__ = SplitGatesCell
    model.compile(jit_compile=jit_compile)

    def timed(step, repeats):
        step()  # trace and compile
        step()
        start = time.perf_counter()
        for _ in range(repeats):
            step()
        return (time.perf_counter() - start) / repeats

    train_seconds = timed(
        lambda: model.train_on_batch(features, labels), args.steps
    )
    infer_seconds = timed(lambda: model.predict_on_batch(features), args.steps)
    keras.backend.clear_session()
    return train_seconds, infer_seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--grid", type=int, default=7)
    parser.add_argument("--channels", type=int, default=1024)
    parser.add_argument("--units", type=int, default=512)
    parser.add_argument("--layers", type=int, default=3)
    parser.add_argument("--classes", type=int, default=11)
    parser.add_argument("--attention", default="linear")
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--sweep", action="store_true")
    args = parser.parse_args()

    flops = args.batch * forward_flops(
        args.units,
        args.layers,
        args.grid**2,
        args.channels,
        args.frames,
        args.classes,
        args.attention,
    )
    variants = [("default: while loop, fused gates, float32, no XLA", {})]
    if args.sweep:
        variants += [
            ("unroll=True", {"unroll": True}),
            ("jit_compile=True", {"jit_compile": True}),
            (
                "unroll=True + jit_compile",
                {"unroll": True, "jit_compile": True},
            ),
            ("split gate matmuls", {"split_gates": True}),
            ("mixed_bfloat16", {"policy": "mixed_bfloat16"}),
            (
                "mixed_bfloat16 + jit_compile",
                {"policy": "mixed_bfloat16", "jit_compile": True},
            ),
        ]
    for name, options in variants:
        # The peak is measured beside each variant: the machine is shared.
        peak_before = matmul_gflops()
        train_seconds, infer_seconds = measure(args, **options)
        peak = max(peak_before, matmul_gflops())
        # Training = forward + backward, about 3x the forward FLOPs.
        train_gflops = 3 * flops / train_seconds / 1e9
        infer_gflops = flops / infer_seconds / 1e9
        print(
            f"action_recognizer {args.layers}x{args.units} {args.grid}x{args.grid}x"
            f"{args.channels} T={args.frames} B={args.batch} [{name}]: "
            f"train {args.batch / train_seconds:.1f} clips/s "
            f"({train_gflops:.0f} GFLOP/s, {100 * train_gflops / peak:.0f}% of matmul "
            f"{peak:.0f} GFLOP/s); infer {args.batch / infer_seconds:.1f} clips/s "
            f"({100 * infer_gflops / peak:.0f}%)",
            flush=True,
        )


if __name__ == "__main__":
    main()
