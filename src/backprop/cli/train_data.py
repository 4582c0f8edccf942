"""``backprop train``: where the data comes from, as plain data, and loading it."""

from __future__ import annotations

from pathlib import Path


from ..data import load_dataset, load_npz, split_dataset
from ..data.tabular import load_table, split_table
from . import CLIError
from .common import table_read_options


def data_source(args, options: dict) -> dict:
    """Where the data comes from, as plain data (kept in checkpoints and model files)."""
    given = [name for name in ("dataset", "csv", "npz") if getattr(args, name) is not None]
    if len(given) > 1:
        raise CLIError("give one of --dataset, --csv and --npz")
    if args.csv is not None and args.target is None:
        raise CLIError("--csv needs --target COLUMN, the column to predict")
    ignore = [c for c in (args.ignore or "").split(",") if c.strip()]
    if ignore and args.csv is None:
        raise CLIError("--ignore drops columns of a table; it needs --csv")
    data_dir = args.data_dir
    if options["dataset"] == "mnist":
        from ..data.mnist import resolve_data_dir

        data_dir = resolve_data_dir(args.data_dir)  # so that --resume reads the same files, not a download
    # Paths as the user gave them (messages name them so); a checkpoint keeps them absolute.
    return {"dataset": options["dataset"], "csv": None if args.csv is None else str(args.csv),
            "npz": None if args.npz is None else str(args.npz), "target": args.target,
            "read": table_read_options(args), "ignore": ignore,
            "data_dir": None if data_dir is None else str(Path(data_dir).absolute())}


def load_training_data(source: dict, options: dict, data_dir):
    """The training and validation sets (validation may be None), and what the model must remember of them.

    The third value is ``{"columns": record or None, "data": where the rows came from}``.
    A ``--refit-all`` run that trains once (:func:`all_rows`) gets every row
    and no validation set: MNIST's 60,000 training images, all of a table.
    """
    fraction, seed = options["validation_split"], options["seed"]
    if not 0 <= fraction < 1:
        raise CLIError(f"--validation-split must be in [0, 1); got {fraction}")
    if all_rows(options):
        fraction = 0
    extra = {"columns": None, "data": None}
    if source["csv"] is not None:
        read = source.get("read") or {}
        table = load_table(source["csv"], source["target"], ignore=source.get("ignore") or (), **read)
        train, validation, columns = split_table(table, fraction, seed)
        extra["columns"] = columns.to_dict()
        extra["data"] = {"file": _absolute(source["csv"]), "sha256": table.table.sha256, "kind": "table",
                         "target": table.target, "rows": table.n_samples, "read": read,
                         "ignore": list(table.ignored), "validation_split": fraction, "seed": seed}
        return (*_subsample(train, options, seed), validation, extra)
    if source["npz"] is not None:
        data = load_npz(Path(source["npz"]))
        extra["data"] = {"file": _absolute(source["npz"]), "sha256": file_sha256(source["npz"]), "kind": "npz",
                         "rows": data.n_samples, "validation_split": fraction, "seed": seed}
    else:
        name = source["dataset"]
        if name == "mnist" and all_rows(options):
            return (load_dataset(name, split="all", data_dir=data_dir, n_samples=options["n_samples"], seed=seed),
                    None, extra)
        if name == "mnist":
            return (load_dataset(name, split="train", data_dir=data_dir, n_samples=options["n_samples"],
                                 seed=seed),
                    load_dataset(name, split="validation", data_dir=data_dir), extra)
        data = load_dataset(name, seed=seed, data_dir=data_dir)
    if fraction == 0:
        train, validation = data, None
    else:
        train, validation = split_dataset(data, fraction, seed)
    return (*_subsample(train, options, seed), validation, extra)


def all_rows(options: dict) -> bool:
    """Whether this run trains on every row: ``--refit-all`` without (or after) the search for the epochs.

    With early stopping, ``--refit-all`` first trains on the training split to
    find the best epoch, then refits with ``early_stopping`` off and that many
    epochs (see :mod:`backprop.cli.train_refit`); that second run, and a
    ``--refit-all`` run without early stopping, read every row.
    """
    return bool(options.get("refit_all")) and not options.get("early_stopping")


def _subsample(train, options: dict, seed) -> tuple:
    if options["n_samples"] is not None and options["n_samples"] < train.n_samples:
        import numpy as np

        rows = np.sort(np.random.default_rng(seed).choice(train.n_samples, options["n_samples"], replace=False))
        train = train.subset(rows)
    return (train,)


def _absolute(path: str) -> str:
    return path if path == "-" else str(Path(path).resolve())


def file_sha256(path) -> str | None:
    """The SHA-256 of a file's bytes (None for standard input), read in chunks."""
    import hashlib

    if str(path) == "-":
        return None
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
