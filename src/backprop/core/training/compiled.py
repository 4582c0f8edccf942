"""Each batch's forward and backward pass compiled (Numba, the ``fast`` extra).

The compiled pass does what the NumPy path does for a batch, forward
propagation, the loss and ``dC/dZ`` of every layer, in one call of the
compiled :func:`~backprop.core.training.kernels.forward_backward`: the same
BLAS products (NumPy's own OpenBLAS), with one pass over each layer's
numbers between them where NumPy makes several, and no Python in between.
It is a piece the update pieces of :mod:`.update` take on:

:class:`CompiledSGD`
    :class:`~backprop.core.training.update.FoldedSGD` (plain SGD, the step
    inside the ``dC/dW`` product), with the step of every layer also one
    compiled call (:func:`~backprop.core.training.kernels.fold`).
:class:`CompiledDescent`
    :class:`~backprop.core.training.update.Descent` (every optimizer): the
    batch's ``dC/dZ`` compiled, then ``dC/dW``, the guard and the optimizer's
    step as on the NumPy path.

A run can take it with one process, no dropout, and layers the kernels
compile (:data:`~backprop.core.training.kernels.ACTIVATIONS` with biases, an
output of :data:`~backprop.core.training.kernels.OUTPUTS`); a batch with
sample weights, or of one row, takes the NumPy path. Whether it does is ``fit``'s
``engine``: ``"compiled"`` wherever it can (an error without Numba),
``"numpy"`` never, ``"auto"`` (the default) where it is faster: Numba is
installed, the work per epoch (samples times parameters) is at least
:data:`WORTH_COMPILING`, and every hidden layer is one of
:data:`FASTER_COMPILED`.

Why not sigmoid or tanh hidden layers by default: the compiled loops call
the C library's ``exp`` and ``tanh`` one number at a time, where NumPy's own
routines do 8 or 16 at once; on MNIST's 784-300-10 in float32 at two
threads that cost the compiled pass what it saved (0.55 against 0.48-0.52 s
an epoch at batch 512, even at 32 and 128; ReLU gained 1.13-1.25x there).

The kernels are compiled for the network's dtype, weight layout and depth
the first time (seconds) and cached on disk; a run loads them when it is
set up, before its first epoch, and records the time in
``History.compile_seconds``.
"""

from __future__ import annotations

import ctypes
import functools
import importlib.util
import math
import time
import warnings
from typing import NamedTuple

import numpy as np

from .blas import NumpysBLAS, blas_for
from .update import Descent, FoldedSGD
from .update import choose_update as choose_uncompiled

__all__ = ["CompiledDescent", "CompiledPass", "CompiledSGD", "ENGINES", "FASTER_COMPILED", "WORTH_COMPILING",
           "choose_update", "numba_installed", "takes_the_compiled_pass"]

#: ``fit``'s ``engine`` values.
ENGINES = ("auto", "numpy", "compiled")
#: Samples times parameters from which ``engine="auto"`` compiles: MNIST on 784-300-10 is 1.4e10, scikit-learn's
#: digits on 64-32-10 2.1e6. Loading Numba and the cached kernels takes 0.2-0.3 s.
WORTH_COMPILING = 1e9
#: The hidden activations ``engine="auto"`` compiles: those without a transcendental function.
FASTER_COMPILED = frozenset({"relu", "identity"})


class BatchArrays(NamedTuple):
    """One batch size's arrays for the compiled pass."""

    z: tuple        # each layer's Z
    a: tuple        # each layer's A
    d: tuple        # each layer's dC/dZ
    trace: list     # DenseCache per layer, as the NumPy path's forward_train returns
    losses: np.ndarray  # each sample's loss
    row: np.ndarray     # scratch, one output row
    ones: np.ndarray    # the bias's input, one per row


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


def takes_the_compiled_pass(net, reducer, n_samples: int, engine: str) -> tuple[list[int], int] | None:
    """The layer codes if this run takes the compiled pass (see the module's text), else None."""
    if engine == "numpy" or reducer.size != 1 or any(net.dropout):
        return None
    if engine == "auto" and (n_samples * net.n_parameters < WORTH_COMPILING
                             or any(_plain_name(layer.activation) not in FASTER_COMPILED
                                    for layer in net.layers[:-1])):
        return None
    if not numba_installed():
        if engine == "compiled":
            raise ValueError("engine='compiled' needs Numba, which is not installed: pip install 'backprop[fast]'")
        return None
    try:
        return _layer_codes(net)
    except (ImportError, RuntimeError, OSError) as error:
        # A Numba that does not fit this NumPy, or no folder to cache its code in: the NumPy path, or say so.
        if engine == "compiled":
            raise ValueError(f"engine='compiled': Numba could not be loaded ({error})") from None
        return None


class CompiledPass:
    """The compiled ``forward_backward`` that :class:`CompiledSGD` and :class:`CompiledDescent` take on.

    Set up by :meth:`compile` (after the update piece's own ``__init__``),
    which loads, or compiles, the kernels for this network and times it.
    """

    limit = math.inf  # no product bound unless the step is folded (FoldedSGD sets its own)

    def compile(self, blas, codes, kind) -> None:
        """Load or compile the kernels for this network (its dtype, layout and depth); time it."""
        started = time.perf_counter()
        self.kernels = _kernels()
        self.codes, self.kind = np.asarray(codes, dtype=np.int64), int(kind)
        self.gemm = ctypes.cast(blas.gemm, ctypes.c_void_p).value  # the functions' addresses
        self.gemv = ctypes.cast(blas.gemv, ctypes.c_void_p).value
        self.ilp64 = ctypes.sizeof(blas.index) == 8
        self.fortran = bool(getattr(self, "transpose", False))  # FoldedSGD's Fortran-ordered working copies
        self._weights: tuple = ()       # the arrays the tuples were made from
        self._tuples = None             # tuples of W and b, made again when an array is replaced
        self._batch: dict[int, BatchArrays] = {}  # per batch size
        self._pending = None            # what forward_backward leaves for a compiled step: see step
        self._warm_up()
        self.compile_seconds = time.perf_counter() - started

    def forward_backward(self, batch, work, rng):
        """The batch's forward pass, losses and ``dC/dZ`` in one compiled call.

        A batch with sample weights, or of one row (where ``np.matmul`` calls
        ``?gemv`` rather than ``?gemm``, which rounds otherwise), takes the
        NumPy path.
        """
        self._pending = None
        if batch.weights is not None or batch.X.shape[0] < 2:
            return super().forward_backward(batch, work, rng)
        arrays, (W, b) = self._arrays(batch.X), self._parameters()
        squares = self.kernels.forward_backward(
            self.gemm, self.ilp64, batch.X, batch.Y, W, b, arrays.z, arrays.a, arrays.d, self.codes, self.fortran,
            self.kind, float(batch.scale), arrays.losses, arrays.row, max(self.optimizer.lr, 1.0), self.limit)
        if squares >= 0:
            self._pending = (squares, batch.X, W, b, arrays)
        deltas = list(arrays.d)
        self.gradients(arrays.trace, deltas)   # dC/dW where the update needs it
        return arrays.a[-1], arrays.losses, arrays.trace, deltas

    def _warm_up(self) -> None:
        """Call each kernel once, on one row of zeros and copies of the weights, so that it is loaded now."""
        net = self.net
        X, Y = np.zeros((1, net.sizes[0]), net.dtype), np.zeros((1, net.sizes[-1]), net.dtype)
        arrays = self._arrays(X)
        with self.working_copies():
            W, b = (tuple(arr.copy(order="K") for arr in params) for params in self._parameters())
            self.kernels.forward_backward(self.gemm, self.ilp64, X, Y, W, b, arrays.z, arrays.a, arrays.d,
                                          self.codes, self.fortran, self.kind, 1.0, arrays.losses, arrays.row,
                                          1.0, math.inf)
            self.kernels.fold(self.gemm, self.gemv, self.ilp64, X, W, b, arrays.a, arrays.d, self.fortran, 0.0,
                              arrays.ones)
        self._batch.clear()
        self._weights, self._tuples = (), None

    def _parameters(self):
        """Tuples of the layers' ``W`` and ``b``, made again if an array was replaced (``layer.W = ...``)."""
        arrays = tuple(arr for layer in self.net.layers for arr in (layer.W, layer.b))
        if len(arrays) != len(self._weights) or any(x is not y for x, y in zip(arrays, self._weights)):
            self._weights = arrays
            self._tuples = (arrays[0::2], arrays[1::2])
        return self._tuples

    def _arrays(self, X) -> BatchArrays:
        """This batch size's arrays; the trace's first ``A_prev`` is the batch ``X`` itself."""
        from ..layers import DenseCache

        rows = X.shape[0]
        kept = self._batch.get(rows)
        if kept is None:
            if len(self._batch) >= 2:  # an epoch has two batch sizes at most: its full batches and its last
                self._batch.pop(next(iter(self._batch)))
            dtype, shapes = self.net.dtype, [(rows, layer.n_out) for layer in self.net.layers]
            z, a, d = (tuple(np.empty(s, dtype) for s in shapes) for _ in range(3))
            trace = [DenseCache(p, zl, al) for p, zl, al in zip([X, *a[:-1]], z, a)]
            kept = self._batch[rows] = BatchArrays(z, a, d, trace, np.empty(rows, dtype),
                                                   np.empty(shapes[-1][1], dtype), np.ones(rows, dtype))
        if kept.trace[0].a_prev is not X:
            kept.trace[0] = kept.trace[0]._replace(a_prev=X)
        return kept


class CompiledDescent(CompiledPass, Descent):
    """:class:`~backprop.core.training.update.Descent` with each batch's ``dC/dZ`` from the compiled pass.

    Parameters
    ----------
    net, optimizer, guard, work
        As for :class:`Descent`.
    blas : NumpysBLAS
        Its functions' addresses are what the kernels call.
    codes, kind
        The layers' kernel codes (:func:`takes_the_compiled_pass`).
    """

    def __init__(self, net, optimizer, guard, work, blas, codes, kind):
        Descent.__init__(self, net, optimizer, guard, work)
        self.compile(blas, codes, kind)


class CompiledSGD(CompiledPass, FoldedSGD):
    """:class:`FoldedSGD` with each batch's forward and backward pass and its step compiled.

    Parameters
    ----------
    net, optimizer, guard, work, blas
        As for :class:`FoldedSGD`; ``blas`` is a :class:`~backprop.core.training.blas.NumpysBLAS`.
    codes, kind
        The layers' kernel codes (:func:`takes_the_compiled_pass`).
    """

    def __init__(self, net, optimizer, guard, work, blas, codes, kind):
        FoldedSGD.__init__(self, net, optimizer, guard, work, blas)
        self.compile(blas, codes, kind)

    def step(self, batch_loss, trace, deltas, batch_weight, epoch, batch):
        """Guard, then the folded step of every layer in one compiled call; as :meth:`FoldedSGD.step`.

        A batch whose ``dC/dZ`` failed the kernel's bound (or that took the
        NumPy path) goes through :meth:`FoldedSGD.step`, which finds it again
        and takes :class:`Descent`'s path.
        """
        pending, self._pending = self._pending, None
        if pending is None:
            return super().step(batch_loss, trace, deltas, batch_weight, epoch, batch)
        squares, X, W, b, arrays = pending
        lr = self.optimizer.lr
        self.guard.check_squares(batch_loss, squares, self.work.grads, trace, epoch, batch, lr)
        self.optimizer.t += 1  # one step, as Optimizer.step counts them
        self.kernels.fold(self.gemm, self.gemv, self.ilp64, X, W, b, arrays.a, arrays.d, self.fortran, lr, arrays.ones)
        return 0.0


def choose_update(net, optimizer, reducer, guard, work, n_samples: int = 0, engine: str = "auto") -> Descent:
    """The update piece for this run: :func:`.update.choose_update`'s, on the compiled pass where it is taken."""
    chosen = choose_uncompiled(net, optimizer, reducer, guard, work)
    codes = takes_the_compiled_pass(net, reducer, n_samples, engine)
    blas = None if codes is None else blas_for(net.dtype)
    if not isinstance(blas, NumpysBLAS):  # the kernels call NumPy's own library, by address
        return chosen
    try:
        if type(chosen) is FoldedSGD:
            return CompiledSGD(net, optimizer, guard, work, blas, *codes)
        return CompiledDescent(net, optimizer, guard, work, blas, *codes)
    except Exception as error:  # Numba failed to load or compile the kernels here
        if engine == "compiled":
            raise
        warnings.warn(f"the compiled pass could not be loaded ({type(error).__name__}: {error}); "
                      "training on the NumPy path", RuntimeWarning, stacklevel=2)
        return chosen
