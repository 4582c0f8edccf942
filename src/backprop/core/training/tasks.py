"""What is learned (classes or values), how targets are given, and the metrics of each task.

The metrics are computed from sums (right answers, squared errors, counts),
so that the same code serves one process and many: a data-parallel run adds
the sums of every process before dividing (``total`` is the reducer's sum).
"""

from __future__ import annotations

import numpy as np

from ..metrics import is_one_hot, predicted_classes

__all__ = ["TASKS", "infer_task", "as_targets", "check_task", "task_metrics", "evaluate", "balanced_class_weights"]

TASKS = ("classification", "regression")


def infer_task(net, Y: np.ndarray) -> str:
    """Classification for a cross-entropy loss or one-hot targets, else regression."""
    if net.loss_fn.name in ("cross_entropy", "binary_cross_entropy") or is_one_hot(Y):
        return "classification"
    return "regression"


def check_task(task) -> str:
    if task not in TASKS:
        raise ValueError(f"task must be one of {', '.join(TASKS)}; got {task!r}")
    return task


def as_targets(net, Y) -> np.ndarray:
    """Class indices (1-D integers) become one-hot rows when the network has several outputs."""
    arr = np.asarray(Y)
    n_out = net.sizes[-1]
    if arr.ndim == 1 and n_out > 1 and arr.size and np.issubdtype(arr.dtype, np.integer):
        if arr.min() < 0 or arr.max() >= n_out:
            raise ValueError(
                f"class indices must be in [0, {n_out - 1}] for a network with {n_out} outputs; "
                f"got values from {arr.min()} to {arr.max()}"
            )
        return np.eye(n_out, dtype=net.dtype)[arr]
    return arr


def _local_sum(values) -> np.ndarray:
    return np.asarray(values, dtype=np.float64)


def task_metrics(outputs: np.ndarray, Y: np.ndarray, task: str, prefix: str = "",
                 total=_local_sum, spread: np.ndarray | None = None) -> dict:
    """Accuracy, or R^2 and the mean absolute error, of ``outputs`` against ``Y``.

    Parameters
    ----------
    total : callable
        Sums a vector over every process holding part of the data (the
        identity for one process).
    spread : ndarray, optional
        Each target column's sum of squared deviations from its mean (over
        every process); computed here if omitted.
    """
    if task == "classification":
        right, count = total([np.count_nonzero(predicted_classes(outputs) == predicted_classes(Y)), Y.shape[0]])
        return {f"{prefix}accuracy": float(right / count)}
    if spread is None:
        spread = target_spread(Y, total)
    error = outputs - Y
    n_out = Y.shape[1]
    sums = total([*np.sum(error * error, axis=0, dtype=np.float64),
                  np.sum(np.abs(error), dtype=np.float64), error.size])
    return {f"{prefix}r2": r2_from_sums(sums[:n_out], spread), f"{prefix}mae": float(sums[n_out] / sums[n_out + 1])}


def target_spread(Y: np.ndarray, total=_local_sum) -> np.ndarray:
    """Each column's sum of squared deviations from its mean, over all processes (two passes)."""
    sums = total([*np.sum(Y, axis=0, dtype=np.float64), Y.shape[0]])
    mean = sums[:-1] / sums[-1]
    return total(np.sum((Y - mean) ** 2, axis=0, dtype=np.float64))


def r2_from_sums(ss_res: np.ndarray, ss_tot: np.ndarray) -> float:
    """``1 - SS_res / SS_tot`` per output, averaged; 1 for a constant target fitted exactly, else 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        scores = np.where(ss_tot > 0, 1.0 - ss_res / np.where(ss_tot > 0, ss_tot, 1.0),
                          np.where(ss_res == 0, 1.0, 0.0))
    return float(scores.mean())


def evaluate(net, X: np.ndarray, Y: np.ndarray, task: str, prefix: str = "", batch_size: int = 4096,
             sample_weight: np.ndarray | None = None, total=_local_sum) -> dict:
    """Loss and task metrics of checked data, in chunks to bound memory.

    The loss is the (weighted) mean of the per-sample losses over every
    process's rows; dropout is inactive.
    """
    outputs = np.empty((X.shape[0], net.sizes[-1]), dtype=net.dtype)
    loss_sum = 0.0
    for start in range(0, X.shape[0], batch_size):
        part = slice(start, start + batch_size)
        outputs[part], trace = net.forward_train(X[part])
        losses = net.per_sample_loss(trace, Y[part])
        loss_sum += float(np.sum(losses, dtype=np.float64) if sample_weight is None
                          else np.dot(sample_weight[part], losses))
    weight = X.shape[0] if sample_weight is None else float(sample_weight.sum())
    loss_sum, weight = total([loss_sum, weight])
    return {f"{prefix}loss": float(loss_sum / weight), **task_metrics(outputs, Y, task, prefix, total)}


def balanced_class_weights(index: np.ndarray, n_classes: int, allreduce_sum=None) -> np.ndarray:
    """One weight per class, ``n / (k * count of the class)``: every class weighs the same in total.

    Parameters
    ----------
    index : ndarray of int
        Each training sample's class, from 0.
    n_classes : int
        ``k``; every class must have at least one sample.
    allreduce_sum : callable, optional
        In a data-parallel run, the communicator's ``allreduce_sum``: the
        counts are then over every process's samples.
    """
    counts = np.bincount(np.asarray(index, dtype=np.int64), minlength=n_classes).astype(np.float64)
    if allreduce_sum is not None:
        counts = allreduce_sum(counts)
    if (counts == 0).any():
        missing = np.flatnonzero(counts == 0).tolist()
        raise ValueError(f"balanced class weights need a sample of every class; classes {missing[:5]} have none")
    return counts.sum() / (n_classes * counts)
