"""The confusion matrix of a classifier."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .checks import _check_confusion
from .figure import _new_figure, _save

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
