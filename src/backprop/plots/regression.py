"""The fit of a regressor with one input feature."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from .boundary import _check_points
from .figure import _new_figure, _save


def plot_regression_fit(predict: Callable, X, y, path, feature_names=None) -> Path:
    """Draw a 1-D regression: the data points and the network's fitted curve.

    Parameters
    ----------
    predict : callable
        Takes an array of shape ``(n, 1)`` and returns predictions of shape
        ``(n, 1)`` or ``(n,)``.
    X : array_like, shape (n_samples,) or (n_samples, 1)
        The inputs; exactly one feature.
    y : array_like, shape (n_samples,) or (n_samples, 1)
        The targets.
    path : str or os.PathLike
        The PNG file to write; its directory is created if needed.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    ValueError
        If ``X`` or ``y`` has more than one column, their lengths differ, or
        ``predict`` returns the wrong shape.
    """
    if not callable(predict):
        raise TypeError(f"predict must be callable; got {type(predict).__name__}")
    X = _check_points(X, "X", 1, "a fitted curve is drawn for one input feature")
    y = _check_points(y, "y", 1, "one target per sample")
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"X has {X.shape[0]} rows but y has {y.shape[0]}; they must match")
    lo, hi = X.min(), X.max()
    pad = 0.05 * (hi - lo) if hi > lo else 0.5
    line = np.linspace(lo - pad, hi + pad, 400).reshape(-1, 1)
    fitted = np.asarray(predict(line), dtype=float)
    if fitted.size != line.shape[0]:
        raise ValueError(f"predict must return one value per input row ({line.shape[0]}); got shape {fitted.shape}")

    fig, ax = _new_figure()
    ax.scatter(X[:, 0], y[:, 0], s=12, color="C0", alpha=0.7, label="data")
    ax.plot(line[:, 0], fitted.reshape(-1), color="C3", linewidth=2, label="network")
    ax.set_xlabel(feature_names[0] if feature_names else "x")
    ax.set_ylabel("y")
    ax.set_title("Regression fit")
    ax.grid(True, alpha=0.3)
    ax.legend()
    return _save(fig, path)
