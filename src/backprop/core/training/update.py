"""The update: how a batch's error signals ``dC/dZ`` become the step on the weights.

The loop hands each batch's ``dC/dZ`` (:meth:`Network.deltas`) to one update
piece, chosen once per run by :func:`choose_update`:

:class:`Descent`
    Every setting. ``dC/dW = dC/dZ^T A_prev`` is formed in the workspace's
    gradient buffer (so that a data-parallel run can sum it over the
    processes), guarded, and handed to the optimizer, which owns the rule:
    ``w <- w - lr * grad`` for SGD, and momentum, Adam, weight decay,
    clipping and ``max_norm`` beside it.
:class:`FoldedSGD`
    Plain SGD where nothing else needs ``dC/dW``: one process, no dropout, no
    weight decay, clipping or ``max_norm``. The article's two steps,
    ``dC/dW = dC/dZ^T A_prev`` and ``W <- W - lr dC/dW``, are one BLAS call
    per layer, ``?gemm`` with ``alpha = -lr`` and ``beta = 1``, which adds the
    product straight into ``W``: no ``dC/dW`` array and no second pass over the
    weights (and one ``?gemv`` for the bias, a weight on an input that is
    always 1: ``b <- b - lr dC/dZ^T 1``). It rounds ``W - lr dC/dW`` once where :class:`Descent` rounds the
    product, the scaling and the subtraction each; the tests bound the
    difference. In float32 the run also works on Fortran-ordered copies of
    the weights (same shape, ``W[j, k]`` still ``w_jk``), because OpenBLAS
    forms ``A_prev W^T`` faster when ``W^T`` is stored row by row; they are
    copied back when the run ends, however it ends.

NumPy has no ``gemm`` with ``beta``. The two calls come from NumPy's own
OpenBLAS where it can be found, else from SciPy's wrappers (which come with
every install of backprop: scikit-learn needs SciPy), see :mod:`.blas`; the
core reaches SciPy only there, only when a run can use it. Without either,
training takes :class:`Descent`, the path every other setting takes, unchanged.
"""

from __future__ import annotations

import math
from contextlib import contextmanager

import numpy as np

from ..optimizers import SGD
from .blas import blas_for

__all__ = ["Descent", "FoldedSGD", "choose_update", "blas_for"]


class Descent:
    """The update for every setting: form ``dC/dW``, guard it, let the optimizer step.

    Parameters
    ----------
    net : Network
    optimizer : Optimizer
    guard : Guard
    work : Workspace
        Its gradient buffer receives ``dC/dW`` and ``dC/db``.
    """

    def __init__(self, net, optimizer, guard, work):
        self.net, self.optimizer, self.guard, self.work = net, optimizer, guard, work

    def forward_backward(self, batch, work, rng) -> tuple:
        """The batch forward and back: ``(a, per-sample losses, trace, dC/dZ of each layer)``, ``dC/dW`` formed.

        The article's order: forward propagation, the loss, backpropagation of
        ``dC/dZ`` from the output to the first layer, then (:meth:`gradients`)
        ``dC/dW`` where this update needs it.
        """
        net = self.net
        a, trace = net.forward_train(batch.X, work, rng)                   # forward
        losses = net.per_sample_loss(trace, batch.Y)
        deltas = net.deltas(trace, batch.Y, work, scale=batch.scale)      # backward
        self.gradients(trace, deltas)                                     # dC/dW, unless folded
        return a, losses, trace, deltas

    def gradients(self, trace: list, deltas: list[np.ndarray]) -> None:
        """Form every ``dC/dW = dC/dZ^T A_prev`` and ``dC/db`` in the gradient buffer, before it is summed."""
        self.net.weight_gradients(trace, deltas, self.work.grads)

    def step(self, batch_loss: float, trace: list, deltas: list[np.ndarray], batch_weight: float,
             epoch: int, batch: int) -> float:
        """Guard the (summed) gradients, then update; return the batch's L2 penalty times its weight."""
        work, optimizer = self.work, self.optimizer
        self.guard.check(batch_loss, work.flat, work.grads, trace, epoch, batch, optimizer.lr)
        params = self.net.parameters()
        penalty = optimizer.penalty(params, batch_weight) * batch_weight    # L2, if any
        optimizer.step(params, work.grads, batch_weight)
        return penalty

    @contextmanager
    def working_copies(self):
        """The weights the run works on: the network's own."""
        yield


class FoldedSGD(Descent):
    """Plain SGD with the step folded into the ``dC/dW`` product: ``W <- W - lr dC/dZ^T A_prev``.

    Parameters
    ----------
    net, optimizer, guard, work
        As for :class:`Descent`; ``optimizer`` is an :class:`SGD`.
    blas : NumpysBLAS or ScipysBLAS
        The two BLAS calls for the network's dtype (:func:`~backprop.core.training.blas.blas_for`).
    transpose : bool, optional
        Work on Fortran-ordered copies of the weights for the run (see
        :meth:`working_copies`); by default for float32, where it is faster.
    """

    def __init__(self, net, optimizer, guard, work, blas, transpose: bool | None = None):
        super().__init__(net, optimizer, guard, work)
        self.blas = blas
        self._ones: dict[int, np.ndarray] = {}  # a column of ones per batch size, for the bias
        self.transpose = net.dtype == np.float32 if transpose is None else bool(transpose)
        # Above this size, a product of dC/dZ and A_prev might overflow: such a batch takes Descent's path.
        self.limit = math.sqrt(float(np.finfo(net.dtype).max))

    @staticmethod
    def applies(net, optimizer, reducer) -> bool:
        """Whether nothing but the SGD step needs ``dC/dW`` in this run."""
        return (type(optimizer) is SGD and optimizer.fold and not optimizer.weight_decay
                and optimizer.clip_norm is None and optimizer.max_norm is None
                and reducer.size == 1 and not any(net.dropout)
                and all(layer.W.flags.c_contiguous or layer.W.flags.f_contiguous for layer in net.layers))

    def gradients(self, trace, deltas):
        """Nothing yet: ``dC/dW`` is formed inside the step."""

    def step(self, batch_loss, trace, deltas, batch_weight, epoch, batch):
        """Guard the loss and every ``dC/dZ``, then ``W <- W - lr dC/dZ^T A_prev`` per layer; return 0.

        No weight moves before every layer's ``dC/dZ`` is known to be finite
        and small enough that no product can overflow (``||dC/dZ|| ||A_prev||``
        bounds every entry of ``dC/dW``); a batch that fails the bound takes
        :class:`Descent`'s path, which forms and checks ``dC/dW`` itself.
        """
        caches = self.net.dense_caches(trace)
        squares = self._bounded(caches, deltas)
        if squares is None:
            super().gradients(trace, deltas)
            return super().step(batch_loss, trace, deltas, batch_weight, epoch, batch)
        lr = self.optimizer.lr
        self.guard.check_squares(batch_loss, squares, self.work.grads, trace, epoch, batch, lr)
        self.optimizer.t += 1  # one step, as Optimizer.step counts them
        for layer, cache, dC_dz in zip(self.net.layers, caches, deltas):
            self.fold(layer.W, dC_dz, cache.a_prev, lr)     # w_jk <- w_jk - lr sum_i dC/dz_ij a_ik
            if layer.b is not None:
                self.fold_bias(layer.b, dC_dz, lr)          # b_j <- b_j - lr sum_i dC/dz_ij
        return 0.0

    def fold(self, W: np.ndarray, dC_dz: np.ndarray, a_prev: np.ndarray, lr: float) -> None:
        """``W <- -lr dC/dZ^T A_prev + W`` in one ``?gemm``, in place, in either storage order."""
        self.blas.fold(W, dC_dz, a_prev, -lr)

    def fold_bias(self, b: np.ndarray, dC_dz: np.ndarray, lr: float) -> None:
        """``b <- -lr dC/dZ^T 1 + b`` in one ``?gemv``: the bias is a weight on an input that is always 1."""
        ones = self._ones.get(dC_dz.shape[0])
        if ones is None:
            ones = self._ones[dC_dz.shape[0]] = np.ones(dC_dz.shape[0], dtype=b.dtype)
        self.blas.fold_bias(b, dC_dz, ones, -lr)

    def _bounded(self, caches, deltas) -> float | None:
        """The sum of squares of every ``dC/dZ``, or None if one is not finite or a product might overflow."""
        rate = max(self.optimizer.lr, 1.0)
        squares = 0.0
        for cache, dC_dz in zip(caches, deltas):
            dd = float(np.vdot(dC_dz, dC_dz))
            aa = float(np.vdot(cache.a_prev, cache.a_prev))
            if not math.sqrt(dd) * math.sqrt(aa) * rate < self.limit:  # NaN fails too
                return None
            squares += dd
        return squares

    @contextmanager
    def working_copies(self):
        """For the run, Fortran-ordered copies of the weights if ``transpose``; copied back at the end.

        Everything that reads ``layer.W`` during the run (prediction between
        batches, checkpoints, early stopping's best weights) reads the copy,
        which holds the current weights.
        """
        layers = self.net.layers
        originals = [layer.W for layer in layers]
        if self.transpose:
            for layer in layers:
                layer.W = np.asfortranarray(layer.W)
        try:
            with self.blas.for_the_run():
                yield
        finally:
            for layer, W in zip(layers, originals):
                if layer.W is not W:
                    W[...] = layer.W
                    layer.W = W


def choose_update(net, optimizer, reducer, guard, work) -> Descent:
    """:class:`FoldedSGD` where it applies and a BLAS with ``beta`` is there, else :class:`Descent`."""
    if FoldedSGD.applies(net, optimizer, reducer):
        blas = blas_for(net.dtype)
        if blas is not None:
            return FoldedSGD(net, optimizer, guard, work, blas)
    return Descent(net, optimizer, guard, work)
