"""`vidattn attention`: draw where a model looks in videos, at one or more frame rates.

The fps study of thesis Fig. 2.6 in one command:

    vidattn attention --model RUN/best.keras --video golf.mp4 --fps 6 --fps 30 \\
        --output_dir golf_fps_study
"""

import json
import os

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
        "efficientnet_lite0",
        "The backbone the model's features came from.",
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

    from vidattn.data.feature_extractor import build_backbone
    from vidattn.experiments.fps_study import attention_at_frame_rates
    from vidattn.visualization import write_attention_report

    model = keras.models.load_model(FLAGS.model)
    backbone = build_backbone(
        FLAGS.backbone,
        weights=FLAGS.weights,
        layer_name=FLAGS.layer,
        input_size=FLAGS.input_size,
    )
    class_names = None
    config_path = os.path.join(
        os.path.dirname(os.path.abspath(FLAGS.model)), "config.json"
    )
    if os.path.exists(config_path):
        with open(config_path, encoding="utf-8") as file:
            class_names = json.load(file).get("class_names")
    videos = []
    for path in FLAGS.video:
        for result in attention_at_frame_rates(
            model, backbone, path, FLAGS.fps, FLAGS.window
        ):
            if class_names:
                result["predicted"] = class_names[result["predicted"]]
            videos.append(result)
            print(
                f"{result['video_id']}: predicted {result['predicted']} ({result['confidence']:.2f})"
            )
    index = write_attention_report(
        videos, FLAGS.output_dir, title="Attention at several frame rates"
    )
    print(f"Report: {index}")
