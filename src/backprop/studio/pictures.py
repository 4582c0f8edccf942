"""What the page draws, computed by the engine: the boundary grid, each node over the plane, the weights.

For a data set in the plane, one forward pass of the network over a
``GRID x GRID`` grid of points gives the decision boundary (or regression
surface), and the same pass's activations of every node, at every
fourth point, give the small picture of what that node computes. Pictures
travel as bytes (base64), one per grid point, each with the range it was
scaled from.
"""

from __future__ import annotations

import base64

import numpy as np

from ..model import Model
from .build import StudioData, dense_layers
from .settings import feature_matrix

__all__ = ["GRID", "NODE_STEP", "plane_pictures", "line_picture", "network_view"]

GRID = 100       # the boundary is GRID x GRID points
NODE_STEP = 4    # a node's picture takes every NODE_STEP-th point: 25 x 25


def _bytes(values: np.ndarray, lo: float, hi: float) -> str:
    """``values`` scaled from ``[lo, hi]`` to 0..255, as base64."""
    span = hi - lo if hi > lo else 1.0
    q = np.clip(np.rint((values - lo) / span * 255), 0, 255).astype(np.uint8)
    return base64.b64encode(q.tobytes()).decode("ascii")


def grid_points(extent: tuple, n: int = GRID) -> np.ndarray:
    """The grid's points, row by row from the top (largest x2) down, x1 growing along a row."""
    x1 = np.linspace(extent[0], extent[1], n)
    x2 = np.linspace(extent[3], extent[2], n)
    g1, g2 = np.meshgrid(x1, x2)
    return np.column_stack([g1.ravel(), g2.ravel()])


def _picture(values: np.ndarray) -> dict:
    lo, hi = float(values.min()), float(values.max())
    return {"lo": lo, "hi": hi, "data": _bytes(values, lo, hi)}


def plane_pictures(model: Model, data: StudioData, n: int = GRID) -> dict:
    """The boundary and the node pictures for a set in the plane (call with the training held).

    Returns
    -------
    dict
        ``size``; ``output``: ``{"kind": "classes", "class": base64 class
        indices, "confidence": base64 0..255}`` or ``{"kind": "value", "lo",
        "hi", "data"}``; ``nodes``: for the inputs and every layer, a list of
        pictures (``size`` ``ceil(n / NODE_STEP)``).
    """
    points = grid_points(data.extent, n)
    X = feature_matrix(points, data.features)
    net = model.network
    out, trace = net.forward_train(model.transform(X))  # dropout inactive; each layer's z and a kept
    if model.task == "classification":
        if out.shape[1] == 1:  # one sigmoid output: the probability of the second class
            p = np.clip(out[:, 0], 0.0, 1.0)
            cls, conf = (p > 0.5).astype(np.uint8), np.abs(p - 0.5) * 2
        else:
            cls = np.argmax(out, axis=1).astype(np.uint8)
            top = np.clip(np.max(out, axis=1), 0.0, 1.0)
            k = out.shape[1]
            conf = np.clip((top - 1.0 / k) / (1.0 - 1.0 / k), 0.0, 1.0)  # 0 at a tie, 1 when sure
        output = {"kind": "classes", "class": base64.b64encode(cls.tobytes()).decode("ascii"),
                  "confidence": _bytes(conf, 0.0, 1.0)}
    else:
        values = np.asarray(model.decode(out), dtype=np.float64).reshape(-1)
        output = {"kind": "value", **_picture(values)}

    small = np.zeros((n, n), dtype=bool)
    small[::NODE_STEP, ::NODE_STEP] = True
    small = small.ravel()
    layers = [[_picture(X[small, c]) for c in range(X.shape[1])]]
    for cache in (c for c in trace if hasattr(c, "a")):
        a = cache.a[small]
        layers.append([_picture(a[:, j]) for j in range(a.shape[1])])
    return {"size": n, "node_size": int(np.ceil(n / NODE_STEP)), "output": output, "nodes": layers}


def line_picture(model: Model, data: StudioData, n: int = 200) -> dict:
    """For one feature and a regression target: the prediction at ``n`` points across the data."""
    lo, hi = float(data.train.X[:, 0].min()), float(data.train.X[:, 0].max())
    margin = (hi - lo) * 0.05 + 1e-9
    x = np.linspace(lo - margin, hi + margin, n)
    y = np.asarray(model.decode(model.network.forward_unchecked(model.transform(x[:, None]))), dtype=np.float64)
    return {"x": np.round(x, 5).tolist(), "y": np.round(y.reshape(-1), 5).tolist()}


def _rounded(arr) -> list | None:
    if arr is None:
        return None
    return np.round(np.asarray(arr, dtype=np.float64), 5).tolist()


def network_view(model: Model, gradients: list | None = None) -> dict:
    """The weights (and the last batch's gradients, if any) of every layer, for drawing the network."""
    layers = []
    for number, layer in dense_layers(model.network):
        g = gradients[number - 1] if gradients is not None else {"W": None, "b": None}
        layers.append({"layer": number, "activation": layer.activation.name, "W": _rounded(layer.W),
                       "b": _rounded(layer.b), "dW": _rounded(g["W"]), "db": _rounded(g["b"])})
    return {"sizes": model.network.sizes, "layers": layers}
