"""The flags that name the backbone a model's features came from."""

from absl import flags

FLAGS = flags.FLAGS


def define_backbone_flags():
    """Defines --backbone, --layer, --weights and --input_size."""
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
        "weights", "imagenet", "Its weights: imagenet, none or a file."
    )
    flags.DEFINE_integer(
        "input_size", None, "Its input size (default: its own)."
    )


def backbone_from_flags(model):
    """The backbone `model` reads, as the flags override it."""
    from vidattn.analysis import backbone_for

    return backbone_for(
        model,
        FLAGS.backbone,
        layer_name=FLAGS.layer,
        weights=FLAGS.weights,
        input_size=FLAGS.input_size,
    )
