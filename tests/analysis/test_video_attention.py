import numpy as np
import pytest

import vidattn
from vidattn.analysis import AttentionRecord
from vidattn.analysis import attend

STEPS, GRID, CHANNELS, CLASSES = 3, 2, 4, 3


def frames_and_features(seed=0):
    rng = np.random.default_rng(seed)
    frames = rng.integers(0, 255, (STEPS, 16, 16, 3), dtype=np.uint8)
    features = rng.normal(size=(STEPS, GRID, GRID, CHANNELS))
    return frames, features.astype("float32")


def attention_model():
    model = vidattn.models.ActionRecognizer(CLASSES, units=4, num_layers=1)
    model(np.zeros((1, STEPS, GRID, GRID, CHANNELS), "float32"))
    return model


class MeanColourBackbone:
    """Features that depend on the frames: each cell's mean colour."""

    def extract(self, frames):
        cells = frames.reshape(len(frames), GRID, 8, GRID, 8, 3).mean((2, 4))
        return np.concatenate([cells, cells[..., :1]], -1) / 255.0


def test_attend_records_what_the_model_predicts_and_where_it_looks():
    model = attention_model()
    frames, features = frames_and_features()
    record = attend(
        model,
        frames,
        "clip",
        features=features,
        class_names=("a", "b", "c"),
        true=2,
    )
    outputs = model.predict(features[None], verbose=0)
    np.testing.assert_allclose(
        record.attention, outputs["attention"][0], atol=1e-6
    )
    np.testing.assert_allclose(
        record.probabilities, outputs["probabilities"][0], atol=1e-6
    )
    predicted = int(outputs["probabilities"][0].argmax())
    assert record.predicted == predicted
    assert record.predicted_name == "abc"[predicted]
    assert record.confidence == pytest.approx(
        outputs["probabilities"][0, predicted], abs=1e-6
    )
    assert record.true_name == "c" and record.correct == (predicted == 2)
    np.testing.assert_array_equal(record.frames, frames)


def test_attend_with_a_backbone_computes_the_features_from_the_frames():
    model = attention_model()
    frames, _ = frames_and_features()
    backbone = MeanColourBackbone()
    record = attend(model, frames, "clip", backbone=backbone)
    expected = attend(model, frames, "clip", features=backbone.extract(frames))
    np.testing.assert_allclose(record.attention, expected.attention)
    np.testing.assert_allclose(record.probabilities, expected.probabilities)
    assert record.class_names is None and record.predicted_name == str(
        record.predicted
    )


def test_attend_refuses_ambiguous_inputs_and_models_without_attention():
    model = attention_model()
    frames, features = frames_and_features()
    with pytest.raises(ValueError, match="exactly one of `features`"):
        attend(model, frames, "clip")
    with pytest.raises(ValueError, match="exactly one of `features`"):
        attend(
            model,
            frames,
            "clip",
            features=features,
            backbone=MeanColourBackbone(),
        )
    with pytest.raises(ValueError, match=r"Expected features of shape \(3,"):
        attend(model, frames, "clip", features=features[:2])
    pooled = vidattn.models.PooledLSTMRecognizer(CLASSES, units=4)
    with pytest.raises(ValueError, match="returns its attention"):
        attend(pooled, frames, "clip", features=features)


def test_a_record_checks_its_fields():
    frames, _ = frames_and_features()
    attention = np.full((STEPS, GRID, GRID), 0.25)
    probabilities = np.array([0.2, 0.5, 0.3])
    with pytest.raises(ValueError, match=r"Expected attention of shape \(3,"):
        AttentionRecord("v", frames, attention[:2], probabilities)
    with pytest.raises(ValueError, match="Expected frames of shape"):
        AttentionRecord("v", frames[..., 0], attention, probabilities)
    with pytest.raises(ValueError, match="Expected 3 class names"):
        AttentionRecord("v", frames, attention, probabilities, ("a", "b"))
    with pytest.raises(ValueError, match=r"Expected `true` in \[0, 3\)"):
        AttentionRecord("v", frames, attention, probabilities, true=3)
    record = AttentionRecord("v", frames, attention, probabilities, true=1)
    assert (record.predicted, record.correct) == (1, True)
    with pytest.raises(AttributeError):
        record.true = 0
