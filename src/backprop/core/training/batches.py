"""Where the mini-batches come from: the local data, or this process's share of it.

Both sources cut the same global batches from the same sample order: batch
``b`` of an epoch is the samples ``order[b * N : (b + 1) * N]``. A
:class:`LocalBatches` holds every sample. A :class:`ShardBatches` holds one
process's shard of a data-parallel run (the shards, concatenated in rank
order, are the training set) and gives the rows of each global batch that it
holds, maybe none.

Each batch carries ``scale``, the factor on each sample's gradient that makes
the gradients summed over the whole global batch its (weighted) mean: ``1/N``,
or ``w_i / sum_i w_i`` with sample weights. The article's average over N
samples is this factor.

:func:`split_validation` is the one rule for holding out a validation set.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..network import row_scale

__all__ = ["Batch", "LocalBatches", "ShardBatches", "split_validation", "validation_size", "is_sparse",
           "take_rows"]


def is_sparse(X) -> bool:
    """Whether ``X`` is a sparse matrix (a SciPy one or anything with ``tocsr`` and ``toarray``).

    The core does not import SciPy: it only asks a sparse matrix for rows and
    makes those rows dense, one batch at a time.
    """
    return hasattr(X, "tocsr") and hasattr(X, "toarray")


def take_rows(X, rows: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``X[rows]`` gathered into ``out``: a dense array by ``np.take``, a sparse one made dense row by row.

    ``rows`` must be valid row indices (they come from the epoch's
    permutation): ``mode="clip"`` spares NumPy's bounds check, which copies
    the batch through a buffer, a quarter of the gather's time.
    """
    if is_sparse(X):
        out[...] = X[rows].toarray()
        return out
    return np.take(X, rows, axis=0, out=out, mode="clip")


def validation_size(n: int, fraction: float) -> int:
    """How many of ``n`` samples a validation ``fraction`` holds out: rounded up, as scikit-learn does.

    Both parts must keep at least one sample.
    """
    n_val = math.ceil(n * fraction - 1e-9)  # 0.1 * 30 is 3.0000000000000004: not 4
    if n_val < 1 or n_val >= n:
        raise ValueError(f"a validation fraction of {fraction:g} of {n} samples leaves {n_val} for validation "
                         f"and {n - n_val} for training; both need at least one sample")
    return n_val


def split_validation(n: int, fraction: float, rng: np.random.Generator,
                     strata: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Hold out ``fraction`` of ``n`` samples at random; return (training rows, validation rows).

    With ``strata`` (a class index per sample) each class is split in
    proportion where it can be: every class with two or more samples keeps at
    least one on each side.
    """
    n_val = validation_size(n, fraction)
    order = rng.permutation(n)
    if strata is None:
        return np.sort(order[n_val:]), np.sort(order[:n_val])
    strata = np.asarray(strata)[order]
    classes, counts = np.unique(strata, return_counts=True)
    if counts.min() < 2 or min(n_val, n - n_val) < classes.size:
        return np.sort(order[n_val:]), np.sort(order[:n_val])
    # Largest remainders: each class's share of n_val, floored, then the leftovers to the largest fractions.
    share = counts * (n_val / n)
    take = np.clip(np.floor(share).astype(int), 1, counts - 1)
    for c in np.argsort(-(share - np.floor(share)), kind="stable"):
        if take.sum() >= n_val:
            break
        if take[c] < counts[c] - 1:
            take[c] += 1
    while take.sum() > n_val:
        c = int(np.argmax(take))
        take[c] -= 1
    held = np.concatenate([order[strata == c][:k] for c, k in zip(classes, take)])
    kept = np.setdiff1d(order, held, assume_unique=True)
    return np.sort(kept), np.sort(held)


@dataclass
class Batch:
    """One mini-batch as this process sees it."""

    X: np.ndarray
    Y: np.ndarray
    weights: np.ndarray | None   # this process's rows' sample weights, or None (all 1)
    scale: float | np.ndarray    # the factor on each of its samples' gradients
    positions: slice | np.ndarray  # where its rows stand in the epoch's order
    size: int                    # samples in the global batch
    weight: float                # their total weight (the size, without weights)


class LocalBatches:
    """Batches of data that this process holds entirely.

    Each batch is gathered into arrays kept from batch to batch, so shuffling
    never copies the whole data set.
    """

    def __init__(self, X: np.ndarray, Y: np.ndarray, weights: np.ndarray | None, batch_size: int):
        self.X, self.Y, self.weights = X, Y, weights
        self.all_weights = weights
        self.n = X.shape[0]
        self.batch_size = min(batch_size, self.n)
        self.n_batches = math.ceil(self.n / self.batch_size)
        self.total_weight = float(self.n if weights is None else weights.sum())
        self._X = np.empty((self.batch_size, X.shape[1]), dtype=X.dtype)
        self._Y = np.empty((self.batch_size, Y.shape[1]), dtype=Y.dtype)
        self.order = None

    def begin_epoch(self, order: np.ndarray) -> None:
        self.order = order

    def batch(self, b: int) -> Batch:
        part = slice(b * self.batch_size, (b + 1) * self.batch_size)
        rows = self.order[part]
        X = take_rows(self.X, rows, self._X[:len(rows)])
        Y = np.take(self.Y, rows, axis=0, out=self._Y[:len(rows)], mode="clip")
        if self.weights is None:
            return Batch(X, Y, None, row_scale(None, len(rows)), part, len(rows), float(len(rows)))
        w = self.weights[rows]
        weight = float(w.sum())
        return Batch(X, Y, w, row_scale(w, weight, X.dtype), part, len(rows), weight)

    def epoch_targets(self, outputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The epoch's outputs and their targets, row for row."""
        return outputs, self.Y[self.order]

    def epoch_outputs(self, outputs: np.ndarray, reducer) -> np.ndarray:
        """The epoch's outputs so far, in epoch order, as one process holds them."""
        return outputs.copy()


class ShardBatches:
    """This process's share of each global batch of a data-parallel run.

    Rank r holds the global rows ``lo`` to ``hi - 1``. Every rank draws the same
    sample order and so knows every global batch of N samples; it runs forward
    and backward on the rows it holds, with each sample's gradient scaled by
    ``1/N`` of the whole batch (``w_i / sum`` of the whole batch's weights), so
    that its dC/dW is its share of the batch's mean gradient and the sum of
    the shares over the ranks (one Allreduce) is the mean itself.
    """

    def __init__(self, X, Y, weights, batch_size: int, reducer, n_total: int, lo: int,
                 train_rows: np.ndarray | None = None, all_weights: np.ndarray | None = None):
        self.X, self.Y, self.weights = X, Y, weights
        self.lo, self.hi = lo, lo + X.shape[0]
        self.train_rows = train_rows  # each training sample's global row, once a validation split took some
        self.n = n_total if train_rows is None else len(train_rows)
        self.all_weights = all_weights  # every training sample's weight, in training order (or None)
        self.batch_size = min(batch_size, self.n)
        self.n_batches = math.ceil(self.n / self.batch_size)
        self.total_weight = float(self.n if all_weights is None else all_weights.sum())
        self._X = np.empty((self.batch_size, X.shape[1]), dtype=X.dtype)
        self._Y = np.empty((self.batch_size, Y.shape[1]), dtype=Y.dtype)
        self.mine = self.local = self.order = None

    def begin_epoch(self, order: np.ndarray) -> None:
        """Mark the places in the epoch's order that hold this shard's rows, and where in the shard they are."""
        self.order = order
        rows = order if self.train_rows is None else self.train_rows[order]
        self.mine = (rows >= self.lo) & (rows < self.hi)
        self.local = rows - self.lo

    def batch(self, b: int) -> Batch:
        part = slice(b * self.batch_size, (b + 1) * self.batch_size)
        mine = self.mine[part]
        local = self.local[part][mine]
        size = len(self.order[part])
        X = np.take(self.X, local, axis=0, out=self._X[:len(local)], mode="clip")  # rows known valid
        Y = np.take(self.Y, local, axis=0, out=self._Y[:len(local)], mode="clip")
        positions = np.flatnonzero(mine) + part.start
        if self.all_weights is None:
            return Batch(X, Y, None, row_scale(None, size), positions, size, float(size))
        weight = float(self.all_weights[self.order[part]].sum())
        w = self.weights[local]
        return Batch(X, Y, w, row_scale(w, weight, X.dtype), positions, size, weight)

    def epoch_targets(self, outputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return outputs[self.mine], self.Y[self.local[self.mine]]

    def epoch_outputs(self, outputs: np.ndarray, reducer) -> np.ndarray:
        everyone = np.where(self.mine[:, None], outputs, 0).astype(outputs.dtype, copy=False)
        return reducer.sum_array(everyone)
