"""``backprop predict``: predictions for the rows of a CSV file, as CSV."""

from __future__ import annotations

import sys
from pathlib import Path

from ..data import load_features_csv, write_predictions_csv
from ..modelfile import check_writable, load
from .common import for_terminal


def add_parser(sub) -> None:
    p = sub.add_parser(
        "predict", help="predict labels or values for a CSV file",
        description="Read INPUT.csv (a header row, then one row of feature values per sample, in the "
                    "order the model was trained on) and write one prediction per row as CSV: the "
                    "label, and for classifiers the probability of each class.",
    )
    p.add_argument("model", type=Path, metavar="MODEL", help="a model file from backprop train")
    p.add_argument("input", type=Path, metavar="INPUT.csv", help="the features, with a header row")
    p.add_argument("--out", type=Path, metavar="FILE", help="write here instead of standard output")
    p.set_defaults(run=run)


def run(args) -> int:
    if args.out is not None:
        check_writable(args.out, inputs=[args.model, args.input])  # before any work; never over an input
    model = load(args.model)
    X = load_features_csv(args.input, n_features=model.network.sizes[0])
    predictions = model.predict(X)
    probabilities = model.predict_proba(X) if model.task == "classification" else None
    write_predictions_csv(args.out if args.out is not None else for_terminal(sys.stdout), predictions,
                          probabilities=probabilities, classes=model.classes)
    return 0
