"""Initial weights, drawn from a seeded ``numpy.random.Generator``.

Each initializer is a function ``init(shape, rng, dtype)`` for a weight matrix
of shape ``(n_out, n_in)`` (``W[j, k]`` is the article's ``w_jk``), so
``fan_in = n_in`` and ``fan_out = n_out``.

=================  ===================================  =========================
name               distribution                         suits
=================  ===================================  =========================
``glorot_uniform``  U(-r, r), r = sqrt(6 / (in + out))   sigmoid, tanh, softmax
``glorot_normal``   N(0, 2 / (in + out))
``he_uniform``      U(-r, r), r = sqrt(6 / in)           relu and its relatives
``he_normal``       N(0, 2 / in)
``lecun_uniform``   U(-r, r), r = sqrt(3 / in)           selu-like, linear
``lecun_normal``    N(0, 1 / in)
``zeros``           0                                    biases
=================  ===================================  =========================

``xavier_*`` and ``kaiming_*`` are the same as ``glorot_*`` and ``he_*``.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

__all__ = ["INITIALIZERS", "get_initializer", "default_initializer", "glorot_bound"]

Initializer = Callable[[tuple, np.random.Generator, np.dtype], np.ndarray]


def _uniform(bound: Callable[[int, int], float]) -> Initializer:
    def init(shape, rng, dtype=np.float64):
        n_out, n_in = shape
        r = bound(n_in, n_out)
        return rng.uniform(-r, r, size=shape).astype(dtype, copy=False)

    return init


def _normal(std: Callable[[int, int], float]) -> Initializer:
    def init(shape, rng, dtype=np.float64):
        n_out, n_in = shape
        return (rng.standard_normal(size=shape) * std(n_in, n_out)).astype(dtype, copy=False)

    return init


def zeros(shape, rng=None, dtype=np.float64) -> np.ndarray:
    """All zeros; the usual start for biases."""
    return np.zeros(shape, dtype=dtype)


def glorot_bound(n_in: int, n_out: int) -> float:
    """Glorot and Bengio's (2010) uniform bound, ``sqrt(6 / (n_in + n_out))``."""
    return math.sqrt(6.0 / (n_in + n_out))


INITIALIZERS: dict[str, Initializer] = {
    "glorot_uniform": _uniform(glorot_bound),
    "glorot_normal": _normal(lambda i, o: math.sqrt(2.0 / (i + o))),
    "he_uniform": _uniform(lambda i, o: math.sqrt(6.0 / i)),
    "he_normal": _normal(lambda i, o: math.sqrt(2.0 / i)),
    "lecun_uniform": _uniform(lambda i, o: math.sqrt(3.0 / i)),
    "lecun_normal": _normal(lambda i, o: math.sqrt(1.0 / i)),
    "zeros": zeros,
}
for _name in ("uniform", "normal"):
    INITIALIZERS[f"xavier_{_name}"] = INITIALIZERS[f"glorot_{_name}"]
    INITIALIZERS[f"kaiming_{_name}"] = INITIALIZERS[f"he_{_name}"]

_RELU_FAMILY = {"relu", "leaky_relu", "elu", "gelu", "softplus"}


def default_initializer(activation_name: str) -> str:
    """The usual initializer for an activation: He for the relu family, Glorot otherwise."""
    return "he_uniform" if activation_name in _RELU_FAMILY else "glorot_uniform"


def get_initializer(name: str | Initializer) -> Initializer:
    """Return the initializer of this name (or a callable, unchanged).

    Raises
    ------
    ValueError
        If the name is unknown.
    """
    if callable(name):
        return name
    key = str(name).lower()
    if key not in INITIALIZERS:
        raise ValueError(f"unknown initializer {name!r}; expected one of {', '.join(INITIALIZERS)}")
    return INITIALIZERS[key]
