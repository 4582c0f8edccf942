"""Prototype: the epoch of a 784-h-10 network in NumPy alone, with fewer calls, passes and temporaries.

Not the library: a measurement of what the engine's hot path could shed
without a new dependency. The arithmetic is the engine's own, operation for
operation and in the same order (``backprop.core.layers``, ``activations``,
``losses``, ``optimizers.SGD``), so that with ``update="separate"`` the
float64 weights after an epoch equal ``Network.fit``'s bit for bit. What
changes is around the arithmetic:

- one function per epoch, with every buffer made once per batch size; no
  objects, dicts or generator expressions per batch;
- the finiteness guard checks the loss and each layer's ``dC/dZ`` (two small
  dot products) instead of every gradient array, before any weight moves;
- ``update="gemm"`` folds the SGD step into the ``dW`` product: one BLAS call
  ``W^T <- (-lr) A_prev^T dC/dZ + 1 W^T`` (``?gemm`` with ``beta = 1``, on the
  Fortran view of the C-ordered ``W``) replaces the product, a scaled copy and
  a subtraction, and ``b <- (-lr) dC/dZ^T 1 + b`` (``?gemv``) replaces the
  sum, the scaling and the subtraction. It rounds once where the engine
  rounds twice (``W - lr * dW``), so it is not bit for bit; the tests of the
  prototype check it to a few ulps;
- ``update="gemm_t"`` does that on C-ordered copies of ``W^T`` for the epoch
  (copied back at the end): their Fortran views have ``W``'s shape, so the
  code is the same, but the forward product ``A W^T`` becomes the plain
  product of two C-ordered matrices, which OpenBLAS does faster for small
  float32 batches.

``epoch(weights, X, Y, order, batch, lr, activation, loss, update)`` trains
one epoch in place on ``weights`` (``[{"W": W, "b": b}, ...]``) and returns
the summed batch losses (times batch size) and the outputs in epoch order,
as ``fit`` keeps them for the epoch's metrics.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.linalg import blas


class NonFinite(ArithmeticError):
    """A batch's loss or dC/dZ was not finite; the weights are those before it."""


def _sigmoid(z, out, exp=np.exp):
    with np.errstate(over="ignore"):
        exp(np.negative(z, out=out), out=out)
    out += 1.0
    np.reciprocal(out, out=out)


def _softmax(z, out, exp=np.exp):
    exp(np.subtract(z, z.max(axis=1, keepdims=True), out=out), out=out)
    out /= out.sum(axis=1, keepdims=True)


def libm_exp(x, out):
    """``exp`` from the C library, element by element: what compiled code (Numba) calls.

    NumPy's own ``exp`` is a SIMD routine whose last bit differs from libm's
    for a few percent of arguments; the comparison with the Numba prototype
    passes this one so that the rest of the arithmetic can be compared bit
    for bit.
    """
    out[...] = np.vectorize(math.exp, otypes=[x.dtype])(x)
    return out


def _fold(gemm, lr, dC_dz, a_prev, W):
    """``W <- -lr dC/dZ^T A_prev + W`` in one BLAS call, in place, whichever order ``W`` is stored in.

    BLAS is column-major: a Fortran-ordered ``W`` is its own matrix there, a
    C-ordered one is ``W^T``, updated as ``W^T <- -lr A_prev^T dC/dZ + W^T``.
    """
    if W.flags.f_contiguous:
        out = gemm(-lr, dC_dz.T, a_prev.T, beta=1.0, c=W, trans_b=1, overwrite_c=1)
    else:
        out = gemm(-lr, a_prev.T, dC_dz.T, beta=1.0, c=W.T, trans_b=1, overwrite_c=1)
    assert np.may_share_memory(out, W), "BLAS wrote a copy: W must be C- or Fortran-contiguous"


class _Buffers:
    """Every array one batch of ``m`` rows needs, made once."""

    def __init__(self, m, n_in, n_hidden, n_out, dtype):
        self.x = np.empty((m, n_in), dtype)
        self.y = np.empty((m, n_out), dtype)
        self.z1, self.a1, self.d1, self.da1 = (np.empty((m, n_hidden), dtype) for _ in range(4))
        self.z2, self.a2, self.d2 = (np.empty((m, n_out), dtype) for _ in range(3))
        self.ones = np.ones(m, dtype)


def epoch(weights, X, Y, order, batch, lr, activation="sigmoid", loss="mse", update="gemm", exp=np.exp):
    (W1, b1), (W2, b2) = ((w["W"], w["b"]) for w in weights)
    if update == "gemm_t":  # C-ordered copies of W^T, whose Fortran views have W's shape
        V1, V2 = np.ascontiguousarray(W1.T), np.ascontiguousarray(W2.T)
        W1, W2, originals = V1.T, V2.T, (W1, W2)
    n, dtype = len(order), X.dtype
    gemm, gemv = (blas.sgemm, blas.sgemv) if dtype == np.float32 else (blas.dgemm, blas.dgemv)
    buffers: dict[int, _Buffers] = {}
    if update == "separate":
        dW1, dW2, db1, db2 = (np.empty_like(p) for p in (W1, W2, b1, b2))
        work = [np.empty_like(p) for p in (W1, b1, W2, b2)]
    outputs = np.empty((n, W2.shape[0]), dtype)
    loss_sum = 0.0
    for start in range(0, n, batch):
        rows = order[start:start + batch]
        m = len(rows)
        B = buffers.get(m)
        if B is None:
            B = buffers[m] = _Buffers(m, W1.shape[1], W1.shape[0], W2.shape[0], dtype)
        x = np.take(X, rows, axis=0, out=B.x)
        y = np.take(Y, rows, axis=0, out=B.y)
        scale = 1.0 / m

        # Forward: z = a_prev W^T + b, a = g(z), layer by layer.
        np.matmul(x, W1.T, out=B.z1)  # with gemm_t, W1.T is the C-ordered copy: the plain product
        B.z1 += b1
        if activation == "sigmoid":
            _sigmoid(B.z1, B.a1, exp)
        else:
            np.maximum(B.z1, 0.0, out=B.a1)
        np.matmul(B.a1, W2.T, out=B.z2)
        B.z2 += b2

        # The loss and dC/dz at the output, as the engine forms them.
        if loss == "mse":
            _sigmoid(B.z2, B.a2, exp)
            d = B.a2 - y
            batch_loss = float(np.mean((d * d).mean(axis=1)))
            dC_da = ((2.0 / B.a2.shape[1]) * (B.a2 - y)) * scale
            np.subtract(1.0, B.a2, out=B.d2)
            B.d2 *= B.a2
            B.d2 *= dC_da
        else:
            _softmax(B.z2, B.a2, exp)
            zmax = B.z2.max(axis=1, keepdims=True)
            log_a = B.z2 - zmax - np.log(np.exp(B.z2 - zmax).sum(axis=1, keepdims=True))
            batch_loss = float(np.mean(-(y * log_a).sum(axis=1)))
            np.multiply(B.a2 * y.sum(axis=1, keepdims=True) - y, scale, out=B.d2)
        outputs[start:start + m] = B.a2

        # Backward through layer 2 to dC/dz of layer 1, before any weight moves.
        np.matmul(B.d2, W2, out=B.da1)
        if activation == "sigmoid":
            np.subtract(1.0, B.a1, out=B.d1)
            B.d1 *= B.a1
            B.d1 *= B.da1
        else:
            np.multiply(B.da1, B.z1 > 0, out=B.d1)
        if not (math.isfinite(batch_loss) and math.isfinite(float(np.vdot(B.d2, B.d2)))
                and math.isfinite(float(np.vdot(B.d1, B.d1)))):
            raise NonFinite(f"batch at {start}: non-finite loss or dC/dz")

        if update in ("gemm", "gemm_t"):
            _fold(gemm, lr, B.d2, B.a1, W2)
            gemv(-lr, B.d2.T, B.ones, beta=1.0, y=b2, overwrite_y=1)
            _fold(gemm, lr, B.d1, x, W1)
            gemv(-lr, B.d1.T, B.ones, beta=1.0, y=b1, overwrite_y=1)
        else:
            np.matmul(B.d2.T, B.a1, out=dW2)
            np.sum(B.d2, axis=0, out=db2)
            np.matmul(B.d1.T, x, out=dW1)
            np.sum(B.d1, axis=0, out=db1)
            for p, g, w in zip((W1, b1, W2, b2), (dW1, db1, dW2, db2), work):
                p -= np.multiply(g, lr, out=w)
        loss_sum += batch_loss * m
    if update == "gemm_t":
        for W, V in zip(originals, (W1, W2)):
            W[...] = V
    return loss_sum, outputs

