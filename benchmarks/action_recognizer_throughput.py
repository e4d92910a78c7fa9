"""Training and inference throughput of the paper-sized soft-attention model.

3 LSTM layers x 512 units, 7x7x1024 feature cubes, 30 steps, batch 32
(thesis section 2.2). Reports clips/s and the achieved GFLOP/s as a fraction
of this machine's float32 matmul GFLOP/s, measured in the same run.

    python benchmarks/action_recognizer_throughput.py          # one line
    python benchmarks/action_recognizer_throughput.py --sweep  # per variant
    python benchmarks/action_recognizer_throughput.py --compare_rnn_path
    python benchmarks/action_recognizer_throughput.py --compare_implementations

`--compare_implementations` times training and inference of the model on
the earlier default code path (`implementation="autodiff"`, the code path
of commit cdbbf6c: the backend differentiates the scan) against the
recurrence with a hand-written sequence-level backward pass
(`implementation="sequence_gradient"`, the default now), in float32 and
mixed_bfloat16, in alternating rounds in one process, with the float32
matmul peak measured between rounds.

`--compare_rnn_path` times the training step of the model as it is
(`vidattn.layers.SoftAttentionLSTM`, float32 attention outputs) against
the code path of the versions before it: `keras.layers.RNN` over the cell,
whose single output per step is `[h_top(t), l_t]` in the compute dtype.
Both models live in one process and are timed in alternating rounds, so
that a load shared with other work on the machine weighs on both alike.
"""

import argparse
import functools
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import ops  # noqa: E402
from machine_peak import matmul_gflops  # noqa: E402

import vidattn  # noqa: E402


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


def clip_flops(args):
    """`forward_flops` of one clip of the sizes of `add_model_arguments`."""
    return forward_flops(
        args.units,
        args.layers,
        args.grid**2,
        args.channels,
        args.frames,
        args.classes,
        args.attention,
    )


class SplitGatesCell(vidattn.layers.SoftAttentionLSTMCell):
    """Variant: the input and recurrent halves of the gates as two matmuls."""

    def step(self, inputs, states, dropout_masks=None):
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
        return hidden, weights, new_states


class ConcatenatingCell(vidattn.layers.SoftAttentionLSTMCell):
    """The cell before the sequence layer: one output, `[h_top(t), l_t]`.

    `keras.layers.RNN` stacks one tensor per step, in the compute dtype, so
    the attention weights travelled concatenated onto the hidden state.
    """

    def build(self, input_shape):
        super().build(input_shape)
        self.output_size = self.units + self.num_locations

    def call(self, inputs, states, training=False):
        dropout_masks = self.get_dropout_mask(inputs) if training else None
        hidden, weights, new_states = self.step(inputs, states, dropout_masks)
        outputs = ops.concatenate([hidden, ops.cast(weights, hidden.dtype)], -1)
        return outputs, new_states


class RNNOverCell(keras.layers.Layer):
    """`keras.layers.RNN` over a `ConcatenatingCell`, split as the layer's.

    The recurrence of `vidattn.models.ActionRecognizer` up to commit
    dd57a31, with the interface of `vidattn.layers.SoftAttentionLSTM`.
    """

    def __init__(self, units, num_layers, attention, dropout, unroll, seed):
        super().__init__(name="recurrent")
        self.cell = ConcatenatingCell(
            units,
            num_layers=num_layers,
            attention=attention,
            dropout=dropout,
            seed=seed,
            name="soft_attention_lstm_cell",
        )
        self.rnn = keras.layers.RNN(
            self.cell, return_sequences=True, unroll=unroll
        )

    def build(self, sequences_shape):
        self.rnn.build(sequences_shape)

    def call(self, sequences, initial_state=None, mask=None, training=False):
        outputs = self.rnn(
            sequences, initial_state=initial_state, mask=mask, training=training
        )
        units = self.cell.units
        return outputs[..., :units], ops.cast(outputs[..., units:], "float32")


class RNNPathRecognizer(vidattn.models.ActionRecognizer):
    """`vidattn.models.ActionRecognizer` on the code path of dd57a31."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Replaces the sequence layer before anything is built.
        self.recurrent = RNNOverCell(
            self.units,
            self.num_layers,
            self.attention,
            self.dropout,
            self.unroll,
            self.seed,
        )


def make_model(
    args,
    unroll=False,
    jit_compile=False,
    split_gates=False,
    policy="float32",
    rnn_path=False,
    implementation=None,
):
    """A compiled paper-sized model, its features and labels."""
    keras.mixed_precision.set_global_policy(policy)
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    shape = (args.batch, args.frames, args.grid, args.grid, args.channels)
    # Tensors of the backend, so that no step converts 200 MB from NumPy.
    features = ops.convert_to_tensor(rng.random(shape, dtype=np.float32))
    labels = ops.convert_to_tensor(rng.integers(0, args.classes, args.batch))
    model_class = (
        RNNPathRecognizer if rnn_path else (vidattn.models.ActionRecognizer)
    )
    model = model_class(
        args.classes,
        units=args.units,
        num_layers=args.layers,
        attention=args.attention,
        unroll=unroll,
    )
    if split_gates:
        model.cell.__class__ = SplitGatesCell
    if implementation is not None:
        # `ActionRecognizer` builds its recurrence with the layer's default.
        model.recurrent.implementation = implementation
    # Only an asked-for XLA is passed: the model's default is off on
    # TensorFlow and Keras's own (the whole step compiled) on JAX.
    model.compile(**({"jit_compile": True} if jit_compile else {}))
    return model, features, labels


def timed(step, repeats):
    """Seconds per call of `step`, after two calls to trace and compile."""
    step()
    step()
    start = time.perf_counter()
    for _ in range(repeats):
        step()
    return (time.perf_counter() - start) / repeats


def measure(args, **options):
    model, features, labels = make_model(args, **options)
    train_seconds = timed(
        lambda: model.train_on_batch(features, labels), args.steps
    )
    infer_seconds = timed(lambda: model.predict_on_batch(features), args.steps)
    keras.backend.clear_session()
    return train_seconds, infer_seconds


def compare_rnn_path(args):
    """Alternating rounds of training steps: the layer against the RNN path."""
    keras.mixed_precision.set_global_policy("float32")
    layer, features, labels = make_model(args, unroll=args.unroll)
    rnn, _, _ = make_model(args, unroll=args.unroll, rnn_path=True)
    steps = {
        "SoftAttentionLSTM": lambda: layer.train_on_batch(features, labels),
        "keras.layers.RNN over the cell": lambda: rnn.train_on_batch(
            features, labels
        ),
    }
    for step in steps.values():
        step()  # trace
    seconds = {name: [] for name in steps}
    for _ in range(args.rounds):
        for name, step in steps.items():
            seconds[name].append(timed(step, args.steps))
    medians = {
        name: float(np.median(values)) for name, values in seconds.items()
    }
    for name, values in seconds.items():
        rounds = " ".join(f"{args.batch / value:.1f}" for value in values)
        print(
            f"{name}: train {args.batch / medians[name]:.1f} clips/s "
            f"(median of {args.rounds} rounds of {args.steps} steps: {rounds})",
            flush=True,
        )
    new, old = medians.values()
    print(
        "SoftAttentionLSTM / keras.layers.RNN training clips/s: "
        f"{old / new:.3f}"
        f" (unroll={args.unroll}, {args.layers}x{args.units} "
        f"{args.grid}x{args.grid}x{args.channels} T={args.frames} "
        f"B={args.batch}, float32)",
        flush=True,
    )


IMPLEMENTATION_VARIANTS = {
    "autodiff float32 (cdbbf6c's code path)": {"implementation": "autodiff"},
    "sequence_gradient float32": {"implementation": "sequence_gradient"},
    "autodiff mixed_bfloat16": {
        "implementation": "autodiff",
        "policy": "mixed_bfloat16",
    },
    "sequence_gradient mixed_bfloat16": {
        "implementation": "sequence_gradient",
        "policy": "mixed_bfloat16",
    },
}


def compare_implementations(args, flops):
    """Alternating rounds: each implementation and precision, train and infer.

    Prints every round's clips/s, the medians, the median of the rounds'
    ratios to the earlier float32 default, and the achieved share of the
    matmul peak measured between rounds (the best of the run).
    """
    models = {
        name: make_model(args, unroll=args.unroll, **options)
        for name, options in IMPLEMENTATION_VARIANTS.items()
        if args.variants in name
    }
    keras.mixed_precision.set_global_policy("float32")
    steps = {}
    for name, (model, features, labels) in models.items():
        steps[(name, "train")] = functools.partial(
            model.train_on_batch, features, labels
        )
        steps[(name, "infer")] = functools.partial(
            model.predict_on_batch, features
        )
    for step in steps.values():
        step()  # trace
    seconds = {key: [] for key in steps}
    peaks = []
    for _ in range(args.rounds):
        peaks.append(matmul_gflops())
        for key, step in steps.items():
            seconds[key].append(timed(step, args.steps))
    peak = max(peaks)
    medians = {key: float(np.median(values)) for key, values in seconds.items()}
    baseline = next(iter(models))
    print(
        f"{args.layers}x{args.units} {args.grid}x{args.grid}x{args.channels} "
        f"T={args.frames} B={args.batch}, {args.attention} attention, "
        f"unroll={args.unroll}, {keras.backend.backend()} backend; float32 "
        f"matmul peak {peak:.0f} GFLOP/s "
        f"(rounds: {' '.join(f'{p:.0f}' for p in peaks)})",
        flush=True,
    )
    for (name, mode), values in seconds.items():
        work = (3 if mode == "train" else 1) * flops
        gflops = work / medians[(name, mode)] / 1e9
        rounds = " ".join(f"{args.batch / value:.1f}" for value in values)
        # The median of each round's ratio: neighbouring measurements share
        # the machine's load, which changes from round to round.
        ratio = float(
            np.median(np.array(seconds[(baseline, mode)]) / np.array(values))
        )
        print(
            f"{name} {mode}: {args.batch / medians[(name, mode)]:.1f} clips/s "
            f"({gflops:.0f} GFLOP/s, {100 * gflops / peak:.0f}% of peak; "
            f"{ratio:.2f}x {baseline}; rounds: {rounds})",
            flush=True,
        )


def add_model_arguments(parser):
    """Adds the model's sizes and the steps per timing to `parser`."""
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--grid", type=int, default=7)
    parser.add_argument("--channels", type=int, default=1024)
    parser.add_argument("--units", type=int, default=512)
    parser.add_argument("--layers", type=int, default=3)
    parser.add_argument("--classes", type=int, default=11)
    parser.add_argument("--attention", default="linear")
    parser.add_argument("--steps", type=int, default=5)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    add_model_arguments(parser)
    parser.add_argument("--sweep", action="store_true")
    parser.add_argument("--compare_rnn_path", action="store_true")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--unroll", action="store_true")
    parser.add_argument("--compare_implementations", action="store_true")
    parser.add_argument(
        "--variants",
        default="",
        help="--compare_implementations: only the variants whose names "
        "contain this (e.g. float32); the first one is the baseline.",
    )
    args = parser.parse_args()
    if args.compare_rnn_path:
        compare_rnn_path(args)
        return

    flops = args.batch * clip_flops(args)
    if args.compare_implementations:
        compare_implementations(args, flops)
        return
    # XLA needs the unrolled loop (see vidattn.models.ActionRecognizer).
    variants = [
        (
            "default: sequence-gradient recurrence, fused gates, float32, "
            "no XLA",
            {},
        )
    ]
    if args.sweep:
        variants += [
            (
                "autodiff scan loop (cdbbf6c's code path)",
                {"implementation": "autodiff"},
            ),
            ("unroll=True", {"unroll": True}),
            (
                "unroll=True + jit_compile",
                {"unroll": True, "jit_compile": True},
            ),
            (
                "autodiff, split gate matmuls",
                {"split_gates": True, "implementation": "autodiff"},
            ),
            ("mixed_bfloat16", {"policy": "mixed_bfloat16"}),
            (
                "mixed_bfloat16 + unroll=True + jit_compile",
                {
                    "policy": "mixed_bfloat16",
                    "unroll": True,
                    "jit_compile": True,
                },
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
            f"action_recognizer {args.layers}x{args.units} "
            f"{args.grid}x{args.grid}x{args.channels} T={args.frames} "
            f"B={args.batch} [{name}]: "
            f"train {args.batch / train_seconds:.1f} clips/s "
            f"({train_gflops:.0f} GFLOP/s, "
            f"{100 * train_gflops / peak:.0f}% of matmul {peak:.0f} GFLOP/s); "
            f"infer {args.batch / infer_seconds:.1f} clips/s "
            f"({100 * infer_gflops / peak:.0f}%)",
            flush=True,
        )


if __name__ == "__main__":
    main()
