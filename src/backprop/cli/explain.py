"""``backprop explain``: the article's chain rule for one weight, with every number.

Usage::

    backprop explain --sizes 3,3,2 --activation sigmoid --loss sse --no-bias --seed 0 \\
        --input 0.5,-1.0,2.0 --target 1,0 --weight L,1,2 [--format terminal|markdown|latex|json]
    backprop explain --model model.safetensors --dataset iris --index 0 --weight L-1,2,2

The network is built exactly as ``Network.from_sizes(sizes, activation=...,
output_activation=..., loss=..., bias=..., seed=..., dtype=...)`` builds it, or
read from a model file. The samples are ``--input``/``--target`` pairs (in
order), rows of a data set (``--dataset NAME --index I``, repeatable), or
random ones (``--samples N``, drawn from a generator seeded with
``(seed, 1)``, independent of the weights).

This module also holds the network and sample options that ``backprop
gradcheck`` shares.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np

from ..core import ACTIVATIONS, LOSSES, Network
from . import CLIError
from .common import float_list, int_list, stdout

DEFAULTS = {"activation": "sigmoid", "loss": "sse", "bias": True, "seed": 0, "dtype": "float64"}
_NETWORK_OPTIONS = ("sizes", "activation", "output_activation", "loss", "bias", "dtype")


# -- shared with gradcheck ---------------------------------------------------------

def add_network_arguments(p) -> None:
    """The options that say which network: ``--sizes ...`` or ``--model FILE``."""
    g = p.add_argument_group("network (--sizes and friends, or --model)")
    g.add_argument("--sizes", type=int_list, metavar="SIZES",
                   help="layer sizes, input first, e.g. 3,3,2 (the article's layers L-2, L-1, L)")
    g.add_argument("--activation", choices=sorted(ACTIVATIONS),
                   help="every layer's activation g, unless --output-activation is given (default sigmoid)")
    g.add_argument("--output-activation", choices=sorted(ACTIVATIONS), help="the output layer's activation")
    g.add_argument("--loss", choices=sorted(LOSSES), help="default sse, the article's sum of squared errors")
    g.add_argument("--no-bias", dest="bias", action="store_false", default=None,
                   help="no biases: the article's model")
    g.add_argument("--seed", type=int, default=None,
                   help="seeds the weights exactly as Network.from_sizes(seed=S), and the random samples "
                        "(default 0)")
    g.add_argument("--dtype", choices=["float64", "float32"], help="default float64")
    g.add_argument("--model", type=Path, metavar="FILE", help="a trained model file (from backprop train) "
                   "instead of --sizes; its preprocessing is applied to --input and --dataset samples")


def add_sample_arguments(p, *, random_option: str) -> None:
    """The options that say which samples: pairs, data-set rows, or random."""
    # Let "--input -1,2,3" read "-1,2,3" as a value, not an option (Python 3.13's argparse does
    # this by itself; before it, only plain negative numbers passed). "--input=-1,2,3" always works.
    if hasattr(p, "_negative_number_matcher"):
        p._negative_number_matcher = re.compile(r"^-\.?\d")
    g = p.add_argument_group("samples (pairs, data-set rows, or random from the seed)")
    g.add_argument("--input", action="append", type=float_list, metavar="X",
                   help="one sample's inputs, e.g. 0.5,-1.0,2.0; repeat for several samples")
    g.add_argument("--target", action="append", metavar="Y",
                   help="its targets, e.g. 1,0, paired with the --input in the same position; with a "
                        "classifier --model also a class label")
    g.add_argument("--dataset", metavar="NAME", help="take samples from a built-in data set (see backprop datasets)")
    g.add_argument("--csv", metavar="FILE", help="take samples from a table, encoded by the --model's column "
                                                 "preprocessing (its target column gives the targets)")
    g.add_argument("--index", action="append", type=int, metavar="I",
                   help="the row of --dataset or --csv to use, from 0; repeat for several samples")
    if random_option == "samples":
        g.add_argument("--samples", type=int, metavar="N", help="N random samples (default 1)")
    else:
        g.add_argument("--batch", type=int, metavar="N",
                       help="a batch of N random samples, or N random rows of --dataset (default 8)")


def build_network(args):
    """Return ``(network, model or None)`` from the parsed options."""
    if args.model is not None:
        given = [f"--{name.replace('_', '-')}" if name != "bias" else "--no-bias"
                 for name in _NETWORK_OPTIONS if getattr(args, name) is not None]
        if given:
            raise CLIError(f"--model takes the network from the file; drop {', '.join(given)}")
        from .common import load_model

        model = load_model(args.model)
        return model.network, model
    if args.sizes is None:
        raise CLIError("say which network: --sizes 3,3,2 [--activation ...] or --model FILE")
    if len(args.sizes) < 2:
        raise CLIError(f"--sizes needs an input and an output size at least; got {','.join(map(str, args.sizes))}")
    opts = {k: (getattr(args, k) if getattr(args, k) is not None else v) for k, v in DEFAULTS.items()}
    try:
        net = Network.from_sizes(args.sizes, activation=opts["activation"], output_activation=args.output_activation,
                                 loss=opts["loss"], bias=opts["bias"], seed=opts["seed"], dtype=opts["dtype"])
    except (ValueError, MemoryError) as exc:
        # NumPy's own words for an impossible size ("Maximum allowed dimension exceeded") do not say which.
        raise CLIError(f"cannot build a network with --sizes {','.join(map(str, args.sizes))}: {exc}") from None
    return net, None


def _seed(args) -> int:
    return args.seed if args.seed is not None else DEFAULTS["seed"]


def _sample_rng(args) -> np.random.Generator:
    seed = _seed(args)
    if seed < 0:
        raise CLIError(f"--seed must be a non-negative integer; got {seed}")
    return np.random.default_rng([seed, 1])


def _parse_target(text: str, net: Network, model) -> np.ndarray:
    n_out = net.sizes[-1]
    try:
        values = [float(part) for part in text.split(",")]
    except ValueError:
        values = None
    if model is not None and model.task == "classification" and (values is None or len(values) != n_out):
        label = text.strip()
        for c in model.classes:
            if str(c) == label:
                return model.encode(np.array([c], dtype=object))[0]
        if values is None:
            raise CLIError(f"--target {text!r} is neither {n_out} numbers nor one of the model's classes "
                           f"{model.classes}")
    if values is None:
        raise CLIError(f"--target {text!r}: expected {n_out} comma-separated numbers")
    if len(values) != n_out:
        raise CLIError(f"--target {text!r} has {len(values)} values but the network has {n_out} output nodes")
    return np.array(values)


def _dataset_targets(data, y, net: Network) -> np.ndarray:
    n_out = net.sizes[-1]
    if data.task == "regression":
        if n_out != 1:
            raise CLIError(f"data set {data.name!r} has one regression target but the network has {n_out} outputs")
        return np.asarray(y, dtype=np.float64).reshape(-1, 1)
    classes = list(data.classes)
    idx = np.array([classes.index(v) for v in y])
    if n_out == len(classes):
        return np.eye(n_out)[idx]
    if n_out == 1 and len(classes) == 2:
        return idx.reshape(-1, 1).astype(np.float64)
    raise CLIError(f"data set {data.name!r} has {len(classes)} classes but the network has {n_out} output nodes; "
                   f"use {len(classes)} outputs")


def samples_from_args(args, net: Network, model, n_random: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Return ``(X, Y, notes)``: the samples the options name, as the network sees them."""
    notes = []
    inputs, targets = args.input or [], args.target or []
    n_random_given = getattr(args, "samples", None) if hasattr(args, "samples") else getattr(args, "batch", None)
    random_flag = "--samples" if hasattr(args, "samples") else "--batch"
    if inputs or targets:
        if args.dataset is not None or args.index:
            raise CLIError("give samples as --input/--target pairs or as --dataset/--index, not both")
        if hasattr(args, "samples") and args.samples is not None:
            raise CLIError("--samples draws random samples; drop it when giving --input/--target")
        if len(inputs) != len(targets):
            raise CLIError(f"got {len(inputs)} --input and {len(targets)} --target; give one --target per --input")
        n_in = net.sizes[0]
        for x in inputs:
            if len(x) != n_in:
                raise CLIError(f"--input {','.join(f'{v:g}' for v in x)} has {len(x)} values but the network has "
                               f"{n_in} input nodes")
        X = np.array(inputs, dtype=np.float64)
        Y = np.array([_parse_target(t, net, model) for t in targets])
        if model is not None and model.preprocessor is not None:
            X = model.transform(X)
            notes.append("The --input values were preprocessed by the model's scaler before the network.")
        return X, Y, notes
    if getattr(args, "csv", None) is not None:
        return _table_samples(args, model, notes)
    if args.index and args.dataset is None:
        raise CLIError("--index picks rows of a data set; give --dataset NAME too")
    if args.dataset is not None:
        try:
            from ..data import load_dataset
        except ImportError:
            raise CLIError("--dataset is not available yet in this version (backprop.data is missing)") from None
        data = load_dataset(args.dataset)
        if args.index:
            rows = list(args.index)
            for i in rows:
                if not 0 <= i < data.n_samples:
                    raise CLIError(f"--index {i}: data set {args.dataset!r} has rows 0 to {data.n_samples - 1}")
        elif hasattr(args, "samples"):
            raise CLIError("say which rows of the data set: --index I (repeatable)")
        else:
            n = min(n_random_given or n_random, data.n_samples)
            rows = sorted(_sample_rng(args).choice(data.n_samples, size=n, replace=False).tolist())
        if data.n_features != net.sizes[0]:
            raise CLIError(f"data set {args.dataset!r} has {data.n_features} features but the network has "
                           f"{net.sizes[0]} input nodes")
        X, y = data.X[rows], data.y[rows]
        if model is not None:
            X, Y = model.transform(X), model.encode(y)
            if model.preprocessor is not None:
                notes.append(f"Rows {rows} of data set {args.dataset!r}, preprocessed by the model's scaler.")
        else:
            Y = _dataset_targets(data, y, net)
            notes.append(f"Rows {rows} of data set {args.dataset!r} (features as stored, not rescaled).")
        return X, Y, notes
    n = n_random_given if n_random_given is not None else n_random
    if n < 1:
        raise CLIError(f"{random_flag} must be a positive integer; got {n}")
    from ..explain import random_samples

    try:
        X, Y = random_samples(net, n, _sample_rng(args))
    except (ValueError, MemoryError) as exc:
        raise CLIError(f"cannot draw {random_flag} {n} random samples: {exc}") from None
    return X, Y, notes


def _table_samples(args, model, notes: list) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Rows of a table, through the model's column preprocessing and scaler, with their targets."""
    from ..data.table import read_table
    from .tables import model_inputs

    if model is None or "columns" not in model.metadata:
        raise CLIError("--csv takes rows of a table through a model's column preprocessing; give --model FILE "
                       "of a model trained with backprop train --csv")
    if args.dataset is not None:
        raise CLIError("give samples from --dataset or from --csv, not both")
    table = read_table(args.csv)
    rows = list(args.index or [0])
    for i in rows:
        if not 0 <= i < len(table.frame):
            raise CLIError(f"--index {i}: {args.csv} has rows 0 to {len(table.frame) - 1}")
    target = model.metadata["columns"].get("target")
    if target not in table.columns:
        raise CLIError(f"{args.csv} has no target column {target!r}; explain needs the true values")
    sub = table.rows(rows)
    X = model_inputs(model, sub, "explain")
    y = sub.frame[target].to_numpy()
    if model.task == "classification":
        y = np.array([next((c for c in model.classes if str(c) == str(v).strip()), str(v).strip()) for v in y],
                     dtype=object)
    notes.append(f"Rows {rows} of {args.csv}, encoded by the model's column preprocessing and scaler.")
    return model.transform(X), model.encode(y), notes


# -- the command ----------------------------------------------------------------------

def add_parser(sub) -> None:
    p = sub.add_parser(
        "explain", help="the chain rule for one weight, with every number",
        description="Derive dC/dw for one weight as the article does: the forward pass, the loss, the chain "
                    "rule dC0/dw_jk^l = dC0/da_j^l * da_j^l/dz_j^l * dz_j^l/dw_jk^l factor by factor (a sum over "
                    "the next layer's nodes for a hidden layer), the average over the samples, the "
                    "gradient-descent update, and a check against the backward pass and finite differences.",
        epilog="Layers are named from the output: L, L-1, ... (the input is L-n for n weight layers), or by "
               "number from 1 (layer l is net.layers[l-1]). Nodes are numbered from 0. Example: "
               "backprop explain --sizes 3,3,2 --no-bias --seed 0 --input 0.5,-1,2 --target 1,0 --weight L-1,2,2",
    )
    add_network_arguments(p)
    add_sample_arguments(p, random_option="samples")
    g = p.add_argument_group("what to explain")
    g.add_argument("--weight", required=True, metavar="LAYER,j,k",
                   help="the weight w_jk^l: L,1,2 (output layer, node 1, node 2 of the layer before), L-1,2,2, "
                        "or 2,1,0 (layer number from 1); k = b for the bias, e.g. L,1,b")
    g.add_argument("--lr", type=float, default=0.1, help="learning rate of the update shown (default 0.1)")
    g.add_argument("--eps", type=float, help="finite-difference step (default 1e-6)")
    g.add_argument("--format", choices=["terminal", "markdown", "latex", "json"], default="terminal")
    g.add_argument("--json", dest="format", action="store_const", const="json", help="the same as --format json")
    g.add_argument("--digits", type=int, default=6, help="significant digits shown (default 6; JSON has all)")
    p.set_defaults(run=run)


def run(args) -> int:
    from ..explain import explain
    from ..explain.render import render_json, render_latex, render_markdown, render_terminal

    if not 1 <= args.digits <= 17:
        raise CLIError(f"--digits must be from 1 to 17; got {args.digits}")
    net, model = build_network(args)
    X, Y, notes = samples_from_args(args, net, model, n_random=1)
    e = explain(net, X, Y, args.weight, lr=args.lr, eps=args.eps)
    e.notes.extend(notes)
    if args.format == "terminal":
        stdout.print(render_terminal(e, args.digits))
    elif args.format == "markdown":
        sys.stdout.write(render_markdown(e, args.digits) + "\n")
    elif args.format == "latex":
        sys.stdout.write(render_latex(e, args.digits) + "\n")
    else:
        sys.stdout.write(render_json(e) + "\n")
    return 0
