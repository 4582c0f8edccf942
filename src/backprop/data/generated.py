"""Small seeded data sets in the plane, for watching a network learn a boundary.

Each generator draws from its own ``numpy.random.Generator``: the same
``seed`` gives the same samples, and nothing touches NumPy's global state.
Classes are as balanced as ``n_samples`` allows (the first classes get one
more sample when it does not divide evenly) and the rows are shuffled, so that
any slice of the data holds every class in about equal measure.

``noise`` is the standard deviation of Gaussian noise added to each
coordinate (for :func:`gaussians`, the spread of each blob; for :func:`sine`,
the noise on the target).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ..core.validation import check_positive_int, check_rng
from .dataset import Dataset

__all__ = ["xor", "circles", "moons", "spirals", "gaussians", "sine", "GENERATORS"]


def _check_noise(noise) -> float:
    if isinstance(noise, bool) or not isinstance(noise, numbers.Real) or not math.isfinite(noise) or noise < 0:
        raise ValueError(f"noise must be a finite number >= 0; got {noise!r}")
    return float(noise)


def _class_sizes(n_samples, n_classes: int, name: str) -> list[int]:
    n = check_positive_int(n_samples, "n_samples")
    if n < n_classes:
        raise ValueError(f"{name} has {n_classes} classes, so n_samples must be at least {n_classes}; got {n}")
    return [n // n_classes + (1 if k < n % n_classes else 0) for k in range(n_classes)]


def _finish(parts: list[np.ndarray], rng: np.random.Generator, noise: float, name: str,
            description: str) -> Dataset:
    """Stack the per-class points, add the noise, shuffle, and label by class index."""
    X = np.concatenate(parts)
    y = np.concatenate([np.full(len(p), k, dtype=np.int64) for k, p in enumerate(parts)])
    X = X + rng.normal(0.0, noise, size=X.shape)
    order = rng.permutation(len(X))
    return Dataset(
        X=X[order], y=y[order], task="classification", name=name, feature_names=["x1", "x2"],
        classes=np.arange(len(parts)), description=description,
    )


def xor(n_samples: int = 400, *, noise: float = 0.1, seed=0) -> Dataset:
    """Points in the square ``[-1, 1]^2``, labelled by the exclusive or of their signs.

    Class 1 is where exactly one coordinate is positive (``x1 * x2 < 0``, the
    second and fourth quadrants), class 0 the first and third: no single line
    separates them, the classic case a
    network needs a hidden layer for. The label is fixed before the noise is
    added, so noise moves points across the axes.

    Parameters
    ----------
    n_samples : int, default 400
    noise : float, default 0.1
    seed : int or numpy.random.Generator, default 0
    """
    sizes = _class_sizes(n_samples, 2, "xor")
    noise = _check_noise(noise)
    rng = check_rng(seed)
    parts = []
    for label, size in enumerate(sizes):
        # |x1| and |x2| away from 0 by a small margin, so that with no noise the classes do not touch.
        magnitude = rng.uniform(0.05, 1.0, size=(size, 2))
        sign1 = rng.choice([-1.0, 1.0], size=size)
        sign2 = -sign1 if label == 1 else sign1
        parts.append(magnitude * np.column_stack([sign1, sign2]))
    return _finish(parts, rng, noise, "xor", f"exclusive or of the signs of two coordinates (noise={noise})")


def circles(n_samples: int = 400, *, noise: float = 0.05, factor: float = 0.5, seed=0) -> Dataset:
    """Two concentric circles: class 0 on the unit circle, class 1 on radius ``factor``.

    Parameters
    ----------
    n_samples : int, default 400
    noise : float, default 0.05
    factor : float, default 0.5
        The inner radius, strictly between 0 and 1.
    seed : int or numpy.random.Generator, default 0
    """
    sizes = _class_sizes(n_samples, 2, "circles")
    noise = _check_noise(noise)
    if isinstance(factor, bool) or not isinstance(factor, numbers.Real) or not 0.0 < factor < 1.0:
        raise ValueError(f"factor must be strictly between 0 and 1; got {factor!r}")
    rng = check_rng(seed)
    parts = []
    for radius, size in zip((1.0, float(factor)), sizes):
        t = rng.uniform(0.0, 2.0 * math.pi, size=size)
        parts.append(radius * np.column_stack([np.cos(t), np.sin(t)]))
    return _finish(parts, rng, noise, "circles",
                   f"two concentric circles of radius 1 and {factor} (noise={noise})")


def moons(n_samples: int = 400, *, noise: float = 0.1, seed=0) -> Dataset:
    """Two interleaving half circles.

    Class 0 is ``(cos t, sin t)`` and class 1 is ``(1 - cos t, 1/2 - sin t)``,
    for ``t`` uniform in ``[0, pi]``.

    Parameters
    ----------
    n_samples : int, default 400
    noise : float, default 0.1
    seed : int or numpy.random.Generator, default 0
    """
    sizes = _class_sizes(n_samples, 2, "moons")
    noise = _check_noise(noise)
    rng = check_rng(seed)
    t0 = rng.uniform(0.0, math.pi, size=sizes[0])
    t1 = rng.uniform(0.0, math.pi, size=sizes[1])
    parts = [
        np.column_stack([np.cos(t0), np.sin(t0)]),
        np.column_stack([1.0 - np.cos(t1), 0.5 - np.sin(t1)]),
    ]
    return _finish(parts, rng, noise, "moons", f"two interleaving half circles (noise={noise})")


def spirals(n_samples: int = 400, *, noise: float = 0.05, arms: int = 2, turns: float = 1.0,
            seed=0) -> Dataset:
    """``arms`` interleaved spirals, one class per arm.

    Arm ``k`` is the curve ``r (cos phi, sin phi)`` with
    ``phi = 2 pi (turns r + k / arms)`` for ``r`` uniform in ``[0.05, 1]``.

    Parameters
    ----------
    n_samples : int, default 400
    noise : float, default 0.05
    arms : int, default 2
        The number of arms (and classes), at least 2.
    turns : float, default 1.0
        How many times each arm winds round the origin; positive.
    seed : int or numpy.random.Generator, default 0
    """
    arms = check_positive_int(arms, "arms")
    if arms < 2:
        raise ValueError(f"spirals needs at least 2 arms; got {arms}")
    if isinstance(turns, bool) or not isinstance(turns, numbers.Real) or not 0.0 < turns < math.inf:
        raise ValueError(f"turns must be a positive number; got {turns!r}")
    sizes = _class_sizes(n_samples, arms, "spirals")
    noise = _check_noise(noise)
    rng = check_rng(seed)
    parts = []
    for k, size in enumerate(sizes):
        r = rng.uniform(0.05, 1.0, size=size)
        phi = 2.0 * math.pi * (turns * r + k / arms)
        parts.append(np.column_stack([r * np.cos(phi), r * np.sin(phi)]))
    return _finish(parts, rng, noise, "spirals", f"{arms} interleaved spirals of {turns} turns (noise={noise})")


def gaussians(n_samples: int = 400, *, noise: float = 0.5, centers: int = 3, radius: float = 2.0,
              seed=0) -> Dataset:
    """``centers`` round Gaussian blobs, one class each, centred evenly on a circle.

    Blob ``k`` has mean ``radius (cos 2 pi k / centers, sin 2 pi k / centers)``
    and standard deviation ``noise`` in each coordinate.

    Parameters
    ----------
    n_samples : int, default 400
    noise : float, default 0.5
    centers : int, default 3
        The number of blobs (and classes), at least 2.
    radius : float, default 2.0
        The distance of each centre from the origin; positive.
    seed : int or numpy.random.Generator, default 0
    """
    centers = check_positive_int(centers, "centers")
    if centers < 2:
        raise ValueError(f"gaussians needs at least 2 centers; got {centers}")
    if isinstance(radius, bool) or not isinstance(radius, numbers.Real) or not 0.0 < radius < math.inf:
        raise ValueError(f"radius must be a positive number; got {radius!r}")
    sizes = _class_sizes(n_samples, centers, "gaussians")
    noise = _check_noise(noise)
    rng = check_rng(seed)
    parts = []
    for k, size in enumerate(sizes):
        angle = 2.0 * math.pi * k / centers
        parts.append(np.tile([radius * math.cos(angle), radius * math.sin(angle)], (size, 1)))
    return _finish(parts, rng, noise, "gaussians",
                   f"{centers} Gaussian blobs on a circle of radius {radius} (std={noise})")


def sine(n_samples: int = 200, *, noise: float = 0.1, seed=0) -> Dataset:
    """A regression target: ``y = sin x + e`` with ``x`` uniform in ``[-pi, pi]`` and ``e ~ N(0, noise^2)``.

    ``X`` has one column, ``x``.

    Parameters
    ----------
    n_samples : int, default 200
    noise : float, default 0.1
    seed : int or numpy.random.Generator, default 0
    """
    n = check_positive_int(n_samples, "n_samples")
    noise = _check_noise(noise)
    rng = check_rng(seed)
    x = rng.uniform(-math.pi, math.pi, size=n)
    y = np.sin(x) + rng.normal(0.0, noise, size=n)
    return Dataset(X=x.reshape(-1, 1), y=y, task="regression", name="sine", feature_names=["x"],
                   description=f"y = sin x plus Gaussian noise (std={noise}), x in [-pi, pi]")


GENERATORS = {f.__name__: f for f in (xor, circles, moons, spirals, gaussians, sine)}
