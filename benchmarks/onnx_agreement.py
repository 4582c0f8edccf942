"""How closely onnxruntime's results for an exported model agree with backprop's own.

For each hidden activation and each dtype, five random models of each kind

* a classifier (``backprop.Model``, two hidden layers, standardized inputs), compared on
  ``predict_proba``;
* a regressor with two targets (min-max inputs, target scaling), compared on ``predict``;

are exported with ``export_onnx`` and run by onnxruntime on 300 inputs whose scales run from
0.1 to 100. Then four fitted scikit-learn estimators (a softmax classifier, a one-node and a
several-node sigmoid classifier, a three-target regressor) in each dtype. Reported: the
largest absolute difference, and the largest difference relative to ``max(1, |value|)``.

    python benchmarks/onnx_agreement.py      # about a minute; writes benchmarks/results/onnx.md and onnx.json

The test suite checks a bound on every run (``tests/test_onnx_export.py``); this script
measures how far below that bound the exporter stays.
"""

from __future__ import annotations

import json
import tempfile
import warnings
from pathlib import Path

import numpy as np
import onnxruntime as ort

import backprop as bp
from backprop.onnx_export import export_onnx
from backprop.sklearn import MLPClassifier, MLPRegressor

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
HIDDEN = ("identity", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "softplus", "gelu")
DTYPES = ("float64", "float32")
N_MODELS, N_INPUTS, N_FEATURES = 5, 300, 6


def inputs(rng: np.random.Generator) -> np.ndarray:
    """Rows drawn at scales spread evenly (in log) from 0.1 to 100."""
    scale = 10.0 ** rng.uniform(-1, 2, size=(N_INPUTS, 1))
    return rng.normal(size=(N_INPUTS, N_FEATURES)) * scale


def onnx_output(model, X: np.ndarray, dtype: str, folder: Path) -> np.ndarray:
    path = export_onnx(model, folder / "model.onnx")
    session = ort.InferenceSession(str(path))
    return session.run(["Y"], {"X": X.astype(dtype)})[0]


def differences(ours: np.ndarray, theirs: np.ndarray) -> tuple[float, float]:
    ours = np.asarray(ours, dtype=np.float64).reshape(theirs.shape)
    diff = np.abs(ours - theirs.astype(np.float64))
    return float(diff.max()), float((diff / np.maximum(1.0, np.abs(ours))).max())


def random_models(activation: str, dtype: str, rng: np.random.Generator):
    """(model, what to compare it on) for the five classifiers and five regressors of one row."""
    for i in range(N_MODELS):
        X = inputs(rng)
        clf = bp.Model.build(N_FEATURES, [16, 8], task="classification", classes=["a", "b", "c"],
                             activation=activation, seed=int(rng.integers(1 << 31)), dtype=dtype)
        clf.fit_preprocessing(X, rng.choice(["a", "b", "c"], size=len(X)))
        yield clf, clf.predict_proba, X
        reg = bp.Model.build(N_FEATURES, [16], task="regression", n_targets=2, activation=activation,
                             seed=int(rng.integers(1 << 31)), dtype=dtype, preprocessing="minmax")
        reg.fit_preprocessing(X, rng.normal(loc=50.0, scale=20.0, size=(len(X), 2)))
        yield reg, reg.predict, X


def fitted_estimators(dtype: str, rng: np.random.Generator):
    X = rng.normal(size=(200, N_FEATURES))
    labels = rng.integers(0, 3, size=200)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a few epochs, not a converged fit
        for clf, y in ((MLPClassifier((16,), max_iter=20, random_state=0, dtype=dtype), labels),
                       (MLPClassifier((16,), output_activation="sigmoid", max_iter=20, random_state=0,
                                      dtype=dtype), labels % 2),
                       (MLPClassifier((16,), output_activation="sigmoid", max_iter=20, random_state=0,
                                      dtype=dtype), labels)):
            clf.fit(X, y)
            yield clf, clf.predict_proba
        reg = MLPRegressor((16,), max_iter=20, random_state=0, dtype=dtype).fit(X, rng.normal(size=(200, 3)))
        yield reg, reg.predict


def main() -> None:
    rng = np.random.default_rng(0)
    rows: dict[str, dict[str, tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for activation in HIDDEN:
            for dtype in DTYPES:
                worst = [0.0, 0.0]
                for model, ours, X in random_models(activation, dtype, rng):
                    a, r = differences(ours(X), onnx_output(model, X, dtype, folder))
                    worst = [max(worst[0], a), max(worst[1], r)]
                rows.setdefault(activation, {})[dtype] = tuple(worst)
        fitted = {}
        for dtype in DTYPES:
            X = inputs(rng)
            worst = 0.0
            for estimator, ours in fitted_estimators(dtype, np.random.default_rng(1)):
                worst = max(worst, differences(ours(X), onnx_output(estimator, X, dtype, folder))[0])
            fitted[dtype] = worst
    lines = [f"onnxruntime {ort.__version__} against backprop's predict_proba/predict: {N_MODELS} random "
             f"classifiers and {N_MODELS} random two-target regressors per hidden activation and dtype, "
             f"{N_INPUTS} inputs each on scales 0.1 to 100; largest absolute difference, and largest "
             "difference relative to max(1, |value|).", "",
             "| hidden activation | float64 abs | float64 rel | float32 abs | float32 rel |",
             "|---|---:|---:|---:|---:|"]
    for activation, by_dtype in rows.items():
        cells = " | ".join(f"{by_dtype[d][0]:.1e} | {by_dtype[d][1]:.1e}" for d in DTYPES)
        lines.append(f"| {activation} | {cells} |")
    lines += ["", "Fitted estimators (softmax, one-node sigmoid and several-node sigmoid classifiers, a "
                  f"three-target regressor), largest absolute difference: {fitted['float64']:.1e} in float64, "
                  f"{fitted['float32']:.1e} in float32."]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "onnx.md").write_text("\n".join(lines) + "\n")
    (RESULTS / "onnx.json").write_text(json.dumps({"onnxruntime": ort.__version__, "rows": rows,
                                                   "fitted": fitted}, indent=1))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
