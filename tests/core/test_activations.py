"""Each activation's value and derivative: against finite differences, PyTorch, and extremes."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from backprop.core.activations import ACTIVATIONS, Softmax, erf, get_activation
from support import central_difference, relative_error

NAMES = list(ACTIVATIONS)

TORCH = {
    "identity": lambda z: z,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "leaky_relu": torch.nn.functional.leaky_relu,
    "elu": torch.nn.functional.elu,
    "softplus": torch.nn.functional.softplus,
    "gelu": torch.nn.functional.gelu,
    "softmax": lambda z: torch.softmax(z, dim=1),
    "exp": torch.exp,
}


@pytest.mark.parametrize("name", NAMES)
def test_value_matches_pytorch(name):
    z = np.random.default_rng(0).normal(scale=3.0, size=(7, 5))
    expected = TORCH[name](torch.from_numpy(z)).numpy()
    assert relative_error(get_activation(name).value(z), expected) < 1e-13


@pytest.mark.parametrize("name", NAMES)
def test_backward_matches_finite_differences(name):
    rng = np.random.default_rng(1)
    z = rng.normal(scale=2.0, size=(4, 6))
    upstream = rng.normal(size=z.shape)
    g = get_activation(name)
    a = g.value(z)
    analytic = g.backward(z, a, upstream)
    numeric = central_difference(lambda: float((upstream * g.value(z)).sum()), z)
    assert relative_error(analytic, numeric) < 1e-7


@pytest.mark.parametrize("name", NAMES)
def test_backward_matches_pytorch_autograd(name):
    rng = np.random.default_rng(2)
    z = rng.normal(scale=2.0, size=(5, 4))
    upstream = rng.normal(size=z.shape)
    zt = torch.from_numpy(z).requires_grad_()
    TORCH[name](zt).backward(torch.from_numpy(upstream))
    g = get_activation(name)
    assert relative_error(g.backward(z, g.value(z), upstream), zt.grad.numpy()) < 1e-12


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_extreme_inputs_stay_finite_and_keep_dtype(name, dtype):
    z = np.array([[-1e4, -50.0, -1e-8, 0.0, 1e-8, 50.0, 1e4]], dtype=dtype)
    g = get_activation(name)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        a = g.value(z)
        dz = g.backward(z, a, np.ones_like(z))
    assert a.dtype == dtype and dz.dtype == dtype
    assert np.isfinite(a).all() and np.isfinite(dz).all()


def test_pytorch_conventions_at_zero_and_defaults():
    z = np.zeros((1, 1))
    assert get_activation("relu").derivative(z, z)[0, 0] == 0.0
    assert get_activation("leaky_relu").negative_slope == 0.01
    assert get_activation("elu").alpha == 1.0
    assert get_activation("leaky_relu").derivative(-z - 1, None)[0, 0] == 0.01


def test_softmax_rows_are_probabilities_and_have_no_elementwise_derivative():
    z = np.random.default_rng(3).normal(scale=30, size=(6, 4))
    a = Softmax().value(z)
    assert np.allclose(a.sum(axis=1), 1.0) and (a >= 0).all()
    with pytest.raises(TypeError, match="Jacobian"):
        Softmax().derivative(z, a)


@given(st.lists(st.floats(-30, 30), min_size=1, max_size=30))
def test_erf_matches_math_erf(xs):
    x = np.array(xs)
    expected = np.array([math.erf(v) for v in xs])
    assert np.max(np.abs(erf(x) - expected)) < 4e-15


def test_erf_on_a_dense_grid_in_both_dtypes():
    x = np.linspace(-7, 7, 20001)
    expected = np.array([math.erf(v) for v in x])
    assert np.max(np.abs(erf(x) - expected)) < 4e-15
    assert np.max(np.abs(erf(x.astype(np.float32)) - expected)) < 1e-6


def test_unknown_name_lists_the_choices():
    with pytest.raises(ValueError, match=r"unknown activation 'sigmoidd'.*sigmoid"):
        get_activation("sigmoidd")
    with pytest.raises(TypeError, match="activation must be"):
        get_activation(3)


def test_config_round_trip():
    for name in NAMES:
        g = get_activation(name)
        assert get_activation(g.config()) == g
    assert get_activation({"name": "leaky_relu", "negative_slope": 0.2}).negative_slope == 0.2
