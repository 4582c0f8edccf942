"""The two BLAS calls of the folded SGD step, from NumPy's own library where it can be found.

:class:`~backprop.core.training.update.FoldedSGD` adds ``-lr dC/dZ^T A_prev``
straight into ``W`` (``?gemm`` with ``beta = 1``) and ``-lr dC/dZ^T 1`` into
``b`` (``?gemv``). NumPy has no such call; there are two ways to reach one:

:class:`NumpysBLAS`
    ``cblas_?gemm`` and ``cblas_?gemv`` of the OpenBLAS inside NumPy's wheel,
    the library ``np.matmul`` itself calls, through :mod:`ctypes`. Every
    product of the run then goes to one library with one pool of threads, so
    the step is as parallel as the forward and backward products.
:class:`ScipysBLAS`
    SciPy's wrappers (``scipy.linalg.blas``), where NumPy's library is not
    found (another platform's wheel, a NumPy built on a system BLAS). SciPy's
    wheel brings an OpenBLAS of its own beside NumPy's, and each keeps a pool
    of threads that spin for a while after every call; called in turn every
    batch, two pools held each other's cores (an epoch of 784-300-10 at batch
    32 took 18 s on two cores instead of 0.75 s). For the run, SciPy's own
    library is held to one thread, through threadpoolctl when it is installed
    (it comes with scikit-learn); a BLAS the two share is left alone.

:func:`blas_for` picks one per dtype, or None without either (the run then
takes the readable update, ``Descent``).
"""

from __future__ import annotations

import ctypes
import functools
from contextlib import nullcontext
from pathlib import Path

import numpy as np

__all__ = ["NumpysBLAS", "ScipysBLAS", "blas_for", "scipy_blas_on_one_thread"]

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112


class NumpysBLAS:
    """``W <- alpha dC/dZ^T A_prev + W`` and ``b <- alpha dC/dZ^T 1 + b`` through NumPy's own CBLAS.

    Parameters
    ----------
    dtype : float32 or float64
    gemm, gemv : ctypes functions
        ``cblas_?gemm`` and ``cblas_?gemv`` of that dtype (see :func:`numpys_cblas`).
    index : ctypes integer type
        The library's integer: ``c_int64`` for an ILP64 build, else ``c_int``.
    """

    def __init__(self, dtype, gemm, gemv, index):
        self.dtype = np.dtype(dtype)
        real = ctypes.c_float if self.dtype == np.float32 else ctypes.c_double
        ptr, enum = ctypes.c_void_p, ctypes.c_int
        gemm.argtypes = [enum, enum, enum, index, index, index, real, ptr, index, ptr, index, real, ptr, index]
        gemv.argtypes = [enum, enum, index, index, real, ptr, index, ptr, index, real, ptr, index]
        gemm.restype = gemv.restype = None
        self.gemm, self.gemv, self.index = gemm, gemv, index

    def _operand(self, a: np.ndarray) -> np.ndarray:
        if a.dtype != self.dtype:
            raise RuntimeError(f"a {self.dtype.name} BLAS cannot take a {a.dtype.name} operand")
        return np.ascontiguousarray(a)

    def fold(self, W: np.ndarray, dC_dz: np.ndarray, a_prev: np.ndarray, alpha: float) -> None:
        """``W <- alpha dC/dZ^T A_prev + W``, in place, ``W`` C- or Fortran-ordered (row-major ``W^T``)."""
        if W.dtype != self.dtype or not (W.flags.c_contiguous or W.flags.f_contiguous) or not W.flags.writeable:
            raise RuntimeError("BLAS would write the SGD step into a copy of W; W must be a contiguous, "
                               f"writeable {self.dtype.name} array")
        dC_dz, a_prev = self._operand(dC_dz), self._operand(a_prev)
        m, n_out, n_in = a_prev.shape[0], W.shape[0], W.shape[1]
        if dC_dz.shape != (m, n_out) or a_prev.shape != (m, n_in):   # BLAS would read past the arrays
            raise ValueError(f"shapes do not fit W {W.shape}: dC/dZ {dC_dz.shape}, A_prev {a_prev.shape}")
        if W.flags.c_contiguous:     # W (n_out x n_in) += alpha dC/dZ^T A_prev
            self.gemm(_ROW_MAJOR, _TRANS, _NO_TRANS, n_out, n_in, m, alpha, dC_dz.ctypes.data, n_out,
                      a_prev.ctypes.data, n_in, 1.0, W.ctypes.data, n_in)
        else:                        # W^T (n_in x n_out, row-major) += alpha A_prev^T dC/dZ
            self.gemm(_ROW_MAJOR, _TRANS, _NO_TRANS, n_in, n_out, m, alpha, a_prev.ctypes.data, n_in,
                      dC_dz.ctypes.data, n_out, 1.0, W.ctypes.data, n_out)

    def fold_bias(self, b: np.ndarray, dC_dz: np.ndarray, ones: np.ndarray, alpha: float) -> None:
        """``b <- alpha dC/dZ^T 1 + b``, in place: the bias is a weight on an input that is always 1."""
        if b.dtype != self.dtype or not b.flags.c_contiguous or not b.flags.writeable:
            raise RuntimeError("BLAS would write the SGD step into a copy of b; b must be a contiguous, "
                               f"writeable {self.dtype.name} array")
        dC_dz, ones = self._operand(dC_dz), self._operand(ones)
        m, n_out = dC_dz.shape
        if b.shape != (n_out,) or ones.shape != (m,):
            raise ValueError(f"shapes do not fit: b {b.shape}, dC/dZ {dC_dz.shape}, ones {ones.shape}")
        self.gemv(_ROW_MAJOR, _TRANS, m, n_out, alpha, dC_dz.ctypes.data, n_out,
                  ones.ctypes.data, 1, 1.0, b.ctypes.data, 1)

    @staticmethod
    def for_the_run():
        """Nothing to hold: the step shares NumPy's pool of threads."""
        return nullcontext()


class ScipysBLAS:
    """The same two calls through SciPy's ``?gemm`` and ``?gemv`` (its own BLAS, held to one thread)."""

    def __init__(self, gemm, gemv):
        self.gemm, self.gemv = gemm, gemv

    def fold(self, W, dC_dz, a_prev, alpha):
        """``W <- alpha dC/dZ^T A_prev + W``; BLAS is column-major, so a C-ordered ``W`` is ``W^T`` there."""
        if W.flags.f_contiguous:
            c = W
            out = self.gemm(alpha, dC_dz.T, a_prev.T, beta=1.0, c=c, trans_b=1, overwrite_c=1)
        else:
            c = W.T
            out = self.gemm(alpha, a_prev.T, dC_dz.T, beta=1.0, c=c, trans_b=1, overwrite_c=1)
        if out is not c:  # SciPy hands back the array it was given when it wrote in place
            raise RuntimeError("BLAS wrote the SGD step into a copy of W; W must be C- or Fortran-contiguous")

    def fold_bias(self, b, dC_dz, ones, alpha):
        """``b <- alpha dC/dZ^T 1 + b``."""
        out = self.gemv(alpha, dC_dz.T, ones, beta=1.0, y=b, overwrite_y=1)
        if out is not b:
            raise RuntimeError("BLAS wrote the SGD step into a copy of b; b must be contiguous")

    @staticmethod
    def for_the_run():
        """Hold SciPy's own BLAS to one thread while the run calls it."""
        return scipy_blas_on_one_thread()


@functools.cache
def numpys_cblas() -> tuple[ctypes.CDLL, str, str, type] | None:
    """NumPy's own OpenBLAS (the one in its wheel's ``numpy.libs``) and its symbol names, or None.

    Returns ``(library, prefix, suffix, integer type)``: the CBLAS functions
    are ``prefix + "cblas_sgemm" + suffix`` and so on.
    """
    folder = Path(np.__file__).resolve().parent
    candidates = [*folder.parent.glob("numpy.libs/*openblas*"), *folder.glob(".dylibs/*openblas*")]
    names = (("scipy_", "64_", ctypes.c_int64), ("", "64_", ctypes.c_int64), ("scipy_", "", ctypes.c_int),
             ("", "", ctypes.c_int))
    for path in sorted(candidates):
        try:
            library = ctypes.CDLL(str(path))
        except OSError:
            continue
        for prefix, suffix, index in names:
            if all(hasattr(library, f"{prefix}cblas_{p}{f}{suffix}") for p in "sd" for f in ("gemm", "gemv")):
                return library, prefix, suffix, index
    return None


def blas_for(dtype) -> NumpysBLAS | ScipysBLAS | None:
    """The folded step's BLAS for ``dtype`` (float32 or float64): NumPy's own, else SciPy's, else None."""
    p = "s" if np.dtype(dtype) == np.float32 else "d"
    found = numpys_cblas()
    if found is not None:
        library, prefix, suffix, index = found
        return NumpysBLAS(dtype, getattr(library, f"{prefix}cblas_{p}gemm{suffix}"),
                          getattr(library, f"{prefix}cblas_{p}gemv{suffix}"), index)
    try:
        from scipy.linalg import blas
    except ImportError:
        return None
    return ScipysBLAS(getattr(blas, f"{p}gemm"), getattr(blas, f"{p}gemv"))


def scipy_blas_on_one_thread():
    """A context that holds SciPy's own BLAS library to one thread (see the module's note).

    Libraries are told apart by where they were loaded from: a BLAS under
    ``scipy/`` or ``scipy.libs/`` is SciPy's own; one that NumPy and SciPy
    share (a system or conda OpenBLAS or MKL) is left alone, as is everything
    without threadpoolctl.
    """
    controller = _scipys_own_blas()
    return nullcontext() if controller is None else controller.limit(limits=1)


@functools.cache
def _scipys_own_blas():
    """threadpoolctl's handle on SciPy's own BLAS, found once (finding it takes milliseconds)."""
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return None
    import scipy.linalg.blas  # noqa: F401  (loaded, so that it is found)

    controller = ThreadpoolController()
    own = [lib.filepath for lib in controller.lib_controllers
           if lib.user_api == "blas" and not {"scipy", "scipy.libs"}.isdisjoint(Path(lib.filepath).parts)]
    return controller.select(filepath=own) if own else None
