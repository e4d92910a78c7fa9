"""Files that appear whole or not at all, and survive a crash once written.

Every file the package writes for a user to keep (shards, manifests, models,
reports, indexes, videos, SavedModels) goes through this module: the content
is written under a temporary name in the same folder, flushed and fsynced,
renamed over the final name with `os.replace` (atomic on POSIX), and the
folder is fsynced so that the rename itself is durable. A reader never sees
half a file, a failed write leaves any previous file intact, and a kill
leaves at most a temporary file, whose name starts with a dot and ends with
`.tmp`.
"""

import contextlib
import json
import os
import shutil
import tempfile

TEMPORARY_SUFFIX = ".tmp"
"""The suffix of every temporary name this module creates."""


def fsync_directory(directory):
    """Makes the creations, renames and removals inside `directory` durable.

    Args:
        directory: str or path-like. An existing folder.
    """
    descriptor = os.open(os.fspath(directory), os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _fsync_file(path):
    with open(path, "rb") as file:
        os.fsync(file.fileno())


def _fsync_tree(path):
    if os.path.isdir(path):
        for folder, _, names in os.walk(path):
            for name in names:
                _fsync_file(os.path.join(folder, name))
            fsync_directory(folder)
    else:
        _fsync_file(path)


def _remove(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)


def publish_file(temporary, path):
    """Moves a finished file (or folder) onto its final name, durably.

    Fsyncs what `temporary` holds, renames it over `path` (`os.replace`; a
    folder at `path` is removed first, since a folder cannot be replaced in
    one step), and fsyncs the parent folder.

    Args:
        temporary: str. The finished file or folder, in `path`'s folder.
        path: str. Its final name.
    """
    temporary, path = os.fspath(temporary), os.fspath(path)
    _fsync_tree(temporary)
    if os.path.isdir(temporary) and os.path.isdir(path):
        shutil.rmtree(path)
    os.replace(temporary, path)
    fsync_directory(os.path.dirname(os.path.abspath(path)))


def _temporary_name(path, directory=False):
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    prefix = f".{os.path.basename(path)}."
    if directory:
        return tempfile.mkdtemp(
            prefix=prefix, suffix=TEMPORARY_SUFFIX, dir=folder
        )
    descriptor, temporary = tempfile.mkstemp(
        prefix=prefix, suffix=TEMPORARY_SUFFIX, dir=folder
    )
    os.close(descriptor)
    # mkstemp makes the file private (0600); what users keep is not secret.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(temporary, 0o666 & ~umask)
    return temporary


@contextlib.contextmanager
def atomic_write(path, mode="w", encoding="utf-8"):
    """Opens a file whose content replaces `path` only if the block succeeds.

    Missing parent folders are created.

    Args:
        path: str or path-like. The file to write.
        mode: str. `"w"` (text) or `"wb"` (bytes). Defaults to `"w"`.
        encoding: str. Text encoding. Defaults to `"utf-8"`.

    Yields:
        The open file object.

    Raises:
        ValueError: if `mode` is not `"w"` or `"wb"`.

    Example:

    >>> from vidattn.utils import atomic_write
    >>> with atomic_write("/tmp/scores.txt") as file:
    ...     _ = file.write("accuracy 0.91\\n")
    """
    if mode not in ("w", "wb"):
        raise ValueError(
            f"Expected `mode` to be 'w' or 'wb'. Received: mode={mode!r}"
        )
    path = os.fspath(path)
    temporary = _temporary_name(path)
    try:
        with open(
            temporary, mode, encoding=None if "b" in mode else encoding
        ) as file:
            yield file
            file.flush()
        publish_file(temporary, path)
    except BaseException:
        _remove(temporary)
        raise


@contextlib.contextmanager
def atomic_output_path(path, directory=False, suffix=""):
    """A temporary path beside `path` for writers that want a path.

    For code that writes by path rather than through a file object
    (`keras.Model.save`, a SavedModel export, PIL, PyAV): write to the
    yielded path; when the block succeeds it is published onto `path` with
    `publish_file`, and when it fails it is removed.

    Args:
        path: str or path-like. The final file or folder.
        directory: bool. Whether the writer creates a folder (the yielded
            path is then an empty folder). Defaults to `False`.
        suffix: str. Appended to the temporary name, for writers that read
            the format from the extension (`".keras"`, `".png"`, `".mp4"`).
            Defaults to `""`.

    Yields:
        The temporary path, a str.

    Example:

    ```python
    path = "run/best.keras"
    with vidattn.utils.atomic_output_path(path, suffix=".keras") as temporary:
        model.save(temporary)
    ```
    """
    path = os.fspath(path)
    temporary = _temporary_name(path, directory=directory)
    if suffix:
        renamed = temporary + suffix
        os.replace(temporary, renamed)
        temporary = renamed
    try:
        yield temporary
        publish_file(temporary, path)
    except BaseException:
        _remove(temporary)
        raise


def write_json_atomically(path, value, indent=1, sort_keys=False):
    """Writes `value` as a JSON file with `atomic_write`.

    Args:
        path: str or path-like. The file to write.
        value: a JSON-serializable object.
        indent: int. Indentation. Defaults to `1`.
        sort_keys: bool. Whether to sort object keys. Defaults to `False`.

    Returns:
        The path written, as a str.
    """
    with atomic_write(path) as file:
        json.dump(
            value, file, indent=indent, sort_keys=sort_keys, ensure_ascii=False
        )
        file.write("\n")
    return os.fspath(path)
