"""Reads PyTorch state dicts into NumPy arrays without importing torch.

A `.pth` file is a pickle, and unpickling runs whatever callables the pickle
names. This reader admits only the few calls that rebuild tensors
(`torch._utils._rebuild_tensor_v2` and its kin, `collections.OrderedDict`,
the `torch.*Storage` type names) and refuses anything else, so a crafted file
cannot run code. Both layouts that `torch.save` writes are read:

- the zip layout (PyTorch >= 1.6): `<name>/data.pkl` plus one raw
  `<name>/data/<key>` entry per storage;
- the legacy layout (PyTorch < 1.6): a magic number, a protocol version and a
  system-info pickle, the main pickle, a pickled list of storage keys, then
  each storage as an int64 element count followed by its raw bytes.
"""

import collections
import collections.abc
import io
import os
import pickle
import struct
import zipfile

import numpy as np

_LEGACY_MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
_LEGACY_PROTOCOL_VERSION = 1001

# torch storage type name -> NumPy dtype of its elements.
_STORAGE_DTYPES = {
    "DoubleStorage": np.dtype("float64"),
    "FloatStorage": np.dtype("float32"),
    "HalfStorage": np.dtype("float16"),
    # NumPy has no bfloat16: read the raw 16 bits, widen to float32 later.
    "BFloat16Storage": np.dtype("uint16"),
    "LongStorage": np.dtype("int64"),
    "IntStorage": np.dtype("int32"),
    "ShortStorage": np.dtype("int16"),
    "CharStorage": np.dtype("int8"),
    "ByteStorage": np.dtype("uint8"),
    "BoolStorage": np.dtype("bool"),
}

_TENSOR_REBUILDERS = ("_rebuild_tensor", "_rebuild_tensor_v2")


class TorchStateDictError(ValueError):
    """Raised when a PyTorch state dict cannot be read safely.

    Covers unreadable or corrupt files, and pickles that reference anything
    besides the calls that rebuild tensors. The message names the file.

    Args:
        path: str or path-like. The file that failed.
        reason: str. What went wrong, in words.
    """

    def __init__(self, path, reason):
        self.path = os.fspath(path)
        self.reason = reason
        super().__init__(
            f"Could not read PyTorch state dict '{self.path}': {reason}"
        )

    def __reduce__(self):
        return (type(self), (self.path, self.reason))


def load_torch_state_dict(path):
    """Reads a PyTorch state dict file into NumPy arrays, without torch.

    Only tensor-rebuild calls are admitted while unpickling; a pickle that
    names any other callable or class (`os.system`, `builtins.eval`,
    `torch.nn.Module`, ...) is refused before it runs. Tensors come back as
    C-contiguous NumPy arrays in their stored dtype and shape (PyTorch's
    layout: convolution kernels stay `(out, in, kh, kw)`); bfloat16 tensors
    are widened to float32.

    Args:
        path: str or path-like. A file written by `torch.save(state_dict)`,
            in the zip layout or the legacy layout.

    Returns:
        A `collections.OrderedDict` mapping each parameter or buffer name to
        a `np.ndarray`, in the file's order.

    Raises:
        TorchStateDictError: if the file is missing, corrupt, in neither
            layout, names a callable that is not a tensor rebuild, or does
            not hold a mapping of tensors.

    Example:

    >>> import vidattn
    >>> weights = vidattn.backbones.load_torch_state_dict("model.pth")
    >>> weights["_conv_stem.weight"].shape
    (32, 3, 3, 3)
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise TorchStateDictError(path, "the file does not exist")
    try:
        if zipfile.is_zipfile(path):
            result = _load_zip(path)
        else:
            result = _load_legacy(path)
    except TorchStateDictError:
        raise
    except (
        pickle.UnpicklingError,
        EOFError,
        zipfile.BadZipFile,
        struct.error,
    ) as error:
        raise TorchStateDictError(
            path,
            f"the file is corrupt or truncated ({type(error).__name__}: "
            f"{error})",
        ) from error
    except _RefusedGlobal as error:
        raise TorchStateDictError(
            path,
            f"the pickle references '{error.module}.{error.name}', which is "
            "not a tensor-rebuild call; refusing to load it. Only "
            "torch._utils._rebuild_tensor_v2, collections.OrderedDict and the "
            "torch.*Storage types are admitted.",
        ) from None
    except ValueError as error:
        raise TorchStateDictError(path, str(error)) from error

    if isinstance(result, collections.abc.Mapping) and "state_dict" in result:
        # A training checkpoint: {"state_dict": ..., "epoch": ..., ...}.
        result = result["state_dict"]
    if not isinstance(result, collections.abc.Mapping):
        raise TorchStateDictError(
            path,
            "expected the pickle to hold a mapping from names to tensors; "
            f"received a {type(result).__name__}",
        )
    state_dict = collections.OrderedDict()
    for name, value in result.items():
        if not isinstance(value, np.ndarray):
            raise TorchStateDictError(
                path,
                f"expected every entry to be a tensor; received "
                f"{type(value).__name__} for '{name}'",
            )
        state_dict[str(name)] = value
    return state_dict


class _RefusedGlobal(Exception):
    def __init__(self, module, name):
        super().__init__(f"{module}.{name}")
        self.module = module
        self.name = name


class _StorageType:
    """Stands in for a `torch.*Storage` class named by the pickle."""

    def __init__(self, name):
        self.name = name
        self.dtype = _STORAGE_DTYPES[name]
        self.bfloat16 = name == "BFloat16Storage"


class _StorageView:
    """A storage (or a legacy view into one) whose bytes may be read later."""

    def __init__(self, key, storage_type, numel, offset=0):
        self.key = key
        self.dtype = storage_type.dtype
        self.bfloat16 = storage_type.bfloat16
        self.numel = numel
        self.offset = offset


class _PendingTensor:
    """A rebuilt tensor, made concrete once its storage's bytes are known."""

    def __init__(self, storage, storage_offset, size, stride):
        if not isinstance(storage, _StorageView):
            raise ValueError(
                "expected a tensor to be rebuilt from a storage; received "
                f"{type(storage).__name__}"
            )
        self.storage = storage
        self.storage_offset = int(storage_offset)
        self.size = tuple(int(s) for s in size)
        self.stride = tuple(int(s) for s in stride)

    def materialize(self, storages):
        data = storages[self.storage.key]
        offset = self.storage.offset + self.storage_offset
        if len(self.size) != len(self.stride):
            raise ValueError(
                f"tensor of size {self.size} has stride {self.stride} of a "
                "different rank"
            )
        if any(s < 0 for s in self.size) or any(s < 0 for s in self.stride):
            raise ValueError(
                f"tensor has a negative size {self.size} or stride "
                f"{self.stride}"
            )
        if 0 in self.size:
            array = np.zeros(self.size, dtype=data.dtype)
        else:
            last = offset + sum(
                (n - 1) * s for n, s in zip(self.size, self.stride)
            )
            if offset < 0 or last >= data.size:
                raise ValueError(
                    f"tensor of size {self.size} and stride {self.stride} at "
                    f"offset {offset} reaches past its storage of {data.size} "
                    "elements"
                )
            array = np.lib.stride_tricks.as_strided(
                data[offset:],
                shape=self.size,
                strides=[s * data.itemsize for s in self.stride],
                writeable=False,
            )
            array = np.array(array, copy=True, order="C")
        if self.storage.bfloat16:
            # bfloat16: its bits are the high half of a float32.
            array = (array.astype(np.uint32) << 16).view(np.float32)
        return array


def _rebuild_tensor(storage, storage_offset, size, stride, *unused):
    return _PendingTensor(storage, storage_offset, size, stride)


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None, *unused):
    return data


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickles only what a PyTorch state dict needs to rebuild tensors."""

    def __init__(self, file, persistent_load):
        super().__init__(file)
        self._persistent_load = persistent_load

    def find_class(self, module, name):
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        if module == "torch._utils" and name in _TENSOR_REBUILDERS:
            return _rebuild_tensor
        if module == "torch._utils" and name == "_rebuild_parameter":
            return _rebuild_parameter
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name)
        raise _RefusedGlobal(module, name)

    def persistent_load(self, saved_id):
        return self._persistent_load(saved_id)


def _storage_type_of(value):
    if not isinstance(value, _StorageType):
        raise ValueError(
            "expected a torch storage type in a storage record; received "
            f"{value!r}"
        )
    return value


def _materialize(obj, storages):
    if isinstance(obj, _PendingTensor):
        return obj.materialize(storages)
    if isinstance(obj, dict):
        materialized = (
            type(obj)() if isinstance(obj, collections.OrderedDict) else {}
        )
        for key, value in obj.items():
            materialized[key] = _materialize(value, storages)
        return materialized
    if isinstance(obj, (list, tuple)):
        return type(obj)(_materialize(value, storages) for value in obj)
    return obj


def _load_zip(path):
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        pickles = [name for name in names if name.endswith("data.pkl")]
        if len(pickles) != 1:
            raise ValueError(
                "expected one 'data.pkl' entry in the zip archive; found "
                f"{len(pickles)}"
            )
        prefix = pickles[0][: -len("data.pkl")]
        byteorder = "little"
        if prefix + "byteorder" in names:
            byteorder = (
                archive.read(prefix + "byteorder").decode("ascii").strip()
            )
        views = {}

        def persistent_load(saved_id):
            if (
                not isinstance(saved_id, tuple)
                or not saved_id
                or saved_id[0] != "storage"
            ):
                raise ValueError(f"unexpected persistent id {saved_id!r}")
            if len(saved_id) != 5:
                raise ValueError(f"unexpected storage record {saved_id!r}")
            _, storage_type, key, _, numel = saved_id
            storage_type = _storage_type_of(storage_type)
            view = _StorageView(str(key), storage_type, int(numel))
            views[view.key] = view
            return view

        with archive.open(pickles[0]) as file:
            result = _RestrictedUnpickler(
                io.BytesIO(file.read()), persistent_load
            ).load()

        storages = {}
        for key, view in views.items():
            entry = f"{prefix}data/{key}"
            if entry not in names:
                raise ValueError(
                    f"the archive lacks the storage entry '{entry}'"
                )
            raw = archive.read(entry)
            storages[key] = _from_bytes(
                raw, view.dtype, view.numel, byteorder, key
            )
    return _materialize(result, storages)


def _load_legacy(path):
    with open(path, "rb") as file:
        magic = _load_header_pickle(file)
        if magic != _LEGACY_MAGIC_NUMBER:
            raise ValueError(
                "the file is neither a zip archive nor a legacy PyTorch "
                "pickle (no PyTorch magic number)"
            )
        protocol = _load_header_pickle(file)
        if protocol != _LEGACY_PROTOCOL_VERSION:
            raise ValueError(
                f"expected legacy protocol version {_LEGACY_PROTOCOL_VERSION}; "
                f"received {protocol!r}"
            )
        sys_info = _load_header_pickle(file)
        little_endian = True
        if isinstance(sys_info, dict):
            little_endian = bool(sys_info.get("little_endian", True))
        byteorder = "little" if little_endian else "big"

        roots = {}

        def persistent_load(saved_id):
            if (
                not isinstance(saved_id, tuple)
                or not saved_id
                or saved_id[0] != "storage"
            ):
                raise ValueError(f"unexpected persistent id {saved_id!r}")
            if len(saved_id) != 6:
                raise ValueError(f"unexpected storage record {saved_id!r}")
            _, storage_type, root_key, _, numel, view_metadata = saved_id
            storage_type = _storage_type_of(storage_type)
            root_key = str(root_key)
            if root_key not in roots:
                roots[root_key] = (storage_type.dtype, int(numel))
            if view_metadata is None:
                return _StorageView(root_key, storage_type, int(numel))
            _, view_offset, view_size = view_metadata
            return _StorageView(
                root_key, storage_type, int(view_size), int(view_offset)
            )

        result = _RestrictedUnpickler(file, persistent_load).load()
        keys = _load_header_pickle(file)
        if not isinstance(keys, list):
            raise ValueError(
                "expected a list of storage keys after the main pickle"
            )
        storages = {}
        count_format = "<q" if little_endian else ">q"
        for key in keys:
            key = str(key)
            if key not in roots:
                raise ValueError(
                    f"storage '{key}' is stored but never referenced"
                )
            dtype, numel = roots[key]
            (stored_numel,) = struct.unpack(
                count_format, _read_exactly(file, 8, key)
            )
            if stored_numel != numel:
                raise ValueError(
                    f"storage '{key}' holds {stored_numel} elements; its "
                    f"record says {numel}"
                )
            raw = _read_exactly(file, numel * dtype.itemsize, key)
            storages[key] = _from_bytes(raw, dtype, numel, byteorder, key)
        missing = sorted(set(roots) - set(storages))
        if missing:
            raise ValueError(
                f"storages {missing[:5]} are referenced but not stored"
            )
    return _materialize(result, storages)


def _load_header_pickle(file):
    # The header pickles hold plain ints, dicts and lists of strings only.
    def refuse(saved_id):
        raise ValueError(f"unexpected persistent id {saved_id!r} in a header")

    return _RestrictedUnpickler(file, refuse).load()


def _read_exactly(file, count, key):
    data = file.read(count)
    if len(data) != count:
        raise ValueError(
            f"the file ends inside storage '{key}' ({len(data)} of {count} "
            "bytes); it is truncated"
        )
    return data


def _from_bytes(raw, dtype, numel, byteorder, key):
    if len(raw) != numel * dtype.itemsize:
        raise ValueError(
            f"storage '{key}' holds {len(raw)} bytes; expected {numel} "
            f"elements of {dtype.itemsize} bytes"
        )
    stored = dtype.newbyteorder("<" if byteorder == "little" else ">")
    return np.frombuffer(raw, dtype=stored).astype(dtype, copy=False)
