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
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from safetensors import SafetensorError
from safetensors.numpy import load as st_load
from safetensors.numpy import save as st_save

from . import __version__
from .core.training import TrainingState
from .model import Model
from .modelfile import network_from_config, to_plain, write_atomic

__all__ = ["save_checkpoint", "load_checkpoint", "CHECKPOINT_FILE", "FORMAT"]

CHECKPOINT_FILE = "checkpoint.safetensors"
FORMAT = "backprop-checkpoint"
FORMAT_VERSION = "1"


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
    data = st_save(tensors, metadata={"format": FORMAT, "format_version": FORMAT_VERSION,
                                      "checkpoint": json.dumps(meta, default=to_plain)})
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
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint in {folder} (expected {path})")
    try:
        raw = path.read_bytes()
        tensors = st_load(raw)
        header_size = int.from_bytes(raw[:8], "little")
        metadata = json.loads(raw[8:8 + header_size]).get("__metadata__") or {}
    except (SafetensorError, ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path} is not a valid checkpoint file ({exc})") from None
    if metadata.get("format") != FORMAT or metadata.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"{path} is not a backprop checkpoint of format version {FORMAT_VERSION}")
    try:
        meta = json.loads(metadata["checkpoint"])
        network = network_from_config(meta["model"]["network"], source=str(path))
        model = Model.from_config(meta["model"], network)
        n_layers = len(network.layers)
        weights = _get_weights(tensors, "weights", n_layers)
        network.set_weights(weights)
        best = dict(meta["best"])
        best["weights"] = (_get_weights(tensors, "best_weights", n_layers)
                           if f"best_weights.0.W" in tensors else None)
        arrays = {k[len("optimizer."):]: v for k, v in tensors.items() if k.startswith("optimizer.")}
        state = TrainingState(
            epoch=int(meta["epoch"]), batch=int(meta["batch"]), weights=weights,
            optimizer={**meta["optimizer"], "arrays": arrays}, rng=meta["rng"], history=meta["history"],
            order=tensors.get("epoch.order"), outputs=tensors.get("epoch.outputs"),
            loss_sum=float(meta["loss_sum"]), best=best)
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{path}: the checkpoint is incomplete or inconsistent ({exc})") from None
    return state, model, meta["options"]
