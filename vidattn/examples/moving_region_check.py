"""Does soft attention do what the thesis claims? The moving-region check.

Trains the soft-attention model and the average-pooled LSTM baseline on the
generated moving-region videos (`vidattn.datasets.moving_region`) and
measures, on held-out videos, clip accuracy and the attention mass on the
deciding region.
"""

import dataclasses
import time

import keras
import numpy as np

from vidattn.datasets.moving_region import attention_on_region
from vidattn.datasets.moving_region import generate_moving_region_videos
from vidattn.models.action_recognizer import ActionRecognizer
from vidattn.models.pooled_lstm_recognizer import PooledLSTMRecognizer
from vidattn.utils.arguments import check_one_of
from vidattn.utils.arguments import check_positive_int
from vidattn.utils.arguments import check_positive_number


@dataclasses.dataclass
class CheckResult:
    """Held-out figures of one model."""

    model: str
    accuracy: float
    attention_on_region: float
    seconds: float

    def describe(self, uniform):
        """One line for a person: accuracy, attention and time."""
        if np.isnan(self.attention_on_region):
            focus = "no attention"
        else:
            focus = (
                "attention on the deciding region "
                f"{self.attention_on_region:.3f}"
                f" ({self.attention_on_region / uniform:.1f}x uniform)"
            )
        return (
            f"{self.model:<28} accuracy {self.accuracy:.3f}   {focus}   "
            f"[{self.seconds:.0f} s]"
        )


def run_moving_region_check(
    train_videos=2000,
    test_videos=500,
    epochs=10,
    units=64,
    num_layers=1,
    attention="linear",
    learning_rate=3e-3,
    seed=0,
    verbose=0,
):
    """Trains soft attention and the average-pooled LSTM; evaluates both.

    Args:
        train_videos: int. Generated training videos.
        test_videos: int. Held-out videos, generated with another seed.
        epochs: int. Training epochs of each model.
        units: int. LSTM width of both models.
        num_layers: int. LSTM depth of both models.
        attention: str. The attention form, `"linear"` or `"additive"`.
        learning_rate: float. Adam's learning rate.
        seed: int. Seeds the data and the weights.
        verbose: int. Keras `fit` verbosity.

    Returns:
        A dict with `"results"` (a list of `CheckResult`, attention first)
        and `"uniform"`, the attention mass that uniform attention would put
        on the region.

    Raises:
        ValueError: if an argument is out of range.
    """
    for name, value in (
        ("train_videos", train_videos),
        ("test_videos", test_videos),
        ("epochs", epochs),
        ("units", units),
        ("num_layers", num_layers),
    ):
        check_positive_int(name, value)
    check_one_of("attention", attention, ("linear", "additive"))
    check_positive_number("learning_rate", learning_rate)
    train = generate_moving_region_videos(train_videos, seed=2 * seed + 1)
    test = generate_moving_region_videos(test_videos, seed=2 * seed + 2)
    num_classes = len(train.class_names)
    grid_size = train.features.shape[2]
    # The generated slices are at unit scale already (norms near 1 to 6):
    # the models read them as they are, as the check has always measured.
    common = dict(
        units=units,
        num_layers=num_layers,
        dropout=0.0,
        weight_decay=0.0,
        feature_normalization=None,
    )
    candidates = [
        (
            f"soft attention ({attention})",
            lambda: ActionRecognizer(
                num_classes, attention=attention, **common
            ),
        ),
        (
            "average-pooled LSTM",
            lambda: PooledLSTMRecognizer(num_classes, "average", **common),
        ),
    ]
    results = []
    for name, make_model in candidates:
        keras.utils.set_random_seed(seed)
        started = time.perf_counter()
        model = make_model()
        model.compile(optimizer=keras.optimizers.Adam(learning_rate))
        model.fit(
            train.features,
            train.labels,
            epochs=epochs,
            batch_size=32,
            verbose=verbose,
        )
        outputs = model.predict(test.features, batch_size=128, verbose=0)
        accuracy = float(
            np.mean(outputs["probabilities"].argmax(-1) == test.labels)
        )
        focus = (
            attention_on_region(outputs["attention"], test.region)
            if "attention" in outputs
            else float("nan")
        )
        results.append(
            CheckResult(name, accuracy, focus, time.perf_counter() - started)
        )
    return {"results": results, "uniform": 1.0 / grid_size**2}
