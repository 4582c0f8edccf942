"""Update rules by hand, their validation, and their state as plain data."""

import math

import numpy as np
import pytest

import backprop as bp
from backprop.core.optimizers import clip_by_global_norm, global_norm


def one_param(w=(1.0, -2.0)):
    return [{"W": np.array([list(w)]), "b": None}]


def test_sgd_is_exactly_the_articles_rule():
    params, grads = one_param(), [{"W": np.array([[0.5, 0.25]]), "b": None}]
    bp.get_optimizer("sgd", lr=0.1).step(params, grads)
    # new weight = old weight - learning rate * gradient
    assert params[0]["W"].tolist() == [[1.0 - 0.1 * 0.5, -2.0 - 0.1 * 0.25]]


def test_momentum_and_nesterov_by_hand():
    g = [{"W": np.array([[1.0, 1.0]]), "b": None}]
    for name, expected_second_step in [("momentum", 0.1 * (0.9 * 1 + 1)),
                                       ("nesterov", 0.1 * (1 + 0.9 * (0.9 * 1 + 1)))]:
        params = one_param((0.0, 0.0))
        opt = bp.get_optimizer(name, lr=0.1, momentum=0.9)
        opt.step(params, g)
        before = params[0]["W"][0, 0]
        opt.step(params, g)
        assert before - params[0]["W"][0, 0] == pytest.approx(expected_second_step, rel=1e-14)


def test_adam_first_step_moves_by_lr():
    # After bias correction, the first Adam step is lr * g / (|g| + eps) = lr * sign(g).
    params = one_param((0.0, 0.0))
    bp.get_optimizer("adam", lr=0.01).step(params, [{"W": np.array([[3.0, -0.2]]), "b": None}])
    assert np.allclose(params[0]["W"], [[-0.01, 0.01]], rtol=1e-6)


def test_weight_decay_spares_biases():
    params = [{"W": np.array([[1.0]]), "b": np.array([1.0])}]
    zero = [{"W": np.array([[0.0]]), "b": np.array([0.0])}]
    bp.get_optimizer("sgd", lr=0.5, weight_decay=0.1).step(params, zero)
    assert params[0]["W"][0, 0] == pytest.approx(1.0 - 0.5 * 0.1)
    assert params[0]["b"][0] == 1.0


def test_clip_by_global_norm():
    grads = [{"W": np.array([[3.0]]), "b": np.array([4.0])}]
    assert global_norm(grads) == 5.0
    clipped = clip_by_global_norm(grads, 1.0)
    assert global_norm(clipped) == pytest.approx(1.0, rel=1e-5)
    assert grads[0]["W"][0, 0] == 3.0  # the input is left alone
    assert clip_by_global_norm(grads, 10.0)[0]["W"][0, 0] == 3.0


@pytest.mark.parametrize("name", list(bp.OPTIMIZERS))
def test_state_round_trips_as_plain_data(name):
    net = bp.Network.from_sizes([2, 3, 1], seed=0)
    X, Y = np.ones((4, 2)), np.zeros((4, 1))
    a = bp.get_optimizer(name)
    a.step(net.parameters(), net.gradients(X, Y))
    state = a.state_dict()
    assert all(isinstance(v, np.ndarray) for v in state["arrays"].values())
    twin = bp.Network.from_sizes([2, 3, 1], seed=0)
    twin.set_weights(net.get_weights())
    b = bp.get_optimizer(name)
    b.load_state_dict(state)
    a.step(net.parameters(), net.gradients(X, Y))
    b.step(twin.parameters(), twin.gradients(X, Y))
    assert all(np.array_equal(x.W, y.W) for x, y in zip(net.layers, twin.layers))


@pytest.mark.parametrize("name", list(bp.OPTIMIZERS))
def test_a_step_allocates_no_temporary_the_size_of_the_weights(name):
    # Adam on a 3x1024 network is bound by passes over memory; each temporary
    # the size of W is one more. After the first step (which makes the state),
    # a step may only allocate small objects.
    import tracemalloc

    rng = np.random.default_rng(0)
    params = [{"W": rng.standard_normal((500, 400)), "b": np.zeros(500)}]     # W is 1.6 MB
    grads = [{"W": rng.standard_normal((500, 400)), "b": np.ones(500)}]
    opt = bp.get_optimizer(name, lr=1e-3)
    opt.step(params, grads)
    tracemalloc.start()
    try:
        opt.step(params, grads)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < params[0]["W"].nbytes / 4, f"{name} allocated {peak} bytes in a step"


@pytest.mark.parametrize(
    "name, options, message",
    [
        ("sgd", dict(lr=0), "lr must be positive and finite; got 0"),
        ("sgd", dict(lr=-0.1), "lr must be positive"),
        ("sgd", dict(lr=math.inf), "lr must be positive and finite"),
        ("sgd", dict(lr="fast"), "lr must be a number; got 'fast'"),
        ("momentum", dict(momentum=1.5), r"momentum must be in \[0, 1\); got 1.5"),
        ("adam", dict(beta2=1.0), "beta2 must be in"),
        ("sgd", dict(weight_decay=-1), "weight_decay must be non-negative"),
        ("sgd", dict(clip_norm=0), "clip_norm must be positive"),
        ("sgd", dict(momentum=0.9), "bad option for optimizer 'sgd'"),
        ("lbfgs", {}, "unknown optimizer 'lbfgs'; expected one of sgd, momentum"),
    ],
)
def test_bad_options_are_named(name, options, message):
    with pytest.raises(ValueError, match=message):
        bp.get_optimizer(name, **options)


def test_schedules_and_their_validation():
    assert bp.get_schedule(None)(0.1, 7) == 0.1
    assert bp.get_schedule("step", step_size=2, gamma=0.5)(1.0, 5) == 0.25
    assert bp.get_schedule({"name": "cosine", "t_max": 4})(1.0, 4) == pytest.approx(0.0)


def test_cosine_by_name_anneals_over_the_run():
    assert bp.get_schedule("cosine", epochs=30).t_max == 30
    assert bp.get_schedule({"name": "cosine"}, epochs=30).t_max == 30
    assert bp.get_schedule({"name": "cosine", "t_max": 7}, epochs=30).t_max == 7   # its own wins
    assert bp.get_schedule("cosine").t_max == 50                                   # no run: the default
    assert bp.get_schedule("step", epochs=30).step_size == bp.StepLR().step_size   # only cosine ends with the run


def test_fit_with_cosine_reaches_its_lowest_rate_in_the_last_epoch():
    net = bp.Network.from_sizes([2, 3, 1], seed=0)
    X, Y = np.random.default_rng(0).random((16, 2)), np.zeros((16, 1))
    lrs = net.fit(X, Y, epochs=4, lr=0.1, schedule="cosine", seed=0)["lr"]
    assert lrs == pytest.approx([0.1 * (1 + math.cos(math.pi * e / 4)) / 2 for e in range(4)])
    with pytest.raises(ValueError, match="unknown schedule 'linear'"):
        bp.get_schedule("linear")
    with pytest.raises(ValueError, match="step_size must be a positive integer; got 0"):
        bp.get_schedule("step", step_size=0)


def test_max_norm_scales_each_units_incoming_weights_back_to_the_ball():
    import backprop as bp

    W = np.array([[3.0, 4.0], [0.3, 0.4], [0.0, 0.0]])  # norms 5, 0.5, 0
    b = np.array([10.0, 10.0, 10.0])
    opt = bp.get_optimizer("sgd", lr=0.5, max_norm=1.0)
    opt.step([{"W": W, "b": b}], [{"W": np.zeros_like(W), "b": np.ones(3)}])
    np.testing.assert_allclose(W, [[0.6, 0.8], [0.3, 0.4], [0.0, 0.0]], rtol=1e-15)
    np.testing.assert_allclose(b, 9.5)  # biases are not constrained
    assert opt.config()["max_norm"] == 1.0
    with pytest.raises(ValueError, match="max_norm must be positive"):
        bp.get_optimizer("adam", max_norm=0.0)


def test_max_norm_matches_pytorch_renorm_after_a_step():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    W = rng.normal(size=(5, 4)) * 3
    g = rng.normal(size=(5, 4))
    mine = W.copy()
    bp_opt = __import__("backprop").get_optimizer("momentum", lr=0.1, momentum=0.9, max_norm=2.0)
    bp_opt.step([{"W": mine, "b": None}], [{"W": g, "b": None}])
    t = torch.tensor(W, requires_grad=True)
    opt = torch.optim.SGD([t], lr=0.1, momentum=0.9)
    t.grad = torch.tensor(g)
    opt.step()
    with torch.no_grad():
        t.copy_(torch.renorm(t, p=2, dim=0, maxnorm=2.0))
    np.testing.assert_allclose(mine, t.detach().numpy(), rtol=1e-6)
