"""bp.gradcheck: passes for the engine's gradients, fails for a wrong derivative."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import backprop as bp
from backprop.core.activations import Activation, Sigmoid, Tanh
from backprop.core.losses import SSE
from backprop.gradcheck import DEFAULT_TOLERANCES, float64_copy, layer_name, numeric_gradient

# (hidden activation, output activation, loss, fuse_output)
CASES = [
    ("sigmoid", "sigmoid", "sse", True),
    ("tanh", "softmax", "cross_entropy", True),
    ("tanh", "softmax", "cross_entropy", False),
    ("relu", "identity", "mse", True),
    ("elu", "sigmoid", "binary_cross_entropy", True),
    ("gelu", "softmax", "sse", True),
    ("softplus", "identity", "huber", True),
    ("leaky_relu", "tanh", "mae", True),
]


def batch(net, n=6, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, net.sizes[0]))
    n_out = net.sizes[-1]
    if net.layers[-1].activation.name == "softmax":
        Y = np.eye(n_out)[rng.integers(0, n_out, n)]
    elif net.loss_fn.name == "binary_cross_entropy":
        Y = rng.integers(0, 2, (n, n_out)).astype(float)
    else:
        Y = rng.normal(size=(n, n_out))
    return X, Y


def inject_derivative(monkeypatch, cls, derivative):
    """Give ``cls`` a wrong ``g'``, used by the backward pass.

    Some activations have a fused ``backward`` that does not call
    ``derivative``; the base class's ``backward`` (``dC/da * g'(z)``) does.
    """
    monkeypatch.setattr(cls, "derivative", derivative)
    monkeypatch.setattr(cls, "backward", Activation.backward)


@pytest.mark.parametrize("hidden,output,loss,fuse", CASES)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_passes_for_the_engine(hidden, output, loss, fuse, dtype):
    net = bp.Network.from_sizes([3, 4, 3, 2], activation=hidden, output_activation=output, loss=loss,
                                seed=1, dtype=dtype, fuse_output=fuse)
    result = bp.gradcheck(net, *batch(net))
    assert result.passed, result
    assert result.dtype == dtype
    assert (result.eps, result.rtol) == DEFAULT_TOLERANCES[dtype]
    assert [(r.layer, r.name, r.parameter) for r in result.rows] == [
        (1, "L-2", "W"), (1, "L-2", "b"), (2, "L-1", "W"), (2, "L-1", "b"), (3, "L", "W"), (3, "L", "b")]
    assert all(r.max_rel_error <= result.rtol for r in result.rows)


def test_no_bias_rows_and_sizes():
    net = bp.Network.from_sizes([3, 3, 2], bias=False, seed=0)
    result = bp.gradcheck(net, *batch(net, 3))
    assert result.passed
    assert [(r.parameter, r.size) for r in result.rows] == [("W", 9), ("W", 6)]


@settings(max_examples=15)
@given(sizes=st.lists(st.integers(1, 4), min_size=2, max_size=4),
       activation=st.sampled_from(["sigmoid", "tanh", "softplus", "gelu", "identity"]),
       bias=st.booleans(), n=st.integers(1, 5), seed=st.integers(0, 1000))
def test_passes_on_random_networks(sizes, activation, bias, n, seed):
    net = bp.Network.from_sizes(sizes, activation=activation, bias=bias, seed=seed)
    assert bp.gradcheck(net, *batch(net, n, seed)).passed


def test_fails_for_a_wrong_activation_derivative(monkeypatch):
    net = bp.Network.from_sizes([3, 4, 2], activation="sigmoid", loss="sse", seed=0)
    X, Y = batch(net)
    assert bp.gradcheck(net, X, Y).passed
    inject_derivative(monkeypatch, Sigmoid, lambda self, z, a: a * (1.0 - a) * 1.01)
    result = bp.gradcheck(net, X, Y)
    assert not result.passed
    assert not bool(result)
    assert all(not r.passed for r in result.rows)  # a 1% error everywhere reaches every layer
    assert result.max_rel_error > 1e-3


def test_fails_for_a_wrong_hidden_derivative_only_below_it(monkeypatch):
    net = bp.Network.from_sizes([3, 4, 2], activation="tanh", output_activation="identity", loss="mse", seed=0)
    inject_derivative(monkeypatch, Tanh, lambda self, z, a: 1.0 - a)  # forgot the square
    result = bp.gradcheck(net, *batch(net))
    by_layer = {(r.name, r.parameter): r.passed for r in result.rows}
    assert by_layer == {("L-1", "W"): False, ("L-1", "b"): False, ("L", "W"): True, ("L", "b"): True}


def test_passes_again_with_the_right_derivative_through_the_base_backward(monkeypatch):
    net = bp.Network.from_sizes([3, 4, 2], activation="sigmoid", loss="sse", seed=0)
    inject_derivative(monkeypatch, Sigmoid, Sigmoid.derivative)
    assert bp.gradcheck(net, *batch(net)).passed


def test_fails_for_a_wrong_loss_derivative_in_float32(monkeypatch):
    net = bp.Network.from_sizes([3, 4, 2], activation="tanh", loss="sse", seed=0, dtype="float32")
    monkeypatch.setattr(SSE, "derivative", lambda self, a, y: 1.9 * (a - y))
    assert not bp.gradcheck(net, *batch(net)).passed


def test_leaves_the_network_unchanged():
    net = bp.Network.from_sizes([3, 4, 2], seed=0)
    before = net.get_weights()
    bp.gradcheck(net, *batch(net))
    for old, new in zip(before, net.get_weights()):
        np.testing.assert_array_equal(old["W"], new["W"])
        np.testing.assert_array_equal(old["b"], new["b"])


def test_float64_copy_and_numeric_gradient_match_the_engine():
    net = bp.Network.from_sizes([2, 3, 1], activation="tanh", seed=3, dtype="float32")
    net64 = float64_copy(net)
    assert net64.dtype == np.float64 and net.dtype == np.float32
    assert net64.layers[0].W is not net.layers[0].W
    X, Y = batch(net, 4)
    g = numeric_gradient(net64, X, Y, 0, "W", 1e-6)
    exact = float64_copy(net).gradients(X, Y)[0]["W"]
    np.testing.assert_allclose(g, exact, rtol=1e-6, atol=1e-9)
    one = numeric_gradient(net64, X, Y, 0, "W", 1e-6, index=(1, 0))
    assert one == pytest.approx(g[1, 0], rel=1e-12)


def test_settings_and_bad_values():
    net = bp.Network.from_sizes([2, 2, 1], seed=0)
    X, Y = batch(net, 3)
    result = bp.gradcheck(net, X, Y, eps=1e-5, rtol=1e-4, floor=0.0)
    assert (result.eps, result.rtol) == (1e-5, 1e-4)
    assert json.loads(json.dumps(result.to_dict()))["passed"] is True
    for kwargs in ({"eps": 0}, {"eps": -1e-6}, {"rtol": 0}, {"eps": float("nan")}, {"floor": -1.0}):
        with pytest.raises(ValueError):
            bp.gradcheck(net, X, Y, **kwargs)
    with pytest.raises(ValueError, match="columns"):
        bp.gradcheck(net, X[:, :1], Y)
    with pytest.raises(TypeError):
        bp.gradcheck("not a network", X, Y)


def test_layer_names():
    assert [layer_name(i, 3) for i in range(4)] == ["L-3", "L-2", "L-1", "L"]


@pytest.mark.filterwarnings("error")  # refused in words, without a RuntimeWarning on the way
def test_a_tolerance_too_small_to_judge_by_is_refused_not_passed():
    net = bp.Network.from_sizes([3, 2], activation="sigmoid", seed=0)
    X, Y = np.ones((2, 3)), np.zeros((2, 2))
    with pytest.raises(ValueError, match="leave no usable tolerance"):
        bp.gradcheck(net, X, Y, rtol=1e-320)


def test_max_entries_checks_that_many_entries_of_each_array_and_names_the_worst_by_its_true_index(monkeypatch):
    import importlib

    module = importlib.import_module("backprop.gradcheck")   # the module, not the function of its name

    net = bp.Network.from_sizes([5, 4, 3], activation="tanh", seed=0)
    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(6, 5)), rng.normal(size=(6, 3))
    full = bp.gradcheck(net, X, Y)
    picked = module._pick((4, 5), 7, np.random.default_rng(3))       # what seed=3 picks in layer 1's W
    bad = tuple(int(k) for k in picked[4])
    true_gradients = net.gradients

    def one_wrong_entry(X, Y, sample_weight=None):
        grads = true_gradients(X, Y)
        grads[0]["W"][bad] += 1.0                                      # backprop is wrong here, and only here
        return grads

    monkeypatch.setattr(net, "gradients", one_wrong_entry)
    result = bp.gradcheck(net, X, Y, max_entries=7, seed=3)
    rows = {(r.layer, r.parameter): r for r in result.rows}
    assert [(r.size, r.total) for r in result.rows] == [(7, 20), (4, 4), (7, 12), (3, 3)]
    assert not rows[1, "W"].passed and rows[1, "W"].worst == bad
    assert rows[2, "W"].passed and full.passed
    assert bp.gradcheck(net, X, Y, max_entries=100).rows[0].size == 20   # more than there are: all of them
    with pytest.raises(ValueError, match="max_entries must be a positive integer"):
        bp.gradcheck(net, X, Y, max_entries=0)
