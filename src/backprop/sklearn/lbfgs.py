"""``solver="lbfgs"``: the whole-batch loss and its gradient on one flat vector, minimised by scipy.

This is the one solver that is different in kind from the training loop: it
is not a sequence of mini-batch steps but a quasi-Newton minimisation of the
full-batch objective, as scikit-learn's. The objective is the network's
(weighted) mean loss plus the optimizer's L2 penalty (one formula for L2,
:meth:`~backprop.core.optimizers.Optimizer.penalty`, with its gradient
``wd * W``); the gradient is the network's own backward pass
(:meth:`~backprop.core.network.Network.backward`), packed into one vector.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.optimize
from sklearn.exceptions import ConvergenceWarning

from ..core.workspace import Workspace

__all__ = ["pack", "unpack_into", "objective", "minimize"]


def pack(params: list[dict]) -> np.ndarray:
    """Every weight and bias of ``params`` in one float64 vector (W then b, layer by layer)."""
    parts = [a.ravel() for p in params for a in (p["W"], p["b"]) if a is not None]
    return np.concatenate(parts).astype(np.float64)


def unpack_into(params: list[dict], theta: np.ndarray) -> None:
    """Copy the vector ``theta`` (as :func:`pack` lays it out) into the arrays of ``params``."""
    start = 0
    for p in params:
        for a in (p["W"], p["b"]):
            if a is not None:
                a[...] = theta[start:start + a.size].reshape(a.shape)
                start += a.size


def objective(net, optimizer, X, Y, sample_weight=None):
    """``f(theta) -> (loss, gradient)``: the mean loss plus L2 penalty over all of ``X``, and its gradient.

    ``X`` is dense: lbfgs evaluates the whole training set at every step.
    """
    params = net.parameters()
    n = X.shape[0]
    total = float(n if sample_weight is None else sample_weight.sum())
    scale = net.row_scale(sample_weight, n)
    work = Workspace(params, net.dtype)

    def f(theta):
        unpack_into(params, theta)
        _, trace = net.forward_train(X, work)
        losses = net.per_sample_loss(trace, Y)
        loss = float(np.mean(losses) if sample_weight is None else np.dot(sample_weight, losses) / total)
        net.backward(trace, Y, work.grads, work, scale=scale)
        loss += optimizer.penalty(params, total)
        decay = optimizer._decay(total)  # the rate of the same penalty, per sample as scikit-learn
        return loss, _pack_grads(params, work.grads, decay)

    return f


def _pack_grads(params, grads, decay) -> np.ndarray:
    parts = []
    for p, g in zip(params, grads):
        parts.append((g["W"] + decay * p["W"] if decay else g["W"]).ravel())
        if p["b"] is not None:
            parts.append(g["b"].ravel())
    return np.concatenate(parts).astype(np.float64)


def minimize(net, optimizer, X, Y, sample_weight, *, max_iter: int, max_fun: int, tol: float,
             verbose: bool = False) -> tuple[int, float]:
    """Minimise the objective from the network's weights; leave the result in it.

    ``max_iter`` bounds the L-BFGS iterations and ``max_fun`` the evaluations
    of the loss (scikit-learn's meanings); ``tol`` is scipy's ``gtol``. Warn
    with :class:`ConvergenceWarning` when either bound stopped the run.

    Returns
    -------
    (n_iter, loss)
    """
    params = net.parameters()
    f = objective(net, optimizer, X, Y, sample_weight)
    result = scipy.optimize.minimize(
        f, pack(params), method="L-BFGS-B", jac=True,
        options={"maxfun": max_fun, "maxiter": max_iter, "gtol": tol})
    unpack_into(params, result.x)
    if result.status != 0:
        warnings.warn(f"lbfgs failed to converge after {result.nit} iterations "
                      f"({result.nfev} evaluations of the loss): {result.message}. Increase max_iter "
                      f"or max_fun, or scale the data.", ConvergenceWarning)
    return min(int(result.nit), max_iter), float(result.fun)
