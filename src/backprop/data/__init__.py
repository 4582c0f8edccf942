"""Data sets: generated ones in the plane, scikit-learn's bundled ones, MNIST, and your own files.

Everything here returns a :class:`Dataset` (``X`` float64, ``y`` labels or
targets, ``task``, ``classes``, ...). :data:`DATASETS` lists the named sets and
:func:`load_dataset` loads one by name; :func:`load_csv` and :func:`load_npz`
read files. The numerical core never imports this package.

>>> from backprop.data import load_dataset
>>> train = load_dataset("moons", n_samples=200, split="train", seed=1)
>>> train.X.shape, train.task
((160, 2), 'classification')
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.validation import check_positive_int, check_rng
from .dataset import TASKS, Dataset, infer_task, split_dataset, train_validation_split
from .columns import ColumnPreprocessing
from .files import load_csv, load_features_csv, load_npz, neutralise_formula, write_predictions_csv
from .generated import GENERATORS, circles, gaussians, moons, sine, spirals, xor
from .mnist import (
    find_mnist_files, load_mnist, mnist_search_paths, read_idx, resolve_data_dir, write_idx,
)
from .preprocessing import (
    PREPROCESSORS, IdentityScaler, MinMaxScaler, Scaler, Standardizer, get_preprocessor,
)
from .table import read_table
from .tabular import load_table, split_table
from .toy import (
    TOY_SETS, load_breast_cancer, load_diabetes, load_digits, load_iris, load_toy, load_wine,
)

__all__ = [
    "DATASETS", "DatasetInfo", "Dataset", "SPLITS", "TASKS", "load_dataset", "infer_task",
    "split_dataset", "train_validation_split",
    "xor", "circles", "moons", "spirals", "gaussians", "sine",
    "load_digits", "load_iris", "load_wine", "load_breast_cancer", "load_diabetes", "load_toy",
    "load_mnist", "read_idx", "write_idx", "resolve_data_dir", "mnist_search_paths", "find_mnist_files",
    "load_csv", "load_npz", "load_features_csv", "write_predictions_csv", "neutralise_formula",
    "read_table", "load_table", "split_table", "ColumnPreprocessing",
    "Scaler", "Standardizer", "MinMaxScaler", "IdentityScaler", "PREPROCESSORS", "get_preprocessor",
]

SPLITS = ("all", "train", "validation", "test")


@dataclass(frozen=True)
class DatasetInfo:
    """What the ``datasets`` command shows about a named set, without loading it.

    ``source`` is ``"generated"``, ``"scikit-learn"`` or ``"mnist"``;
    ``n_samples`` is the size of the whole set (for a generated set, the
    default number drawn); ``n_classes`` is ``None`` for a regression set.
    """

    name: str
    task: str
    source: str
    n_samples: int
    n_features: int
    n_classes: int | None
    description: str


DATASETS: dict[str, DatasetInfo] = {
    info.name: info
    for info in (
        DatasetInfo("digits", "classification", "scikit-learn", 1797, 64, 10, TOY_SETS["digits"][1]),
        DatasetInfo("iris", "classification", "scikit-learn", 150, 4, 3, TOY_SETS["iris"][1]),
        DatasetInfo("wine", "classification", "scikit-learn", 178, 13, 3, TOY_SETS["wine"][1]),
        DatasetInfo("breast_cancer", "classification", "scikit-learn", 569, 30, 2,
                    TOY_SETS["breast_cancer"][1]),
        DatasetInfo("diabetes", "regression", "scikit-learn", 442, 10, None, TOY_SETS["diabetes"][1]),
        DatasetInfo("mnist", "classification", "mnist", 60_000, 784, 10,
                    "28x28 images of handwritten digits, pixels scaled to [0, 1]; fixed splits: train = "
                    "first 50,000, validation = last 10,000, test = the 10,000 t10k images"),
        DatasetInfo("xor", "classification", "generated", 400, 2, 2,
                    "points in [-1, 1]^2 labelled by the exclusive or of their signs"),
        DatasetInfo("circles", "classification", "generated", 400, 2, 2, "two concentric circles"),
        DatasetInfo("moons", "classification", "generated", 400, 2, 2, "two interleaving half circles"),
        DatasetInfo("spirals", "classification", "generated", 400, 2, 2,
                    "interleaved spirals, one class per arm (arms=2 unless given)"),
        DatasetInfo("gaussians", "classification", "generated", 400, 2, 3,
                    "Gaussian blobs on a circle, one class each (centers=3 unless given)"),
        DatasetInfo("sine", "regression", "generated", 200, 1, None, "y = sin x + noise, x in [-pi, pi]"),
    )
}


def load_dataset(name: str, *, split: str = "all", validation_fraction: float = 0.2, seed=0,
                 n_samples: int | None = None, noise: float | None = None, data_dir=None,
                 download: bool = True, verify: bool = True, **options) -> Dataset:
    """Load a named data set, or one split of it.

    Parameters
    ----------
    name : str
        A key of :data:`DATASETS`.
    split : {"all", "train", "validation", "test"}, default "all"
        MNIST has fixed splits (see :func:`load_mnist`). Every other set is
        split by :func:`split_dataset`: ``validation_fraction`` of the
        samples, chosen by a permutation drawn from ``seed``, are
        ``"validation"`` and the rest ``"train"``; only MNIST has ``"test"``.
    validation_fraction : float, default 0.2
        The share of validation samples for a set without a fixed split.
    seed : int, default 0
        Seeds the generator of a generated set, the train/validation split and
        the ``n_samples`` subset; the same seed gives the same data.
    n_samples : int, optional
        For a generated set, how many samples to draw (before splitting). For
        any other set, a random subset of this many rows of the requested
        split (taken after splitting, so that training and validation subsets
        never overlap).
    noise : float, optional
        The noise of a generated set; each generator's default when ``None``.
    data_dir, download, verify
        Passed to :func:`load_mnist`.
    **options
        Further keywords for a generated set's function, such as
        ``arms=3`` for :func:`spirals` or ``centers=4`` for :func:`gaussians`.

    Raises
    ------
    ValueError
        For an unknown name or split, options the set does not take, or an
        ``n_samples`` larger than the split.
    """
    if name not in DATASETS:
        raise ValueError(f"unknown data set {name!r}; expected one of {', '.join(DATASETS)}")
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")
    info = DATASETS[name]
    if info.source != "generated" and (noise is not None or options):
        given = (["noise"] if noise is not None else []) + sorted(options)
        raise ValueError(f"{', '.join(given)} only apply to generated data sets, not to {name!r}")
    if split == "test" and info.source != "mnist":
        raise ValueError(f"{name!r} has no test split; only mnist has one. Use 'train' and 'validation'")

    if info.source == "generated":
        kwargs = dict(options)
        if noise is not None:
            kwargs["noise"] = noise
        data = GENERATORS[name](info.n_samples if n_samples is None else n_samples, seed=seed, **kwargs)
        return _split(data, split, validation_fraction, seed)

    if info.source == "mnist":
        data = load_mnist(split, data_dir, verify=verify, download=download)
    else:
        data = _split(load_toy(name), split, validation_fraction, seed)
    if n_samples is None:
        return data
    return _subset(data, n_samples, split, seed)


def _split(data: Dataset, split: str, fraction: float, seed) -> Dataset:
    if split == "all":
        return data
    train, validation = split_dataset(data, fraction, seed)
    return train if split == "train" else validation


def _subset(data: Dataset, n_samples, split: str, seed) -> Dataset:
    n = check_positive_int(n_samples, "n_samples")
    if n > data.n_samples:
        raise ValueError(f"n_samples={n} but the {split!r} split of {data.name!r} has {data.n_samples} samples")
    rows = np.sort(check_rng(seed).choice(data.n_samples, size=n, replace=False))
    return data.subset(rows)
