"""Which of a model's outputs each class of a dataset is, matched by name."""

import numpy as np


def _names(names):
    return ", ".join(names) if names else "none"


def match_classes(model, data, model_path):
    """Maps the data's class indices onto the model's outputs, by name.

    A model trained by `vidattn train` carries its `class_names`: each of
    the data's classes must be one of them, and is scored as the output of
    that name, whatever order either side lists them in. The data may hold
    fewer classes than the model (a test split without some class): the
    scores stay over all of the model's classes, since a video predicted as
    a class missing from the data is still a wrong answer. A model without
    class names is read in the data's order, which is only sound when the
    counts agree.

    Args:
        model: the loaded action model.
        data: the `vidattn.data.FeatureDataset` to score.
        model_path: str. The model's file, for messages.

    Returns:
        `(class_names, data_to_model)`: the names of the model's outputs,
        and an int array whose entry `i` is the output of the data's class
        `i`.

    Raises:
        ValueError: if a class of the data is not one of the model's, the
            model has no class names and another number of classes, or one
            side is multi-label and the other not.
    """
    model_names = getattr(model, "class_names", None)
    num_classes = getattr(model, "num_classes", None)
    data_names = list(data.class_names)
    multi_label = getattr(model, "multi_label", data.multi_label)
    if multi_label != data.multi_label:
        kinds = {True: "multi-label", False: "single-label"}
        raise ValueError(
            f"Expected data of the kind the model {model_path} was trained "
            f"on ({kinds[multi_label]}). Received {kinds[data.multi_label]} "
            f"data in {data.directory}."
        )
    if model_names is None:
        if num_classes is not None and num_classes != len(data_names):
            raise ValueError(
                f"The model {model_path} has {num_classes} classes and no "
                f"class names; the data in {data.directory} have "
                f"{len(data_names)} classes ({_names(data_names)}), so "
                "nothing tells which output is which class. Expected a "
                "model trained by `vidattn train` (it saves the class "
                f"names) or data of {num_classes} classes."
            )
        return data_names, np.arange(len(data_names))
    model_names = list(model_names)
    if len(set(model_names)) != len(model_names):
        raise ValueError(
            f"Expected the model {model_path} to name each class once. "
            f"Received class names {model_names}."
        )
    unknown = [name for name in data_names if name not in model_names]
    if unknown:
        missing = [name for name in model_names if name not in data_names]
        raise ValueError(
            f"Expected data of the classes the model {model_path} was "
            f"trained on ({_names(model_names)}). The data in "
            f"{data.directory} hold classes the model does not know: "
            f"{_names(unknown)} (model classes missing from the data: "
            f"{_names(missing)}). Evaluate the model on data of its own "
            "classes."
        )
    return model_names, np.array(
        [model_names.index(name) for name in data_names], np.int64
    )
