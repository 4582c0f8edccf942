"""Model files: weights as safetensors, everything else as JSON in its metadata.

A file holds one tensor per parameter, named ``layers.{i}.W`` and
``layers.{i}.b`` (layer ``i`` from 0, the first hidden layer), and three
metadata strings:

``format``
    ``"backprop-model"``;
``format_version``
    ``"1"``;
``model``
    JSON: the network's architecture (sizes, activations, bias, loss, dtype),
    the task, class labels, preprocessing, target scaling, and the training
    settings, final metrics and package version under ``metadata``;
``sha256``
    the SHA-256 of the ``model`` string and every tensor (name, dtype, shape
    and bytes, in name order), so that a damaged file is refused rather than
    loaded with wrong weights. Files without it (older ones) load unchecked.

Nothing in the file is executed: safetensors holds raw arrays and JSON holds
plain values. Files are written atomically (temporary file, fsync, rename), so
an interrupted save never leaves a half-written model in place.

What :func:`load` checks, before it reads any weights: the 8-byte header
length (at most :data:`MAX_HEADER_BYTES`, far above any header :func:`save`
writes, which refuses to write a larger one), that the header is a JSON object
describing each tensor's dtype, shape and byte range, that the file is exactly
as long as the header says (a truncated file, or one with anything appended, is
refused without reading it), the format name and version, and that every
tensor's shape is the one the architecture in the metadata needs. There is no
limit on the size of the weights themselves: a file is as large as the
architecture it declares, and is only read once the two agree. Then the
weights are read, checked to be finite, and checked against ``sha256``.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load as st_load
from safetensors.numpy import save as st_save

from ._version import __version__
from .core import Network
from .io.atomic import check_destination, write_atomic
from .io.nesting import MAX_DEPTH, check_nesting, nesting_depth
from .io.reading import open_regular
from .io.schema import check_model_config, check_tensors

__all__ = ["write_model", "read_model", "read_metadata", "check_writable", "FORMAT", "FORMAT_VERSION", "MAX_HEADER_BYTES"]

FORMAT = "backprop-model"
FORMAT_VERSION = "1"
MAX_HEADER_BYTES = 16 * 1024 * 1024  # a header larger than this is not one we wrote
_DTYPE_BYTES = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2, "F16": 2,
                "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8}


def write_model(path, config: dict, network: Network) -> Path:
    """Write a model's plain-data ``config`` and ``network``'s weights to ``path``, atomically.

    Returns the path written. :meth:`backprop.Model.save` and
    :func:`backprop.save` call it; ``config`` is :meth:`backprop.Model.config`.
    """
    config = dict(config)
    config["metadata"] = {**config.get("metadata", {}), "backprop_version": __version__}
    tensors = {}
    for i, layer in enumerate(network.layers):
        tensors[f"layers.{i}.W"] = np.ascontiguousarray(layer.W)
        if layer.b is not None:
            tensors[f"layers.{i}.b"] = np.ascontiguousarray(layer.b)
    try:
        text = json.dumps(config, allow_nan=False, default=to_plain)
    except ValueError:
        where = _non_finite_key(config, "model")
        raise ValueError(f"cannot save the model to {path}: {where} is not a finite number, and a model "
                         "file holds finite numbers only") from None
    try:
        check_model_config(json.loads(text), "the model")
    except ValueError as exc:
        raise ValueError(f"cannot save the model to {path}: {str(exc).removeprefix('the model: ')}") from None
    metadata = {"format": FORMAT, "format_version": FORMAT_VERSION, "model": text,
                "sha256": _checksum(text, tensors)}
    data = st_save(tensors, metadata=metadata)
    n = int.from_bytes(data[:8], "little")
    if n > MAX_HEADER_BYTES:
        raise ValueError(f"cannot save the model to {path}: its metadata takes {n} bytes, more than the "
                         f"{MAX_HEADER_BYTES} a model file may hold (too many class labels or metadata?)")
    return write_atomic(path, data)


def check_writable(path, inputs=()) -> Path:
    """Raise OSError or ValueError, in words, if a file cannot be written at ``path``; return it as a Path.

    Call it before long work whose result goes to ``path``: the folder must
    exist and be writable (a file is really created and removed in it),
    ``path`` must be a regular file or absent, and not one of ``inputs``
    (see :func:`backprop.io.check_destination`).
    """
    return check_destination(path, inputs)


def read_metadata(path) -> dict:
    """The parsed and checked ``model`` metadata of a model file, without loading the weights."""
    path = Path(path)
    with open_regular(path, "model file") as fh:
        header = _read_header(path, fh)
    return _model_config(path, header.get("__metadata__") or {})


def read_model(path) -> tuple[dict, Network]:
    """Read a model file written by :func:`write_model`: its config (plain data) and its network.

    Only a regular file is opened (a FIFO or device is refused, never read).
    The metadata is checked against the schema of :mod:`backprop.io.schema`
    and the tensors' dtypes and shapes against it before any weight is read.

    Raises
    ------
    FileNotFoundError
        If there is no such file.
    ValueError
        If the file is not a backprop model, is truncated or corrupted, comes
        from an unknown format version, its metadata breaks the schema, or its
        weights do not fit the architecture its metadata describes.
    """
    path = Path(path)
    with open_regular(path, "model file") as fh:
        header = _read_header(path, fh)
        metadata = header.get("__metadata__") or {}
        config = _model_config(path, metadata)
        check_tensors(header, config["network"], str(path))
        fh.seek(0)
        raw = fh.read()
    try:
        tensors = st_load(raw)
    except (SafetensorError, ValueError, OverflowError, KeyError) as exc:
        raise ValueError(f"{path} is not a valid safetensors file ({exc})") from None
    network = _network_from(path, config, tensors)
    stored = metadata.get("sha256")
    if stored is not None and stored != _checksum(metadata["model"], tensors):
        raise ValueError(f"{path} is damaged: its contents do not match the SHA-256 checksum stored in it; "
                         "it was changed or corrupted after it was saved")
    return config, network


def __getattr__(name):
    """``backprop.modelfile.save`` and ``load``, from before they moved to :mod:`backprop.model`."""
    if name in ("save", "load"):
        import warnings

        from . import model  # only for these old names, never at import time

        warnings.warn(f"backprop.modelfile.{name} is now backprop.{name} (backprop.model.{name})",
                      DeprecationWarning, stacklevel=2)
        return getattr(model, name)
    raise AttributeError(f"module 'backprop.modelfile' has no attribute {name!r}")


def _read_header(path: Path, fh) -> dict:
    size = os.fstat(fh.fileno()).st_size
    head = fh.read(8)
    if len(head) < 8:
        raise ValueError(f"{path} is not a model file: only {size} bytes")
    n = int.from_bytes(head, "little")
    if n > MAX_HEADER_BYTES:
        raise ValueError(f"{path} is not a valid safetensors file: its header claims {n} bytes, more than "
                         f"the {MAX_HEADER_BYTES} a model file's header may have")
    if n > size - 8:
        raise ValueError(f"{path} is not a valid safetensors file: its header claims {n} bytes "
                         f"but the file has {size}; it is truncated or not a safetensors file")
    raw = fh.read(n)
    try:
        text = raw.decode("utf-8")
        depth = nesting_depth(text)
        if depth > MAX_DEPTH:
            raise ValueError(f"it nests {depth} levels deep, and a model file's header nests {MAX_DEPTH} at most")
        header = json.loads(text, parse_constant=_refuse_constant)
    except (UnicodeDecodeError, RecursionError, ValueError) as exc:
        why = f" ({exc})" if str(exc).startswith("it nests") else ""
        raise ValueError(f"{path} is not a valid safetensors file: its header is not JSON{why}") from None
    if not isinstance(header, dict):
        raise ValueError(f"{path} is not a valid safetensors file: its header is not a JSON object")
    metadata = header.get("__metadata__")
    if metadata is not None and not (isinstance(metadata, dict) and all(isinstance(v, str) for v in metadata.values())):
        raise ValueError(f"{path} is not a valid safetensors file: its __metadata__ is not a map of strings")
    expected = 8 + n + _data_size(path, header)
    if size < expected:
        raise ValueError(f"{path} is truncated: its header describes {expected} bytes of file "
                         f"but it has only {size}")
    if size > expected:
        raise ValueError(f"{path} is not a valid model file: {size - expected} unexpected bytes after the "
                         f"{expected} that its header describes")
    return header


def _data_size(path: Path, header: dict) -> int:
    """The bytes of tensor data the header describes: the end of the last tensor's byte range."""
    end = 0
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        try:
            dtype, shape, (begin, stop) = entry["dtype"], entry["shape"], entry["data_offsets"]
            ok = (dtype in _DTYPE_BYTES and isinstance(shape, list)
                  and all(type(d) is int and d >= 0 for d in shape)
                  and type(begin) is int and type(stop) is int and 0 <= begin <= stop)
        except (KeyError, TypeError, ValueError):
            ok = False
        if not ok:
            raise ValueError(f"{path} is not a valid safetensors file: the header entry for tensor "
                             f"{name[:80]!r} is not a dtype, a shape and a byte range")
        count = 1
        for d in shape:
            count *= d
        if stop - begin != count * _DTYPE_BYTES[dtype]:
            raise ValueError(f"{path} is not a valid safetensors file: tensor {name[:80]!r} of shape "
                             f"{tuple(shape)} {dtype} needs {count * _DTYPE_BYTES[dtype]} bytes, but its "
                             f"byte range holds {stop - begin}")
        end = max(end, stop)
    return end


def _checksum(model_json: str, tensors: dict) -> str:
    """SHA-256 of the model JSON and of each tensor's name, dtype, shape and bytes, in name order."""
    digest = hashlib.sha256(model_json.encode("utf-8"))
    for name in sorted(tensors):
        # Little-endian, as safetensors stores it, so that the sum does not depend on the machine.
        arr = np.ascontiguousarray(tensors[name], dtype=tensors[name].dtype.newbyteorder("<"))
        digest.update(f"\n{name} {arr.dtype.str} {arr.shape}\n".encode("utf-8"))
        digest.update(arr.tobytes())
    return digest.hexdigest()


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not allowed in a model file")


def _non_finite_key(obj, where: str) -> str:
    """Where in plain data the first NaN or infinity is, as ``model['metadata']['final']['loss']``."""
    if isinstance(obj, float) and not np.isfinite(obj):
        return where
    if isinstance(obj, np.ndarray | np.generic) and np.issubdtype(np.asarray(obj).dtype, np.floating) \
            and not np.all(np.isfinite(obj)):
        return where
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list | tuple) else ()
    for key, value in items:
        found = _non_finite_key(value, f"{where}[{key!r}]")
        if found:
            return found
    return ""


def _model_config(path: Path, metadata: dict) -> dict:
    if metadata.get("format") != FORMAT:
        raise ValueError(f"{path} is a safetensors file but not a backprop model (no format={FORMAT!r} "
                         "in its metadata)")
    version = metadata.get("format_version")
    if version != FORMAT_VERSION:
        raise ValueError(f"{path} has model format version {version!r}; this backprop "
                         f"({__version__}) reads version {FORMAT_VERSION!r}")
    text = metadata.get("model")
    if not isinstance(text, str):
        raise ValueError(f"{path}: the model metadata is missing or not valid JSON (no model string)")
    check_nesting(text, f"{path}: the model metadata")
    try:
        config = json.loads(text, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as exc:
        raise ValueError(f"{path}: the model metadata is missing or not valid JSON ({exc})") from None
    return check_model_config(config, str(path))


def network_from_config(net_config: dict, source: str = "the metadata") -> Network:
    """A network with zero weights built from :meth:`Network.config`'s plain data.

    Raises
    ------
    ValueError
        Naming ``source`` if the description is incomplete or inconsistent.
    """
    try:
        if not isinstance(net_config, dict):
            raise TypeError("the network description is not an object")
        return Network.from_config(net_config, init="zeros")
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{source}: the architecture in its metadata is invalid ({exc})") from None


def _network_from(path: Path, config: dict, tensors: dict) -> Network:
    network = network_from_config(config.get("network") if isinstance(config, dict) else None, str(path))
    expected = set()
    for i, layer in enumerate(network.layers):
        for name, target in layer.parameters().items():
            if target is None:
                continue
            key = f"layers.{i}.{name}"
            expected.add(key)
            if key not in tensors:
                raise ValueError(f"{path}: tensor {key} is missing")
            source = tensors[key]
            if source.shape != target.shape or source.dtype != target.dtype:
                raise ValueError(f"{path}: tensor {key} has shape {source.shape} and dtype {source.dtype}; "
                                 f"the architecture needs {target.shape} {target.dtype}")
            if not np.isfinite(source).all():
                raise ValueError(f"{path}: tensor {key} contains NaN or infinity")
            target[...] = source
    extra = sorted(set(tensors) - expected)
    if extra:
        raise ValueError(f"{path}: unexpected tensors {extra[:5]} for this architecture")
    return network


def to_plain(obj):
    """``json.dumps(..., default=to_plain)``: NumPy scalars and arrays as plain numbers and lists."""
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"cannot write a {type(obj).__name__} as JSON")
