"""The benchmark's peers and prototypes train the network that ``Network.fit`` trains.

``benchmarks/prototypes/`` holds candidate hot paths for the engine; each must
compute what the readable NumPy path computes - bit for bit in float64 where
the operations are the same - or its timings mean nothing. The JAX peer of
``make bench`` must start from the same weights and see the same batches.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import backprop as bp

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path[:0] = [str(BENCHMARKS), str(BENCHMARKS / "prototypes")]

LR = 0.1
pytest.importorskip("scipy")


def problem(dtype, activation, loss, n=203, n_in=12, n_hidden=9, n_out=4, seed=0):
    """A small network and data; 203 samples leave a smaller last batch for every batch size used."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(size=(n, n_in)).astype(dtype)
    Y = np.eye(n_out, dtype=dtype)[rng.integers(0, n_out, n)]
    net = bp.Network.from_sizes([n_in, n_hidden, n_out], activation=activation,
                                output_activation="softmax" if loss == "cross_entropy" else "sigmoid",
                                loss=loss, seed=seed, dtype=dtype)
    return net, X, Y


def fit_reference(net, X, Y, batch):
    initial = net.get_weights()
    # The readable step (SGD(fold=False)): the arithmetic the prototypes mirror, operation for operation.
    history = net.fit(X, Y, epochs=1, batch_size=batch, lr=LR, seed=0, optimizer_options={"fold": False})
    return initial, net.get_weights(), history["loss"][0], np.random.default_rng(0).permutation(len(X))


def trained(run, initial, X, Y, order, batch, activation, loss):
    weights = [{k: v.copy() for k, v in w.items()} for w in initial]
    loss_sum, outputs = run(weights, X, Y, order, batch, LR, activation, loss)
    return weights, loss_sum / len(X), outputs


CASES = [(a, loss, b) for a in ("sigmoid", "relu") for loss in ("mse", "cross_entropy") for b in (16, 64)]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("activation,loss,batch", CASES)
def test_lean_numpy_epoch_is_fit_bit_for_bit(dtype, activation, loss, batch):
    import lean_numpy

    net, X, Y = problem(dtype, activation, loss)
    initial, reference, ref_loss, order = fit_reference(net, X, Y, batch)
    weights, mean_loss, _ = trained(lambda *a: lean_numpy.epoch(*a, update="separate"),
                                    initial, X, Y, order, batch, activation, loss)
    for w, r in zip(weights, reference):
        for k in w:
            np.testing.assert_array_equal(w[k], r[k])
    assert mean_loss == pytest.approx(ref_loss, rel=1e-12 if dtype == "float64" else 1e-5)


@pytest.mark.parametrize("update", ["gemm", "gemm_t"])
@pytest.mark.parametrize("activation,loss,batch", CASES)
def test_gemm_folded_update_rounds_once_where_fit_rounds_twice(activation, loss, batch, update):
    import lean_numpy

    net, X, Y = problem("float64", activation, loss)
    initial, reference, _, order = fit_reference(net, X, Y, batch)
    weights, _, _ = trained(lambda *a: lean_numpy.epoch(*a, update=update), initial, X, Y, order, batch,
                            activation, loss)
    assert all(w["W"].flags.c_contiguous for w in weights)
    moved = max(float(np.max(np.abs(r[k] - i[k]))) for r, i in zip(reference, initial) for k in r)
    for w, r in zip(weights, reference):
        for k in w:
            np.testing.assert_allclose(w[k], r[k], rtol=0, atol=1e-12 * max(moved, 1.0))


@pytest.mark.parametrize("fused,transposed", [(False, False), (True, False), (True, True)])
@pytest.mark.parametrize("activation,loss,batch", CASES)
def test_numba_epoch_is_its_numpy_twin_bit_for_bit(activation, loss, batch, fused, transposed):
    """With the C library's exp in the NumPy path (Numba calls it), every operation is the same."""
    pytest.importorskip("numba")
    import lean_numpy
    import numba_epoch

    net, X, Y = problem("float64", activation, loss)
    initial, reference, _, order = fit_reference(net, X, Y, batch)
    ours, ours_loss, ours_out = trained(lambda *a: numba_epoch.epoch(*a, fused=fused, transposed=transposed),
                                        initial, X, Y, order, batch, activation, loss)
    if not fused:
        twin, twin_loss, twin_out = trained(
            lambda *a: lean_numpy.epoch(*a, update="separate", exp=lean_numpy.libm_exp),
            initial, X, Y, order, batch, activation, loss)
        for w, t in zip(ours, twin):
            for k in w:
                np.testing.assert_array_equal(w[k], t[k])
        np.testing.assert_array_equal(ours_out, twin_out)
        assert ours_loss == pytest.approx(twin_loss, rel=1e-13)
    for w, r in zip(ours, reference):  # and close to fit's, whose exp differs in the last bit
        for k in w:
            np.testing.assert_allclose(w[k], r[k], rtol=0, atol=1e-12)


def test_jax_peer_trains_the_same_network_on_the_same_batches():
    pytest.importorskip("jax")
    from jax_peer import time_jax

    for scan in (True, False):
        net, X, Y = problem("float64", "relu", "cross_entropy")
        initial, reference, _, order = fit_reference(net, X, Y, 16)
        config = {"batch": 16, "dtype": "float64", "activation": "relu", "loss": "cross_entropy"}
        result = time_jax(X, Y, initial, order, config, LR, scan=scan)
        assert np.isfinite(result["compile_seconds"])  # reported apart from the epoch (its size is not tested)
        for w, r in zip(result["weights"], reference):
            for k in w:
                np.testing.assert_allclose(w[k], r[k], rtol=0, atol=1e-12)
