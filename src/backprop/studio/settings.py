"""What the page may ask for: the data, the network and the training options, checked.

The page sends its settings as one JSON object. :func:`parse_settings` reads it
into a :class:`Settings`, naming the first bad value in words; nothing is built
from settings that did not pass. This module imports no web code, so the
checks are tested on their own.
"""

from __future__ import annotations

import inspect
import math
import numbers
from dataclasses import asdict, dataclass, field

import numpy as np

from ..core import ACTIVATIONS, LOSSES, OPTIMIZERS, Network
from ..data import DATASETS

__all__ = ["Settings", "parse_settings", "FEATURES", "PLANE_SETS", "OTHER_SETS", "LIMITS", "dropout_supported",
           "feature_matrix", "options"]

# The data sets drawn in the plane, and the others the page offers. MNIST is left out: 784 inputs are
# too many to draw, and its files may have to be downloaded first (use `backprop train` for it).
PLANE_SETS = ("moons", "circles", "spirals", "xor", "gaussians")
OTHER_SETS = ("sine", "iris", "wine", "breast_cancer", "digits", "diabetes")
UPLOAD = "upload"

# The input features of a set in the plane, computed from its two coordinates (as TensorFlow
# Playground offers them).
FEATURES = {
    "x1": lambda X: X[:, 0],
    "x2": lambda X: X[:, 1],
    "x1^2": lambda X: X[:, 0] ** 2,
    "x2^2": lambda X: X[:, 1] ** 2,
    "x1*x2": lambda X: X[:, 0] * X[:, 1],
    "sin(x1)": lambda X: np.sin(X[:, 0]),
    "sin(x2)": lambda X: np.sin(X[:, 1]),
}

LIMITS = {
    "hidden_layers": 6,      # hidden layers at most
    "nodes": 64,             # nodes per hidden layer at most
    "n_samples": (20, 5000),  # points of a generated set
    "noise": (0.0, 2.0),
    "validation": (0.0, 0.9),
    "lr": (0.0, 10.0),       # exclusive, inclusive
    "l2": (0.0, 1.0),
    "batch_size": (1, 10_000),
    "seed": (0, 2**32 - 1),
}


def dropout_supported() -> bool:
    """Whether this engine's ``Network.from_sizes`` takes ``dropout=``."""
    return "dropout" in inspect.signature(Network.from_sizes).parameters


@dataclass
class Settings:
    """Everything the page sets, as plain data (sent back to the page, kept in saved models)."""

    dataset: str = "moons"
    n_samples: int = 400
    noise: float = 0.1
    validation: float = 0.2
    features: list = field(default_factory=lambda: ["x1", "x2"])
    hidden: list = field(default_factory=lambda: [4, 4])
    activations: list = field(default_factory=lambda: ["tanh", "tanh"])
    output_activation: str = "auto"
    loss: str = "auto"
    bias: bool = True
    optimizer: str = "sgd"
    lr: float = 0.1
    batch_size: int = 10
    l2: float = 0.0
    dropout: float = 0.0
    seed: int = 0

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def in_plane(self) -> bool:
        return self.dataset in PLANE_SETS


def options() -> dict:
    """The choices the page's controls offer."""
    return {
        "plane_sets": list(PLANE_SETS), "other_sets": list(OTHER_SETS),
        "descriptions": {name: DATASETS[name].description for name in (*PLANE_SETS, *OTHER_SETS)},
        "features": list(FEATURES), "activations": sorted(ACTIVATIONS), "losses": sorted(LOSSES),
        "optimizers": sorted(OPTIMIZERS), "limits": LIMITS, "dropout": dropout_supported(),
        "defaults": Settings().to_dict(),
    }


def feature_matrix(X: np.ndarray, features: list) -> np.ndarray:
    """The chosen features of points in the plane, one column each."""
    return np.column_stack([FEATURES[name](X) for name in features])


def _number(raw: dict, key: str, default, kind=float, low=None, high=None, low_open=False):
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        if isinstance(value, str):
            try:
                value = float(value) if kind is float else int(value)
            except ValueError:
                raise ValueError(f"{key} must be a number; got {value!r}") from None
        else:
            raise ValueError(f"{key} must be a number; got {value!r}")
    if kind is int:
        if isinstance(value, float) and not value.is_integer():
            raise ValueError(f"{key} must be a whole number; got {value!r}")
        value = int(value)
    elif not math.isfinite(value):
        raise ValueError(f"{key} must be a finite number; got {value!r}")
    value = kind(value)
    if low is not None and (value < low or (low_open and value == low)) or high is not None and value > high:
        bracket = "(" if low_open else "["
        raise ValueError(f"{key} must be in {bracket}{low}, {high}]; got {value!r}")
    return value


def _choice(raw: dict, key: str, default, choices) -> str:
    value = raw.get(key, default)
    if value not in choices:
        raise ValueError(f"{key} must be one of {', '.join(map(str, choices))}; got {value!r}")
    return value


def parse_settings(raw, *, uploaded: bool = False) -> Settings:
    """Check the page's settings and return them; missing keys take their defaults.

    Parameters
    ----------
    raw : dict
        The JSON object the page sent.
    uploaded : bool
        Whether a CSV file has been uploaded, so that ``dataset="upload"`` is allowed.

    Raises
    ------
    ValueError
        Naming the first bad value and what was expected.
    """
    if not isinstance(raw, dict):
        raise ValueError(f"settings must be a JSON object; got {type(raw).__name__}")
    d = Settings()
    unknown = sorted(set(raw) - set(d.to_dict()))
    if unknown:
        raise ValueError(f"unknown setting(s) {', '.join(map(repr, unknown))}")
    sets = (*PLANE_SETS, *OTHER_SETS, *((UPLOAD,) if uploaded else ()))
    dataset = _choice(raw, "dataset", d.dataset, sets)
    n_samples = _number(raw, "n_samples", d.n_samples, int, *LIMITS["n_samples"])
    noise = _number(raw, "noise", d.noise, float, *LIMITS["noise"])
    validation = _number(raw, "validation", d.validation, float, *LIMITS["validation"])

    features = raw.get("features", d.features)
    if not isinstance(features, list) or not features or any(f not in FEATURES for f in features):
        raise ValueError(f"features must be a non-empty list of {', '.join(FEATURES)}; got {features!r}")
    if len(set(features)) != len(features):
        raise ValueError(f"features lists one more than once: {features!r}")
    features = [f for f in FEATURES if f in features]  # one order, whatever the page sent

    hidden = raw.get("hidden", d.hidden)
    if not isinstance(hidden, list) or len(hidden) > LIMITS["hidden_layers"]:
        raise ValueError(f"hidden must be a list of at most {LIMITS['hidden_layers']} layer sizes; got {hidden!r}")
    for i, n in enumerate(hidden):
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= LIMITS["nodes"]:
            raise ValueError(f"hidden layer {i + 1} must have 1 to {LIMITS['nodes']} nodes; got {n!r}")
    activations = raw.get("activations", [d.activations[0]] * len(hidden))
    if not isinstance(activations, list) or len(activations) != len(hidden):
        raise ValueError(f"activations must list one activation per hidden layer ({len(hidden)}); "
                         f"got {activations!r}")
    for i, name in enumerate(activations):
        if name not in ACTIVATIONS or name == "softmax":
            choices = ", ".join(a for a in sorted(ACTIVATIONS) if a != "softmax")
            raise ValueError(f"the activation of hidden layer {i + 1} must be one of {choices}; got {name!r}")
    output_activation = _choice(raw, "output_activation", d.output_activation, ("auto", *sorted(ACTIVATIONS)))
    loss = _choice(raw, "loss", d.loss, ("auto", *sorted(LOSSES)))
    bias = raw.get("bias", d.bias)
    if not isinstance(bias, bool):
        raise ValueError(f"bias must be true or false; got {bias!r}")

    optimizer = _choice(raw, "optimizer", d.optimizer, sorted(OPTIMIZERS))
    lr = _number(raw, "lr", d.lr, float, *LIMITS["lr"], low_open=True)
    batch_size = _number(raw, "batch_size", d.batch_size, int, *LIMITS["batch_size"])
    l2 = _number(raw, "l2", d.l2, float, *LIMITS["l2"])
    dropout = _number(raw, "dropout", d.dropout, float, 0.0, 0.9)
    if dropout and not dropout_supported():
        raise ValueError("dropout is not available in this version of backprop; set it to 0")
    seed = _number(raw, "seed", d.seed, int, *LIMITS["seed"])
    return Settings(dataset=dataset, n_samples=n_samples, noise=noise, validation=validation,
                    features=features, hidden=list(hidden), activations=list(activations),
                    output_activation=output_activation, loss=loss, bias=bias, optimizer=optimizer, lr=lr,
                    batch_size=batch_size, l2=l2, dropout=dropout, seed=seed)
