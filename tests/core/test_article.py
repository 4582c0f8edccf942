"""The article's two worked cases, computed here by hand from its formulas.

Nodes are numbered from 0, as in the article. The network is the article's
model: sigmoid layers, the loss C0 = sum_j (a_j - y_j)^2, no biases.
"""

import math

import numpy as np
import pytest

import backprop as bp


def sigmoid(z):
    return 1 / (1 + math.exp(-z))


def sigmoid_prime(z):
    return sigmoid(z) * (1 - sigmoid(z))


def by_hand(W1, W2, x, y):
    """Forward pass node by node: z_j^l = sum_k w_jk^l a_k^(l-1), a_j^l = g(z_j^l)."""
    a0 = list(x)                                                    # layer L-2 (the input)
    z1 = [sum(W1[j][k] * a0[k] for k in range(len(a0))) for j in range(len(W1))]
    a1 = [sigmoid(v) for v in z1]                                   # layer L-1
    z2 = [sum(W2[j][k] * a1[k] for k in range(len(a1))) for j in range(len(W2))]
    a2 = [sigmoid(v) for v in z2]                                   # layer L
    # Output layer, j = 1, k = 2:  dC0/dw_12^L = 2(a_1^L - y_1) g'(z_1^L) a_2^(L-1)
    w12_L = 2 * (a2[1] - y[1]) * sigmoid_prime(z2[1]) * a1[2]
    # Hidden layer, j = 2, k = 2:
    # dC0/dw_22^(L-1) = (sum_j 2(a_j^L - y_j) g'(z_j^L) w_j2^L) g'(z_2^(L-1)) a_2^(L-2)
    total = sum(2 * (a2[j] - y[j]) * sigmoid_prime(z2[j]) * W2[j][2] for j in range(len(a2)))
    w22_L1 = total * sigmoid_prime(z1[2]) * a0[2]
    return w12_L, w22_L1


@pytest.mark.parametrize("seed", range(5))
def test_worked_cases_for_one_sample(seed):
    net = bp.Network.from_sizes([3, 3, 2], activation="sigmoid", loss="sse", bias=False, seed=seed)
    rng = np.random.default_rng(100 + seed)
    x, y = rng.normal(size=3), rng.uniform(size=2)
    W1, W2 = net.layers[0].W.tolist(), net.layers[1].W.tolist()
    w12_L, w22_L1 = by_hand(W1, W2, x, y)
    grads = net.gradients(x[None, :], y[None, :])
    assert grads[1]["W"][1, 2] == pytest.approx(w12_L, rel=1e-13)
    assert grads[0]["W"][2, 2] == pytest.approx(w22_L1, rel=1e-13)


def test_worked_cases_average_over_n_samples():
    """dC/dw = 1/N sum_i dC_i/dw, the article's average over N training samples."""
    net = bp.Network.from_sizes([3, 3, 2], activation="sigmoid", loss="sse", bias=False, seed=9)
    rng = np.random.default_rng(9)
    X, Y = rng.normal(size=(6, 3)), rng.uniform(size=(6, 2))
    W1, W2 = net.layers[0].W.tolist(), net.layers[1].W.tolist()
    per_sample = [by_hand(W1, W2, X[i], Y[i]) for i in range(6)]
    grads = net.gradients(X, Y)
    assert grads[1]["W"][1, 2] == pytest.approx(sum(p[0] for p in per_sample) / 6, rel=1e-13)
    assert grads[0]["W"][2, 2] == pytest.approx(sum(p[1] for p in per_sample) / 6, rel=1e-13)


def test_plain_sgd_learns_xor():
    X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    Y = np.array([[0.0], [1.0], [1.0], [0.0]])
    net = bp.Network.from_sizes([2, 4, 1], activation="tanh", output_activation="sigmoid",
                                loss="sse", seed=0)
    sgd = bp.SGD(lr=0.5)
    for _ in range(3000):
        sgd.step(net.parameters(), net.gradients(X, Y))
    assert net.loss(X, Y) < 0.01
    assert np.array_equal(net.forward(X).round(), Y)
