"""The schema of a checkpoint's state: what :func:`backprop.checkpoint.load_checkpoint` checks before resuming.

A checkpoint is read back into a running training loop, so every field is
checked first, the way :mod:`backprop.io.schema` checks a model file: the
model's configuration by that very schema; ``epoch`` and ``batch`` against the
run's epochs, batch size and sample order; the random generator's state by
restoring it into a fresh generator; the loss sum and every number finite; the
history, options and best-so-far bookkeeping as bounded plain data; and the
tensors (weights, best weights, optimizer moments, sample order, outputs) by
name, dtype and shape against the network, before any is used.
"""

from __future__ import annotations

import math

import numpy as np

from .schema import TENSOR_DTYPES, _is_int, _is_number, check_model_config, check_plain, check_tensors

__all__ = ["check_checkpoint", "MAX_EPOCHS"]

MAX_EPOCHS = 10_000_000


def _bad(source: str, where: str, problem: str, value=None) -> ValueError:
    shown = "" if value is None else f"; got {str(value)[:60]!r}"
    return ValueError(f"{source}: the checkpoint's {where} {problem}{shown}")


def check_checkpoint(meta, header: dict, source: str) -> dict:
    """Check a checkpoint's parsed metadata and its tensors' header entries; return ``meta``.

    Raises
    ------
    ValueError
        Naming the first field or tensor that is wrong.
    """
    if not isinstance(meta, dict):
        raise _bad(source, "state", "is not a JSON object")
    for key, kind in (("model", dict), ("options", dict), ("history", dict), ("best", dict),
                      ("optimizer", dict), ("rng", dict)):
        if not isinstance(meta.get(key), kind):
            raise _bad(source, key, "must be an object", meta.get(key))
    try:
        check_plain({k: v for k, v in meta.items() if k not in ("model", "best")}, "state")
    except ValueError as exc:
        raise _bad(source, "", str(exc)) from None
    for key, value in meta["best"].items():
        # The best loss so far starts at infinity: the one place a checkpoint holds a non-finite number.
        if not (value is None or isinstance(value, (bool, int)) or (isinstance(value, float) and value == value)):
            raise _bad(source, f"best[{key[:40]!r}]", "must be a number", value)
    config = check_model_config(meta["model"], source)
    network = config["network"]
    options = meta["options"]
    training = options.get("training")
    if not isinstance(training, dict) or not isinstance(options.get("source"), dict):
        raise _bad(source, "options", "must hold 'training' and 'source' objects")
    epochs, batch_size = training.get("epochs"), training.get("batch_size")
    if not (_is_int(epochs) and 1 <= epochs <= MAX_EPOCHS and _is_int(batch_size) and batch_size >= 1):
        raise _bad(source, "options", "must give positive whole epochs and batch_size",
                   (epochs, batch_size))
    epoch, batch = meta.get("epoch"), meta.get("batch")
    if not (_is_int(epoch) and 0 <= epoch <= epochs):
        raise _bad(source, "epoch", f"must be a whole number from 0 to the run's {epochs} epochs", epoch)
    if not _is_int(batch) or batch < 0:
        raise _bad(source, "batch", "must be a whole number, 0 or more", batch)
    if not _is_number(meta.get("loss_sum", 0.0)):
        raise _bad(source, "loss_sum", "must be a finite number", meta.get("loss_sum"))
    records = meta["history"].get("epochs", [])
    if not isinstance(records, list) or len(records) > epoch:
        raise _bad(source, "history", f"must hold at most the {epoch} epochs finished")
    _check_rng(meta["rng"], source)
    optimizer = meta["optimizer"]
    if not (_is_int(optimizer.get("t")) and optimizer["t"] >= 0 and _is_number(optimizer.get("lr", 0.0))):
        raise _bad(source, "optimizer state", "must have a step count t >= 0 and a finite lr")

    check_tensors(header, network, source, prefix="weights")
    if any(k.startswith("best_weights.") for k in header):
        check_tensors(header, network, source, prefix="best_weights")
    _check_extra_tensors(header, network, batch, batch_size, source)
    return meta


def _check_rng(rng: dict, source: str) -> None:
    name = rng.get("bit_generator")
    bit_generator = getattr(np.random, name, None) if isinstance(name, str) and name.isidentifier() else None
    if not (isinstance(bit_generator, type) and issubclass(bit_generator, np.random.BitGenerator)):
        raise _bad(source, "random generator state", "names no NumPy bit generator", name)
    try:
        bit_generator().state = rng
    except (TypeError, ValueError, KeyError, OverflowError) as exc:
        raise _bad(source, "random generator state", f"is not valid ({exc})") from None


def _check_extra_tensors(header: dict, network: dict, batch: int, batch_size: int, source: str) -> None:
    """Optimizer moments shaped like a parameter, and the unfinished epoch's order and outputs."""
    sizes, dtype = network["sizes"], TENSOR_DTYPES[network["dtype"]]
    shapes = {}
    for i in range(len(sizes) - 1):
        shapes[f"{i}.W"] = [sizes[i + 1], sizes[i]]
        shapes[f"{i}.b"] = [sizes[i + 1]]
    known = ("weights.", "best_weights.", "optimizer.", "epoch.order", "epoch.outputs", "__metadata__")
    for name, entry in header.items():
        if not name.startswith(known):
            raise _bad(source, "tensors", "include one it does not know", name)
        if name.startswith("optimizer."):
            key = name[len("optimizer."):].rsplit(".", 1)[0]
            if key not in shapes or entry["shape"] != shapes[key] or entry["dtype"] not in ("F32", "F64"):
                raise _bad(source, f"optimizer tensor {name[:60]}", "does not match a parameter of the network")
    order, outputs = header.get("epoch.order"), header.get("epoch.outputs")
    if (order is None) != (outputs is None):
        raise _bad(source, "unfinished epoch", "needs both its sample order and its outputs")
    if order is None:
        if batch:
            raise _bad(source, "batch", "is past 0 but there is no unfinished epoch saved", batch)
        return
    n = order["shape"][0] if len(order["shape"]) == 1 else -1
    if order["dtype"] != "I64" or n < 1:
        raise _bad(source, "sample order", "must be a list of sample indices (int64)")
    if outputs["shape"] != [n, sizes[-1]] or outputs["dtype"] != dtype:
        raise _bad(source, "unfinished epoch's outputs", f"must have shape ({n}, {sizes[-1]}) in {dtype}",
                   outputs["shape"])
    if batch > math.ceil(n / batch_size):
        raise _bad(source, "batch", f"is past the {math.ceil(n / batch_size)} batches of an epoch", batch)


def check_order(order: np.ndarray, n_samples: int, source: str) -> None:
    """The saved sample order must be a permutation of this run's training samples."""
    if order.shape != (n_samples,) or not np.array_equal(np.sort(order), np.arange(n_samples)):
        raise ValueError(f"{source}: the checkpoint's sample order is not a permutation of the "
                         f"{n_samples} training samples")
