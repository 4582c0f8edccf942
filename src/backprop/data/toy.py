"""The small data sets that scikit-learn ships inside its package (no download).

``digits`` (8x8 images of handwritten digits, the CLI's default), ``iris``,
``wine`` and ``breast_cancer`` are classification sets; ``diabetes`` is a
regression set. Features are returned as scikit-learn gives them, unscaled
(digits pixels are 0..16); scaling is :mod:`backprop.data.preprocessing`'s job.
scikit-learn is imported only when one of these is loaded.
"""

from __future__ import annotations

import numpy as np

from .dataset import Dataset

__all__ = ["TOY_SETS", "load_toy", "load_digits", "load_iris", "load_wine", "load_breast_cancer",
           "load_diabetes"]

# name -> (task, description)
TOY_SETS: dict[str, tuple[str, str]] = {
    "digits": ("classification", "8x8 images of handwritten digits 0-9, pixels 0..16 (UCI, via scikit-learn)"),
    "iris": ("classification", "Fisher's iris flowers: 4 measurements, 3 species (via scikit-learn)"),
    "wine": ("classification", "chemical analysis of wines from 3 cultivars (UCI, via scikit-learn)"),
    "breast_cancer": ("classification",
                      "Wisconsin diagnostic breast cancer: 30 cell-nucleus features, benign or malignant "
                      "(UCI, via scikit-learn)"),
    "diabetes": ("regression",
                 "diabetes progression one year after baseline from 10 measurements (via scikit-learn)"),
}


def load_toy(name: str) -> Dataset:
    """Load one of scikit-learn's bundled sets by name (a key of :data:`TOY_SETS`).

    Raises
    ------
    ValueError
        If the name is unknown.
    ModuleNotFoundError
        If scikit-learn is not installed.
    """
    if name not in TOY_SETS:
        raise ValueError(f"unknown scikit-learn data set {name!r}; expected one of {', '.join(TOY_SETS)}")
    try:
        from sklearn import datasets
    except ImportError as exc:
        raise ModuleNotFoundError(
            f"the {name!r} data set comes from scikit-learn, which could not be imported ({exc}); "
            "install it with: pip install scikit-learn",
            name="sklearn",
        ) from None
    bunch = getattr(datasets, f"load_{name}")()
    task, description = TOY_SETS[name]
    y = np.asarray(bunch.target)
    if task == "classification":
        y = y.astype(np.int64, copy=False)
    feature_names = getattr(bunch, "feature_names", None)
    return Dataset(
        X=np.asarray(bunch.data, dtype=np.float64), y=y, task=task, name=name,
        feature_names=None if feature_names is None else list(feature_names), description=description,
    )


def load_digits() -> Dataset:
    """The 1,797 8x8 digit images: ``X`` (1797, 64) with pixels 0..16, ``y`` the digits 0..9."""
    return load_toy("digits")


def load_iris() -> Dataset:
    """Fisher's iris: ``X`` (150, 4) in cm, ``y`` the species 0, 1, 2."""
    return load_toy("iris")


def load_wine() -> Dataset:
    """The wine recognition set: ``X`` (178, 13), ``y`` the cultivar 0, 1, 2."""
    return load_toy("wine")


def load_breast_cancer() -> Dataset:
    """The Wisconsin breast cancer set: ``X`` (569, 30), ``y`` 0 (malignant) or 1 (benign)."""
    return load_toy("breast_cancer")


def load_diabetes() -> Dataset:
    """The diabetes regression set: ``X`` (442, 10), already centred and scaled by scikit-learn, ``y`` floats."""
    return load_toy("diabetes")
