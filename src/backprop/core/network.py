"""The network: forward through the layers, backward in reverse.

Forward propagation moves a batch from the input layer to the output layer L,
each layer computing ``A = g(A_prev W^T + b)``. Backpropagation starts at the
output, where for the article's loss ``dC0/da_j^L = 2 (a_j^L - y_j)``, and
hands ``dC/dA`` from each layer to the one before it.

The loss of a batch is the mean of the per-sample losses, so its gradient is
the article's average ``dC/dw = 1/N sum_i dC_i/dw``: the backward pass starts
from ``(1/N) dC_i/da`` and the products ``dC/dZ^T A_prev`` then sum the
per-sample terms.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .activations import get_activation
from .layers import Layer
from .losses import FUSED_OUTPUTS, FusedOutput, Loss, get_loss
from .training import History, fit
from .validation import check_dtype, check_matrix, check_positive_int, check_rng

__all__ = ["Network"]


class Network:
    """A feed-forward network: a list of :class:`Layer` and a loss.

    Parameters
    ----------
    layers : sequence of Layer
        The layers from the first hidden layer to the output layer; each
        layer's ``n_in`` must equal the previous layer's ``n_out``, and all must
        share one dtype.
    loss : str, dict or Loss, default "sse"
        The loss, see :mod:`backprop.core.losses`. ``"sse"`` is the article's.
    fuse_output : bool, default True
        Use the named shortcut for a softmax output with cross-entropy or a
        sigmoid output with binary cross-entropy (see
        :data:`backprop.core.losses.FUSED_OUTPUTS`). It gives the same gradient
        as the unfused chain rule but stays finite where an output rounds to
        0 or 1. Ignored for other pairs.

    Examples
    --------
    >>> import backprop as bp
    >>> net = bp.Network.from_sizes([2, 3, 1], activation="sigmoid", loss="sse", seed=0)
    >>> net.forward([[0.0, 1.0]]).shape
    (1, 1)
    """

    def __init__(self, layers: Sequence[Layer], loss="sse", *, fuse_output: bool = True):
        layers = list(layers)
        if not layers:
            raise ValueError("a network needs at least one layer; got an empty list")
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"layers[{i}] must be a backprop Layer; got {type(layer).__name__}")
        for i in range(1, len(layers)):
            if layers[i].n_in != layers[i - 1].n_out:
                raise ValueError(
                    f"layers[{i}] takes {layers[i].n_in} inputs but layers[{i - 1}] has "
                    f"{layers[i - 1].n_out} outputs; they must be equal"
                )
        dtypes = {layer.dtype for layer in layers}
        if len(dtypes) > 1:
            raise ValueError(f"all layers must share one dtype; got {sorted(d.name for d in dtypes)}")
        self.layers: list[Layer] = layers
        self.loss_fn: Loss = get_loss(loss)
        self.fuse_output = bool(fuse_output)

    @classmethod
    def from_sizes(cls, sizes: Sequence[int], activation="sigmoid", output_activation=None,
                   loss="sse", bias: bool = True, seed=None, dtype="float64", init=None,
                   fuse_output: bool = True) -> "Network":
        """Build a network from its layer sizes, input layer first.

        Parameters
        ----------
        sizes : sequence of int
            ``[n_inputs, n_hidden_1, ..., n_outputs]``; at least two.
        activation : str, dict or Activation, default "sigmoid"
            The activation of every layer, or of every hidden layer when
            ``output_activation`` is given.
        output_activation : str, dict or Activation, optional
            The output layer's activation.
        loss : str, dict or Loss, default "sse"
        bias : bool, default True
            ``False`` gives the article's model without biases.
        seed : int, numpy.random.Generator or None
            The same seed always gives the same weights.
        dtype : {"float64", "float32"}
        init : str or callable, optional
            Weight initializer for every layer; by default chosen per activation.
        fuse_output : bool, default True
            See :class:`Network`.
        """
        sizes = list(sizes) if not isinstance(sizes, (str, bytes)) else None
        if sizes is None or len(sizes) < 2:
            raise ValueError(f"sizes must list at least an input and an output size; got {sizes!r}")
        for i, n in enumerate(sizes):
            check_positive_int(n, f"sizes[{i}]")
        dtype = check_dtype(dtype)
        rng = check_rng(seed)
        hidden = get_activation(activation)
        output = get_activation(output_activation) if output_activation is not None else hidden
        n_layers = len(sizes) - 1
        layers = [
            Layer(sizes[i], sizes[i + 1], output if i == n_layers - 1 else hidden,
                  bias=bias, init=init, seed=rng, dtype=dtype)
            for i in range(n_layers)
        ]
        return cls(layers, loss, fuse_output=fuse_output)

    # -- shape -------------------------------------------------------------

    @property
    def sizes(self) -> list[int]:
        """``[n_inputs, n_1, ..., n_outputs]``."""
        return [self.layers[0].n_in] + [layer.n_out for layer in self.layers]

    @property
    def dtype(self) -> np.dtype:
        return self.layers[0].dtype

    @property
    def n_parameters(self) -> int:
        """The number of weights and biases."""
        return sum(p.size for layer in self.layers for p in layer.parameters().values() if p is not None)

    @property
    def fused(self) -> FusedOutput | None:
        """The output shortcut in use, or None."""
        if not self.fuse_output:
            return None
        return FUSED_OUTPUTS.get((self.layers[-1].activation.name, self.loss_fn.name))

    # -- the public boundary: validated --------------------------------------

    def check_X(self, X) -> np.ndarray:
        """Return ``X`` as a finite array of shape (n_samples, n_inputs) in the network's dtype."""
        return check_matrix(X, "X", self.sizes[0], self.dtype, "input nodes")

    def check_Y(self, Y, n_samples: int) -> np.ndarray:
        """Return ``Y`` as a finite array of shape (n_samples, n_outputs) in the network's dtype."""
        Y = check_matrix(Y, "Y", self.sizes[-1], self.dtype, "output nodes")
        if Y.shape[0] != n_samples:
            raise ValueError(f"X has {n_samples} rows but Y has {Y.shape[0]}; they must be equal")
        return Y

    def forward(self, X) -> np.ndarray:
        """The output activations ``a^L`` for each sample.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_inputs)

        Returns
        -------
        ndarray of shape (n_samples, n_outputs)
        """
        return self.forward_unchecked(self.check_X(X)).copy()

    def loss(self, X, Y) -> float:
        """The mean over samples of the per-sample loss, ``1/N sum_i C_i``."""
        X = self.check_X(X)
        Y = self.check_Y(Y, X.shape[0])
        self.forward_unchecked(X)
        return float(np.mean(self.per_sample_loss(Y)))

    def gradients(self, X, Y) -> list[dict[str, np.ndarray | None]]:
        """The gradient of the mean loss: the average of the per-sample gradients.

        Returns
        -------
        list of dict
            One dict per layer, ``{"W": dC/dW, "b": dC/db or None}``, with the
            shapes of ``W`` and ``b``.
        """
        X = self.check_X(X)
        Y = self.check_Y(Y, X.shape[0])
        self.forward_unchecked(X)
        self.backward_unchecked(Y)
        # Copies: the layers reuse their gradient arrays on the next pass.
        return [{k: (None if v is None else v.copy()) for k, v in layer.gradients().items()}
                for layer in self.layers]

    def fit(self, X, Y, **options) -> History:
        """Train by mini-batch gradient descent and return the per-epoch history.

        ``history = net.fit(X, Y, epochs=..., batch_size=..., optimizer="sgd", lr=...,
        seed=..., validation_data=None, validation_split=0.0, ...)``; see
        :func:`backprop.core.training.fit` for every option.
        """
        return fit(self, X, Y, **options)

    def parameters(self) -> list[dict[str, np.ndarray | None]]:
        """The parameters, one ``{"W": W, "b": b}`` per layer (the arrays themselves)."""
        return [layer.parameters() for layer in self.layers]

    def get_weights(self) -> list[dict[str, np.ndarray | None]]:
        """A copy of the parameters, as plain data."""
        return [{k: (None if v is None else v.copy()) for k, v in p.items()} for p in self.parameters()]

    def set_weights(self, weights: Sequence[dict]) -> None:
        """Copy parameters (as from :meth:`get_weights`) into the network, checking shapes."""
        weights = list(weights)
        if len(weights) != len(self.layers):
            raise ValueError(f"expected weights for {len(self.layers)} layers; got {len(weights)}")
        for i, (layer, w) in enumerate(zip(self.layers, weights)):
            for name, target in layer.parameters().items():
                source = w.get(name)
                if (target is None) != (source is None):
                    raise ValueError(f"layer {i} {name}: expected {'no array' if target is None else 'an array'}")
                if target is None:
                    continue
                source = np.asarray(source)
                if source.shape != target.shape:
                    raise ValueError(f"layer {i} {name}: expected shape {target.shape}; got {source.shape}")
                target[...] = source

    def config(self) -> dict:
        """Plain-data description: sizes, activations, bias, loss, dtype."""
        return {
            "sizes": self.sizes,
            "activations": [layer.activation.config() for layer in self.layers],
            "bias": [layer.bias for layer in self.layers],
            "loss": self.loss_fn.config(),
            "dtype": self.dtype.name,
            "fuse_output": self.fuse_output,
        }

    def __repr__(self) -> str:
        acts = ", ".join(layer.activation.name for layer in self.layers)
        return f"Network(sizes={self.sizes}, activations=[{acts}], loss={self.loss_fn.name!r}, dtype={self.dtype.name!r})"

    # -- the hot path: trusts its input --------------------------------------

    def forward_unchecked(self, X: np.ndarray) -> np.ndarray:
        """Forward propagation for an already checked ``X``; every layer keeps its ``z`` and ``a``."""
        a = X
        for layer in self.layers:
            a = layer.forward(a)
        return a

    def per_sample_loss(self, Y: np.ndarray) -> np.ndarray:
        """The per-sample losses ``C_i`` of the last forward pass."""
        out = self.layers[-1]
        fused = self.fused
        if fused is not None:
            return fused.per_sample(out.z, out.a, Y)
        return self.loss_fn.per_sample(out.a, Y)

    def backward_unchecked(self, Y: np.ndarray, scale: float | None = None) -> None:
        """Backpropagation after :meth:`forward_unchecked`; fills every layer's ``dW`` and ``db``.

        Parameters
        ----------
        Y : ndarray of shape (n_samples, n_outputs)
        scale : float, optional
            The factor on the per-sample gradients; ``1/N`` by default, which
            makes the result the average of the per-sample gradients.
        """
        out = self.layers[-1]
        if scale is None:
            scale = 1.0 / Y.shape[0]
        fused = self.fused
        if fused is not None:
            dC_dz = fused.delta(out.z, out.a, Y) * scale
            dC_da = out.backward_from_z(dC_dz, need_dC_da_prev=len(self.layers) > 1)
        else:
            # At the output layer, dC_i/da_j^L comes from the loss: 2 (a_j - y_j) for sse.
            dC_da = out.backward(self.loss_fn.derivative(out.a, Y) * scale,
                                 need_dC_da_prev=len(self.layers) > 1)
        for i in range(len(self.layers) - 2, -1, -1):
            dC_da = self.layers[i].backward(dC_da, need_dC_da_prev=i > 0)
