"""`vidattn glimpse`: the experiment of thesis Fig. 2.8 on one video.

Re-initialises the location softmax of a trained model, freezes everything
else, and optimises the location weights on one video until the model
predicts the chosen class; draws the model's glimpse, the random one and the
one found, and writes glimpse.json (found or not, after how many steps, the
predictions) and location_weights.npz (the location weights found). A
glimpse not found is an outcome, not an error: the command says so and
exits with status 0.
"""

from absl import app
from absl import flags

FLAGS = flags.FLAGS


def define_flags():
    """Defines the flags of this command."""
    flags.DEFINE_string("model", None, "A trained soft-attention .keras model.")
    flags.DEFINE_string(
        "data", None, "A dataset folder holding the video's features."
    )
    flags.DEFINE_string(
        "video_id", None, "The video (default: the first of the folder)."
    )
    flags.DEFINE_string(
        "video",
        None,
        "Optional: the video file, to draw the glimpses over its frames.",
    )
    flags.DEFINE_float(
        "fps",
        None,
        "Frame rate of the stored features, to decode --video (default: the "
        "folder's).",
    )
    flags.DEFINE_integer(
        "target_class",
        None,
        "Class index to reach (default: the video's label).",
    )
    flags.DEFINE_integer("window", 30, "Frames of the video used.")
    flags.DEFINE_integer("max_steps", 500, "Optimisation steps at most.")
    flags.DEFINE_string(
        "output_dir",
        None,
        "Where the PNG strips, index.html, glimpse.json and "
        "location_weights.npz go.",
    )
    flags.mark_flags_as_required(["model", "data", "output_dir"])


def main(argv):
    del argv
    import keras

    from vidattn.analysis import run_glimpse_experiment

    model = keras.models.load_model(FLAGS.model)
    try:
        experiment = run_glimpse_experiment(
            model,
            FLAGS.data,
            FLAGS.output_dir,
            video_id=FLAGS.video_id,
            target_class=FLAGS.target_class,
            video_path=FLAGS.video,
            fps=FLAGS.fps,
            window=FLAGS.window,
            max_steps=FLAGS.max_steps,
        )
    except ValueError as error:
        raise app.UsageError(str(error)) from error
    for title, record in zip(experiment.search.titles, experiment.records):
        print(
            f"{title}: predicts {record.predicted_name} "
            f"({record.confidence:.2f})"
        )
    search = experiment.search
    if search.found:
        print(
            f"Found a glimpse for {experiment.target_name} after "
            f"{search.steps} steps."
        )
    else:
        print(
            f"Did not find a glimpse for {experiment.target_name} in "
            f"{search.steps} steps."
        )
    print(f"Result: {experiment.result_path}")
    print(f"Report: {experiment.report_path}")
