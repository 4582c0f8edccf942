"""Small helpers shared by the commands."""

from __future__ import annotations

import json
import sys

from rich.console import Console

# The most characters of one value (a class label, a path) shown in a table or message: rendering
# cost stays bounded whatever a file holds.
MAX_SHOWN = 200


def shown(value, limit: int = MAX_SHOWN) -> str:
    """``value`` as text that is safe to print: every control character (ESC, BEL, OSC and CSI
    sequences, bidirectional overrides, line breaks) written as a visible escape such as ``\\x1b``,
    and shortened to ``limit`` characters with a note of the length."""
    text = str(value)
    cut = text[:limit]
    safe = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in cut)
    return safe if len(text) <= limit else f"{safe}... ({len(text)} characters)"


class SafeConsole(Console):
    """A rich console that never reads text as markup or emoji codes, and escapes control characters.

    Labels, paths and metadata come from files the user may not have written:
    ``[/bold]`` in a class label must print as itself, not raise MarkupError,
    ``[link=...]`` must not become a link, and an escape sequence must not
    reach the terminal. Styling is done with :class:`rich.text.Text` objects,
    never with markup in strings. Line breaks between lines are kept.
    """

    def __init__(self, **kwargs):
        super().__init__(markup=False, emoji=False, highlight=False, **kwargs)

    def render_str(self, text: str, **kwargs):
        lines = text.split("\n")
        return super().render_str("\n".join(shown(line, limit=max(len(line), 1)) for line in lines), **kwargs)


class TerminalWriter:
    """A text file wrapper for output that may reach a terminal: control characters in each line are
    written as visible escapes (see :func:`shown`); line breaks are kept."""

    def __init__(self, file):
        self.file = file

    def write(self, text: str) -> int:
        return self.file.write("\n".join(shown(line, limit=max(len(line), 1)) for line in text.split("\n")))


def for_terminal(file):
    """``file`` itself, or a :class:`TerminalWriter` around it when it is a terminal."""
    isatty = getattr(file, "isatty", None)
    return TerminalWriter(file) if isatty is not None and isatty() else file


# Tables and progress go to stdout/stderr through rich; --json output goes to stdout alone.
stdout = SafeConsole()
stderr = SafeConsole(stderr=True)


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
    """:func:`backprop.load`, after a look at the first bytes: a table or a text file given
    where a model file belongs is named as such, rather than as a damaged safetensors header."""
    from pathlib import Path

    from ..model import load

    path = Path(path)
    if path.is_file():
        with path.open("rb") as fh:
            head = fh.read(9)
        if len(head) == 9 and head[8:9] != b"{":
            shown = head[:8].decode("utf-8", "replace")
            raise ValueError(f"{path} is not a model file (it starts with {shown!r}); a model file is what "
                             "backprop train --out writes")
    return load(path)
