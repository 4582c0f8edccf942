"""Helpers for the reliability tests (issue 17): tiny models and files, rewritten files, a hang guard."""

from __future__ import annotations

import contextlib
import json
import signal
import threading

import numpy as np
from safetensors import safe_open
from safetensors.numpy import save_file

import backprop as bp


class Hang(BaseException):
    """An operation ran past its time limit (a BaseException, so no handler in the code swallows it)."""


@contextlib.contextmanager
def no_hang(seconds: float = 20.0):
    """Fail, rather than wait for ever, if the block blocks (a FIFO opened for reading, say).

    SIGALRM reaches the main thread only: elsewhere the block runs unguarded.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum, frame):
        raise Hang(f"still blocked after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def tiny_model(classes=("a", "b", "c"), n_in: int = 4, seed: int = 0) -> bp.Model:
    """A fitted-scaler classifier of 4 inputs, quick to build."""
    model = bp.Model.build(n_in, [3], task="classification", classes=list(classes), seed=seed)
    model.preprocessor.fit(np.random.default_rng(seed).normal(size=(10, n_in)))
    return model


def write_features(path, n_rows: int = 5, n_in: int = 4) -> None:
    rows = np.random.default_rng(1).normal(size=(n_rows, n_in))
    path.write_text(",".join(f"x{i}" for i in range(n_in)) + "\n" +
                    "\n".join(",".join(f"{v:.3f}" for v in row) for row in rows) + "\n")


def write_labelled(path, n_rows: int = 30, labels=("a", "b", "c")) -> None:
    rng = np.random.default_rng(2)
    lines = ["x0,x1,x2,x3,label"]
    for i in range(n_rows):
        lines.append(",".join(f"{v:.3f}" for v in rng.normal(size=4)) + f",{labels[i % len(labels)]}")
    path.write_text("\n".join(lines) + "\n")


def rewrite(path, config_edit=None, tensors=None, **metadata) -> None:
    """Rewrite a model file: ``config_edit(config)`` changes the parsed ``model`` JSON in place; the
    stored checksum is dropped, so that what is tested is the schema, not the checksum."""
    with safe_open(str(path), "numpy") as f:
        meta = dict(f.metadata())
        arrays = {k: f.get_tensor(k) for k in f.keys()}
    if config_edit is not None:
        config = json.loads(meta["model"])
        config_edit(config)
        meta["model"] = json.dumps(config)
    meta.pop("sha256", None)
    meta.update(metadata)
    arrays.update(tensors or {})
    save_file(arrays, str(path), metadata=meta)
