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

Training calls these once per mini-batch, so a layer writes ``Z``, ``A`` and
the gradients into arrays it keeps for the batch size it last saw, instead of
allocating new ones every time: the arrays a layer exposes (``z``, ``a``,
``dW``, ``db`` and what ``forward`` and ``backward`` return) are overwritten
by its next pass. Copy what you want to keep.
"""

from __future__ import annotations

import numpy as np

from .activations import Activation, get_activation
from .initializers import default_initializer, get_initializer, zeros
from .validation import check_dtype, check_positive_int, check_rng

__all__ = ["Layer"]

# No machine this runs on holds a weight matrix of a terabyte: a size beyond it is a typo.
_MAX_WEIGHT_BYTES = 2**40


class Layer:
    """A fully connected layer: ``a = g(W a_prev + b)``.

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
    z, a, a_prev : ndarray or None
        What the last forward pass computed and the backward pass needs.
    dW, db : ndarray or None
        What the last backward pass computed.
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
        self.a_prev = self.z = self.a = None
        self.dW = self.db = None
        self._buffers: dict[int, tuple[np.ndarray, ...]] = {}

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

    def forward(self, a_prev: np.ndarray) -> np.ndarray:
        """Compute ``Z = A_prev W^T + b`` and ``A = g(Z)``; keep ``A_prev``, ``Z``, ``A``.

        Parameters
        ----------
        a_prev : ndarray of shape (n_samples, n_in)

        Returns
        -------
        a : ndarray of shape (n_samples, n_out)
        """
        z, a, _, _ = self._batch_buffers(a_prev.shape[0])
        np.matmul(a_prev, self.W.T, out=z)          # z_j = sum_k w_jk a_k
        if self.b is not None:
            z += self.b                             #       + b_j
        self.activation.value(z, out=a)             # a_j = g(z_j)
        self.a_prev, self.z, self.a = a_prev, z, a
        return a

    def backward(self, dC_da: np.ndarray, need_dC_da_prev: bool = True) -> np.ndarray | None:
        """Backpropagate ``dC/dA`` through the activation and the weighted sum.

        Fills :attr:`dW` and :attr:`db` and returns ``dC/dA_prev``.

        Parameters
        ----------
        dC_da : ndarray of shape (n_samples, n_out)
            The upstream gradient, ``dC/da_j`` for every sample and node.
        need_dC_da_prev : bool, default True
            ``False`` skips the product that only a previous layer would use.
        """
        _, _, dC_dz, _ = self._batch_buffers(dC_da.shape[0])
        # The first factor times the second: dC/dz_j = dC/da_j * da_j/dz_j.
        self.activation.backward(self.z, self.a, dC_da, out=dC_dz)
        return self.backward_from_z(dC_dz, need_dC_da_prev)

    def backward_from_z(self, dC_dz: np.ndarray, need_dC_da_prev: bool = True) -> np.ndarray | None:
        """Backpropagate ``dC/dZ`` through the weighted sum ``Z = A_prev W^T + b``.

        The third factor of the chain rule, ``dz_j/dw_jk = a_k`` (the previous
        layer's output), gives ``dC/dW``; ``dz_j/db_j = 1`` gives ``dC/db``; and
        ``dz_j/da_k = w_jk`` carries the gradient to the previous layer.
        """
        if self.dW is None:
            self.dW = np.empty_like(self.W)
            self.db = None if self.b is None else np.empty_like(self.b)
        np.matmul(dC_dz.T, self.a_prev, out=self.dW)          # dC/dw_jk = dC/dz_j * a_k
        if self.b is not None:
            np.sum(dC_dz, axis=0, out=self.db)                 # dC/db_j = dC/dz_j
        if not need_dC_da_prev:
            return None
        dC_da_prev = self._batch_buffers(dC_dz.shape[0])[3]
        return np.matmul(dC_dz, self.W, out=dC_da_prev)       # dC/da_k = sum_j dC/dz_j w_jk

    def _batch_buffers(self, n: int) -> tuple[np.ndarray, ...]:
        """``Z``, ``A``, ``dC/dZ`` and ``dC/dA_prev`` for a batch of ``n``, reused across batches.

        Two sizes are kept: an epoch's full batches and its last, smaller one.
        """
        buffers = self._buffers.get(n)
        if buffers is None:
            if len(self._buffers) >= 2:
                self._buffers.pop(next(iter(self._buffers)))
            shape = (n, self.n_out)
            buffers = (np.empty(shape, self.dtype), np.empty(shape, self.dtype),
                       np.empty(shape, self.dtype), np.empty((n, self.n_in), self.dtype))
            self._buffers[n] = buffers
        return buffers

    def parameters(self) -> dict[str, np.ndarray | None]:
        """The layer's parameters as plain data: ``{"W": W, "b": b}`` (the arrays themselves)."""
        return {"W": self.W, "b": self.b}

    def gradients(self) -> dict[str, np.ndarray | None]:
        """The last backward pass's gradients: ``{"W": dC/dW, "b": dC/db or None}`` (the layer's own arrays)."""
        return {"W": self.dW, "b": self.db}

    def config(self) -> dict:
        """Plain-data description of the layer's shape and activation."""
        return {"n_in": self.n_in, "n_out": self.n_out, "activation": self.activation.config(),
                "bias": self.bias}

    def __repr__(self) -> str:
        return (f"Layer({self.n_in}, {self.n_out}, activation={self.activation.name!r}, "
                f"bias={self.bias}, dtype={self.dtype.name!r})")
