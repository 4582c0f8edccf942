"""Plots of a training run: loss and metric curves, confusion matrix, decision boundary.

Every function draws on its own :class:`matplotlib.figure.Figure` with the Agg
canvas and writes a PNG file; nothing goes through :mod:`matplotlib.pyplot`,
so no global figure state is created or left behind, and no display is needed.

The curves are drawn from a training *history*, plain data that is also saved
as ``history.json`` by ``backprop train --plots DIR``::

    {"task": "classification" | "regression",
     "epochs": [{"epoch": 1, "loss": 0.9, "val_loss": 1.0, "accuracy": 0.7,
                 "val_accuracy": 0.68, "lr": 0.1, "seconds": 0.2}, ...],
     "best_epoch": 7 | null, "stopped_early": false, "stop_reason": null,
     "confusion_matrix": {"labels": [...], "matrix": [[...], ...]}}   # optional

Only ``epochs`` (a non-empty list, each entry with a numeric ``loss``) is
required; any other metric that is missing, or ``null``, is simply not drawn.
:func:`check_history` validates this structure once, at the boundary, and the
plotting functions trust what it returns.

==========================  ==================================================
file                        drawn by
==========================  ==================================================
``loss.png``                :func:`plot_history` (train and validation loss)
``accuracy.png``            :func:`plot_history` (classification)
``r2.png``                  :func:`plot_history` (regression, R^2)
``confusion_matrix.png``    :func:`plot_confusion_matrix`
``decision_boundary.png``   :func:`plot_decision_boundary` (2 input features)
``regression_fit.png``      :func:`plot_regression_fit` (1 input feature)
==========================  ==================================================
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import os
import textwrap
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, PercentFormatter

from . import __version__

__all__ = [
    "HISTORY_FILE",
    "METRICS",
    "TASKS",
    "check_history",
    "plot_history",
    "plot_confusion_matrix",
    "plot_decision_boundary",
    "plot_regression_fit",
    "write_plots",
]

HISTORY_FILE = "history.json"
"""The name under which ``backprop train --plots DIR`` saves the history."""

TASKS = ("classification", "regression")

METRICS = ("loss", "val_loss", "accuracy", "val_accuracy", "r2", "val_r2", "mae", "val_mae",
           "lr", "seconds")
"""The numeric per-epoch keys of a history; other keys are kept but not checked."""

_DPI = 120
_FIGSIZE = (6.4, 4.2)
_LOG_SCALE_DECADES = 2  # a loss range wider than this many decades is drawn on a log axis
_TITLE_WIDTH = 70  # characters on a title line before it wraps (the figure is 6.4 in wide)
_TRAIN_STYLE = {"color": "C0", "label": "train"}
_VAL_STYLE = {"color": "C1", "label": "validation"}


# ---------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------

def check_history(history) -> dict:
    """Validate a training history and return it as a normalised plain dict.

    Parameters
    ----------
    history : mapping or dataclass
        The history as described in the module docstring (for instance what
        ``json.load`` returns for ``history.json``).

    Returns
    -------
    dict
        A new dict with ``task``, ``epochs`` (each with an int ``epoch`` and
        float metrics; ``null`` metrics dropped), ``best_epoch``,
        ``stopped_early``, ``stop_reason`` and, when present,
        ``confusion_matrix``. When ``task`` is absent it is inferred from the
        metrics: ``r2``/``mae`` mean regression, anything else classification.

    Raises
    ------
    ValueError
        If the structure is wrong; the message names the offending key,
        epoch and value.
    """
    if dataclasses.is_dataclass(history) and not isinstance(history, type):
        history = dataclasses.asdict(history)
    if not isinstance(history, Mapping):
        raise ValueError(
            f"a history must be a JSON object (dict) with an 'epochs' list; got {type(history).__name__}"
        )
    if "epochs" not in history:
        raise ValueError(f"the history has no 'epochs' key; found keys {sorted(map(str, history))}")
    raw_epochs = history["epochs"]
    if not isinstance(raw_epochs, Sequence) or isinstance(raw_epochs, (str, bytes)):
        raise ValueError(f"history['epochs'] must be a list of objects; got {type(raw_epochs).__name__}")
    if len(raw_epochs) == 0:
        raise ValueError("history['epochs'] is empty; there is nothing to plot")

    epochs = []
    for i, entry in enumerate(raw_epochs):
        if not isinstance(entry, Mapping):
            raise ValueError(f"history['epochs'][{i}] must be an object (dict); got {type(entry).__name__}")
        epoch = dict(entry)
        number = epoch.get("epoch", i + 1)
        if not _is_integer(number) or number < 0:
            raise ValueError(f"history['epochs'][{i}]['epoch'] must be a non-negative integer; got {number!r}")
        epoch["epoch"] = int(number)
        if epoch.get("loss") is None:
            raise ValueError(f"history['epochs'][{i}] has no 'loss'; every epoch needs its training loss")
        for key in METRICS:
            value = epoch.get(key)
            if value is None:
                epoch.pop(key, None)
            elif not _is_number(value):
                raise ValueError(f"history['epochs'][{i}][{key!r}] must be a number; got {value!r}")
            else:
                epoch[key] = float(value)
        epochs.append(epoch)

    numbers_seen = [e["epoch"] for e in epochs]
    if any(b <= a for a, b in zip(numbers_seen, numbers_seen[1:])):
        raise ValueError(f"history epoch numbers must increase; got {_abbreviate(numbers_seen)}")

    task = history.get("task")
    if task is None:
        keys = {k for e in epochs for k in e}
        task = "regression" if keys & {"r2", "val_r2", "mae", "val_mae"} else "classification"
    elif task not in TASKS:
        raise ValueError(f"history['task'] must be one of {list(TASKS)}; got {task!r}")

    best = history.get("best_epoch")
    if best is not None:
        if not _is_integer(best):
            raise ValueError(f"history['best_epoch'] must be an integer or null; got {best!r}")
        if int(best) not in numbers_seen:
            raise ValueError(
                f"history['best_epoch'] is {best}, which is not among the recorded epochs "
                f"({numbers_seen[0]}..{numbers_seen[-1]})"
            )
        best = int(best)

    stopped = history.get("stopped_early", False)
    if not isinstance(stopped, bool):
        raise ValueError(f"history['stopped_early'] must be true or false; got {stopped!r}")
    reason = history.get("stop_reason")
    if reason is not None and not isinstance(reason, str):
        raise ValueError(f"history['stop_reason'] must be a string or null; got {reason!r}")

    out = {"task": task, "epochs": epochs, "best_epoch": best, "stopped_early": stopped,
           "stop_reason": reason}
    cm = history.get("confusion_matrix")
    if cm is not None:
        if not isinstance(cm, Mapping) or "matrix" not in cm or "labels" not in cm:
            raise ValueError(
                "history['confusion_matrix'] must be an object with 'labels' and 'matrix'; "
                f"got {_abbreviate(cm)}"
            )
        matrix, labels = _check_confusion(cm["matrix"], cm["labels"], "history['confusion_matrix']")
        out["confusion_matrix"] = {"labels": labels, "matrix": matrix.tolist()}
    return out


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_integer(value) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, numbers.Integral):
        return True
    return isinstance(value, float) and value.is_integer()


def _abbreviate(value, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _check_confusion(matrix, labels, name: str) -> tuple[np.ndarray, list[str]]:
    """Return the matrix as a float array and the labels as strings, or raise."""
    try:
        arr = np.asarray(matrix, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} matrix must be a square table of counts; got {_abbreviate(matrix)}"
        ) from None
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1] or arr.shape[0] == 0:
        raise ValueError(f"{name} matrix must be square and non-empty; got shape {arr.shape}")
    if not np.isfinite(arr).all() or (arr < 0).any():
        raise ValueError(f"{name} matrix must hold non-negative finite counts; got {_abbreviate(arr.tolist())}")
    if isinstance(labels, (str, bytes)) or not isinstance(labels, (Sequence, np.ndarray)):
        raise ValueError(f"{name} labels must be a list; got {_abbreviate(labels)}")
    labels = [str(label) for label in labels]
    if len(labels) != arr.shape[0]:
        raise ValueError(
            f"{name} has {len(labels)} labels for a {arr.shape[0]}x{arr.shape[1]} matrix; they must match"
        )
    return arr, labels


# ---------------------------------------------------------------------------
# figures and files
# ---------------------------------------------------------------------------

def _new_figure(figsize=_FIGSIZE) -> tuple[Figure, object]:
    fig = Figure(figsize=figsize, dpi=_DPI, layout="constrained")
    FigureCanvasAgg(fig)  # draw with Agg, whatever backend pyplot may have chosen
    return fig, fig.add_subplot()


def _save(fig: Figure, path) -> Path:
    path = Path(path)
    if path.parent != Path("."):
        _make_dir(path.parent)
    from .io.atomic import write_atomic  # one atomic writer for every file the project writes

    write_atomic(path, lambda fh: fig.savefig(fh, format="png", metadata={"Software": f"backprop {__version__}"}))
    return path


def _make_dir(directory) -> Path:
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise NotADirectoryError(f"cannot write plots to {str(directory)!r}: it exists and is not a directory") from None
    except OSError as exc:
        raise OSError(f"cannot create the plot directory {str(directory)!r}: {exc.strerror or exc}") from None
    if not os.access(directory, os.W_OK | os.X_OK):
        raise PermissionError(f"cannot write plots to {str(directory)!r}: permission denied")
    return directory


# ---------------------------------------------------------------------------
# history
# ---------------------------------------------------------------------------

def _series(epochs: list[dict], key: str) -> tuple[np.ndarray, np.ndarray]:
    """The epochs that recorded ``key`` and its values there (non-finite values as NaN gaps)."""
    pairs = [(e["epoch"], e[key]) for e in epochs if key in e]
    x = np.array([p[0] for p in pairs], dtype=float)
    y = np.array([p[1] for p in pairs], dtype=float)
    y[~np.isfinite(y)] = np.nan
    return x, y


def _draw_curves(ax, history: dict, key: str) -> bool:
    """Draw ``key`` and ``val_key`` against the epoch; return whether anything was drawn."""
    epochs = history["epochs"]
    drawn = False
    for name, style in ((key, _TRAIN_STYLE), (f"val_{key}", _VAL_STYLE)):
        x, y = _series(epochs, name)
        if x.size == 0:
            continue
        marker = "o" if x.size <= 30 else None
        ax.plot(x, y, marker=marker, markersize=3, linewidth=1.5, **style)
        drawn = True
    best = history["best_epoch"]
    if drawn and best is not None:
        ax.axvline(best, color="0.4", linestyle="--", linewidth=1, label=f"best epoch ({best})")
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(True, alpha=0.3)
    return drawn


def _stop_note(history: dict) -> str:
    if not history["stopped_early"]:
        return ""
    last = history["epochs"][-1]["epoch"]
    reason = history["stop_reason"]
    note = f"stopped early after epoch {last}" + (f": {reason}" if reason else "")
    return "\n" + textwrap.fill(note, width=_TITLE_WIDTH)


def plot_history(history: dict, out_dir) -> list[Path]:
    """Draw the loss and metric curves of a training run into ``out_dir``.

    Writes ``loss.png``: the training and validation loss per epoch, on a
    log-scale y axis when the values span more than two decades, with the best
    epoch marked when the history names one. Then, for a classifier,
    ``accuracy.png`` (train and validation accuracy) or, for a regressor,
    ``r2.png`` (train and validation R^2), when the history records them.
    A curve whose key is missing (no validation set, say) is not drawn.

    Parameters
    ----------
    history : dict
        A training history (see the module docstring); validated with
        :func:`check_history`.
    out_dir : str or os.PathLike
        The directory to write to; created with its parents if needed.

    Returns
    -------
    list of pathlib.Path
        The files written, ``loss.png`` first.

    Raises
    ------
    ValueError
        If the history is malformed.
    OSError
        If ``out_dir`` cannot be created or written.
    """
    history = check_history(history)
    out_dir = _make_dir(out_dir)
    written = [_save(_loss_figure(history), out_dir / "loss.png")]
    if history["task"] == "classification":
        name, fig = "accuracy.png", _accuracy_figure(history)
    else:
        name, fig = "r2.png", _r2_figure(history)
    if fig is not None:
        written.append(_save(fig, out_dir / name))
    return written


def _loss_figure(history: dict) -> Figure:
    fig, ax = _new_figure()
    _draw_curves(ax, history, "loss")
    best = history["best_epoch"]
    if best is not None:
        # the point the best epoch was chosen by: validation loss when there is one
        at_best = next(e for e in history["epochs"] if e["epoch"] == best)
        value = at_best.get("val_loss", at_best["loss"])
        if math.isfinite(value):
            ax.plot([best], [value], marker="*", markersize=12, color="C3", linestyle="none",
                    label=f"best: {value:.4g}")
    values = np.concatenate([_series(history["epochs"], k)[1] for k in ("loss", "val_loss")])
    values = values[np.isfinite(values)]
    if values.size and values.min() > 0 and values.max() / values.min() > 10 ** _LOG_SCALE_DECADES:
        ax.set_yscale("log")
        ax.set_ylabel("loss (log scale)")
    else:
        ax.set_ylabel("loss")
    ax.set_title("Loss per epoch" + _stop_note(history), fontsize=11)
    ax.legend()
    return fig


def _accuracy_figure(history: dict) -> Figure | None:
    fig, ax = _new_figure()
    if not _draw_curves(ax, history, "accuracy"):
        return None
    values = np.concatenate([_series(history["epochs"], k)[1] for k in ("accuracy", "val_accuracy")])
    values = values[np.isfinite(values)]
    if values.size and values.min() >= 0 and values.max() <= 1:
        ax.yaxis.set_major_formatter(PercentFormatter(xmax=1))
    ax.set_ylabel("accuracy")
    ax.set_title("Accuracy per epoch" + _stop_note(history), fontsize=11)
    ax.legend()
    return fig


def _r2_figure(history: dict) -> Figure | None:
    fig, ax = _new_figure()
    if not _draw_curves(ax, history, "r2"):
        return None
    values = np.concatenate([_series(history["epochs"], k)[1] for k in ("r2", "val_r2")])
    values = values[np.isfinite(values)]
    title = "R² per epoch"
    # R^2 is unbounded below; a bad first epoch would flatten the rest of the curve
    if values.size and values.min() < -1:
        ax.set_ylim(-1.05, max(1.0, values.max()) + 0.05)
        title += " (values below -1 are off the scale)"
    ax.axhline(1.0, color="0.6", linewidth=0.8)
    ax.set_ylabel("R²")
    ax.set_title(title + _stop_note(history), fontsize=11)
    ax.legend()
    return fig


# ---------------------------------------------------------------------------
# confusion matrix
# ---------------------------------------------------------------------------

def plot_confusion_matrix(matrix, labels, path, title=None) -> Path:
    """Draw a confusion matrix with its counts written in the cells.

    Row ``i`` is the true label ``labels[i]`` and column ``j`` the predicted
    label ``labels[j]``, so ``matrix[i][j]`` counts the samples of class ``i``
    predicted as ``j`` and the diagonal holds the correct predictions.

    Parameters
    ----------
    matrix : array_like, shape (n_classes, n_classes)
        Non-negative counts (or fractions).
    labels : sequence
        The class names, in row/column order.
    path : str or os.PathLike
        The PNG file to write; its directory is created if needed.
    title : str, optional
        Defaults to ``"Confusion matrix"`` with the overall accuracy.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    ValueError
        If the matrix is not square, holds negative or non-finite values, or
        its size does not match ``labels``.
    """
    matrix, labels = _check_confusion(matrix, labels, "the confusion")
    n = len(labels)
    total = matrix.sum()
    if title is None:
        title = "Confusion matrix"
        if total > 0:
            title += f" (accuracy {np.trace(matrix) / total:.1%})"
    side = min(max(4.8, 0.55 * n + 2.5), 16)
    fig, ax = _new_figure(figsize=(side, side * 0.9))
    image = ax.imshow(matrix, cmap="Blues", vmin=0, interpolation="nearest")
    fig.colorbar(image, ax=ax, shrink=0.8, label="count")
    long_labels = max(map(len, labels)) > 3
    ax.set_xticks(range(n), labels, rotation=45 if long_labels else 0,
                  ha="right" if long_labels else "center")
    ax.set_yticks(range(n), labels)
    ax.set_xlabel("predicted label")
    ax.set_ylabel("true label")
    ax.set_title(title)
    if n <= 30:  # beyond this the numbers no longer fit in their cells
        integral = np.all(matrix == np.round(matrix))
        threshold = matrix.max() / 2
        fontsize = 10 if n <= 12 else 7
        for i in range(n):
            for j in range(n):
                text = f"{int(matrix[i, j])}" if integral else f"{matrix[i, j]:.2f}"
                ax.text(j, i, text, ha="center", va="center", fontsize=fontsize,
                        color="white" if matrix[i, j] > threshold else "black")
    return _save(fig, path)


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


def plot_decision_boundary(predict_proba: Callable, X, y, path, classes=None, resolution: int = 200) -> Path:
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
    ax.set_xlabel("x₁")
    ax.set_ylabel("x₂")
    ax.set_title("Decision boundary (shade: predicted class, paler = less confident)", fontsize=10)
    return _save(fig, path)


def plot_regression_fit(predict: Callable, X, y, path) -> Path:
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
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title("Regression fit")
    ax.grid(True, alpha=0.3)
    ax.legend()
    return _save(fig, path)


# ---------------------------------------------------------------------------
# everything at once
# ---------------------------------------------------------------------------

def write_plots(history: dict, out_dir, *, predict_proba: Callable | None = None, X=None, y=None,
                classes=None, predict: Callable | None = None) -> list[Path]:
    """Write every plot a training run supports into ``out_dir``.

    Always the history curves (:func:`plot_history`); ``confusion_matrix.png``
    when the history has a ``confusion_matrix``; ``decision_boundary.png``
    when ``predict_proba`` is given and ``X`` has two columns; and
    ``regression_fit.png`` when ``predict`` is given and ``X`` has one column.

    Parameters
    ----------
    history : dict
        A training history (see the module docstring).
    out_dir : str or os.PathLike
        The directory to write to; created with its parents if needed.
    predict_proba : callable, optional
        A classifier's probabilities, for :func:`plot_decision_boundary`.
    X, y : array_like, optional
        The data drawn under the decision boundary or the regression fit.
    classes : sequence of str, optional
        Class names in the order of the model's outputs.
    predict : callable, optional
        A regressor's predictions, for :func:`plot_regression_fit`.

    Returns
    -------
    list of pathlib.Path
        The files written.

    Raises
    ------
    ValueError
        If the history is malformed, or a model callable is given without ``X``.
    OSError
        If ``out_dir`` cannot be created or written.
    """
    history = check_history(history)  # before creating anything, so bad input leaves no empty folder
    if (predict_proba is not None or predict is not None) and X is None:
        raise ValueError("predict_proba/predict need the data X (and y) to draw against")
    out_dir = _make_dir(out_dir)
    written = plot_history(history, out_dir)
    cm = history.get("confusion_matrix")
    if cm is not None:
        written.append(plot_confusion_matrix(cm["matrix"], cm["labels"], out_dir / "confusion_matrix.png"))
    n_features = None
    if X is not None:
        n_features = 1 if np.ndim(X) == 1 else np.shape(X)[1] if np.ndim(X) == 2 else None
    if predict_proba is not None and n_features == 2:
        written.append(plot_decision_boundary(predict_proba, X, y, out_dir / "decision_boundary.png",
                                              classes=classes))
    if predict is not None and n_features == 1 and y is not None:
        written.append(plot_regression_fit(predict, X, y, out_dir / "regression_fit.png"))
    return written
