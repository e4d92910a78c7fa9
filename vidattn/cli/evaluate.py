"""`vidattn evaluate`: score a model under the thesis's protocol (2.2.2).

The scores are over the model's classes: the data's labels are matched to
the model's class names (models trained with `vidattn train` carry them)
by name, and data of a class the model does not know are refused. A
window whose prediction is NaN or inf (a diverged model) stops the
evaluation with a message naming the videos.
"""

from absl import flags

FLAGS = flags.FLAGS


def define_flags():
    """Defines the flags of this command."""
    flags.DEFINE_string("model", None, "A .keras model (e.g. RUN/best.keras).")
    flags.DEFINE_string(
        "data", None, "Dataset folder to score (the test split)."
    )
    flags.DEFINE_integer("window", 30, "Frames per window.", lower_bound=1)
    flags.DEFINE_float(
        "fps", None, "Frame rate of the windows; default: the stored frames."
    )
    flags.DEFINE_integer(
        "stride", 1, "Stored frames between window starts.", lower_bound=1
    )
    flags.DEFINE_enum(
        "aggregation",
        "mean",
        ["mean", "vote"],
        "How a video's windows are combined.",
    )
    flags.DEFINE_integer("batch_size", 32, "Windows per batch.", lower_bound=1)
    flags.DEFINE_string(
        "report", None, "Where to write the full report as JSON."
    )
    flags.mark_flags_as_required(["model", "data"])


def main(argv):
    del argv
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
