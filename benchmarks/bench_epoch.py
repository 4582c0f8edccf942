"""Seconds per training epoch on MNIST-shaped data: backprop against its peers, in one run.

For each configuration (network, activation, loss, batch size, dtype) one epoch
of plain SGD is timed for

``backprop``
    ``Network.fit``, the library as users call it;
``pytorch``
    the same network in PyTorch on the CPU, a plain training loop, the same
    number of threads;
``sklearn``
    scikit-learn's ``MLPClassifier(solver="sgd")``, one ``partial_fit`` pass
    (it always trains with cross-entropy and a softmax output);
``floor``
    the matrix products that an exact dense backward pass cannot avoid, timed
    alone: per batch and layer ``Z = A W^T`` and ``dW = dZ^T A``, and
    ``dA = dZ W`` for every layer but the first.

Every measurement runs in a fresh process (so its peak memory is its own),
and the implementations take turns, round after round, so that a slow spell
of the machine does not fall on one of them. Medians, ranges and the ratios
backprop/peer are printed and written to ``benchmarks/results/`` as JSON and
Markdown; the documentation site renders ``benchmarks/results/full.md`` on its
performance page (``--readme`` is kept for a README that has bench:start/end markers).

    python benchmarks/bench_epoch.py              # the full grid (make bench)
    python benchmarks/bench_epoch.py --quick      # four configurations, one repeat
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
MNIST_DIR = ROOT.parent / "shared" / "data" / "mnist"
IMPLEMENTATIONS = ("backprop", "pytorch", "sklearn", "floor")
LR = 0.1


# -- the grid -------------------------------------------------------------------

def grid(quick: bool) -> list[dict]:
    if quick:
        return [dict(hidden=300, activation="sigmoid", loss="mse", batch=b, dtype=d)
                for b, d in itertools.product((32, 128), ("float32", "float64"))]
    return [dict(hidden=h, activation=a, loss=l, batch=b, dtype=d)
            for h, a, l, b, d in itertools.product((300, 800), ("sigmoid", "relu"), ("mse", "cross_entropy"),
                                                   (32, 128, 512), ("float32", "float64"))]


def label(config: dict) -> str:
    return (f"784-{config['hidden']}-10 {config['activation']} {config['loss']} "
            f"b{config['batch']} {config['dtype']}")


# -- data -----------------------------------------------------------------------

def prepare_data(folder: Path) -> str:
    """Write X (float32 and float64) and y as .npy files; return where the data came from."""
    import numpy as np

    try:
        from backprop.data import load_mnist

        data = load_mnist("all", MNIST_DIR, download=False)
        X, y, source = data.X, data.y, f"MNIST training set ({MNIST_DIR})"
    except (OSError, ValueError):
        rng = np.random.default_rng(0)
        X, y = rng.uniform(size=(60000, 784)), rng.integers(0, 10, 60000)
        source = "random data of MNIST's shape (the MNIST files were not found)"
    for dtype in ("float32", "float64"):
        np.save(folder / f"X_{dtype}.npy", X.astype(dtype))
    np.save(folder / "y.npy", y.astype(np.int64))
    return source


# -- one measurement, in a child process -----------------------------------------------

def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def child(impl: str, config: dict, data: Path, threads: int) -> dict:
    import numpy as np
    from threadpoolctl import threadpool_limits

    threadpool_limits(threads)
    if impl == "pytorch":
        import torch

        torch.set_num_threads(threads)
    elif impl == "sklearn":
        import sklearn.neural_network  # noqa: F401
    else:
        import backprop  # noqa: F401
    baseline = rss_mb()
    X = np.load(data / f"X_{config['dtype']}.npy")
    y = np.load(data / "y.npy")
    seconds = {"backprop": time_backprop, "pytorch": time_pytorch, "sklearn": time_sklearn,
               "floor": time_floor}[impl](X, y, config)
    from threadpoolctl import threadpool_info

    blas = [f"{i['internal_api']} {i['version']} ({i.get('architecture')})" for i in threadpool_info()
            if i["user_api"] == "blas"]
    return {"seconds": seconds, "peak_rss_mb": peak_rss_mb(), "baseline_rss_mb": baseline, "blas": blas}


def peak_rss_mb() -> float:
    """This process's high-water mark of resident memory (VmHWM; ru_maxrss would include the parent's)."""
    with open("/proc/self/status") as fh:
        line = next(line for line in fh if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def output_activation(config: dict) -> str:
    return "softmax" if config["loss"] == "cross_entropy" else "sigmoid"


def time_backprop(X, y, config) -> float:
    import numpy as np

    import backprop as bp

    Y = np.eye(10, dtype=X.dtype)[y]
    net = bp.Network.from_sizes([784, config["hidden"], 10], activation=config["activation"],
                                output_activation=output_activation(config), loss=config["loss"],
                                seed=0, dtype=config["dtype"])
    net.fit(X[:4096], Y[:4096], epochs=1, batch_size=config["batch"], lr=LR, seed=1)  # warm-up
    started = time.perf_counter()
    net.fit(X, Y, epochs=1, batch_size=config["batch"], optimizer="sgd", lr=LR, seed=0)
    return time.perf_counter() - started


def time_pytorch(X, y, config) -> float:
    import torch
    import torch.nn.functional as F

    dtype = getattr(torch, config["dtype"])
    torch.manual_seed(0)
    act = {"sigmoid": torch.nn.Sigmoid(), "relu": torch.nn.ReLU()}[config["activation"]]
    model = torch.nn.Sequential(torch.nn.Linear(784, config["hidden"]), act,
                                torch.nn.Linear(config["hidden"], 10)).to(dtype)
    opt = torch.optim.SGD(model.parameters(), lr=LR)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    Yt = F.one_hot(yt, 10).to(dtype)

    def epoch(n):
        order = torch.randperm(n)
        for start in range(0, n, config["batch"]):
            rows = order[start:start + config["batch"]]
            opt.zero_grad()
            logits = model(Xt[rows])
            if config["loss"] == "cross_entropy":
                loss = F.cross_entropy(logits, yt[rows])
            else:
                loss = F.mse_loss(torch.sigmoid(logits), Yt[rows])
            loss.backward()
            opt.step()

    epoch(4096)  # warm-up
    started = time.perf_counter()
    epoch(X.shape[0])
    return time.perf_counter() - started


def time_sklearn(X, y, config) -> float:
    import warnings

    from sklearn.neural_network import MLPClassifier

    clf = MLPClassifier(hidden_layer_sizes=(config["hidden"],),
                        activation={"sigmoid": "logistic", "relu": "relu"}[config["activation"]],
                        solver="sgd", learning_rate_init=LR, momentum=0.0, nesterovs_momentum=False,
                        alpha=0.0, batch_size=config["batch"], shuffle=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.partial_fit(X[:4096], y[:4096], classes=list(range(10)))  # warm-up and initialisation
        started = time.perf_counter()
        clf.partial_fit(X, y)
    return time.perf_counter() - started


def time_floor(X, y, config) -> float:
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
    started = time.perf_counter()
    epoch(X.shape[0])
    return time.perf_counter() - started


# -- the run ------------------------------------------------------------------------

def measure(impl, config, data, threads) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    out = subprocess.run([sys.executable, __file__, "--child", impl, json.dumps(config), str(data), str(threads)],
                         capture_output=True, text=True, env=env, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{impl} {label(config)} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def machine(threads: int, blas: str) -> dict:
    import numpy as np

    cpu = "unknown"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    import torch
    import sklearn

    return {"cpu": cpu, "cores": os.cpu_count(), "threads": threads, "python": platform.python_version(),
            "numpy": np.__version__, "blas": blas, "torch": torch.__version__,
            "sklearn": sklearn.__version__, "date": time.strftime("%Y-%m-%d")}


def summarise(results: dict, configs: list[dict]) -> list[dict]:
    rows = []
    for config in configs:
        key = label(config)
        row = {"config": key, **config}
        for impl in IMPLEMENTATIONS:
            runs = results[key].get(impl, [])
            if runs:
                times = [r["seconds"] for r in runs]
                row[impl] = {"median": statistics.median(times), "min": min(times), "max": max(times),
                             "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
                             "baseline_rss_mb": min(r["baseline_rss_mb"] for r in runs)}
        ours = row.get("backprop", {}).get("median")
        for peer in ("pytorch", "sklearn", "floor"):
            if ours and peer in row:
                row[f"vs_{peer}"] = ours / row[peer]["median"]
        dtype_bytes = 4 if config["dtype"] == "float32" else 8
        params = 784 * config["hidden"] + config["hidden"] + config["hidden"] * 10 + 10
        dataset_mb = 60000 * 784 * dtype_bytes / 2**20
        activations_mb = config["batch"] * (784 + 2 * config["hidden"] + 20) * dtype_bytes / 2**20
        row["memory_target_mb"] = dataset_mb + 3 * params * dtype_bytes / 2**20 + activations_mb + 50
        if "backprop" in row:
            row["backprop_memory_mb"] = row["backprop"]["peak_rss_mb"] - row["backprop"]["baseline_rss_mb"]
        rows.append(row)
    return rows


def markdown(rows: list[dict], info: dict, source: str, repeats: int) -> str:
    lines = [
        f"Measured {info['date']} on {info['cpu']} ({info['cores']} cores, {info['threads']} threads for every "
        f"implementation), Python {info['python']}, NumPy {info['numpy']} with {info['blas']}, "
        f"PyTorch {info['torch']}, scikit-learn {info['sklearn']}; data: {source}; "
        f"median of {repeats} interleaved repeats, one epoch of plain SGD each (seconds).",
        "",
        "| network | act | loss | batch | dtype | backprop | PyTorch | sklearn | floor | /PyTorch | /sklearn | /floor "
        "| memory MB (target) |",
        "|---|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        def cell(impl):
            m = r.get(impl)
            return f"{m['median']:.3f}" if m else "-"

        def ratio(peer):
            return f"{r[f'vs_{peer}']:.2f}" if f"vs_{peer}" in r else "-"

        memory = (f"{r['backprop_memory_mb']:.0f} ({r['memory_target_mb']:.0f})"
                  if "backprop_memory_mb" in r else "-")
        lines.append(f"| 784-{r['hidden']}-10 | {r['activation']} | {r['loss']} | {r['batch']} | {r['dtype']} | "
                     f"{cell('backprop')} | {cell('pytorch')} | {cell('sklearn')} | {cell('floor')} | "
                     f"{ratio('pytorch')} | {ratio('sklearn')} | {ratio('floor')} | {memory} |")
    return "\n".join(lines) + "\n"


def update_readme(table: str) -> None:
    readme = ROOT / "README.md"
    text = readme.read_text()
    start, end = "<!-- bench:start -->", "<!-- bench:end -->"
    if start not in text or end not in text:
        raise SystemExit("README.md has no bench:start/bench:end markers")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    readme.write_text(f"{head}{start}\n{table}{end}{tail}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="four configurations, one repeat")
    parser.add_argument("--repeats", type=int, help="interleaved repeats (default 3, quick 1)")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="BLAS/PyTorch threads")
    parser.add_argument("--only", help="run only configurations whose label contains this text")
    parser.add_argument("--skip", default="", help="comma-separated implementations to leave out")
    parser.add_argument("--readme", action="store_true", help="replace the table in README.md")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        impl, config, data, threads = args.child
        print(json.dumps(child(impl, json.loads(config), Path(data), int(threads))))
        return 0

    configs = [c for c in grid(args.quick) if not args.only or args.only in label(c)]
    repeats = args.repeats or (1 if args.quick else 3)
    impls = [i for i in IMPLEMENTATIONS if i not in args.skip.split(",")]
    results = {label(c): {} for c in configs}
    RESULTS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        source = prepare_data(Path(tmp))
        print(f"data: {source}; {len(configs)} configurations x {len(impls)} implementations x {repeats} repeats",
              flush=True)
        for r in range(repeats):
            for n, config in enumerate(configs):
                turn = impls[(r + n) % len(impls):] + impls[:(r + n) % len(impls)]  # take turns
                for impl in turn:
                    m = measure(impl, config, Path(tmp), args.threads)
                    results[label(config)].setdefault(impl, []).append(m)
                    print(f"[{r + 1}/{repeats}] {label(config):45s} {impl:9s} {m['seconds']:7.3f} s "
                          f"peak {m['peak_rss_mb']:6.0f} MB", flush=True)
            # Every finished round is written, so a long run stopped early still leaves its results.
            report(results, configs, source, r + 1, args, final=False)
    report(results, configs, source, repeats, args, final=True)
    return 0


def report(results, configs, source, repeats, args, final: bool) -> None:
    backprop_runs = [m for r in results.values() for m in r.get("backprop", [])]
    info = machine(args.threads, ", ".join(backprop_runs[0]["blas"]) if backprop_runs else "unknown")
    rows = summarise(results, configs)
    table = markdown(rows, info, source, repeats)
    name = "quick" if args.quick else "full"
    (RESULTS / f"{name}.json").write_text(json.dumps({"machine": info, "data": source, "repeats": repeats,
                                                       "rows": rows, "raw": results}, indent=2))
    (RESULTS / f"{name}.md").write_text(table)
    if final:
        print()
        print(table)
        if args.readme:
            update_readme(table)


if __name__ == "__main__":
    sys.exit(main())
