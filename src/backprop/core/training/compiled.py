"""Plain SGD with each batch's forward and backward pass compiled (Numba, the ``fast`` extra).

:class:`CompiledSGD` is :class:`~backprop.core.training.update.FoldedSGD`
with one change: the batch's forward pass, loss and ``dC/dZ`` come from one
call of the compiled :func:`~backprop.core.training.kernels.forward_backward`
instead of the layers' NumPy methods. The products are the same BLAS calls;
what the compiled pass removes is the Python and the extra passes over
memory between them, which at small batches cost as much as the products.
The guard, the folded step and everything the loop does around the batch
are :class:`FoldedSGD`'s.

It applies where :class:`FoldedSGD` does and, besides, every layer is
compiled (:data:`~backprop.core.training.kernels.ACTIVATIONS`, with biases;
the output one of :data:`~backprop.core.training.kernels.OUTPUTS`), Numba
is installed and the products can reach NumPy's own OpenBLAS. Whether a run
takes it is :class:`~backprop.core.optimizers.SGD`'s ``compiled``: ``None``
(the default) where it is faster: the work per epoch, samples times
parameters, is at least :data:`WORTH_COMPILING` (below it, loading Numba
costs more than it saves) and every hidden layer is one of
:data:`FASTER_COMPILED`; ``True`` wherever it applies; ``False`` never. A
batch with sample weights takes the NumPy path.

Why not sigmoid or tanh hidden layers by default: the compiled loops call
the C library's ``exp`` and ``tanh`` one number at a time, where NumPy's own
routines do 8 or 16 at once; on MNIST's 784-300-10 in float32 at two
threads that cost the compiled pass what it saved (0.55 against 0.48-0.52 s
an epoch at batch 512, even at 32 and 128; ReLU gained 1.13-1.25x there).
"""

from __future__ import annotations

import ctypes
import functools
import importlib.util

import numpy as np

from .blas import NumpysBLAS, blas_for
from .update import Descent, FoldedSGD
from .update import choose_update as choose_uncompiled

__all__ = ["CompiledSGD", "FASTER_COMPILED", "WORTH_COMPILING", "choose_update", "numba_installed"]

#: Samples times parameters from which ``compiled=None`` compiles: MNIST on 784-300-10 is 1.4e10, scikit-learn's
#: digits on 64-32-10 2.1e6. Loading Numba and the cached kernels takes about half a second.
WORTH_COMPILING = 1e9
#: The hidden activations ``compiled=None`` compiles: those without a transcendental function.
FASTER_COMPILED = frozenset({"relu", "identity"})


def numba_installed() -> bool:
    """Whether Numba can be imported (without importing it)."""
    return importlib.util.find_spec("numba") is not None


@functools.cache
def _kernels():
    from . import kernels  # imports Numba: only here, only when a run takes this path

    return kernels


def _layer_codes(net) -> tuple[list[int], int] | None:
    """Each hidden layer's activation code and the output's, or None where a layer is not compiled."""
    from .. import losses

    kernels = _kernels()
    layers = net.layers
    if len(net.stack) != len(layers) or any(layer.b is None for layer in layers):
        return None
    output = (_plain_name(layers[-1].activation), getattr(net.loss_fn, "name", None))
    if type(net.loss_fn) is not losses.LOSSES.get(output[1]) or (output[0] == "softmax" and net.fused is None):
        return None
    hidden = [kernels.ACTIVATIONS.get(_plain_name(layer.activation)) for layer in layers[:-1]]
    kind = kernels.OUTPUTS.get(output)
    if None in hidden or kind is None:
        return None
    return hidden, kind


def _plain_name(activation) -> str | None:
    """The activation's name if it is the library's own, unconfigured (a subclass may change its formula)."""
    from .. import activations

    cls = activations.ACTIVATIONS.get(getattr(activation, "name", None))
    return activation.name if cls is not None and type(activation) is cls else None


class CompiledSGD(FoldedSGD):
    """:class:`FoldedSGD` with each batch's forward and backward pass compiled.

    Parameters
    ----------
    net, optimizer, guard, work, blas
        As for :class:`FoldedSGD`; ``blas`` is a :class:`~backprop.core.training.blas.NumpysBLAS`.
    codes : list of int
        Each hidden layer's activation code.
    kind : int
        The output layer's code.
    """

    def __init__(self, net, optimizer, guard, work, blas, codes, kind):
        super().__init__(net, optimizer, guard, work, blas)
        self.kernels = _kernels()
        self.codes = np.asarray(codes, dtype=np.int64)
        self.kind = int(kind)
        self.gemm = ctypes.cast(blas.gemm, ctypes.c_void_p).value  # the function's address
        self.ilp64 = ctypes.sizeof(blas.index) == 8
        self.gemv = ctypes.cast(blas.gemv, ctypes.c_void_p).value
        self._weights: tuple = ()      # the arrays the tuples were made from
        self._tuples = None             # tuples of W and b, made again when an array is replaced
        self._batch: dict[int, tuple] = {}  # per batch size: see _arrays
        self._squares = None            # the batch's sum of squares of dC/dZ, from forward_backward

    @staticmethod
    def choose(net, optimizer, reducer, n_samples: int) -> tuple[list[int], int] | None:
        """The layer codes if this run takes the compiled path (see the module's text), else None."""
        wanted = getattr(optimizer, "compiled", False)
        if wanted is False or not FoldedSGD.applies(net, optimizer, reducer):
            return None
        if wanted is None and (n_samples * net.n_parameters < WORTH_COMPILING
                               or any(_plain_name(layer.activation) not in FASTER_COMPILED
                                      for layer in net.layers[:-1])):
            return None
        if not numba_installed():
            if wanted:
                raise ValueError("SGD(compiled=True) needs Numba, which is not installed: "
                                 "pip install 'backprop[fast]'")
            return None
        try:
            return _layer_codes(net)
        except ImportError as error:  # a Numba that does not fit this NumPy, say: the NumPy path, or say so
            if wanted:
                raise ValueError(f"SGD(compiled=True): Numba could not be loaded ({error})") from None
            return None

    def forward_backward(self, batch, work, rng):
        """The batch's forward pass, losses and ``dC/dZ`` in one compiled call (NumPy's with sample weights)."""
        self._squares = None
        if batch.weights is not None:
            return super().forward_backward(batch, work, rng)
        W, b = self._parameters()
        z, a, d, trace, losses, row, _ = self._arrays(batch.X)
        squares = self.kernels.forward_backward(
            self.gemm, self.ilp64, batch.X, batch.Y, W, b, z, a, d, self.codes, self.transpose, self.kind,
            float(batch.scale), losses, row, max(self.optimizer.lr, 1.0), self.limit)
        self._squares = squares if squares >= 0 else None
        return a[-1], losses, trace, list(d)

    def step(self, batch_loss, trace, deltas, batch_weight, epoch, batch):
        """Guard, then the folded step of every layer in one compiled call; as :meth:`FoldedSGD.step`.

        A batch whose ``dC/dZ`` failed the kernel's bound (or that took the
        NumPy path) goes through :meth:`FoldedSGD.step`, which finds it again
        and takes :class:`Descent`'s path.
        """
        squares, self._squares = self._squares, None
        if squares is None:
            return super().step(batch_loss, trace, deltas, batch_weight, epoch, batch)
        lr = self.optimizer.lr
        self.guard.check_squares(batch_loss, squares, self.work.grads, trace, epoch, batch, lr)
        self.optimizer.t += 1  # one step, as Optimizer.step counts them
        W, b = self._parameters()
        z, a, d, _, _, _, ones = self._arrays(trace[0].a_prev)
        self.kernels.fold(self.gemm, self.gemv, self.ilp64, trace[0].a_prev, W, b, a, d, self.transpose, lr, ones)
        return 0.0

    def _parameters(self):
        """Tuples of the layers' ``W`` and ``b``, made again if an array was replaced (set_weights)."""
        arrays = tuple(arr for layer in self.net.layers for arr in (layer.W, layer.b))
        if len(arrays) != len(self._weights) or any(x is not y for x, y in zip(arrays, self._weights)):
            self._weights = arrays
            self._tuples = (arrays[0::2], arrays[1::2])
        return self._tuples

    def _arrays(self, X):
        """This batch size's arrays: ``Z``, ``A``, ``dC/dZ`` (tuples), the trace, losses, a scratch row, ones.

        The trace's first ``A_prev`` is the batch ``X`` itself.
        """
        from ..layers import DenseCache

        rows = X.shape[0]
        kept = self._batch.get(rows)
        if kept is None:
            if len(self._batch) >= 2:
                self._batch.pop(next(iter(self._batch)))
            dtype, shapes = self.net.dtype, [(rows, layer.n_out) for layer in self.net.layers]
            z, a, d = (tuple(np.empty(s, dtype) for s in shapes) for _ in range(3))
            trace = [DenseCache(p, zl, al) for p, zl, al in zip([X, *a[:-1]], z, a)]
            kept = self._batch[rows] = (z, a, d, trace, np.empty(rows, dtype), np.empty(shapes[-1][1], dtype),
                                        np.ones(rows, dtype))
        trace = kept[3]
        if trace[0].a_prev is not X:
            trace[0] = trace[0]._replace(a_prev=X)
        return kept


def choose_update(net, optimizer, reducer, guard, work, n_samples: int = 0) -> Descent:
    """:class:`CompiledSGD` where the run takes it, else :func:`.update.choose_update`'s choice."""
    codes = CompiledSGD.choose(net, optimizer, reducer, n_samples)
    if codes is not None:
        blas = blas_for(net.dtype)
        if isinstance(blas, NumpysBLAS):
            return CompiledSGD(net, optimizer, guard, work, blas, *codes)
    return choose_uncompiled(net, optimizer, reducer, guard, work)
