"""The ``backprop`` command line: one module per command, each with ``add_parser`` and ``run``.

Exit codes: 0 success; 2 bad usage or bad input (one line on stderr, no
traceback), including sizes too large for the memory; 1 an unexpected failure
(a traceback only with ``--debug``).
"""

from __future__ import annotations

import argparse
import importlib
import sys

from .._version import __version__

# Each name is a module of this package that defines add_parser(subparsers) and run(args) -> int.
COMMANDS = ("train", "evaluate", "predict", "info", "datasets", "plot", "explain", "gradcheck", "export", "studio")


class CLIError(Exception):
    """Bad usage or bad input found by a command: printed as one line, exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="backprop",
        description="Train, inspect and explain feed-forward networks trained by backpropagation.",
    )
    parser.add_argument("-V", "--version", action="version", version=f"backprop {__version__}")
    parser.add_argument("--debug", action="store_true", help="show a full traceback on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"{__name__}.{name}":
                continue  # a command not built yet
            raise
        module.add_parser(sub)
    # Global flags work after the command too: each subcommand takes them, and leaves the value
    # given before the command in place when they are not repeated (SUPPRESS sets nothing).
    for command in sub.choices.values():
        command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                             help="show a full traceback on errors")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)  # exits with code 2 on bad usage
    try:
        return int(args.run(args) or 0)
    except BrokenPipeError:
        # The reader went away (`backprop predict ... | head`): not an error of ours, and nothing to say.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except (CLIError, ValueError, TypeError, OSError) as exc:
        if args.debug:
            raise
        message = str(exc) or type(exc).__name__
        if isinstance(exc, OSError) and exc.filename and str(exc.filename) not in message:
            message = f"{message}: {exc.filename}"
        print(f"backprop {args.command}: error: {one_line(message)}", file=sys.stderr)
        return 2
    except MemoryError as exc:
        if args.debug:
            raise
        # Sizes asked for on the command line (layers, samples, batches) that cannot fit.
        print(f"backprop {args.command}: error: not enough memory ({exc or 'MemoryError'}); "
              "ask for smaller layers, fewer samples or a smaller batch", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"backprop {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the last line of defence
        if args.debug:
            raise
        print(f"backprop {args.command}: unexpected error ({type(exc).__name__}): {one_line(str(exc))}. "
              "Run again with --debug for a traceback.", file=sys.stderr)
        return 1


def one_line(text: str) -> str:
    """``text`` with line breaks and other unprintable characters escaped, so an error stays one line
    even when it quotes a file name or a value that holds them."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)
