import collections
import hashlib
import json
import os
import struct

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.fixtures.caption_datasets import CAPTIONS
from tests.fixtures.caption_datasets import write_captioned_dataset
from tests.fixtures.damaged_files import flip_byte
from vidattn.data import FeatureDataset
from vidattn.data import ShardWriter
from vidattn.data import records
from vidattn.data import schema
from vidattn.data.manifest import ShardIntegrityError

K, D = 2, 3
CLASSES = ["basketball", "biking", "diving"]
# Short videos (1, 3, 9, 12 frames) exercise the repeat-the-last-frame rule.
FRAME_COUNTS = [1, 3, 9, 12, 17, 40]


def _features(i, frames):
    rng = np.random.default_rng(100 + i)
    return rng.normal(size=(frames, K, K, D)).astype("float32")


def _write_dataset(
    directory,
    frame_counts=FRAME_COUNTS,
    *,
    class_names=CLASSES,
    multi_label=False,
    stored_fps=30.0,
    captions=None,
    max_videos_per_shard=2,
):
    """Writes a dataset; returns each video's (stored features, labels)."""
    videos = []
    with ShardWriter(
        str(directory),
        backbone="efficientnet_lite0",
        layer="top_activation",
        input_size=(224, 224),
        grid_size=K,
        channels=D,
        class_names=class_names,
        multi_label=multi_label,
        stored_fps=stored_fps,
        max_videos_per_shard=max_videos_per_shard,
    ) as writer:
        for i, frames in enumerate(frame_counts):
            features = _features(i, frames)
            if not class_names:
                labels = None
            elif multi_label:
                labels = [c for c in range(len(class_names)) if (i >> c) & 1]
            else:
                labels = i % len(class_names)
            writer.write(
                f"video_{i}",
                features,
                labels=labels,
                captions=captions[i] if captions else None,
                sampling=None if stored_fps else f"even:{frames}/{3 * frames}",
            )
            stored = features.astype("float16").astype("float32")
            videos.append((stored, labels))
    return videos


def expected_windows(num_frames, window_length, skip, stride):
    """(start, frame indices) of each window, written out independently."""
    windows = []
    start = 0
    while start + (window_length - 1) * skip <= num_frames - 1:
        windows.append(
            (start, [start + j * skip for j in range(window_length)])
        )
        start += stride
    if not windows:
        frames = list(range(0, num_frames, skip))[:window_length]
        frames += [frames[-1]] * (window_length - len(frames))
        windows.append((0, frames))
    return windows


def _record_one_offset(path):
    """Byte offset of the data of the second record of a TFRecord file."""
    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
    # Each record: length (8), its CRC (4), data, data CRC (4).
    return 8 + 4 + length + 4 + 8 + 4


def _rewrite_manifest(directory, edit):
    path = os.path.join(directory, schema.MANIFEST_FILENAME)
    with open(path) as f:
        manifest = json.load(f)
    edit(manifest)
    with open(path, "w") as f:
        json.dump(manifest, f)


def _describe_shard(directory, shard):
    with open(os.path.join(directory, shard["path"]), "rb") as f:
        content = f.read()
    shard["num_bytes"] = len(content)
    shard["sha256"] = hashlib.sha256(content).hexdigest()


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    directory = tmp_path_factory.mktemp("ucf")
    videos = _write_dataset(directory)
    return FeatureDataset(str(directory)), videos


@pytest.mark.parametrize(
    "window_length, target_fps, stride",
    [(5, None, 1), (5, 15, 1), (4, 10, 3), (30, None, 1), (30, 10, 2)],
)
def test_evaluation_windows_match_numpy(
    dataset, window_length, target_fps, stride
):
    data, videos = dataset
    skip = 1 if target_fps is None else int(30 / target_fps)
    expected = [
        (v, start, frames)
        for v, (features, _) in enumerate(videos)
        for start, frames in expected_windows(
            len(features), window_length, skip, stride
        )
    ]
    assert data.num_windows(
        window_length, target_fps=target_fps, stride=stride
    ) == len(expected)

    batches = data.evaluation_windows(
        7, window_length=window_length, target_fps=target_fps, stride=stride
    )
    assert batches.cardinality().numpy() == -(-len(expected) // 7)
    spec_inputs, spec_label = batches.element_spec
    assert spec_inputs["features"].shape.as_list() == [
        None,
        window_length,
        K,
        K,
        D,
    ]
    assert spec_inputs["features"].dtype == tf.float32
    assert spec_label.dtype == tf.int32

    received = []
    for inputs, labels in batches:
        for i in range(len(labels)):
            received.append(
                (
                    int(inputs["video_index"][i]),
                    int(inputs["window_start"][i]),
                    inputs["features"][i].numpy(),
                    int(labels[i]),
                )
            )
    assert [(v, s) for v, s, _, _ in received] == [
        (v, s) for v, s, _ in expected
    ]
    for (v, _, frames), (_, _, window, label) in zip(expected, received):
        features, video_label = videos[v]
        np.testing.assert_array_equal(window, features[frames])
        assert label == video_label

    # Grouping by video index gives each video's windows.
    counts = np.bincount([v for v, _, _, _ in received], minlength=len(videos))
    assert counts.tolist() == [
        len(expected_windows(len(f), window_length, skip, stride))
        for f, _ in videos
    ]


def test_short_video_repeats_its_last_frame(dataset):
    data, videos = dataset
    windows = data.evaluation_windows(None, window_length=30, target_fps=10)
    inputs, _ = next(iter(windows.skip(2)))  # video_2: 9 frames, skip 3.
    assert int(inputs["video_index"]) == 2
    features = videos[2][0]
    window = inputs["features"].numpy()
    np.testing.assert_array_equal(window[:3], features[[0, 3, 6]])
    np.testing.assert_array_equal(
        window[3:], np.repeat(features[6:7], 27, axis=0)
    )


def test_training_windows_are_all_windows_shuffled(dataset):
    data, videos = dataset
    train = data.windows(
        4,
        window_length=5,
        target_fps=15,
        stride=2,
        seed=3,
        shuffle_buffer_size=8,
    )
    inputs_spec, label_spec = train.element_spec
    assert set(inputs_spec) == {"features"}
    assert inputs_spec["features"].shape.as_list() == [None, 5, K, K, D]
    assert label_spec.shape.as_list() == [None]
    expected = sorted(
        (features[frames].tobytes(), label)
        for features, label in videos
        for _, frames in expected_windows(len(features), 5, 2, 2)
    )
    for _ in range(2):  # every window once per epoch
        received = []
        for inputs, labels in train:
            for window, label in zip(
                inputs["features"].numpy(), labels.numpy()
            ):
                received.append((window.tobytes(), int(label)))
        assert sorted(received) == expected
    assert train.cardinality().numpy() == -(-len(expected) // 4)


def test_seeded_deterministic_order_is_reproducible(dataset):
    data, _ = dataset

    def order():
        train = data.windows(
            None,
            window_length=3,
            seed=11,
            deterministic=True,
            shuffle_buffer_size=16,
        )
        return [inputs["features"].numpy().tobytes() for inputs, _ in train]

    first = order()
    assert first == order()
    unshuffled = [
        inputs["features"].numpy().tobytes()
        for inputs, _ in data.evaluation_windows(None, window_length=3)
    ]
    assert sorted(first) == sorted(unshuffled)
    assert first != unshuffled


def test_windows_train_a_keras_model(dataset):
    data, _ = dataset
    inputs = keras.Input(shape=(5, K, K, D), name="features")
    outputs = keras.layers.Dense(len(CLASSES))(keras.layers.Flatten()(inputs))
    model = keras.Model({"features": inputs}, outputs)
    model.compile(
        "sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    )
    history = model.fit(data.windows(8, window_length=5), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_multi_label_windows_are_multi_hot(tmp_path):
    videos = _write_dataset(tmp_path, [4, 6, 3, 5], multi_label=True)
    data = FeatureDataset(str(tmp_path))
    batches = data.evaluation_windows(3, window_length=4, dtype="float16")
    _, label_spec = batches.element_spec
    assert label_spec.shape.as_list() == [None, len(CLASSES)]
    assert label_spec.dtype == tf.float32
    for inputs, labels in batches:
        assert inputs["features"].dtype == tf.float16
        for v, label in zip(inputs["video_index"].numpy(), labels.numpy()):
            expected = np.zeros(len(CLASSES), "float32")
            expected[videos[v][1]] = 1.0
            np.testing.assert_array_equal(label, expected)


def test_unlabelled_dataset_yields_inputs_only(tmp_path):
    _write_dataset(tmp_path, [4, 6], class_names=[])
    data = FeatureDataset(str(tmp_path))
    batch = next(iter(data.windows(2, window_length=3)))
    assert isinstance(batch, dict) and set(batch) == {"features"}


def test_captions_visit_every_caption_once_per_epoch(tmp_path):
    captions = [
        ["a man rides a bike", "someone cycles"],
        [],
        ["a dog runs"],
        ["a woman dives", "diving", "a person jumps into a pool"],
        ["a ball"],
    ]
    videos = _write_dataset(
        tmp_path,
        [3, 5, 4, 6, 2],
        class_names=[],
        stored_fps=None,
        captions=captions,
    )
    data = FeatureDataset(str(tmp_path))
    assert data.stored_fps is None
    pairs = data.captions(3, seed=1, shuffle_buffer_size=4)
    assert pairs.cardinality().numpy() == 3  # 7 captions in batches of 3.
    expected = collections.Counter(
        (v, c)
        for v, video_captions in enumerate(captions)
        for c in video_captions
    )
    for _ in range(2):
        received = collections.Counter()
        for inputs, texts in pairs:
            for i, text in enumerate(texts.numpy()):
                v = int(inputs["video_index"][i])
                received[(v, text.decode())] += 1
                features = videos[v][0]
                mask = inputs["frame_mask"][i].numpy()
                assert (
                    mask.sum() == len(features) and mask[: len(features)].all()
                )
                padded = inputs["features"][i].numpy()
                np.testing.assert_array_equal(padded[: len(features)], features)
                assert not padded[len(features) :].any()
        assert received == expected

    with pytest.raises(ValueError, match="stored_fps=null"):
        data.windows(window_length=2, target_fps=10)


def test_target_fps_must_divide_the_stored_rate(dataset):
    data, _ = dataset
    assert data.frame_skip(None) == 1 and data.frame_skip(10) == 3
    with pytest.raises(ValueError) as info:
        data.windows(window_length=5, target_fps=7)
    assert "whole number of frames" in str(info.value)
    assert "target_fps=7 with stored_fps=30.0, skip = 4.286" in str(info.value)
    with pytest.raises(ValueError, match="skip = 0.5"):
        data.windows(target_fps=60)
    with pytest.raises(ValueError, match="`stride` to be a positive integer"):
        data.windows(stride=0)
    with pytest.raises(ValueError, match="`dtype` to be one of"):
        data.windows(dtype="int8")
    with pytest.raises(ValueError, match="has no captions|with captions"):
        data.captions()


def test_flipped_byte_is_reported_with_the_file(tmp_path):
    _write_dataset(tmp_path)
    shard = str(tmp_path / "train-00000.tfrecord")
    flip_byte(shard, _record_one_offset(shard) + 10)

    with pytest.raises(ShardIntegrityError) as info:
        FeatureDataset(str(tmp_path))
    assert shard in str(info.value) and "SHA-256" in str(info.value)

    data = FeatureDataset(str(tmp_path), verify_checksums=False)
    with pytest.raises(tf.errors.DataLossError) as info:
        data.check_records()
    assert f"{shard}, record 1" in info.value.message
    assert "corrupted record" in info.value.message
    # Inside tf.data, TensorFlow reports the byte offset only.
    with pytest.raises(tf.errors.DataLossError):
        for _ in data.windows(window_length=3, shuffle=False):
            pass


def test_truncated_shard_is_reported_with_the_file(tmp_path):
    _write_dataset(tmp_path)
    shard = str(tmp_path / "train-00001.tfrecord")
    size = os.path.getsize(shard)
    with open(shard, "r+b") as f:
        f.truncate(_record_one_offset(shard) + 20)

    with pytest.raises(ShardIntegrityError) as info:
        FeatureDataset(str(tmp_path), verify_checksums=False)
    assert shard in str(info.value)
    assert f"expected {size} bytes" in str(info.value)

    # Even when the manifest is made to agree, reading names file and record.
    _rewrite_manifest(
        str(tmp_path), lambda m: _describe_shard(str(tmp_path), m["shards"][1])
    )
    data = FeatureDataset(str(tmp_path))
    with pytest.raises(tf.errors.DataLossError) as info:
        data.check_records()
    assert f"{shard}, record 1" in info.value.message
    assert "truncated record" in info.value.message


def test_record_shape_disagreeing_with_manifest(tmp_path):
    _write_dataset(tmp_path)
    _rewrite_manifest(
        str(tmp_path), lambda m: m.update(grid_size=7, channels=1024)
    )
    data = FeatureDataset(str(tmp_path))
    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        next(iter(data.evaluation_windows(window_length=3)))
    message = info.value.message
    shard = str(tmp_path / "train-00000.tfrecord")
    assert f"{shard}, record 0 (video_id=video_0)" in message
    assert "expected features of shape (frames, 7, 7, 1024)" in message
    assert "received (frames, 2, 2, 3)" in message

    with pytest.raises(ValueError) as info:
        data.check_records()
    assert f"{shard}, record 0 (video 'video_0')" in str(info.value)
    assert "(frames, 7, 7, 1024)" in str(info.value)
    assert "grid_size=2 (expected 7)" in str(info.value)


def _add_edited_record(directory, video_id, edit):
    """Appends a shard holding one record changed by `edit(example)`."""
    record = records.encode_video(
        video_id,
        _features(9, 4),
        backbone="efficientnet_lite0",
        layer="top_activation",
        sampling="fps=30",
        stored_fps=30.0,
        labels=1,
        num_classes=3,
    )
    example = tf.train.SequenceExample.FromString(record)
    edit(example)
    path = directory / "train-00001.tfrecord"
    with tf.io.TFRecordWriter(str(path)) as writer:
        writer.write(example.SerializeToString())

    def add_shard(manifest):
        shard = {
            "path": path.name,
            "num_records": 1,
            "video_ids": [video_id],
            "num_frames": [4],
            "num_captions": [0],
        }
        _describe_shard(str(directory), shard)
        manifest["shards"].append(shard)
        manifest["num_videos"] += 1
        manifest["num_frames"] += 4

    _rewrite_manifest(str(directory), add_shard)
    return path


def test_record_of_unknown_schema_version(tmp_path):
    _write_dataset(tmp_path, [4, 5])

    def version_2(example):
        example.context.feature["schema_version"].int64_list.value[0] = 2

    path = _add_edited_record(tmp_path, "future_video", version_2)
    data = FeatureDataset(str(tmp_path))
    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        for _ in data.evaluation_windows(window_length=2):
            pass
    assert f"{path}, record 0" in info.value.message
    assert "schema_version=2" in info.value.message
    with pytest.raises(ValueError) as info:
        data.check_records()
    assert f"{path}, record 0" in str(info.value)
    assert "schema_version=2" in str(info.value)


def test_manifest_refusals(tmp_path):
    _write_dataset(tmp_path, [4, 5, 6])
    manifest_path = str(tmp_path / schema.MANIFEST_FILENAME)

    _rewrite_manifest(str(tmp_path), lambda m: m.update(schema_version=7))
    with pytest.raises(ValueError) as info:
        FeatureDataset(str(tmp_path))
    assert manifest_path in str(info.value) and "schema_version=7" in str(
        info.value
    )
    _rewrite_manifest(str(tmp_path), lambda m: m.update(schema_version=1))

    for outside in (
        "../elsewhere/train-00000.tfrecord",
        "/tmp/train-00000.tfrecord",
    ):
        _rewrite_manifest(
            str(tmp_path), lambda m: m["shards"][0].update(path=outside)
        )
        with pytest.raises(ValueError) as info:
            FeatureDataset(str(tmp_path))
        assert manifest_path in str(info.value)
        assert repr(outside) in str(info.value) and "outside" in str(info.value)

    _rewrite_manifest(
        str(tmp_path),
        lambda m: m["shards"][0].update(path="train-00009.tfrecord"),
    )
    with pytest.raises(FileNotFoundError, match="train-00009.tfrecord"):
        FeatureDataset(str(tmp_path))


def test_record_label_out_of_range(tmp_path):
    _write_dataset(tmp_path, [4, 5])

    def label_5(example):
        example.context.feature["labels"].int64_list.value[0] = 5

    path = _add_edited_record(tmp_path, "odd_label", label_5)
    data = FeatureDataset(str(tmp_path))
    with pytest.raises(tf.errors.InvalidArgumentError) as info:
        for _ in data.windows(window_length=2, shuffle=False):
            pass
    assert f"{path}, record 0 (video_id=odd_label)" in info.value.message
    assert "exactly one class index in [0, 3); received labels [5]" in (
        info.value.message
    )
    with pytest.raises(ValueError, match=r"record 0: .*\[0, 3\)"):
        data.check_records()


def test_non_finite_record_is_refused_by_every_reader(tmp_path):
    # Another tool's record: a valid checksum, NaN inside.
    _write_dataset(tmp_path, [4, 5])

    def put_nan(example):
        frames = example.feature_lists.feature_list["features"].feature
        cube = np.frombuffer(frames[2].bytes_list.value[0], "<f2").copy()
        cube[[4, 7, 8]] = np.nan
        frames[2].bytes_list.value[0] = cube.tobytes()

    path = _add_edited_record(tmp_path, "nan_video", put_nan)
    data = FeatureDataset(str(tmp_path))  # The checksums are valid.
    where = f"{path}, record 0"
    expected = (
        "expected finite feature values. Received: nan at frame 2, "
        "location (0, 1), channel 1 (3 non-finite values in all)"
    )

    for pipeline in (
        data.windows(window_length=2, shuffle=False),
        data.evaluation_windows(window_length=2),
    ):
        with pytest.raises(tf.errors.InvalidArgumentError) as info:
            for _ in pipeline:
                pass
        assert f"{where} (video_id=nan_video)" in info.value.message
        assert expected in info.value.message
    for read in (data.check_records, lambda: list(data.videos())):
        with pytest.raises(ValueError) as info:
            read()
        assert f"{where} (video 'nan_video')" in str(info.value)
        assert expected in str(info.value)


def test_video_captions_read_ids_and_captions_in_manifest_order(tmp_path):
    write_captioned_dataset(tmp_path)
    data = FeatureDataset(str(tmp_path))
    assert len(data.shard_paths) == 3
    expected = [
        (f"video_{index}", list(texts)) for index, texts in enumerate(CAPTIONS)
    ]
    assert list(data.video_captions()) == expected
    assert list(data.video_captions(batch_size=1)) == expected
    with pytest.raises(ValueError, match="`batch_size` to be a positive"):
        next(data.video_captions(batch_size=0))


def test_video_captions_check_ids_against_the_manifest(tmp_path):
    write_captioned_dataset(tmp_path)
    _rewrite_manifest(
        tmp_path,
        lambda manifest: manifest["shards"][1]["video_ids"].reverse(),
    )
    data = FeatureDataset(str(tmp_path), verify_checksums=False)
    with pytest.raises(ValueError) as info:
        list(data.video_captions())
    assert str(info.value) == (
        f"{data.shard_paths[1]}, record 0: expected video_id='video_3' as "
        "manifest.json says (2 records); received 'video_2'. Rewrite the "
        "dataset."
    )


# Black padding frames at the end of each video of the captioned fixture
# (frame counts 3, 5, 4, 6, 2).
PADDING_COUNTS = (1, 0, 3, 5, 0)


@pytest.fixture(scope="module")
def padded(tmp_path_factory):
    directory = tmp_path_factory.mktemp("padded")
    features = write_captioned_dataset(directory, padding_counts=PADDING_COUNTS)
    return FeatureDataset(str(directory)), features


def _caption_masks(data):
    """Video index -> the `frame_mask` rows `captions()` gave its pairs."""
    masks = collections.defaultdict(list)
    for inputs, _ in data.captions(2, shuffle=False):
        for index, mask in zip(
            inputs["video_index"].numpy(), inputs["frame_mask"].numpy()
        ):
            masks[int(index)].append(mask)
    return masks


def test_captions_mask_the_black_padding_frames(padded):
    data, features = padded
    masks = _caption_masks(data)
    assert sorted(masks) == [0, 2, 3, 4]  # video_1 has no caption.
    for index, rows in masks.items():
        assert len(rows) == len(CAPTIONS[index])
        real = len(features[index]) - PADDING_COUNTS[index]
        for mask in rows:
            # Batch padding (to the longest video of the batch) follows.
            expected = np.arange(len(mask)) < real
            np.testing.assert_array_equal(mask, expected)
    # The eager reader gives the count the mask is made from.
    assert [v["padding_frames"] for v in data.videos()] == list(PADDING_COUNTS)


def test_windows_take_the_last_real_frame_for_black_padding(padded):
    data, features = padded
    windows = data.evaluation_windows(None, window_length=3)
    assert windows.cardinality().numpy() == data.num_windows(3) == 11
    received = [
        (
            int(inputs["video_index"]),
            int(inputs["window_start"]),
            inputs["features"].numpy(),
        )
        for inputs in windows
    ]
    # (video, start, stored frames) worked out by hand: a padding frame is
    # replaced by the video's last real frame (frames - padding - 1).
    expected = [
        (0, 0, [0, 1, 1]),  # 3 frames, 1 padding.
        (1, 0, [0, 1, 2]),  # 5 frames, no padding.
        (1, 1, [1, 2, 3]),
        (1, 2, [2, 3, 4]),
        (2, 0, [0, 0, 0]),  # 4 frames, 3 padding.
        (2, 1, [0, 0, 0]),
        (3, 0, [0, 0, 0]),  # 6 frames, 5 padding.
        (3, 1, [0, 0, 0]),
        (3, 2, [0, 0, 0]),
        (3, 3, [0, 0, 0]),
        (4, 0, [0, 1, 1]),  # 2 frames: the short-video rule.
    ]
    assert [(v, s) for v, s, _ in received] == [(v, s) for v, s, _ in expected]
    for (_, _, window), (v, _, frames) in zip(received, expected):
        np.testing.assert_array_equal(window, features[v][frames])


def _without_padding_field(directory):
    """Rewrites every shard as older code wrote it: no `padding_frames`."""

    def rewrite(manifest):
        for shard in manifest["shards"]:
            path = os.path.join(directory, shard["path"])
            old = [r.numpy() for r in tf.data.TFRecordDataset(path)]
            with tf.io.TFRecordWriter(path) as writer:
                for serialized in old:
                    example = tf.train.SequenceExample.FromString(serialized)
                    del example.context.feature["padding_frames"]
                    writer.write(example.SerializeToString())
            _describe_shard(directory, shard)

    _rewrite_manifest(directory, rewrite)


def test_records_without_padding_frames_have_every_frame_real(tmp_path):
    features = write_captioned_dataset(tmp_path)
    _without_padding_field(str(tmp_path))
    data = FeatureDataset(str(tmp_path))
    for index, rows in _caption_masks(data).items():
        for mask in rows:
            np.testing.assert_array_equal(
                mask, np.arange(len(mask)) < len(features[index])
            )
    assert all(v["padding_frames"] == 0 for v in data.videos())


def test_float16_windows_equal_float32_windows_up_to_the_cast(dataset):
    data, _ = dataset

    def epoch(dtype):
        train = data.windows(
            4, window_length=5, seed=2, deterministic=True, dtype=dtype
        )
        assert train.element_spec[0]["features"].dtype == dtype
        return [
            (inputs["features"].numpy(), labels.numpy())
            for inputs, labels in train
        ]

    halves, singles = epoch(tf.float16), epoch(tf.float32)
    assert len(halves) == len(singles) == -(-data.num_windows(5) // 4)
    for (half, half_labels), (single, labels) in zip(halves, singles):
        assert half.dtype == np.float16
        np.testing.assert_array_equal(half.astype("float32"), single)
        np.testing.assert_array_equal(half_labels, labels)


@pytest.mark.parametrize("drop_remainder", [False, True])
def test_batches_straddle_videos_and_hold_every_window(dataset, drop_remainder):
    # One video per group: most batches take windows of two or more videos.
    data, videos = dataset
    train = data.windows(
        5,
        window_length=4,
        target_fps=15,
        seed=7,
        cycle_length=1,
        shuffle_buffer_size=1,
        drop_remainder=drop_remainder,
    )
    expected = sorted(
        (features[frames].tobytes(), label)
        for features, label in videos
        for _, frames in expected_windows(len(features), 4, 2, 1)
    )
    full, rest = divmod(len(expected), 5)
    assert rest
    sizes, received = [], []
    for inputs, labels in train:
        sizes.append(len(labels))
        for window, label in zip(inputs["features"].numpy(), labels.numpy()):
            received.append((window.tobytes(), int(label)))
    assert train.cardinality().numpy() == len(sizes)
    if drop_remainder:
        assert sizes == [5] * full
        assert set(received) <= set(expected) and len(received) == 5 * full
    else:
        assert sizes == [5] * full + [rest]
        assert sorted(received) == expected


def test_unbatched_training_windows(dataset):
    data, videos = dataset
    train = data.windows(
        None, window_length=3, shuffle=False, deterministic=True
    )
    assert train.element_spec[0]["features"].shape.as_list() == [3, K, K, D]
    received = [
        (inputs["features"].numpy().tobytes(), int(label))
        for inputs, label in train
    ]
    expected = [
        (features[frames].tobytes(), label)
        for features, label in videos
        for _, frames in expected_windows(len(features), 3, 1, 1)
    ]
    assert received == expected
