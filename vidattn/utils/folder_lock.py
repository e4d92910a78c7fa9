"""One process at a time in a folder: an exclusive lock on a lock file.

Writers that keep state in a folder (a dataset's shards and manifest, an
extraction's output folder) take its lock before they write anything, so
that a second run into the same folder is refused at once, with the
folder and the other process named, rather than after it overwrote a file.

The lock is `fcntl.flock` on a file inside the folder: the kernel releases
it when its holder exits, killed or not, so a crashed run never leaves a
stale lock. The file holds the holder's process id, for the message. It is
never deleted (deleting a lock file that another process may be opening
would let two holders in).
"""

import fcntl
import os


class FolderLockedError(OSError):
    """Another process holds a folder's lock.

    An `OSError` (the folder is busy), so that the command line reports it
    as a message. The message names the folder, the lock file and, when it
    can be read, the process that holds it.
    """


class FolderLock:
    """An exclusive lock on a folder, held by one process at a time.

    Two `FolderLock`s on one folder exclude each other even within one
    process (each opens the lock file afresh).

    Args:
        directory: str or path-like. The folder; created if missing.
        filename: str. The lock file's name inside it. Defaults to
            `".vidattn.lock"`.

    Attributes:
        directory: str. The folder, absolute.
        path: str. The lock file.

    Raises:
        FolderLockedError: from `acquire()` (and `with`), if another
            process holds the folder.

    Example:

    ```python
    with vidattn.utils.FolderLock("/data/features"):
        ...  # write into /data/features
    ```
    """

    def __init__(self, directory, filename=".vidattn.lock"):
        self.directory = os.path.abspath(os.fspath(directory))
        self.path = os.path.join(self.directory, filename)
        self._file = None

    @property
    def held(self):
        """Whether this lock is held."""
        return self._file is not None

    def acquire(self):
        """Takes the lock, or raises `FolderLockedError` at once."""
        if self._file is not None:
            return self
        os.makedirs(self.directory, exist_ok=True)
        file = open(self.path, "a+", encoding="utf-8")
        try:
            fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            file.seek(0)
            holder = file.read().strip()
            file.close()
            process = f"process {holder}" if holder.isdigit() else "a process"
            raise FolderLockedError(
                f"{self.directory} is in use by another run ({process} "
                f"holds {self.path}). Expected one run at a time in a "
                "folder: wait for that run to finish or stop it, then "
                "rerun, or write to another folder."
            ) from None
        file.seek(0)
        file.truncate()
        file.write(f"{os.getpid()}\n")
        file.flush()
        self._file = file
        return self

    def release(self):
        """Releases the lock, if held."""
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, exc_type, exc_value, traceback):
        self.release()
        return False

    def __repr__(self):
        state = "held" if self.held else "free"
        return f"<FolderLock {self.path} {state}>"
