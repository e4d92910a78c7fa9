"""The glimpse experiment of thesis Fig. 2.8.

Take a trained soft-attention model and one video. Re-initialise the
location-softmax weights to uniform random numbers between the minimum and
the maximum of the trained ones, freeze everything else, and optimise only
the location weights on this video until the model predicts a chosen class.
This changes where the model looks, never what it knows: it answers "is
there a sequence of glimpses under which the model gets this video right?".
"""

import dataclasses

import keras
import numpy as np
import tensorflow as tf


@dataclasses.dataclass
class GlimpseSearchResult:
    """The glimpses and predictions before, at random, and after the search.

    Attention arrays are `(frames, K, K)`, probabilities `(num_classes,)`.
    `steps` is the number of optimisation steps taken; `found` whether the
    target class became the prediction; `location_weights` the optimised
    location-softmax weights, in the order of the cell's weights.
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
        ValueError: if `target_class` is out of range or the model has no
            attention.
    """
    if not hasattr(model, "cell") or not _location_weights(model):
        raise ValueError(
            "Expected a soft-attention model (vidattn.models.ActionRecognizer)."
            f" Received: {type(model).__name__}"
        )
    if not 0 <= int(target_class) < model.num_classes:
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
        target_class=int(target_class),
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
    )
