"""Loss and metric curves of a training history."""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, PercentFormatter

from .checks import check_history
from .figure import (
    _LOG_SCALE_DECADES,
    _TITLE_WIDTH,
    _TRAIN_STYLE,
    _VAL_STYLE,
    _make_dir,
    _new_figure,
    _save,
)

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
