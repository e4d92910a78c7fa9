"""TF Serving's model folder layout: `NAME/VERSION/`, a number per version."""

import os

from vidattn.utils.arguments import check_positive_int


def existing_versions(export_base):
    """The versions already in a model folder, in increasing order.

    TF Serving reads every subfolder whose name is an integer as a version
    of the model; anything else (a temporary folder being written, a README)
    it ignores, and so does this function.

    Args:
        export_base: str or path-like. The model's folder (`exports/ucf11`).

    Returns:
        A sorted list of int; empty when the folder does not exist.
    """
    export_base = os.fspath(export_base)
    if not os.path.isdir(export_base):
        return []
    return sorted(
        int(name)
        for name in os.listdir(export_base)
        if name.isdigit() and os.path.isdir(os.path.join(export_base, name))
    )


def version_directory(export_base, version=None, overwrite=False):
    """The folder of the version an export writes, in TF Serving's layout.

    Args:
        export_base: str or path-like. The model's folder: TF Serving's
            `--model_base_path` (`exports/ucf11`).
        version: int or `None`. The version to write; `None` (default)
            takes the next integer after the highest existing one (`1` in an
            empty folder), which TF Serving then serves in place of the
            older ones.
        overwrite: bool. Whether an existing `version` may be replaced.
            Defaults to `False`.

    Returns:
        The version's folder, `export_base/version`, a str.

    Raises:
        ValueError: if `version` is not a positive integer, or exists and
            `overwrite` is `False`.

    Example:

    >>> import tempfile, vidattn
    >>> base = tempfile.mkdtemp()
    >>> vidattn.export.version_directory(base).endswith("/1")
    True
    """
    export_base = os.fspath(export_base)
    versions = existing_versions(export_base)
    if version is None:
        version = versions[-1] + 1 if versions else 1
    version = check_positive_int("version", version)
    directory = os.path.join(export_base, str(version))
    if os.path.exists(directory) and not overwrite:
        raise ValueError(
            f"Expected a new version of {export_base!r}. Received version "
            f"{version}, which exists ({directory}): leave the version out "
            f"to write {versions[-1] + 1 if versions else 1}, or pass "
            "overwrite (--overwrite) to replace it."
        )
    return directory
