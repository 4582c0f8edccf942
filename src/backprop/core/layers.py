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
"""

from __future__ import annotations

import numpy as np

from .activations import Activation, get_activation
from .initializers import default_initializer, get_initializer, zeros
from .validation import check_dtype, check_positive_int, check_rng

__all__ = ["Layer"]


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
        rng = check_rng(seed)
        initializer = get_initializer(init if init is not None else default_initializer(self.activation.name))
        self.W: np.ndarray = initializer((n_out, n_in), rng, dtype)
        self.b: np.ndarray | None = zeros(n_out, dtype=dtype) if bias else None
        self.a_prev = self.z = self.a = None
        self.dW = self.db = None

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
        z = a_prev @ self.W.T
        if self.b is not None:
            z += self.b
        self.a_prev, self.z = a_prev, z
        self.a = self.activation.value(z)
        return self.a

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
        # The first factor times the second: dC/dz_j = dC/da_j * da_j/dz_j.
        dC_dz = self.activation.backward(self.z, self.a, dC_da)
        return self.backward_from_z(dC_dz, need_dC_da_prev)

    def backward_from_z(self, dC_dz: np.ndarray, need_dC_da_prev: bool = True) -> np.ndarray | None:
        """Backpropagate ``dC/dZ`` through the weighted sum ``Z = A_prev W^T + b``.

        The third factor of the chain rule, ``dz_j/dw_jk = a_k`` (the previous
        layer's output), gives ``dC/dW``; ``dz_j/db_j = 1`` gives ``dC/db``; and
        ``dz_j/da_k = w_jk`` carries the gradient to the previous layer.
        """
        self.dW = dC_dz.T @ self.a_prev
        self.db = dC_dz.sum(axis=0) if self.b is not None else None
        return dC_dz @ self.W if need_dC_da_prev else None

    def parameters(self) -> dict[str, np.ndarray | None]:
        """The layer's parameters as plain data: ``{"W": W, "b": b}`` (the arrays themselves)."""
        return {"W": self.W, "b": self.b}

    def gradients(self) -> dict[str, np.ndarray | None]:
        """The last backward pass's gradients: ``{"W": dC/dW, "b": dC/db or None}``."""
        return {"W": self.dW, "b": self.db}

    def config(self) -> dict:
        """Plain-data description of the layer's shape and activation."""
        return {"n_in": self.n_in, "n_out": self.n_out, "activation": self.activation.config(),
                "bias": self.bias}

    def __repr__(self) -> str:
        return (f"Layer({self.n_in}, {self.n_out}, activation={self.activation.name!r}, "
                f"bias={self.bias}, dtype={self.dtype.name!r})")
