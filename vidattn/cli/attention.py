"""`vidattn attention`: draw where a model looks in videos, at several rates.

The fps study of thesis Fig. 2.6 in one command:

    vidattn attention --model RUN/best.keras --video golf.mp4 --fps 6 \\
        --fps 30 --output_dir golf_fps_study

The backbone is the one the model's features came from, when the model
says so; the flags below override it.
"""

from absl import flags

from vidattn.cli.backbone_flags import backbone_from_flags
from vidattn.cli.backbone_flags import define_backbone_flags

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
    define_backbone_flags()
    flags.DEFINE_string(
        "output_dir", None, "Where the PNG strips and index.html go."
    )
    flags.mark_flags_as_required(["model", "video", "output_dir"])


def main(argv):
    del argv
    import keras

    from vidattn.analysis import attention_at_frame_rates
    from vidattn.analysis import class_names_of
    from vidattn.visualization import write_attention_report

    model = keras.models.load_model(FLAGS.model)
    backbone = backbone_from_flags(model)
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
