"""The serving signatures of a SavedModel folder, as a client sees them."""

import os

from tensorflow.core.protobuf import saved_model_pb2


def _tensor_text(name, info):
    from tensorflow.python.framework import dtypes

    dims = ", ".join(
        "-1" if dim.size < 0 else str(dim.size) for dim in info.tensor_shape.dim
    )
    return f"{name}: {dtypes.as_dtype(info.dtype).name} ({dims})"


def signature_summary(export_dir):
    """Each serving signature of an export with its inputs and outputs.

    Read from the folder's `saved_model.pb` (what TF Serving reads), without
    loading the model.

    Args:
        export_dir: str or path-like. A SavedModel folder.

    Returns:
        A dict: signature name → `{"inputs": [...], "outputs": [...]}`,
        each a sorted list of `"name: dtype (dims)"` strings (`-1` for a
        size the signature leaves free).

    Raises:
        OSError: if the folder holds no `saved_model.pb`.

    Example:

    ```python
    for name, tensors in vidattn.export.signature_summary(path).items():
        print(name, tensors["inputs"], "->", tensors["outputs"])
    ```
    """
    path = os.path.join(os.fspath(export_dir), "saved_model.pb")
    saved_model = saved_model_pb2.SavedModel()
    with open(path, "rb") as file:
        saved_model.ParseFromString(file.read())
    summary = {}
    for meta_graph in saved_model.meta_graphs:
        if "serve" not in meta_graph.meta_info_def.tags:
            continue
        for name, signature in sorted(meta_graph.signature_def.items()):
            if name.startswith("__"):
                continue
            summary[name] = {
                kind: sorted(
                    _tensor_text(tensor, info)
                    for tensor, info in getattr(signature, kind).items()
                )
                for kind in ("inputs", "outputs")
            }
    return summary
