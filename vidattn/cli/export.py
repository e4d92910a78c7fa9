"""`vidattn export`: a trained model as a SavedModel version for TF Serving.

    vidattn export --model RUN/best.keras --export_base exports/ucf11

writes `exports/ucf11/VERSION/` (TF Serving's layout: the server serves the
highest version under `--model_base_path`), VERSION being the next integer
after the highest one there (1 in a new folder) or `--version`; an existing
version is refused unless `--overwrite`. The folder appears whole or not at
all. It holds the signatures (an action model: `clip` = `serving_default`,
`clip_with_mask`, `video`, `video_with_mask`; a captioner: `caption` =
`serving_default`, `caption_with_mask`) and, in `assets/`, the model's
metadata (`vidattn_metadata.json`) and its `class_names.txt` or
`vocabulary.txt`. The soft-attention action model also gets `stream_start`
and `stream_step`, to classify a stream frame by frame (`--nostreaming`
leaves them out). Every signature that takes feature cubes gets a
`<name>_from_frames` twin that takes uint8 RGB frames and runs the backbone
the model's features came from inside the graph (named in the model's
metadata, or by `--backbone`, `--layer`, `--input_size`; `--noraw_frames`
leaves them out). The command prints the folder and every signature's
inputs and outputs.

The window flags apply to action models (their `video` signatures cut each
video into the windows of the thesis's test protocol) and the decoding
flags to captioners; a flag of the other kind is refused.
"""

from absl import flags

from vidattn.cli.backbone_flags import backbone_from_flags
from vidattn.cli.backbone_flags import define_backbone_flags
from vidattn.cli.model_kind_flags import refuse_flags

FLAGS = flags.FLAGS

ACTION_FLAGS = (
    "frames",
    "top_k",
    "window",
    "fps",
    "stride",
    "aggregation",
    "streaming",
)
CAPTION_FLAGS = ("beam_width", "max_length", "length_normalization")


def define_flags():
    """Defines the flags of this command."""
    flags.DEFINE_string("model", None, "A trained .keras model.")
    flags.DEFINE_string(
        "export_base",
        None,
        "The model's folder for TF Serving (its --model_base_path), e.g. "
        "exports/ucf11; the export goes into a numbered folder inside.",
    )
    flags.DEFINE_integer(
        "version",
        None,
        "Version number (default: the next after the highest existing).",
        lower_bound=1,
    )
    flags.DEFINE_boolean(
        "overwrite", False, "Replace the version if it exists."
    )
    flags.DEFINE_integer(
        "frames",
        None,
        "Action models: frames per clip of the clip signatures (default: any).",
        lower_bound=1,
    )
    flags.DEFINE_integer(
        "top_k", 5, "Action models: classes named per answer.", lower_bound=1
    )
    flags.DEFINE_integer(
        "window",
        None,
        "Action models: frames per window of the video signatures "
        "(default: the model's training window, else 30).",
        lower_bound=1,
    )
    flags.DEFINE_float(
        "fps",
        None,
        "Action models: frame rate of the windows (default: the model's).",
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
        "Captioners: beam width of the served search; 1 is greedy.",
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
        "log p / length**alpha.",
        lower_bound=0.0,
    )
    flags.DEFINE_boolean(
        "streaming",
        None,
        "Action models: add stream_start and stream_step (default: for the "
        "soft-attention model, the one that streams).",
    )
    flags.DEFINE_boolean(
        "raw_frames",
        True,
        "Add a <signature>_from_frames twin of each signature, which takes "
        "uint8 RGB frames and runs the backbone in the graph.",
    )
    define_backbone_flags()
    flags.mark_flags_as_required(["model", "export_base"])


def main(argv):
    del argv
    import keras

    from vidattn.export import export_model
    from vidattn.export import signature_summary
    from vidattn.models import CaptionGenerator

    model = keras.models.load_model(FLAGS.model)
    if isinstance(model, CaptionGenerator):
        refuse_flags(ACTION_FLAGS, "a captioner", "action models")
        settings = {name: FLAGS[name].value for name in CAPTION_FLAGS}
    else:
        refuse_flags(CAPTION_FLAGS, "an action model", "captioners")
        settings = {
            "frames": FLAGS.frames,
            "top_k": FLAGS.top_k,
            "window_length": FLAGS.window,
            "fps": FLAGS.fps,
            "stride": FLAGS.stride,
            "aggregation": FLAGS.aggregation,
            "streaming": FLAGS.streaming,
        }
    if FLAGS.raw_frames:
        backbone = backbone_from_flags(model)
        if tuple(backbone.feature_shape) != tuple(model.feature_grid):
            raise ValueError(
                f"Expected the backbone of {FLAGS.model}'s features, whose "
                f"cubes are {tuple(model.feature_grid)}. Received "
                f"{backbone!r}, whose cubes are "
                f"{tuple(backbone.feature_shape)}: name the model's backbone "
                "with --backbone, --layer and --input_size, or leave out the "
                "_from_frames signatures with --noraw_frames."
            )
        settings["backbone"] = backbone
    export_dir = export_model(
        model,
        FLAGS.export_base,
        version=FLAGS.version,
        overwrite=FLAGS.overwrite,
        **settings,
    )
    print(f"SavedModel: {export_dir}")
    for name, tensors in signature_summary(export_dir).items():
        print(f"  {name}")
        print(f"    inputs:  {'; '.join(tensors['inputs'])}")
        print(f"    outputs: {'; '.join(tensors['outputs'])}")
