"""`vidattn evaluate`: score a model under the thesis's protocol.

An action model (thesis section 2.2.2) is scored over its classes: the
data's labels are matched to the model's class names (models trained with
`vidattn train` carry them) by name, and data of a class the model does not
know are refused. A window whose prediction is NaN or inf (a diverged
model) stops the evaluation with a message naming the videos.

    vidattn evaluate --model RUN/best.keras --data features/ucf11/test \\
        --window 30 --fps 10 --report report.json

A captioner (thesis section 3.2) describes every video of the split with
beam search (width 4) and is scored with coco-caption's BLEU-1..4, METEOR,
ROUGE-L and CIDEr against all reference captions of each video; the
protocol is printed beside the scores, and the sentences are written in
coco-caption's results format (`[{"image_id": ..., "caption": ...}]`):

    vidattn evaluate --model CAPTIONER/best.keras --data features/msvd/test \\
        --report msvd_test.json --results msvd_test_sentences.json

Without `--results`, the sentences go beside `--report`
(`msvd_test.results.json`); the report holds them too. The window flags
are for action models and the decoding flags for captioners: a flag of
the other kind is refused.
"""

import os

from absl import flags

from vidattn.cli.model_kind_flags import refuse_flags

FLAGS = flags.FLAGS

ACTION_FLAGS = ("window", "fps", "stride", "aggregation")
CAPTION_FLAGS = (
    "beam_width",
    "max_length",
    "length_normalization",
    "results",
    "metrics",
)


def define_flags():
    """Defines the flags of this command."""
    flags.DEFINE_string(
        "model", None, "A .keras action model or captioner (RUN/best.keras)."
    )
    flags.DEFINE_string(
        "data", None, "Dataset folder to score (the test split)."
    )
    flags.DEFINE_integer(
        "window", 30, "Action models: frames per window.", lower_bound=1
    )
    flags.DEFINE_float(
        "fps",
        None,
        "Action models: frame rate of the windows; default: the stored frames.",
    )
    flags.DEFINE_integer(
        "stride",
        1,
        "Action models: stored frames between window starts.",
        lower_bound=1,
    )
    flags.DEFINE_enum(
        "aggregation",
        "mean",
        ["mean", "vote"],
        "Action models: how a video's windows are combined.",
    )
    flags.DEFINE_integer(
        "beam_width",
        4,
        "Captioners: beam width (the thesis's 4); 1 is greedy decoding.",
        lower_bound=1,
    )
    flags.DEFINE_integer(
        "max_length",
        30,
        "Captioners: the most words per sentence.",
        lower_bound=1,
    )
    flags.DEFINE_float(
        "length_normalization",
        0.0,
        "Captioners: exponent alpha of the beam's ranking score "
        "log p / length**alpha (0: by log probability, as the thesis).",
        lower_bound=0.0,
    )
    flags.DEFINE_list(
        "metrics",
        ["bleu", "meteor", "rouge_l", "cider"],
        "Captioners: the caption metrics (METEOR adds 8-30 s of Java "
        "start-up).",
    )
    flags.DEFINE_string(
        "results",
        None,
        "Captioners: where to write the sentences in coco-caption's results "
        "format (default: beside --report, as <report>.results.json).",
    )
    flags.DEFINE_integer(
        "batch_size",
        32,
        "Windows (action models) or videos (captioners) per batch.",
        lower_bound=1,
    )
    flags.DEFINE_string(
        "report", None, "Where to write the full report as JSON."
    )
    flags.mark_flags_as_required(["model", "data"])


def results_path(report, results):
    """Where the sentences go: `results`, else beside `report`, else None."""
    if results:
        return results
    if report:
        stem, _ = os.path.splitext(report)
        return stem + ".results.json"
    return None


def main(argv):
    del argv
    import keras

    from vidattn.data import FeatureDataset
    from vidattn.models import CaptionGenerator

    # The data folder first: checking it is cheaper than loading a model.
    FeatureDataset(FLAGS.data)
    model = keras.models.load_model(FLAGS.model)
    if isinstance(model, CaptionGenerator):
        refuse_flags(ACTION_FLAGS, "a captioner", "action models")
        _evaluate_captioner(model)
    else:
        refuse_flags(CAPTION_FLAGS, "an action model", "captioners")
        _evaluate_action_model()


def _evaluate_captioner(model):
    from vidattn.evaluation import coco_results
    from vidattn.evaluation import evaluate_caption_model
    from vidattn.evaluation import format_caption_report
    from vidattn.utils.atomic_write import write_json_atomically

    report = evaluate_caption_model(
        model,
        FLAGS.data,
        beam_width=FLAGS.beam_width,
        max_length=FLAGS.max_length,
        length_normalization=FLAGS.length_normalization,
        batch_size=FLAGS.batch_size,
        metrics=FLAGS.metrics,
    )
    report["model"] = os.path.abspath(FLAGS.model)
    print(format_caption_report(report))
    results = results_path(FLAGS.report, FLAGS.results)
    if results:
        write_json_atomically(results, coco_results(report), indent=2)
        print(f"Sentences (coco-caption results format): {results}")
    else:
        print("Pass --results PATH to keep the sentences.")
    if FLAGS.report:
        write_json_atomically(FLAGS.report, report, indent=2)
        print(f"Report: {FLAGS.report}")


def _evaluate_action_model():
    from vidattn.cli.config_flags import check_fps_flag
    from vidattn.evaluation import evaluate_action_model
    from vidattn.evaluation import format_report
    from vidattn.utils.atomic_write import write_json_atomically

    check_fps_flag(FLAGS.fps, FLAGS.data)
    report = evaluate_action_model(
        FLAGS.model,
        FLAGS.data,
        window=FLAGS.window,
        fps=FLAGS.fps,
        stride=FLAGS.stride,
        aggregation=FLAGS.aggregation,
        batch_size=FLAGS.batch_size,
    )
    print(format_report(report))
    if FLAGS.report:
        write_json_atomically(FLAGS.report, report, indent=2)
        print(f"Report: {FLAGS.report}")
