"""The seeded generators: determinism, shapes, label sets and the geometry each promises."""

import math

import numpy as np
import pytest

from backprop.data import circles, gaussians, moons, sine, spirals, xor

CLASSIFIERS = [(xor, 2, {}), (circles, 2, {}), (moons, 2, {}), (spirals, 2, {}), (spirals, 4, {"arms": 4}),
               (gaussians, 3, {}), (gaussians, 5, {"centers": 5})]
ALL = [xor, circles, moons, spirals, gaussians, sine]


@pytest.mark.parametrize("make", ALL)
def test_same_seed_same_data_different_seed_different_data(make):
    a, b, c = make(50, seed=3), make(50, seed=3), make(50, seed=4)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.y, b.y)
    assert not np.array_equal(a.X, c.X)


@pytest.mark.parametrize("make", ALL)
def test_a_generator_object_is_accepted_and_the_global_state_untouched(make):
    np.random.seed(1)
    before = np.random.get_state()[1].copy()
    a = make(30, seed=np.random.default_rng(7))
    b = make(30, seed=np.random.default_rng(7))
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(np.random.get_state()[1], before)


@pytest.mark.parametrize("make, k, options", CLASSIFIERS)
def test_shapes_labels_and_balance(make, k, options):
    data = make(103, seed=0, **options)
    assert data.X.shape == (103, 2) and data.X.dtype == np.float64
    assert data.y.shape == (103,) and data.y.dtype.kind == "i"
    assert data.task == "classification"
    assert data.classes.tolist() == list(range(k))
    counts = np.bincount(data.y, minlength=k)
    assert counts.sum() == 103 and counts.max() - counts.min() <= 1
    assert np.all(np.isfinite(data.X))


@pytest.mark.parametrize("make, k, options", CLASSIFIERS)
def test_rows_are_shuffled(make, k, options):
    y = make(60, seed=0, **options).y
    assert not np.all(np.diff(y) >= 0)


def test_xor_labels_are_the_exclusive_or_of_the_signs_without_noise():
    data = xor(200, noise=0.0)
    expected = (data.X[:, 0] > 0) != (data.X[:, 1] > 0)
    np.testing.assert_array_equal(data.y, expected.astype(int))
    assert np.abs(data.X).max() <= 1.0


def test_circles_lie_on_their_radii_without_noise():
    data = circles(100, noise=0.0, factor=0.3)
    radius = np.hypot(data.X[:, 0], data.X[:, 1])
    np.testing.assert_allclose(radius[data.y == 0], 1.0)
    np.testing.assert_allclose(radius[data.y == 1], 0.3)


def test_moons_follow_their_half_circles_without_noise():
    data = moons(100, noise=0.0)
    upper, lower = data.X[data.y == 0], data.X[data.y == 1]
    np.testing.assert_allclose(np.hypot(*upper.T), 1.0)
    assert upper[:, 1].min() >= 0
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1.0, lower[:, 1] - 0.5), 1.0)
    assert lower[:, 1].max() <= 0.5


def test_spiral_arms_are_rotations_of_each_other_without_noise():
    data = spirals(300, noise=0.0, arms=3, turns=1.0)
    r = np.hypot(data.X[:, 0], data.X[:, 1])
    phi = np.arctan2(data.X[:, 1], data.X[:, 0])
    offset = (phi - 2 * math.pi * r) / (2 * math.pi) - data.y / 3
    np.testing.assert_allclose(np.sin(2 * math.pi * offset), 0.0, atol=1e-9)
    np.testing.assert_allclose(np.cos(2 * math.pi * offset), 1.0, atol=1e-9)


def test_gaussian_blob_means_are_near_their_centres():
    data = gaussians(3000, noise=0.3, centers=4, radius=2.0)
    for k in range(4):
        centre = 2.0 * np.array([math.cos(k * math.pi / 2), math.sin(k * math.pi / 2)])
        np.testing.assert_allclose(data.X[data.y == k].mean(axis=0), centre, atol=0.05)


def test_sine_is_a_regression_on_one_input():
    data = sine(80, noise=0.0)
    assert data.X.shape == (80, 1) and data.task == "regression" and data.classes is None
    assert data.X.min() >= -math.pi and data.X.max() <= math.pi
    np.testing.assert_allclose(data.y, np.sin(data.X[:, 0]))
    noisy = sine(2000, noise=0.2)
    assert 0.15 < np.std(noisy.y - np.sin(noisy.X[:, 0])) < 0.25


@pytest.mark.parametrize("call, pattern", [
    (lambda: xor(0), "n_samples must be a positive integer; got 0"),
    (lambda: moons(10, noise=-0.1), "noise must be a finite number >= 0; got -0.1"),
    (lambda: circles(10, noise=float("nan")), "noise must be"),
    (lambda: circles(10, factor=1.0), "factor must be strictly between 0 and 1; got 1.0"),
    (lambda: spirals(10, arms=1), "at least 2 arms; got 1"),
    (lambda: spirals(2, arms=3), "n_samples must be at least 3; got 2"),
    (lambda: gaussians(10, centers=1), "at least 2 centers"),
    (lambda: sine(10, seed=-1), "seed must be"),
    (lambda: sine(2.5), "n_samples must be a positive integer; got 2.5"),
])
def test_bad_arguments_are_named(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()
