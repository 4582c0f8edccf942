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
