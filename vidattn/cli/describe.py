"""`vidattn describe`: sentences for video files, from a trained captioner.

    vidattn describe cat.mp4 dog.avi --model RUN/best.keras

Each video is decoded with the frame sampling the model's features came
from (the thesis's 26 frames evenly spaced over the first 240 when the
model does not say; black frames stand in for those a short video lacks,
and get no attention), passed through the backbone the model names, and
described with beam search. One line per video:

    cat.mp4: a cat is playing with a toy  (log p -4.21)

A video that cannot be read is reported and the others are still
described; the exit status is then 1. `--json` writes every sentence with
its words, log probability and per-word gate beta; `--report_dir` draws,
for each word, where in which frames the model looked (thesis Figs.
3.2-3.4) as PNG strips and an `index.html`.
"""

import os

from absl import flags

from vidattn.cli.backbone_flags import backbone_from_flags
from vidattn.cli.backbone_flags import define_backbone_flags

FLAGS = flags.FLAGS


def define_flags():
    """Defines the flags of this command."""
    flags.DEFINE_string("model", None, "A trained .keras captioner.")
    flags.DEFINE_integer(
        "beam_width", 4, "Beam width; 1 is greedy decoding.", lower_bound=1
    )
    flags.DEFINE_integer(
        "max_length", 30, "The most words per sentence.", lower_bound=1
    )
    flags.DEFINE_float(
        "length_normalization",
        0.0,
        "Exponent alpha of the beam's ranking score log p / length**alpha.",
        lower_bound=0.0,
    )
    flags.DEFINE_string(
        "sampling",
        None,
        "How frames are drawn, e.g. even:26/240 (default: the model's, else "
        "even:26/240).",
    )
    define_backbone_flags()
    flags.DEFINE_string(
        "json", None, "Where to write the sentences as JSON (optional)."
    )
    flags.DEFINE_string(
        "report_dir",
        None,
        "Where to draw each word's attention over the frames (PNG strips "
        "and index.html; optional).",
    )
    flags.mark_flags_as_required(["model"])


def main(argv):
    videos = argv[1:]
    if not videos:
        raise ValueError(
            "Expected one or more video files after the flags, e.g. `vidattn "
            "describe cat.mp4 --model RUN/best.keras`. Received none."
        )
    import keras

    from vidattn.analysis.video_description import describe_videos
    from vidattn.analysis.video_description import description_record
    from vidattn.analysis.video_description import sampling_for
    from vidattn.utils.atomic_write import write_json_atomically

    model = keras.models.load_model(FLAGS.model)
    sampling, source = sampling_for(model, FLAGS.sampling)
    if source == "default":
        print(
            f"The model does not name its frame sampling: using the "
            f"thesis's {sampling.spec} (pass --sampling to change it)."
        )
    backbone = backbone_from_flags(model)
    results = describe_videos(
        model,
        videos,
        backbone,
        sampling=sampling,
        beam_width=FLAGS.beam_width,
        max_length=FLAGS.max_length,
        length_normalization=FLAGS.length_normalization,
        skip_unreadable=True,
    )
    failed = [result for result in results if "error" in result]
    for result in results:
        if "error" in result:
            print(f"{result['path']}: could not be read: {result['error']}")
        else:
            print(
                f"{result['path']}: {result['caption']}  "
                f"(log p {result['log_probability']:.2f})"
            )
    if FLAGS.json:
        write_json_atomically(
            FLAGS.json,
            {
                "model": FLAGS.model,
                "sampling": sampling.spec,
                "backbone": repr(backbone),
                "beam_width": FLAGS.beam_width,
                "videos": [_json_entry(result) for result in results],
            },
            indent=2,
        )
        print(f"Sentences: {FLAGS.json}")
    if FLAGS.report_dir and len(failed) < len(results):
        from vidattn.visualization import write_caption_report

        index = write_caption_report(
            [
                description_record(result)
                for result in results
                if "error" not in result
            ],
            FLAGS.report_dir,
            title=f"What {os.path.basename(FLAGS.model)} says, and where it "
            "looks for each word",
        )
        print(f"Per-word attention: {index}")
    if failed:
        raise OSError(
            f"{len(failed)} of {len(results)} videos could not be read: "
            + ", ".join(result["path"] for result in failed)
        )


def _json_entry(result):
    if "error" in result:
        return {key: result[key] for key in ("video_id", "path", "error")}
    return {
        "video_id": result["video_id"],
        "path": result["path"],
        "caption": result["caption"],
        "words": result["words"],
        "log_probability": result["log_probability"],
        "beta": [float(value) for value in result["beta"]],
    }
