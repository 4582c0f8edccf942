"""The update pieces: the folded SGD step against the readable one, and when each is taken.

FoldedSGD does the article's two steps, ``dC/dW = dC/dZ^T A_prev`` and
``W <- W - lr dC/dW``, in one BLAS ``gemm``. With the readable arithmetic in
place of that one call it must be Descent bit for bit (everything around the
product: the error signals, the guard, the bias step, the loop). With the BLAS
call it rounds ``W - lr dC/dW`` once instead of three times (product, scaling,
subtraction), and in float32 forms the forward product from Fortran-ordered
weights, which OpenBLAS sums in another order: a few ulps per step.
"""

from __future__ import annotations

from contextlib import nullcontext

import numpy as np
import pytest

import backprop as bp
from backprop.core.optimizers import SGD, get_optimizer
from backprop.core.training import DivergenceError, NonFiniteError, loop as loop_module
from backprop.core.training.reduce import Local
from backprop.core.training import blas as blas_module
from backprop.core.training.blas import NumpysBLAS, ScipysBLAS
from backprop.core.training.update import Descent, FoldedSGD, blas_for, choose_update

PAIRS = [("sigmoid", "sigmoid", "mse"), ("relu", "softmax", "cross_entropy"),
         ("tanh", "sigmoid", "binary_cross_entropy")]


def data(n=150, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 12))
    return X, np.eye(4)[rng.integers(0, 4, n)]


def network(pair, dtype="float64", **kw):
    act, out, loss = pair
    return bp.Network.from_sizes([12, 24, 16, 4], activation=act, output_activation=out, loss=loss,
                                 seed=0, dtype=dtype, **kw)


def train(net, fold=True, **options):
    X, Y = data()
    options = {"epochs": 3, "batch_size": 16, "lr": 0.1, "seed": 1, **options}
    history = net.fit(X, Y, optimizer=SGD(options.pop("lr"), fold=fold), **options)
    return history, net.get_weights()


class ReadableFold(FoldedSGD):
    """FoldedSGD with the readable arithmetic in place of the one BLAS call."""

    class NoBLAS:
        for_the_run = staticmethod(nullcontext)

    def fold(self, W, dC_dz, a_prev, lr):
        W -= np.multiply(np.matmul(dC_dz.T, a_prev), lr)

    def fold_bias(self, b, dC_dz, lr):
        b -= np.multiply(np.sum(dC_dz, axis=0), lr)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("pair", PAIRS)
@pytest.mark.parametrize("weighted", [False, True])
def test_the_folded_step_is_the_readable_step_bit_for_bit_where_the_operations_are_the_same(
        monkeypatch, dtype, pair, weighted):
    options = {"batch_size": 13}  # a ragged last batch
    if weighted:
        options["sample_weight"] = np.random.default_rng(5).uniform(0.1, 2.0, 150)
    _, readable = train(network(pair, dtype), fold=False, **options)
    made = []

    def choose(net, optimizer, reducer, guard, work, n_samples=0, engine="auto"):
        made.append(ReadableFold(net, optimizer, guard, work, blas=ReadableFold.NoBLAS(), transpose=False))
        return made[-1]

    monkeypatch.setattr(loop_module, "choose_update", choose)
    history, folded = train(network(pair, dtype), **options)
    assert made and len(history.epochs) == 3
    for a, b in zip(readable, folded):
        for name in a:
            np.testing.assert_array_equal(a[name], b[name])


@pytest.mark.parametrize("dtype, ulps", [("float64", 16), ("float32", 64)])
@pytest.mark.parametrize("pair", PAIRS)
@pytest.mark.parametrize("batch_size", [1, 16, 150])
def test_the_blas_fold_stays_within_a_few_ulps_of_the_readable_step(dtype, ulps, pair, batch_size):
    """One rounding instead of three per step (and, in float32, the forward product summed from the
    transposed copy): after three epochs every weight is within ``ulps`` units in the last place of
    the largest weight of its array. A wrong sign, rate or operand would be off by far more."""
    net = network(pair, dtype)
    assert isinstance(choose_update(net, SGD(0.1), Local(), None, None), FoldedSGD)
    _, readable = train(network(pair, dtype), fold=False, batch_size=batch_size)
    _, folded = train(net, batch_size=batch_size)
    for a, b in zip(readable, folded):
        for name in a:
            assert b[name].dtype == a[name].dtype
            spacing = np.spacing(np.max(np.abs(a[name])))
            assert np.max(np.abs(a[name] - b[name])) <= ulps * spacing, (name, dtype)


def test_the_same_seed_gives_the_same_folded_run_and_the_weights_end_in_their_own_arrays():
    pair = PAIRS[1]
    a, b = network(pair, "float32"), network(pair, "float32")
    arrays = [layer.W for layer in b.layers]
    _, first = train(a)
    _, second = train(b)
    for wa, wb in zip(first, second):
        np.testing.assert_array_equal(wa["W"], wb["W"])
    for layer, W in zip(b.layers, arrays):
        assert layer.W is W and W.flags.c_contiguous  # the Fortran-ordered working copy went back


def test_predicting_between_batches_does_not_disturb_a_folded_run():
    probe = np.random.default_rng(9).normal(size=(7, 12))
    quiet, busy = network(PAIRS[0], "float32"), network(PAIRS[0], "float32")
    _, expected = train(quiet)
    seen = []

    class Probe(bp.Callback):
        def on_batch_end(self, epoch, batch, loss):
            seen.append(busy.forward(probe))
            busy.gradients(probe, np.eye(4)[np.arange(7) % 4])

    _, got = train(busy, callbacks=[Probe()])
    assert len(seen) == 30
    for a, b in zip(expected, got):
        np.testing.assert_array_equal(a["W"], b["W"])
    np.testing.assert_allclose(seen[-1], busy.forward(probe), rtol=1e-6)  # it saw the weights of that batch


@pytest.mark.parametrize("options", [
    {"optimizer": "momentum"}, {"optimizer": "adam"}, {"optimizer": "sgd", "weight_decay": 1e-3},
    {"optimizer": "sgd", "clip_norm": 1.0}, {"optimizer": "sgd", "max_norm": 3.0},
    {"optimizer": "sgd", "fold": False}, {"optimizer": "nesterov"},
])
def test_every_other_setting_takes_the_readable_update(options):
    options = dict(options)
    net = network(PAIRS[0])
    optimizer = get_optimizer(options.pop("optimizer"), lr=0.1, **options)
    assert type(choose_update(net, optimizer, Local(), None, None)) is Descent


def test_dropout_and_several_processes_take_the_readable_update():
    dropped = network(PAIRS[0], dropout=0.2)
    assert type(choose_update(dropped, SGD(0.1), Local(), None, None)) is Descent

    class TwoProcesses(Local):
        size = 2

    assert type(choose_update(network(PAIRS[0]), SGD(0.1), TwoProcesses(), None, None)) is Descent


def test_a_folded_run_takes_numpys_own_blas_where_it_is_found_and_scipys_where_not(monkeypatch):
    if blas_module.numpys_cblas() is None:
        pytest.skip("NumPy's own OpenBLAS is not found here (not a NumPy wheel with numpy.libs)")
    for dtype in ("float64", "float32"):
        chosen = choose_update(network(PAIRS[0], dtype), SGD(0.1), Local(), None, None)
        assert type(chosen) is FoldedSGD and isinstance(chosen.blas, NumpysBLAS)
        assert chosen.blas.dtype == np.dtype(dtype)
    pytest.importorskip("scipy")
    monkeypatch.setattr(blas_module, "numpys_cblas", lambda: None)
    assert isinstance(choose_update(network(PAIRS[0]), SGD(0.1), Local(), None, None).blas, ScipysBLAS)
    _, on_scipy = train(network(PAIRS[0]))
    monkeypatch.undo()
    _, on_numpy = train(network(PAIRS[0]))
    for a, b in zip(on_scipy, on_numpy):   # two builds of OpenBLAS: the same step, to rounding
        np.testing.assert_allclose(a["W"], b["W"], rtol=1e-12, atol=1e-12)


def test_without_scipy_training_takes_the_readable_update(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "scipy", None)  # import scipy now raises ImportError
    monkeypatch.setitem(sys.modules, "scipy.linalg", None)
    monkeypatch.setattr(blas_module, "numpys_cblas", lambda: None)  # and NumPy's own library is not found
    assert blas_for("float64") is None
    net = network(PAIRS[0])
    assert type(choose_update(net, SGD(0.1), Local(), None, None)) is Descent
    _, without = train(net)
    _, readable = train(network(PAIRS[0]), fold=False)
    for a, b in zip(readable, without):
        np.testing.assert_array_equal(a["W"], b["W"])


def test_a_batch_whose_products_could_overflow_takes_the_readable_path(monkeypatch):
    """Inputs of 1e155: ||dC/dZ|| ||A_prev|| is past sqrt(float64's largest value), so no batch is folded
    (the readable path forms dC/dW and checks it) and the run is the readable run, bit for bit."""
    folds = []
    monkeypatch.setattr(FoldedSGD, "fold", lambda self, *args: folds.append(args))
    X, Y = data()
    folded, readable = network(PAIRS[0]), network(PAIRS[0])
    folded.fit(X * 1e155, Y, epochs=1, batch_size=16, optimizer=SGD(1e-3), seed=1)
    readable.fit(X * 1e155, Y, epochs=1, batch_size=16, optimizer=SGD(1e-3, fold=False), seed=1)
    assert folds == []
    for a, b in zip(readable.get_weights(), folded.get_weights()):
        np.testing.assert_array_equal(a["W"], b["W"])


def test_a_run_that_blows_up_stops_before_the_bad_batch_as_the_readable_run_does():
    outcomes = []
    for fold in (True, False):
        net = network(PAIRS[1])
        with pytest.raises((NonFiniteError, DivergenceError)) as caught:
            train(net, fold=fold, lr=1e4, epochs=20)
        outcomes.append((type(caught.value), caught.value.epoch, caught.value.batch, net.get_weights()))
        assert all(layer.W.flags.c_contiguous for layer in net.layers)
    (kind_a, epoch_a, batch_a, weights_a), (kind_b, epoch_b, batch_b, weights_b) = outcomes
    assert (kind_a, epoch_a, batch_a) == (kind_b, epoch_b, batch_b)
    for a, b in zip(weights_a, weights_b):
        assert np.isfinite(a["W"]).all()
        np.testing.assert_allclose(a["W"], b["W"], rtol=1e-12)


def test_the_fold_option_is_checked_and_kept_in_the_config():
    with pytest.raises(ValueError, match="fold must be True or False"):
        SGD(0.1, fold="no")
    assert "fold" not in SGD(0.1).config()
    assert get_optimizer(SGD(0.1, fold=False).config()).fold is False


def scipys_blas(dtype):
    scipy_blas = pytest.importorskip("scipy.linalg.blas")
    p = "s" if np.dtype(dtype) == np.float32 else "d"
    return ScipysBLAS(getattr(scipy_blas, f"{p}gemm"), getattr(scipy_blas, f"{p}gemv"))


def numpys_blas(dtype):
    blas = blas_for(dtype)
    if not isinstance(blas, NumpysBLAS):
        pytest.skip("NumPy's own OpenBLAS is not found here (not a NumPy wheel with numpy.libs)")
    return blas


BLASES = [numpys_blas, scipys_blas]


@pytest.mark.parametrize("make", BLASES)
def test_a_step_blas_would_write_into_a_copy_is_refused(make):
    net = network(PAIRS[0])  # float64 weights, float32 BLAS: SciPy would cast W to a new array
    update = FoldedSGD(net, SGD(0.1), None, None, make("float32"))
    dC_dz, a_prev = np.ones((5, 24)), np.ones((5, 12))
    with pytest.raises(RuntimeError, match="into a copy of W"):
        update.fold(net.layers[0].W, dC_dz, a_prev, 0.1)
    with pytest.raises(RuntimeError, match="into a copy of b"):
        update.fold_bias(net.layers[0].b, dC_dz, 0.1)


@pytest.mark.parametrize("make", BLASES)
@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-13), ("float32", 1e-5)])
@pytest.mark.parametrize("order", ["C", "F"])
def test_each_blas_adds_the_scaled_product_into_w_and_b_in_place(make, dtype, rtol, order):
    rng = np.random.default_rng(3)
    W = np.asarray(rng.standard_normal((7, 5)), dtype=dtype, order=order)
    b = rng.standard_normal(7).astype(dtype)
    dC_dz = rng.standard_normal((9, 7)).astype(dtype)
    a_prev = rng.standard_normal((9, 10)).astype(dtype)[:, ::2]   # a strided view: taken as it is
    expected_W = W - 0.3 * (dC_dz.T @ a_prev)
    expected_b = b - 0.3 * dC_dz.sum(axis=0)
    blas, W_id, b_id = make(dtype), W.ctypes.data, b.ctypes.data
    blas.fold(W, dC_dz, a_prev, -0.3)
    blas.fold_bias(b, dC_dz, np.ones(9, dtype=dtype), -0.3)
    assert W.ctypes.data == W_id and b.ctypes.data == b_id
    np.testing.assert_allclose(W, expected_W, rtol=rtol, atol=rtol)
    np.testing.assert_allclose(b, expected_b, rtol=rtol, atol=rtol)


def test_numpys_blas_refuses_operands_it_would_misread():
    blas = numpys_blas("float64")
    with pytest.raises(RuntimeError, match="float64 BLAS cannot take a float32 operand"):
        blas.fold(np.zeros((3, 2)), np.ones((4, 3), dtype=np.float32), np.ones((4, 2)), -0.1)
    with pytest.raises(ValueError, match=r"shapes do not fit W \(3, 2\)"):
        blas.fold(np.zeros((3, 2)), np.ones((4, 3)), np.ones((5, 2)), -0.1)     # a batch of 4 and of 5
    with pytest.raises(ValueError, match="shapes do not fit: b"):
        blas.fold_bias(np.zeros(3), np.ones((4, 3)), np.ones(5), -0.1)


def test_a_folded_run_on_numpys_blas_holds_no_pool_and_on_scipys_holds_scipys_to_one_thread(monkeypatch):
    """SciPy's wheel brings an OpenBLAS beside NumPy's; two pools of spinning threads, called in turn
    every batch, made a two-core epoch 15-20 times slower. On NumPy's own library the step shares
    NumPy's pool, and nothing is held; on SciPy's, SciPy's own pool is held to one thread for the run."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    import scipy.linalg.blas  # noqa: F401  (loads SciPy's BLAS, as a folded run may)

    def threads():
        return {info["filepath"]: info["num_threads"] for info in threadpoolctl.threadpool_info()
                if info["user_api"] == "blas"}

    own = [path for path in threads() if "scipy" in path.replace("\\", "/").split("/")
           or "scipy.libs" in path.replace("\\", "/").split("/")]
    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
        before = threads()
        for which in ("numpy", "scipy"):
            if which == "scipy":
                monkeypatch.setattr(blas_module, "numpys_cblas", lambda: None)
            elif not isinstance(blas_for("float64"), NumpysBLAS):
                continue
            seen = []
            train(network(PAIRS[0]), callbacks=[lambda epoch, record: seen.append(threads())])
            held = own if which == "scipy" else []
            assert seen and all(during[path] == 1 for during in seen for path in held)
            assert all(during[path] == before[path] for during in seen for path in before if path not in held)
            assert threads() == before
        seen.clear()
        train(network(PAIRS[0]), fold=False, callbacks=[lambda epoch, record: seen.append(threads())])
        assert seen and all(during == before for during in seen)  # the readable path leaves them alone
