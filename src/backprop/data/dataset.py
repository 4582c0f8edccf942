"""The :class:`Dataset` record every loader returns, and the train/validation split.

A data set is plain data: a float64 matrix ``X`` of shape ``(n_samples,
n_features)``, a vector ``y`` of targets, and a few words about them. Class
labels stay as the source gives them (ints or strings); turning them into the
one-hot rows a network's output layer compares against is the trainer's job.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field

import numpy as np

from ..core.training import TASKS, split_validation
from ..core.validation import check_rng

__all__ = ["Dataset", "TASKS", "infer_task", "split_dataset", "train_validation_split"]


# More distinct values than this in an integer-valued numeric target reads as a regression target.
MAX_CLASSES_FOR_INFERENCE = 20


@dataclass
class Dataset:
    """Samples and targets, with what a reader needs to know about them.

    Parameters
    ----------
    X : array_like of shape (n_samples, n_features)
        The inputs; stored as a float64 2-D array.
    y : array_like of shape (n_samples,)
        Class labels for a classifier (ints or strings, as the source gives
        them), float targets for a regressor.
    task : {"classification", "regression"}
    name : str
        A short name (``"digits"``, a file's stem).
    feature_names : list of str, optional
        One name per column of ``X``.
    classes : ndarray, optional
        The sorted unique labels of a classifier. Computed from ``y`` when not
        given; a subset of a data set keeps its parent's classes, so that a
        validation split that happens to miss a class still maps labels to the
        same output nodes. Always ``None`` for a regressor.
    description : str
        One line on where the data comes from.
    """

    X: np.ndarray
    y: np.ndarray
    task: str
    name: str
    feature_names: list[str] | None = None
    classes: np.ndarray | None = None
    description: str = field(default="", repr=False)

    def __post_init__(self):
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {', '.join(TASKS)}; got {self.task!r}")
        X = np.asarray(self.X)
        if X.ndim != 2:
            raise ValueError(f"X of data set {self.name!r} must be 2-D; got shape {X.shape}")
        if not (np.issubdtype(X.dtype, np.number) or X.dtype == bool) or np.iscomplexobj(X):
            raise TypeError(f"X of data set {self.name!r} must be real numbers; got dtype {X.dtype}")
        self.X = X.astype(np.float64, copy=False)
        y = np.asarray(self.y)
        if y.ndim != 1:
            raise ValueError(f"y of data set {self.name!r} must be 1-D; got shape {y.shape}")
        if y.shape[0] != X.shape[0]:
            raise ValueError(
                f"data set {self.name!r} has {X.shape[0]} rows in X but {y.shape[0]} targets in y"
            )
        if self.task == "regression":
            if not np.issubdtype(y.dtype, np.number):
                raise TypeError(f"regression targets of {self.name!r} must be numbers; got dtype {y.dtype}")
            y = y.astype(np.float64, copy=False)
            self.classes = None
        elif self.classes is None:
            self.classes = np.unique(y)
        else:
            self.classes = np.asarray(self.classes)
        self.y = y
        if self.feature_names is not None:
            self.feature_names = [str(n) for n in self.feature_names]
            if len(self.feature_names) != X.shape[1]:
                raise ValueError(
                    f"data set {self.name!r} has {X.shape[1]} columns but "
                    f"{len(self.feature_names)} feature names"
                )

    @property
    def n_samples(self) -> int:
        return int(self.X.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.X.shape[1])

    @property
    def n_classes(self) -> int | None:
        """The number of classes of a classifier, ``None`` for a regressor."""
        return None if self.classes is None else int(len(self.classes))

    def subset(self, indices, name: str | None = None) -> "Dataset":
        """Return the rows ``indices`` as a new data set with the same classes."""
        indices = np.asarray(indices)
        return Dataset(
            X=self.X[indices], y=self.y[indices], task=self.task, name=name or self.name,
            feature_names=self.feature_names, classes=self.classes, description=self.description,
        )


def infer_task(values) -> str:
    """Guess whether targets are class labels or regression targets.

    Non-numeric values are labels. Numeric values are regression targets when
    some are not whole numbers or there are more than 20 distinct values;
    otherwise they are labels.
    """
    y = np.asarray(values)
    if not (np.issubdtype(y.dtype, np.number) or y.dtype == bool):
        return "classification"
    if np.issubdtype(y.dtype, np.floating) and not np.all(y == np.round(y)):
        return "regression"
    if len(np.unique(y)) > MAX_CLASSES_FOR_INFERENCE:
        return "regression"
    return "classification"


def _validation_indices(n: int, fraction: float, seed) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(fraction, bool) or not isinstance(fraction, numbers.Real) or not 0.0 < fraction < 1.0:
        raise ValueError(f"validation fraction must be a number strictly between 0 and 1; got {fraction!r}")
    return split_validation(n, fraction, check_rng(seed))  # the one rule: rounded up, seeded


def train_validation_split(X, y, fraction: float, seed=0):
    """Split samples into a training and a validation part by a seeded shuffle.

    ``ceil(fraction * n)`` samples, chosen at random from ``seed``, go to
    validation and the rest to training, by the rule every entry point uses
    (:func:`backprop.core.training.split_validation`); the same seed gives the
    same split. The split is not stratified.

    Parameters
    ----------
    X : ndarray of shape (n_samples, ...)
    y : ndarray of shape (n_samples, ...)
    fraction : float
        The share of samples for validation, strictly between 0 and 1.
    seed : int or numpy.random.Generator, default 0

    Returns
    -------
    X_train, X_validation, y_train, y_validation : ndarray
        In scikit-learn's ``train_test_split`` order.
    """
    X = np.asarray(X)
    y = np.asarray(y)
    if X.shape[:1] != y.shape[:1]:
        raise ValueError(f"X has {X.shape[0]} rows but y has {y.shape[0]}; they must match")
    train, validation = _validation_indices(X.shape[0], fraction, seed)
    return X[train], X[validation], y[train], y[validation]


def split_dataset(dataset: Dataset, fraction: float, seed=0) -> tuple[Dataset, Dataset]:
    """Split a :class:`Dataset` as :func:`train_validation_split` does; both parts keep its classes."""
    train, validation = _validation_indices(dataset.n_samples, fraction, seed)
    return dataset.subset(train), dataset.subset(validation)
