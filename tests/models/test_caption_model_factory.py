import pytest

import vidattn


@pytest.mark.parametrize(
    "name, attention, video_input",
    [
        ("soft_attention", "additive", "every_step"),
        ("average_pool", "uniform", "every_step"),
        ("first_time_step", "additive", "first_step"),
    ],
)
def test_names_fix_the_baselines(name, attention, video_input):
    arguments = {"vocabulary_size": 20, "units": 8, "embedding_dim": 4}
    if name != "average_pool":
        arguments["attention"] = "additive"
    model = vidattn.models.build_video_captioner(name, **arguments)
    assert isinstance(model, vidattn.models.VideoCaptioner)
    assert (model.attention, model.video_input) == (attention, video_input)


def test_default_is_the_thesis_model():
    model = vidattn.models.build_video_captioner(vocabulary_size=20)
    assert (model.attention, model.video_input) == ("linear", "every_step")
    assert vidattn.models.CAPTION_MODELS == (
        "soft_attention",
        "average_pool",
        "first_time_step",
    )


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(ValueError) as error:
        vidattn.models.build_video_captioner("hard_attention")
    message = str(error.value)
    assert "Received: name='hard_attention'" in message
    assert "'soft_attention', 'average_pool', 'first_time_step'" in message


def test_an_argument_against_the_name_is_refused():
    with pytest.raises(ValueError, match="fixes it. Received: attention="):
        vidattn.models.build_video_captioner(
            "average_pool", vocabulary_size=20, attention="linear"
        )
