"""Writes signatures, metadata and asset files as one SavedModel folder."""

import json
import os
import tempfile

import keras
import tensorflow as tf

from vidattn.export.export_metadata import METADATA
from vidattn.export.export_metadata import METADATA_FILE
from vidattn.utils.atomic_write import atomic_output_path

# The attribute of the loaded SavedModel that holds the asset files.
_ASSETS = "vidattn_assets"


def write_export(
    model, signatures, metadata, export_dir, text_files=None, endpoint_adders=()
):
    """Traces the signatures and writes the export whole or not at all.

    The first signature is also `serving_default`. The metadata is written
    twice: as `assets/vidattn_metadata.json` (for clients without
    TensorFlow) and as a string variable (`read_export_metadata`). Each
    `text_files` entry becomes `assets/NAME`, one item a line. Assets are
    `tf.saved_model.Asset`s of the SavedModel, so `tf.saved_model.load`
    points them at the loaded folder's `assets/`.

    Other families of signatures (streaming, raw frames through a backbone)
    plug in through `endpoint_adders`: each is called as
    `adder(archive, model, signatures)` after these signatures are added,
    and may add endpoints of its own, calling the functions of `signatures`
    (`vidattn.export.ServingSignature`) inside them. Each endpoint is
    traced once.

    Args:
        model: the built Keras model the signatures call.
        signatures: dict of `vidattn.export.ServingSignature` by name, in
            the order to add them.
        metadata: dict, JSON-ready.
        export_dir: str. The folder to write (published atomically with
            `vidattn.utils.atomic_output_path`).
        text_files: dict of file name to list of str, or `None`.
        endpoint_adders: sequence of callables, see above. Defaults to none.

    Returns:
        `export_dir`.
    """
    archive = keras.export.ExportArchive()
    archive.track(model)
    for name, signature in signatures.items():
        archive.add_endpoint(
            name,
            signature.function,
            input_signature=list(signature.input_signature),
        )
    for add_endpoints in endpoint_adders:
        add_endpoints(archive, model, signatures)
    _trace_endpoints_once(archive)
    metadata_text = json.dumps(metadata, indent=1, ensure_ascii=False)
    archive.add_variable_collection(
        METADATA,
        [tf.Variable(metadata_text, trainable=False, name=METADATA)],
    )
    files = {METADATA_FILE: metadata_text + "\n"}
    for name, lines in (text_files or {}).items():
        files[name] = "".join(f"{line}\n" for line in lines)
    with tempfile.TemporaryDirectory() as scratch:
        assets = []
        for name, text in files.items():
            path = os.path.join(scratch, name)
            with open(path, "w", encoding="utf-8") as file:
                file.write(text)
            assets.append(tf.saved_model.Asset(path))
        # ExportArchive keeps only the lookup tables among the tracked
        # objects' resources; its root object saves whatever it holds.
        setattr(archive._tf_trackable, _ASSETS, assets)
        with atomic_output_path(export_dir, directory=True) as staging:
            archive.write_out(staging, verbose=False)
    return export_dir


def _trace_endpoints_once(archive):
    """Makes `write_out` save each endpoint's one trace as it is.

    `tf.saved_model.save` traces every `tf.function` it saves again inside
    its save context (part of the trace cache's key), after `ExportArchive`
    traced it outside to find its variables: every endpoint's graph (a
    beam search, a window loop) would be built twice. A concrete function
    is saved as it is, so each endpoint is traced here once and stands in
    the archive as its concrete function, which is also its signature (and
    `serving_default`'s, for the first).
    """
    concrete_functions = {}
    for name in archive._endpoint_names:
        function = getattr(archive._tf_trackable, name)
        concrete_functions[name] = function.get_concrete_function()
        setattr(archive._tf_trackable, name, concrete_functions[name])
    archive._get_concrete_fn = concrete_functions.__getitem__
