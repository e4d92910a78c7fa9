import numpy as np

import vidattn
from vidattn.analysis import backbone_for
from vidattn.analysis import class_names_of


def built_model():
    model = vidattn.models.ActionRecognizer(2, units=4, num_layers=1)
    model(np.zeros((1, 2, 2, 2, 4), "float32"))
    return model


def test_class_names_come_from_the_model_else_the_fallback():
    model = built_model()
    assert class_names_of(model) is None
    assert class_names_of(model, fallback=["x", "y"]) == ("x", "y")
    named = vidattn.models.ActionRecognizer(
        2, units=4, num_layers=1, class_names=("jump", "sit")
    )
    assert class_names_of(named, fallback=["x", "y"]) == ("jump", "sit")


def test_the_backbone_is_the_models_unless_a_flag_says_otherwise():
    model = built_model()
    default = backbone_for(model, input_size=64)
    assert default.name == "efficientnet_lite0"
    assert default.input_size == (64, 64)
    model = vidattn.models.ActionRecognizer(
        2,
        units=4,
        num_layers=1,
        feature_metadata={
            "backbone": "efficientnet_lite0",
            "layer": None,
            "input_size": [96, 96],
        },
    )
    assert backbone_for(model).input_size == (96, 96)
    assert backbone_for(model, "efficientnet_lite0").input_size == (224, 224)
