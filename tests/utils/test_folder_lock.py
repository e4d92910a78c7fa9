"""Tests for vidattn.utils.folder_lock: one process at a time in a folder."""

import os
import subprocess
import sys
import textwrap

import pytest

from vidattn.utils import FolderLock
from vidattn.utils import FolderLockedError
from vidattn.utils import folder_lock


def test_a_second_lock_is_refused_until_the_first_is_released(tmp_path):
    folder = tmp_path / "out"
    with FolderLock(folder) as lock:
        assert lock.held and folder.is_dir()
        with pytest.raises(FolderLockedError) as info:
            FolderLock(folder).acquire()
        assert isinstance(info.value, OSError)
        message = str(info.value)
        assert f"{folder} is in use by another run" in message
        assert f"process {os.getpid()} holds {lock.path}" in message
    assert not lock.held
    with FolderLock(folder) as again:
        assert again.held
    # Another lock file in the same folder is another lock.
    with FolderLock(folder), FolderLock(folder, ".other.lock"):
        pass


def test_a_killed_holder_leaves_no_stale_lock(tmp_path):
    # The module alone, without the package (and Keras) behind it.
    script = textwrap.dedent(
        """
        import importlib.util, os, signal, sys
        spec = importlib.util.spec_from_file_location("lock", sys.argv[2])
        lock = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(lock)
        lock.FolderLock(sys.argv[1]).acquire()
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    process = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path), folder_lock.__file__],
        timeout=60,
    )
    assert process.returncode == -9
    with FolderLock(tmp_path):
        pass
