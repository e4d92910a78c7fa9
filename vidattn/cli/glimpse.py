"""`vidattn glimpse`: the experiment of thesis Fig. 2.8 on one video.

Re-initialises the location softmax of a trained model, freezes everything
else, and optimises the location weights on one video until the model
predicts the chosen class; draws the model's glimpse, the random one and the
one found.
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
        "Frame rate of the stored features, to decode --video (default: the folder's).",
    )
    flags.DEFINE_integer(
        "target_class",
        None,
        "Class index to reach (default: the video's label).",
    )
    flags.DEFINE_integer("window", 30, "Frames of the video used.")
    flags.DEFINE_integer("max_steps", 500, "Optimisation steps at most.")
    flags.DEFINE_string(
        "output_dir", None, "Where the PNG strips and index.html go."
    )
    flags.mark_flags_as_required(["model", "data", "output_dir"])


def main(argv):
    del argv
    import keras
    import numpy as np

    from vidattn.data.feature_dataset import FeatureDataset
    from vidattn.data.video_reader import VideoReader
    from vidattn.experiments.glimpse_search import search_glimpse
    from vidattn.visualization import write_attention_report

    data = FeatureDataset(FLAGS.data)
    video = None
    for candidate in data.videos():
        if FLAGS.video_id in (None, candidate["video_id"]):
            video = candidate
            break
    if video is None:
        raise app.UsageError(
            f"Expected --video_id among the folder's videos. Received {FLAGS.video_id!r}."
        )
    features = video["features"][: FLAGS.window].astype("float32")
    target = FLAGS.target_class
    if target is None:
        target = int(video["labels"][0])
    model = keras.models.load_model(FLAGS.model)
    result = search_glimpse(model, features, target, max_steps=FLAGS.max_steps)
    names = list(data.class_names)
    if FLAGS.video:
        frames = (
            VideoReader(FLAGS.video)
            .read(fps=FLAGS.fps or data.stored_fps)
            .frames[: len(features)]
        )
    else:
        frames = np.full((len(features), 112, 112, 3), 110, np.uint8)
    rows = [
        (
            "1 the model's glimpse",
            result.trained_attention,
            result.trained_probabilities,
        ),
        (
            "2 random location weights",
            result.random_attention,
            result.random_probabilities,
        ),
        (
            f"3 glimpse found after {result.steps} steps",
            result.found_attention,
            result.found_probabilities,
        ),
    ]
    videos = []
    for title, attention, probabilities in rows:
        predicted = int(probabilities.argmax())
        videos.append(
            {
                "video_id": f"{video['video_id']} {title}",
                "frames": frames,
                "attention": attention,
                "predicted": names[predicted],
                "true": names[target],
                "confidence": float(probabilities[predicted]),
            }
        )
        print(
            f"{title}: predicts {names[predicted]} ({probabilities[predicted]:.2f})"
        )
    index = write_attention_report(
        videos, FLAGS.output_dir, title=f"Glimpses for {names[target]}"
    )
    print(
        ("Found" if result.found else "Did not find")
        + f" a glimpse for {names[target]}. Report: {index}"
    )
