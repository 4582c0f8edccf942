"""From checked settings to data and a model: the same pieces ``backprop train`` uses.

The data comes from :func:`backprop.data.load_dataset` (or an uploaded CSV
read by :func:`backprop.data.load_csv`), is split by
:func:`backprop.data.split_dataset`, and the network is built by
:meth:`backprop.Network.from_sizes` and wrapped in a :class:`backprop.Model`
with a standardizing scaler fitted on the training part, so that the model the
page trains is the one ``train --out`` would save.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core import Network, get_activation
from ..data import Dataset, load_dataset, split_dataset
from ..data.preprocessing import get_preprocessor
from ..model import Model
from .settings import UPLOAD, Settings, dropout_supported, feature_matrix

__all__ = ["StudioData", "load_data", "build_model", "dense_layers", "plane_extent"]


@dataclass
class StudioData:
    """The data of a session.

    ``train`` and ``validation`` hold the features as the model takes them
    (before its scaler); for a set in the plane, ``points`` and
    ``val_points`` are the raw coordinates, drawn on the page, and ``extent``
    is the square the boundary is drawn over.
    """

    name: str
    train: Dataset
    validation: Dataset | None
    features: list | None = None
    points: np.ndarray | None = None
    val_points: np.ndarray | None = None
    extent: tuple | None = None
    line: bool = False        # one feature and a regression target: drawn as y against x

    @property
    def task(self) -> str:
        return self.train.task

    @property
    def classes(self) -> list | None:
        return None if self.train.classes is None else [c.item() if isinstance(c, np.generic) else c
                                                        for c in self.train.classes]

    def describe(self) -> dict:
        """Plain data for the page."""
        out = {"name": self.name, "task": self.task, "classes": self.classes,
               "n_train": self.train.n_samples, "n_validation": 0 if self.validation is None else
               self.validation.n_samples, "feature_names": self.train.feature_names,
               "in_plane": self.points is not None}
        out["in_line"] = self.line
        if self.line:
            out.update(extent=_padded(self.train.X[:, 0]),
                       line_points=_line_points(self.train), val_line_points=None if self.validation is None
                       else _line_points(self.validation))
        if self.points is not None:
            out.update(extent=list(self.extent), points=_points(self.points, self.train.y),
                       val_points=None if self.validation is None else _points(self.val_points, self.validation.y))
        return out


def _points(X: np.ndarray, y: np.ndarray) -> list:
    return [[round(float(a), 4), round(float(b), 4), (v.item() if isinstance(v, np.generic) else v)]
            for (a, b), v in zip(X, y)]


def _line_points(data: Dataset) -> list:
    return [[round(float(x), 4), round(float(y), 4)] for x, y in zip(data.X[:, 0], data.y)]


def _padded(x: np.ndarray) -> list:
    lo, hi = float(x.min()), float(x.max())
    margin = (hi - lo) * 0.05 + 1e-9
    return [lo - margin, hi + margin]


def plane_extent(X: np.ndarray) -> tuple:
    """A square around the points, with a margin: ``(x1_min, x1_max, x2_min, x2_max)``."""
    lo, hi = X.min(axis=0), X.max(axis=0)
    centre, half = (lo + hi) / 2, float(np.max(hi - lo)) / 2 * 1.1 + 1e-9
    return (float(centre[0] - half), float(centre[0] + half), float(centre[1] - half), float(centre[1] + half))


def load_data(settings: Settings, uploaded: Dataset | None = None) -> StudioData:
    """Load, split and (for a set in the plane) compute the features of the chosen data set."""
    if settings.dataset == UPLOAD:
        if uploaded is None:
            raise ValueError("no CSV file has been uploaded; upload one first")
        data = uploaded
    elif settings.in_plane:
        data = load_dataset(settings.dataset, n_samples=settings.n_samples, noise=settings.noise,
                            seed=settings.seed)
    else:
        data = load_dataset(settings.dataset, seed=settings.seed)
    if settings.validation > 0:
        train, validation = split_dataset(data, settings.validation, settings.seed)
    else:
        train, validation = data, None
    # A set in the plane, or an uploaded CSV with two feature columns, gets the plane's features and pictures.
    if not (settings.in_plane or (settings.dataset == UPLOAD and data.n_features == 2)):
        return StudioData(data.name, train, validation, line=data.n_features == 1 and data.task == "regression")
    names = list(settings.features)

    def featured(part: Dataset) -> Dataset:
        return Dataset(X=feature_matrix(part.X, names), y=part.y, task=part.task, name=part.name,
                       feature_names=names, classes=part.classes)

    return StudioData(data.name, featured(train), None if validation is None else featured(validation),
                      features=names, points=train.X, val_points=None if validation is None else validation.X,
                      extent=plane_extent(data.X))


def _output(settings: Settings, data: StudioData) -> tuple[int, str, str]:
    """The output size, activation and loss for the task, unless the settings name them."""
    if data.task == "classification":
        loss = "cross_entropy" if settings.loss == "auto" else settings.loss
        n_classes = len(data.classes)
        n_out = 1 if n_classes == 2 and loss == "binary_cross_entropy" else n_classes
        default_out = "softmax" if loss == "cross_entropy" else "sigmoid"
    else:
        loss = "mse" if settings.loss == "auto" else settings.loss
        n_out, default_out = 1, "identity"
    out = default_out if settings.output_activation == "auto" else settings.output_activation
    return n_out, out, loss


def dense_layers(net: Network) -> list[tuple[int, object]]:
    """``(number, layer)`` for each layer with weights; the number is 1-based, as the explanation names them."""
    return [(i + 1, layer) for i, layer in enumerate(net.layers) if hasattr(layer, "W")]


def build_model(settings: Settings, data: StudioData) -> Model:
    """A new model for the data, its scaler fitted on the training part.

    Every hidden layer gets its own activation: the network is built with the
    first one and the others are set on their layers (initial weights follow
    the first layer's activation).
    """
    if data.task == "regression" and data.train.y.ndim != 1:
        raise ValueError("the studio trains on one regression target at a time")
    n_out, out_activation, loss = _output(settings, data)
    sizes = [data.train.n_features, *settings.hidden, n_out]
    hidden_activation = settings.activations[0] if settings.hidden else out_activation
    extra = {"dropout": settings.dropout} if settings.dropout and dropout_supported() else {}
    net = Network.from_sizes(sizes, activation=hidden_activation, output_activation=out_activation, loss=loss,
                             bias=settings.bias, seed=settings.seed, dtype="float64", **extra)
    for (_, layer), name in zip(dense_layers(net), settings.activations):
        if layer.activation.name != name:
            layer.activation = get_activation(name)
    model = Model(net, task=data.task, classes=data.classes, preprocessor=get_preprocessor("standardize"))
    model.fit_preprocessing(data.train.X, data.train.y)
    return model
