"""``backprop evaluate``: loss, accuracy, per-class precision and recall, confusion matrix."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from rich.table import Table
from rich.text import Text

from ..data import DATASETS, SPLITS, Dataset, load_dataset, load_npz
from ..data.dataset import _validation_indices
from ..data.table import read_table
from ..data.tabular import resolve_column
from . import CLIError
from .common import add_table_options, load_model, print_json, shown, stdout, table_read_options
from .tables import model_inputs


def add_parser(sub) -> None:
    p = sub.add_parser(
        "evaluate", help="score a saved model on labelled data",
        description="Score a saved model: loss and accuracy (classifiers) or R^2 and MAE in the target's "
                    "units (regressors), per-class precision and recall, and the confusion matrix. With no "
                    "data option, the model is scored on exactly the validation rows held out from the data "
                    "it was trained on (the model file remembers the file, its SHA-256, the seed and the "
                    "split, and refuses a file that has changed since).",
    )
    p.add_argument("model", type=Path, metavar="MODEL", help="a model file from backprop train")
    p.add_argument("--dataset", choices=sorted(DATASETS), help="a built-in data set")
    p.add_argument("--split", choices=list(SPLITS), default=None,
                   help="which rows: the validation split held out in training (the default with no data "
                        "option or --dataset), train, or all (the default for --csv and --npz); "
                        "test exists for MNIST only")
    p.add_argument("--data-dir", type=Path, metavar="DIR", help="where MNIST files are")
    p.add_argument("--csv", metavar="FILE", help="a table with the target column ('-': standard input)")
    p.add_argument("--npz", type=Path, metavar="FILE", help="an NPZ file with arrays X and y")
    p.add_argument("--target", metavar="COLUMN",
                   help="the table's column with the true labels or values (default: the training target)")
    add_table_options(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(run=run)


def _rows_of_split(n: int, split: str, data: dict, what: str) -> np.ndarray:
    """The rows of the training file that formed ``split``, drawn again from the recorded seed and fraction."""
    if split in (None, "all"):
        return np.arange(n)
    if split == "test":
        raise CLIError(f"{what} has no test split; choose --split validation, train or all")
    fraction = data.get("validation_split") or 0
    if not fraction:
        raise CLIError(f"the model was trained on every row of {what} (no validation split); "
                       "choose --split train or all")
    if n != data.get("rows"):
        raise CLIError(f"{what} has {n} rows but the model was trained on {data.get('rows')}")
    train, validation = _validation_indices(n, fraction, data.get("seed", 0))
    return validation if split == "validation" else np.sort(train)


def _same_file(path, data: dict | None) -> bool:
    from .train_data import file_sha256

    return bool(data) and str(path) != "-" and data.get("sha256") == file_sha256(path)


def _table_data(args, model, path, data: dict | None, split) -> Dataset:
    """Rows of a table, encoded as the model was trained; ``split`` rows only for the training file."""
    record = model.metadata.get("columns") or {}
    given = args.target if args.target is not None else record.get("target")
    if given is None:
        raise CLIError("--csv needs --target COLUMN, the column with the true labels or values")
    if data and _same_file(path, data) and not (args.delimiter or args.no_header or args.skip_rows):
        read = data.get("read") or {}
    else:
        read = table_read_options(args)
    table = read_table(path, **read)
    target = resolve_column(table.columns, given, table.source)
    rows = np.arange(len(table.frame))
    if split not in (None, "all"):
        if not _same_file(path, data):
            raise CLIError(f"--split {split} means rows of the file the model was trained on, and {path} is "
                           "not that file (or it has changed since); drop --split to score every row of it")
        rows = _rows_of_split(len(table.frame), split, data, str(path))
    frame = table.frame.iloc[rows]
    sub = table.rows(rows, drop=[target])
    X = model_inputs(model, sub, "evaluate")
    from ..data.columns import numbers_of

    if frame[target].isna().any():
        row = int(np.argmax(frame[target].isna().to_numpy()))
        raise CLIError(f"{table.source}, line {sub.line(row)}, column {target!r}: the target is missing")
    if model.task == "regression":
        y = numbers_of(frame[target], target, table.source, sub.lines, strict=True)
    else:
        values = frame[target].to_numpy(dtype=object)
        y = np.array([_label(v, model.classes) for v in values], dtype=object)
    return Dataset(X=X, y=y if model.task == "regression" else y.astype(object), task=model.task,
                   name=table.source, classes=None if model.task == "regression" else np.asarray(model.classes,
                                                                                                  dtype=object))


def _label(value, classes):
    """A table cell as the model's class label: numbers read as text match whole-number labels."""
    text = str(value).strip()
    for c in classes:
        if str(c) == text:
            return c
    try:
        number = float(text)
    except ValueError:
        return text
    return int(number) if number.is_integer() and int(number) in classes else text


def load_evaluation_data(args, model):
    """The data named on the command line, or the recorded split of the data the model was trained on."""
    training = model.metadata.get("training", {})
    data = model.metadata.get("data")
    if training.get("refit_all") and (args.split or "validation") == "validation" \
            and args.csv is None and args.npz is None:
        from .train_refit import REFUSE_VALIDATION

        raise CLIError(f"{args.model} {REFUSE_VALIDATION}; score it on other data (MNIST: --split test)")
    if args.csv is not None:
        return _table_data(args, model, args.csv, data, args.split), args.csv
    if args.npz is not None:
        whole = load_npz(args.npz, task=model.task)
        if args.split in (None, "all"):
            return whole, str(args.npz)
        if not _same_file(args.npz, data):
            raise CLIError(f"--split {args.split} means rows of the file the model was trained on, and {args.npz} "
                           "is not that file (or it has changed since); drop --split to score every row of it")
        return whole.subset(_rows_of_split(whole.n_samples, args.split, data, str(args.npz))), str(args.npz)
    if args.dataset is None and data is not None:
        split = args.split or "validation"
        path = data["file"]
        if path == "-":
            raise CLIError("the model was trained on standard input, which cannot be read again; "
                           "give the data with --csv FILE --target COLUMN")
        from pathlib import Path as _Path

        if not _Path(path).is_file():
            raise CLIError(f"the model was trained on {path}, which is no longer there; give the data with "
                           "--csv FILE --target COLUMN")
        if not _same_file(path, data):
            raise CLIError(f"{path} has changed since the model was trained (its SHA-256 differs), so its "
                           f"{split} rows cannot be found again; score it as a whole with --csv {path}")
        if data.get("kind") == "npz":
            whole = load_npz(path, task=model.task)
            return whole.subset(_rows_of_split(whole.n_samples, split, data, path)), f"{path} ({split})"
        args.target = None
        return _table_data(args, model, path, data, split), f"{path} ({split})"
    name = args.dataset or training.get("dataset")
    if name not in DATASETS:
        raise CLIError("say which data to score: --dataset NAME, --csv FILE --target COLUMN or --npz FILE "
                       "(this model does not record the data it was trained on)")
    split = args.split or "validation"
    fraction = training.get("validation_split", 0.2) if name == training.get("dataset") else 0.2
    if split == "validation" and name != "mnist" and not fraction:
        raise CLIError(f"the model was trained on all of {name!r} (no validation split); "
                       "choose --split train or all")
    return load_dataset(name, split=split, validation_fraction=fraction or 0.2,
                        seed=training.get("seed", 0), data_dir=args.data_dir), f"{name} ({split})"


def run(args) -> int:
    model = load_model(args.model)
    data, source = load_evaluation_data(args, model)
    n_in = model.network.sizes[0]
    if data.n_features != n_in:
        raise CLIError(f"{source} has {data.n_features} feature columns but the model takes {n_in}")
    if model.task == "classification":
        known = set(model.classes)
        unknown = sorted({str(v) for v in data.y.tolist() if v not in known})
        if unknown:
            raise CLIError(f"{source}: label(s) {', '.join(unknown[:5])}{' ...' if len(unknown) > 5 else ''} "
                           f"are not among the model's classes ({', '.join(map(str, model.classes))})")
    scores = model.evaluate(data.X, data.y)
    scores["data"] = str(source)
    if args.json:
        print_json(scores)
        return 0
    head = Table(title=f"{args.model} on {scores['data']}", show_header=False, title_justify="left")
    head.add_column(style="bold")
    head.add_column()
    for key in ("n_samples", "loss", "accuracy", "r2", "mae"):
        if key in scores:
            head.add_row(key, str(scores[key]) if key == "n_samples" else f"{scores[key]:.4f}")
    stdout.print(head)
    if model.task == "classification":
        labels = [shown(c, 40) for c in scores["classes"]]
        per_class = Table(title="per class", title_justify="left")
        for column in ("class", "precision", "recall", "support"):
            per_class.add_column(column, justify="right")
        for i, label in enumerate(labels):
            per_class.add_row(label, f"{scores['precision'][i]:.3f}", f"{scores['recall'][i]:.3f}",
                              str(sum(scores["confusion_matrix"][i])))
        stdout.print(per_class)
        matrix = Table(title="confusion matrix (rows: true, columns: predicted)", title_justify="left")
        matrix.add_column("", style="bold", justify="right")
        for label in labels:
            matrix.add_column(label, justify="right")
        for i, (label, row) in enumerate(zip(labels, scores["confusion_matrix"])):
            matrix.add_row(label, *[Text(str(v), style="bold") if j == i else (str(v) if v else Text("0", style="dim"))
                                    for j, v in enumerate(row)])
        stdout.print(matrix)
    return 0
