"""PyTorch autograd as an independent oracle: same networks, same loss and gradients."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import backprop as bp
from backprop.core.activations import ACTIVATIONS
from support import relative_error

TORCH_ACTIVATIONS = {
    "identity": lambda z: z,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "leaky_relu": F.leaky_relu,
    "elu": F.elu,
    "softplus": F.softplus,
    "gelu": F.gelu,
    "softmax": lambda z: torch.softmax(z, dim=1),
    "exp": torch.exp,
}


def torch_loss(name, z, a, y):
    if name == "sse":
        return ((a - y) ** 2).sum(dim=1).mean()
    if name == "mse":
        return F.mse_loss(a, y)
    if name == "mae":
        return F.l1_loss(a, y)
    if name == "huber":
        return F.huber_loss(a, y)
    if name == "cross_entropy":
        return F.cross_entropy(z, y)  # PyTorch's own: logits and probability targets
    if name == "binary_cross_entropy":
        return F.binary_cross_entropy(a, y)
    raise AssertionError(name)


def torch_forward(net, X):
    """The same network in PyTorch, from the same weights; returns (params, z_out, a_out)."""
    params, a, z = [], torch.from_numpy(X), None
    for layer in net.layers:
        W = torch.tensor(layer.W, requires_grad=True)
        b = None if layer.b is None else torch.tensor(layer.b, requires_grad=True)
        params.append((W, b))
        z = a @ W.T + (b if b is not None else 0)
        a = TORCH_ACTIVATIONS[layer.activation.name](z)
    return params, z, a


@st.composite
def cases(draw):
    depth = draw(st.integers(1, 4))
    sizes = draw(st.lists(st.integers(1, 8), min_size=depth + 1, max_size=depth + 1))
    hidden = draw(st.lists(st.sampled_from(list(ACTIVATIONS)), min_size=depth - 1, max_size=depth - 1))
    loss = draw(st.sampled_from(["sse", "mse", "mae", "huber", "cross_entropy", "binary_cross_entropy"]))
    output = {"cross_entropy": "softmax", "binary_cross_entropy": "sigmoid"}.get(loss) or draw(
        st.sampled_from(list(ACTIVATIONS)))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    layers = [bp.Layer(sizes[i], sizes[i + 1], act, bias=draw(st.booleans()), seed=rng)
              for i, act in enumerate(hidden + [output])]
    for layer in layers:
        if layer.b is not None:
            layer.b[:] = rng.normal(scale=0.5, size=layer.b.shape)
    n = draw(st.integers(1, 16))
    X = rng.normal(size=(n, sizes[0]))
    if loss == "cross_entropy":
        Y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], n)]
    elif loss == "binary_cross_entropy":
        Y = rng.uniform(size=(n, sizes[-1]))
    else:
        Y = rng.normal(size=(n, sizes[-1]))
    return bp.Network(layers, loss=loss, fuse_output=draw(st.booleans())), X, Y


@settings(max_examples=100)
@given(cases())
def test_loss_and_gradients_match_pytorch(case):
    net, X, Y = case
    params, z, a = torch_forward(net, X)
    expected = torch_loss(net.loss_fn.name, z, a, torch.from_numpy(Y))
    expected.backward()
    assert relative_error(net.loss(X, Y), expected.item(), floor=1e-300) < 1e-10
    for (W, b), g in zip(params, net.gradients(X, Y)):
        assert relative_error(g["W"], W.grad.numpy()) < 1e-10
        if b is not None:
            assert relative_error(g["b"], b.grad.numpy()) < 1e-10


OPTIMIZERS = {
    "sgd": (dict(lr=0.1), lambda p, wd: torch.optim.SGD(p, lr=0.1)),
    "momentum": (dict(lr=0.05, momentum=0.8), lambda p, wd: torch.optim.SGD(p, lr=0.05, momentum=0.8)),
    "nesterov": (dict(lr=0.05, momentum=0.7),
                 lambda p, wd: torch.optim.SGD(p, lr=0.05, momentum=0.7, nesterov=True)),
    "adam": (dict(lr=0.01, beta1=0.8, beta2=0.95, eps=1e-7),
             lambda p, wd: torch.optim.Adam(p, lr=0.01, betas=(0.8, 0.95), eps=1e-7)),
    "adamw": (dict(lr=0.01), lambda p, wd: torch.optim.AdamW(p, lr=0.01)),
    "rmsprop": (dict(lr=0.01, rho=0.9), lambda p, wd: torch.optim.RMSprop(p, lr=0.01, alpha=0.9)),
}


@pytest.mark.parametrize("clip_norm", [None, 0.05])
@pytest.mark.parametrize("weight_decay", [0.0, 0.03])
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_twenty_steps_match_torch_optim(name, weight_decay, clip_norm):
    rng = np.random.default_rng(0)
    net = bp.Network.from_sizes([3, 5, 4, 2], activation="tanh", output_activation="sigmoid",
                                loss="sse", seed=1)
    X, Y = rng.normal(size=(12, 3)), rng.uniform(size=(12, 2))
    options, make_torch = OPTIMIZERS[name]
    wd = 0.01 if name == "adamw" and weight_decay == 0.0 else weight_decay
    ours = bp.get_optimizer(name, weight_decay=wd, clip_norm=clip_norm, **options)

    tparams = [(torch.tensor(l.W, requires_grad=True), torch.tensor(l.b, requires_grad=True))
               for l in net.layers]
    # Weight decay applies to W, not to biases, in both.
    groups = [{"params": [W for W, _ in tparams], "weight_decay": wd},
              {"params": [b for _, b in tparams], "weight_decay": 0.0}]
    theirs = make_torch(groups, wd)
    Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y)

    for _ in range(20):
        ours.step(net.parameters(), net.gradients(X, Y))
        theirs.zero_grad()
        a = Xt
        for (W, b), layer in zip(tparams, net.layers):
            a = TORCH_ACTIVATIONS[layer.activation.name](a @ W.T + b)
        ((a - Yt) ** 2).sum(dim=1).mean().backward()
        if clip_norm is not None:
            torch.nn.utils.clip_grad_norm_([t for pair in tparams for t in pair], clip_norm)
        theirs.step()

    for layer, (W, b) in zip(net.layers, tparams):
        assert relative_error(layer.W, W.detach().numpy()) < 1e-10
        assert relative_error(layer.b, b.detach().numpy()) < 1e-10
    # The weights did move: the comparison is not of two untouched copies.
    assert not np.allclose(net.layers[0].W, bp.Network.from_sizes([3, 5, 4, 2], seed=1).layers[0].W)


@pytest.mark.parametrize(
    "ours, make_theirs",
    [
        (bp.StepLR(step_size=3, gamma=0.5), lambda o: torch.optim.lr_scheduler.StepLR(o, 3, 0.5)),
        (bp.ExponentialLR(gamma=0.9), lambda o: torch.optim.lr_scheduler.ExponentialLR(o, 0.9)),
        (bp.CosineLR(t_max=10, eta_min=0.001), lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, 10, 0.001)),
        (bp.ConstantLR(), lambda o: torch.optim.lr_scheduler.LambdaLR(o, lambda e: 1.0)),
    ],
)
def test_schedules_match_pytorch(ours, make_theirs):
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    sched = make_theirs(opt)
    for epoch in range(11):
        assert ours(0.1, epoch) == pytest.approx(sched.get_last_lr()[0], rel=1e-12)
        opt.step()
        sched.step()
