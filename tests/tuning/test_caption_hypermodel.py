import keras_tuner
import pytest

import vidattn
from tests.fixtures.caption_datasets import CHANNELS
from tests.fixtures.caption_datasets import GRID_SIZE
from tests.fixtures.caption_datasets import write_captioned_dataset
from vidattn.training.caption_inputs import build_caption_tokenizer
from vidattn.tuning import CaptionHyperModel

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
