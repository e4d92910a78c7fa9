"""The thesis's test protocol (section 2.2.2) on a feature dataset."""

import os

import keras
import numpy as np

from vidattn.data.feature_dataset import FeatureDataset
from vidattn.evaluation.class_matching import match_classes
from vidattn.evaluation.feature_matching import check_features
from vidattn.metrics.classification_metrics import classification_scores
from vidattn.metrics.classification_metrics import multilabel_scores
from vidattn.metrics.video_aggregation import aggregate_video_predictions

AGGREGATION_TEXT = {
    "mean": "mean of the per-step probabilities over each window, then mean "
    "over the video's windows",
    "vote": "mean of the per-step probabilities over each window, then a "
    "majority vote of the video's windows",
}

# How many names (videos, weights) a message lists.
_SHOWN = 5


def _some(names):
    more = len(names) - _SHOWN
    return ", ".join(names[:_SHOWN]) + (f" and {more} more" if more > 0 else "")


def _non_finite_weights(model):
    return [
        weight.path
        for weight in model.weights
        if not np.isfinite(keras.ops.convert_to_numpy(weight.value)).all()
    ]


def _check_finite(model, data, window_probabilities, video_index):
    """Refuses NaN or inf window predictions, naming videos and a cause."""
    finite = np.isfinite(window_probabilities).all(axis=1)
    if finite.all():
        return
    videos = np.unique(video_index[~finite])
    listed = _some([data.video_ids[index] for index in videos])
    weights = _non_finite_weights(model)
    if weights:
        cause = (
            f"The model has NaN or inf in {len(weights)} of its "
            f"{len(model.weights)} weights ({_some(weights)}): the "
            "training that wrote it diverged (too high a learning rate, "
            "non-finite features, or mixed_float16 without loss scaling). "
            "Evaluate a model saved before it diverged."
        )
    else:
        cause = (
            "The model's weights are finite: the likely causes are "
            "non-finite or extreme features in these videos, or a reduced "
            "precision that overflows."
        )
    raise ValueError(
        "Expected finite predictions from the model. Received NaN or inf in "
        f"{int((~finite).sum())} of {len(finite)} windows, in {len(videos)} "
        f"of {len(data.video_ids)} videos of {data.directory}: {listed}. "
        + cause
    )


def predict_videos(
    model,
    data,
    window=30,
    fps=None,
    stride=1,
    aggregation="mean",
    batch_size=32,
):
    """The thesis's test protocol on a dataset: windows, then videos.

    Every window of every video (as in training) is predicted; a window's
    prediction is the mean of its per-step probabilities, a video's the mean
    (or vote) over its windows.

    Args:
        model: a trained action model.
        data: a `vidattn.data.FeatureDataset`.
        window, fps, stride: the windows, as in training.
        aggregation: `"mean"` (the thesis) or `"vote"`.
        batch_size: windows per batch.

    Returns:
        `(video_probabilities (videos, classes), video_labels)`: labels are
        int `(videos,)` or multi-hot `(videos, classes)`, as the data store
        them.

    Raises:
        ValueError: if a window's prediction holds a NaN or inf, naming the
            videos (a few) and how many, with the likely cause.
    """
    probabilities, video_index = [], []
    labels = {}
    windows = data.evaluation_windows(
        batch_size, window_length=window, target_fps=fps, stride=stride
    )
    for inputs, label in windows:
        outputs = model.predict_on_batch({"features": inputs["features"]})
        probabilities.append(outputs["probabilities"])
        indices = inputs["video_index"].numpy()
        video_index.append(indices)
        for index, value in zip(indices, label.numpy()):
            labels.setdefault(int(index), value)
    probabilities = np.concatenate(probabilities)
    video_index = np.concatenate(video_index)
    _check_finite(model, data, probabilities, video_index)
    video_probabilities = aggregate_video_predictions(
        probabilities,
        video_index,
        num_videos=len(data.video_ids),
        method=aggregation,
    )
    video_labels = np.stack([labels[i] for i in range(len(data.video_ids))])
    return video_probabilities, video_labels


def evaluate_action_model(
    model_path,
    data_dir,
    window=30,
    fps=None,
    stride=1,
    aggregation="mean",
    batch_size=32,
):
    """Scores a saved model under the thesis's protocol, stated beside it.

    The scores are over the model's classes: the data's labels are matched
    to the model's `class_names` by name (models trained by
    `vidattn.training.train_action_model` carry them). Data of a subset of
    the model's classes are scored over all of them (the classes without
    videos have no per-class score, and a video predicted as one of them
    counts as wrong); a data class the model does not know is refused. A
    model without class names is read in the data's order, and must have
    as many classes.

    Args:
        model_path: str. A `.keras` action model.
        data_dir: str. The dataset folder to score.
        window, fps, stride: the windows, as in training.
        aggregation: `"mean"` (the thesis) or `"vote"`.
        batch_size: windows per batch.

    Returns:
        A dict: `"protocol"` (fps, window, stride, aggregation, counts),
        `"scores"` (accuracy, per-class accuracy and confusion matrix; or
        per-class AP and mAP for multi-label data), `"video_ids"`,
        `"predictions"` (video probabilities), `"class_names"` (the
        model's) and `"classes_missing_from_data"` (those of the model's
        classes that the data do not list).

    Raises:
        ValueError: if the data are unlabelled, of classes or features the
            model was not trained on, or a prediction is not finite.
    """
    data = FeatureDataset(data_dir)
    if not data.class_names:
        raise ValueError(
            f"Expected labelled data to score. Received {data.directory}, "
            "whose manifest lists no classes."
        )
    model = keras.models.load_model(model_path)
    class_names, data_to_model = match_classes(model, data, model_path)
    check_features(model, data, model_path)
    video_probabilities, video_labels = predict_videos(
        model,
        data,
        window=window,
        fps=fps,
        stride=stride,
        aggregation=aggregation,
        batch_size=batch_size,
    )
    if data.multi_label:
        labels = np.zeros((len(video_labels), len(class_names)), bool)
        labels[:, data_to_model] = video_labels
        scores = multilabel_scores(video_probabilities, labels, class_names)
    else:
        scores = classification_scores(
            video_probabilities, data_to_model[video_labels], class_names
        )
    known = {class_names[index] for index in data_to_model}
    return {
        "protocol": {
            "data": os.path.abspath(data_dir),
            "split": data.split,
            "model": os.path.abspath(model_path),
            "stored_fps": data.stored_fps,
            "fps": fps if fps is not None else data.stored_fps,
            "window": window,
            "stride": stride,
            "aggregation": AGGREGATION_TEXT[aggregation],
            "videos": len(data.video_ids),
            "windows": int(
                data.num_windows(
                    window_length=window, target_fps=fps, stride=stride
                )
            ),
        },
        "scores": scores,
        "class_names": class_names,
        "classes_missing_from_data": [
            name for name in class_names if name not in known
        ],
        "video_ids": list(data.video_ids),
        "predictions": video_probabilities.tolist(),
    }
