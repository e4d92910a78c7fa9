import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from tests.fixtures.damaged_files import flip_byte
from vidattn.data import FeatureDataset
from vidattn.data import ShardWriter
from vidattn.data import records
from vidattn.data import schema
from vidattn.utils.folder_lock import FolderLockedError

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

SETTINGS = dict(
    backbone="efficientnet_lite0",
    layer="top_activation",
    input_size=(224, 224),
    grid_size=2,
    channels=3,
    class_names=["basketball", "biking", "diving"],
    stored_fps=30.0,
)


def _features(i):
    rng = np.random.default_rng(i)
    return rng.normal(size=(4 + i, 2, 2, 3)).astype("float32")


def _write(directory, ids, **kwargs):
    settings = dict(SETTINGS, max_videos_per_shard=3)
    settings.update(kwargs)
    with ShardWriter(str(directory), **settings) as writer:
        for i in ids:
            writer.write(f"v{i:02d}", _features(i), labels=i % 3)
    return writer


def _manifest(directory):
    with open(os.path.join(directory, schema.MANIFEST_FILENAME)) as f:
        return json.load(f)


def _stored(directory):
    """Video id -> features, read back record by record."""
    data = FeatureDataset(str(directory))
    videos = {}
    for video in data.videos():
        assert video["video_id"] not in videos, "duplicate video"
        videos[video["video_id"]] = video["features"]
    return videos


def test_writes_shards_and_manifest(tmp_path):
    writer = _write(tmp_path, range(7))
    manifest = _manifest(tmp_path)
    assert writer.num_videos == 7
    assert manifest["schema_version"] == schema.SCHEMA_VERSION
    assert manifest["finalized"] is True
    assert manifest["grid_size"] == 2 and manifest["channels"] == 3
    assert manifest["dtype"] == "float16"
    assert manifest["input_size"] == [224, 224]
    assert manifest["class_names"] == SETTINGS["class_names"]
    assert manifest["num_videos"] == 7
    assert manifest["num_frames"] == sum(4 + i for i in range(7))
    assert [s["path"] for s in manifest["shards"]] == [
        "train-00000.tfrecord",
        "train-00001.tfrecord",
        "train-00002.tfrecord",
    ]
    assert [s["num_records"] for s in manifest["shards"]] == [3, 3, 1]
    assert manifest["shards"][1]["video_ids"] == ["v03", "v04", "v05"]
    assert manifest["shards"][1]["num_frames"] == [7, 8, 9]
    for shard in manifest["shards"]:
        with open(tmp_path / shard["path"], "rb") as f:
            content = f.read()
        assert hashlib.sha256(content).hexdigest() == shard["sha256"]
        assert len(content) == shard["num_bytes"]
    assert not [n for n in os.listdir(tmp_path) if n.endswith(".tmp")]

    stored = _stored(tmp_path)
    assert sorted(stored) == [f"v{i:02d}" for i in range(7)]
    for i in range(7):
        np.testing.assert_array_equal(
            stored[f"v{i:02d}"], _features(i).astype("float16")
        )


def test_float32_storage_and_byte_limit(tmp_path):
    # 16 bytes of TFRecord framing per record.
    sizes = [
        16
        + len(
            records.encode_video(
                f"v{i:02d}",
                _features(i),
                backbone=SETTINGS["backbone"],
                layer=SETTINGS["layer"],
                sampling="fps=30",
                stored_fps=30.0,
                labels=i % 3,
                num_classes=3,
                dtype="float32",
            )
        )
        for i in range(5)
    ]
    _write(
        tmp_path,
        range(5),
        dtype="float32",
        max_videos_per_shard=None,
        max_shard_bytes=sizes[0] + sizes[1],
    )
    manifest = _manifest(tmp_path)
    # A shard is closed as soon as it holds max_shard_bytes: videos grow,
    # so v02 alone stays below the limit and v02 + v03 pass it.
    assert [s["num_records"] for s in manifest["shards"]] == [2, 2, 1]
    assert [s["num_bytes"] for s in manifest["shards"]] == [
        sizes[0] + sizes[1],
        sizes[2] + sizes[3],
        sizes[4],
    ]
    stored = _stored(tmp_path)
    np.testing.assert_array_equal(stored["v03"], _features(3))
    assert stored["v03"].dtype == np.float32


def test_has_and_duplicate_ids(tmp_path):
    with ShardWriter(str(tmp_path), **SETTINGS) as writer:
        writer.write("a", _features(0), labels=0)
        assert writer.has("a") and not writer.has("b")
        with pytest.raises(ValueError, match="'a' is already stored"):
            writer.write("a", _features(1), labels=1)
    with ShardWriter(str(tmp_path), **SETTINGS) as writer:
        assert writer.has("a")
        with pytest.raises(ValueError, match="already stored in train-00000"):
            writer.write("a", _features(1), labels=1)


def test_write_validates_against_the_folder(tmp_path):
    with ShardWriter(str(tmp_path), **SETTINGS) as writer:
        with pytest.raises(ValueError) as info:
            writer.write("wide", np.zeros((4, 2, 2, 5), "float32"), labels=0)
        assert "'wide'" in str(info.value)
        assert "expected features of shape (frames, 2, 2, 3)" in str(info.value)
        assert "Received: shape (4, 2, 2, 5)" in str(info.value)
        with pytest.raises(ValueError, match=r"expected stored_fps=30.0"):
            writer.write("slow", _features(0), labels=0, stored_fps=15.0)
        features = _features(0)
        features[0, 0, 0, 0] = np.nan
        with pytest.raises(ValueError, match="'nan_video'.*finite"):
            writer.write("nan_video", features, labels=0)
        with pytest.raises(ValueError, match=r"\[0, 3\)"):
            writer.write("bad_label", _features(0), labels=3)
        with pytest.raises(ValueError, match="caption 0 = ''"):
            writer.write("no_caption", _features(0), labels=0, captions=[""])
        writer.write("good", _features(0), labels=0, captions=["a b"])
    assert _manifest(tmp_path)["shards"][0]["video_ids"] == ["good"]
    assert _manifest(tmp_path)["num_captions"] == 1


_KILLED_WRITER = textwrap.dedent("""
    import os, signal, sys
    import numpy as np
    from vidattn.data import ShardWriter

    def features(i):
        rng = np.random.default_rng(i)
        return rng.normal(size=(4 + i, 2, 2, 3)).astype("float32")

    writer = ShardWriter(
        sys.argv[1], backbone="efficientnet_lite0", layer="top_activation",
        input_size=(224, 224), grid_size=2, channels=3,
        class_names=["basketball", "biking", "diving"], stored_fps=30.0,
        max_videos_per_shard=3)
    for i in range(10):
        writer.write(f"v{i:02d}", features(i), labels=i % 3)
        if i == 7:
            os.kill(os.getpid(), signal.SIGKILL)
    """)


def test_resume_after_kill(tmp_path):
    env = dict(os.environ, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL="3")
    result = subprocess.run(
        [sys.executable, "-c", _KILLED_WRITER, str(tmp_path)],
        env=env,
        capture_output=True,
        timeout=120,
    )
    assert result.returncode == -signal.SIGKILL, result.stderr.decode()[-2000:]
    # Killed while the third shard held v06 and v07.
    assert os.path.exists(tmp_path / "train-00002.tfrecord.tmp")
    manifest = _manifest(tmp_path)
    assert manifest["finalized"] is False
    assert manifest["num_videos"] == 6
    with pytest.raises(ValueError, match="did not finish"):
        FeatureDataset(str(tmp_path))
    partial = FeatureDataset(str(tmp_path), allow_incomplete=True)
    assert partial.video_ids == tuple(f"v{i:02d}" for i in range(6))

    with ShardWriter(
        str(tmp_path), **SETTINGS, max_videos_per_shard=3
    ) as writer:
        assert not os.path.exists(tmp_path / "train-00002.tfrecord.tmp")
        assert [writer.has(f"v{i:02d}") for i in range(10)] == [True] * 6 + [
            False
        ] * 4
        for i in range(10):
            if not writer.has(f"v{i:02d}"):
                writer.write(f"v{i:02d}", _features(i), labels=i % 3)

    stored = _stored(tmp_path)
    assert sorted(stored) == [f"v{i:02d}" for i in range(10)]
    for i in range(10):
        np.testing.assert_array_equal(
            stored[f"v{i:02d}"], _features(i).astype("float16")
        )
    manifest = _manifest(tmp_path)
    assert manifest["finalized"] is True and manifest["num_videos"] == 10
    assert not [n for n in os.listdir(tmp_path) if n.endswith(".tmp")]


def test_resume_removes_unlisted_shards_and_stray_tmp_files(tmp_path):
    _write(tmp_path, range(6))
    # A kill between a shard's rename and the manifest update leaves a
    # finished shard that the manifest does not list.
    shutil.copy(
        tmp_path / "train-00001.tfrecord", tmp_path / "train-00002.tfrecord"
    )
    (tmp_path / "train-00003.tfrecord.tmp").write_bytes(b"partial")
    (tmp_path / "manifest.json.tmp").write_text("{")
    # What a kill leaves while the manifest is written atomically.
    (tmp_path / ".manifest.json.k2l7q1.tmp").write_text("{")
    (tmp_path / "notes.txt").write_text("not ours")
    with ShardWriter(
        str(tmp_path), **SETTINGS, max_videos_per_shard=3
    ) as writer:
        assert writer.num_videos == 6
        writer.write("v06", _features(6), labels=0)
    names = sorted(os.listdir(tmp_path))
    assert "train-00003.tfrecord.tmp" not in names
    assert "manifest.json.tmp" not in names
    assert ".manifest.json.k2l7q1.tmp" not in names
    assert "notes.txt" in names
    manifest = _manifest(tmp_path)
    assert [s["path"] for s in manifest["shards"]] == [
        "train-00000.tfrecord",
        "train-00001.tfrecord",
        "train-00002.tfrecord",
    ]
    assert manifest["shards"][2]["video_ids"] == ["v06"]
    assert sorted(_stored(tmp_path)) == [f"v{i:02d}" for i in range(7)]


@pytest.mark.parametrize(
    "change",
    [
        {"backbone": "googlenet"},
        {"grid_size": 7},
        {"channels": 1024},
        {"dtype": "float32"},
        {"class_names": ["a", "b", "c"]},
        {"stored_fps": 10.0},
    ],
)
def test_refuses_to_append_with_other_settings(tmp_path, change):
    _write(tmp_path, range(2))
    settings = dict(SETTINGS, **change)
    with pytest.raises(ValueError) as info:
        ShardWriter(str(tmp_path), **settings)
    ((key, value),) = change.items()
    message = str(info.value)
    assert "Cannot append" in message
    assert f"{key}: manifest has " in message
    assert f"writer was given {value!r}" in message
    # The refusal left the folder as it was, and unlocked.
    assert _manifest(tmp_path)["finalized"] is True
    with ShardWriter(str(tmp_path), **SETTINGS) as writer:
        assert writer.num_videos == 2


def test_refuses_foreign_folder_and_second_writer(tmp_path):
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "data-00000.tfrecord").write_bytes(b"x")
    with pytest.raises(ValueError, match="no manifest.json"):
        ShardWriter(str(foreign), **SETTINGS)

    folder = tmp_path / "dataset"
    first = ShardWriter(str(folder), **SETTINGS)
    with pytest.raises(FolderLockedError) as info:
        ShardWriter(str(folder), **SETTINGS)
    # An OSError: the command line reports it as a message.
    assert isinstance(info.value, OSError)
    assert str(folder) in str(info.value)
    assert f"process {os.getpid()}" in str(info.value)
    first.write("a", _features(0), labels=0)
    first.close()
    with ShardWriter(str(folder), **SETTINGS) as writer:
        assert writer.has("a")


def test_reopening_sets_aside_damaged_shards_and_forgets_their_videos(
    tmp_path, caplog
):
    _write(tmp_path, range(9))  # Shards of v00-v02, v03-v05, v06-v08.
    kept = _manifest(tmp_path)["shards"][0]
    flipped = tmp_path / "train-00001.tfrecord"
    flip_byte(flipped, 200)  # Same size, another SHA-256.
    cut = tmp_path / "train-00002.tfrecord"
    with open(cut, "r+b") as f:
        f.truncate(100)
    damaged = {flipped: flipped.read_bytes(), cut: cut.read_bytes()}

    with caplog.at_level("WARNING"):
        writer = ShardWriter(str(tmp_path), **SETTINGS, max_videos_per_shard=3)
    with writer:
        assert [writer.has(f"v{i:02d}") for i in range(9)] == [True] * 3 + [
            False
        ] * 6
        for i in range(3, 9):
            writer.write(f"v{i:02d}", _features(i), labels=i % 3)

    # Set aside, never deleted, and named in a warning with their videos.
    for path, content in damaged.items():
        assert not path.exists() or path.read_bytes() != content
        aside = path.with_name(path.name + ".damaged")
        assert aside.read_bytes() == content
    warnings = "\n".join(r.getMessage() for r in caplog.records)
    assert "train-00001.tfrecord" in warnings and "SHA-256" in warnings
    assert "v03, v04, v05" in warnings
    assert "train-00002.tfrecord" in warnings and "v06, v07, v08" in warnings
    assert "train-00001.tfrecord.damaged" in warnings
    manifest = _manifest(tmp_path)
    assert manifest["shards"][0] == kept
    assert manifest["num_videos"] == 9
    stored = _stored(tmp_path)
    assert sorted(stored) == [f"v{i:02d}" for i in range(9)]
    for i in range(9):
        np.testing.assert_array_equal(
            stored[f"v{i:02d}"], _features(i).astype("float16")
        )

    # A listed shard that is missing: its videos are written again too.
    os.remove(tmp_path / manifest["shards"][-1]["path"])
    missing = manifest["shards"][-1]["video_ids"]
    with ShardWriter(str(tmp_path), **SETTINGS) as writer:
        assert not any(writer.has(v) for v in missing)
        assert writer.num_videos == 9 - len(missing)


def test_sizes_only_on_reopen_when_asked(tmp_path):
    _write(tmp_path, range(3))
    flip_byte(tmp_path / "train-00000.tfrecord", 200)
    with ShardWriter(
        str(tmp_path), **SETTINGS, verify_checksums=False
    ) as writer:
        assert writer.num_videos == 3


def test_error_in_with_block_keeps_videos_but_not_finalized(tmp_path):
    with pytest.raises(KeyError):
        with ShardWriter(str(tmp_path), **SETTINGS) as writer:
            writer.write("a", _features(0), labels=0)
            raise KeyError("user code failed")
    manifest = _manifest(tmp_path)
    assert manifest["finalized"] is False
    assert manifest["shards"][0]["video_ids"] == ["a"]
    with pytest.raises(RuntimeError, match="closed"):
        writer.write("b", _features(1), labels=1)


def test_constructor_validation(tmp_path):
    with pytest.raises(ValueError, match="`grid_size` to be a positive"):
        ShardWriter(str(tmp_path), **dict(SETTINGS, grid_size=0))
    with pytest.raises(ValueError, match="`input_size` to be"):
        ShardWriter(str(tmp_path), **dict(SETTINGS, input_size=(224,)))
    with pytest.raises(ValueError, match="unique `class_names`"):
        ShardWriter(str(tmp_path), **dict(SETTINGS, class_names=["a", "a"]))
    with pytest.raises(ValueError, match="`dtype` to be one of"):
        ShardWriter(str(tmp_path), **dict(SETTINGS, dtype="int8"))
