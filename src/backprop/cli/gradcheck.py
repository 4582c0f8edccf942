"""``backprop gradcheck``: every parameter's backpropagated gradient against finite differences.

Usage::

    backprop gradcheck --sizes 4,5,3 --activation tanh --output-activation softmax \\
        --loss cross_entropy --seed 0 [--batch 8] [--eps 1e-6] [--tol 1e-6] [--format terminal|json]
    backprop gradcheck --model model.safetensors --dataset iris --batch 16

Prints one row per layer and parameter array (the largest absolute and
relative error, and pass or fail against the tolerance; see
:mod:`backprop.gradcheck`).

Exit codes: 0 every entry within tolerance; 1 the gradient check failed;
2 bad usage or bad input.
"""

from __future__ import annotations

from rich import box
from rich.text import Text
from rich.table import Table

from . import CLIError
from .common import print_json, stdout
from .explain import add_network_arguments, add_sample_arguments, build_network, samples_from_args

EXIT_FAILED = 1
MIN_SETTING = 1e-15  # the smallest --eps or --tol that float64 arithmetic can honour
MAX_ENTRIES = 1000   # per array, by default: two forward passes each, so a large network still answers


def _max_entries(text: str) -> int | None:
    """``--max-entries``: a positive integer, or None for 'all'."""
    if text == "all":
        return None
    value = int(text) if text.isascii() and text.isdigit() else 0
    if value < 1:
        raise CLIError(f"--max-entries must be a positive integer or 'all'; got {text!r}")
    return value


def add_parser(sub) -> None:
    p = sub.add_parser(
        "gradcheck", help="compare backpropagation with finite differences",
        description="Compare every weight's and bias's gradient from the backward pass with a central finite "
                    "difference of the batch loss (taken in float64), and print the largest errors per layer. "
                    "Exit code 0 when every entry is within tolerance, 1 when the check fails, 2 for bad input.",
    )
    add_network_arguments(p)
    add_sample_arguments(p, random_option="batch")
    g = p.add_argument_group("the check")
    g.add_argument("--eps", type=float, help="finite-difference step (default 1e-6)")
    g.add_argument("--tol", type=float, help="relative tolerance (default 1e-6 for float64, 1e-3 for float32)")
    g.add_argument("--max-entries", default=str(MAX_ENTRIES), metavar="N|all",
                   help=f"check at most N entries of each weight or bias array, picked at random with --seed "
                        f"(default {MAX_ENTRIES}; 'all' checks every one, two forward passes each)")
    g.add_argument("--format", choices=["terminal", "json"], default="terminal")
    g.add_argument("--json", dest="format", action="store_const", const="json", help="the same as --format json")
    p.set_defaults(run=run)


def run(args) -> int:
    from ..gradcheck import gradcheck

    for name in ("eps", "tol"):
        value = getattr(args, name)
        if value is not None and not (value > 0 and value < float("inf")):
            raise CLIError(f"--{name} must be a positive number; got {value}")
        # Below about 1e-15 a step or a tolerance is lost in float64 rounding (and the rounding-noise
        # floor overflows, so every entry would pass); at 1 or more a relative check means nothing.
        if value is not None and not MIN_SETTING <= value < 1:
            raise CLIError(f"--{name} must be from {MIN_SETTING:g} to below 1; got {value:g}")
    max_entries = _max_entries(args.max_entries)
    net, model = build_network(args)
    X, Y, notes = samples_from_args(args, net, model, n_random=8)
    result = gradcheck(net, X, Y, eps=args.eps, rtol=args.tol, max_entries=max_entries,
                       seed=0 if args.seed is None else args.seed)
    if any(row.size < row.total for row in result.rows):
        notes = [*notes, f"at most {max_entries} entries of each array were checked, picked at random "
                         "(--max-entries all checks every one)"]
    if args.format == "json":
        print_json({**result.to_dict(), "n_samples": int(X.shape[0]), "notes": notes})
        return 0 if result.passed else EXIT_FAILED

    acts = ", ".join(layer.activation.name for layer in net.layers)
    title = (f"gradient check: sizes {'-'.join(map(str, net.sizes))}, activations [{acts}], "
                   f"loss {net.loss_fn.name}")
    table = Table(box=box.SIMPLE_HEAD, title=title, title_justify="left")
    for name, justify in (("layer", "left"), ("parameter", "left"), ("entries", "right"),
                          ("max abs error", "right"), ("max rel error", "right"), ("result", "left")):
        table.add_column(name, justify=justify)
    for row in result.rows:
        entries = str(row.size) if row.size == row.total else f"{row.size} of {row.total}"
        table.add_row(f"{row.name} ({row.layer})", row.parameter, entries, f"{row.max_abs_error:.2e}",
                      f"{row.max_rel_error:.2e}", "pass" if row.passed else Text("FAIL", style="bold red"))
    stdout.print(table)
    for note in notes:
        stdout.print(note, style="dim")
    stdout.print(f"{X.shape[0]} samples, {net.dtype.name}; central differences in float64 with eps = {result.eps:g}; "
                 f"tolerance: relative error <= {result.rtol:g} (errors below {result.floor:.2g} judged absolutely)")
    if result.passed:
        stdout.print(Text("passed", style="bold green"), ": every parameter's gradient agrees with finite differences",
                     sep="")
        return 0
    failed = ", ".join(f"{r.parameter} of layer {r.name} (worst entry {list(r.worst)})" for r in result.rows
                       if not r.passed)
    stdout.print(Text("FAILED", style="bold red"), f": {failed}", sep="")
    return EXIT_FAILED
