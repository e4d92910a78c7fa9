"""The SHA-256 of a file, as dataset manifests list it."""

import hashlib

_BLOCK_BYTES = 1 << 22


def sha256_file(path):
    """Returns the SHA-256 of the file at `path`, 64 lowercase hex digits.

    Reads the file in 4 MiB blocks, so memory does not grow with its size.

    Args:
        path: str or path-like. The file.

    Returns:
        The hex digest, a str.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(_BLOCK_BYTES), b""):
            digest.update(block)
    return digest.hexdigest()
