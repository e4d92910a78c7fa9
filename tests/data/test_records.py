"""Tests for vidattn.data.records: one video as a record."""

import re

import numpy as np
import pytest
import tensorflow as tf

from vidattn.data import records
from vidattn.data import schema


def _features(frames=5, k=2, d=3, seed=0, dtype="float32"):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(frames, k, k, d)).astype(dtype)


def _encode(features, **overrides):
    kwargs = dict(
        backbone="efficientnet_lite0",
        layer="top_activation",
        sampling="fps=30",
        stored_fps=30.0,
        source_fps=29.97,
        labels=2,
        num_classes=4,
        captions=["a man rides a bike", "ein Mann fährt Rad"],
    )
    kwargs.update(overrides)
    return records.encode_video("v_biking_01", features, **kwargs)


def _with_version(serialized, version):
    example = tf.train.SequenceExample.FromString(serialized)
    values = example.context.feature["schema_version"].int64_list.value
    del values[:]
    values.append(version)
    return example.SerializeToString()


@pytest.mark.parametrize("dtype", ["float16", "float32"])
def test_round_trip_eager_and_tf(dtype):
    features = _features(frames=6, k=3, d=5)
    serialized = _encode(features, dtype=dtype)
    expected = features.astype(dtype)

    video = records.decode_video(serialized)
    assert video["features"].dtype == np.dtype(dtype)
    assert video["features"].shape == (6, 3, 3, 5)
    np.testing.assert_array_equal(video["features"], expected)
    assert video["video_id"] == "v_biking_01"
    assert video["num_frames"] == 6
    assert video["grid_size"] == 3 and video["channels"] == 5
    assert video["dtype"] == dtype
    assert video["schema_version"] == schema.SCHEMA_VERSION
    assert video["sampling"] == "fps=30"
    assert video["stored_fps"] == 30.0
    assert video["source_fps"] == pytest.approx(29.97, rel=1e-6)
    assert video["backbone"] == "efficientnet_lite0"
    assert video["layer"] == "top_activation"
    assert video["labels"].tolist() == [2]
    assert video["num_classes"] == 4 and video["multi_label"] == 0
    assert video["captions"] == ["a man rides a bike", "ein Mann fährt Rad"]
    assert set(video) == {field.name for field in schema.RECORD_FIELDS}

    parsed = records.parse_video_tensors(
        tf.constant(serialized), grid_size=3, channels=5, dtype=dtype
    )
    assert parsed["features"].dtype == tf.as_dtype(dtype)
    np.testing.assert_array_equal(parsed["features"].numpy(), expected)
    assert parsed["video_id"].numpy() == b"v_biking_01"
    assert parsed["labels"].numpy().tolist() == [2]
    assert [c.decode() for c in parsed["captions"].numpy()] == video["captions"]
    assert parsed["num_frames"].numpy() == 6


def test_frames_are_channels_last_little_endian_bytes():
    features = _features(frames=2, k=2, d=3)
    example = tf.train.SequenceExample.FromString(_encode(features))
    frames = example.feature_lists.feature_list["features"].feature
    assert len(frames) == 2
    assert frames[1].bytes_list.value[0] == features[1].astype("<f2").tobytes()


def test_multi_label_and_unlabelled():
    features = _features()
    video = records.decode_video(
        _encode(features, labels=[3, 0], num_classes=4, multi_label=True)
    )
    assert video["labels"].tolist() == [0, 3]
    assert video["multi_label"] == 1
    multi_hot = np.array([True, False, True, False])
    video = records.decode_video(
        _encode(features, labels=multi_hot, num_classes=4, multi_label=True)
    )
    assert video["labels"].tolist() == [0, 2]
    video = records.decode_video(
        _encode(features, labels=[], num_classes=4, multi_label=True)
    )
    assert video["labels"].tolist() == []
    video = records.decode_video(
        _encode(features, labels=None, num_classes=0, captions=None)
    )
    assert video["labels"].tolist() == [] and video["captions"] == []


@pytest.mark.parametrize(
    "bad_value, message",
    [(np.nan, "expected finite feature values"), (np.inf, "expected finite")],
)
def test_non_finite_features_are_refused(bad_value, message):
    features = _features()
    features[3, 1, 0, 2] = bad_value
    with pytest.raises(ValueError, match=message) as info:
        _encode(features)
    assert "'v_biking_01'" in str(info.value)
    assert "frame 3, location (1, 0), channel 2" in str(info.value)


def test_float16_overflow_is_refused():
    features = _features()
    features[0, 0, 0, 0] = 1e5
    with pytest.raises(ValueError, match="within the range of float16"):
        _encode(features, dtype="float16")
    assert (
        records.decode_video(_encode(features, dtype="float32"))["features"][
            0, 0, 0, 0
        ]
        == 1e5
    )


@pytest.mark.parametrize(
    "shape",
    [(5, 2, 2), (5, 2, 3, 3), (0, 2, 2, 3), (8, 1024, 7, 7), (2, 2, 2, 3, 1)],
)
def test_wrong_rank_or_shape_is_refused(shape):
    with pytest.raises(ValueError) as info:
        _encode(np.zeros(shape, "float32"))
    text = str(info.value)
    assert "'v_biking_01'" in text
    assert "expected features of shape (frames, K, K, D)" in text
    assert f"Received: shape {shape}" in text


@pytest.mark.parametrize(
    "captions, message",
    [
        (["a dog runs", ""], "caption 1 = ''"),
        (["   "], "caption 0 = '   '"),
        ("a dog runs", "received a single string"),
        ([3], "expected caption 0 to be a string"),
    ],
)
def test_bad_captions_are_refused(captions, message):
    with pytest.raises(ValueError, match=re.escape(message)) as info:
        _encode(_features(), captions=captions)
    assert "'v_biking_01'" in str(info.value)


@pytest.mark.parametrize(
    "labels, num_classes, multi_label, message",
    [
        (4, 4, False, "expected class indices in [0, 4). Received: label 4"),
        (-1, 4, False, "Received: label -1"),
        ([0, 1], 4, False, "expected exactly one label"),
        ([], 4, False, "expected exactly one label"),
        ([1, 1], 4, True, "at most once"),
        ([0, 7], 4, True, "Received: label 7"),
        (1, 0, False, "expected no labels"),
        ([1.5], 4, False, "expected integer class indices"),
        (np.array([True, False]), 4, True, "boolean multi-hot label vector"),
    ],
)
def test_bad_labels_are_refused(labels, num_classes, multi_label, message):
    with pytest.raises(ValueError, match=re.escape(message)) as info:
        _encode(
            _features(),
            labels=labels,
            num_classes=num_classes,
            multi_label=multi_label,
        )
    assert "'v_biking_01'" in str(info.value)


def test_bad_metadata_is_refused():
    with pytest.raises(ValueError, match="`dtype` to be one of"):
        _encode(_features(), dtype="bfloat16")
    with pytest.raises(ValueError, match="without whitespace"):
        _encode(_features(), sampling="fps = 30")
    with pytest.raises(ValueError, match="`stored_fps` to be a finite number"):
        _encode(_features(), stored_fps=-1)
    with pytest.raises(ValueError, match="`video_id` to be a non-empty"):
        records.encode_video(
            "",
            _features(),
            backbone="b",
            layer="l",
            sampling="all",
            stored_fps=0,
        )


def test_unknown_schema_version_is_refused_eager_and_tf():
    serialized = _with_version(_encode(_features()), 99)
    source = "/data/train-00003.tfrecord, record 7"
    with pytest.raises(ValueError) as info:
        records.decode_video(serialized, source=source)
    assert source in str(info.value)
    assert "schema_version=99" in str(info.value)

    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        records.parse_video_tensors(
            tf.constant(serialized),
            grid_size=2,
            channels=3,
            dtype="float16",
            source=source,
        )
    assert source in info.value.message
    assert "schema_version=99" in info.value.message


def test_tf_parse_refuses_other_geometry_and_dtype():
    serialized = tf.constant(_encode(_features(k=2, d=3)))
    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        records.parse_video_tensors(
            serialized, grid_size=7, channels=1024, dtype="float16", source="f"
        )
    message = info.value.message
    assert "(video_id=v_biking_01)" in message
    assert "expected features of shape (frames, 7, 7, 1024)" in message
    assert "received (frames, 2, 2, 3)" in message
    with pytest.raises(
        tf.errors.InvalidArgumentError, match="stored as float32"
    ):
        records.parse_video_tensors(
            serialized, grid_size=2, channels=3, dtype="float32"
        )


def test_decode_refuses_garbage_and_inconsistent_frames():
    with pytest.raises(ValueError, match="shard.tfrecord, record 0"):
        records.decode_video(
            b"\xff\x00garbage", source="shard.tfrecord, record 0"
        )
    example = tf.train.SequenceExample.FromString(_encode(_features(frames=3)))
    example.feature_lists.feature_list["features"].feature[1].bytes_list.value[
        0
    ] = b"\x00" * 10
    with pytest.raises(
        ValueError, match="expected frame 1 to hold one 24-byte"
    ):
        records.decode_video(example.SerializeToString())


def _with_values(serialized, frame, positions, value, dtype="float16"):
    """The record with `value` written at `positions` of frame `frame`.

    What another tool (or a user's own `tf.train` code) writes when it does
    not check its features: a valid record with NaN or inf inside.
    """
    example = tf.train.SequenceExample.FromString(serialized)
    entry = example.feature_lists.feature_list["features"].feature[frame]
    storage = np.dtype(dtype).newbyteorder("<")
    cube = np.frombuffer(entry.bytes_list.value[0], dtype=storage).copy()
    cube = cube.reshape(2, 2, 3)
    for position in positions:
        cube[position] = value
    entry.bytes_list.value[0] = cube.tobytes()
    return example.SerializeToString()


@pytest.mark.parametrize("dtype", ["float16", "float32"])
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_non_finite_values_in_a_record_are_refused_eager_and_tf(dtype, value):
    serialized = _with_values(
        _encode(_features(), dtype=dtype),
        frame=3,
        positions=[(0, 1, 2), (1, 1, 0)],
        value=value,
        dtype=dtype,
    )
    source = "/data/train-00003.tfrecord, record 7"
    expected = (
        f"expected finite feature values. Received: {value} at frame 3, "
        "location (0, 1), channel 2 (2 non-finite values in all)"
    )

    with pytest.raises(ValueError) as info:
        records.decode_video(serialized, source=source)
    assert f"{source} (video 'v_biking_01')" in str(info.value)
    assert expected in str(info.value)

    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        records.parse_video_tensors(
            tf.constant(serialized),
            grid_size=2,
            channels=3,
            dtype=dtype,
            source=source,
        )
    assert f"{source} (video_id=v_biking_01)" in info.value.message
    assert expected in info.value.message


def test_records_without_the_partial_field_read_as_whole():
    # Records written before the field existed (schema_version 1 too).
    example = tf.train.SequenceExample.FromString(_encode(_features()))
    del example.context.feature["partial"]
    serialized = example.SerializeToString()
    assert records.decode_video(serialized)["partial"] == 0
    parsed = records.parse_video_tensors(
        tf.constant(serialized), grid_size=2, channels=3, dtype="float16"
    )
    assert parsed["partial"].numpy() == 0

    kept = records.encode_video(
        "v_cut",
        _features(),
        backbone="b",
        layer="l",
        sampling="all",
        stored_fps=0,
        partial=True,
    )
    assert records.decode_video(kept)["partial"] == 1
    parsed = records.parse_video_tensors(
        tf.constant(kept), grid_size=2, channels=3, dtype="float16"
    )
    assert parsed["partial"].numpy() == 1
    assert records.decode_video(_encode(_features()))["partial"] == 0


def _with_padding_frames(serialized, values):
    """The record with `padding_frames` set to `values` (none: removed)."""
    example = tf.train.SequenceExample.FromString(serialized)
    del example.context.feature["padding_frames"]
    if values:
        field = example.context.feature["padding_frames"].int64_list
        field.value.extend(values)
    return example.SerializeToString()


def _parse(serialized, source="record"):
    return records.parse_video_tensors(
        tf.constant(serialized),
        grid_size=2,
        channels=3,
        dtype="float16",
        source=source,
    )


def test_padding_frames_round_trip_eager_and_tf():
    serialized = _encode(_features(frames=5), padding_frames=3)
    assert records.decode_video(serialized)["padding_frames"] == 3
    assert _parse(serialized)["padding_frames"].numpy() == 3
    unpadded = _encode(_features(frames=5))
    assert records.decode_video(unpadded)["padding_frames"] == 0
    assert _parse(unpadded)["padding_frames"].numpy() == 0


def test_records_written_before_both_optional_fields_still_read():
    example = tf.train.SequenceExample.FromString(_encode(_features()))
    del example.context.feature["partial"]
    del example.context.feature["padding_frames"]
    serialized = example.SerializeToString()
    video = records.decode_video(serialized)
    assert (video["partial"], video["padding_frames"]) == (0, 0)
    parsed = _parse(serialized)
    assert parsed["partial"].numpy() == 0
    assert parsed["padding_frames"].numpy() == 0


@pytest.mark.parametrize("padding_frames", [-1, 5, 6, 1.0, True, "2"])
def test_encode_refuses_padding_frames_outside_the_stored_frames(
    padding_frames,
):
    expected = (
        "Video 'v_biking_01': expected `padding_frames` to be an integer "
        "in [0, 5), fewer than its 5 stored frames (at least one real "
        f"frame). Received: padding_frames={padding_frames!r}."
    )
    with pytest.raises(ValueError, match=re.escape(expected)):
        _encode(_features(frames=5), padding_frames=padding_frames)


@pytest.mark.parametrize("values", [[5], [-2]])
def test_a_record_of_bad_padding_frames_is_refused_eager_and_tf(values):
    # Written by other code: the record is valid protobuf, the count is not.
    serialized = _with_padding_frames(_encode(_features(frames=5)), values)
    source = "/data/train-00003.tfrecord, record 7"
    with pytest.raises(ValueError) as info:
        records.decode_video(serialized, source=source)
    assert str(info.value).startswith(
        f"{source} (video 'v_biking_01'): Video 'v_biking_01': expected "
        f"`padding_frames` to be an integer in [0, 5)"
    )
    assert f"Received: padding_frames={values[0]}." in str(info.value)

    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        _parse(serialized, source=source)
    assert (
        f"{source} (video_id=v_biking_01): expected padding_frames in "
        "[0, num_frames) = [0, 5) (at least one real frame); received "
        f"padding_frames={values[0]}." in info.value.message
    )


def test_decode_refuses_several_padding_frames_values():
    serialized = _with_padding_frames(_encode(_features()), [1, 2])
    with pytest.raises(
        ValueError, match=re.escape("at most one value in `padding_frames`")
    ):
        records.decode_video(serialized)
