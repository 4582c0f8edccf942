"""Do the prototypes compute what ``Network.fit`` computes?  Bit for bit in float64 where the operations match.

    python benchmarks/prototypes/check_equal.py [--samples 6000] [--batches 32,128,512]

For each activation, loss, batch size and dtype, trains one epoch from the
same initial weights over the same batches with ``Network.fit`` (today's
engine, the readable NumPy path) and with each prototype, and prints the
largest ``|W - W_fit|`` over all parameters (0 means bit for bit), the
largest difference in units of the weights' spacing (ulps), and the
difference in the epoch's loss.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]


def candidates():
    import lean_numpy
    import numba_epoch

    libm = lean_numpy.libm_exp
    return {  # name: (run, the NumPy twin with libm's exp that it must equal bit for bit in float64)
        "numpy_separate": (lambda *a: lean_numpy.epoch(*a, update="separate"), None),
        "numpy_gemm": (lambda *a: lean_numpy.epoch(*a, update="gemm"), None),
        "numpy_gemm_t": (lambda *a: lean_numpy.epoch(*a, update="gemm_t"), None),
        "numba": (lambda *a: numba_epoch.epoch(*a, fused=False),
                  lambda *a: lean_numpy.epoch(*a, update="separate", exp=libm)),
        "numba_gemm": (lambda *a: numba_epoch.epoch(*a, fused=True),
                       lambda *a: lean_numpy.epoch(*a, update="gemm", exp=libm)),
        "numba_gemm_t": (lambda *a: numba_epoch.epoch(*a, fused=True, transposed=True), None),
    }


class _Weights(list):
    loss_sum = 0.0


def train(run, initial, X, Y, order, batch, activation, loss):
    """One epoch of ``run`` from a copy of ``initial``; the trained weights, with ``loss_sum``."""
    from epoch_timers import LR

    weights = _Weights({k: v.copy() for k, v in w.items()} for w in initial)
    weights.loss_sum, _ = run(weights, X, Y, order, batch, LR, activation, loss)
    return weights


def difference(weights, reference, dtype) -> tuple[float, float]:
    """The largest ``|w - r|``, and that in ulps at each array's largest magnitude."""
    diff = max(float(np.max(np.abs(w[k] - r[k]))) for w, r in zip(weights, reference) for k in w)
    ulps = max(float(np.max(np.abs(w[k] - r[k])) / np.spacing(np.max(np.abs(r[k])).astype(dtype)))
               for w, r in zip(weights, reference) for k in w)
    return diff, ulps


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=6000)
    parser.add_argument("--batches", default="32,128,512")
    parser.add_argument("--dtypes", default="float64,float32")
    parser.add_argument("--mnist", type=Path, default=Path("/work/shared/data/mnist"))
    args = parser.parse_args(argv)
    from threadpoolctl import threadpool_limits

    from backprop.data import load_mnist
    from epoch_timers import LR, network

    threadpool_limits(1)
    data = load_mnist("all", args.mnist, download=False)
    found = candidates()
    print(f"{'configuration':34s} {'candidate':15s} {'max |dW|':>9s} {'ulps':>6s} {'loss diff':>9s} "
          f"{'vs libm twin':>12s}")
    for dtype, activation, loss, batch in itertools.product(
            args.dtypes.split(","), ("sigmoid", "relu"), ("mse", "cross_entropy"),
            [int(b) for b in args.batches.split(",")]):
        X = data.X[:args.samples].astype(dtype)
        Y = np.eye(10, dtype=dtype)[data.y[:args.samples]]
        config = dict(hidden=300, activation=activation, loss=loss, batch=batch, dtype=dtype)
        net = network(config)
        initial = net.get_weights()
        history = net.fit(X, Y, epochs=1, batch_size=batch, lr=LR, seed=0,
                          optimizer_options={"fold": False})  # the readable step, which they mirror
        reference, ref_loss = net.get_weights(), history["loss"][0]
        order = np.random.default_rng(0).permutation(len(X))
        for name, (run, twin) in found.items():
            weights = train(run, initial, X, Y, order, batch, activation, loss)
            diff, ulps = difference(weights, reference, dtype)
            loss_diff = abs(weights.loss_sum / len(X) - ref_loss)
            versus = "-"
            if twin is not None and dtype == "float64":
                versus = f"{difference(weights, train(twin, initial, X, Y, order, batch, activation, loss), dtype)[0]:.1e}"
            print(f"{f'{activation} {loss} b{batch} {dtype}':34s} {name:15s} {diff:9.1e} {ulps:6.0f} "
                  f"{loss_diff:9.1e} {versus:>12s}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
