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

    try:
        values = [int(part) for part in text.split(",") if part.strip()]
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
