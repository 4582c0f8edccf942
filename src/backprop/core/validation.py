"""Checks at the public boundary, with messages that name the bad value.

Inside the core the data is trusted; these run once where data comes in.
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["check_dtype", "check_matrix", "check_positive_int", "check_rng", "check_sample_weight"]

_DTYPES = {"float32": np.float32, "float64": np.float64}


def check_dtype(dtype) -> np.dtype:
    """Return ``np.dtype`` for ``"float32"`` or ``"float64"`` (or the NumPy types)."""
    try:
        d = np.dtype(dtype)
    except TypeError:
        d = None
    if d is None or d.name not in _DTYPES:
        raise ValueError(f"dtype must be 'float32' or 'float64'; got {dtype!r}")
    return d


def check_positive_int(value, name: str) -> int:
    """Return ``value`` as an int, or raise if it is not a positive integer."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}")
    return int(value)


def check_rng(seed) -> np.random.Generator:
    """Return a Generator from ``None``, an int seed or a Generator."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or (isinstance(seed, numbers.Integral) and not isinstance(seed, bool) and seed >= 0):
        return np.random.default_rng(seed)
    raise ValueError(f"seed must be None, a non-negative integer or a numpy.random.Generator; got {seed!r}")


def check_matrix(data, name: str, n_columns: int, dtype: np.dtype, what: str) -> np.ndarray:
    """Return ``data`` as a finite 2-D array of ``dtype`` with ``n_columns`` columns.

    A 1-D array is taken as a column when ``n_columns == 1``.

    Parameters
    ----------
    data : array_like
        What the caller passed.
    name : str
        Its name in messages (``"X"``, ``"Y"``).
    n_columns : int
        The number of columns the network needs.
    dtype : numpy.dtype
        The network's dtype; the result is cast to it.
    what : str
        What the columns are, for messages ("input nodes", "output nodes").
    """
    try:
        arr = np.asarray(data)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{name} could not be read as a numeric array: {exc}") from None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"{name} must be numeric; got an array of dtype {arr.dtype}")
    if np.iscomplexobj(arr):
        raise TypeError(f"{name} must be real; got complex values")
    if arr.ndim == 1 and n_columns == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2:
        hint = " (for one sample use X.reshape(1, -1))" if arr.ndim == 1 else ""
        raise ValueError(
            f"{name} must be 2-D with shape (n_samples, {n_columns}); got shape {arr.shape}{hint}"
        )
    if arr.shape[1] != n_columns:
        raise ValueError(
            f"{name} has {arr.shape[1]} columns but the network has {n_columns} {what}; "
            f"expected shape (n_samples, {n_columns}), got {arr.shape}"
        )
    if arr.shape[0] == 0:
        raise ValueError(f"{name} has no rows; expected at least one sample")
    if not _all_finite(arr):
        row, col = np.argwhere(~np.isfinite(arr))[0]
        raise ValueError(
            f"{name} contains a non-finite value ({arr[row, col]}) at row {row}, column {col}; "
            "expected finite numbers"
        )
    with np.errstate(over="ignore"):
        cast = arr.astype(dtype, copy=False)
    if cast is not arr and not _all_finite(cast):
        row, col = np.argwhere(~np.isfinite(cast))[0]
        raise ValueError(
            f"{name}[{row}, {col}] = {arr[row, col]:g} overflows {np.dtype(dtype).name}; "
            "rescale the data or use float64"
        )
    return cast


def _all_finite(arr: np.ndarray, rows_per_block: int = 4096) -> bool:
    """Whether every entry is finite, checked a block of rows at a time.

    A whole-array ``np.isfinite`` would make a boolean copy as large as a
    quarter of the data set (an eighth in float64) just to check it.
    """
    if np.issubdtype(arr.dtype, np.integer) or arr.dtype == bool:
        return True
    return all(np.isfinite(arr[start:start + rows_per_block]).all()
               for start in range(0, arr.shape[0], rows_per_block))


def check_sample_weight(sample_weight, n_samples: int) -> np.ndarray | None:
    """Return per-sample weights as a float64 vector of ``n_samples`` (None stays None).

    They must be finite, non-negative and not all zero.
    """
    if sample_weight is None:
        return None
    try:
        w = np.asarray(sample_weight, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"sample_weight must be numbers, one per sample; got {sample_weight!r:.80}") from None
    if w.shape != (n_samples,):
        raise ValueError(f"sample_weight must have shape ({n_samples},), one weight per sample; "
                         f"got shape {w.shape}")
    if not np.isfinite(w).all() or (w < 0).any():
        raise ValueError("sample_weight must hold finite, non-negative numbers")
    if not w.any():
        raise ValueError("the sample weights are all zero; at least one sample needs a positive weight")
    return w
