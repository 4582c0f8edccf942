"""``backprop predict``: predictions for the rows of a table, as CSV or JSON."""

from __future__ import annotations

import sys
from pathlib import Path

from ..data import write_predictions_csv
from ..data.table import read_table
from ..io.atomic import write_atomic
from ..modelfile import check_writable
from .common import add_table_options, for_terminal, load_model, print_json, table_read_options
from .tables import model_inputs


def add_parser(sub) -> None:
    p = sub.add_parser(
        "predict", help="predict labels or values for the rows of a table",
        description="Read INPUT (a table as backprop train --csv reads it: any delimiter, compressed or not, "
                    "'-' for standard input) and write one prediction per row as CSV: the label, and for "
                    "classifiers the probability of each class. Columns are matched by their header names, "
                    "in any order; extra columns (such as the target) are ignored and missing ones named. "
                    "A file without a header row needs --no-header and the training columns in order.",
    )
    p.add_argument("model", type=Path, metavar="MODEL", help="a model file from backprop train")
    p.add_argument("input", metavar="INPUT", help="the rows to predict, with a header row ('-': standard input)")
    p.add_argument("--out", metavar="FILE", help="write here instead of standard output ('-': standard output)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of CSV")
    add_table_options(p)
    p.set_defaults(run=run)


def run(args) -> int:
    to_stdout = args.out is None or args.out == "-"
    if not to_stdout:
        # Before any work: a writable folder, and never over one of the inputs.
        check_writable(args.out, inputs=[args.model] + ([] if args.input == "-" else [args.input]))
    model = load_model(args.model)
    table = read_table(args.input, **table_read_options(args))
    X = model_inputs(model, table, "predict")
    predictions = model.predict(X)
    probabilities = model.predict_proba(X) if model.task == "classification" else None
    if args.json:
        result = {"n_samples": int(len(predictions)), "task": model.task, "predictions": predictions.tolist()}
        if probabilities is not None:
            result["classes"] = list(model.classes)
            result["probabilities"] = probabilities.tolist()
        if to_stdout:
            print_json(result)
        else:
            import json

            from ..modelfile import to_plain

            write_atomic(args.out, json.dumps(result, indent=2, default=to_plain) + "\n")
        return 0
    write_predictions_csv(for_terminal(sys.stdout) if to_stdout else Path(args.out), predictions,
                          probabilities=probabilities, classes=model.classes)
    return 0
