"""MLPClassifier: classes in, probabilities out, trained by the one loop."""

from __future__ import annotations

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import (
    check_classification_targets,
    type_of_target,
    unique_labels,
)
from sklearn.utils.validation import column_or_1d

from ..core.activations import Activation, Softmax, Softplus, get_activation
from ..core.training import balanced_class_weights
from .base import BaseMLP, stochastic
from .params import ATTRIBUTES_DOC, FIT_KEYWORDS_DOC, PARAMETERS_DOC, number

__all__ = ["MLPClassifier"]


class MLPClassifier(ClassifierMixin, BaseMLP):
    __doc__ = (
        """A feed-forward classifier trained by backpropagation, in scikit-learn's API.

    The output layer has one node per class with softmax and cross-entropy by
    default. A sigmoid output layer has one node for two classes (the
    probability of ``classes_[1]``) and one node per class otherwise, which
    :meth:`predict_proba` divides by their sum.
"""
        + PARAMETERS_DOC.format(
            loss_default="cross_entropy",
            output_doc="``softmax`` or ``sigmoid``; None means sigmoid for\n"
                       "        ``binary_cross_entropy`` and softmax otherwise.")
        + """    class_weight : dict, "balanced" or None, default None
        Weights per class that multiply the sample weights; ``"balanced"`` is
        ``n_samples / (n_classes * count of the class)`` (not with ``partial_fit``).
"""
        + ATTRIBUTES_DOC
        + """    classes_ : ndarray
        The class labels, in the order of ``predict_proba``'s columns.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from backprop.sklearn import MLPClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = MLPClassifier((16,), activation="tanh", max_iter=300, random_state=0).fit(X, y)
    >>> clf.predict_proba(X[:2]).shape
    (2, 3)
"""
    )

    _task = "classification"

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, loss="cross_entropy",
                 output_activation=None, bias=True, solver="adam", learning_rate_init=0.001,
                 alpha=0.0001, batch_size="auto", max_iter=200, shuffle=True, random_state=None,
                 tol=1e-4, n_iter_no_change=10, early_stopping=False, validation_fraction=None,
                 momentum=0.9, beta_1=0.9, beta_2=0.999, epsilon=1e-8, dropout=0.0, class_weight=None,
                 callbacks=None, dtype=None, warm_start=False, verbose=False,
                 learning_rate="constant", power_t=0.5, max_fun=15000, nesterovs_momentum=True,
                 clip_norm=None, reduce_lr_on_plateau=None, init="glorot_uniform"):
        super().__init__(
            hidden_layer_sizes, activation, loss=loss, output_activation=output_activation, bias=bias,
            solver=solver, learning_rate_init=learning_rate_init, alpha=alpha, batch_size=batch_size,
            max_iter=max_iter, shuffle=shuffle, random_state=random_state, tol=tol,
            n_iter_no_change=n_iter_no_change, early_stopping=early_stopping,
            validation_fraction=validation_fraction, momentum=momentum, beta_1=beta_1, beta_2=beta_2,
            epsilon=epsilon, dropout=dropout, callbacks=callbacks, dtype=dtype, warm_start=warm_start,
            verbose=verbose, learning_rate=learning_rate, power_t=power_t, max_fun=max_fun,
            nesterovs_momentum=nesterovs_momentum, clip_norm=clip_norm,
            reduce_lr_on_plateau=reduce_lr_on_plateau, init=init)
        self.class_weight = class_weight

    def fit(self, X, y, sample_weight=None, *, validation_data=None, comm=None, checkpoint=None,
            checkpoint_every=1):
        """Train on ``X`` and the class labels ``y``; return ``self``.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
        y : array_like of shape (n_samples,)
            Class labels (numbers or strings); at least two classes.
        sample_weight : array_like of shape (n_samples,), optional
            Non-negative weights; an integer weight counts as that many copies of the sample.
        validation_data : tuple (X_val, y_val), optional
            A validation set of raw features (inside a Pipeline, prefer
            ``validation_fraction``: these are not passed through the earlier steps).
        """
        classes = None
        if comm is not None and np.ndim(y) == 1:
            classes = shard_classes(y, comm)  # a shard may lack some class
        return self._fit(X, y, sample_weight, incremental=False, classes=classes,
                         validation_data=validation_data, comm=comm, checkpoint=checkpoint,
                         checkpoint_every=checkpoint_every)

    fit.__doc__ = fit.__doc__.rstrip() + "\n" + FIT_KEYWORDS_DOC  # comm, checkpoint: said once

    @available_if(stochastic)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch over ``X``, ``y`` from the current weights and optimizer state; return ``self``.

        Parameters
        ----------
        classes : array_like, optional
            Every class label; required on the first call, since a batch may not hold them all.
        """
        if hasattr(self, "classes_") and classes is not None and hasattr(self, "network_") and not \
                np.array_equal(self.classes_, unique_labels(np.asarray(classes))):
            raise ValueError(f"`classes={list(classes)}` is not the same as on last call to "
                             f"partial_fit, was: {self.classes_}")
        if not hasattr(self, "network_") and classes is None:
            raise ValueError("classes must be given on the first call to partial_fit: every class label, "
                             "since one batch may not hold them all")
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    def predict_proba(self, X) -> np.ndarray:
        """The probability of each class, columns in the order of ``classes_``."""
        z, a = self._outputs(X)
        if self._multilabel():
            return a  # each label's own probability
        return _probabilities(z, a, self.network_.layers[-1].activation.name)

    def predict_log_proba(self, X) -> np.ndarray:
        """``log(predict_proba(X))``."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X) -> np.ndarray:
        """The most probable class for each sample."""
        probabilities = self.predict_proba(X)
        if self._multilabel():
            return (probabilities > 0.5).astype(int)  # the label indicator matrix
        return self.classes_[np.argmax(probabilities, axis=1)]

    def _output_activation(self) -> Activation:
        """Softmax over the classes; for two classes or a label matrix, sigmoid nodes (scikit-learn's)."""
        spec = self.output_activation
        if spec is None:
            independent = getattr(self, "_kind", "multiclass") in ("binary", "multilabel")
            spec = "sigmoid" if independent or self._named_loss() == "binary_cross_entropy" else "softmax"
        activation = get_activation(spec)
        if activation.name not in ("softmax", "sigmoid"):
            raise ValueError(f"a classifier's output_activation must be softmax or sigmoid (outputs that "
                             f"are probabilities); got {spec!r}")
        return activation

    def _named_loss(self) -> str:
        return super()._loss().name

    def _loss(self):
        # The default cross-entropy of sigmoid outputs chosen here is binary cross-entropy: the
        # cross-entropy of each node's two outcomes. An explicit sigmoid keeps the loss it was given.
        loss = super()._loss()
        if (loss.name == "cross_entropy" and self.output_activation is None
                and getattr(self, "_kind", "multiclass") in ("binary", "multilabel")):
            from ..core.losses import get_loss
            return get_loss("binary_cross_entropy")
        return loss

    def _multilabel(self) -> bool:
        return getattr(self, "_kind", None) == "multilabel"

    def _targets(self, y, first, classes=None):
        dtype = self._dtype
        y = np.asarray(y) if not hasattr(y, "toarray") else y.toarray()
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)  # scikit-learn warns that a column should be 1-D
        kind = type_of_target(y)
        if y.ndim == 2:
            if kind != "multilabel-indicator":
                raise ValueError(f"y is a 2-D array of type {kind!r}; a classifier takes class labels "
                                 f"(1-D) or a label indicator matrix of 0s and 1s")
            if first:
                self.classes_, self._kind, self.n_outputs_ = np.arange(y.shape[1]), "multilabel", y.shape[1]
            elif not self._multilabel() or y.shape[1] != len(self.classes_):
                raise ValueError(f"y has {y.shape[1]} label columns but the classifier was trained with "
                                 f"{len(self.classes_)}")
            return y.astype(dtype)
        check_classification_targets(y)
        if first:
            labels = unique_labels(y) if classes is None else unique_labels(np.asarray(classes))
            if len(labels) < 2:
                raise ValueError(f"MLPClassifier needs at least two classes; got 1 class ({labels[0]!r})")
            self.classes_ = labels
            self._kind = "binary" if len(labels) == 2 else "multiclass"
            self.n_outputs_ = 1 if self._sigmoid_binary() else len(labels)
        elif self.warm_start and classes is None and hasattr(self, "network_") and \
                not np.array_equal(unique_labels(y), self.classes_):
            raise ValueError(f"warm_start can only be used where `y` has the same classes as in the "
                             f"previous call to fit. Previously got {self.classes_}, `y` has "
                             f"{unique_labels(y)}")
        unknown = np.setdiff1d(unique_labels(y), self.classes_)
        if unknown.size:
            raise ValueError(f"y holds labels {unknown.tolist()[:5]} that are not among the classes "
                             f"{self.classes_.tolist()} of the first fit")
        index = np.searchsorted(self.classes_, y)
        if self._sigmoid_binary():
            return index.reshape(-1, 1).astype(dtype)
        return np.eye(len(self.classes_), dtype=dtype)[index]

    def _sigmoid_binary(self) -> bool:
        return len(self.classes_) == 2 and self._output_activation().name == "sigmoid"

    def _sample_weight(self, sample_weight, n, Y, incremental, comm=None):
        weights = super()._sample_weight(sample_weight, n, Y, incremental, comm)
        if self._multilabel():
            return weights
        # A partial_fit batch may hold one class; a whole training set (all shards together) may not.
        present = _class_index(Y) if weights is None else _class_index(Y)[weights > 0]
        counts = np.bincount(present, minlength=len(self.classes_)).astype(np.float64)
        if comm is not None:
            counts = comm.allreduce_sum(counts)
        if not incremental and np.count_nonzero(counts) < 2:
            raise ValueError("only one class has samples with positive weight; a classifier needs at "
                             "least two classes to learn from")
        return weights

    def _class_weights(self, Y, incremental, comm=None):
        if self.class_weight is None:
            return None
        index = np.arange(len(self.classes_))
        if isinstance(self.class_weight, str):
            if self.class_weight != "balanced":
                raise ValueError(f"class_weight must be None, 'balanced' or a dict {{label: weight}}; "
                                 f"got {self.class_weight!r}")
            if incremental:
                raise ValueError("class_weight='balanced' needs the whole training set; with partial_fit "
                                 "give a dict {label: weight}")
            return balanced_class_weights(_class_index(Y), len(index),
                                          None if comm is None else comm.allreduce_sum)
        return _class_weight_vector(self.class_weight, self.classes_)

    def _weights_of(self, Y):
        return None if self._per_class_weight is None else self._per_class_weight[_class_index(Y)]


# -- helpers for the classifier ------------------------------------------------------


def shard_classes(y, comm) -> np.ndarray:
    """Every class label of a data-parallel run: the union over the processes' shards."""
    gather = getattr(comm, "allgather", None)
    if gather is None:
        raise ValueError("a classifier trained with comm learns its classes from every shard, so the "
                         "communicator needs allgather (backprop.distributed.MPICommunicator has it)")
    return unique_labels(*[np.asarray(labels) for labels in gather(unique_labels(np.asarray(y)))])


def _probabilities(z: np.ndarray, a: np.ndarray, out_activation: str) -> np.ndarray:
    """Class probabilities from the output layer's ``z`` and ``a``.

    Softmax outputs are probabilities already. One sigmoid node is the
    probability of the second class, ``[1 - a, a]``. Several sigmoid nodes are
    divided by their sum, computed as ``softmax(log a)`` with
    ``log a = log sigmoid(z) = -softplus(-z)``, which stays finite where every
    ``a_j`` rounds to 0.
    """
    if out_activation == "softmax":
        return a
    if a.shape[1] == 1:
        return np.hstack([1.0 - a, a])
    return Softmax().value(-Softplus().value(-z))


def _class_index(Y: np.ndarray) -> np.ndarray:
    """Class indices from one-hot rows, or from the 0/1 column of a single sigmoid node."""
    return Y[:, 0].astype(np.int64) if Y.shape[1] == 1 else Y.argmax(axis=1)


def _class_weight_vector(class_weight: dict, classes: np.ndarray) -> np.ndarray:
    """``{label: weight}`` as one weight per class (1 for classes it leaves out)."""
    if not isinstance(class_weight, dict):
        raise ValueError(f"class_weight must be None, 'balanced' or a dict {{label: weight}}; "
                         f"got {class_weight!r}")
    positions = {label: i for i, label in enumerate(classes.tolist())}
    weights = np.ones(len(classes))
    for label, weight in class_weight.items():
        if _plain(label) not in positions:
            raise ValueError(f"class_weight names the label {label!r}, which is not among the classes "
                             f"{classes.tolist()}")
        weights[positions[_plain(label)]] = number(weight, f"class_weight[{label!r}]", low=0)
    return weights


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value
