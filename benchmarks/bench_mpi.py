"""Data-parallel training over MPI on this machine, and a cost model for more machines.

Measured: seconds for one epoch of plain SGD (``Network.fit``, float64, relu
and softmax with cross-entropy) on MNIST's 60,000 training images, for the
MNIST networks 784-300-10 and 784-800-10 and global batch sizes 32, 128, 512,
run four ways:

``threads2``  one process, two BLAS threads (the baseline: all the machine's cores, no MPI)
``threads1``  one process, one BLAS thread
``P1``        ``mpiexec -n 1``, one BLAS thread
``P2``        ``mpiexec -n 2``, one BLAS thread per rank, each rank reading only its shard

Each run is a fresh process (or set of processes); the ways take turns, round
after round, and the median of the rounds is reported. On a shared machine,
each run first waits for a moment when other processes leave the cores idle
(``--quiet-below``, ``--patience``), and the table says how busy they were. The
P2 ranks also time an Allreduce of the gradient buffer alone (the parameter
count in float64).

Modelled: the seconds of one step on P nodes,
``T(P) = T1 / P + 2 (P - 1) / P * S / BW + 2 (P - 1) * alpha``, where ``T1`` is
one node's compute for the whole global batch (from the ``threads1``
measurement), ``S`` the bytes of the gradient, ``BW`` the network bandwidth and
``alpha`` the latency of one message (a ring Allreduce sends 2 (P - 1)
messages of S / P bytes each way). See docs/explanation/scaling-out.md.

    python benchmarks/bench_mpi.py               # the full grid, 3 rounds (about 8 minutes)
    python benchmarks/bench_mpi.py --quick       # 784-300-10, batch 128, 1 round
    python benchmarks/bench_mpi.py --model-only  # the cost model from the last results file

Results go to benchmarks/results/mpi.json and mpi.md.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
MNIST_DIR = ROOT.parent / "shared" / "data" / "mnist"
WAYS = ("threads2", "threads1", "P1", "P2")
LR = 0.1
BYTES = 8  # float64

# The cost model's grid: nodes, networks, global batch sizes, and networks of 1, 10 and
# 100 Gb/s with a typical latency per message for each (TCP over Ethernet; RDMA for 100).
NODES = (1, 2, 4, 8, 16, 32, 64)
NETWORKS = {"784-300-10": 784 * 300 + 300 + 300 * 10 + 10, "784-800-10": 784 * 800 + 800 + 800 * 10 + 10}
MODEL_BATCHES = (32, 128, 512, 2048)
LINKS = {"1 Gb/s": (1e9 / 8, 50e-6), "10 Gb/s": (10e9 / 8, 20e-6), "100 Gb/s": (100e9 / 8, 2e-6)}


# -- one run, in a child process (or in every rank under mpiexec) ---------------------

def worker(data: Path, hidden: int, batch: int) -> None:
    import numpy as np

    import backprop as bp
    from backprop.distributed import MPICommunicator, launched_by_mpiexec, shard

    comm = MPICommunicator() if launched_by_mpiexec() else None
    X = np.load(data / "X.npy", mmap_mode="r")  # each rank reads only its rows from the file
    y = np.load(data / "y.npy")
    rows = slice(None) if comm is None else shard(len(X), comm)
    X, Y = np.ascontiguousarray(X[rows]), np.eye(10)[y[rows]]
    parallel = {} if comm is None else {"comm": comm}
    net = bp.Network.from_sizes([784, hidden, 10], activation="relu", output_activation="softmax",
                                loss="cross_entropy", seed=0, dtype="float64")
    warm = 4096 // (1 if comm is None else comm.size)
    net.fit(X[:warm], Y[:warm], epochs=1, batch_size=batch, lr=LR, seed=1, **parallel)
    history = net.fit(X, Y, epochs=1, batch_size=batch, optimizer="sgd", lr=LR, seed=0, **parallel)
    result = {"seconds": history.epochs[0]["seconds"], "steps": -(-60000 // batch)}
    if comm is not None and comm.size > 1:
        buffer = np.zeros(net.n_parameters)
        times = []
        for _ in range(30):
            comm.allreduce_sum(np.zeros(1))  # start together
            started = time.perf_counter()
            comm.allreduce_sum(buffer)
            times.append(time.perf_counter() - started)
        result["allreduce_seconds"] = statistics.median(times)
    if comm is None or comm.rank == 0:
        from threadpoolctl import threadpool_info

        result["blas"] = [f"{i['internal_api']} {i['version']}, {i['num_threads']} thread(s)"
                          for i in threadpool_info() if i["user_api"] == "blas"]
        print(json.dumps(result))


def prepare_data(folder: Path) -> str:
    import numpy as np

    try:
        from backprop.data import load_mnist

        data = load_mnist("all", MNIST_DIR, download=False)
        X, y, source = data.X, data.y, f"MNIST training set ({MNIST_DIR}), 60,000 images"
    except (OSError, ValueError):
        rng = np.random.default_rng(0)
        X, y = rng.uniform(size=(60000, 784)), rng.integers(0, 10, 60000)
        source = "random data of MNIST's shape (the MNIST files were not found)"
    np.save(folder / "X.npy", np.ascontiguousarray(X, dtype=np.float64))
    np.save(folder / "y.npy", np.asarray(y, dtype=np.int64))
    return source


def busy_cores(seconds: float = 0.5) -> float:
    """How many cores other processes keep busy, from /proc/stat over ``seconds`` (while this one sleeps)."""
    def sample():
        with open("/proc/stat") as fh:
            values = [int(v) for v in fh.readline().split()[1:]]
        return sum(values), values[3] + values[4]  # total, idle + iowait

    try:
        total0, idle0 = sample()
        time.sleep(seconds)
        total1, idle1 = sample()
    except OSError:
        return float("nan")
    return (os.cpu_count() or 1) * (1 - (idle1 - idle0) / max(total1 - total0, 1))


def mpiexec() -> str:
    found = shutil.which("mpiexec", path=str(Path(sys.executable).parent)) or shutil.which("mpiexec")
    if found is None:
        sys.exit("bench_mpi: no mpiexec; pip install 'backprop[mpi]'")
    return found


def run_once(way: str, data: Path, hidden: int, batch: int) -> dict:
    threads = 2 if way == "threads2" else 1
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PMI_", "OMPI_", "PMIX_"))}
    env.update(OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    command = [sys.executable, __file__, "--worker", str(data), str(hidden), str(batch)]
    if way.startswith("P"):
        command = [mpiexec(), "-n", way[1:], *command]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        sys.exit(f"bench_mpi: {way} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- the cost model -------------------------------------------------------------------

def step_seconds(P: int, compute: float, n_params: int, bandwidth: float, latency: float) -> float:
    """T(P): one node's compute split P ways, plus a ring Allreduce of the float64 gradient."""
    size = n_params * BYTES
    return compute / P + 2 * (P - 1) / P * size / bandwidth + 2 * (P - 1) * latency


def flops_per_step(n_params: int, batch: int) -> float:
    """Multiply-adds of forward (Z = A W^T) and backward (dW = dZ^T A, dA = dZ W) are 3 products: 6 B W flops."""
    return 6 * batch * n_params


def cost_model(rate: float) -> list[dict]:
    """For each network, global batch and link: speed-up per P, the best P, and where efficiency < 50%."""
    rows = []
    for (name, n_params), batch, (link, (bandwidth, latency)) in itertools.product(
            NETWORKS.items(), MODEL_BATCHES, LINKS.items()):
        compute = flops_per_step(n_params, batch) / rate
        times = {P: step_seconds(P, compute, n_params, bandwidth, latency) for P in NODES}
        speedup = {P: compute / t for P, t in times.items()}
        best = min(times, key=times.get)
        half = next((P for P in NODES if speedup[P] / P < 0.5), None)
        rows.append({"network": name, "batch": batch, "link": link, "compute_ms": compute * 1e3,
                     "allreduce_ms_64": (times[64] - compute / 64) * 1e3,
                     "speedup": speedup, "best_P": best, "half_efficiency_P": half})
    return rows


def model_table(rate: float) -> str:
    lines = [f"Compute rate of one node: {rate / 1e9:.1f} GFLOP/s (measured: one core, one BLAS thread, float64). "
             "Speed-up T(1)/T(P) for P nodes; 'best' is the P with the shortest step; "
             "'< 50%' the first P whose efficiency (speed-up / P) falls under a half.", "",
             "| network | batch | link | compute ms/step | allreduce ms/step (P=64) | "
             + " | ".join(f"P={P}" for P in NODES[1:]) + " | best | < 50% |",
             "|---|---:|---|---:|---:|" + "---:|" * (len(NODES) - 1) + "---:|---:|"]
    for row in cost_model(rate):
        lines.append(f"| {row['network']} | {row['batch']} | {row['link']} | {row['compute_ms']:.2f} | "
                     f"{row['allreduce_ms_64']:.2f} | "
                     + " | ".join(f"{row['speedup'][P]:.2f}" for P in NODES[1:])
                     + f" | {row['best_P']} | {row['half_efficiency_P'] or '-'} |")
    return "\n".join(lines)


# -- the driver -----------------------------------------------------------------------

def wait_for_quiet(below: float, patience: float, samples: int = 4) -> float:
    """Wait (up to ``patience`` seconds) until other processes keep fewer than ``below`` cores busy.

    Quiet means ``samples`` samples in a row, two seconds apart, so that a pause between
    another benchmark's runs is not taken for one. Returns the last sample.
    """
    deadline, quiet = time.time() + patience, 0
    while True:
        others = busy_cores()
        quiet = quiet + 1 if others < below else 0
        if quiet >= samples or time.time() > deadline:
            return others
        time.sleep(1.5)


def measure(configs: list[tuple[int, int]], rounds: int, quiet_below: float, patience: float) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        source = prepare_data(data)
        runs = {f"{h} {b} {w}": [] for h, b in configs for w in WAYS}
        for r in range(rounds):
            for hidden, batch in configs:
                for way in WAYS:
                    # Other work on the machine slows every way, two threads most: wait for a quiet
                    # moment, and note how much there was.
                    others = wait_for_quiet(quiet_below, patience)
                    result = {**run_once(way, data, hidden, batch), "others_busy_cores": others}
                    runs[f"{hidden} {batch} {way}"].append(result)
                    print(f"round {r + 1}/{rounds}  784-{hidden}-10 b{batch} {way}: {result['seconds']:.3f} s",
                          file=sys.stderr, flush=True)
    return {"source": source, "runs": runs}


def summarize(measured: dict, configs: list[tuple[int, int]], rounds: int) -> tuple[dict, str]:
    rows, rates = [], []
    for hidden, batch in configs:
        n_params = NETWORKS[f"784-{hidden}-10"]
        median = {w: statistics.median(r["seconds"] for r in measured["runs"][f"{hidden} {batch} {w}"]) for w in WAYS}
        spread = {w: (min(r["seconds"] for r in measured["runs"][f"{hidden} {batch} {w}"]),
                      max(r["seconds"] for r in measured["runs"][f"{hidden} {batch} {w}"])) for w in WAYS}
        allreduce = statistics.median(r["allreduce_seconds"] for r in measured["runs"][f"{hidden} {batch} P2"])
        steps = -(-60000 // batch)
        rates.append(flops_per_step(n_params, batch) * steps / median["threads1"])
        rows.append({"network": f"784-{hidden}-10", "batch": batch, "n_params": n_params, "median": median,
                     "range": spread, "steps": steps, "allreduce_ms": allreduce * 1e3,
                     "allreduce_epoch_s": allreduce * steps,
                     "model_P2": median["threads1"] / 2 + allreduce * steps,
                     "bytes_per_step": n_params * BYTES,
                     "speedup_P1": median["threads2"] / median["P1"], "speedup_P2": median["threads2"] / median["P2"]})
    rate = statistics.median(rates)
    blas = measured["runs"][f"{configs[0][0]} {configs[0][1]} threads2"][0].get("blas")
    others = [r["others_busy_cores"] for runs in measured["runs"].values() for r in runs]
    header = (f"Measured {time.strftime('%Y-%m-%d')} on {platform.processor() or platform.machine()} "
              f"({os.cpu_count()} cores), Python {platform.python_version()}, {'; '.join(blas or [])}; "
              f"data: {measured['source']}; one epoch of plain SGD in float64 (seconds, from fit's history), "
              f"median of {rounds} interleaved round(s), range in brackets. Speed-up is against one process "
              f"with two BLAS threads. Cores kept busy by other processes, sampled for 0.5 s just before each run: "
              f"median {statistics.median(others):.2f}, max {max(others):.2f}.")
    lines = [header, "",
             "| network | batch | 1 process, 2 threads | 1 process, 1 thread | P=1 (1 thread) | P=2 (1 thread each) "
             "| speed-up P=1 | speed-up P=2 | bytes/step | Allreduce ms/step (P=2) | Allreduce s/epoch "
             "| model P=2 |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        cell = {w: f"{row['median'][w]:.2f} [{row['range'][w][0]:.2f}-{row['range'][w][1]:.2f}]" for w in WAYS}
        lines.append(f"| {row['network']} | {row['batch']} | {cell['threads2']} | {cell['threads1']} | {cell['P1']} | "
                     f"{cell['P2']} | {row['speedup_P1']:.2f} | {row['speedup_P2']:.2f} | "
                     f"{row['bytes_per_step'] / 1e6:.2f} MB | {row['allreduce_ms']:.2f} | "
                     f"{row['allreduce_epoch_s']:.2f} | {row['model_P2']:.2f} |")
    lines += ["", "'model P=2' is the cost model's epoch for two ranks: half the one-thread epoch plus the "
              "Allreduce time measured alone.", "", model_table(rate)]
    return {"rows": rows, "rate_flops": rate, "header": header}, "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="784-300-10, batch 128, one round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--model-only", action="store_true", help="print the cost model from results/mpi.json")
    parser.add_argument("--summarize", action="store_true", help="rewrite mpi.md from the runs in mpi.json")
    parser.add_argument("--flops", type=float, help="with --model-only: a node's FLOP/s instead of the measured")
    parser.add_argument("--quiet-below", type=float, default=0.3, metavar="CORES",
                        help="before each run, wait until other processes keep fewer cores busy (default 0.3)")
    parser.add_argument("--patience", type=float, default=600, metavar="SECONDS",
                        help="how long to wait for that before running anyway (default 600)")
    parser.add_argument("--worker", nargs=3, metavar=("DATA", "HIDDEN", "BATCH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(Path(args.worker[0]), int(args.worker[1]), int(args.worker[2]))
        return
    if args.model_only:
        rate = args.flops or json.loads((RESULTS / "mpi.json").read_text())["summary"]["rate_flops"]
        print(model_table(rate))
        return
    configs = [(300, 128)] if args.quick else list(itertools.product((300, 800), (32, 128, 512)))
    rounds = 1 if args.quick else args.rounds
    if args.summarize:
        measured = json.loads((RESULTS / "mpi.json").read_text())
        rounds = len(next(iter(measured["runs"].values())))
        measured = {"source": measured["source"], "runs": measured["runs"]}
    else:
        measured = measure(configs, rounds, args.quiet_below, args.patience)
    summary, table = summarize(measured, configs, rounds)
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = "mpi-quick" if args.quick else "mpi"
    (RESULTS / f"{name}.json").write_text(json.dumps({"summary": summary, **measured}, indent=1))
    (RESULTS / f"{name}.md").write_text(table + "\n")
    print(table)


if __name__ == "__main__":
    main()
