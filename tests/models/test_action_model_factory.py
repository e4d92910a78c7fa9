import pytest

import vidattn
from vidattn.models import ACTION_MODELS
from vidattn.models import build_action_model


@pytest.mark.parametrize(
    "name, model_class, pooling",
    [
        ("attention", vidattn.models.ActionRecognizer, None),
        ("average_pooled", vidattn.models.PooledLSTMRecognizer, "average"),
        ("max_pooled", vidattn.models.PooledLSTMRecognizer, "max"),
        (
            "softmax_regression",
            vidattn.models.SoftmaxRegressionRecognizer,
            None,
        ),
    ],
)
def test_every_name_builds_its_model(name, model_class, pooling):
    model = build_action_model(
        name,
        3,
        multi_label=True,
        class_names=("a", "b", "c"),
        feature_metadata={"window": 30},
        dropout=0.25,
        weight_decay=1e-4,
        seed=7,
        attention_penalty=0.0,
    )
    assert type(model) is model_class
    assert getattr(model, "pooling", None) == pooling
    assert (model.num_classes, model.multi_label) == (3, True)
    assert model.class_names == ("a", "b", "c")
    assert model.feature_metadata == {"window": 30}
    assert (model.dropout, model.weight_decay, model.seed) == (0.25, 1e-4, 7)
    assert name in ACTION_MODELS


def test_the_attention_model_gets_its_hyperparameters():
    model = build_action_model(
        "attention",
        4,
        units=32,
        num_layers=2,
        attention="additive",
        attention_penalty=10.0,
    )
    assert (model.units, model.num_layers, model.attention) == (
        32,
        2,
        "additive",
    )
    assert model.attention_penalty == 10.0


def test_an_unknown_name_lists_the_known_ones():
    with pytest.raises(ValueError) as error:
        build_action_model("lstm", 3)
    message = str(error.value)
    assert "name='lstm'" in message
    for name in ACTION_MODELS:
        assert repr(name) in message


@pytest.mark.parametrize(
    "name", ["average_pooled", "max_pooled", "softmax_regression"]
)
def test_a_baseline_refuses_an_attention_penalty(name):
    with pytest.raises(ValueError) as error:
        build_action_model(name, 3, attention_penalty=1.0)
    message = str(error.value)
    assert "attention_penalty=1.0" in message
    assert "only 'attention' takes it" in message


def test_a_hyperparameter_no_model_takes_is_refused():
    with pytest.raises(ValueError, match="no action model takes it"):
        build_action_model("attention", 3, momentum=0.9)
    with pytest.raises(ValueError, match="units=16"):
        build_action_model("softmax_regression", 3, units=16)
    with pytest.raises(ValueError, match="pooling='max'"):
        build_action_model("average_pooled", 3, pooling="max")
