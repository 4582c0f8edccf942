"""Initial weights: seeded, with the spread each scheme promises."""

import math

import numpy as np
import pytest

from backprop.core.initializers import INITIALIZERS, default_initializer, get_initializer

SHAPE = (400, 300)  # (n_out, n_in)


@pytest.mark.parametrize(
    "name, bound",
    [("glorot_uniform", math.sqrt(6 / 700)), ("he_uniform", math.sqrt(6 / 300)),
     ("lecun_uniform", math.sqrt(3 / 300))],
)
def test_uniform_bounds(name, bound):
    w = get_initializer(name)(SHAPE, np.random.default_rng(0))
    assert np.abs(w).max() <= bound
    assert np.abs(w).max() > 0.99 * bound
    assert w.std() == pytest.approx(bound / math.sqrt(3), rel=0.02)


@pytest.mark.parametrize(
    "name, std",
    [("glorot_normal", math.sqrt(2 / 700)), ("he_normal", math.sqrt(2 / 300)),
     ("lecun_normal", math.sqrt(1 / 300))],
)
def test_normal_spread(name, std):
    w = get_initializer(name)(SHAPE, np.random.default_rng(0))
    assert abs(w.mean()) < 0.02 * std * 10
    assert w.std() == pytest.approx(std, rel=0.02)


@pytest.mark.parametrize("name", sorted(INITIALIZERS))
def test_seeded_and_dtype(name):
    init = get_initializer(name)
    a = init((5, 4), np.random.default_rng(3), np.float32)
    b = init((5, 4), np.random.default_rng(3), np.float32)
    assert a.dtype == np.float32 and a.shape == (5, 4)
    assert np.array_equal(a, b)


def test_aliases_and_defaults():
    assert INITIALIZERS["xavier_uniform"] is INITIALIZERS["glorot_uniform"]
    assert INITIALIZERS["kaiming_normal"] is INITIALIZERS["he_normal"]
    assert default_initializer("relu") == "he_uniform"
    assert default_initializer("sigmoid") == "glorot_uniform"
    assert not get_initializer("zeros")((2, 2), None).any()
