"""``backprop datasets``: what is built in, and where MNIST is looked for."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table
from rich.text import Text

from ..data import DATASETS, find_mnist_files, mnist_search_paths
from .common import print_json, stdout


def add_parser(sub) -> None:
    p = sub.add_parser("datasets", help="list the built-in data sets and where MNIST is looked for",
                       description="List the built-in data sets and the folders searched for the MNIST files.")
    p.add_argument("--data-dir", type=Path, metavar="DIR", help="a folder to search for MNIST first")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(run=run)


def run(args) -> int:
    sets = [{"name": i.name, "task": i.task, "source": i.source, "samples": i.n_samples,
             "features": i.n_features, "classes": i.n_classes, "description": i.description}
            for i in DATASETS.values()]
    paths = [str(p) for p in mnist_search_paths(args.data_dir)]
    found = find_mnist_files(args.data_dir)
    if args.json:
        print_json({"datasets": sets, "mnist_search_paths": paths,
                    "mnist_files": {k: (None if v is None else str(v)) for k, v in found.items()}})
        return 0
    # Short columns never wrap; only the description does, at word boundaries, so nothing breaks
    # mid-word at 80 columns. The source column shows when there is room for it.
    wide = stdout.width >= 120
    table = Table(title="built-in data sets", title_justify="left")
    for column in ("name", "task", "size", "classes") + (("source",) if wide else ()):
        table.add_column(column, no_wrap=True, justify="right" if column == "size" else "left")
    table.add_column("description", ratio=1, min_width=16)
    for s in sets:
        table.add_row(s["name"], s["task"], f"{s['samples']:,} x {s['features']}",
                      "-" if s["classes"] is None else str(s["classes"]), *((s["source"],) if wide else ()),
                      s["description"])
    stdout.print(table)
    stdout.print("MNIST is looked for in (first match wins): " + ", ".join(paths), markup=False)
    for name, path in found.items():
        stdout.print(f"  {name}: ", path if path else Text("not found", style="yellow"), sep="")
    return 0
