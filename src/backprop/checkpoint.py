"""Checkpoints: a training run's whole state in one folder, so that it can go on after a crash.

``save_checkpoint(folder, state, model, options)`` writes
``folder/checkpoint.safetensors``: the arrays of a
:class:`backprop.core.training.TrainingState` (weights, optimizer moments, the
unfinished epoch's sample order and outputs, the best weights so far) as
tensors, and everything else (epoch and batch, the random generator's state,
the history, the model's architecture and preprocessing, the training options)
as JSON in its metadata. It is written atomically (temporary file, fsync,
rename), so a crash while saving leaves the previous checkpoint intact.
Like model files, nothing in it is executed.

The metadata also holds ``sha256``, the SHA-256 of the state JSON and every
tensor: :func:`load_checkpoint` refuses a checkpoint whose contents do not
match it (one flipped bit in a weight), and checks every field of the state
(:mod:`backprop.io.state`) before anything is resumed. :func:`checkpoint_lock`
keeps a second run from writing into a folder that a live run is using.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
from pathlib import Path

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load as st_load
from safetensors.numpy import save as st_save

from ._version import __version__
from .core.training import TrainingState
from .model import Model
from .io.atomic import write_atomic
from .io.nesting import check_nesting
from .io.reading import open_regular
from .io.state import check_checkpoint
from .modelfile import MAX_HEADER_BYTES, _checksum, _data_size, network_from_config, to_plain

__all__ = ["save_checkpoint", "load_checkpoint", "checkpoint_lock", "CheckpointLocked", "CHECKPOINT_FILE",
           "LOCK_FILE", "FORMAT"]

CHECKPOINT_FILE = "checkpoint.safetensors"
FORMAT = "backprop-checkpoint"
FORMAT_VERSION = "1"
LOCK_FILE = ".lock"


def _put_weights(tensors: dict, prefix: str, weights) -> None:
    for i, layer in enumerate(weights):
        for name, arr in layer.items():
            if arr is not None:
                tensors[f"{prefix}.{i}.{name}"] = np.ascontiguousarray(arr)


def _get_weights(tensors: dict, prefix: str, n_layers: int) -> list[dict]:
    return [{name: tensors.get(f"{prefix}.{i}.{name}") for name in ("W", "b")} for i in range(n_layers)]


def save_checkpoint(folder, state: TrainingState, model: Model, options: dict) -> Path:
    """Write ``state`` with the model's configuration and the run's options; return the file.

    Parameters
    ----------
    folder : str or Path
        Created if missing.
    state : TrainingState
    model : Model
        For its architecture, classes and fitted preprocessing.
    options : dict
        Plain data that the caller needs to start the same run again (data
        source, training options).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tensors: dict[str, np.ndarray] = {}
    _put_weights(tensors, "weights", state.weights)
    best = dict(state.best)
    best_weights = best.pop("weights", None)
    if best_weights is not None:
        _put_weights(tensors, "best_weights", best_weights)
    optimizer = {k: v for k, v in state.optimizer.items() if k != "arrays"}
    for name, arr in state.optimizer["arrays"].items():
        tensors[f"optimizer.{name}"] = np.ascontiguousarray(arr)
    if state.order is not None:
        tensors["epoch.order"] = np.ascontiguousarray(state.order, dtype=np.int64)
        tensors["epoch.outputs"] = np.ascontiguousarray(state.outputs)
    meta = {
        "epoch": state.epoch, "batch": state.batch, "loss_sum": state.loss_sum, "rng": state.rng,
        "history": state.history, "best": best, "optimizer": optimizer,
        "model": model.config(), "options": options, "backprop_version": __version__,
    }
    text = json.dumps(meta, default=to_plain)
    data = st_save(tensors, metadata={"format": FORMAT, "format_version": FORMAT_VERSION, "checkpoint": text,
                                      "sha256": _checksum(text, tensors)})
    return write_atomic(folder / CHECKPOINT_FILE, data)


def load_checkpoint(folder) -> tuple[TrainingState, Model, dict]:
    """Read what :func:`save_checkpoint` wrote: the state, the model (weights as saved) and the options.

    Raises
    ------
    FileNotFoundError
        If the folder holds no checkpoint.
    ValueError
        If the file is damaged or not a backprop checkpoint.
    """
    path = Path(folder) / CHECKPOINT_FILE
    if not path.exists():
        raise FileNotFoundError(f"no checkpoint in {folder} (expected {path})")
    with open_regular(path, "checkpoint file") as fh:
        raw = fh.read()
    try:
        header_size = int.from_bytes(raw[:8], "little")
        if len(raw) < 8 or header_size > min(MAX_HEADER_BYTES, len(raw) - 8):
            raise ValueError("its header length is wrong")
        text = raw[8:8 + header_size].decode("utf-8")
        check_nesting(text, "its header")
        header = json.loads(text)
        if not isinstance(header, dict):
            raise ValueError("its header is not a JSON object")
        if 8 + header_size + _data_size(path, header) != len(raw):
            raise ValueError("its length is not the one its header describes")
        metadata = header.get("__metadata__") or {}
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ValueError(f"{path} is not a valid checkpoint file ({exc})") from None
    if metadata.get("format") != FORMAT or metadata.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"{path} is not a backprop checkpoint of format version {FORMAT_VERSION}")
    try:
        check_nesting(metadata.get("checkpoint") or "", f"{path}: the state")
        meta = check_checkpoint(json.loads(metadata["checkpoint"]), header, str(path))
        tensors = st_load(raw)
    except (SafetensorError, KeyError, TypeError, RecursionError) as exc:
        raise ValueError(f"{path} is not a valid checkpoint file ({exc})") from None
    stored = metadata.get("sha256")
    if stored is not None and stored != _checksum(metadata["checkpoint"], tensors):
        raise ValueError(f"{path} is damaged: its contents do not match the SHA-256 checksum stored in it; "
                         "it was changed or corrupted after it was saved")
    try:
        network = network_from_config(meta["model"]["network"], source=str(path))
        model = Model.from_config(meta["model"], network)
        n_layers = len(network.layers)
        weights = _get_weights(tensors, "weights", n_layers)
        network.set_weights(weights)
        best = dict(meta["best"])
        best["weights"] = (_get_weights(tensors, "best_weights", n_layers)
                           if "best_weights.0.W" in tensors else None)
        arrays = {k[len("optimizer."):]: v for k, v in tensors.items() if k.startswith("optimizer.")}
        state = TrainingState(
            epoch=int(meta["epoch"]), batch=int(meta["batch"]), weights=weights,
            optimizer={**meta["optimizer"], "arrays": arrays}, rng=meta["rng"], history=meta["history"],
            order=tensors.get("epoch.order"), outputs=tensors.get("epoch.outputs"),
            loss_sum=float(meta["loss_sum"]), best=best)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{path}: the checkpoint is incomplete or inconsistent ({exc})") from None
    return state, model, meta["options"]


class CheckpointLocked(OSError):
    """Another live process holds the lock on a checkpoint folder."""


@contextlib.contextmanager
def checkpoint_lock(folder):
    """Hold an exclusive lock on a checkpoint folder for the ``with`` block; refuse if a live run holds it.

    The lock is ``flock`` on ``folder/.lock``, which the kernel releases when
    its process ends, however it ends: a lock file left by a run that was
    killed (a stale lock) is simply taken over. The file records the holder's
    process id, for the message a second run gets.

    Raises
    ------
    CheckpointLocked
        If another process holds the lock.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "another process"
            raise CheckpointLocked(f"the checkpoint folder {folder} is in use by another backprop train "
                                   f"(process {holder}); wait for it to end, or give another --checkpoint "
                                   "folder") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        yield path
    finally:
        os.close(fd)  # releases the lock
