"""The child side of ``bench_epoch.py``: one implementation, one configuration, one epoch, timed.

Each function ``time_<impl>(X, y, config, impl)`` builds its network from the
same initial weights (backprop's, seed 0), trains one epoch of plain SGD at
``LR`` over the same batches in the same order (backprop's shuffle, seed 0)
after a warm-up, and returns the seconds of that epoch, and where it can the
final weights, so the parent can check that the peers did the same work.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from clock import Clock

LR = 0.1
GEMM_N = 2048  # the square GEMM whose rate the arithmetic limit assumes
JAX = ("jax_scan", "jax_loop")


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def child(impl: str, config: dict, data: Path, threads: int) -> dict:
    import numpy as np

    if impl in JAX and threads < len(os.sched_getaffinity(0)):
        # XLA sizes its thread pool by the CPUs this process may use; there is no other knob.
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:threads])
    from threadpoolctl import threadpool_limits

    import scipy.linalg.blas  # noqa: F401  (loaded before the limit, which misses libraries loaded after it)

    threadpool_limits(threads)
    if impl == "pytorch":
        import torch

        torch.set_num_threads(threads)
    elif impl == "sklearn":
        import sklearn.neural_network  # noqa: F401
    elif impl in JAX:
        import jax  # noqa: F401
    import backprop  # noqa: F401  (every child: the same initial weights come from it)
    baseline = rss_mb()
    if impl == "gemm":
        return {**time_gemm(config["dtype"]), "peak_rss_mb": peak_rss_mb(), "baseline_rss_mb": baseline}
    X = np.load(data / f"X_{config['dtype']}.npy")
    y = np.load(data / "y.npy")
    timer = {"backprop": time_backprop, "pytorch": time_pytorch, "sklearn": time_sklearn,
             "floor": time_floor, "jax_scan": time_jax, "jax_loop": time_jax,
             "backprop_readable": time_backprop, "backprop_numpy": time_backprop}.get(impl, time_prototype)
    measured = timer(X, y, config, impl)
    if not isinstance(measured, dict):
        measured = {"seconds": measured}
    weights = measured.pop("weights", None)
    if weights is not None:
        np.savez(data / f"weights_{impl}.npz", **{f"{k}{i}": w[k] for i, w in enumerate(weights) for k in w})
    from threadpoolctl import threadpool_info

    blas = [f"{i['internal_api']} {i['version']} ({i.get('architecture')})" for i in threadpool_info()
            if i["user_api"] == "blas"]
    return {**measured, "peak_rss_mb": peak_rss_mb(), "baseline_rss_mb": baseline, "blas": blas}


def peak_rss_mb() -> float:
    """This process's high-water mark of resident memory (VmHWM; ru_maxrss would include the parent's)."""
    with open("/proc/self/status") as fh:
        line = next(line for line in fh if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def output_activation(config: dict) -> str:
    return "softmax" if config["loss"] == "cross_entropy" else "sigmoid"


def network(config: dict):
    import backprop as bp

    return bp.Network.from_sizes([784, config["hidden"], 10], activation=config["activation"],
                                 output_activation=output_activation(config), loss=config["loss"],
                                 seed=0, dtype=config["dtype"])


def start(config: dict, n: int):
    """Every peer's initial weights and sample order: those of ``network(config)`` and ``fit(seed=0)``."""
    import numpy as np

    return network(config).get_weights(), np.random.default_rng(0).permutation(n)


def flops_per_epoch(config: dict, n: int = 60000) -> float:
    """The multiply-adds of the floor's products, counted twice: per sample 2 (784 h + 10 h) forward,
    as much again for the dW products, and 2 (10 h) for the one dA product."""
    h = config["hidden"]
    return float(n) * (2 * (784 * h + h * 10) * 2 + 2 * 10 * h)


def time_gemm(dtype: str) -> dict:
    """The rate of one large square product (best of five), which the arithmetic limit assumes.

    ``gflops`` per wall-clock second, ``gflops_cpu`` per CPU second of the process.
    """
    import numpy as np

    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((GEMM_N, GEMM_N)).astype(dtype) for _ in range(2))
    out = np.empty_like(a)
    np.matmul(a, b, out=out)
    wall = cpu = float("inf")
    for _ in range(5):
        with Clock() as clock:
            np.matmul(a, b, out=out)
        wall, cpu = min(wall, clock.wall), min(cpu, clock.cpu)
    flops = 2 * GEMM_N**3
    return {"gflops": flops / wall / 1e9, "gflops_cpu": flops / max(cpu, 1e-9) / 1e9}


def takes_the_compiled_pass(net, n_samples: int) -> bool:
    """Whether ``fit`` with plain SGD and the default ``engine="auto"`` compiles this run."""
    from backprop.core.training.compiled import takes_the_compiled_pass as takes
    from backprop.core.training.reduce import Local

    return takes(net, Local(), n_samples, "auto") is not None


def time_backprop(X, y, config, impl) -> dict:
    """``Network.fit`` as users call it (``backprop``), or with one piece of the engine held back.

    ``backprop`` takes the compiled pass where ``fit``'s ``engine="auto"`` does (Numba installed, ReLU
    layers); loading its kernels (or compiling them, the first time) is ``compile_seconds``, outside the
    epoch. ``backprop_numpy`` keeps the NumPy path (``engine="numpy"``); ``backprop_readable`` the
    article's two steps, ``dC/dW`` formed then ``w <- w - lr * dC/dW`` (``SGD(fold=False)``, the engine
    before issue 18).
    """
    import numpy as np

    Y = np.eye(10, dtype=X.dtype)[y]
    net = network(config)
    initial = net.get_weights()
    sgd = {"optimizer": "sgd", "lr": LR, "optimizer_options": {"fold": impl != "backprop_readable"},
           "engine": "numpy" if impl == "backprop_numpy" else "auto"}
    warm_up = dict(sgd)
    if impl == "backprop" and takes_the_compiled_pass(net, X.shape[0]):
        warm_up["engine"] = "compiled"  # the warm-up is too small to compile by itself; the timed epoch is not
    warmed = net.fit(X[:4096], Y[:4096], epochs=1, batch_size=config["batch"], seed=1, **warm_up)
    out = {} if warmed.compile_seconds is None else {"compile_seconds": warmed.compile_seconds}
    net.set_weights(initial)
    with Clock() as clock:
        history = net.fit(X, Y, epochs=1, batch_size=config["batch"], seed=0, **sgd)
    assert history.engine == warm_up["engine"].replace("auto", "numpy"), (history.engine, impl)
    return {**clock.seconds(), **out, "weights": net.get_weights()}


def time_pytorch(X, y, config, impl) -> dict:
    import torch
    import torch.nn.functional as F

    dtype = getattr(torch, config["dtype"])
    act = {"sigmoid": torch.nn.Sigmoid(), "relu": torch.nn.ReLU()}[config["activation"]]
    model = torch.nn.Sequential(torch.nn.Linear(784, config["hidden"]), act,
                                torch.nn.Linear(config["hidden"], 10)).to(dtype)
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    Yt = F.one_hot(yt, 10).to(dtype)
    weights, order = start(config, X.shape[0])

    def epoch(order):
        for start_ in range(0, len(order), config["batch"]):
            rows = order[start_:start_ + config["batch"]]
            opt.zero_grad()
            logits = model(Xt[rows])
            if config["loss"] == "cross_entropy":
                loss = F.cross_entropy(logits, yt[rows])
            else:
                loss = F.mse_loss(torch.sigmoid(logits), Yt[rows])
            loss.backward()
            opt.step()

    epoch(torch.arange(4096))  # warm-up
    layers = [model[0], model[2]]
    with torch.no_grad():
        for layer, w in zip(layers, weights):
            layer.weight.copy_(torch.from_numpy(w["W"]))
            layer.bias.copy_(torch.from_numpy(w["b"]))
    order = torch.from_numpy(order)
    with Clock() as clock:
        epoch(order)
    return {**clock.seconds(), "weights": [{"W": layer.weight.detach().numpy(), "b": layer.bias.detach().numpy()}
                                            for layer in layers]}


def time_jax(X, y, config, impl) -> dict:
    import numpy as np

    from jax_peer import time_jax as run

    weights, order = start(config, X.shape[0])
    return run(X, np.eye(10, dtype=X.dtype)[y], weights, order, config, LR, scan=impl == "jax_scan")


# Chosen with --impls only: the engine's readable update (SGD(fold=False)), and the prototypes.
PROTOTYPES = ("backprop_readable", "numpy_lean", "numpy_gemm", "numpy_gemm_t", "numba", "numba_gemm",
              "numba_gemm_t")


def time_prototype(X, y, config, impl) -> dict:
    """One of ``benchmarks/prototypes/``: compiled (Numba) and warmed up, then one timed epoch."""
    import sys

    import numpy as np

    sys.path.insert(0, str(Path(__file__).resolve().parent / "prototypes"))
    import lean_numpy

    run = {"numpy_lean": lambda *a: lean_numpy.epoch(*a, update="separate"),
           "numpy_gemm": lambda *a: lean_numpy.epoch(*a, update="gemm"),
           "numpy_gemm_t": lambda *a: lean_numpy.epoch(*a, update="gemm_t")}.get(impl)
    started = time.perf_counter()
    if run is None:
        import numba_epoch

        fused, transposed = impl != "numba", impl == "numba_gemm_t"
        numba_epoch.compile(config["dtype"], config["activation"], config["loss"], fused, transposed)
        run = lambda *a: numba_epoch.epoch(*a, fused=fused, transposed=transposed)  # noqa: E731
    compile_seconds = time.perf_counter() - started
    Y = np.eye(10, dtype=X.dtype)[y]
    weights, order = start(config, X.shape[0])
    warm = [{k: v.copy() for k, v in w.items()} for w in weights]
    run(warm, X[:4096], Y[:4096], np.arange(4096), config["batch"], LR, config["activation"], config["loss"])
    with Clock() as clock:
        run(weights, X, Y, order, config["batch"], LR, config["activation"], config["loss"])
    out = {**clock.seconds(), "weights": weights}
    if impl.startswith("numba"):
        out["compile_seconds"] = compile_seconds
    return out


def time_sklearn(X, y, config, impl) -> dict:
    import warnings

    from sklearn.neural_network import MLPClassifier

    clf = MLPClassifier(hidden_layer_sizes=(config["hidden"],),
                        activation={"sigmoid": "logistic", "relu": "relu"}[config["activation"]],
                        solver="sgd", learning_rate_init=LR, momentum=0.0, nesterovs_momentum=False,
                        alpha=0.0, batch_size=config["batch"], shuffle=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.partial_fit(X[:4096], y[:4096], classes=list(range(10)))  # warm-up and initialisation
        with Clock() as clock:
            clf.partial_fit(X, y)
    return clock.seconds()


def time_floor(X, y, config, impl) -> dict:
    import numpy as np

    rng = np.random.default_rng(0)
    sizes, b = [784, config["hidden"], 10], config["batch"]
    W = [rng.standard_normal((sizes[i + 1], sizes[i])).astype(X.dtype) * 0.01 for i in range(2)]
    Z = [np.empty((b, n), X.dtype) for n in sizes[1:]]
    dW = [np.empty_like(w) for w in W]
    dA = [None, np.empty((b, sizes[1]), X.dtype)]

    def epoch(n):
        for start in range(0, n - b + 1, b):
            A = [X[start:start + b]]
            for i in range(2):
                np.matmul(A[i], W[i].T, out=Z[i])
                A.append(Z[i])
            delta = Z[1]
            for i in (1, 0):
                np.matmul(delta.T, A[i], out=dW[i])
                if i > 0:
                    delta = np.matmul(delta, W[i], out=dA[i])

    epoch(4096)
    with Clock() as clock:
        epoch(X.shape[0])
    return clock.seconds()
