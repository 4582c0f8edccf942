"""Seconds per training epoch on MNIST-shaped data: backprop against its peers, in one run.

For each configuration (network, activation, loss, batch size, dtype) one epoch
of plain SGD is timed for

``backprop``
    ``Network.fit``, the library as users call it: where Numba is installed
    (the bench extra has it) and the hidden layers are ReLU, ``engine="auto"``
    runs the compiled pass (``backprop.core.training.compiled``), whose
    loading is reported as its compile time; ``backprop_numpy``
    (``engine="numpy"``) is the NumPy path a NumPy-only install takes;
``pytorch``
    the same network in PyTorch on the CPU, a plain training loop, the same
    number of threads;
``jax_scan``, ``jax_loop``
    JAX on the CPU (``benchmarks/jax_peer.py``): the jitted step with the
    epoch under ``jax.lax.scan`` and donated buffers, and the same jitted step
    called from a Python loop; their compile time is reported on its own.
    Skipped, with a note, when JAX is not installed;
``sklearn``
    scikit-learn's ``MLPClassifier(solver="sgd")``, one ``partial_fit`` pass
    (it always trains with cross-entropy and a softmax output);
``floor``
    the matrix products that an exact dense backward pass cannot avoid, timed
    alone: per batch and layer ``Z = A W^T`` and ``dW = dZ^T A``, and
    ``dA = dZ W`` for every layer but the first.

backprop, PyTorch and JAX start from the same initial weights (backprop's,
seed 0) and see the same batches in the same order (backprop's shuffle with
seed 0), so their final weights are compared too (``max |W - W_backprop|``).
Beside the floor stands the arithmetic limit: the FLOPs of those products
per epoch over the rate of one large GEMM (``n = 2048``) measured in the same
run, in its own process, per dtype.

``backprop_readable`` (``Network.fit`` with ``SGD(fold=False)``: ``dC/dW``
formed, then ``w <- w - lr * dC/dW``, the engine before issue 18) and the
prototypes of a faster engine in ``benchmarks/prototypes/`` (``numpy_lean``,
``numpy_gemm``, ``numba``, ``numba_gemm``, ``numba_gemm_t``) are
implementations too, chosen with ``--impls``; see docs/performance.md.

Every measurement runs in a fresh process (so its peak memory is its own),
and the implementations take turns, round after round, so that a slow spell
of the machine does not fall on one of them. Medians, every round's time and
the ratios backprop/peer (the median of the ratios within each round) are
printed and written to ``benchmarks/results/`` as JSON and Markdown, with
wall-clock and CPU seconds both; the documentation site renders
``benchmarks/results/full.md`` on its performance page (``--readme`` is kept
for a README that has bench:start/end markers).

    python benchmarks/bench_epoch.py              # the full grid (make bench)
    python benchmarks/bench_epoch.py --quick      # four configurations, one round
    python benchmarks/bench_epoch.py --only "784-300-10 sigmoid mse" --repeats 3
    # on a shared machine: one thread each, CPU seconds, the engine against JAX and a prototype
    python benchmarks/bench_epoch.py --only "b32 float32" --threads 1 --clock cpu \
        --impls backprop,jax_scan,floor,numba_gemm_t
"""

from __future__ import annotations

import argparse
import importlib.util
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

from epoch_timers import GEMM_N, JAX, PROTOTYPES, child, flops_per_epoch

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
MNIST_DIR = ROOT.parent / "shared" / "data" / "mnist"
IMPLEMENTATIONS = ("backprop", "backprop_numpy", "pytorch", "jax_scan", "jax_loop", "sklearn", "floor")
PEERS = ("backprop_numpy", "pytorch", "jax_scan", "jax_loop", "sklearn", "floor", "limit", *PROTOTYPES)


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

def prepare_data(folder: Path, mnist_dir: Path = MNIST_DIR) -> str:
    """Write X (float32 and float64) and y as .npy files; return where the data came from."""
    import numpy as np

    try:
        from backprop.data import load_mnist

        data = load_mnist("all", mnist_dir, download=False)
        X, y, source = data.X, data.y, f"MNIST training set ({mnist_dir})"
    except (OSError, ValueError):
        rng = np.random.default_rng(0)
        X, y = rng.uniform(size=(60000, 784)), rng.integers(0, 10, 60000)
        source = "random data of MNIST's shape (the MNIST files were not found)"
    for dtype in ("float32", "float64"):
        np.save(folder / f"X_{dtype}.npy", X.astype(dtype))
    np.save(folder / "y.npy", y.astype(np.int64))
    return source


# -- the run ------------------------------------------------------------------------

def measure(impl, config, data, threads) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    out = subprocess.run([sys.executable, __file__, "--child", impl, json.dumps(config), str(data), str(threads)],
                         capture_output=True, text=True, env=env, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{impl} {config} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def weight_differences(data: Path, round_results: dict) -> None:
    """Add ``max_diff``, the largest ``|W - W_backprop|`` after the epoch, to each peer's measurement."""
    import numpy as np

    ours = data / "weights_backprop.npz"
    if not ours.exists():
        return
    with np.load(ours) as reference:
        for impl, m in round_results.items():
            theirs = data / f"weights_{impl}.npz"
            if impl != "backprop" and theirs.exists():
                with np.load(theirs) as peer:
                    m["max_diff"] = max(float(np.max(np.abs(peer[k].astype(np.float64) - reference[k])))
                                        for k in reference.files)
    for f in data.glob("weights_*.npz"):
        f.unlink()


def machine(threads: int, blas: str) -> dict:
    import importlib.metadata as meta

    import numpy as np

    cpu = "unknown"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    versions = {}
    for name in ("torch", "scikit-learn", "jax", "jaxlib"):
        try:
            versions[name] = meta.version(name)
        except meta.PackageNotFoundError:
            versions[name] = "not installed"
    return {"cpu": cpu, "cores": os.cpu_count(), "threads": threads, "python": platform.python_version(),
            "numpy": np.__version__, "blas": blas, **versions, "date": time.strftime("%Y-%m-%d")}


def paired_ratio(ours: list[dict], theirs: list[dict], key: str = "seconds") -> list[float]:
    """baseline/peer within each round (the two ran minutes apart at most), for the rounds both have."""
    return [a[key] / b[key] for a, b in zip(ours, theirs)]


def summarise(results: dict, rates: dict, configs: list[dict], baseline: str = "backprop",
              clock: str = "wall") -> list[dict]:
    """Medians and within-round ratios per configuration, of wall-clock or CPU seconds (``clock``)."""
    seconds, rate_key = ("cpu_seconds", "gflops_cpu") if clock == "cpu" else ("seconds", "gflops")
    rows = []
    for config in configs:
        key = label(config)
        row = {"config": key, **config}
        for impl in (*IMPLEMENTATIONS, *PROTOTYPES):
            runs = results[key].get(impl, [])
            if runs:
                times = [r[seconds] for r in runs]
                row[impl] = {"median": statistics.median(times), "rounds": times,
                             "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
                             "baseline_rss_mb": min(r["baseline_rss_mb"] for r in runs)}
                if "compile_seconds" in runs[0]:
                    row[impl]["compile_seconds"] = statistics.median(r["compile_seconds"] for r in runs)
                if "max_diff" in runs[0]:
                    row[impl]["max_diff"] = max(r["max_diff"] for r in runs)
        ours = results[key].get(baseline, [])
        for peer in ("backprop", *PEERS):
            if peer == baseline:
                continue
            if ours and results[key].get(peer):
                ratios = paired_ratio(ours, results[key][peer], seconds)
                row[f"vs_{peer}"] = {"median": statistics.median(ratios), "rounds": ratios}
        if rates.get(config["dtype"]):
            gflops = [r[rate_key] for r in rates[config["dtype"]]]
            flops = flops_per_epoch(config)
            row["limit"] = {"median": flops / statistics.median(gflops) / 1e9, "gflop": flops / 1e9,
                            "gemm_gflops": statistics.median(gflops)}
            if ours:
                # Within each round: that round's time over the time at that round's GEMM rate.
                ratios = [o[seconds] / (flops / r[rate_key] / 1e9) for o, r in zip(ours, rates[config["dtype"]])]
                row["vs_limit"] = {"median": statistics.median(ratios), "rounds": ratios}
        dtype_bytes = 4 if config["dtype"] == "float32" else 8
        params = 784 * config["hidden"] + config["hidden"] + config["hidden"] * 10 + 10
        dataset_mb = 60000 * 784 * dtype_bytes / 2**20
        activations_mb = config["batch"] * (784 + 2 * config["hidden"] + 20) * dtype_bytes / 2**20
        row["memory_target_mb"] = dataset_mb + 3 * params * dtype_bytes / 2**20 + activations_mb + 50
        if baseline in row:  # the memory the baseline's epoch added to its process
            row["memory_mb"] = row[baseline]["peak_rss_mb"] - row[baseline]["baseline_rss_mb"]
        rows.append(row)
    return rows


NAMES = {"backprop": "backprop", "backprop_numpy": "backprop_numpy", "pytorch": "PyTorch", "jax_scan": "JAX scan",
         "jax_loop": "JAX loop", "sklearn": "sklearn", "floor": "floor", "limit": "limit",
         **{p: p for p in PROTOTYPES}}


def markdown(rows: list[dict], info: dict, rates: dict, source: str, repeats: int,
             baseline: str = "backprop", clock: str = "wall") -> str:
    rate_key = "gflops_cpu" if clock == "cpu" else "gflops"
    shown = [p for p in ("backprop", *PEERS) if p != baseline and any(p in r for r in rows)]
    rate_text = "; ".join(f"{d} {statistics.median(r[rate_key] for r in runs):.0f} GFLOP/s"
                          for d, runs in rates.items() if runs)
    lines = [
        f"Measured {info['date']} on {info['cpu']} ({info['cores']} cores, {info['threads']} threads for every "
        f"implementation), Python {info['python']}, NumPy {info['numpy']} with {info['blas']}, "
        f"PyTorch {info['torch']}, JAX {info['jax']} (jaxlib {info['jaxlib']}), scikit-learn "
        f"{info['scikit-learn']}; data: {source}; median of {repeats} interleaved rounds, one epoch of plain "
        f"SGD each ({'CPU seconds of the process' if clock == 'cpu' else 'wall-clock seconds'}); a ratio is {baseline}/peer, the median of the ratios within each round. "
        f"The limit is the epoch's GEMM FLOPs at the rate of one {GEMM_N}x{GEMM_N} GEMM measured in the "
        f"same run ({rate_text}). Compile times (backprop's compiled pass loaded from its cache, JAX scan / loop, "
        f"Numba prototypes) are not in the epoch times.",
        "",
        f"| network | act | loss | batch | dtype | {NAMES[baseline]} | " + " | ".join(NAMES[p] for p in shown) + " | "
        + " | ".join(f"/{NAMES[p]}" for p in shown) + f" | compile s | {NAMES[baseline]} memory MB (target) |",
        "|---|---|---|---:|---|---:|" + "---:|" * (2 * len(shown) + 2),
    ]
    for r in rows:
        def cell(impl):
            m = r.get(impl)
            return f"{m['median']:.3f}" if m else "-"

        def ratio(peer):
            return f"{r[f'vs_{peer}']['median']:.2f}" if f"vs_{peer}" in r else "-"

        compile_s = " / ".join(f"{r[i]['compile_seconds']:.2f}" for i in ("backprop", *JAX, *PROTOTYPES)
                               if i in r and "compile_seconds" in r[i]) or "-"
        memory = f"{r['memory_mb']:.0f} ({r['memory_target_mb']:.0f})" if "memory_mb" in r else "-"
        lines.append(f"| 784-{r['hidden']}-10 | {r['activation']} | {r['loss']} | {r['batch']} | {r['dtype']} | "
                     f"{cell(baseline)} | " + " | ".join(cell(p) for p in shown) + " | "
                     + " | ".join(ratio(p) for p in shown) + f" | {compile_s} | {memory} |")
    return "\n".join(lines) + "\n"


# The targets the project set itself, backprop's epoch over a peer's (each ratio the median within
# rounds): (target, the ratio, its bound, the rows it holds for). The first six are from the
# issues before issue 18 (the project's first speed goals); the last four are issue 18's.
TARGETS = (
    ("<= 0.8x PyTorch at batch 32", "vs_pytorch", 0.8, lambda r: r["batch"] == 32),
    ("<= 0.8x PyTorch at batch 128", "vs_pytorch", 0.8, lambda r: r["batch"] == 128),
    ("<= 1.0x PyTorch at batch 512", "vs_pytorch", 1.0, lambda r: r["batch"] == 512),
    ("<= 0.4x scikit-learn", "vs_sklearn", 0.4, lambda r: True),
    ("<= 1.25x the floor at batch >= 128", "vs_floor", 1.25, lambda r: r["batch"] >= 128),
    ("<= 1.5x the floor at batch 32", "vs_floor", 1.5, lambda r: r["batch"] == 32),
    ("<= 1.0x JAX's scanned epoch (issue 18)", "vs_jax_scan", 1.0, lambda r: True),
    ("<= 0.6x PyTorch (issue 18)", "vs_pytorch", 0.6, lambda r: True),
    ("<= 1.2x the GEMMs-only floor (issue 18)", "vs_floor", 1.2, lambda r: True),
    ("<= 2x the arithmetic limit at batch >= 128 (issue 18)", "vs_limit", 2.0, lambda r: r["batch"] >= 128),
)


def targets(rows: list[dict]) -> str:
    """A Markdown table: each target, the rows it was met on, the ratios by dtype, and where it was missed."""
    lines = ["| target | met on | float32 | float64 | not met on |", "|---|---:|---|---|---|"]

    def spread(values):
        return f"{min(values):.2f}-{max(values):.2f}" if values else "-"

    for name, key, bound, applies in TARGETS:
        measured = [r for r in rows if key in r and applies(r)]
        if not measured:
            continue
        missed = [r for r in measured if r[key]["median"] > bound]
        by_dtype = [spread([r[key]["median"] for r in measured if r["dtype"] == d]) for d in ("float32", "float64")]
        where = ", ".join(f"{r['config']} ({r[key]['median']:.2f})" for r in missed[:4])
        where += f", and {len(missed) - 4} more" if len(missed) > 4 else ""
        lines.append(f"| {name} | {len(measured) - len(missed)} of {len(measured)} | {by_dtype[0]} | "
                     f"{by_dtype[1]} | {where or '-'} |")
    memory = [r for r in rows if "memory_mb" in r]
    if memory:
        over = [r for r in memory if r["memory_mb"] > r["memory_target_mb"]]
        lines.append(f"| memory <= data + 3x parameters + a batch + 50 MB | {len(memory) - len(over)} of "
                     f"{len(memory)} | - | - | {', '.join(r['config'] for r in over) or '-'} |")
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
    parser.add_argument("--quick", action="store_true", help="four configurations, one round")
    parser.add_argument("--repeats", type=int, help="interleaved rounds (default 3, quick 1)")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="BLAS/PyTorch/XLA threads")
    parser.add_argument("--only", help="run only configurations whose label contains this text "
                        "(several, comma-separated: all of them)")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                        help="summarise wall-clock seconds, or the process's CPU seconds (steadier on a shared "
                             "machine with --threads 1); both are kept in the JSON")
    parser.add_argument("--baseline", default="backprop", help="the numerator of every ratio")
    parser.add_argument("--skip", default="", help="comma-separated implementations to leave out")
    parser.add_argument("--impls", help="comma-separated implementations to run instead of "
                        f"{','.join(IMPLEMENTATIONS)}; the prototypes are {','.join(PROTOTYPES)}")
    parser.add_argument("--mnist", type=Path, default=MNIST_DIR,
                        help=f"folder with MNIST's IDX files (default {MNIST_DIR}); random data without them")
    parser.add_argument("--name", help="results file name (default full, or quick with --quick)")
    parser.add_argument("--readme", action="store_true", help="replace the table in README.md")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        impl, config, data, threads = args.child
        print(json.dumps(child(impl, json.loads(config), Path(data), int(threads))))
        return 0

    wanted = args.only.split(",") if args.only else []
    configs = [c for c in grid(args.quick) if all(w in label(c) for w in wanted)]
    repeats = args.repeats or (1 if args.quick else 3)
    chosen = args.impls.split(",") if args.impls else IMPLEMENTATIONS
    unknown = sorted(set(chosen) - set(IMPLEMENTATIONS) - set(PROTOTYPES))
    if unknown:
        parser.error(f"unknown implementation(s) {', '.join(unknown)}")
    impls = [i for i in chosen if i not in args.skip.split(",")]
    if importlib.util.find_spec("jax") is None and any(i in impls for i in JAX):
        print("note: JAX is not installed, so its columns are skipped "
              "(pip install 'backprop[bench]' or pip install jax jaxlib)", flush=True)
        impls = [i for i in impls if i not in JAX]
    results = {label(c): {} for c in configs}
    dtypes = sorted({c["dtype"] for c in configs}, reverse=True)
    rates = {d: [] for d in dtypes} if "limit" not in args.skip.split(",") else {}
    RESULTS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        source = prepare_data(Path(tmp), args.mnist)
        print(f"data: {source}; {len(configs)} configurations x {len(impls)} implementations x {repeats} rounds",
              flush=True)
        for r in range(repeats):
            for dtype in rates:
                m = measure("gemm", {"dtype": dtype}, Path(tmp), args.threads)
                rates[dtype].append(m)
                print(f"[{r + 1}/{repeats}] {dtype} GEMM {GEMM_N}: {m['gflops']:.1f} GFLOP/s "
                      f"({m['gflops_cpu']:.1f} per CPU second)", flush=True)
            for n, config in enumerate(configs):
                turn = impls[(r + n) % len(impls):] + impls[:(r + n) % len(impls)]  # take turns
                this_round = {}
                for impl in turn:
                    m = this_round[impl] = measure(impl, config, Path(tmp), args.threads)
                    results[label(config)].setdefault(impl, []).append(m)
                    extra = f" compile {m['compile_seconds']:.2f} s" if "compile_seconds" in m else ""
                    print(f"[{r + 1}/{repeats}] {label(config):45s} {impl:10s} {m['seconds']:7.3f} s "
                          f"(cpu {m['cpu_seconds']:7.3f} s) "
                          f"peak {m['peak_rss_mb']:6.0f} MB{extra}", flush=True)
                weight_differences(Path(tmp), this_round)
                diffs = ", ".join(f"{i} {m['max_diff']:.1e}" for i, m in this_round.items() if "max_diff" in m)
                if diffs:
                    print(f"      max |W - W_backprop| after the epoch: {diffs}", flush=True)
            # Every finished round is written, so a long run stopped early still leaves its results.
            report(results, rates, configs, source, r + 1, args, final=False)
    report(results, rates, configs, source, repeats, args, final=True)
    return 0


def report(results, rates, configs, source, repeats, args, final: bool) -> None:
    runs = [m for r in results.values() for ms in r.values() for m in ms if "blas" in m]
    info = machine(args.threads, ", ".join(runs[0]["blas"]) if runs else "unknown")
    rows = summarise(results, rates, configs, args.baseline, args.clock)
    table = markdown(rows, info, rates, source, repeats, args.baseline, args.clock)
    if args.baseline == "backprop":
        table += "\nThe targets (backprop / peer):\n\n" + targets(rows)
    name = args.name or ("quick" if args.quick else "full")
    (RESULTS / f"{name}.json").write_text(json.dumps({"machine": info, "data": source, "repeats": repeats,
                                                       "gemm": rates, "rows": rows, "raw": results}, indent=2))
    (RESULTS / f"{name}.md").write_text(table)
    if final:
        print()
        print(table)
        if args.readme:
            update_readme(table)


if __name__ == "__main__":
    sys.exit(main())
