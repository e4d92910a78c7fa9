"""`vidattn attention`: draw where a model looks in videos, at several rates.

The fps study of thesis Fig. 2.6 in one command:

    vidattn attention --model RUN/best.keras --video golf.mp4 --fps 6 \\
        --fps 30 --output_dir golf_fps_study

The backbone is the one the model's features came from, when the model
says so; the flags below override it.
"""

from absl import flags

FLAGS = flags.FLAGS


def define_flags():
    """Defines the flags of this command."""
    flags.DEFINE_string("model", None, "A trained soft-attention .keras model.")
    flags.DEFINE_multi_string(
        "video", None, "A video file; repeat for several."
    )
    flags.DEFINE_multi_float(
        "fps", [30.0], "Frame rates; repeat for several (--fps 6 --fps 30)."
    )
    flags.DEFINE_integer("window", 30, "Frames per window.")
    flags.DEFINE_string(
        "backbone",
        None,
        "The backbone the model's features came from (default: the model's, "
        "else efficientnet_lite0).",
    )
    flags.DEFINE_string(
        "layer", None, "Its layer (default: the last convolutional map)."
    )
    flags.DEFINE_string(
        "weights", "imagenet", "Its weights: imagenet or a file."
    )
    flags.DEFINE_integer(
        "input_size", None, "Its input size (default: its own)."
    )
    flags.DEFINE_string(
        "output_dir", None, "Where the PNG strips and index.html go."
    )
    flags.mark_flags_as_required(["model", "video", "output_dir"])


def main(argv):
    del argv
    import keras

    from vidattn.analysis import attention_at_frame_rates
    from vidattn.analysis import backbone_for
    from vidattn.analysis import class_names_of
    from vidattn.visualization import write_attention_report

    model = keras.models.load_model(FLAGS.model)
    backbone = backbone_for(
        model,
        FLAGS.backbone,
        layer_name=FLAGS.layer,
        weights=FLAGS.weights,
        input_size=FLAGS.input_size,
    )
    class_names = class_names_of(model)
    records = []
    for path in FLAGS.video:
        for record in attention_at_frame_rates(
            model, backbone, path, FLAGS.fps, FLAGS.window, class_names
        ):
            records.append(record)
            print(
                f"{record.video_id}: predicted {record.predicted_name} "
                f"({record.confidence:.2f})"
            )
    index = write_attention_report(
        records, FLAGS.output_dir, title="Attention at several frame rates"
    )
    print(f"Report: {index}")
