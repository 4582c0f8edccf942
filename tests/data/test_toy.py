"""scikit-learn's bundled sets, loaded through backprop.data."""

import numpy as np
import pytest

from backprop.data import DATASETS, load_toy
from backprop.data import toy


@pytest.mark.parametrize("name, shape, n_classes", [
    ("digits", (1797, 64), 10), ("iris", (150, 4), 3), ("wine", (178, 13), 3),
    ("breast_cancer", (569, 30), 2), ("diabetes", (442, 10), None),
])
def test_toy_sets_have_their_documented_shapes(name, shape, n_classes):
    data = load_toy(name)
    assert data.X.shape == shape and data.X.dtype == np.float64
    assert data.y.shape == (shape[0],)
    assert data.n_classes == n_classes
    assert data.task == ("regression" if n_classes is None else "classification")
    assert len(data.feature_names) == shape[1]
    info = DATASETS[name]
    assert (info.n_samples, info.n_features, info.n_classes, info.task) == (shape[0], shape[1], n_classes,
                                                                            data.task)


def test_digits_are_unscaled_pixels_and_integer_labels():
    data = toy.load_digits()
    assert data.X.min() == 0.0 and data.X.max() == 16.0
    assert data.y.dtype.kind == "i" and data.classes.tolist() == list(range(10))


def test_unknown_toy_set():
    with pytest.raises(ValueError, match="'mnist'"):
        load_toy("mnist")


def test_missing_scikit_learn_is_explained(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_sklearn(name, *args, **kwargs):
        if name == "sklearn" or name.startswith("sklearn."):
            raise ImportError("No module named 'sklearn'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_sklearn)
    with pytest.raises(ModuleNotFoundError, match="pip install scikit-learn"):
        toy.load_iris()
