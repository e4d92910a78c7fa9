import io
import os

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

import vidattn
from vidattn.analysis import caption_attention_records
from vidattn.layers import CaptionTokenizer
from vidattn.training.caption_attention_image_logger import (
    CaptionAttentionImageLogger,
)
from vidattn.visualization import caption_attention_strip

VIDEOS, FRAMES, GRID, CHANNELS = 2, 4, 2, 8


def read_events(folder):
    """`{(tag, step): summary value}` of every event file in `folder`."""
    values = {}
    for name in os.listdir(folder):
        path = os.path.join(folder, name)
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                values[value.tag, event.step] = value
    return values


def test_logger_writes_each_videos_strip_and_sentence(tmp_path):
    tokenizer = CaptionTokenizer(["a", "red", "disk", "moves"])
    model = vidattn.models.VideoCaptioner(
        tokenizer, units=16, embedding_dim=8, seed=2
    )
    rng = np.random.default_rng(2)
    inputs = {
        "features": rng.random((VIDEOS, FRAMES, GRID, GRID, CHANNELS)),
        "frame_mask": np.array([[1, 1, 1, 1], [1, 1, 1, 0]], bool),
    }
    frames = rng.integers(0, 256, (VIDEOS, FRAMES, 12, 12, 3), dtype=np.uint8)
    logger = CaptionAttentionImageLogger(
        tmp_path,
        inputs,
        frames=frames,
        max_length=6,
        every_n_epochs=2,
        video_ids=["left", "right"],
    )
    logger.set_model(model)
    for epoch in range(3):
        logger.on_epoch_end(epoch)
    values = read_events(tmp_path / "attention")
    # Every second epoch: epoch 1 (the second), not 0 or 2.
    assert sorted(values) == [
        ("left/attention", 1),
        ("left/sentence", 1),
        ("right/attention", 1),
        ("right/sentence", 1),
    ]
    records = caption_attention_records(
        model,
        inputs["features"],
        frames=frames,
        frame_mask=inputs["frame_mask"],
        beam_width=1,
        max_length=6,
    )
    for video_id, record in zip(("left", "right"), records):
        image = tf.make_ndarray(values[video_id + "/attention", 1].tensor)
        width, height, png = image
        strip = np.asarray(Image.open(io.BytesIO(png)))
        np.testing.assert_array_equal(strip, caption_attention_strip(record))
        assert (int(width), int(height)) == (strip.shape[1], strip.shape[0])
        text = tf.make_ndarray(values[video_id + "/sentence", 1].tensor)
        assert text.item().decode() == (
            f"{record.sentence} (log probability {record.log_probability:.2f})"
        )


def test_logger_refuses_bad_settings(tmp_path):
    features = np.zeros((1, FRAMES, GRID, GRID, CHANNELS))
    with pytest.raises(ValueError, match="every_n_epochs"):
        CaptionAttentionImageLogger(tmp_path, features, every_n_epochs=0)
    with pytest.raises(ValueError, match='with the key "features"'):
        CaptionAttentionImageLogger(tmp_path, {"frames": features})
