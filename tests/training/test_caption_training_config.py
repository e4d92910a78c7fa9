import pytest

from vidattn.training import CaptionTrainingConfig


def test_the_defaults_are_the_thesis_s():
    config = CaptionTrainingConfig()
    assert (config.units, config.embedding_dim) == (4096, 512)
    assert (config.attention, config.attention_penalty) == ("linear", 1.0)
    assert (config.dropout, config.weight_decay) == (0.5, 1e-5)
    assert (config.optimizer, config.epochs, config.beam_width) == (
        "adam",
        15,
        4,
    )
    assert (config.best_metric, config.validation_videos) == ("METEOR", 100)
    assert config.score_metrics == ("bleu", "rouge_l", "cider", "meteor")


def test_the_configuration_maps_onto_the_model_factory():
    assert CaptionTrainingConfig(units=8).model_hyperparameters() == {
        "units": 8,
        "embedding_dim": 512,
        "attention": "linear",
        "attention_units": None,
        "attention_penalty": 1.0,
        "dropout": 0.5,
        "weight_decay": 1e-5,
        "seed": 0,
    }
    # The average-pooling baseline fixes uniform attention itself.
    hyperparameters = CaptionTrainingConfig(
        model="average_pool"
    ).model_hyperparameters()
    assert "attention" not in hyperparameters
    assert "attention_units" not in hyperparameters
    assert CaptionTrainingConfig(best_metric="BLEU-4").score_metrics == (
        "bleu",
        "rouge_l",
        "cider",
    )
    assert (
        CaptionTrainingConfig(
            best_metric="loss", validation_videos=0
        ).score_metrics
        == ()
    )


@pytest.mark.parametrize(
    "values, message",
    [
        ({"model": "attention"}, "Expected `model` to be one of"),
        ({"attention": "uniform"}, "Received: attention='uniform'"),
        ({"best_metric": "CIDEr"}, "Received: best_metric='CIDEr'"),
        ({"units": 0}, "Received: units=0"),
        ({"beam_width": 0}, "Received: beam_width=0"),
        ({"attention_units": 0}, "Received: attention_units=0"),
        ({"validation_videos": -1}, "Received: validation_videos=-1"),
        ({"dropout": 1.0}, "Received: dropout=1.0"),
        ({"learning_rate": 0.0}, "Received: learning_rate=0.0"),
        ({"attention_penalty": -1.0}, "Received: attention_penalty=-1.0"),
        (
            {"validation_videos": 0},
            "Received: validation_videos=0, best_metric='METEOR'",
        ),
    ],
)
def test_invalid_values_are_refused_with_the_field(values, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        CaptionTrainingConfig(**values)


def test_a_saved_configuration_loads_back_without_the_data_entries(tmp_path):
    config = CaptionTrainingConfig(units=64, best_metric="BLEU-4")
    config.save(tmp_path / "config.json", sampling="even:26/240")
    assert CaptionTrainingConfig.load(tmp_path / "config.json") == config
    with pytest.raises(ValueError, match=r"unknown keys: \['window'\]"):
        CaptionTrainingConfig.from_dict({"window": 30})
