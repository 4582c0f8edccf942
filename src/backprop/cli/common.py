"""Small helpers shared by the commands."""

from __future__ import annotations

import json
import sys

from rich.console import Console

# Tables and progress go to stdout/stderr through rich; --json output goes to stdout alone.
stdout = Console(highlight=False)
stderr = Console(stderr=True, highlight=False)


def int_list(text: str) -> list[int]:
    """Parse ``"300,100"`` into ``[300, 100]`` (argparse ``type=``)."""
    import argparse

    if not text.strip():
        return []  # no hidden layer
    try:
        values = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None
    if any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"sizes must be positive integers, got {text!r}")
    return values


def float_list(text: str) -> list[float]:
    """Parse ``"0.5,-1,2"`` into floats (argparse ``type=``)."""
    import argparse

    try:
        return [float(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None


def print_json(obj) -> None:
    """Write one JSON object to stdout."""
    from ..modelfile import to_plain

    json.dump(obj, sys.stdout, indent=2, default=to_plain)
    sys.stdout.write("\n")


def add_table_options(parser) -> None:
    """The options that say how to read a table file (``--csv`` or an input file)."""
    g = parser.add_argument_group("reading a table")
    g.add_argument("--delimiter", choices=[",", ";", "tab", "|", "whitespace"], metavar="SEP",
                   help="the field separator: , ; tab | or whitespace (default: detected from the first lines)")
    g.add_argument("--no-header", dest="no_header", action="store_true",
                   help="the file has no header row: columns are named 0, 1, ... by position")
    g.add_argument("--skip-rows", type=int, metavar="N", default=0, help="skip N lines at the start")


def table_read_options(args) -> dict:
    """The reading options given on the command line, as plain data (what a model file remembers)."""
    skip = getattr(args, "skip_rows", 0) or 0
    if skip < 0:
        from . import CLIError

        raise CLIError(f"--skip-rows must be 0 or more; got {skip}")
    return {"delimiter": getattr(args, "delimiter", None), "header": not getattr(args, "no_header", False),
            "skip_rows": skip}


def load_model(path):
    """:func:`backprop.modelfile.load`, after a look at the first bytes: a table or a text file given
    where a model file belongs is named as such, rather than as a damaged safetensors header."""
    from pathlib import Path

    from ..modelfile import load

    path = Path(path)
    if path.is_file():
        with path.open("rb") as fh:
            head = fh.read(9)
        if len(head) == 9 and head[8:9] != b"{":
            shown = head[:8].decode("utf-8", "replace")
            raise ValueError(f"{path} is not a model file (it starts with {shown!r}); a model file is what "
                             "backprop train --out writes")
    return load(path)
