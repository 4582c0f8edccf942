"""The decision boundary of a classifier with two input features."""

from __future__ import annotations

import numbers
from collections.abc import Callable
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import to_rgb

from .checks import _abbreviate
from .figure import _new_figure, _save

# ---------------------------------------------------------------------------
# decision boundary and regression fit
# ---------------------------------------------------------------------------

def _check_points(X, name: str, n_columns: int, why: str) -> np.ndarray:
    try:
        arr = np.asarray(X, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a numeric array; got {_abbreviate(X)}") from None
    if n_columns == 1 and arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    if arr.ndim != 2 or arr.shape[1] != n_columns:
        raise ValueError(
            f"{name} must be 2-D with {n_columns} column{'s' * (n_columns > 1)} ({why}); got shape {arr.shape}"
        )
    if arr.shape[0] == 0:
        raise ValueError(f"{name} has no rows; expected at least one sample")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains non-finite values; expected finite numbers")
    return arr


def _class_indices(y, n_samples: int, n_classes: int, classes: list[str] | None) -> np.ndarray:
    """Map labels, one-hot rows or a 0/1 column to class indices 0..n_classes-1.

    With ``classes``, a label equal (as text) to one of the names is that
    name's index; otherwise numeric labels are taken as the indices themselves.
    """
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:
        if y.shape[1] != n_classes:
            raise ValueError(f"y is one-hot with {y.shape[1]} columns but the model has {n_classes} classes")
        y = y.argmax(axis=1)
    elif y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1 or y.shape[0] != n_samples:
        raise ValueError(f"y must hold one label per row of X ({n_samples}); got shape {y.shape}")
    if classes is not None:
        # labels as the model names them (e.g. 3 and 7, or "cat" and "dog") come first
        lookup = {name: i for i, name in enumerate(classes)}
        as_names = [str(v) for v in y]
        if all(name in lookup for name in as_names):
            return np.array([lookup[name] for name in as_names], dtype=int)
    if y.dtype.kind in "biuf":
        if not np.all(y == np.round(y)) or y.min() < 0 or y.max() >= n_classes:
            raise ValueError(
                f"numeric labels in y must be class indices 0..{n_classes - 1}"
                + (f" or names in classes {classes}" if classes is not None else "")
                + f"; got values in [{y.min()}, {y.max()}]"
            )
        return y.astype(int)
    if classes is None:
        raise ValueError("y holds class names; pass classes=[...] in the order of the model's outputs")
    unknown = sorted({str(v) for v in y} - set(classes))
    raise ValueError(f"y has labels that are not in classes {classes}: {unknown[:5]}")


def _class_colours(n: int) -> np.ndarray:
    name = "tab10" if n <= 10 else "tab20" if n <= 20 else "turbo"
    cmap = colormaps[name]
    if name == "turbo":
        return np.array([cmap(i / max(n - 1, 1))[:3] for i in range(n)])
    return np.array([to_rgb(cmap(i)) for i in range(n)])


def plot_decision_boundary(predict_proba: Callable, X, y, path, classes=None, resolution: int = 200,
                           feature_names=None) -> Path:
    """Draw a classifier's regions over a 2-D input plane, with the data on top.

    Each point of a ``resolution x resolution`` grid over the data (padded by
    10%) is coloured by its predicted class, paler where the model is less
    confident (the top probability is nearer ``1/n_classes``); a black line
    marks the decision boundary and the samples are drawn in their true
    label's colour.

    Parameters
    ----------
    predict_proba : callable
        Takes an array of shape ``(n, 2)`` and returns class probabilities of
        shape ``(n, n_classes)``, or ``(n, 1)`` / ``(n,)`` with ``P(class 1)``
        for a binary sigmoid output.
    X : array_like, shape (n_samples, 2)
        The inputs; exactly two features.
    y : array_like or None
        The labels: class indices, one-hot rows, a 0/1 column, or class names
        (then ``classes`` is required). ``None`` draws the points uncoloured.
    path : str or os.PathLike
        The PNG file to write; its directory is created if needed.
    classes : sequence of str, optional
        The class names in the order of the model's outputs (two for a
        binary sigmoid output); defaults to ``"0", "1", ...``.
    resolution : int, default 200
        Grid points along each axis.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    ValueError
        If ``X`` is not 2-D with two columns, ``predict_proba`` returns the
        wrong shape, or ``y`` and ``classes`` do not fit the model's outputs.
    """
    if not callable(predict_proba):
        raise TypeError(f"predict_proba must be callable; got {type(predict_proba).__name__}")
    X = _check_points(X, "X", 2, "a decision boundary is drawn for two input features")
    if isinstance(resolution, bool) or not isinstance(resolution, numbers.Integral) or not 2 <= resolution <= 2000:
        raise ValueError(f"resolution must be an integer from 2 to 2000; got {resolution!r}")

    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = np.where(hi > lo, 0.1 * (hi - lo), 0.5)
    g0 = np.linspace(lo[0] - pad[0], hi[0] + pad[0], resolution)
    g1 = np.linspace(lo[1] - pad[1], hi[1] + pad[1], resolution)
    xx, yy = np.meshgrid(g0, g1)
    grid = np.column_stack([xx.ravel(), yy.ravel()])

    P = np.asarray(predict_proba(grid), dtype=float)
    if P.ndim == 1:
        P = P.reshape(-1, 1)
    if P.ndim != 2 or P.shape[0] != grid.shape[0] or P.shape[1] < 1:
        raise ValueError(
            f"predict_proba must return shape (n, n_classes) for n = {grid.shape[0]} points; got {P.shape}"
        )
    if not np.isfinite(P).all():
        raise ValueError("predict_proba returned non-finite values")
    if P.shape[1] == 1:  # a sigmoid output: P(class 1)
        P = np.column_stack([1 - P[:, 0], P[:, 0]])
    n_classes = P.shape[1]
    names = None
    if classes is not None:
        names = [str(c) for c in classes]
        if len(names) != n_classes:
            raise ValueError(f"classes names {len(names)} classes but the model predicts {n_classes}")

    predicted = P.argmax(axis=1)
    # confidence 0 at chance (1/k), 1 at certainty, so that the colour means the same for any k
    confidence = np.clip((P.max(axis=1) - 1 / n_classes) / (1 - 1 / n_classes), 0, 1)
    colours = _class_colours(n_classes)
    strength = (0.15 + 0.5 * confidence)[:, None]
    rgb = (1 - strength) + strength * colours[predicted]

    fig, ax = _new_figure(figsize=(6.4, 5.4))
    extent = (g0[0], g0[-1], g1[0], g1[-1])
    ax.imshow(rgb.reshape(resolution, resolution, 3), origin="lower", extent=extent,
              aspect="auto", interpolation="nearest")
    # region k is where P_k - max_{j != k} P_j > 0; contouring that margin at 0, rather than the
    # jagged 0/1 map of argmax, draws the boundary smoothly between the grid points
    for k in np.unique(predicted):
        if 0 < np.mean(predicted == k) < 1:
            margin = P[:, k] - np.delete(P, k, axis=1).max(axis=1)
            ax.contour(xx, yy, margin.reshape(resolution, resolution), levels=[0.0], colors="k",
                       linewidths=1)

    if y is None:
        ax.scatter(X[:, 0], X[:, 1], s=14, c="0.2", edgecolors="white", linewidths=0.4)
    else:
        labels = _class_indices(y, X.shape[0], n_classes, names)
        names = names or [str(k) for k in range(n_classes)]
        for k in range(n_classes):
            mask = labels == k
            if mask.any():
                ax.scatter(X[mask, 0], X[mask, 1], s=16, color=colours[k], edgecolors="k",
                           linewidths=0.5, label=names[k])
        ax.legend(title="true label", loc="best", fontsize=8, title_fontsize=8)
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.set_xlabel(feature_names[0] if feature_names else "x₁")  # the columns' names when known
    ax.set_ylabel(feature_names[1] if feature_names else "x₂")
    ax.set_title("Decision boundary (shade: predicted class, paler = less confident)", fontsize=10)
    return _save(fig, path)
