"""Ours beside scikit-learn's MLP: the same parameters, the same folds, scores and fit times.

On five of scikit-learn's bundled data sets (digits, iris, wine, breast_cancer: accuracy;
diabetes: R^2), each estimator runs in a pipeline ``StandardScaler -> MLP`` (the regressor's
target standardised too) under 5-fold cross-validation, once per seed. Both get exactly the
same parameters (scikit-learn's defaults but for those listed in ``PARAMS``); the seed is the
estimator's ``random_state`` and the folds' shuffle. Reported per data set: the mean score over
folds and seeds, the spread of the per-seed means (standard deviation), and the median fit time
of one fold.

    python benchmarks/bench_sklearn.py            # 3 seeds, 200 epochs at most; writes results/sklearn.md and .json
    python benchmarks/bench_sklearn.py --quick    # 2 seeds, 100 epochs at most, 50 hidden nodes

Times are wall-clock on whatever machine runs it; the results file says which mode and how
many cores it had.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
import warnings
from pathlib import Path

import numpy as np
import sklearn
from sklearn.compose import TransformedTargetRegressor
from sklearn.datasets import (
    load_breast_cancer,
    load_diabetes,
    load_digits,
    load_iris,
    load_wine,
)
from sklearn.model_selection import KFold, StratifiedKFold, cross_validate
from sklearn.neural_network import MLPClassifier as SkClassifier
from sklearn.neural_network import MLPRegressor as SkRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import backprop
from backprop.sklearn import MLPClassifier, MLPRegressor

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
DATASETS = {"digits": load_digits, "iris": load_iris, "wine": load_wine,
            "breast_cancer": load_breast_cancer, "diabetes": load_diabetes}


def estimator(cls, regression: bool, params: dict, seed: int):
    mlp = cls(**params, random_state=seed)
    pipe = make_pipeline(StandardScaler(), mlp)
    return TransformedTargetRegressor(pipe, transformer=StandardScaler()) if regression else pipe


def run(name: str, params: dict, seeds: list[int]) -> dict:
    X, y = DATASETS[name](return_X_y=True)
    regression = name == "diabetes"
    row = {"dataset": name, "metric": "R^2" if regression else "accuracy", "n_samples": len(y)}
    for label, (clf, reg) in {"sklearn": (SkClassifier, SkRegressor), "backprop": (MLPClassifier, MLPRegressor)}.items():
        means, times = [], []
        for seed in seeds:
            folds = (KFold if regression else StratifiedKFold)(5, shuffle=True, random_state=seed)
            est = estimator(reg if regression else clf, regression, params, seed)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # ConvergenceWarning at max_iter: the same for both
                out = cross_validate(est, X, y, cv=folds, scoring="r2" if regression else "accuracy")
            means.append(float(np.mean(out["test_score"])))
            times.extend(out["fit_time"].tolist())
        row[label] = {"score": float(np.mean(means)), "spread": float(np.std(means)),
                      "fit_seconds": float(np.median(times))}
    return row


def table(rows: list[dict], meta: dict) -> str:
    lines = ["| data set | metric | scikit-learn | backprop | fit s (scikit-learn) | fit s (backprop) | time ratio |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        sk, bp = r["sklearn"], r["backprop"]
        lines.append(f"| {r['dataset']} | {r['metric']} | {sk['score']:.3f} ± {sk['spread']:.3f} | "
                     f"{bp['score']:.3f} ± {bp['spread']:.3f} | {sk['fit_seconds']:.3f} | "
                     f"{bp['fit_seconds']:.3f} | {bp['fit_seconds'] / sk['fit_seconds']:.2f} |")
    lines.append("")
    lines.append(f"Mode `{meta['mode']}`: {meta['params']}, seeds {meta['seeds']}, 5-fold CV; "
                 f"score ± the standard deviation of the per-seed means; fit time the median of one fold. "
                 f"scikit-learn {meta['sklearn']}, backprop {meta['backprop']}, Python {meta['python']}, "
                 f"{meta['cores']} cores{meta['note']}.")
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 seeds, 100 epochs at most, 50 hidden nodes")
    parser.add_argument("--note", default="", help="a remark for the results file (e.g. the machine was loaded)")
    args = parser.parse_args(argv)
    params = {"hidden_layer_sizes": (50,) if args.quick else (100,), "max_iter": 100 if args.quick else 200}
    seeds = [0, 1] if args.quick else [0, 1, 2]
    started = time.perf_counter()
    rows = []
    for name in DATASETS:
        rows.append(run(name, params, seeds))
        print(f"{name}: done after {time.perf_counter() - started:.0f} s", flush=True)
    meta = {"mode": "quick" if args.quick else "full", "params": params, "seeds": seeds,
            "sklearn": sklearn.__version__, "backprop": backprop.__version__,
            "python": platform.python_version(), "cores": os.cpu_count(),
            "note": f"; {args.note}" if args.note else ""}
    text = table(rows, meta)
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "sklearn.md").write_text(text)
    (RESULTS / "sklearn.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
