import numpy as np
import pytest

from vidattn.metrics import aggregate_video_predictions
from vidattn.metrics import average_precision
from vidattn.metrics import classification_scores
from vidattn.metrics import multilabel_scores


def test_mean_and_vote_over_a_videos_windows():
    windows = np.array([[0.6, 0.4], [0.45, 0.55], [0.4, 0.6], [0.9, 0.1]])
    video_index = np.array([0, 0, 0, 1])
    mean = aggregate_video_predictions(windows, video_index)
    np.testing.assert_allclose(mean, [[1.45 / 3, 1.55 / 3], [0.9, 0.1]])
    vote = aggregate_video_predictions(windows, video_index, method="vote")
    np.testing.assert_allclose(vote, [[1 / 3, 2 / 3], [1.0, 0.0]])


def test_a_video_without_windows_is_an_error():
    with pytest.raises(ValueError, match=r"video indices \[1\]"):
        aggregate_video_predictions(np.ones((2, 2)), [0, 2])
    with pytest.raises(ValueError, match="method='median'"):
        aggregate_video_predictions(np.ones((2, 2)), [0, 1], method="median")


def test_classification_scores():
    probabilities = np.array(
        [[0.9, 0.1, 0], [0.2, 0.7, 0.1], [0.6, 0.3, 0.1], [0, 0, 1]]
    )
    scores = classification_scores(probabilities, [0, 1, 1, 2], ["a", "b", "c"])
    assert scores["accuracy"] == 0.75
    assert scores["per_class_accuracy"] == {"a": 1.0, "b": 0.5, "c": 1.0}
    assert scores["confusion_matrix"] == [[1, 0, 0], [1, 1, 0], [0, 0, 1]]


def brute_force_average_precision(scores, relevant):
    ranked = sorted(range(len(scores)), key=lambda i: -scores[i])
    precisions, hits = [], 0
    for rank, i in enumerate(ranked, start=1):
        if relevant[i]:
            hits += 1
            precisions.append(hits / rank)
    return sum(precisions) / len(precisions)


def test_average_precision_against_a_brute_force_ranking():
    rng = np.random.default_rng(0)
    for _ in range(20):
        scores = rng.random(15)
        relevant = rng.random(15) < 0.4
        relevant[0] = True
        assert average_precision(scores, relevant) == pytest.approx(
            brute_force_average_precision(scores, relevant)
        )
    assert average_precision([0.9, 0.8, 0.1], [1, 0, 1]) == pytest.approx(
        (1 + 2 / 3) / 2
    )
    assert average_precision([0.5, 0.2], [0, 0]) is None


def test_multilabel_scores_skip_classes_without_positives():
    probabilities = np.array([[0.9, 0.2, 0.1], [0.1, 0.8, 0.3]])
    labels = np.array([[1, 0, 0], [0, 1, 0]])
    scores = multilabel_scores(probabilities, labels, ["x", "y", "z"])
    assert scores["average_precision"] == {"x": 1.0, "y": 1.0, "z": None}
    assert scores["mean_average_precision"] == 1.0


def test_non_finite_probabilities_are_refused():
    probabilities = np.array([[0.9, 0.1], [np.nan, np.nan], [0.2, np.inf]])
    with pytest.raises(
        ValueError, match=r"finite probabilities.*2 of 3 videos.*\[1, 2\]"
    ):
        classification_scores(probabilities, [0, 0, 1], ["a", "b"])
    with pytest.raises(ValueError, match=r"2 of 3 videos.*\[1, 2\]"):
        multilabel_scores(probabilities, np.eye(2)[[0, 0, 1]], ["a", "b"])
    with pytest.raises(ValueError, match=r"finite.*1 of 2 windows.*\[1\]"):
        aggregate_video_predictions([[0.5, 0.5], [np.nan, 0.1]], [0, 1])


def test_a_prediction_of_a_class_without_a_name_is_refused():
    # A 3-class model scored against 2 class names: an IndexError before.
    probabilities = np.array([[0.1, 0.2, 0.7], [0.8, 0.1, 0.1]])
    with pytest.raises(
        ValueError,
        match=r"shape \(videos, 2\).*2 class names.*Received.*\(2, 3\)",
    ):
        classification_scores(probabilities, [0, 1], ["a", "b"])
    with pytest.raises(ValueError, match=r"\(videos, 2\)"):
        multilabel_scores(probabilities, np.ones((2, 3)), ["a", "b"])


def test_labels_outside_the_classes_are_refused():
    probabilities = np.array([[0.9, 0.1], [0.2, 0.8]])
    with pytest.raises(ValueError, match=r"labels in \[0, 2\).*\[2\]"):
        classification_scores(probabilities, [0, 2], ["a", "b"])
    with pytest.raises(ValueError, match=r"2 labels.*Received 3"):
        classification_scores(probabilities, [0, 1, 1], ["a", "b"])
    with pytest.raises(ValueError, match=r"multi-hot labels of shape \(2, 2\)"):
        multilabel_scores(probabilities, [[1, 0]], ["a", "b"])
    with pytest.raises(ValueError, match=r"0 or 1.*rows \[1\]"):
        multilabel_scores(probabilities, [[1, 0], [2, 0]], ["a", "b"])
