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
    settings, final metrics and package version under ``metadata``.

Nothing in the file is executed: safetensors holds raw arrays and JSON holds
plain values. Files are written atomically (temporary file, fsync, rename), so
an interrupted save never leaves a half-written model in place.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load as st_load
from safetensors.numpy import save as st_save

from . import __version__
from .core import Layer, Network
from .model import Model

__all__ = ["save", "load", "read_metadata", "FORMAT", "FORMAT_VERSION", "MAX_HEADER_BYTES"]

FORMAT = "backprop-model"
FORMAT_VERSION = "1"
MAX_HEADER_BYTES = 16 * 1024 * 1024  # a header larger than this is not one we wrote


def save(model: Model | Network, path) -> Path:
    """Write ``model`` (or a bare network, saved as a regressor-free network model) to ``path``.

    Returns the path written.
    """
    if isinstance(model, Network):
        model = Model(model, task="regression")
    config = model.config()
    config["metadata"] = {**config.get("metadata", {}), "backprop_version": __version__}
    tensors = {}
    for i, layer in enumerate(model.network.layers):
        tensors[f"layers.{i}.W"] = np.ascontiguousarray(layer.W)
        if layer.b is not None:
            tensors[f"layers.{i}.b"] = np.ascontiguousarray(layer.b)
    metadata = {"format": FORMAT, "format_version": FORMAT_VERSION,
                "model": json.dumps(config, allow_nan=False, default=_plain)}
    data = st_save(tensors, metadata=metadata)
    return write_atomic(path, data)


def write_atomic(path, data: bytes) -> Path:
    """Write bytes to ``path`` through a temporary file in the same folder, fsync and rename."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise FileNotFoundError(f"cannot write {path}: the folder {folder} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_metadata(path) -> dict:
    """The parsed ``model`` metadata of a model file, without loading the weights."""
    header = _read_header(Path(path))
    return _model_config(Path(path), header.get("__metadata__") or {})


def load(path) -> Model:
    """Read a model file written by :func:`save`.

    Raises
    ------
    FileNotFoundError
        If there is no such file.
    ValueError
        If the file is not a backprop model, is truncated or corrupted, comes
        from an unknown format version, or its weights do not fit the
        architecture its metadata describes.
    """
    path = Path(path)
    header = _read_header(path)
    config = _model_config(path, header.get("__metadata__") or {})
    try:
        tensors = st_load(path.read_bytes())
    except (SafetensorError, ValueError, OverflowError) as exc:
        raise ValueError(f"{path} is not a valid safetensors file ({exc})") from None
    network = _network_from(path, config, tensors)
    try:
        return Model.from_config(config, network)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{path}: the model metadata is invalid ({exc})") from None


def _read_header(path: Path) -> dict:
    if not path.exists():
        raise FileNotFoundError(f"no model file at {path}")
    if path.is_dir():
        raise ValueError(f"{path} is a folder, not a model file")
    size = path.stat().st_size
    with path.open("rb") as fh:
        head = fh.read(8)
        if len(head) < 8:
            raise ValueError(f"{path} is not a model file: only {size} bytes")
        n = int.from_bytes(head, "little")
        if n > MAX_HEADER_BYTES or n > size - 8:
            raise ValueError(f"{path} is not a valid safetensors file: its header claims {n} bytes "
                             f"but the file has {size}")
        raw = fh.read(n)
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ValueError(f"{path} is not a valid safetensors file: its header is not JSON") from None
    if not isinstance(header, dict):
        raise ValueError(f"{path} is not a valid safetensors file: its header is not a JSON object")
    return header


def _model_config(path: Path, metadata: dict) -> dict:
    if metadata.get("format") != FORMAT:
        raise ValueError(f"{path} is a safetensors file but not a backprop model (no format={FORMAT!r} "
                         "in its metadata)")
    version = metadata.get("format_version")
    if version != FORMAT_VERSION:
        raise ValueError(f"{path} has model format version {version!r}; this backprop "
                         f"({__version__}) reads version {FORMAT_VERSION!r}")
    try:
        config = json.loads(metadata["model"])
        config["network"]["sizes"]
    except (KeyError, TypeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: the model metadata is missing or not valid JSON ({exc})") from None
    return config


def _network_from(path: Path, config: dict, tensors: dict) -> Network:
    try:
        net_config = config["network"]
        sizes = [int(n) for n in net_config["sizes"]]
        activations = net_config["activations"]
        biases = net_config["bias"]
        if not (len(activations) == len(biases) == len(sizes) - 1 >= 1):
            raise ValueError(f"{len(sizes)} sizes, {len(activations)} activations, {len(biases)} bias flags")
        layers = [Layer(sizes[i], sizes[i + 1], activations[i], bias=bool(biases[i]),
                        init="zeros", dtype=net_config["dtype"]) for i in range(len(sizes) - 1)]
        network = Network(layers, loss=net_config["loss"], fuse_output=net_config.get("fuse_output", True))
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{path}: the architecture in its metadata is invalid ({exc})") from None
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


def _plain(obj):
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"cannot store a {type(obj).__name__} in model metadata")
