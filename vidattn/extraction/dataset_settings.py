"""The settings of the dataset folder that an extraction writes."""


def dataset_settings(
    backbone, sampling, *, split, dtype, class_names, multi_label
):
    """The dataset-level settings of a split extracted with `backbone`.

    Args:
        backbone: a `vidattn.backbones.Backbone`: its name, layer, input
            size and K×K×D geometry.
        sampling: a `vidattn.data.FrameSampling`: the stored frame rate.
        split: str.
        dtype: str. Storage dtype.
        class_names: sequence of str.
        multi_label: bool.

    Returns:
        A dict of the keyword arguments that `vidattn.data.ShardWriter` and
        `vidattn.data.Manifest.create` share.
    """
    return {
        "split": split,
        "backbone": backbone.name,
        "layer": backbone.layer_name,
        "input_size": backbone.input_size,
        "grid_size": backbone.grid_size,
        "channels": backbone.channels,
        "dtype": dtype,
        "stored_fps": sampling.stored_fps,
        "class_names": class_names,
        "multi_label": multi_label,
    }
