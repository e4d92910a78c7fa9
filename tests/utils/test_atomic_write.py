import json
import os
import stat

import pytest

from vidattn.utils import atomic_output_path
from vidattn.utils import atomic_write
from vidattn.utils import publish_file
from vidattn.utils import write_json_atomically


def leftovers(folder):
    return sorted(name for name in os.listdir(folder) if name.startswith("."))


def test_atomic_write_replaces_the_file_and_leaves_nothing_behind(tmp_path):
    path = tmp_path / "nested" / "scores.txt"
    with atomic_write(path) as file:
        file.write("first")
    with atomic_write(path) as file:
        file.write("second")
    assert path.read_text() == "second"
    assert leftovers(path.parent) == []
    # Readable by others, like any file the user writes (not mkstemp's 0600).
    assert os.stat(path).st_mode & stat.S_IRGRP


def test_a_failed_write_keeps_the_old_file_and_removes_the_temporary(tmp_path):
    path = tmp_path / "scores.txt"
    path.write_text("old")
    with pytest.raises(RuntimeError, match="disk on fire"):
        with atomic_write(path) as file:
            file.write("half of the new con")
            raise RuntimeError("disk on fire")
    assert path.read_text() == "old"
    assert leftovers(tmp_path) == []


def test_binary_mode_and_bad_mode(tmp_path):
    with atomic_write(tmp_path / "a.bin", "wb") as file:
        file.write(b"\x00\x01")
    assert (tmp_path / "a.bin").read_bytes() == b"\x00\x01"
    with pytest.raises(ValueError, match="Expected `mode` to be 'w' or 'wb'"):
        with atomic_write(tmp_path / "a.bin", "a"):
            pass


def test_the_file_is_invisible_until_the_block_ends(tmp_path):
    path = tmp_path / "index.json"
    with atomic_write(path) as file:
        file.write("{}")
        assert not path.exists()
        (temporary,) = leftovers(tmp_path)
        assert temporary.startswith(".index.json.")
        assert temporary.endswith(".tmp")
    assert path.exists()


def test_write_json_atomically(tmp_path):
    path = write_json_atomically(tmp_path / "a.json", {"b": [1, "é"]})
    assert json.loads(open(path, encoding="utf-8").read()) == {"b": [1, "é"]}
    assert "é" in open(path, encoding="utf-8").read()


def test_atomic_output_path_for_a_file_with_a_suffix(tmp_path):
    path = tmp_path / "best.keras"
    with atomic_output_path(path, suffix=".keras") as temporary:
        assert temporary.endswith(".keras")
        assert os.path.dirname(temporary) == str(tmp_path)
        with open(temporary, "w") as file:
            file.write("model")
    assert path.read_text() == "model"
    assert leftovers(tmp_path) == []


def test_atomic_output_path_for_a_folder_replaces_the_old_folder(tmp_path):
    export = tmp_path / "export" / "1"
    export.mkdir(parents=True)
    (export / "old.pb").write_text("old")
    with atomic_output_path(export, directory=True) as temporary:
        os.makedirs(os.path.join(temporary, "variables"))
        with open(os.path.join(temporary, "saved_model.pb"), "w") as f:
            f.write("new")
    assert sorted(os.listdir(export)) == ["saved_model.pb", "variables"]
    assert leftovers(export.parent) == []


def test_atomic_output_path_removes_a_failed_folder(tmp_path):
    with pytest.raises(ValueError):
        with atomic_output_path(tmp_path / "out", directory=True) as temporary:
            open(os.path.join(temporary, "half"), "w").close()
            raise ValueError("writer failed")
    assert os.listdir(tmp_path) == []


def test_publish_file(tmp_path):
    temporary = tmp_path / "shard.tfrecord.tmp"
    temporary.write_bytes(b"records")
    publish_file(temporary, tmp_path / "shard.tfrecord")
    assert os.listdir(tmp_path) == ["shard.tfrecord"]
