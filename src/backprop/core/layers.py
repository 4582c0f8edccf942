"""A layer of the network: the article's layer l.

The layer holds the weights ``W`` with shape ``(n_l, n_{l-1})``, so ``W[j, k]``
is the article's ``w_jk^l``, an optional bias ``b`` (the article leaves it out),
and its activation ``g_l``. Rows of every array are samples.

Forward, for a batch ``A_prev`` of the previous layer's outputs::

    z_j = sum_k w_jk a_k + b_j       Z = A_prev @ W.T + b
    a_j = g_l(z_j)                   A = g_l(Z)

Backward, given the upstream gradient ``dC/dA``, the chain rule
``dC/dw_jk = dC/da_j * da_j/dz_j * dz_j/dw_jk`` one factor at a time::

    dC/dz_j = dC/da_j * g_l'(z_j)            dC/dZ = dC/dA * g'(Z)
    dC/dw_jk = dC/dz_j * a_k                 dC/dW = dC/dZ.T @ A_prev
    dC/db_j = dC/dz_j                        dC/db = sum of dC/dZ over the batch
    dC/da_k = sum_j dC/dz_j * w_jk           dC/dA_prev = dC/dZ @ W

The last line is the article's sum over the next layer's nodes, which carries
the gradient back to the layer before.

Training calls these once per mini-batch and reuses the arrays it writes
(``Z``, ``A``, ``dC/dZ``, the gradients) from a :class:`~backprop.core.workspace.Workspace`
that the training loop owns. A layer keeps only its parameters: ``forward``
returns what ``backward`` needs (the cache) instead of keeping the last batch,
so predicting with a network never disturbs a training run.

:class:`Dropout` is a layer too, with no parameters: inverted dropout, active
only while training.
"""

from __future__ import annotations

import numbers
from typing import NamedTuple

import numpy as np

from .activations import Activation, get_activation
from .initializers import default_initializer, get_initializer, zeros
from .validation import check_dtype, check_positive_int, check_rng
from .workspace import Workspace

__all__ = ["Dense", "Layer", "Dropout", "DenseCache"]

# No machine this runs on holds a weight matrix of a terabyte: a size beyond it is a typo.
_MAX_WEIGHT_BYTES = 2**40


class DenseCache(NamedTuple):
    """What :meth:`Dense.forward` keeps for :meth:`Dense.backward`: ``A_prev``, ``Z``, ``A``."""

    a_prev: np.ndarray
    z: np.ndarray
    a: np.ndarray


class Dense:
    """A fully connected layer: ``a = g(W a_prev + b)``, the article's layer l.

    Parameters
    ----------
    n_in : int
        Nodes in the previous layer (``m`` in the article).
    n_out : int
        Nodes in this layer (``n`` in the article).
    activation : str, dict or Activation, default "sigmoid"
        The layer's ``g_l``.
    bias : bool, default True
        Whether the layer has a bias ``b``. ``False`` gives the article's model.
    init : str or callable, optional
        Weight initializer (see :mod:`backprop.core.initializers`); by default
        He for the relu family and Glorot otherwise.
    seed : int, numpy.random.Generator or None
        Where the initial weights come from; the same seed gives the same weights.
    dtype : {"float64", "float32"}
        The dtype of the parameters and of everything computed from them.

    Attributes
    ----------
    W : ndarray of shape (n_out, n_in)
        ``W[j, k]`` is ``w_jk``.
    b : ndarray of shape (n_out,) or None
    """

    def __init__(self, n_in: int, n_out: int, activation="sigmoid", *, bias: bool = True,
                 init=None, seed=None, dtype="float64"):
        n_in = check_positive_int(n_in, "n_in")
        n_out = check_positive_int(n_out, "n_out")
        self.activation: Activation = get_activation(activation)
        dtype = check_dtype(dtype)
        if n_in * n_out * dtype.itemsize > _MAX_WEIGHT_BYTES:
            raise ValueError(f"a layer of {n_out} x {n_in} weights would need "
                             f"{n_in * n_out * dtype.itemsize / 2**30:,.0f} GiB; expected sizes that fit in memory")
        rng = check_rng(seed)
        initializer = get_initializer(init if init is not None else default_initializer(self.activation.name))
        self.W: np.ndarray = initializer((n_out, n_in), rng, dtype)
        self.b: np.ndarray | None = zeros(n_out, dtype=dtype) if bias else None

    @property
    def n_in(self) -> int:
        return self.W.shape[1]

    @property
    def n_out(self) -> int:
        return self.W.shape[0]

    @property
    def dtype(self) -> np.dtype:
        return self.W.dtype

    @property
    def bias(self) -> bool:
        return self.b is not None

    def forward(self, a_prev: np.ndarray, work: Workspace | None = None,
                rng: np.random.Generator | None = None) -> tuple[np.ndarray, DenseCache]:
        """Compute ``Z = A_prev W^T + b`` and ``A = g(Z)``.

        Parameters
        ----------
        a_prev : ndarray of shape (n_samples, n_in)
        work : Workspace, optional
            Where ``Z`` and ``A`` are written; new arrays if omitted.
        rng : numpy.random.Generator, optional
            Unused (a dense layer draws nothing); part of the layer interface.

        Returns
        -------
        a : ndarray of shape (n_samples, n_out)
        cache : DenseCache
            ``(A_prev, Z, A)``, for :meth:`backward`.
        """
        shape = (a_prev.shape[0], self.n_out)
        z = None if work is None else work.array(self, "z", shape)
        z = np.matmul(a_prev, self.W.T, out=z)              # z_j = sum_k w_jk a_k
        if self.b is not None:
            z += self.b                                     #       + b_j
        a = None if work is None else work.array(self, "a", shape)
        a = self.activation.value(z, out=a)                 # a_j = g(z_j)
        return a, DenseCache(a_prev, z, a)

    def backward(self, cache: DenseCache, dC_da: np.ndarray, grads: dict, work: Workspace | None = None,
                 need_dC_da_prev: bool = True) -> np.ndarray | None:
        """Backpropagate ``dC/dA`` through the activation and the weighted sum.

        Parameters
        ----------
        cache : DenseCache
            What :meth:`forward` returned for this batch.
        dC_da : ndarray of shape (n_samples, n_out)
            The upstream gradient, ``dC/da_j`` for every sample and node.
        grads : dict
            ``{"W": ..., "b": ...}`` arrays of the parameters' shapes that
            receive ``dC/dW`` and ``dC/db``.
        work : Workspace, optional
        need_dC_da_prev : bool, default True
            ``False`` skips the product that only a previous layer would use.

        Returns
        -------
        ndarray of shape (n_samples, n_in) or None
            ``dC/dA_prev``.
        """
        dC_dz = self.delta(cache, dC_da, work)
        return self.backward_from_z(cache, dC_dz, grads, work, need_dC_da_prev)

    def delta(self, cache: DenseCache, dC_da: np.ndarray, work: Workspace | None = None) -> np.ndarray:
        """The first factor times the second: ``dC/dz_j = dC/da_j * da_j/dz_j``, i.e. ``dC/dA * g'(Z)``."""
        dC_dz = None if work is None else work.array(self, "dC_dz", dC_da.shape)
        # The first factor times the second: dC/dz_j = dC/da_j * da_j/dz_j.
        dC_dz = self.activation.backward(cache.z, cache.a, dC_da, out=dC_dz)
        return dC_dz

    def backward_from_z(self, cache: DenseCache, dC_dz: np.ndarray, grads: dict | None,
                        work: Workspace | None = None, need_dC_da_prev: bool = True) -> np.ndarray | None:
        """Backpropagate ``dC/dZ`` through the weighted sum ``Z = A_prev W^T + b``.

        The third factor of the chain rule, ``dz_j/dw_jk = a_k`` (the previous
        layer's output), gives ``dC/dW``; ``dz_j/db_j = 1`` gives ``dC/db``; and
        ``dz_j/da_k = w_jk`` carries the gradient to the previous layer.
        ``grads=None`` skips ``dC/dW`` and ``dC/db`` (a folded update forms them
        inside the step, see :mod:`backprop.core.training.update`).
        """
        if grads is not None:
            self.weight_gradients(cache, dC_dz, grads)
        if not need_dC_da_prev:
            return None
        out = None if work is None else work.array(self, "dC_da_prev", (dC_dz.shape[0], self.n_in))
        return np.matmul(dC_dz, self.W, out=out)              # dC/da_k = sum_j dC/dz_j w_jk

    def weight_gradients(self, cache: DenseCache, dC_dz: np.ndarray, grads: dict) -> None:
        """Write ``dC/dW = dC/dZ^T A_prev`` and ``dC/db`` (``dC/dZ`` summed over the batch) into ``grads``."""
        np.matmul(dC_dz.T, cache.a_prev, out=grads["W"])       # dC/dw_jk = dC/dz_j * a_k
        if self.b is not None:
            np.sum(dC_dz, axis=0, out=grads["b"])              # dC/db_j = dC/dz_j

    def parameters(self) -> dict[str, np.ndarray | None]:
        """The layer's parameters as plain data: ``{"W": W, "b": b}`` (the arrays themselves)."""
        return {"W": self.W, "b": self.b}

    def config(self) -> dict:
        """Plain-data description of the layer's shape and activation."""
        return {"n_in": self.n_in, "n_out": self.n_out, "activation": self.activation.config(),
                "bias": self.bias}

    def __repr__(self) -> str:
        return (f"Dense({self.n_in}, {self.n_out}, activation={self.activation.name!r}, "
                f"bias={self.bias}, dtype={self.dtype.name!r})")


#: The name the first releases used for :class:`Dense`.
Layer = Dense


class Dropout:
    """Inverted dropout: while training, each node is dropped with probability ``rate``.

    Forward, while training (an ``rng`` is given)::

        mask = m / (1 - p),  m_k = 1 with probability 1 - p, else 0
        a_k  = a_prev_k * mask_k

    so the expected value of each ``a_k`` is ``a_prev_k`` and prediction, which
    draws nothing, passes ``a_prev`` through unchanged. Backward, the mask is
    the local derivative: ``dC/da_prev_k = dC/da_k * mask_k``.

    Parameters
    ----------
    rate : float in [0, 1)
        The probability ``p`` of dropping a node.
    """

    def __init__(self, rate: float):
        if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not 0 <= rate < 1:
            raise ValueError(f"dropout rate must be a number in [0, 1); got {rate!r}")
        self.rate = float(rate)

    def forward(self, a_prev: np.ndarray, work: Workspace | None = None,
                rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray | None]:
        """Return ``a_prev * mask`` and the mask while training (``rng`` given), else ``a_prev`` and None."""
        if rng is None or self.rate == 0:
            return a_prev, None
        shape = a_prev.shape
        if work is None:
            u = rng.random(shape, dtype=a_prev.dtype)
        else:
            u = rng.random(out=work.array(self, "mask", shape), dtype=a_prev.dtype)
        # The mask overwrites the uniform draws it is made from: 1/(1-p) where u >= p, else 0.
        mask = np.multiply(u >= self.rate, a_prev.dtype.type(1.0 / (1.0 - self.rate)), out=u)
        a = None if work is None else work.array(self, "a", shape)
        return np.multiply(a_prev, mask, out=a), mask

    def backward(self, mask: np.ndarray | None, dC_da: np.ndarray, grads: dict | None = None,
                 work: Workspace | None = None, need_dC_da_prev: bool = True) -> np.ndarray | None:
        """``dC/da_prev = dC/da * mask`` (the identity where nothing was dropped)."""
        if mask is None:
            return dC_da
        out = None if work is None else work.array(self, "dC_da_prev", dC_da.shape)
        return np.multiply(dC_da, mask, out=out)

    def parameters(self) -> dict:
        """No parameters."""
        return {}

    def config(self) -> dict:
        return {"rate": self.rate}

    def __repr__(self) -> str:
        return f"Dropout({self.rate:g})"
