"""``backprop info``: what a model file holds."""

from __future__ import annotations

import json
from pathlib import Path

from rich.table import Table

from .common import load_model, print_json, shown, stdout

MAX_LABELS_SHOWN = 50
MAX_METADATA_SHOWN = 20_000  # characters of metadata JSON drawn in the terminal; --json gives it all


def add_parser(sub) -> None:
    p = sub.add_parser("info", help="show a model's layers, shapes, parameter count and metadata",
                       description="Show the layers, shapes, parameter count and metadata of a model file.")
    p.add_argument("model", type=Path, metavar="MODEL")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(run=run)


def _inputs(model) -> list[dict]:
    """What the model does to each input column: a table-trained model's record, else the scaler only."""
    from ..data.columns import ColumnPreprocessing

    record = model.metadata.get("columns")
    scaler = "none" if model.preprocessor is None else model.preprocessor.kind
    if record is not None:
        rows = ColumnPreprocessing.from_dict(record).describe()
        for row in rows:
            if row["kind"] != "ignored":
                row["treatment"] += f"; then scaled ({scaler})" if scaler != "none" else ""
        return rows
    names = model.metadata.get("feature_names") or []
    return [{"column": n, "kind": "number", "treatment": f"number, scaled ({scaler})", "missing_in_training": None}
            for n in names]


def run(args) -> int:
    model = load_model(args.model)
    net = model.network
    layers = [{"layer": i + 1, "W": list(layer.W.shape), "b": None if layer.b is None else list(layer.b.shape),
               "activation": layer.activation.name, "dropout_before": rate,
               "parameters": layer.W.size + (0 if layer.b is None else layer.b.size)}
              for i, (layer, rate) in enumerate(zip(net.layers, net.dropout))]
    info = {"file": str(args.model), "task": model.task, "sizes": net.sizes, "dtype": net.dtype.name,
            "loss": net.loss_fn.name, "n_parameters": net.n_parameters, "layers": layers,
            "classes": model.classes,
            "preprocessing": None if model.preprocessor is None else model.preprocessor.kind,
            "inputs": _inputs(model), "metadata": model.metadata}
    if args.json:
        print_json(info)
        return 0
    table = Table(title=f"{args.model}: {model.task}, {net.n_parameters:,} parameters, {net.dtype.name}, "
                        f"loss {net.loss_fn.name}", title_justify="left")
    for column in ("layer", "W", "b", "activation", "dropout in", "parameters"):
        table.add_column(column, justify="right" if column != "activation" else "left")
    for row in layers:
        table.add_row(str(row["layer"]), " x ".join(map(str, row["W"])),
                      "-" if row["b"] is None else str(row["b"][0]), row["activation"],
                      f"{row['dropout_before']:g}" if row["dropout_before"] else "-", f"{row['parameters']:,}")
    stdout.print(table)
    if model.classes is not None:
        labels = [shown(c, 40) for c in model.classes[:MAX_LABELS_SHOWN]]
        more = len(model.classes) - len(labels)
        stdout.print(f"classes: {', '.join(labels)}" + (f" ... ({more} more)" if more > 0 else ""))
    stdout.print(f"preprocessing: {info['preprocessing']}")
    if info["inputs"]:
        columns = Table(title="input columns", title_justify="left")
        columns.add_column("column", overflow="fold")
        columns.add_column("what was done to it", ratio=1)
        for row in info["inputs"]:
            columns.add_row(shown(row["column"]), shown(row["treatment"]), end_section=False)
        stdout.print(columns)
    rest = {k: v for k, v in model.metadata.items() if k not in ("columns", "feature_names")}
    if rest:
        stdout.print("metadata:")
        text = json.dumps(rest, default=str, indent=2)
        if len(text) <= MAX_METADATA_SHOWN:
            stdout.print_json(text)
        else:
            stdout.print(text[:MAX_METADATA_SHOWN] + f"\n... ({len(text)} characters in all; info --json prints them)")
    return 0
