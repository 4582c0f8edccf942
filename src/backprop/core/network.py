"""The network: forward through the layers, backward in reverse.

Forward propagation moves a batch from the input layer to the output layer L,
each layer computing ``A = g(A_prev W^T + b)``. Backpropagation starts at the
output, where for the article's loss ``dC0/da_j^L = 2 (a_j^L - y_j)``, and
hands ``dC/dA`` from each layer to the one before it.

The loss of a batch is the mean of the per-sample losses, so its gradient is
the article's average ``dC/dw = 1/N sum_i dC_i/dw``: the backward pass starts
from ``(1/N) dC_i/da`` and the products ``dC/dZ^T A_prev`` then sum the
per-sample terms. With sample weights ``w_i`` the average is weighted,
``sum_i w_i dC_i/dw / sum_i w_i``, and the backward pass starts from
``w_i / sum_i w_i dC_i/da``: an integer weight counts a sample that many times.

The network keeps only its parameters. A forward pass for training returns
its trace (each layer's cache) and the backward pass takes it back, so
prediction never disturbs a training run.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .activations import get_activation
from .layers import Dense, DenseCache, Dropout
from .losses import FUSED_OUTPUTS, FusedOutput, Loss, get_loss
from .validation import check_dtype, check_matrix, check_positive_int, check_rng, check_sample_weight
from .workspace import Workspace

__all__ = ["Network"]


class Network:
    """A feed-forward network: a sequence of layers and a loss.

    Parameters
    ----------
    layers : sequence of Dense and Dropout
        The layers from the first hidden layer to the output layer; each
        :class:`Dense` layer's ``n_in`` must equal the previous one's ``n_out``,
        and all must share one dtype. A :class:`Dropout` may stand before any
        dense layer (before the first, it drops inputs), not after the last.
    loss : str, dict or Loss, default "sse"
        The loss, see :mod:`backprop.core.losses`. ``"sse"`` is the article's.
    fuse_output : bool, default True
        Use the named shortcut for a softmax output with cross-entropy or a
        sigmoid output with binary cross-entropy (see
        :data:`backprop.core.losses.FUSED_OUTPUTS`). It gives the same gradient
        as the unfused chain rule but stays finite where an output rounds to
        0 or 1. Ignored for other pairs.

    Attributes
    ----------
    layers : list of Dense
        The article's layers ``l = 1 .. L``, the ones with weights.
    stack : list of Dense and Dropout
        Every layer in order, as given.

    Examples
    --------
    >>> import backprop as bp
    >>> net = bp.Network.from_sizes([2, 3, 1], activation="sigmoid", loss="sse", seed=0)
    >>> net.forward([[0.0, 1.0]]).shape
    (1, 1)
    """

    def __init__(self, layers: Sequence, loss="sse", *, fuse_output: bool = True):
        stack = list(layers)
        if not stack:
            raise ValueError("a network needs at least one layer; got an empty list")
        for i, layer in enumerate(stack):
            if not isinstance(layer, (Dense, Dropout)):
                raise TypeError(f"layers[{i}] must be a backprop Dense or Dropout layer; got {type(layer).__name__}")
            if isinstance(layer, Dropout) and i + 1 < len(stack) and isinstance(stack[i + 1], Dropout):
                raise ValueError(f"layers[{i}] and layers[{i + 1}] are both Dropout; use one with the combined rate")
        dense = [layer for layer in stack if isinstance(layer, Dense)]
        if not dense:
            raise ValueError("a network needs at least one Dense layer; got none")
        if isinstance(stack[-1], Dropout):
            raise ValueError("a Dropout layer cannot come after the output layer; put it before a Dense layer")
        where = [i for i, layer in enumerate(stack) if isinstance(layer, Dense)]
        for i, j in zip(where, where[1:]):
            if stack[j].n_in != stack[i].n_out:
                raise ValueError(
                    f"layers[{j}] takes {stack[j].n_in} inputs but layers[{i}] has "
                    f"{stack[i].n_out} outputs; they must be equal"
                )
        dtypes = {layer.dtype for layer in dense}
        if len(dtypes) > 1:
            raise ValueError(f"all layers must share one dtype; got {sorted(d.name for d in dtypes)}")
        self.stack: list = stack
        self.layers: list[Dense] = dense
        self.loss_fn: Loss = get_loss(loss)
        self.fuse_output = bool(fuse_output)
        check_output_pair(self.layers[-1].activation.name, self.loss_fn.name)
        # Where each layer of the stack finds its gradients: the index of its dense layer, or None.
        index = iter(range(len(dense)))
        self._grad_index = [next(index) if isinstance(layer, Dense) else None for layer in stack]

    @classmethod
    def from_sizes(cls, sizes: Sequence[int], activation="sigmoid", output_activation=None,
                   loss="sse", bias: bool = True, seed=None, dtype="float64", init=None,
                   fuse_output: bool = True, dropout=0.0, input_dropout: float = 0.0) -> "Network":
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
        dropout : float or sequence of float, default 0.0
            A :class:`Dropout` after each hidden layer: one rate for all, or
            one per hidden layer (0 adds none).
        input_dropout : float, default 0.0
            A :class:`Dropout` on the inputs, before the first layer.
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
        rates = per_hidden_layer(dropout, n_layers - 1, "dropout")
        rates = [input_dropout, *rates]
        stack = []
        for i in range(n_layers):
            if rates[i]:
                stack.append(Dropout(rates[i]))
            stack.append(Dense(sizes[i], sizes[i + 1], output if i == n_layers - 1 else hidden,
                               bias=bias, init=init, seed=rng, dtype=dtype))
        return cls(stack, loss, fuse_output=fuse_output)

    @classmethod
    def from_config(cls, config: dict, seed=None, init=None) -> "Network":
        """A network of the shape :meth:`config` describes, with fresh weights (from ``seed`` and ``init``).

        Raises
        ------
        KeyError, TypeError, ValueError
            If the description is incomplete or inconsistent.
        """
        sizes = [int(n) for n in config["sizes"]]
        n_layers = len(sizes) - 1
        bias = config.get("bias", True)
        bias = bias if isinstance(bias, list) else [bias] * n_layers
        rates = config.get("dropout") or [0.0] * n_layers
        if len(config["activations"]) != n_layers or len(bias) != n_layers or len(rates) != n_layers:
            raise ValueError(f"the config describes {n_layers} layers but lists "
                             f"{len(config['activations'])} activations, {len(bias)} biases "
                             f"and {len(rates)} dropout rates")
        rng = check_rng(seed)
        stack = []
        for i in range(n_layers):
            if rates[i]:
                stack.append(Dropout(rates[i]))
            stack.append(Dense(sizes[i], sizes[i + 1], config["activations"][i], bias=bool(bias[i]),
                               init=init, seed=rng, dtype=config.get("dtype", "float64")))
        return cls(stack, config.get("loss", "sse"), fuse_output=config.get("fuse_output", True))

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
    def dropout(self) -> list[float]:
        """The dropout rate on the input of each dense layer (0 where there is none)."""
        rates, pending = [], 0.0
        for layer in self.stack:
            if isinstance(layer, Dropout):
                pending = layer.rate
            else:
                rates.append(pending)
                pending = 0.0
        return rates

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
        """The output activations ``a^L`` for each sample (dropout inactive).

        Parameters
        ----------
        X : array_like of shape (n_samples, n_inputs)

        Returns
        -------
        ndarray of shape (n_samples, n_outputs)
        """
        return self.forward_unchecked(self.check_X(X))

    def loss(self, X, Y, sample_weight=None) -> float:
        """The (weighted) mean over samples of the per-sample loss, ``1/N sum_i C_i``."""
        X = self.check_X(X)
        Y = self.check_Y(Y, X.shape[0])
        w = check_sample_weight(sample_weight, X.shape[0])
        losses = self.per_sample_loss(self.forward_train(X)[1], Y)
        return float(np.mean(losses) if w is None else np.dot(w, losses) / w.sum())

    def gradients(self, X, Y, sample_weight=None) -> list[dict[str, np.ndarray | None]]:
        """The gradient of the mean loss: the average of the per-sample gradients.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_inputs)
        Y : array_like of shape (n_samples, n_outputs)
        sample_weight : array_like of shape (n_samples,), optional
            Non-negative weights ``w_i``; the gradient is then the weighted
            average ``sum_i w_i dC_i/dw / sum_i w_i``.

        Returns
        -------
        list of dict
            One dict per dense layer, ``{"W": dC/dW, "b": dC/db or None}``,
            with the shapes of ``W`` and ``b``. Dropout is inactive.
        """
        X = self.check_X(X)
        Y = self.check_Y(Y, X.shape[0])
        w = check_sample_weight(sample_weight, X.shape[0])
        work = Workspace(self.parameters(), self.dtype)
        _, trace = self.forward_train(X)
        self.backward(trace, Y, work.grads, scale=self.row_scale(w, X.shape[0]))
        return work.grads

    def fit(self, X, Y, **options):
        """Train by mini-batch gradient descent and return the per-epoch history.

        ``history = net.fit(X, Y, epochs=..., batch_size=..., optimizer="sgd", lr=...,
        seed=..., sample_weight=None, validation_data=None, validation_split=0.0, ...)``;
        see :func:`backprop.core.training.fit` for every option.
        """
        from .training import fit  # the loop drives a network; the network does not need it to exist

        return fit(self, X, Y, **options)

    def parameters(self) -> list[dict[str, np.ndarray | None]]:
        """The parameters, one ``{"W": W, "b": b}`` per dense layer (the arrays themselves)."""
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
        """Plain-data description: sizes, activations, bias, loss, dtype (and dropout, if any)."""
        config = {
            "sizes": self.sizes,
            "activations": [layer.activation.config() for layer in self.layers],
            "bias": [layer.bias for layer in self.layers],
            "loss": self.loss_fn.config(),
            "dtype": self.dtype.name,
            "fuse_output": self.fuse_output,
        }
        if any(self.dropout):
            config["dropout"] = self.dropout
        return config

    def __repr__(self) -> str:
        acts = ", ".join(layer.activation.name for layer in self.layers)
        drop = f", dropout={self.dropout}" if any(self.dropout) else ""
        return (f"Network(sizes={self.sizes}, activations=[{acts}], loss={self.loss_fn.name!r}, "
                f"dtype={self.dtype.name!r}{drop})")

    # -- the hot path: trusts its input --------------------------------------

    def forward_unchecked(self, X: np.ndarray) -> np.ndarray:
        """Prediction for an already checked ``X``: new arrays, dropout inactive, nothing kept."""
        a = X
        for layer in self.layers:
            a = layer.forward(a)[0]
        return a

    def forward_train(self, X: np.ndarray, work: Workspace | None = None,
                      rng: np.random.Generator | None = None) -> tuple[np.ndarray, list]:
        """Forward propagation that keeps what backpropagation needs.

        Parameters
        ----------
        X : ndarray of shape (n_samples, n_inputs)
            Already checked.
        work : Workspace, optional
            Where the batch's arrays go; new ones if omitted.
        rng : numpy.random.Generator, optional
            Draws the dropout masks; without it dropout is inactive.

        Returns
        -------
        a : ndarray of shape (n_samples, n_outputs)
        trace : list
            Each layer's cache, in order: :class:`DenseCache` ``(A_prev, Z, A)``
            for a dense layer, the mask (or None) for a dropout layer.
        """
        a, trace = X, []
        for layer in self.stack:
            a, cache = layer.forward(a, work, rng)
            trace.append(cache)
        return a, trace

    def per_sample_loss(self, trace: list, Y: np.ndarray) -> np.ndarray:
        """The per-sample losses ``C_i`` of the forward pass that made ``trace``."""
        out: DenseCache = trace[-1]
        fused = self.fused
        if fused is not None:
            return fused.per_sample(out.z, out.a, Y)
        return self.loss_fn.per_sample(out.a, Y)

    @staticmethod
    def row_scale(sample_weight: np.ndarray | None, n: int):
        """The factor on each sample's gradient that makes their sum the (weighted) average.

        ``1/N`` without weights; ``w_i / sum_i w_i`` (a column) with them.
        """
        return row_scale(sample_weight, n if sample_weight is None else sample_weight.sum())

    def backward(self, trace: list, Y: np.ndarray, grads: list[dict], work: Workspace | None = None,
                 scale=None) -> None:
        """Backpropagation from the output to the first layer; fills ``grads``.

        Parameters
        ----------
        trace : list
            What :meth:`forward_train` returned for this batch.
        Y : ndarray of shape (n_samples, n_outputs)
        grads : list of dict
            One ``{"W": ..., "b": ...}`` per dense layer, overwritten with
            ``dC/dW`` and ``dC/db``.
        work : Workspace, optional
        scale : float or ndarray of shape (n_samples, 1), optional
            The factor on each sample's gradient: ``1/N`` by default, which
            makes the result the average of the per-sample gradients
            (see :meth:`row_scale`).
        """
        self.weight_gradients(trace, self.deltas(trace, Y, work, scale), grads)

    def deltas(self, trace: list, Y: np.ndarray, work: Workspace | None = None, scale=None) -> list[np.ndarray]:
        """Backpropagation's error signals: ``dC/dZ`` of every dense layer, first layer first.

        The gradient travels from the output to the first layer through each
        layer's ``dC/dz = dC/da * g'(z)`` and ``dC/da_prev = dC/dz W``; no
        ``dC/dW`` is formed (see :meth:`weight_gradients`). The arguments are
        :meth:`backward`'s.
        """
        if scale is None:
            scale = 1.0 / Y.shape[0]
        last = len(self.stack) - 1
        out: DenseCache = trace[last]
        fused = self.fused
        if fused is not None:
            # dC/dz of the output layer directly, where its two chain-rule factors cancel.
            dC_dz = fused.delta(out.z, out.a, Y) * scale
        else:
            # At the output layer, dC_i/da_j^L comes from the loss: 2 (a_j - y_j) for sse.
            dC_dz = self.stack[last].delta(out, self.loss_fn.derivative(out.a, Y) * scale, work)
        deltas = [dC_dz]
        dC_da = self.stack[last].backward_from_z(out, dC_dz, None, work, need_dC_da_prev=last > 0)
        for i in range(last - 1, -1, -1):
            layer = self.stack[i]
            if self._grad_index[i] is None:  # dropout: the mask is its local derivative
                dC_da = layer.backward(trace[i], dC_da, None, work, need_dC_da_prev=i > 0)
                continue
            dC_dz = layer.delta(trace[i], dC_da, work)
            deltas.append(dC_dz)
            dC_da = layer.backward_from_z(trace[i], dC_dz, None, work, need_dC_da_prev=i > 0)
        return deltas[::-1]

    def weight_gradients(self, trace: list, deltas: list[np.ndarray], grads: list[dict]) -> None:
        """Fill ``grads`` with each dense layer's ``dC/dW = dC/dZ^T A_prev`` and ``dC/db``, from :meth:`deltas`."""
        for layer, cache, dC_dz, g in zip(self.layers, self.dense_caches(trace), deltas, grads):
            layer.weight_gradients(cache, dC_dz, g)

    def dense_caches(self, trace: list) -> list[DenseCache]:
        """The caches of the dense layers in ``trace``, first layer first."""
        return [cache for cache, g in zip(trace, self._grad_index) if g is not None]


def row_scale(weights: np.ndarray | None, total: float, dtype=None):
    """The article's ``1/N`` on each sample's gradient, or ``w_i / total`` (a column) with weights.

    ``total`` is ``N``, or the total weight of the whole batch, which in a
    data-parallel run is more than the weights this process holds.
    """
    if weights is None:
        return 1.0 / total
    scale = (weights / total)[:, None]
    return scale if dtype is None else scale.astype(dtype)


def per_hidden_layer(value, n_hidden: int, name: str) -> list:
    """A setting given once for every hidden layer, or as a sequence with one entry per hidden layer."""
    if isinstance(value, (list, tuple)):
        if len(value) != n_hidden:
            raise ValueError(f"{name} lists {len(value)} values but there are {n_hidden} hidden layers; "
                             f"give one value or one per hidden layer")
        return list(value)
    return [value] * n_hidden


def check_output_pair(activation: str, loss: str) -> None:
    """Refuse an output activation and loss that train the wrong thing.

    ``cross_entropy`` is ``-sum_j y_j log a_j``: with softmax outputs, raising
    the right class lowers the others, but sigmoid outputs are independent and
    the loss is zero for every target ``y_j = 0`` (a sigmoid with one node and
    class-0 samples learns nothing from them). Sigmoid outputs need
    ``binary_cross_entropy``.
    """
    if loss == "cross_entropy" and activation == "sigmoid":
        raise ValueError("loss 'cross_entropy' with a sigmoid output ignores every target that is 0; "
                         "use loss 'binary_cross_entropy' with sigmoid outputs (or a softmax output)")
