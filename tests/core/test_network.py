"""The whole network: gradients against finite differences, shapes, validation, dtypes."""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import backprop as bp
from backprop.core.activations import ACTIVATIONS
from backprop.core.losses import LOSSES
from support import central_difference, relative_error

ACTIVATION_NAMES = list(ACTIVATIONS)
KINKED = {"relu", "leaky_relu"}


def targets_for(loss, output_activation, shape, rng):
    """Targets in the loss's domain, for an output activation that can reach them."""
    if loss == "cross_entropy":
        y = rng.uniform(size=shape)
        return y / y.sum(axis=1, keepdims=True)
    if loss == "binary_cross_entropy":
        return rng.uniform(size=shape)
    if loss == "poisson":
        return rng.poisson(2.0, size=shape).astype(float)
    return rng.normal(size=shape)


@st.composite
def networks(draw):
    """Random networks of depth 1-4 and widths 1-8 with every activation and loss."""
    depth = draw(st.integers(1, 4))
    sizes = draw(st.lists(st.integers(1, 8), min_size=depth + 1, max_size=depth + 1))
    hidden = draw(st.lists(st.sampled_from(ACTIVATION_NAMES), min_size=depth - 1, max_size=depth - 1))
    loss = draw(st.sampled_from(list(LOSSES)))
    if loss == "cross_entropy":
        output = "softmax"  # a sigmoid output with cross_entropy is refused: see test_sigmoid_cross_entropy_is_refused
    elif loss == "binary_cross_entropy":
        output = "sigmoid"
    elif loss == "poisson":
        output = "exp"  # positive rates
    else:
        output = draw(st.sampled_from(ACTIVATION_NAMES))
    bias = draw(st.booleans())
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    layers = [bp.Layer(sizes[i], sizes[i + 1], act, bias=bias, seed=rng)
              for i, act in enumerate(hidden + [output])]
    for layer in layers:
        if layer.b is not None:  # non-zero biases, so the bias path is exercised
            layer.b[:] = rng.normal(scale=0.5, size=layer.b.shape)
    net = bp.Network(layers, loss=loss, fuse_output=draw(st.booleans()))
    n = draw(st.integers(1, 16))
    X = rng.normal(size=(n, sizes[0]))
    Y = targets_for(loss, output, (n, sizes[-1]), rng)
    return net, X, Y


@settings(max_examples=150)
@given(networks())
def test_gradients_match_finite_differences(case):
    net, X, Y = case
    # Finite differences are only valid away from a kink (relu-like at z = 0).
    _, trace = net.forward_train(net.check_X(X))
    for layer, cache in zip(net.layers, trace):
        if layer.activation.name in KINKED:
            assume(np.abs(cache.z).min() > 1e-4)
    grads = net.gradients(X, Y)
    for layer, g in zip(net.layers, grads):
        for name, param in layer.parameters().items():
            if param is None:
                assert g[name] is None
                continue
            numeric = central_difference(lambda: net.loss(X, Y), param)
            assert relative_error(g[name], numeric) < 1e-6, (name, net)


def test_contract_from_the_issue():
    net = bp.Network.from_sizes([4, 5, 3], activation="tanh", output_activation="sigmoid",
                                loss="sse", bias=True, seed=0, dtype="float64")
    X = np.random.default_rng(0).normal(size=(10, 4))
    Y = np.random.default_rng(1).uniform(size=(10, 3))
    assert [layer.W.shape for layer in net.layers] == [(5, 4), (3, 5)]
    assert [layer.b.shape for layer in net.layers] == [(5,), (3,)]
    assert [layer.activation.name for layer in net.layers] == ["tanh", "sigmoid"]
    out = net.forward(X)
    assert out.shape == (10, 3) and ((out > 0) & (out < 1)).all()
    loss = net.loss(X, Y)
    assert isinstance(loss, float)
    assert loss == pytest.approx(np.mean(np.sum((out - Y) ** 2, axis=1)))
    grads = net.gradients(X, Y)
    assert [sorted(g) for g in grads] == [["W", "b"], ["W", "b"]]
    assert all(g["W"].shape == layer.W.shape for g, layer in zip(grads, net.layers))
    no_bias = bp.Network.from_sizes([4, 5, 3], bias=False, seed=0)
    assert all(layer.b is None for layer in no_bias.layers)
    assert all(g["b"] is None for g in no_bias.gradients(X, Y))


def test_gradient_is_the_average_of_per_sample_gradients():
    net = bp.Network.from_sizes([3, 4, 2], activation="sigmoid", seed=1)
    rng = np.random.default_rng(2)
    X, Y = rng.normal(size=(5, 3)), rng.uniform(size=(5, 2))
    batch = net.gradients(X, Y)
    singles = [net.gradients(X[i:i + 1], Y[i:i + 1]) for i in range(5)]
    for l in range(2):
        for name in ("W", "b"):
            mean = np.mean([s[l][name] for s in singles], axis=0)
            assert np.allclose(batch[l][name], mean, rtol=1e-13, atol=0)


def test_same_seed_same_weights():
    a = bp.Network.from_sizes([3, 6, 6, 2], activation="relu", seed=42)
    b = bp.Network.from_sizes([3, 6, 6, 2], activation="relu", seed=42)
    c = bp.Network.from_sizes([3, 6, 6, 2], activation="relu", seed=43)
    assert all(np.array_equal(x.W, y.W) for x, y in zip(a.layers, b.layers))
    assert not all(np.array_equal(x.W, y.W) for x, y in zip(a.layers, c.layers))


def test_layers_with_different_activations():
    layers = [bp.Layer(2, 4, "relu", seed=0), bp.Layer(4, 4, "gelu", seed=1),
              bp.Layer(4, 3, "softmax", seed=2)]
    net = bp.Network(layers, loss="cross_entropy")
    out = net.forward(np.ones((2, 2)))
    assert np.allclose(out.sum(axis=1), 1.0)
    assert net.sizes == [2, 4, 4, 3] and net.n_parameters == 12 + 20 + 15


def test_float32_end_to_end():
    net = bp.Network.from_sizes([4, 6, 3], activation="gelu", output_activation="softmax",
                                loss="cross_entropy", seed=0, dtype="float32")
    X = np.random.default_rng(0).normal(size=(8, 4))  # float64 in, cast once at the boundary
    Y = np.eye(3)[np.arange(8) % 3]
    assert net.forward(X).dtype == np.float32
    grads = net.gradients(X, Y)
    _, trace = net.forward_train(net.check_X(X))
    for layer, g, cache in zip(net.layers, grads, trace):
        for arr in (layer.W, layer.b, cache.z, cache.a, cache.a_prev, g["W"], g["b"]):
            assert arr.dtype == np.float32
    opt = bp.get_optimizer("adam", weight_decay=0.1, clip_norm=0.5)
    opt.step(net.parameters(), grads)
    assert all(p.dtype == np.float32 for layer in net.layers for p in layer.parameters().values())
    assert all(s.dtype == np.float32 for slots in opt.state.values() for s in slots.values())


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: bp.Network.from_sizes([3]), ValueError, r"at least an input and an output size; got \[3\]"),
        (lambda: bp.Network.from_sizes([3, -2]), ValueError, r"sizes\[1\] must be a positive integer; got -2"),
        (lambda: bp.Network.from_sizes([3, 2.5]), ValueError, r"sizes\[1\] must be a positive integer; got 2.5"),
        (lambda: bp.Network.from_sizes([3, 2], activation="sigmod"), ValueError, "unknown activation 'sigmod'"),
        (lambda: bp.Network.from_sizes([3, 2], loss="hinge"), ValueError, "unknown loss 'hinge'"),
        (lambda: bp.Network.from_sizes([3, 2], dtype="float16"), ValueError, "dtype must be"),
        (lambda: bp.Network.from_sizes([3, 2], seed=-1), ValueError, "seed must be"),
        (lambda: bp.Network([bp.Layer(3, 4), bp.Layer(5, 2)]), ValueError, r"layers\[1\] takes 5 inputs but layers\[0\] has 4"),
        (lambda: bp.Network([]), ValueError, "at least one layer"),
        (lambda: bp.Network([bp.Layer(3, 2, dtype="float32"), bp.Layer(2, 2)]), ValueError, "one dtype"),
    ],
)
def test_bad_construction_is_named(call, error, message):
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize(
    "X, Y, error, message",
    [
        (np.ones((2, 4)), np.ones((2, 2)), ValueError, r"X has 4 columns but the network has 3 input nodes"),
        (np.ones(3), np.ones((1, 2)), ValueError, r"X must be 2-D.*reshape\(1, -1\)"),
        (np.ones((2, 3)), np.ones((2, 3)), ValueError, r"Y has 3 columns but the network has 2 output nodes"),
        (np.ones((2, 3)), np.ones((3, 2)), ValueError, r"X has 2 rows but Y has 3"),
        (np.array([[1.0, np.nan, 0.0]]), np.ones((1, 2)), ValueError, r"X contains a non-finite value \(nan\) at row 0, column 1"),
        (np.ones((1, 3)), np.array([[np.inf, 0.0]]), ValueError, r"Y contains a non-finite value \(inf\)"),
        (np.array([["a", "b", "c"]]), np.ones((1, 2)), TypeError, "X must be numeric"),
        (np.ones((0, 3)), np.ones((0, 2)), ValueError, "X has no rows"),
    ],
)
def test_bad_data_is_named(X, Y, error, message):
    net = bp.Network.from_sizes([3, 2], seed=0)
    with pytest.raises(error, match=message):
        net.gradients(X, Y)


@given(st.integers(1, 6), st.integers(1, 6), st.integers(0, 6))
def test_any_wrong_column_count_is_rejected(n_in, n_out, n_X):
    net = bp.Network.from_sizes([n_in, n_out], seed=0)
    X = np.zeros((2, n_X))
    if n_X == n_in:
        assert net.forward(X).shape == (2, n_out)
    else:
        with pytest.raises(ValueError, match=f"X has {n_X} columns but the network has {n_in} input nodes"):
            net.forward(X)


def test_weights_round_trip_as_plain_data():
    net = bp.Network.from_sizes([3, 4, 2], seed=0)
    saved = net.get_weights()
    net.layers[0].W += 1.0
    net.set_weights(saved)
    assert np.array_equal(net.layers[0].W, saved[0]["W"])
    with pytest.raises(ValueError, match=r"layer 0 W: expected shape \(4, 3\); got \(3, 3\)"):
        net.set_weights([{"W": np.zeros((3, 3)), "b": np.zeros(4)}, saved[1]])


def test_sigmoid_cross_entropy_is_refused_with_the_right_loss_named():
    # -sum_j y_j log a_j is zero for every target 0: one sigmoid node would learn nothing from class 0.
    with pytest.raises(ValueError, match="use loss 'binary_cross_entropy' with sigmoid outputs"):
        bp.Network.from_sizes([3, 4, 1], activation="tanh", output_activation="sigmoid", loss="cross_entropy")
    with pytest.raises(ValueError, match="binary_cross_entropy"):
        bp.Network([bp.Dense(3, 2, "sigmoid")], loss="ce")
    bp.Network.from_sizes([3, 4, 1], output_activation="sigmoid", loss="binary_cross_entropy")


def test_dropout_layers_sit_between_dense_layers_and_are_described_in_the_config():
    net = bp.Network.from_sizes([4, 6, 5, 2], activation="relu", output_activation="identity", loss="mse",
                                dropout=[0.1, 0.3], input_dropout=0.2, seed=0)
    kinds = [type(layer).__name__ for layer in net.stack]
    assert kinds == ["Dropout", "Dense", "Dropout", "Dense", "Dropout", "Dense"]
    assert net.dropout == [0.2, 0.1, 0.3] and len(net.layers) == 3
    assert net.config()["dropout"] == [0.2, 0.1, 0.3]
    again = bp.Network.from_config(net.config(), seed=0)
    assert again.dropout == net.dropout and again.sizes == net.sizes
    assert "dropout" not in bp.Network.from_sizes([4, 3, 2], seed=0).config()  # old files stay as they were
    with pytest.raises(ValueError, match="dropout lists 1 values but there are 2 hidden layers"):
        bp.Network.from_sizes([4, 6, 5, 2], dropout=[0.1])
    with pytest.raises(ValueError, match="cannot come after the output layer"):
        bp.Network([bp.Dense(4, 2), bp.Dropout(0.5)])
    with pytest.raises(ValueError, match="both Dropout"):
        bp.Network([bp.Dropout(0.1), bp.Dropout(0.2), bp.Dense(4, 2)])


def test_prediction_and_gradients_ignore_dropout_and_leave_no_state():
    net = bp.Network.from_sizes([3, 8, 2], activation="tanh", loss="mse", dropout=0.5, seed=1)
    plain = bp.Network.from_sizes([3, 8, 2], activation="tanh", loss="mse", seed=1)
    X = np.random.default_rng(0).normal(size=(5, 3))
    Y = np.random.default_rng(1).normal(size=(5, 2))
    assert np.array_equal(net.forward(X), plain.forward(X))
    for g, h in zip(net.gradients(X, Y), plain.gradients(X, Y)):
        assert np.array_equal(g["W"], h["W"]) and np.array_equal(g["b"], h["b"])
    assert all(set(vars(layer)) <= {"activation", "W", "b", "rate"} for layer in net.stack)


def test_sample_weights_are_a_weighted_average_and_integer_weights_repeat_rows():
    net = bp.Network.from_sizes([3, 5, 2], activation="sigmoid", loss="sse", seed=2)
    rng = np.random.default_rng(3)
    X, Y = rng.normal(size=(6, 3)), rng.normal(size=(6, 2))
    w = np.array([0, 1, 2, 3, 1, 1])
    weighted = net.gradients(X, Y, sample_weight=w)
    repeated = net.gradients(np.repeat(X, w, axis=0), np.repeat(Y, w, axis=0))
    for g, h in zip(weighted, repeated):
        assert np.allclose(g["W"], h["W"], rtol=0, atol=1e-14) and np.allclose(g["b"], h["b"], rtol=0, atol=1e-14)
    assert net.loss(X, Y, sample_weight=w) == pytest.approx(net.loss(np.repeat(X, w, axis=0), np.repeat(Y, w, axis=0)))
    # By hand: sum_i w_i dC_i/dW / sum_i w_i.
    by_hand = sum(wi * net.gradients(X[i:i + 1], Y[i:i + 1])[0]["W"] for i, wi in enumerate(w)) / w.sum()
    assert np.allclose(weighted[0]["W"], by_hand, rtol=0, atol=1e-14)
    for bad, message in [([1, 2], r"shape \(6,\)"), ([-1] * 6, "non-negative"), ([0] * 6, "all zero")]:
        with pytest.raises(ValueError, match=message):
            net.gradients(X, Y, sample_weight=bad)
