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

The drawing is split by what it draws: :mod:`.checks` (the inputs, checked),
:mod:`.figure` (what every plot shares), :mod:`.curves`, :mod:`.confusion`,
:mod:`.boundary` and :mod:`.regression`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from .boundary import plot_decision_boundary
from .checks import check_history
from .confusion import plot_confusion_matrix
from .curves import plot_history
from .figure import HISTORY_FILE, METRICS, TASKS, _make_dir
from .regression import plot_regression_fit

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


# ---------------------------------------------------------------------------
# everything at once
# ---------------------------------------------------------------------------

def write_plots(history: dict, out_dir, *, predict_proba: Callable | None = None, X=None, y=None,
                classes=None, predict: Callable | None = None, feature_names=None) -> list[Path]:
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
    feature_names : sequence of str, optional
        The input columns' names, for the axes of those two plots.

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
                                              classes=classes, feature_names=feature_names))
    if predict is not None and n_features == 1 and y is not None:
        written.append(plot_regression_fit(predict, X, y, out_dir / "regression_fit.png",
                                           feature_names=feature_names))
    return written
