"""Prototype: the whole epoch compiled by Numba, fused element-wise loops between BLAS calls.

Not the library: a measurement of what compiling the hot path buys. One
``@njit`` function runs the epoch's batch loop; it calls BLAS ``?gemm`` for
the products (``cblas_?gemm`` of the OpenBLAS inside NumPy's wheel, the very
library and entry ``np.matmul`` uses) and does everything else in one pass
per layer:

- gathering the batch's rows;
- ``z = z + b`` and ``a = g(z)`` in one loop (the engine: three to five passes);
- the loss, ``dC/da`` and ``dC/dz`` of the output layer in one loop per row;
- ``dC/dz = dC/da * g'(z)`` of the hidden layer, with the finiteness check's
  sum of squares, in one loop;
- the SGD step: ``fused=True`` folds it into the ``dW`` product (``?gemm``
  with ``alpha = -lr``, ``beta = 1``) and the bias sum into one loop;
  ``fused=False`` keeps the engine's ``dW``, then ``W -= lr * dW``;
- ``transposed=True`` works, for the epoch, on C-ordered copies of ``W^T``
  (shape ``(n_in, n_out)``): OpenBLAS's ``A W^T`` with a transposed ``W`` is
  slow for small batches in float32 (about 290 against 190 microseconds for
  32 x 784 times 784 x 300, one thread), and ``A (W^T)`` is the plain product.

Each element-wise formula is the engine's, in the engine's order of
operations and in the array's dtype (constants are cast to it first, as
NumPy casts a Python float against a float32 array), so the float64 results
can be compared with ``Network.fit`` bit for bit; where they differ (``exp``
is libm's here and NumPy's own SIMD routine there; the fused update rounds
once) the comparison script says by how much.

``epoch(weights, X, Y, order, batch, lr, activation, loss, fused)`` trains in
place and returns the summed batch losses (times batch size) and the outputs
in epoch order. The first call for a dtype compiles (seconds); ``compile``
does it ahead of time on a tiny problem.
"""

from __future__ import annotations

import ctypes
import math
from pathlib import Path

import numba as nb
import numpy as np

_NUMPY_OPENBLAS = sorted(Path(np.__file__).parent.parent.glob("numpy.libs/libscipy_openblas64_*.so"))


def _cblas_gemm(dtype: str):
    """``cblas_?gemm`` of the OpenBLAS that NumPy itself calls (its wheel's ILP64 build), or None.

    The products must come from the same library, and through the same
    row-major CBLAS entry, as ``np.matmul``'s: SciPy's OpenBLAS (what Numba's
    ``np.dot`` calls) is another build, and rounds a product with ten columns
    differently.
    """
    if not _NUMPY_OPENBLAS:
        raise ImportError("this prototype needs the OpenBLAS bundled in NumPy's wheel (numpy.libs/)")
    real = ctypes.c_float if dtype == "float32" else ctypes.c_double
    i64, ptr = ctypes.c_int64, ctypes.c_void_p
    prefix = "s" if dtype == "float32" else "d"
    fn = getattr(ctypes.CDLL(str(_NUMPY_OPENBLAS[0])), f"scipy_cblas_{prefix}gemm64_")
    fn.restype = None
    fn.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int, i64, i64, i64, real, ptr, i64, ptr, i64, real, ptr, i64]
    return fn


_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112


def _make(gemm):
    @nb.njit(cache=False, nogil=True)
    def mm(trans_a, trans_b, alpha, A, B, beta, C):
        """Row-major ``C = alpha op(A) op(B) + beta C``, as ``np.matmul`` asks CBLAS for it."""
        M, N = C.shape
        K = A.shape[0] if trans_a else A.shape[1]
        gemm(_ROW_MAJOR, _TRANS if trans_a else _NO_TRANS, _TRANS if trans_b else _NO_TRANS, M, N, K,
             alpha, A.ctypes, A.shape[1], B.ctypes, B.shape[1], beta, C.ctypes, N)

    @nb.njit(cache=False, nogil=True)
    def run(X, Y, order, W1, b1, W2, b2, batch, lr, relu, ce, fused, t, outputs):
        """One epoch; with ``t`` the weights come transposed, ``W^T`` of shape (n_in, n_out), C-ordered."""
        # Constants in the array's dtype, rounded once, as NumPy rounds a Python float against an array.
        consts = np.empty(5, X.dtype)
        n_in, n_hid = (W1.shape[0], W1.shape[1]) if t else (W1.shape[1], W1.shape[0])
        n, n_out = order.shape[0], W2.shape[1] if t else W2.shape[0]
        consts[0], consts[1], consts[2], consts[3] = 1.0, 0.0, lr, 2.0 / n_out
        one, zero, lr_t, mse_factor = consts[0], consts[1], consts[2], consts[3]
        dW1, dW2 = np.empty_like(W1), np.empty_like(W2)
        x, y, z1, a1, d1, z2, d2 = _buffers(min(batch, n), n_in, n_hid, n_out, X.dtype)
        loss_sum = 0.0
        for start in range(0, n, batch):
            m = min(batch, n - start)
            if m < batch:  # the last, smaller batch: its own arrays
                x, y, z1, a1, d1, z2, d2 = _buffers(m, n_in, n_hid, n_out, X.dtype)
            for i in range(m):
                r = order[start + i]
                x[i, :] = X[r, :]
                y[i, :] = Y[r, :]
            consts[4] = 1.0 / m
            scale = consts[4]

            # Layer 1: z = x W1^T + b1, a = g(z), in one pass after the product.
            mm(False, not t, one, x, W1, zero, z1)
            for i in range(m):
                for j in range(n_hid):
                    z = z1[i, j] + b1[j]
                    z1[i, j] = z
                    a1[i, j] = max(z, zero) if relu else one / (math.exp(-z) + one)
            # Layer 2, the loss and dC/dz of the output, one row at a time.
            mm(False, not t, one, a1, W2, zero, z2)
            batch_loss = 0.0
            for i in range(m):
                if ce:
                    zmax = z2[i, 0] + b2[0]
                    for j in range(n_out):
                        z2[i, j] += b2[j]
                        zmax = max(zmax, z2[i, j])
                    ysum = zero
                    for j in range(n_out):
                        outputs[start + i, j] = math.exp(z2[i, j] - zmax)
                        ysum += y[i, j]
                    total = _numpy_sum(outputs[start + i])
                    log_total = math.log(total)
                    row = 0.0
                    for j in range(n_out):
                        a = outputs[start + i, j] / total
                        outputs[start + i, j] = a
                        row -= y[i, j] * (z2[i, j] - zmax - log_total)
                        d2[i, j] = (a * ysum - y[i, j]) * scale
                    batch_loss += row
                else:
                    row = 0.0
                    for j in range(n_out):
                        z = z2[i, j] + b2[j]
                        a = one / (math.exp(-z) + one)
                        outputs[start + i, j] = a
                        diff = a - y[i, j]
                        row += diff * diff
                        d2[i, j] = ((one - a) * a) * ((mse_factor * diff) * scale)
                    batch_loss += row / n_out
            batch_loss /= m
            # dC/da of layer 1 (with the old W2), then its dC/dz, and the guard's sums of squares.
            mm(False, t, one, d2, W2, zero, d1)
            squares = 0.0
            for i in range(m):
                for j in range(n_hid):
                    g = (z1[i, j] > zero) * d1[i, j] if relu else ((one - a1[i, j]) * a1[i, j]) * d1[i, j]
                    d1[i, j] = g
                    squares += g * g
            for i in range(m):
                for j in range(n_out):
                    squares += d2[i, j] * d2[i, j]
            if not (math.isfinite(batch_loss) and math.isfinite(squares)):
                return -1.0 - start  # the caller raises; no weight has moved
            if fused and t:  # W^T <- -lr A_prev^T dC/dZ + W^T
                mm(True, False, -lr_t, a1, d2, one, W2)
                mm(True, False, -lr_t, x, d1, one, W1)
            elif fused:  # W <- -lr dC/dZ^T A_prev + W
                mm(True, False, -lr_t, d2, a1, one, W2)
                mm(True, False, -lr_t, d1, x, one, W1)
            else:
                mm(True, False, one, d2, a1, zero, dW2)
                mm(True, False, one, d1, x, zero, dW1)
                _sgd_step(W2, dW2, lr_t)
                _sgd_step(W1, dW1, lr_t)
            _bias_step(b1, d1, lr_t)
            _bias_step(b2, d2, lr_t)
            loss_sum += batch_loss * m
        return loss_sum

    return run


@nb.njit(cache=False, nogil=True)
def _numpy_sum(a):
    """``a.sum()`` in NumPy's order for up to 128 elements (its pairwise block).

    Eight running sums over blocks of eight, combined as a tree, then the
    remaining elements one by one; a plain left-to-right loop rounds differently.
    """
    n = a.shape[0]
    if n < 8:
        total = a[0] * 0
        for i in range(n):
            total += a[i]
        return total
    r = a[0:8].copy()
    i = 8
    while i < n - n % 8:
        for j in range(8):
            r[j] += a[i + j]
        i += 8
    total = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
    while i < n:
        total += a[i]
        i += 1
    return total


@nb.njit(cache=False, nogil=True)
def _buffers(m, n_in, n_hid, n_out, dtype):
    """The batch, z, a and dC/dz of both layers for ``m`` rows."""
    return (np.empty((m, n_in), dtype), np.empty((m, n_out), dtype), np.empty((m, n_hid), dtype),
            np.empty((m, n_hid), dtype), np.empty((m, n_hid), dtype), np.empty((m, n_out), dtype),
            np.empty((m, n_out), dtype))


@nb.njit(cache=False, nogil=True)
def _sgd_step(W, dW, lr):
    """``W -= lr * dW`` as the engine rounds it: the product, then the difference."""
    for i in range(W.shape[0]):
        for k in range(W.shape[1]):
            W[i, k] -= dW[i, k] * lr


@nb.njit(cache=False, nogil=True)
def _bias_step(b, d, lr):
    """``b -= lr * sum_i dC/dz_i``, summing the rows in order as NumPy's ``sum(axis=0)`` does."""
    total = d[0, :].copy()
    for i in range(1, d.shape[0]):
        total += d[i, :]
    for j in range(b.shape[0]):
        b[j] -= total[j] * lr


_RUN = {dtype: _make(_cblas_gemm(dtype)) for dtype in ("float32", "float64")}


def epoch(weights, X, Y, order, batch, lr, activation="sigmoid", loss="mse", fused=True, transposed=False):
    """One epoch in place on ``weights``; ``transposed`` works on C-ordered copies of ``W^T``, copied back."""
    (W1, b1), (W2, b2) = ((w["W"], w["b"]) for w in weights)
    outputs = np.empty((len(order), W2.shape[0]), X.dtype)
    V1, V2 = (np.ascontiguousarray(W1.T), np.ascontiguousarray(W2.T)) if transposed else (W1, W2)
    loss_sum = _RUN[X.dtype.name](X, Y, order, V1, b1, V2, b2, batch, lr, activation == "relu",
                                  loss == "cross_entropy", fused, transposed, outputs)
    if transposed:
        W1[...], W2[...] = V1.T, V2.T
    if loss_sum < 0:
        raise ArithmeticError(f"non-finite loss or dC/dz in the batch at {int(-1 - loss_sum)}")
    return loss_sum, outputs


def compile(dtype: str, activation: str, loss: str, fused: bool, transposed: bool = False) -> None:
    """Compile the epoch for these arguments' types, on a tiny problem."""
    rng = np.random.default_rng(0)
    weights = [{"W": rng.standard_normal((3, 4)).astype(dtype), "b": np.zeros(3, dtype)},
               {"W": rng.standard_normal((2, 3)).astype(dtype), "b": np.zeros(2, dtype)}]
    X = rng.standard_normal((5, 4)).astype(dtype)
    epoch(weights, X, np.eye(2, dtype=dtype)[[0, 1, 0, 1, 0]], np.arange(5), 2, 0.1, activation, loss, fused,
          transposed)
