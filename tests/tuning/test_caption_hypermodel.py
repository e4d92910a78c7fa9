import keras_tuner
import pytest

import vidattn
from tests.fixtures.caption_datasets import CHANNELS
from tests.fixtures.caption_datasets import GRID_SIZE
from tests.fixtures.caption_datasets import write_captioned_dataset
from vidattn.training.caption_inputs import build_caption_tokenizer
from vidattn.tuning import CaptionHyperModel
from vidattn.tuning import run_search

FRAMES = 4


@pytest.fixture(scope="module")
def captioned(tmp_path_factory):
    directory = tmp_path_factory.mktemp("captions")
    # The linear attention needs videos of one length.
    write_captioned_dataset(directory, frame_counts=(FRAMES,) * 5)
    return vidattn.data.FeatureDataset(str(directory))


def test_the_searched_values_reach_the_captioner(captioned):
    hypermodel = CaptionHyperModel(
        build_caption_tokenizer(captioned),
        FRAMES,
        GRID_SIZE,
        CHANNELS,
        widths=(6,),
        embedding_dims=(5,),
        penalties=(1.0,),
        dropout_range=(0.3, 0.3),
        attentions=("linear", "additive"),
        beam_widths=(1, 3),
        feature_metadata={"layer": "random"},
        objective="bleu4",
    )
    hp = keras_tuner.HyperParameters()
    hp.Fixed("attention", "additive")
    model = hypermodel.build(hp)
    assert isinstance(model, vidattn.models.VideoCaptioner)
    assert (model.units, model.embedding_dim) == (6, 5)
    assert (model.attention_penalty, model.dropout) == (1.0, 0.3)
    assert model.attention == "additive"
    assert model.compiled
    assert hp.values["beam_width"] == 1
    assert set(hp.values) == {
        "beam_width",
        "units",
        "embedding_dim",
        "attention",
        "attention_penalty",
        "learning_rate",
    }
    assert hypermodel.objective.name == "val_BLEU-4"
    assert hypermodel.objective.direction == "max"


@pytest.mark.slow
def test_a_caption_trial_is_chosen_on_its_bleu4(captioned, tmp_path):
    best = run_search(
        captioned,
        captioned,
        directory=str(tmp_path / "search"),
        project_name="captioner",
        task="captioning",
        max_trials=1,
        epochs=1,
        batch_size=4,
        widths=(4,),
        penalties=(0.0,),
        embedding_dims=(4,),
        beam_widths=(2,),
        validation_videos=4,
        max_length=4,
        verbose=0,
    )
    (trial,) = best["tuner"].oracle.trials.values()
    assert trial.status == "COMPLETED"
    logged = trial.metrics.get_history("val_BLEU-4")
    assert len(logged) == 1
    assert 0.0 <= logged[0].value[0] <= 1.0
    assert trial.score == logged[0].value[0]
    assert best["summary"][0]["val_BLEU-4"] == pytest.approx(trial.score)
