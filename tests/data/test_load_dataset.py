"""The registry, load_dataset, and the seeded train/validation split."""

import ast
from pathlib import Path

import math

import numpy as np
import pytest
from hypothesis import given, strategies as st

import backprop.data as data
from backprop.data import DATASETS, Dataset, load_dataset, split_dataset, train_validation_split
from backprop.data.mnist import write_idx

CORE = Path(data.__file__).parents[1] / "core"


@given(n=st.integers(2, 200), fraction=st.floats(0.01, 0.99), seed=st.integers(0, 2**32 - 1))
def test_split_is_a_seeded_partition(n, fraction, seed):
    X = np.arange(n * 2).reshape(n, 2)
    y = np.arange(n)
    n_validation = math.ceil(fraction * n - 1e-9)  # the one rule: rounded up
    if not 1 <= n_validation <= n - 1:
        with pytest.raises(ValueError, match="both need at least one"):
            train_validation_split(X, y, fraction, seed)
        return
    X_train, X_val, y_train, y_val = train_validation_split(X, y, fraction, seed)
    assert len(y_val) == n_validation and len(y_train) == n - n_validation
    assert sorted(np.concatenate([y_train, y_val]).tolist()) == list(range(n))
    np.testing.assert_array_equal(X_train[:, 1] // 2, y_train)  # rows stay with their targets
    again = train_validation_split(X, y, fraction, seed)
    np.testing.assert_array_equal(again[3], y_val)


def test_split_depends_on_the_seed_and_checks_its_arguments():
    y = np.arange(100)
    a = train_validation_split(y[:, None], y, 0.3, 0)[3]
    b = train_validation_split(y[:, None], y, 0.3, 1)[3]
    assert not np.array_equal(np.sort(a), np.sort(b))
    with pytest.raises(ValueError, match="strictly between 0 and 1; got 1.5"):
        train_validation_split(y[:, None], y, 1.5, 0)
    with pytest.raises(ValueError, match="X has 100 rows but y has 99"):
        train_validation_split(y[:, None], y[:-1], 0.5, 0)


def test_subsets_keep_the_parent_classes():
    parent = Dataset(X=np.zeros((10, 1)), y=np.array([0] * 9 + [2]), task="classification", name="p")
    train, validation = split_dataset(parent, 0.1, seed=0)
    assert parent.classes.tolist() == [0, 2]
    assert train.classes.tolist() == validation.classes.tolist() == [0, 2]


def test_dataset_checks_its_fields():
    with pytest.raises(ValueError, match="3 rows in X but 2 targets"):
        Dataset(X=np.zeros((3, 1)), y=[0, 1], task="classification", name="d")
    with pytest.raises(ValueError, match="task must be one of"):
        Dataset(X=np.zeros((2, 1)), y=[0, 1], task="ranking", name="d")
    with pytest.raises(ValueError, match="2 columns but 1 feature names"):
        Dataset(X=np.zeros((2, 2)), y=[0, 1], task="classification", name="d", feature_names=["a"])
    reg = Dataset(X=[[1], [2]], y=[1, 2], task="regression", name="d", classes=[1, 2])
    assert reg.classes is None and reg.y.dtype == np.float64 and reg.X.dtype == np.float64


@pytest.mark.parametrize("name", ["moons", "iris", "sine", "diabetes"])
def test_train_and_validation_are_disjoint_and_cover_the_set(name):
    everything = load_dataset(name, seed=5)
    train = load_dataset(name, split="train", seed=5)
    validation = load_dataset(name, split="validation", seed=5)
    assert train.n_samples + validation.n_samples == everything.n_samples
    assert validation.n_samples == math.ceil(0.2 * everything.n_samples)
    rows = {tuple(r) for r in everything.X}
    assert {tuple(r) for r in train.X} | {tuple(r) for r in validation.X} == rows
    assert not {tuple(r) for r in train.X} & {tuple(r) for r in validation.X}
    np.testing.assert_array_equal(load_dataset(name, split="train", seed=5).X, train.X)


def test_generated_options_reach_the_generator():
    loaded = load_dataset("spirals", n_samples=90, noise=0.0, arms=3, seed=2)
    assert loaded.n_samples == 90 and loaded.classes.tolist() == [0, 1, 2]
    assert np.array_equal(loaded.X, data.spirals(90, noise=0.0, arms=3, seed=2).X)


def test_n_samples_is_a_seeded_subset_of_the_split():
    a = load_dataset("digits", split="train", n_samples=100, seed=1)
    b = load_dataset("digits", split="train", n_samples=100, seed=1)
    full = load_dataset("digits", split="train", seed=1)
    assert a.n_samples == 100 and a.n_features == 64 and np.array_equal(a.X, b.X)
    assert {tuple(r) for r in a.X} <= {tuple(r) for r in full.X}
    with pytest.raises(ValueError, match="n_samples=5000 but the 'train' split of 'digits' has 1437"):
        load_dataset("digits", split="train", n_samples=5000)


@pytest.mark.parametrize("kwargs, pattern", [
    ({"name": "cifar"}, "unknown data set 'cifar'"),
    ({"name": "iris", "split": "dev"}, "unknown split 'dev'"),
    ({"name": "iris", "split": "test"}, "'iris' has no test split"),
    ({"name": "iris", "noise": 0.1}, "noise only apply to generated"),
    ({"name": "digits", "arms": 3}, "arms only apply"),
])
def test_load_dataset_errors(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        load_dataset(**kwargs)


def test_mnist_through_load_dataset(tmp_path):
    rng = np.random.default_rng(0)
    write_idx(tmp_path / "train-images-idx3-ubyte", rng.integers(0, 256, (24, 28, 28), dtype=np.uint8))
    write_idx(tmp_path / "train-labels-idx1-ubyte", rng.integers(0, 10, 24, dtype=np.uint8))
    validation = load_dataset("mnist", split="validation", data_dir=tmp_path, download=False)
    assert validation.X.shape == (4, 784)
    sample = load_dataset("mnist", split="train", n_samples=5, data_dir=tmp_path, download=False)
    assert sample.X.shape == (5, 784)


def test_every_registered_set_has_a_consistent_entry():
    for name, info in DATASETS.items():
        assert info.name == name and info.task in ("classification", "regression")
        assert (info.n_classes is None) == (info.task == "regression")
        assert info.description


def test_the_core_does_not_import_the_data_package():
    for module in CORE.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.ImportFrom):
                assert node.level <= 1 and "data" not in (node.module or "").split("."), module
            elif isinstance(node, ast.Import):
                assert not any(a.name.startswith("backprop.data") for a in node.names), module
