"""The compiled pass (Numba) against the NumPy path it twins, and when a run takes it.

``fit(engine="compiled")`` runs each batch's forward and backward pass (and,
with plain SGD, the folded step) as compiled loops around the same BLAS calls.
Where the operations are the same (ReLU and identity layers, the squared
error) the run must equal the NumPy path's (``engine="numpy"``) bit for bit,
with every optimizer; where ``exp``, ``log`` or ``tanh`` come from the C
library instead of NumPy's own routines, within a few units in the last place.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import backprop as bp
from backprop.core.optimizers import SGD
from backprop.core.training import NonFiniteError, compiled as compiled_module
from backprop.core.training.compiled import (WORTH_COMPILING, CompiledDescent, CompiledPass, CompiledSGD,
                                             choose_update)
from backprop.core.training.reduce import Local
from backprop.core.training.update import Descent, FoldedSGD

pytest.importorskip("numba", reason="the compiled pass needs Numba (pip install 'backprop[fast]')")

EXACT = [("relu", "identity", "mse"), ("relu", "identity", "sse")]
ROUNDED = [("sigmoid", "sigmoid", "mse"), ("tanh", "softmax", "cross_entropy"), ("relu", "sigmoid", "sse"),
           ("identity", "softmax", "cross_entropy")]


def data(n=150, seed=0, n_out=4):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 12))
    return X, np.eye(n_out)[rng.integers(0, n_out, n)]


def network(pair, dtype="float64", sizes=(12, 24, 16, 4), **kw):
    act, out, loss = pair
    return bp.Network.from_sizes(list(sizes), activation=act, output_activation=out, loss=loss, seed=0,
                                 dtype=dtype, **kw)


def train(net, compiled, X=None, Y=None, optimizer=None, **options):
    if X is None:
        X, Y = data(n_out=net.sizes[-1])
    options = {"epochs": 3, "batch_size": 16, "seed": 1, **options}
    optimizer = optimizer or SGD(options.pop("lr", 0.1))
    history = net.fit(X, Y, optimizer=optimizer, engine="compiled" if compiled else "numpy", **options)
    assert history.engine == ("compiled" if compiled else "numpy")
    return history, net.get_weights()


def taken(net, optimizer, n_samples=0, engine="compiled"):
    return choose_update(net, optimizer, Local(), None, bp.core.workspace.Workspace(net.parameters(), net.dtype),
                         n_samples=n_samples, engine=engine)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("pair", EXACT)
@pytest.mark.parametrize("sizes, batch_size", [((12, 24, 16, 4), 13), ((12, 9, 4), 16), ((12, 24, 16, 4), 150),
                                               ((12, 4), 16), ((12, 9, 4), 1), ((12, 9, 4), 29)])
def test_the_compiled_run_is_the_numpy_run_bit_for_bit_where_the_operations_are_the_same(
        dtype, pair, sizes, batch_size):
    net = network(pair, dtype, sizes)
    assert type(taken(net, SGD(0.1))) is CompiledSGD
    lr = 0.1 if batch_size > 1 else 0.01  # one sample's squared error per step: a smaller rate
    numpy_history, on_numpy = train(network(pair, dtype, sizes), False, batch_size=batch_size, lr=lr)
    history, on_compiled = train(net, True, batch_size=batch_size, lr=lr)
    for a, b in zip(on_numpy, on_compiled):
        for name in a:
            assert b[name].dtype == a[name].dtype
            np.testing.assert_array_equal(a[name], b[name])
    assert [e["loss"] for e in history.epochs] == [e["loss"] for e in numpy_history.epochs]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("optimizer", ["momentum", "adam", "sgd-unfolded", "sgd-decay"])
def test_every_optimizer_takes_the_compiled_pass_bit_for_bit(dtype, optimizer):
    """Other optimizers, and SGD that forms ``dC/dW``, take the compiled ``dC/dZ``: the same run."""
    def make():
        if optimizer == "sgd-unfolded":
            return SGD(0.1, fold=False)
        if optimizer == "sgd-decay":
            return SGD(0.1, weight_decay=1e-2, clip_norm=1.0)
        return bp.core.optimizers.get_optimizer(optimizer, lr=0.01)

    net = network(EXACT[0], dtype)
    assert type(taken(net, make())) is CompiledDescent
    numpy_history, on_numpy = train(network(EXACT[0], dtype), False, optimizer=make(), batch_size=13)
    history, on_compiled = train(net, True, optimizer=make(), batch_size=13)
    for a, b in zip(on_numpy, on_compiled):
        for name in a:
            np.testing.assert_array_equal(a[name], b[name])
    assert [e["loss"] for e in history.epochs] == [e["loss"] for e in numpy_history.epochs]


@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-12), ("float32", 2e-5)])
@pytest.mark.parametrize("pair", ROUNDED)
def test_the_compiled_run_stays_within_rounding_of_the_numpy_run(dtype, rtol, pair):
    """``exp``, ``log`` and ``tanh`` may differ in the last place; three epochs later every weight is
    within ``rtol`` of the largest of its array. A wrong formula would be off by far more."""
    _, on_numpy = train(network(pair, dtype), False, batch_size=13)
    _, on_compiled = train(network(pair, dtype), True, batch_size=13)
    for a, b in zip(on_numpy, on_compiled):
        for name in a:
            scale = np.max(np.abs(a[name]))
            assert np.max(np.abs(a[name] - b[name])) <= rtol * scale, (name, dtype)


def test_a_single_row_batch_and_many_outputs_stay_within_rounding():
    """A last batch of one row (the NumPy path's, where ``np.matmul`` takes ``?gemv``) and 150 outputs (a
    pairwise sum past its 128-element block)."""
    pair = ("tanh", "softmax", "cross_entropy")
    X, Y = data(n=33, n_out=150)
    _, on_numpy = train(network(pair, sizes=(12, 20, 150)), False, X, Y, batch_size=16)
    _, on_compiled = train(network(pair, sizes=(12, 20, 150)), True, X, Y, batch_size=16)
    for a, b in zip(on_numpy, on_compiled):
        np.testing.assert_allclose(a["W"], b["W"], rtol=1e-12, atol=1e-14)


def test_sums_follow_numpys_pairwise_order():
    from backprop.core.training import kernels

    rng = np.random.default_rng(3)
    for n in [1, 2, 7, 8, 9, 15, 16, 17, 127, 128, 129, 255, 256, 1000, 4099]:
        for dtype in ("float32", "float64"):
            x = (rng.standard_normal(n + 3) * 10.0 ** rng.uniform(-4, 4, n + 3)).astype(dtype)
            assert kernels._pairwise_sum(x, 3, n) == np.vstack([x[3:], x[3:]]).sum(axis=1)[0], (n, dtype)


def test_sample_weights_take_the_numpy_path_bit_for_bit():
    weights = np.random.default_rng(5).uniform(0.1, 2.0, 150)
    pair = ROUNDED[0]
    _, on_numpy = train(network(pair), False, sample_weight=weights)
    _, on_compiled = train(network(pair), True, sample_weight=weights)
    for a, b in zip(on_numpy, on_compiled):
        np.testing.assert_array_equal(a["W"], b["W"])


def test_a_non_finite_batch_stops_as_on_the_numpy_path():
    """Inputs of 1e20 in the third batch overflow float32's squared error to infinity."""
    X, Y = (v.astype("float32") for v in data())
    X[32:48] *= np.float32(1e20)
    errors = []
    for compiled in (False, True):
        net = network(EXACT[0], "float32")
        with pytest.raises(NonFiniteError) as caught:
            train(net, compiled, X, Y, batch_size=16, shuffle=False)
        errors.append((str(caught.value), net.get_weights()))
    assert errors[0][0] == errors[1][0] and "epoch 1, batch 3" in errors[1][0]
    for a, b in zip(errors[0][1], errors[1][1]):   # the weights of the last good batch, on both paths
        np.testing.assert_array_equal(a["W"], b["W"])


def test_a_batch_whose_products_could_overflow_takes_the_readable_path(monkeypatch):
    """Inputs of 1e155: ``||dC/dZ|| ||A_prev||`` is past sqrt(float64's largest value), so no batch is
    folded; each forms ``dC/dW`` and checks it, as on the NumPy path."""
    from backprop.core.training import kernels

    folds = []
    monkeypatch.setattr(kernels, "fold", lambda *args: folds.append(args[9]))  # the rate (0 at the warm-up)
    X, Y = data()
    pair = ("relu", "sigmoid", "sse")
    on_numpy, on_compiled = network(pair), network(pair)
    on_numpy.fit(X * 1e155, Y, epochs=1, batch_size=16, optimizer=SGD(1e-3, fold=False), seed=1)
    on_compiled.fit(X * 1e155, Y, epochs=1, batch_size=16, optimizer=SGD(1e-3), seed=1, engine="compiled")
    assert folds == [0.0]
    for a, b in zip(on_numpy.get_weights(), on_compiled.get_weights()):
        np.testing.assert_allclose(a["W"], b["W"], rtol=1e-12)


def test_an_interrupted_compiled_run_resumes_to_the_uninterrupted_one(tmp_path):
    X, Y = data()
    _, whole = train(network(EXACT[0]), True, X, Y)
    calls = []

    def stop():
        calls.append(1)
        return len(calls) == 14  # mid-epoch 2

    net = network(EXACT[0])
    with pytest.raises(bp.TrainingInterrupted) as caught:
        train(net, True, X, Y, should_stop=stop)
    resumed = network(EXACT[0])
    train(resumed, True, X, Y, resume=caught.value.state)
    for a, b in zip(whole, resumed.get_weights()):
        np.testing.assert_array_equal(a["W"], b["W"])


def test_weights_replaced_between_runs_are_the_ones_trained():
    net = network(EXACT[0])
    update = taken(net, SGD(0.1))
    first = update._parameters()
    assert update._parameters() is first
    net.layers[0].W = net.layers[0].W.copy()
    assert update._parameters()[0][0] is net.layers[0].W


@pytest.mark.parametrize("change", [
    {"activation": "leaky_relu"}, {"activation": "gelu"}, {"dropout": 0.2}, {"bias": False},
    {"output_activation": "softmax", "loss": "cross_entropy", "fuse_output": False},
    {"output_activation": "sigmoid", "loss": "binary_cross_entropy"},
])
def test_layers_the_kernels_do_not_compile_take_the_numpy_path(change):
    options = {"activation": "relu", "output_activation": "identity", "loss": "mse", **change}
    net = bp.Network.from_sizes([12, 24, 4], seed=0, **options)
    assert not isinstance(taken(net, SGD(0.1)), (CompiledSGD, CompiledDescent))


def test_a_subclass_of_a_compiled_activation_is_not_compiled():
    class Steeper(bp.core.activations.Sigmoid):
        def value(self, z, out=None):
            return super().value(2 * z, out=out)

    net = network(EXACT[0])
    net.layers[0].activation = Steeper()
    assert type(taken(net, SGD(0.1))) is FoldedSGD


def test_by_default_only_a_large_enough_run_is_compiled():
    net = network(EXACT[0])
    small = int(WORTH_COMPILING // net.n_parameters) - 1
    assert type(taken(net, SGD(0.1), n_samples=small, engine="auto")) is FoldedSGD
    assert type(taken(net, SGD(0.1), n_samples=small + 2, engine="auto")) is CompiledSGD
    assert type(taken(net, SGD(0.1), n_samples=10**9, engine="numpy")) is FoldedSGD
    assert type(taken(net, SGD(0.1, weight_decay=1e-3), n_samples=10**9, engine="auto")) is CompiledDescent
    sigmoid = network(ROUNDED[0])  # its exp is faster in NumPy: compiled only when asked
    assert type(taken(sigmoid, SGD(0.1), n_samples=10**9, engine="auto")) is FoldedSGD
    assert type(taken(sigmoid, SGD(0.1))) is CompiledSGD

    class TwoProcesses(Local):
        size = 2

    work = bp.core.workspace.Workspace(net.parameters(), net.dtype)
    assert type(choose_update(net, SGD(0.1), TwoProcesses(), None, work, engine="compiled")) is Descent


def test_the_history_says_which_engine_ran_and_how_long_loading_it_took():
    history, _ = train(network(EXACT[0]), True)
    assert history.engine == "compiled" and np.isfinite(history.compile_seconds)  # recorded; its size is not tested
    assert bp.History.from_dict(history.to_dict()).compile_seconds == history.compile_seconds
    history, _ = train(network(EXACT[0]), False)
    assert history.engine == "numpy" and history.compile_seconds is None
    with pytest.raises(ValueError, match="engine must be one of 'auto', 'numpy', 'compiled'; got 'numba'"):
        network(EXACT[0]).fit(*data(), engine="numba")


def test_compiled_true_without_numba_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(compiled_module, "numba_installed", lambda: False)
    with pytest.raises(ValueError, match=r"backprop\[fast\]"):
        taken(network(EXACT[0]), SGD(0.1))
    assert type(taken(network(EXACT[0]), SGD(0.1), n_samples=10**9, engine="auto")) is FoldedSGD


def test_kernels_that_fail_to_compile_leave_the_numpy_path_with_a_warning_unless_asked_for(monkeypatch):
    def failing(self):
        raise RuntimeError("LLVM ran out of memory")

    monkeypatch.setattr(CompiledPass, "_warm_up", failing)
    with pytest.warns(RuntimeWarning, match="LLVM ran out of memory.*training on the NumPy path"):
        assert type(taken(network(EXACT[0]), SGD(0.1), n_samples=10**9, engine="auto")) is FoldedSGD
    with pytest.raises(RuntimeError, match="LLVM ran out of memory"):
        taken(network(EXACT[0]), SGD(0.1))


@pytest.mark.parametrize("failure", [ImportError("Numba needs NumPy 2.3 or less"),
                                     RuntimeError("cannot cache function: no locator available")])
def test_a_numba_that_cannot_be_loaded_leaves_the_numpy_path_or_says_why(monkeypatch, failure):
    def broken():
        raise failure

    monkeypatch.setattr(compiled_module, "_kernels", broken)
    with pytest.raises(ValueError, match=rf"Numba could not be loaded \({str(failure)[:20]}"):
        taken(network(EXACT[0]), SGD(0.1))
    assert type(taken(network(EXACT[0]), SGD(0.1), n_samples=10**9, engine="auto")) is FoldedSGD


def test_the_cached_kernels_run_in_a_fresh_process():
    """The compiled code is cached on disk; a new process, with the BLAS library elsewhere in memory,
    loads it and must run it (an address baked into cached code would crash here)."""
    script = ("import numpy as np, backprop as bp\n"
              "from backprop.core.optimizers import SGD\n"
              "X = np.random.default_rng(0).standard_normal((40, 5)); Y = np.eye(3)[np.arange(40) % 3]\n"
              "for dtype in ('float64', 'float32'):\n"
              "    net = bp.Network.from_sizes([5, 7, 3], activation='relu', output_activation='identity',"
              " loss='mse', seed=0, dtype=dtype)\n"
              "    h = net.fit(X.astype(dtype), Y.astype(dtype), epochs=2, optimizer=SGD(0.1), engine='compiled')\n"
              "    assert np.isfinite(h.epochs[-1]['loss'])\n"
              "print('ok')\n")
    for _ in range(2):  # the first may compile and write the cache; the second loads it
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
        assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


@pytest.mark.filterwarnings("ignore::UserWarning")  # three epochs do not converge, and it says so
def test_an_estimator_on_a_large_relu_run_takes_the_compiled_pass_and_says_so(monkeypatch):
    from backprop.sklearn import MLPClassifier

    monkeypatch.setattr(compiled_module, "WORTH_COMPILING", 1000)  # a small run counts as large
    X, Y = data()
    clf = MLPClassifier((16,), solver="sgd", max_iter=3, random_state=0).fit(X, Y.argmax(axis=1))
    assert clf.history_.engine == "compiled" and np.isfinite(clf.history_.compile_seconds)
    clf = MLPClassifier((16,), activation="tanh", solver="sgd", max_iter=3, random_state=0)
    assert clf.fit(X, Y.argmax(axis=1)).history_.engine == "numpy"
