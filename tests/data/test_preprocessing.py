"""Scalers: fitted on training data only, constant columns, and state as plain data."""

import json

import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

from backprop.data import IdentityScaler, MinMaxScaler, Standardizer, get_preprocessor


@pytest.fixture
def train_and_validation():
    rng = np.random.default_rng(0)
    train = rng.normal(loc=[5.0, -3.0, 0.0], scale=[2.0, 0.5, 10.0], size=(200, 3))
    validation = rng.normal(loc=[9.0, 0.0, 1.0], scale=[1.0, 1.0, 1.0], size=(50, 3))
    return train, validation


def test_standardizer_uses_training_statistics_for_all_data(train_and_validation):
    train, validation = train_and_validation
    scaler = Standardizer().fit(train)
    np.testing.assert_allclose(scaler.transform(train).mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(scaler.transform(train).std(axis=0), 1.0)
    np.testing.assert_allclose(scaler.mean_, train.mean(axis=0))
    # The validation data is shifted by the training mean, not its own: its mean stays away from 0.
    expected = (validation - train.mean(axis=0)) / train.std(axis=0)
    np.testing.assert_allclose(scaler.transform(validation), expected)
    assert scaler.transform(validation)[:, 0].mean() > 1.0


def test_minmax_maps_the_training_range_to_the_unit_interval(train_and_validation):
    train, validation = train_and_validation
    scaler = MinMaxScaler().fit(train)
    scaled = scaler.transform(train)
    np.testing.assert_allclose(scaled.min(axis=0), 0.0)
    np.testing.assert_allclose(scaled.max(axis=0), 1.0)
    np.testing.assert_allclose(scaler.min_, train.min(axis=0))
    expected = (validation - train.min(axis=0)) / (train.max(axis=0) - train.min(axis=0))
    np.testing.assert_allclose(scaler.transform(validation), expected)


@pytest.mark.parametrize("make", [Standardizer, MinMaxScaler])
@pytest.mark.parametrize("value", [0.0, 0.1, -7.3, 1e6])
def test_constant_columns_get_scale_one(make, value):
    X = np.column_stack([np.full(50, value), np.linspace(0, 3, 50)])
    scaler = make().fit(X)
    assert scaler.scale_[0] == 1.0 and scaler.scale_[1] != 1.0
    out = scaler.transform(X)
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out[:, 0], 0.0, atol=1e-9)
    np.testing.assert_allclose(scaler.transform([[value + 2.0, 0.5]])[0, 0], 2.0)


def test_a_single_training_row_gives_finite_output():
    for make in (Standardizer, MinMaxScaler):
        assert np.all(np.isfinite(make().fit_transform([[1.0, 2.0]])))


def test_state_is_plain_data_that_rebuilds_the_scaler(train_and_validation):
    train, validation = train_and_validation
    for scaler in (Standardizer().fit(train), MinMaxScaler().fit(train), IdentityScaler()):
        state = json.loads(json.dumps(scaler.to_dict()))
        rebuilt = get_preprocessor(state)
        assert type(rebuilt) is type(scaler)
        np.testing.assert_array_equal(rebuilt.transform(validation), scaler.transform(validation))
    assert set(Standardizer().fit(train).to_dict()) == {"kind", "mean", "scale"}
    assert Standardizer().fit(train).to_dict()["kind"] == "standardize"
    assert set(MinMaxScaler().fit(train).to_dict()) == {"kind", "min", "scale"}


def test_get_preprocessor_by_name():
    assert isinstance(get_preprocessor("standardize"), Standardizer)
    assert isinstance(get_preprocessor("MinMax"), MinMaxScaler)
    assert isinstance(get_preprocessor("none"), IdentityScaler)
    assert isinstance(get_preprocessor(None), IdentityScaler)
    assert isinstance(get_preprocessor({"kind": "minmax"}), MinMaxScaler)
    with pytest.raises(ValueError, match="unknown preprocessing 'zscore'"):
        get_preprocessor("zscore")
    with pytest.raises(TypeError, match="got int"):
        get_preprocessor(3)


def test_identity_changes_nothing():
    X = np.array([[1, 2], [3, 4]])
    out = IdentityScaler().transform(X)
    assert out.dtype == np.float64 and out.tolist() == [[1, 2], [3, 4]]


@pytest.mark.parametrize("state, pattern", [
    ({"kind": "standardize", "mean": [0.0, 1.0], "scale": [1.0]}, "2 mean values but 1 scales"),
    ({"kind": "standardize", "mean": [0.0], "scale": [0.0]}, "scales must be positive"),
    ({"kind": "minmax", "scale": [1.0]}, "needs 'min'"),
    ({"kind": "standardize", "mean": [float("nan")], "scale": [1.0]}, "finite numbers"),
    ({"kind": "robust"}, "unknown preprocessing kind 'robust'"),
])
def test_bad_state_is_rejected(state, pattern):
    with pytest.raises(ValueError, match=pattern):
        get_preprocessor(state)


def test_use_before_fit_and_column_mismatch():
    with pytest.raises(ValueError, match="not fitted yet"):
        Standardizer().transform([[1.0]])
    scaler = MinMaxScaler().fit(np.ones((3, 2)))
    with pytest.raises(ValueError, match="X has 3 columns but the scaler was fitted on 2"):
        scaler.transform(np.ones((1, 3)))
    with pytest.raises(ValueError, match=r"X\[0, 1\] is nan"):
        Standardizer().fit([[1.0, np.nan]])
    with pytest.raises(ValueError, match="2-D"):
        Standardizer().fit([1.0, 2.0])


matrices = hnp.arrays(
    np.float64, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=6),
    elements=st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
)


@given(X=matrices, kind=st.sampled_from(["standardize", "minmax", "none"]))
def test_inverse_and_state_round_trips(X, kind):
    scaler = get_preprocessor(kind).fit(X)
    Z = scaler.transform(X)
    assert np.all(np.isfinite(Z))
    np.testing.assert_allclose(scaler.inverse_transform(Z), X, rtol=1e-9, atol=1e-6)
    rebuilt = get_preprocessor(scaler.to_dict())
    np.testing.assert_array_equal(rebuilt.transform(X), Z)
    if kind == "minmax":
        assert Z.min() >= -1e-12 and Z.max() <= 1 + 1e-12
