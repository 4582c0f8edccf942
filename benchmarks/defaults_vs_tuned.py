"""Do the defaults fit? Each built-in data set: ``backprop train --dataset NAME`` against tuned runs.

The "before" column is the old default, a fixed 30 epochs. The default run
names only the data (early stopping within an epoch budget set
by the data size, see ``backprop.cli.defaults``). The tuned runs train a fixed,
generous number of epochs without early stopping; the best of them is listed.
Scores are on the validation split (20%, seed 0), as ``train --json`` reports
them: accuracy for classifiers, R² for regressors.

    python benchmarks/defaults_vs_tuned.py [NAME ...] > benchmarks/results/defaults_vs_tuned.md

MNIST is left out unless named (it needs the MNIST files and minutes per run).
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import time

from backprop.cli import main
from backprop.data import DATASETS

TUNED = (["--epochs", "300"], ["--epochs", "1000"])


def score(argv: list[str]) -> tuple[float, int, float]:
    out = io.StringIO()
    started = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = main(["train", "--json", *argv])
    if code != 0:
        raise SystemExit(f"backprop train {' '.join(argv)} exited with {code}")
    result = json.loads(out.getvalue())
    metric = result.get("val_accuracy", result.get("val_r2"))
    return metric, result["epochs_run"], time.perf_counter() - started


def main_(names: list[str]) -> None:
    print("| data set | metric | before: 30 epochs | defaults: score (epochs run) | best tuned: score (options) |")
    print("|---|---|---|---|---|")
    for name in names:
        metric = "accuracy" if DATASETS[name].task == "classification" else "R²"
        before = score(["--dataset", name, "--epochs", "30"])[0]
        default, epochs, _ = score(["--dataset", name])
        tuned = [(score(["--dataset", name, *opts])[0], " ".join(opts)) for opts in TUNED]
        best, opts = max(tuned)
        print(f"| {name} | {metric} | {before:.3f} | {default:.3f} ({epochs}) | {best:.3f} ({opts}) |", flush=True)


if __name__ == "__main__":
    main_(sys.argv[1:] or [n for n in DATASETS if n != "mnist"])
