"""One video through a model: what it predicts and where it looks.

`attend` is the one path from a video's frames to what the attention
report draws: frames, through the backbone the model's features came from
(or the stored features of those frames), through the model, to an
`AttentionRecord`. The demo, the frame-rate study (thesis Fig. 2.6) and the
glimpse search (Fig. 2.8) all build their records here, and
`vidattn.visualization.write_attention_report` reads them.
"""

import dataclasses

import numpy as np

from vidattn.utils.arguments import check_int


@dataclasses.dataclass(frozen=True, eq=False)
class AttentionRecord:
    """What a model predicts for one video, and where it looks in its frames.

    The record is checked when built: one `(K, K)` attention map per frame,
    a class index within the probabilities, class names (when known) for
    every class.

    Args:
        video_id: str. Names the video in the report.
        frames: uint8 array `(steps, height, width, 3)`: the RGB frames the
            model saw, one per step.
        attention: float array `(steps, K, K)`: the location softmax of
            each step.
        probabilities: float array `(num_classes,)`: the clip's prediction.
        class_names: tuple of str, or `None` when unknown (the report then
            names classes by their index). Defaults to `None`.
        true: int or `None`. The index of the video's true class. Defaults
            to `None`.

    Example:

    >>> import numpy as np, vidattn
    >>> record = vidattn.analysis.AttentionRecord(
    ...     "clip",
    ...     frames=np.zeros((2, 8, 8, 3), "uint8"),
    ...     attention=np.full((2, 2, 2), 0.25),
    ...     probabilities=np.array([0.2, 0.8]),
    ...     class_names=("walk", "run"),
    ...     true=1,
    ... )
    >>> record.predicted_name, record.correct
    ('run', True)
    """

    video_id: str
    frames: np.ndarray
    attention: np.ndarray
    probabilities: np.ndarray
    class_names: tuple = None
    true: int = None

    def __post_init__(self):
        frames = np.asarray(self.frames)
        attention = np.asarray(self.attention, dtype=np.float32)
        probabilities = np.asarray(self.probabilities, dtype=np.float32)
        if frames.ndim != 4 or frames.shape[-1] != 3:
            raise ValueError(
                "Expected frames of shape (steps, height, width, 3). "
                f"Received: shape={frames.shape}"
            )
        if attention.ndim != 3 or attention.shape[0] != len(frames):
            raise ValueError(
                f"Expected attention of shape ({len(frames)}, K, K), one map "
                f"per frame. Received: shape={attention.shape}"
            )
        if probabilities.ndim != 1 or not len(probabilities):
            raise ValueError(
                "Expected probabilities of shape (num_classes,). Received: "
                f"shape={probabilities.shape}"
            )
        class_names = self.class_names
        if class_names is not None:
            class_names = tuple(str(name) for name in class_names)
            if len(class_names) != len(probabilities):
                raise ValueError(
                    f"Expected {len(probabilities)} class names, one per "
                    f"class. Received: class_names={class_names}"
                )
        true = check_int("true", self.true, allow_none=True)
        if true is not None and not 0 <= true < len(probabilities):
            raise ValueError(
                f"Expected `true` in [0, {len(probabilities)}). Received: "
                f"true={true}"
            )
        for name, value in (
            ("video_id", str(self.video_id)),
            ("frames", frames),
            ("attention", attention),
            ("probabilities", probabilities),
            ("class_names", class_names),
            ("true", true),
        ):
            object.__setattr__(self, name, value)

    @property
    def predicted(self):
        """int. The index of the most probable class."""
        return int(self.probabilities.argmax())

    @property
    def confidence(self):
        """float. The probability of the predicted class."""
        return float(self.probabilities[self.predicted])

    @property
    def predicted_name(self):
        """str. The predicted class's name, or its index when unnamed."""
        return self.class_name(self.predicted)

    @property
    def true_name(self):
        """str or `None`. The true class's name (or index), when known."""
        return None if self.true is None else self.class_name(self.true)

    @property
    def correct(self):
        """bool or `None`. Whether the prediction is right, when known."""
        return None if self.true is None else self.predicted == self.true

    def class_name(self, index):
        """The name of class `index`, or the index as a str when unnamed."""
        if self.class_names is None:
            return str(index)
        return self.class_names[index]


def attend(
    model,
    frames,
    video_id,
    *,
    features=None,
    backbone=None,
    class_names=None,
    true=None,
):
    """Runs `model` over one video and records what it predicts and where.

    Give either the video's `features` (as stored by `vidattn extract`) or
    the `backbone` they came from, which then computes them from `frames`.

    Args:
        model: a trained soft-attention action model
            (`vidattn.models.ActionRecognizer`).
        frames: uint8 array `(steps, height, width, 3)`: the frames the
            model sees, one per step.
        video_id: str. Names the video in the report.
        features: float array `(steps, K, K, channels)`, or `None` to
            compute it with `backbone`. Defaults to `None`.
        backbone: a `vidattn.backbones.Backbone`, or `None` when `features`
            is given. Defaults to `None`.
        class_names: tuple of str or `None`. Defaults to `None`.
        true: int or `None`. The true class index. Defaults to `None`.

    Returns:
        An `AttentionRecord`.

    Raises:
        ValueError: if both or neither of `features` and `backbone` are
            given, the features do not have one step per frame, or the model
            returns no attention.

    Example:

    ```python
    backbone = vidattn.backbones.EfficientNetLite0Backbone()
    frames = vidattn.data.VideoReader("golf.mp4").read(fps=6).frames[:30]
    record = vidattn.analysis.attend(model, frames, "golf", backbone=backbone)
    vidattn.visualization.write_attention_report([record], "golf_report")
    ```
    """
    if (features is None) == (backbone is None):
        raise ValueError(
            "Expected exactly one of `features` and `backbone`. Received: "
            f"features={'None' if features is None else 'an array'}, "
            f"backbone={backbone!r}"
        )
    frames = np.asarray(frames)
    if features is None:
        features = backbone.extract(frames)
    features = np.asarray(features, dtype=np.float32)
    if features.ndim != 4 or len(features) != len(frames):
        raise ValueError(
            f"Expected features of shape ({len(frames)}, K, K, channels), "
            f"one cube per frame. Received: shape={features.shape}"
        )
    outputs = model.predict_on_batch(features[None])
    if "attention" not in outputs:
        raise ValueError(
            "Expected a model that returns its attention "
            "(vidattn.models.ActionRecognizer). Received: "
            f"{type(model).__name__}, whose outputs are {sorted(outputs)}"
        )
    return AttentionRecord(
        video_id,
        frames=frames,
        attention=np.asarray(outputs["attention"][0]),
        probabilities=np.asarray(outputs["probabilities"][0]),
        class_names=class_names,
        true=true,
    )
