"""One layer: backward against finite differences with a random upstream gradient; dropout."""

import numpy as np
import pytest

from backprop.core.activations import ACTIVATIONS
from backprop.core.layers import Dense, Dropout, Layer
from backprop.core.workspace import Workspace
from support import central_difference, relative_error


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_backward_matches_finite_differences(name, bias):
    rng = np.random.default_rng(7)
    layer = Layer(5, 4, name, bias=bias, seed=3)
    a_prev = rng.normal(size=(6, 5))
    upstream = rng.normal(size=(6, 4))

    def objective():
        return float((upstream * layer.forward(a_prev)[0]).sum())

    _, cache = layer.forward(a_prev)
    grads = {"W": np.empty_like(layer.W), "b": None if layer.b is None else np.empty_like(layer.b)}
    dC_da_prev = layer.backward(cache, upstream, grads)
    dW, db = grads["W"], grads["b"]

    assert relative_error(dW, central_difference(objective, layer.W)) < 1e-7
    assert relative_error(dC_da_prev, central_difference(objective, a_prev)) < 1e-7
    if bias:
        assert relative_error(db, central_difference(objective, layer.b)) < 1e-7
    else:
        assert db is None and layer.b is None


def test_forward_keeps_what_backward_needs_and_shapes_follow_the_article():
    layer = Layer(3, 2, "tanh", seed=0)
    x = np.arange(6.0).reshape(2, 3) / 10
    a, cache = layer.forward(x)
    assert layer.W.shape == (2, 3)  # (n_l, n_{l-1}): W[j, k] is w_jk
    assert cache.a_prev is x and cache.a is a
    assert np.allclose(cache.z, x @ layer.W.T + layer.b)
    assert np.allclose(a, np.tanh(cache.z))
    # z_j = sum_k w_jk a_k for one sample and one node, written out.
    j = 1
    assert cache.z[0, j] == pytest.approx(sum(layer.W[j, k] * x[0, k] for k in range(3)) + layer.b[j])
    # The layer itself keeps nothing of the batch.
    assert set(vars(layer)) == {"activation", "W", "b"}


def test_first_layer_can_skip_the_input_gradient():
    layer = Layer(3, 2, seed=0)
    _, cache = layer.forward(np.ones((4, 3)))
    grads = {"W": np.full((2, 3), np.nan), "b": np.full(2, np.nan)}
    assert layer.backward(cache, np.ones((4, 2)), grads, need_dC_da_prev=False) is None
    assert np.isfinite(grads["W"]).all() and np.isfinite(grads["b"]).all()


def test_same_seed_same_weights_and_bad_arguments_are_named():
    assert np.array_equal(Layer(4, 3, seed=5).W, Layer(4, 3, seed=5).W)
    assert not np.array_equal(Layer(4, 3, seed=5).W, Layer(4, 3, seed=6).W)
    with pytest.raises(ValueError, match="n_out must be a positive integer; got 0"):
        Layer(3, 0)
    with pytest.raises(ValueError, match="dtype must be 'float32' or 'float64'; got 'int8'"):
        Layer(3, 2, dtype="int8")
    with pytest.raises(ValueError, match="unknown initializer 'uniformish'"):
        Layer(3, 2, init="uniformish")


def test_a_workspace_reuses_arrays_per_batch_size_and_predictions_do_not_touch_them():
    layer = Dense(3, 2, "sigmoid", seed=0)
    work = Workspace([layer.parameters()], layer.dtype)
    x = np.random.default_rng(0).normal(size=(5, 3))
    a1, _ = layer.forward(x, work)
    kept = a1.copy()
    a2, _ = layer.forward(x * 2, work)
    assert a2 is a1  # the same array, overwritten: the loop owns it
    a2[...] = kept
    fresh, _ = layer.forward(x * 3)  # no workspace: new arrays, the run's are left alone
    assert fresh is not a1 and np.array_equal(a1, kept)
    # A third batch size evicts the oldest of two.
    layer.forward(x[:2], work), layer.forward(x[:3], work)
    assert layer.forward(x, work)[0] is not a1


def test_dropout_is_inverted_and_only_active_while_training():
    drop = Dropout(0.25)
    x = np.ones((2000, 50))
    same, mask = drop.forward(x)  # no generator: prediction, the identity
    assert same is x and mask is None
    a, mask = drop.forward(x, rng=np.random.default_rng(0))
    kept = mask > 0
    assert np.allclose(mask[kept], 1 / 0.75) and 0.72 < kept.mean() < 0.78
    assert abs(a.mean() - 1.0) < 0.02  # the expected input is unchanged
    upstream = np.random.default_rng(1).normal(size=x.shape)
    assert np.array_equal(drop.backward(mask, upstream), upstream * mask)
    # Its local derivative is the mask: finite differences agree for a fixed mask.
    small = np.random.default_rng(2).normal(size=(3, 4))
    _, m = drop.forward(small, rng=np.random.default_rng(3))
    up = np.random.default_rng(4).normal(size=(3, 4))
    numeric = central_difference(lambda: float((up * (small * m)).sum()), small)
    assert relative_error(drop.backward(m, up), numeric) < 1e-8


def test_dropout_masks_follow_the_seed_and_bad_rates_are_named():
    x = np.ones((4, 6))
    m1 = Dropout(0.5).forward(x, rng=np.random.default_rng(9))[1]
    m2 = Dropout(0.5).forward(x, rng=np.random.default_rng(9))[1]
    assert np.array_equal(m1, m2)
    for bad in (1.0, -0.1, "0.5", True, float("nan")):
        with pytest.raises(ValueError, match="dropout rate must be a number in \\[0, 1\\)"):
            Dropout(bad)
