"""``backprop plot HISTORY --out DIR``: redraw the plots of a training run from its history file.

The history is the ``history.json`` that ``backprop train --plots DIR`` saves
(its format is described in :mod:`backprop.plots`). This command draws the
loss and metric curves and, when the history holds one, the confusion matrix;
the decision boundary needs the model and the data, so only ``train`` draws it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from . import CLIError
from .common import print_json, stdout

MAX_HISTORY_DEPTH = 16  # a history nests 3 deep (the confusion matrix); deeper is not one
HISTORY_FILE = "history.json"  # the name backprop.plots.HISTORY_FILE gives it; matplotlib loads lazily


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "plot",
        help="redraw the plots of a training run from its history.json",
        description="Draw the loss and metric curves (and the confusion matrix, when recorded) "
                    "of a training run from the history file that 'backprop train --plots DIR' saves.",
    )
    parser.add_argument("history", metavar="HISTORY",
                        help=f"the history JSON file, a directory holding {HISTORY_FILE}, or the output of "
                             "'backprop train --json' ('-' reads it from standard input)")
    parser.add_argument("--out", metavar="DIR", default=None,
                        help="directory to write the PNG files to (created if needed; "
                             "default: the history file's directory)")
    parser.add_argument("--json", action="store_true",
                        help='print {"plots": [paths]} as JSON instead of a list')
    parser.set_defaults(run=run)
    return parser


def load_history(path) -> dict:
    """Read a history JSON file; raise :class:`CLIError` with one clear line if it cannot be."""
    from ..io.reading import describe_mode, open_regular

    if str(path) == "-":
        import sys

        return _unwrap(_parse(sys.stdin.read(), "<stdin>"))
    path = Path(path)
    if path.is_dir():
        path = path / HISTORY_FILE
    if not path.exists():
        raise CLIError(f"history file not found: {path}")
    if not path.is_file():
        raise CLIError(f"history path is not a file: {path} is {describe_mode(path.stat().st_mode)}")
    with open_regular(path, "history file") as fh:
        raw = fh.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise CLIError(f"{path} is not a UTF-8 text file; expected a history JSON file") from None
    return _unwrap(_parse(text, path))


def _parse(text: str, path):
    """JSON text of a history, nested no deeper than a history is."""
    from ..io.nesting import check_nesting

    check_nesting(text, str(path), limit=MAX_HISTORY_DEPTH)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CLIError(f"{path} is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None
    except RecursionError:
        raise CLIError(f"{path} nests too deeply to be a training history") from None


def _unwrap(raw):
    """``backprop train --json`` prints its history under ``"history"``: take it from there."""
    if isinstance(raw, dict) and "epochs" not in raw and isinstance(raw.get("history"), dict):
        return raw["history"]
    return raw


def run(args) -> int:
    from ..plots import check_history, write_plots  # matplotlib only when this command runs

    source = Path(args.history)
    raw = load_history(source)
    try:
        history = check_history(raw)
    except ValueError as exc:
        raise CLIError(f"{source} is not a training history: {exc}") from None
    if args.out is not None:
        out_dir = Path(args.out)
    elif str(source) == "-":
        out_dir = Path(".")
    else:
        out_dir = source if source.is_dir() else source.parent
    paths = write_plots(history, out_dir)
    if args.json:
        print_json({"plots": [str(p) for p in paths]})
    else:
        stdout.print(f"Wrote {len(paths)} plot{'s' * (len(paths) != 1)} to {out_dir}:",
                     markup=False, soft_wrap=True)
        for p in paths:
            stdout.print(f"  {p}", markup=False, soft_wrap=True)
    return 0
