"""Each loss's value and derivative; the fused output shortcuts equal the unfused chain."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from backprop.core.activations import get_activation
from backprop.core.losses import FUSED_OUTPUTS, LOSSES, get_loss
from support import central_difference, relative_error

rng = np.random.default_rng(0)


def outputs_and_targets(name, shape=(6, 3)):
    """Outputs a and targets y in the loss's domain."""
    if name == "cross_entropy":
        a = get_activation("softmax").value(rng.normal(size=shape))
        y = np.eye(shape[1])[rng.integers(0, shape[1], shape[0])]
    elif name == "binary_cross_entropy":
        a = rng.uniform(0.05, 0.95, size=shape)
        y = rng.uniform(size=shape)
    elif name == "poisson":
        a = rng.uniform(0.2, 5.0, size=shape)  # an exp output: positive rates
        y = rng.poisson(2.0, size=shape).astype(float)
    else:
        a, y = rng.normal(size=shape), rng.normal(size=shape)
    return a, y


TORCH = {
    "sse": lambda a, y: ((a - y) ** 2).sum(dim=1).mean(),
    "mse": F.mse_loss,
    "mae": F.l1_loss,
    "huber": F.huber_loss,
    "cross_entropy": lambda a, y: -(y * torch.log(a)).sum(dim=1).mean(),
    "binary_cross_entropy": F.binary_cross_entropy,
    "poisson": lambda a, y: (a - y * torch.log(a)).mean(),  # PoissonNLLLoss(log_input=False) without eps
}


@pytest.mark.parametrize("name", list(LOSSES))
def test_value_and_derivative_match_pytorch(name):
    a, y = outputs_and_targets(name)
    loss = get_loss(name)
    at = torch.from_numpy(a).requires_grad_()
    expected = TORCH[name](at, torch.from_numpy(y))
    expected.backward()
    assert abs(loss.value(a, y) - expected.item()) <= 1e-13 * abs(expected.item())
    # PyTorch differentiates the mean; the loss gives per-sample derivatives.
    assert relative_error(loss.derivative(a, y) / a.shape[0], at.grad.numpy()) < 1e-12


@pytest.mark.parametrize("name", list(LOSSES))
def test_derivative_matches_finite_differences(name):
    a, y = outputs_and_targets(name)
    loss = get_loss(name)
    numeric = central_difference(lambda: loss.per_sample(a, y).sum(), a)
    assert relative_error(loss.derivative(a, y), numeric) < 1e-7


def test_sse_is_the_articles_loss():
    a = np.array([[0.2, 0.7], [0.9, 0.1]])
    y = np.array([[0.0, 1.0], [1.0, 0.0]])
    # C0 = sum_j (a_j - y_j)^2 per sample, then the mean over samples.
    assert get_loss("sse").value(a, y) == pytest.approx(((0.04 + 0.09) + (0.01 + 0.01)) / 2)
    assert np.allclose(get_loss("sse").derivative(a, y), 2 * (a - y))


@pytest.mark.parametrize("pair", list(FUSED_OUTPUTS))
def test_fused_shortcut_equals_unfused_chain(pair):
    activation_name, loss_name = pair
    fused = FUSED_OUTPUTS[pair]
    g, loss = get_activation(activation_name), get_loss(loss_name)
    z = rng.normal(scale=2.0, size=(8, 4))
    a = g.value(z)
    y = rng.uniform(size=z.shape)
    if activation_name == "softmax":
        y /= y.sum(axis=1, keepdims=True)
    unfused_delta = g.backward(z, a, loss.derivative(a, y))
    assert relative_error(fused.delta(z, a, y), unfused_delta) < 1e-12
    assert relative_error(fused.per_sample(z, a, y), loss.per_sample(a, y)) < 1e-12


@pytest.mark.parametrize("pair", list(FUSED_OUTPUTS))
def test_fused_shortcut_is_finite_where_outputs_saturate(pair):
    fused = FUSED_OUTPUTS[pair]
    z = np.array([[-800.0, 0.0, 800.0]])
    a = get_activation(pair[0]).value(z)
    y = np.array([[1.0, 0.0, 0.0]])
    assert np.isfinite(fused.per_sample(z, a, y)).all()
    assert fused.per_sample(z, a, y)[0] > 100  # a confident wrong answer costs a lot
    assert np.isfinite(fused.delta(z, a, y)).all()


def test_huber_rejects_bad_delta_and_unknown_names_are_named():
    with pytest.raises(ValueError, match="delta must be positive; got -1"):
        get_loss({"name": "huber", "delta": -1})
    with pytest.raises(ValueError, match=r"unknown loss 'sse2'.*sse"):
        get_loss("sse2")


def test_float32_stays_float32():
    for name in LOSSES:
        a, y = (arr.astype(np.float32) for arr in outputs_and_targets(name))
        assert get_loss(name).derivative(a, y).dtype == np.float32
        assert get_loss(name).per_sample(a, y).dtype == np.float32
