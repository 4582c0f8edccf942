"""Scores of a network's outputs: accuracy for classifiers, R^2 and MAE for regressors.

Classifier outputs and targets are matrices with one column per class (one-hot
targets) or one column for a binary sigmoid output (targets 0 or 1).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "predicted_classes", "accuracy", "r2_score", "mean_absolute_error",
    "confusion_matrix", "precision_recall", "is_one_hot",
]


def predicted_classes(outputs: np.ndarray) -> np.ndarray:
    """Class indices: the largest output per row, or ``a >= 0.5`` for a single output."""
    if outputs.shape[1] == 1:
        return (outputs[:, 0] >= 0.5).astype(np.int64)
    return outputs.argmax(axis=1)


def accuracy(outputs: np.ndarray, targets: np.ndarray) -> float:
    """The fraction of samples whose predicted class is the target's class."""
    return float(np.mean(predicted_classes(outputs) == predicted_classes(targets)))


def r2_score(outputs: np.ndarray, targets: np.ndarray) -> float:
    """The coefficient of determination, ``1 - SS_res / SS_tot``, averaged over outputs.

    An output whose targets are constant scores 1 if predicted exactly and 0 otherwise
    (as scikit-learn's ``r2_score``).
    """
    ss_res = ((targets - outputs) ** 2).sum(axis=0)
    ss_tot = ((targets - targets.mean(axis=0)) ** 2).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        scores = np.where(ss_tot > 0, 1.0 - ss_res / np.where(ss_tot > 0, ss_tot, 1.0),
                          np.where(ss_res == 0, 1.0, 0.0))
    return float(scores.mean())


def mean_absolute_error(outputs: np.ndarray, targets: np.ndarray) -> float:
    """The mean of ``|a - y|`` over samples and outputs."""
    return float(np.mean(np.abs(outputs - targets)))


def confusion_matrix(true: np.ndarray, predicted: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts ``C[i, j]`` of samples of class ``i`` predicted as class ``j``."""
    matrix = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(true, dtype=np.int64), np.asarray(predicted, dtype=np.int64)), 1)
    return matrix


def precision_recall(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-class precision ``C[i, i] / sum_k C[k, i]`` and recall ``C[i, i] / sum_k C[i, k]``.

    A class never predicted has precision 0; a class never present has recall 0.
    """
    diag = np.diag(matrix).astype(np.float64)
    predicted = matrix.sum(axis=0)
    actual = matrix.sum(axis=1)
    precision = np.divide(diag, predicted, out=np.zeros_like(diag), where=predicted > 0)
    recall = np.divide(diag, actual, out=np.zeros_like(diag), where=actual > 0)
    return precision, recall


def is_one_hot(Y: np.ndarray) -> bool:
    """Whether every row of ``Y`` has one 1 and zeros elsewhere (or one column of 0/1)."""
    if Y.ndim != 2 or Y.size == 0:
        return False
    binary = np.isin(Y, (0, 1)).all()
    if Y.shape[1] == 1:
        return bool(binary)
    return bool(binary and (Y.sum(axis=1) == 1).all())
