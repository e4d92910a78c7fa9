"""Tests for vidattn.data.manifest: reading, checking and writing it."""

import json
import os

import pytest

from vidattn.data import schema
from vidattn.data.manifest import Manifest
from vidattn.data.manifest import ShardIntegrityError

SETTINGS = dict(
    split="train",
    backbone="b",
    layer="l",
    input_size=(224, 224),
    grid_size=7,
    channels=1024,
    dtype="float16",
    stored_fps=30.0,
    class_names=["a", "b"],
)


def test_shard_paths_outside_the_folder_are_refused(tmp_path):
    root = tmp_path / "data"
    root.mkdir()
    manifest = Manifest.create(str(root), **SETTINGS)
    assert manifest.resolve_shard_path("train-00000.tfrecord") == str(
        root / "train-00000.tfrecord"
    )
    for path in ("/etc/passwd", "../other/train-00000.tfrecord", "a/../../x"):
        with pytest.raises(ValueError, match="outside"):
            manifest.resolve_shard_path(path)
    (tmp_path / "elsewhere.tfrecord").write_bytes(b"")
    os.symlink(tmp_path / "elsewhere.tfrecord", root / "link.tfrecord")
    with pytest.raises(ValueError, match="resolves to"):
        manifest.resolve_shard_path("link.tfrecord")


def _minimal_manifest(**overrides):
    manifest = {
        "schema_version": 1,
        "split": "train",
        "backbone": "b",
        "layer": "l",
        "input_size": [224, 224],
        "grid_size": 7,
        "channels": 1024,
        "dtype": "float16",
        "stored_fps": 30.0,
        "class_names": ["a", "b"],
        "multi_label": False,
        "num_videos": 0,
        "num_frames": 0,
        "num_captions": 0,
        "finalized": True,
        "shards": [],
    }
    manifest.update(overrides)
    return manifest


def test_read_manifest_checks_version_and_fields(tmp_path):
    path = tmp_path / schema.MANIFEST_FILENAME
    with pytest.raises(FileNotFoundError, match="has none"):
        Manifest.read(str(tmp_path))
    path.write_text(json.dumps(_minimal_manifest()))
    assert Manifest.read(str(tmp_path))["grid_size"] == 7

    path.write_text(json.dumps(_minimal_manifest(schema_version=2)))
    with pytest.raises(ValueError) as info:
        Manifest.read(str(tmp_path))
    assert str(path) in str(info.value)
    assert "schema_version=2" in str(info.value)

    manifest = _minimal_manifest()
    del manifest["dtype"]
    path.write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="expected the field `dtype`"):
        Manifest.read(str(tmp_path))

    path.write_text(json.dumps(_minimal_manifest(num_videos=3)))
    with pytest.raises(ValueError, match="`num_videos` to equal the sum"):
        Manifest.read(str(tmp_path))

    path.write_text("{not json")
    with pytest.raises(ValueError, match="expected a JSON object"):
        Manifest.read(str(tmp_path))


def _shard_file(directory, name, content):
    path = os.path.join(directory, name)
    with open(path, "wb") as f:
        f.write(content)
    return path


def test_create_add_shards_and_write_round_trip(tmp_path):
    manifest = Manifest.create(str(tmp_path), **SETTINGS)
    assert manifest.shards == [] and not manifest.finalized
    assert manifest.settings == dict(
        SETTINGS, input_size=[224, 224], multi_label=False
    )
    _shard_file(tmp_path, "train-00000.tfrecord", b"first shard")
    _shard_file(tmp_path, "train-00001.tfrecord", b"second")
    manifest.add_shard(
        "train-00000.tfrecord",
        video_ids=["v1", "v2"],
        num_frames=[3, 4],
        num_captions=[0, 2],
    )
    manifest.add_shard(
        "train-00001.tfrecord",
        video_ids=["v3"],
        num_frames=[5],
        num_captions=[1],
    )
    manifest.mark_finalized()
    manifest.write()

    with open(tmp_path / schema.MANIFEST_FILENAME, encoding="utf-8") as f:
        document = json.load(f)
    assert document == manifest.to_dict()
    assert list(document)[0] == "schema_version"
    assert (
        document["num_videos"],
        document["num_frames"],
        document["num_captions"],
    ) == (3, 12, 3)
    first = document["shards"][0]
    assert first["num_bytes"] == len(b"first shard")
    assert len(first["sha256"]) == 64
    assert not [n for n in os.listdir(tmp_path) if n.endswith(".tmp")]

    read = Manifest.read(str(tmp_path))
    assert read.to_dict() == document
    assert read.finalized and read["split"] == "train"
    assert read.shard_paths == (
        str(tmp_path / "train-00000.tfrecord"),
        str(tmp_path / "train-00001.tfrecord"),
    )
    read.verify_shards()


def test_add_shard_refuses_repeated_video_ids(tmp_path):
    manifest = Manifest.create(str(tmp_path), **SETTINGS)
    _shard_file(tmp_path, "train-00000.tfrecord", b"a")
    _shard_file(tmp_path, "train-00001.tfrecord", b"b")
    manifest.add_shard(
        "train-00000.tfrecord",
        video_ids=["v"],
        num_frames=[1],
        num_captions=[0],
    )
    with pytest.raises(ValueError, match="expected unique video ids") as info:
        manifest.add_shard(
            "train-00001.tfrecord",
            video_ids=["v"],
            num_frames=[1],
            num_captions=[0],
        )
    assert "train-00000.tfrecord and train-00001.tfrecord" in str(info.value)
    assert manifest["num_videos"] == 1 and len(manifest.shards) == 1


def test_verify_shards_names_the_file_expected_and_received(tmp_path):
    manifest = Manifest.create(str(tmp_path), **SETTINGS)
    path = _shard_file(tmp_path, "train-00000.tfrecord", b"0123456789")
    manifest.add_shard(
        "train-00000.tfrecord",
        video_ids=["v"],
        num_frames=[1],
        num_captions=[0],
    )
    digest = manifest.shards[0]["sha256"]

    _shard_file(tmp_path, "train-00000.tfrecord", b"0123456780")
    manifest.verify_shards(checksums=False)
    with pytest.raises(ShardIntegrityError) as info:
        manifest.verify_shards()
    message = str(info.value)
    assert path in message and f"expected SHA-256 {digest}" in message

    _shard_file(tmp_path, "train-00000.tfrecord", b"01234")
    # One exception for a size mismatch, whoever checks: a ValueError.
    with pytest.raises(ValueError) as info:
        manifest.verify_shards(checksums=False)
    assert isinstance(info.value, ShardIntegrityError)
    assert path in str(info.value)
    assert "expected 10 bytes" in str(info.value)
    assert "received 5 bytes" in str(info.value)

    os.remove(path)
    with pytest.raises(FileNotFoundError, match="train-00000.tfrecord"):
        manifest.verify_shards(checksums=False)


def test_damaged_shards_lists_every_problem_and_remove_shard(tmp_path):
    manifest = Manifest.create(str(tmp_path), **SETTINGS)
    for i, content in enumerate([b"aaaa", b"bbbb", b"cccc", b"dddd"]):
        _shard_file(tmp_path, f"train-0000{i}.tfrecord", content)
        manifest.add_shard(
            f"train-0000{i}.tfrecord",
            video_ids=[f"v{i}"],
            num_frames=[i + 1],
            num_captions=[i],
        )
    _shard_file(tmp_path, "train-00001.tfrecord", b"bbbX")  # same size
    _shard_file(tmp_path, "train-00002.tfrecord", b"cc")  # truncated
    os.remove(tmp_path / "train-00003.tfrecord")

    damaged = manifest.damaged_shards()
    assert [shard["path"] for shard, _ in damaged] == [
        "train-00001.tfrecord",
        "train-00002.tfrecord",
        "train-00003.tfrecord",
    ]
    problems = [problem for _, problem in damaged]
    assert problems[0].startswith("expected SHA-256 ")
    assert problems[1] == (
        "expected 4 bytes as manifest.json says; received 2 bytes"
    )
    assert "the file is missing" in problems[2]
    assert [s["path"] for s, _ in manifest.damaged_shards(checksums=False)] == [
        "train-00002.tfrecord",
        "train-00003.tfrecord",
    ]

    for shard, _ in damaged:
        manifest.remove_shard(shard["path"])
    assert manifest.damaged_shards() == []
    assert (manifest["num_videos"], manifest["num_frames"]) == (1, 1)
    assert manifest["num_captions"] == 0
    # Its video ids are free again, and the totals check out on reading.
    _shard_file(tmp_path, "train-00004.tfrecord", b"eeee")
    manifest.add_shard(
        "train-00004.tfrecord",
        video_ids=["v1"],
        num_frames=[2],
        num_captions=[1],
    )
    manifest.write()
    assert Manifest.read(str(tmp_path))["num_videos"] == 2
    with pytest.raises(ValueError, match="does not list"):
        manifest.remove_shard("train-00009.tfrecord")


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(split="a/b"), "`split` to be a non-empty name without '/'"),
        (dict(backbone=" "), "`backbone` to be a non-empty string"),
        (dict(grid_size=0), "`grid_size` to be a positive integer"),
        (dict(channels=1.5), "`channels` to be a positive integer"),
        (dict(dtype="int8"), "`dtype` to be one of"),
        (dict(input_size=(224,)), "`input_size` to be (height, width)"),
        (dict(class_names="ab"), "`class_names` to be a sequence"),
        (dict(class_names=["a", "a"]), "unique `class_names`"),
        (dict(stored_fps=-1), "`stored_fps` to be a finite number > 0"),
    ],
)
def test_create_refuses_bad_settings(tmp_path, change, message):
    with pytest.raises(ValueError) as info:
        Manifest.create(str(tmp_path), **dict(SETTINGS, **change))
    assert message in str(info.value)
