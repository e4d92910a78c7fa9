import pytest

from vidattn.tuning.search_objectives import default_objective
from vidattn.tuning.search_objectives import search_objective


@pytest.mark.parametrize(
    "task, multi_label, name, log_name, direction",
    [
        ("action", False, "video_accuracy", "val_video_accuracy", "max"),
        ("action", True, "video_map", "val_video_map", "max"),
        ("captioning", False, "bleu4", "val_BLEU-4", "max"),
    ],
)
def test_each_task_defaults_to_the_metric_its_papers_report(
    task, multi_label, name, log_name, direction
):
    assert default_objective(task, multi_label) == name
    objective = search_objective(None, task, multi_label)
    assert (objective.name, objective.direction) == (log_name, direction)


def test_meteor_and_the_validation_loss_are_named_as_keras_logs_them():
    meteor = search_objective("meteor", "captioning")
    assert (meteor.name, meteor.direction) == ("val_METEOR", "max")
    for task in ("action", "captioning"):
        loss = search_objective("val_loss", task)
        assert (loss.name, loss.direction) == ("val_loss", "min")


@pytest.mark.parametrize(
    "name, task, multi_label, message",
    [
        (
            "bleu4",
            "action",
            False,
            "Expected an objective that scores a "
            "action model: video_accuracy, video_map, val_loss. Received: "
            "objective='bleu4', which scores captioning models.",
        ),
        ("video_map", "captioning", False, "Received: objective='video_map'"),
        ("video_accuracy", "action", True, "for multi-label data"),
        ("accuracy", "action", False, "one of"),
    ],
)
def test_a_wrong_pair_of_objective_and_task_is_refused(
    name, task, multi_label, message
):
    with pytest.raises(ValueError) as error:
        search_objective(name, task, multi_label)
    assert message in str(error.value)
