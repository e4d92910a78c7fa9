"""Training and beam-search throughput of the thesis-sized video captioner.

The thesis's sizes (§3.2.2): N = 26 frames of 7x7x1024 feature cubes, word
embedding n = 512, decoder width d = 512 or 4096, a vocabulary of 10,000
words, captions of 20 words, batch 32, additive attention. Reports
teacher-forced training captions/s and beam-search (width 4) captions/s,
each with the achieved GFLOP/s as a fraction of this machine's float32
matmul GFLOP/s measured in the same run, on the same number of threads.

    python benchmarks/video_captioner_throughput.py              # d = 512
    python benchmarks/video_captioner_throughput.py --units 4096
    python benchmarks/video_captioner_throughput.py --threads 2
    python benchmarks/video_captioner_throughput.py --compare
    python benchmarks/video_captioner_throughput.py --compare_implementations

`--threads 1` (the default) runs TensorFlow on one thread, the figure to
compare per thread with other implementations. The models are the same code
under every Keras backend: `KERAS_BACKEND=jax` times them under JAX (XLA
compiles each training step whole); pin it to one core with
`taskset -c 0` and `XLA_FLAGS=--xla_cpu_multi_thread_eigen=false` for the
per-thread figure.

`--compare` times training steps of the model as it is (`keras.ops.scan`
over the words, float32, no XLA) against the same step functions in a loop
unrolled over the words, without and with `jit_compile=True` (XLA cannot
differentiate the loop of `keras.ops.scan` on TensorFlow, which has no
bound), and against the model under `mixed_bfloat16`. The models live in
one process and are timed in alternating rounds, so that a load shared
with other work on the machine weighs on all alike.

`--compare_implementations` times float32 training steps and teacher-forced
inference (`predict_on_batch`) of the model with the word loop
differentiated by autodiff (`implementation="autodiff"`, the default and
the code path up to commit d04dc87) and with the hand-written backward pass
(`implementation="sequence_gradient"`), in alternating rounds in one
process, with the float32 matmul peak measured between rounds, and prints
the median of the rounds' ratios.
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras import ops  # noqa: E402
from machine_peak import matmul_gflops  # noqa: E402

import vidattn  # noqa: E402


def forward_flops(args, words, rows=None):
    """Multiply-adds x 2 of the forward pass of `rows` captions of `words`.

    The location projection and the initial states are counted once per
    video, the decoder step once per word and row (for beam search, a row is
    a beam: `rows = videos x beam_width`).
    """
    videos = args.batch
    rows = videos if rows is None else rows
    locations = args.frames * args.grid**2
    channels, units, embedding = args.channels, args.units, args.embedding
    attention_units = args.attention_units or units
    per_video = 2 * 2 * channels * units  # eq. 2.6: c0 and h0
    per_step = 2 * locations * channels  # eq. 3.3, the expectation
    if args.attention == "additive":
        per_video += 2 * locations * channels * attention_units
        per_step += (
            2 * units * attention_units + 2 * locations * attention_units
        )
    else:
        per_step += 2 * units * locations
    per_step += 2 * units  # eq. 3.5, f_beta
    per_step += 2 * (embedding + units + channels) * 4 * units  # eq. 3.1
    per_step += 2 * (units + channels) * embedding  # eq. 3.4: W_h, W_x
    per_step += 2 * embedding * args.vocabulary  # eq. 3.4: W_p
    return videos * per_video + rows * words * per_step


class UnrolledCaptioner(vidattn.models.VideoCaptioner):
    """Teacher forcing as a Python loop over a fixed number of words.

    The same `recurrent_step` and `output_logits` as the model's `call`; a
    loop that XLA can differentiate.
    """

    def compile(self, jit_compile=False, **kwargs):
        # The captioner refuses XLA, whose gradient needs a bounded loop;
        # this loop is bounded.
        super().compile(**kwargs)
        self.jit_compile = jit_compile

    def call(self, inputs, training=None):
        features, frame_mask, caption_ids = self.unpack_inputs(inputs)
        batch_size = ops.shape(features)[0]
        dropout_masks = self.dropout_masks(batch_size) if training else None
        context = self.prepare_context(features, frame_mask)
        states = self.initial_states(features, frame_mask)
        embedded = self.embed_words(caption_ids[:, :-1], dropout_masks)
        word_gates = self.word_gates(embedded)
        hidden, expected, weights, beta = [], [], [], []
        for index in range(word_gates.shape[1]):
            states, *outputs = self.recurrent_step(
                word_gates[:, index], states, context, dropout_masks
            )
            for values, value in zip(
                (expected, weights, beta), outputs, strict=True
            ):
                values.append(value)
            hidden.append(states[0])
        logits = self.output_logits(
            embedded,
            ops.stack(hidden, 1),
            ops.stack(expected, 1),
            dropout_masks,
        )
        grid_size = self.feature_grid[0]
        attention = ops.reshape(
            ops.stack(weights, 1),
            (batch_size, -1, ops.shape(features)[1], grid_size, grid_size),
        )
        return {
            "word_logits": logits,
            "attention": attention,
            "beta": ops.stack(beta, 1),
        }


def make_inputs(args):
    rng = np.random.default_rng(0)
    shape = (args.batch, args.frames, args.grid, args.grid, args.channels)
    caption_ids = rng.integers(4, args.vocabulary, (args.batch, args.words + 2))
    caption_ids[:, 0] = 2  # the start token
    caption_ids[:, -1] = 3  # the end token
    return {
        "features": rng.random(shape, dtype=np.float32),
        "frame_mask": np.ones(shape[:2], bool),
        "caption_ids": caption_ids.astype("int32"),
    }


def make_model(
    args,
    model_class=vidattn.models.VideoCaptioner,
    policy="float32",
    implementation="autodiff",
    **compile_args,
):
    keras.mixed_precision.set_global_policy(policy)
    keras.utils.set_random_seed(0)
    model = model_class(
        vocabulary_size=args.vocabulary,
        units=args.units,
        embedding_dim=args.embedding,
        attention=args.attention,
        attention_units=args.attention_units,
        implementation=implementation,
    )
    model.compile(**compile_args)
    keras.mixed_precision.set_global_policy("float32")
    return model


def timed(step, repeats):
    """Seconds per call of `step`, after two calls to trace and compile."""
    step()
    step()
    start = time.perf_counter()
    for _ in range(repeats):
        step()
    return (time.perf_counter() - start) / repeats


def compare(args):
    """Alternating rounds of training steps of the variants."""
    inputs = make_inputs(args)
    models = {
        "scan (the model)": make_model(args, implementation="autodiff"),
        "unrolled": make_model(args, UnrolledCaptioner),
        "unrolled + jit_compile": make_model(
            args, UnrolledCaptioner, jit_compile=True
        ),
        "mixed_bfloat16": make_model(args, policy="mixed_bfloat16"),
    }
    steps = {
        name: (lambda model=model: model.train_on_batch(inputs))
        for name, model in models.items()
    }
    for step in steps.values():
        step()  # trace and compile
    seconds = {name: [] for name in steps}
    for _ in range(args.rounds):
        for name, step in steps.items():
            start = time.perf_counter()
            for _ in range(args.steps):
                step()
            seconds[name].append((time.perf_counter() - start) / args.steps)
    baseline = float(np.median(seconds["scan (the model)"]))
    for name, values in seconds.items():
        median = float(np.median(values))
        rounds = " ".join(f"{args.batch / value:.2f}" for value in values)
        print(
            f"video_captioner d={args.units} threads={args.threads} [{name}]: "
            f"train {args.batch / median:.2f} captions/s, "
            f"{baseline / median:.3f}x the model's (median of {args.rounds} "
            f"rounds of {args.steps} steps: {rounds})",
            flush=True,
        )


IMPLEMENTATIONS = ("autodiff", "sequence_gradient")


def compare_implementations(args):
    """Alternating rounds of both implementations, training and inference.

    Prints every round's captions/s, the medians, the median of the rounds'
    ratios to `"autodiff"` (neighbouring measurements share the machine's
    load), the achieved share of the matmul peak measured between rounds
    (the best of the run), and one summary line.
    """
    inputs = make_inputs(args)
    steps = {}
    for implementation in IMPLEMENTATIONS:
        model = make_model(args, implementation=implementation)
        steps[(implementation, "train")] = lambda model=model: (
            model.train_on_batch(inputs)
        )
        steps[(implementation, "infer")] = lambda model=model: (
            model.predict_on_batch(inputs)
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
    print(
        f"video_captioner d={args.units} n={args.embedding} {args.attention} "
        f"N={args.frames} {args.grid}x{args.grid}x{args.channels} "
        f"V={args.vocabulary} words={args.words} B={args.batch} "
        f"threads={args.threads} backend={keras.backend.backend()} float32; "
        f"matmul peak {peak:.0f} GFLOP/s "
        f"(rounds: {' '.join(f'{p:.0f}' for p in peaks)})",
        flush=True,
    )
    ratios = {}
    # Teacher forcing feeds the start token and the words: words + 1 steps.
    flops = forward_flops(args, args.words + 1)
    for (implementation, mode), values in seconds.items():
        median = float(np.median(values))
        gflops = (3 if mode == "train" else 1) * flops / median / 1e9
        ratios[(implementation, mode)] = float(
            np.median(np.array(seconds[("autodiff", mode)]) / np.array(values))
        )
        rounds = " ".join(f"{args.batch / value:.2f}" for value in values)
        print(
            f"{implementation} {mode}: {args.batch / median:.2f} captions/s "
            f"({gflops:.1f} GFLOP/s, {100 * gflops / peak:.0f}% of peak; "
            f"{ratios[(implementation, mode)]:.2f}x autodiff; rounds: "
            f"{rounds})",
            flush=True,
        )
    train_gflops = (
        3 * flops / float(np.median(seconds[("sequence_gradient", "train")]))
    ) / 1e9
    print(
        f"summary: sequence_gradient / autodiff: train "
        f"{ratios[('sequence_gradient', 'train')]:.2f}x, inference "
        f"{ratios[('sequence_gradient', 'infer')]:.2f}x; sequence_gradient "
        f"training at {100 * train_gflops / peak:.0f}% of the matmul peak "
        f"({peak:.0f} GFLOP/s)",
        flush=True,
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--frames", type=int, default=26)
    parser.add_argument("--grid", type=int, default=7)
    parser.add_argument("--channels", type=int, default=1024)
    parser.add_argument("--units", type=int, default=512)
    parser.add_argument("--embedding", type=int, default=512)
    parser.add_argument("--attention", default="additive")
    parser.add_argument("--attention_units", type=int, default=None)
    parser.add_argument("--vocabulary", type=int, default=10000)
    parser.add_argument("--words", type=int, default=20)
    parser.add_argument("--beam_width", type=int, default=4)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--compare", action="store_true")
    parser.add_argument("--compare_implementations", action="store_true")
    args = parser.parse_args()
    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    if args.compare:
        compare(args)
        return
    if args.compare_implementations:
        compare_implementations(args)
        return

    inputs = make_inputs(args)
    model = make_model(args)
    video_inputs = {key: inputs[key] for key in ("features", "frame_mask")}

    lengths = []

    def search():
        result = model.generate(
            video_inputs, beam_width=args.beam_width, max_length=args.words
        )
        lengths.append(int(result["length"].max()))

    peak_before = matmul_gflops()
    train_seconds = timed(lambda: model.train_on_batch(inputs), args.steps)
    # Random weights end sentences at once: the end token (id 3) is made
    # unlikely, so that the search runs `--words` words.
    bias = model.word_logits_layer.bias
    bias.assign(ops.where(ops.arange(args.vocabulary) == 3, -1e9, bias))
    beam_seconds = timed(search, args.steps)
    peak = max(peak_before, matmul_gflops())

    # Teacher forcing feeds the start token and the words: words + 1 steps.
    # Training = forward + backward, about 3x the forward FLOPs.
    train_gflops = 3 * forward_flops(args, args.words + 1) / train_seconds / 1e9
    beam_rows = args.batch * args.beam_width
    beam_gflops = (
        # The search stops when every sentence has ended.
        forward_flops(args, max(lengths), rows=beam_rows) / beam_seconds / 1e9
    )
    print(
        f"video_captioner d={args.units} n={args.embedding} "
        f"{args.attention} N={args.frames} {args.grid}x{args.grid}x"
        f"{args.channels} V={args.vocabulary} words={args.words} "
        f"B={args.batch} threads={args.threads} "
        f"backend={keras.backend.backend()}: "
        f"train {args.batch / train_seconds:.2f} captions/s "
        f"({train_gflops:.1f} GFLOP/s, {100 * train_gflops / peak:.0f}% of "
        f"matmul {peak:.0f} GFLOP/s); beam {args.beam_width} "
        f"({max(lengths)} words) "
        f"{args.batch / beam_seconds:.2f} captions/s "
        f"({beam_gflops:.1f} GFLOP/s, {100 * beam_gflops / peak:.0f}%)",
        flush=True,
    )


if __name__ == "__main__":
    main()
