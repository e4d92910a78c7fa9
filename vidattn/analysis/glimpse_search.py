"""The glimpse experiment of thesis Fig. 2.8.

Take a trained soft-attention model and one video. Re-initialise the
location-softmax weights to uniform random numbers between the minimum and
the maximum of the trained ones, freeze everything else, and optimise only
the location weights on this video until the model predicts a chosen class.
This changes where the model looks, never what it knows: it answers "is
there a sequence of glimpses under which the model gets this video right?".
"""

import dataclasses
import os

import keras
import numpy as np
import tensorflow as tf

from vidattn.analysis.video_attention import AttentionRecord
from vidattn.utils.arguments import check_int
from vidattn.utils.arguments import check_non_negative_int
from vidattn.utils.arguments import check_positive_number
from vidattn.utils.atomic_write import atomic_write
from vidattn.utils.atomic_write import write_json_atomically

RESULT_FILE = "glimpse.json"
LOCATION_WEIGHTS_FILE = "location_weights.npz"


@dataclasses.dataclass(eq=False)
class GlimpseSearchResult:
    """The glimpses and predictions before, at random, and after the search.

    Attention arrays are `(frames, K, K)`, probabilities `(num_classes,)`.
    `steps` is the number of optimisation steps taken; `found` whether the
    target class became the prediction; `location_weights` the optimised
    location-softmax weights, in the order of the cell's weights, and
    `location_weight_paths` their variable paths below the model (as
    `"recurrent/soft_attention_lstm_cell/attention_kernel"`).
    """

    target_class: int
    trained_attention: np.ndarray
    trained_probabilities: np.ndarray
    random_attention: np.ndarray
    random_probabilities: np.ndarray
    found_attention: np.ndarray
    found_probabilities: np.ndarray
    steps: int
    found: bool
    location_weights: list
    location_weight_paths: tuple = ()

    @property
    def titles(self):
        """The three glimpses' titles, as the report shows them."""
        return (
            "1 the model's glimpse",
            "2 random location weights",
            f"3 glimpse found after {self.steps} steps",
        )

    def records(self, frames, video_id, class_names=None):
        """The three glimpses as `AttentionRecord`s for the report.

        Args:
            frames: uint8 `(frames, height, width, 3)`: what to draw the
                glimpses over, one frame per step.
            video_id: str. The video; each record's id adds the title.
            class_names: tuple of str or `None`. Defaults to `None`.

        Returns:
            A list of three `vidattn.analysis.AttentionRecord`s, whose true
            class is the target class.
        """
        glimpses = (
            (self.trained_attention, self.trained_probabilities),
            (self.random_attention, self.random_probabilities),
            (self.found_attention, self.found_probabilities),
        )
        return [
            AttentionRecord(
                f"{video_id} {title}",
                frames=frames,
                attention=attention,
                probabilities=probabilities,
                class_names=class_names,
                true=self.target_class,
            )
            for title, (attention, probabilities) in zip(self.titles, glimpses)
        ]

    def save(self, output_dir, video_id=None, class_names=None):
        """Writes the outcome as JSON and the found location weights.

        `glimpse.json` says whether a glimpse was found, after how many
        steps, and what the model predicts under each glimpse;
        `location_weights.npz` holds the optimised location weights, keyed
        by their variable paths in the model, so that they can be set on
        the trained model to reproduce the found glimpse.

        Args:
            output_dir: str. Created if needed.
            video_id: str or `None`. Recorded in the JSON.
            class_names: tuple of str or `None`. Recorded in the JSON.

        Returns:
            The path of `glimpse.json`.
        """
        os.makedirs(output_dir, exist_ok=True)
        weights_path = os.path.join(output_dir, LOCATION_WEIGHTS_FILE)
        with atomic_write(weights_path, "wb") as file:
            np.savez(
                file,
                **dict(zip(self.location_weight_paths, self.location_weights)),
            )
        glimpses = {}
        for name in ("trained", "random", "found"):
            probabilities = getattr(self, f"{name}_probabilities")
            glimpses[name] = {
                "predicted": int(probabilities.argmax()),
                "probabilities": [float(p) for p in probabilities],
            }
        return write_json_atomically(
            os.path.join(output_dir, RESULT_FILE),
            {
                "video_id": video_id,
                "class_names": None
                if class_names is None
                else list(class_names),
                "target_class": self.target_class,
                "found": self.found,
                "steps": self.steps,
                "glimpses": glimpses,
                "location_weights": LOCATION_WEIGHTS_FILE,
                "location_weight_paths": list(self.location_weight_paths),
            },
        )


def _path_in_model(model, weight):
    # The variable's path below the model, the same in every copy of it.
    prefix = f"{model.name}/"
    path = weight.path
    return path[len(prefix) :] if path.startswith(prefix) else path


def _location_weights(model):
    return [
        w for w in model.cell.weights if "attention" in w.path.split("/")[-1]
    ]


def search_glimpse(
    model, features, target_class, max_steps=500, learning_rate=0.05, seed=0
):
    """Finds glimpses under which `model` predicts `target_class` for a video.

    Args:
        model: a trained `vidattn.models.ActionRecognizer` (left unchanged: the
            search runs on a copy).
        features: `(frames, K, K, channels)` or `(1, frames, K, K, channels)`.
        target_class: int. The class to reach.
        max_steps: int. Optimisation steps at most. Defaults to `500`.
        learning_rate: float. Adam's learning rate. Defaults to `0.05`.
        seed: int. Seed of the random re-initialisation.

    Returns:
        A `GlimpseSearchResult`.

    Raises:
        ValueError: if `target_class` is out of range, the model has no
            attention, or `max_steps` or `learning_rate` is out of range.
    """
    if not hasattr(model, "cell") or not _location_weights(model):
        raise ValueError(
            "Expected a soft-attention model (vidattn.models.ActionRecognizer)."
            f" Received: {type(model).__name__}"
        )
    max_steps = check_non_negative_int("max_steps", max_steps)
    learning_rate = check_positive_number("learning_rate", learning_rate)
    target_class = check_int("target_class", target_class)
    if not 0 <= target_class < model.num_classes:
        raise ValueError(
            f"Expected `target_class` in [0, {model.num_classes}). Received: "
            f"target_class={target_class!r}"
        )
    features = np.asarray(features, dtype=np.float32)
    if features.ndim == 4:
        features = features[None]
    config = model.get_config()
    config.update(dropout=0.0, weight_decay=0.0, attention_penalty=0.0)
    probe = type(model).from_config(config)
    probe(features)
    probe.set_weights(model.get_weights())

    def look():
        outputs = probe.predict_on_batch(features)
        return outputs["attention"][0], outputs["probabilities"][0]

    trained_attention, trained_probabilities = look()
    location_weights = _location_weights(probe)
    rng = np.random.default_rng(seed)
    for weight in location_weights:
        value = keras.ops.convert_to_numpy(weight)
        weight.assign(
            rng.uniform(value.min(), value.max(), value.shape).astype(
                value.dtype
            )
        )
    random_attention, random_probabilities = look()

    optimizer = keras.optimizers.Adam(learning_rate)
    target = np.array([target_class])

    @tf.function
    def optimise_location_weights():
        # Gradients flow to the location weights only: all else stays fixed.
        with tf.GradientTape() as tape:
            outputs = probe(features, training=False)
            loss = probe.compute_loss(features, target, outputs)
        gradients = tape.gradient(loss, location_weights)
        optimizer.apply_gradients(zip(gradients, location_weights))

    attention, probabilities = random_attention, random_probabilities
    steps = 0
    while probabilities.argmax() != target_class and steps < max_steps:
        optimise_location_weights()
        steps += 1
        attention, probabilities = look()
    return GlimpseSearchResult(
        target_class=target_class,
        trained_attention=trained_attention,
        trained_probabilities=trained_probabilities,
        random_attention=random_attention,
        random_probabilities=random_probabilities,
        found_attention=attention,
        found_probabilities=probabilities,
        steps=steps,
        found=bool(probabilities.argmax() == target_class),
        location_weights=[
            keras.ops.convert_to_numpy(w) for w in location_weights
        ],
        location_weight_paths=tuple(
            _path_in_model(probe, w) for w in location_weights
        ),
    )
