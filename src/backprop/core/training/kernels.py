"""One batch's forward and backward pass compiled by Numba: the compiled twin of the NumPy path.

Imported only by :mod:`.compiled`, and only where Numba is installed (the
``fast`` extra); nothing else in the library needs Numba.

:func:`forward_backward` does, for one mini-batch, what the loop's NumPy path
does with :meth:`Network.forward_train`, :meth:`Network.per_sample_loss` and
:meth:`Network.deltas`: ``Z = A_prev W^T`` through the very ``cblas_?gemm``
entry ``np.matmul`` calls (NumPy's own OpenBLAS, handed in as the function's
address), then one pass per layer over ``Z`` where NumPy makes three to
five: ``z_j + b_j`` and ``a_j = g(z_j)``; at the output the loss ``C_i`` and
``dC_i/dz_j`` row by row; going back, ``dC/da_k = sum_j dC/dz_j w_jk`` by
``?gemm`` and ``dC/dz = dC/da * g'(z)`` in place. :func:`fold` takes plain
SGD's folded step of every layer, with the calls
:class:`~backprop.core.training.blas.NumpysBLAS` makes for
:class:`~backprop.core.training.update.FoldedSGD`.

Each formula is the one in :mod:`backprop.core.activations` and
:mod:`backprop.core.losses`, written per element in the same order of
operations and in the array's dtype (a constant is rounded to it first, as
NumPy rounds a Python float against an array), and sums run in NumPy's
pairwise order; so where the operations are the same (ReLU and identity
layers, the squared error) the results equal the NumPy path's bit for bit,
and the tests hold them to it. ``exp``, ``log`` and ``tanh`` are the C
library's here and NumPy's own vectorised routines there, which may differ in
the last place.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np
from llvmlite import ir
from numba.core import types
from numba.extending import intrinsic

__all__ = ["ACTIVATIONS", "OUTPUTS", "fold", "forward_backward"]

_IDENTITY, _SIGMOID, _TANH, _RELU = range(4)
_MSE_IDENTITY, _MSE_SIGMOID, _SSE_IDENTITY, _SSE_SIGMOID, _SOFTMAX_CROSS_ENTROPY = range(5)
#: The activations compiled here, by name, and their codes.
ACTIVATIONS = {"identity": _IDENTITY, "sigmoid": _SIGMOID, "tanh": _TANH, "relu": _RELU}
#: The output layers compiled here: (activation, loss) -> code. Softmax with
#: cross-entropy is the fused pair of :class:`~backprop.core.losses.SoftmaxCrossEntropy`.
OUTPUTS = {("identity", "mse"): _MSE_IDENTITY, ("sigmoid", "mse"): _MSE_SIGMOID, ("identity", "sse"): _SSE_IDENTITY,
           ("sigmoid", "sse"): _SSE_SIGMOID, ("softmax", "cross_entropy"): _SOFTMAX_CROSS_ENTROPY}

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112

_jit = nb.njit(cache=True, nogil=True)


@_jit
def _block_sum(x, lo, n):
    """``x[lo:lo + n].sum()`` for ``n <= 128`` in NumPy's order: eight running sums, then a tree of them."""
    if n < 8:  # NumPy starts from 0, and 0 + x is x
        total = x[lo]
        for i in range(lo + 1, lo + n):
            total += x[i]
        return total
    r0, r1, r2, r3 = x[lo], x[lo + 1], x[lo + 2], x[lo + 3]
    r4, r5, r6, r7 = x[lo + 4], x[lo + 5], x[lo + 6], x[lo + 7]
    i = 8
    while i < n - n % 8:
        r0 += x[lo + i]
        r1 += x[lo + i + 1]
        r2 += x[lo + i + 2]
        r3 += x[lo + i + 3]
        r4 += x[lo + i + 4]
        r5 += x[lo + i + 5]
        r6 += x[lo + i + 6]
        r7 += x[lo + i + 7]
        i += 8
    total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        total += x[lo + i]
        i += 1
    return total


@_jit
def _split(n):
    """Where NumPy's pairwise sum splits ``n > 128`` elements: half, down to a multiple of 8."""
    half = n // 2
    return half - half % 8


@_jit
def _pairwise_sum(x, lo, n):
    """``x[lo:lo + n].sum()`` in NumPy's pairwise order, for any ``n >= 1``.

    Above 128 elements NumPy sums the two halves (:func:`_split`) and adds
    them; the recursion runs here on a stack of ranges (a recursive function
    cannot be cached by Numba).
    """
    if n <= 128:
        return _block_sum(x, lo, n)
    starts, sizes = np.empty(64, np.int64), np.empty(64, np.int64)
    left_done, left = np.zeros(64, np.bool_), np.empty(64, x.dtype)
    top, starts[0], sizes[0] = 0, lo, n
    while True:
        if sizes[top] > 128:  # go down the left half
            top += 1
            starts[top], sizes[top], left_done[top] = starts[top - 1], _split(sizes[top - 1]), False
            continue
        total = _block_sum(x, starts[top], sizes[top])
        while True:  # climb, adding each finished right half to its left
            top -= 1
            if top < 0:
                return total
            if left_done[top]:
                total = left[top] + total
                continue
            left[top], left_done[top] = total, True
            half = _split(sizes[top])
            top += 1
            starts[top], sizes[top], left_done[top] = starts[top - 1] + half, sizes[top - 1] - half, False
            break


@intrinsic
def _call(typingctx, address, arguments):
    """Call the C function at ``address`` with the tuple ``arguments`` (pointers as integers); no result.

    The address is an argument, not a constant of the compiled code, so the
    code can be cached on disk and run in another process, where the
    library lies elsewhere.
    """
    def codegen(context, builder, sig, args):
        types_ = sig.args[1].types
        values = [builder.extract_value(args[1], i) for i in range(len(types_))]
        function = ir.FunctionType(ir.VoidType(), [context.get_value_type(t) for t in types_])
        builder.call(builder.inttoptr(args[0], function.as_pointer()), values)
        return context.get_dummy_value()

    return types.void(address, arguments), codegen


@_jit
def _gemm(gemm, ilp64, trans_a, trans_b, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc):
    """Row-major ``cblas_?gemm`` at address ``gemm``: ``C <- alpha op(A) op(B) + beta C``.

    Its integers are 64-bit (``ilp64``, NumPy's own build) or C ints.
    """
    if ilp64:
        _call(gemm, (np.int32(_ROW_MAJOR), np.int32(trans_a), np.int32(trans_b), np.int64(m), np.int64(n),
                     np.int64(k), alpha, A.ctypes.data, np.int64(lda), B.ctypes.data, np.int64(ldb), beta,
                     C.ctypes.data, np.int64(ldc)))
    else:
        _call(gemm, (np.int32(_ROW_MAJOR), np.int32(trans_a), np.int32(trans_b), np.int32(m), np.int32(n),
                     np.int32(k), alpha, A.ctypes.data, np.int32(lda), B.ctypes.data, np.int32(ldb), beta,
                     C.ctypes.data, np.int32(ldc)))


@_jit
def _gemv_t(gemv, ilp64, alpha, A, x, beta, y):
    """Row-major ``cblas_?gemv`` at address ``gemv``, transposed: ``y <- alpha A^T x + beta y``."""
    m, n = A.shape
    if ilp64:
        _call(gemv, (np.int32(_ROW_MAJOR), np.int32(_TRANS), np.int64(m), np.int64(n), alpha, A.ctypes.data,
                     np.int64(n), x.ctypes.data, np.int64(1), beta, y.ctypes.data, np.int64(1)))
    else:
        _call(gemv, (np.int32(_ROW_MAJOR), np.int32(_TRANS), np.int32(m), np.int32(n), alpha, A.ctypes.data,
                     np.int32(n), x.ctypes.data, np.int32(1), beta, y.ctypes.data, np.int32(1)))


@_jit
def _product(gemm, ilp64, A, W, fortran, transpose_w, out):
    """``out = A W^T`` (``transpose_w``) or ``out = A W``, as ``np.matmul`` asks CBLAS for it.

    ``gemm`` is the address of ``cblas_?gemm`` for the arrays' dtype. ``W`` is C-ordered, or
    Fortran-ordered (``fortran``): then its memory is the row-major ``W^T``
    and the transposition flips.
    """
    M, N = out.shape
    K = A.shape[1]
    rows, cols = W.shape
    one, zero, _, _ = _constants(out, 0.0, 0.0)
    _gemm(gemm, ilp64, _NO_TRANS, _TRANS if transpose_w != fortran else _NO_TRANS, M, N, K, one, A, K,
          W, rows if fortran else cols, zero, out, N)


@_jit
def _constants(like, first, second):
    """``1``, ``0``, ``first`` and ``second`` rounded to ``like``'s dtype, as NumPy rounds a Python float."""
    c = np.empty(4, like.dtype)
    c[0], c[1], c[2], c[3] = 1.0, 0.0, first, second
    return c[0], c[1], c[2], c[3]


@_jit
def _activate(code, z, b, a):
    """``z_j <- z_j + b_j`` and ``a_j = g(z_j)``, one pass (Activation.value).

    One loop per activation, so that the compiler can vectorise each.
    """
    one, zero, _, _ = _constants(z, 0.0, 0.0)
    M, N = z.shape
    for i in range(M):
        zi, ai = z[i], a[i]
        if code == _SIGMOID:
            for j in range(N):
                v = zi[j] + b[j]
                zi[j] = v
                ai[j] = one / (math.exp(-v) + one)
        elif code == _TANH:
            for j in range(N):
                v = zi[j] + b[j]
                zi[j] = v
                ai[j] = math.tanh(v)
        elif code == _RELU:
            for j in range(N):
                v = zi[j] + b[j]
                zi[j] = v
                ai[j] = v if (v >= zero or v != v) else zero
        else:
            for j in range(N):
                v = zi[j] + b[j]
                zi[j] = v
                ai[j] = v


@nb.njit(cache=True, nogil=True, fastmath={"reassoc"})
def _sum_of_squares(A):
    """``sum A_ij^2`` in float64, in any order (the guard's bound, not a result): vectorised."""
    flat = A.reshape(A.size)
    squares = 0.0
    for i in range(flat.size):
        v = float(flat[i])
        squares += v * v
    return squares


@_jit
def _delta_in_place(code, z, a, d):
    """``d <- dC/da * g'(z)`` where ``d`` holds ``dC/da`` (Activation.backward); one loop per activation."""
    one, zero, _, _ = _constants(z, 0.0, 0.0)
    M, N = z.shape
    for i in range(M):
        zi, ai, di = z[i], a[i], d[i]
        if code == _SIGMOID:
            for j in range(N):
                di[j] = ((one - ai[j]) * ai[j]) * di[j]
        elif code == _TANH:
            for j in range(N):
                di[j] = (one - ai[j] * ai[j]) * di[j]
        elif code == _RELU:
            for j in range(N):
                di[j] = di[j] * (one if zi[j] > zero else zero)


@_jit
def _output(kind, z, b, y, a, d, losses, scale, row):
    """The output layer: ``a = g(z + b)``, the loss ``C_i`` and ``dC_i/dz_j`` times ``scale``, row by row.

    ``row`` is scratch of one row's length. Returns the sum of ``(dC_i/dz_j)^2``.
    """
    M, N = z.shape
    mean = kind == _MSE_IDENTITY or kind == _MSE_SIGMOID
    one, _, s, factor = _constants(z, scale, 2.0 / N if mean else 2.0)
    _, _, n_out, _ = _constants(z, N, 0.0)
    if kind == _SOFTMAX_CROSS_ENTROPY:  # SoftmaxCrossEntropy
        for i in range(M):
            zmax = z[i, 0] + b[0]
            for j in range(N):
                v = z[i, j] + b[j]
                z[i, j] = v
                if v > zmax or v != v:
                    zmax = v
            for j in range(N):
                row[j] = math.exp(z[i, j] - zmax)
            total = _pairwise_sum(row, 0, N)
            log_total = math.log(total)
            for j in range(N):
                a[i, j] = row[j] / total
            for j in range(N):
                row[j] = y[i, j] * ((z[i, j] - zmax) - log_total)
            losses[i] = -_pairwise_sum(row, 0, N)
            for j in range(N):
                row[j] = y[i, j]
            y_sum = _pairwise_sum(row, 0, N)
            for j in range(N):
                d[i, j] = (a[i, j] * y_sum - y[i, j]) * s
        return _sum_of_squares(d)
    sigmoid = kind == _MSE_SIGMOID or kind == _SSE_SIGMOID
    for i in range(M):
        for j in range(N):
            v = z[i, j] + b[j]
            z[i, j] = v
            out = one / (math.exp(-v) + one) if sigmoid else v
            a[i, j] = out
            diff = out - y[i, j]
            row[j] = diff * diff
            g = (factor * diff) * s                     # dC_i/da_j times the batch's 1/N
            d[i, j] = ((one - out) * out) * g if sigmoid else g
        total = _pairwise_sum(row, 0, N)
        losses[i] = total / n_out if mean else total
    return _sum_of_squares(d)


@_jit
def forward_backward(gemm, ilp64, X, Y, W, b, z, a, d, codes, fortran, kind, scale, losses, row, rate, limit):
    """One batch forward and back: fills each layer's ``z``, ``a`` and ``dC/dz`` and each sample's loss.

    Returns the sum of squares of every ``dC/dz``, for the guard, or -1 where
    one is not finite or a step could overflow: where ``||dC/dZ|| ||A_prev||
    rate`` is not below ``limit`` for a layer (the bound of
    :meth:`FoldedSGD._bounded <backprop.core.training.update.FoldedSGD._bounded>`).

    Parameters
    ----------
    gemm : int
        The address of ``cblas_?gemm`` for the arrays' dtype, in NumPy's OpenBLAS.
    ilp64 : bool
        Whether its integers are 64-bit.
    X, Y : 2-D arrays
        The batch and its targets.
    W, b : tuples
        Each layer's weights (all C- or all Fortran-ordered, ``fortran``) and biases.
    z, a, d : tuples
        Each layer's ``Z``, ``A`` and ``dC/dZ`` for this batch's rows, written here.
    codes : 1-D int array
        Each hidden layer's activation (:data:`ACTIVATIONS`).
    kind : int
        The output layer (:data:`OUTPUTS`).
    scale : float
        The factor on each sample's gradient (``1/N``).
    losses : 1-D array
        Receives each sample's loss.
    row : 1-D array
        Scratch, one output row long.
    rate, limit : float
        The step's rate (at least 1) and the largest product allowed.
    """
    last = len(W) - 1
    inputs = np.empty(last + 1)  # sum of squares of each layer's A_prev
    inputs[0] = _sum_of_squares(X)
    a_prev = X
    for layer in range(last):
        _product(gemm, ilp64, a_prev, W[layer], fortran, True, z[layer])           # z_j = sum_k w_jk a_k
        _activate(codes[layer], z[layer], b[layer], a[layer])                      # + b_j; a_j = g(z_j)
        inputs[layer + 1] = _sum_of_squares(a[layer])
        a_prev = a[layer]
    _product(gemm, ilp64, a_prev, W[last], fortran, True, z[last])
    dd = _output(kind, z[last], b[last], Y, a[last], d[last], losses, scale, row)
    squares, bounded = dd, math.sqrt(dd) * math.sqrt(inputs[last]) * rate < limit
    for layer in range(last, 0, -1):
        _product(gemm, ilp64, d[layer], W[layer], fortran, False, d[layer - 1])  # dC/da_k = sum_j dC/dz_j w_jk
        _delta_in_place(codes[layer - 1], z[layer - 1], a[layer - 1], d[layer - 1])     # * g'(z_k)
        dd = _sum_of_squares(d[layer - 1])
        squares += dd
        bounded = bounded and math.sqrt(dd) * math.sqrt(inputs[layer - 1]) * rate < limit
    return squares if bounded else -1.0


@_jit
def fold(gemm, gemv, ilp64, X, W, b, a, d, fortran, lr, ones):
    """The folded SGD step of every layer: ``W <- -lr dC/dZ^T A_prev + W``, ``b <- -lr dC/dZ^T 1 + b``.

    The same ``?gemm`` and ``?gemv`` calls as :class:`~backprop.core.training.blas.NumpysBLAS`;
    ``gemv`` is the address of ``cblas_?gemv``, ``ones`` a column of ones, one per row of the batch.
    """
    one, _, alpha, _ = _constants(X, -lr, 0.0)
    for layer in range(len(W)):
        a_prev = X if layer == 0 else a[layer - 1]
        dC_dz, Wl = d[layer], W[layer]
        m, n_out, n_in = a_prev.shape[0], Wl.shape[0], Wl.shape[1]
        if fortran:  # W^T (n_in x n_out, row-major) += alpha A_prev^T dC/dZ
            _gemm(gemm, ilp64, _TRANS, _NO_TRANS, n_in, n_out, m, alpha, a_prev, n_in, dC_dz, n_out, one, Wl, n_out)
        else:        # W (n_out x n_in) += alpha dC/dZ^T A_prev
            _gemm(gemm, ilp64, _TRANS, _NO_TRANS, n_out, n_in, m, alpha, dC_dz, n_out, a_prev, n_in, one, Wl, n_in)
        _gemv_t(gemv, ilp64, alpha, dC_dz, ones, one, b[layer])
