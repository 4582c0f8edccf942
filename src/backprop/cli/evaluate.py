"""``backprop evaluate``: loss, accuracy, per-class precision and recall, confusion matrix."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table
from rich.text import Text

from ..data import DATASETS, SPLITS, load_csv, load_dataset, load_npz
from ..modelfile import load
from . import CLIError
from .common import print_json, shown, stdout


def add_parser(sub) -> None:
    p = sub.add_parser(
        "evaluate", help="score a saved model on labelled data",
        description="Score a saved model: loss and accuracy (classifiers) or R^2 and MAE (regressors), "
                    "per-class precision and recall, and the confusion matrix. With no data option, the "
                    "model is scored on the validation split of the data it was trained on.",
    )
    p.add_argument("model", type=Path, metavar="MODEL", help="a model file from backprop train")
    p.add_argument("--dataset", choices=sorted(DATASETS), help="a built-in data set")
    p.add_argument("--split", choices=[s for s in SPLITS], default="validation",
                   help="which part of the data set (default validation; test exists for MNIST only)")
    p.add_argument("--data-dir", type=Path, metavar="DIR", help="where MNIST files are")
    p.add_argument("--csv", type=Path, metavar="FILE", help="a CSV file with a header row")
    p.add_argument("--npz", type=Path, metavar="FILE", help="an NPZ file with arrays X and y")
    p.add_argument("--target", metavar="COLUMN", help="the CSV column with the true labels or values")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(run=run)


def load_evaluation_data(args, model):
    """The data named on the command line, or the split of the data the model was trained on."""
    training = model.metadata.get("training", {})
    if args.csv is not None:
        if args.target is None:
            raise CLIError("--csv needs --target COLUMN, the column with the true labels or values")
        target = int(args.target) if args.target.isdigit() else args.target
        return load_csv(args.csv, target, task=model.task)
    if args.npz is not None:
        return load_npz(args.npz, task=model.task)
    name = args.dataset or training.get("dataset")
    if name not in DATASETS:
        raise CLIError("say which data to score: --dataset NAME, --csv FILE --target COLUMN or --npz FILE")
    fraction = training.get("validation_split", 0.2) if name == training.get("dataset") else 0.2
    if args.split == "validation" and name != "mnist" and not fraction:
        raise CLIError(f"the model was trained on all of {name!r} (no validation split); "
                       "choose --split train or all")
    return load_dataset(name, split=args.split, validation_fraction=fraction or 0.2,
                        seed=training.get("seed", 0), data_dir=args.data_dir)


def run(args) -> int:
    model = load(args.model)
    data = load_evaluation_data(args, model)
    source = args.csv or args.npz or data.name
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
    scores["data"] = data.name + ("" if args.csv or args.npz else f" ({args.split})")
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
