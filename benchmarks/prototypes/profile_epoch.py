"""Where today's epoch spends its time: one ``Network.fit`` epoch, line by line.

    python benchmarks/prototypes/profile_epoch.py --batch 32 [--dtype float32] [--threads 1]

Times one epoch plainly, then runs another under line_profiler over the hot
path (the batch loop of ``fit``, the layers' forward and backward, the
activation, the loss, the SGD update and the finiteness guard) and prints,
per line that takes at least 0.5% of the epoch, its share and microseconds
per batch. NumPy's ufuncs (``np.matmul`` among them) are C calls that
cProfile cannot see, so only a line profiler separates the products from the
element-wise passes and the Python around them.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def load(dtype: str, mnist: Path):
    from backprop.data import load_mnist

    data = load_mnist("all", mnist, download=False)
    X = data.X.astype(dtype)
    return X, np.eye(10, dtype=dtype)[data.y]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--hidden", type=int, default=300)
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--activation", default="sigmoid")
    parser.add_argument("--loss", default="mse")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--mnist", type=Path, default=Path("/work/shared/data/mnist"))
    parser.add_argument("--engine", default="numpy", choices=("numpy", "compiled"), help="fit's engine")
    parser.add_argument("--min-share", type=float, default=0.5, help="hide lines below this %% of the epoch")
    args = parser.parse_args(argv)
    from threadpoolctl import threadpool_limits

    from epoch_timers import network

    threadpool_limits(args.threads)
    X, Y = load(args.dtype, args.mnist)
    config = dict(hidden=args.hidden, activation=args.activation, loss=args.loss, batch=args.batch,
                  dtype=args.dtype)
    net = network(config)
    from backprop.core.optimizers import SGD

    sgd = {"optimizer": SGD(0.1), "engine": args.engine}
    net.fit(X[:4096], Y[:4096], epochs=1, batch_size=args.batch, seed=1, **sgd)  # warm-up
    started = time.perf_counter()
    net.fit(X, Y, epochs=1, batch_size=args.batch, seed=0, **sgd)
    plain = time.perf_counter() - started
    n_batches = -(-X.shape[0] // args.batch)
    print(f"# batch {args.batch} {args.dtype} {args.activation} {args.loss}: epoch {plain:.3f} s without the "
          f"profiler, {n_batches} batches, {plain / n_batches * 1e6:.0f} us each")
    report(profile_lines(net, X, Y, args.batch, sgd), n_batches, args.min_share)
    return 0


def profile_lines(net, X, Y, batch, sgd):
    from line_profiler import LineProfiler

    from backprop.core import activations, layers, losses, network
    from backprop.core.training import batches, blas, compiled, guard, loop, update

    profiler = LineProfiler()
    for fn in (loop.TrainingLoop.run, batches.LocalBatches.batch, batches.take_rows, guard.Guard.check_squares,
               update.FoldedSGD.step, compiled.CompiledPass.forward_backward, compiled.CompiledPass._arrays,
               compiled.CompiledPass._parameters, update.Descent.forward_backward, update.FoldedSGD._bounded, update.FoldedSGD.fold_bias,
               blas.NumpysBLAS.fold, blas.NumpysBLAS.fold_bias,
               layers.Dense.forward, layers.Dense.delta, layers.Dense.backward_from_z,
               network.Network.forward_train, network.Network.deltas, network.Network.per_sample_loss,
               activations.Sigmoid.value, activations.Sigmoid.backward, activations.ReLU.value,
               activations.ReLU.backward, losses.MSE.derivative, losses.MSE.per_sample,
               losses.SoftmaxCrossEntropy.delta, losses.SoftmaxCrossEntropy.per_sample,
               activations.Softmax.value):
        profiler.add_function(fn)
    profiler.enable_by_count()
    net.fit(X, Y, epochs=1, batch_size=batch, seed=0, **sgd)
    profiler.disable_by_count()
    return profiler.get_stats()


def report(stats, n_batches: int, min_share: float) -> None:
    """Print the leaf lines (those that call no profiled function) by their share of the epoch."""
    rows = []
    for (filename, _, name), timings in stats.timings.items():
        source = Path(filename).read_text().splitlines()
        for lineno, hits, nanos in timings:
            rows.append((nanos * stats.unit, hits, f"{Path(filename).name}:{lineno} {name}",
                         source[lineno - 1].strip()))
    fit_total = sum(t for t, _, where, _ in rows if where.split()[-1].split(".")[-1] == "run")
    leaves = [r for r in rows if not _calls_profiled(r[3])]
    leaves.sort(reverse=True)
    print(f"{'share':>6} {'us/batch':>9}  where / line")
    for seconds, hits, where, line in leaves:
        if seconds / fit_total * 100 >= min_share:
            print(f"{100 * seconds / fit_total:5.1f}% {seconds / n_batches * 1e6:9.1f}  {where}: {line[:80]}")


PROFILED_CALLS = ("forward_train(", "deltas(", "per_sample_loss(", "update.step(", "check_squares(",
                  ".forward(", ".backward(", "backward_from_z(", ".value(", ".derivative(", "batches.batch(",
                  ".per_sample(", ".delta(", "self.fold(", "self.fold_bias(", "blas.fold", "_bounded(",
                  "take_rows(", "forward_backward(", "_arrays(", "_parameters(")


def _calls_profiled(line: str) -> bool:
    return any(call in line for call in PROFILED_CALLS)


if __name__ == "__main__":
    sys.exit(main())
