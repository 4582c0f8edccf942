"""One layer: backward against finite differences with a random upstream gradient."""

import numpy as np
import pytest

from backprop.core.activations import ACTIVATIONS
from backprop.core.layers import Layer
from support import central_difference, relative_error


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_backward_matches_finite_differences(name, bias):
    rng = np.random.default_rng(7)
    layer = Layer(5, 4, name, bias=bias, seed=3)
    a_prev = rng.normal(size=(6, 5))
    upstream = rng.normal(size=(6, 4))

    def objective():
        return float((upstream * layer.forward(a_prev)).sum())

    layer.forward(a_prev)
    dC_da_prev = layer.backward(upstream)
    dW, db = layer.dW.copy(), None if layer.db is None else layer.db.copy()

    assert relative_error(dW, central_difference(objective, layer.W)) < 1e-7
    assert relative_error(dC_da_prev, central_difference(objective, a_prev)) < 1e-7
    if bias:
        assert relative_error(db, central_difference(objective, layer.b)) < 1e-7
    else:
        assert db is None and layer.b is None


def test_forward_keeps_what_backward_needs_and_shapes_follow_the_article():
    layer = Layer(3, 2, "tanh", seed=0)
    x = np.arange(6.0).reshape(2, 3) / 10
    a = layer.forward(x)
    assert layer.W.shape == (2, 3)  # (n_l, n_{l-1}): W[j, k] is w_jk
    assert layer.a_prev is x
    assert np.allclose(layer.z, x @ layer.W.T + layer.b)
    assert np.allclose(a, np.tanh(layer.z))
    # z_j = sum_k w_jk a_k for one sample and one node, written out.
    j = 1
    assert layer.z[0, j] == pytest.approx(sum(layer.W[j, k] * x[0, k] for k in range(3)) + layer.b[j])


def test_first_layer_can_skip_the_input_gradient():
    layer = Layer(3, 2, seed=0)
    layer.forward(np.ones((4, 3)))
    assert layer.backward(np.ones((4, 2)), need_dC_da_prev=False) is None
    assert layer.dW.shape == (2, 3)


def test_same_seed_same_weights_and_bad_arguments_are_named():
    assert np.array_equal(Layer(4, 3, seed=5).W, Layer(4, 3, seed=5).W)
    assert not np.array_equal(Layer(4, 3, seed=5).W, Layer(4, 3, seed=6).W)
    with pytest.raises(ValueError, match="n_out must be a positive integer; got 0"):
        Layer(3, 0)
    with pytest.raises(ValueError, match="dtype must be 'float32' or 'float64'; got 'int8'"):
        Layer(3, 2, dtype="int8")
    with pytest.raises(ValueError, match="unknown initializer 'uniformish'"):
        Layer(3, 2, init="uniformish")
