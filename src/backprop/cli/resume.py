"""What ``backprop train`` keeps in a checkpoint so that ``--resume DIR`` is the same run, and the checks on resuming.

A checkpoint keeps, beside the training state, everything the command line
said: the training options, the data source (absolute paths, and for MNIST the
folder its files were read from), the output options (``--out``, ``--plots``,
``--checkpoint-every``, ``--json``, ``--quiet``), and a SHA-256 of the training
and validation data as loaded. ``--resume DIR`` alone therefore goes on exactly
as the interrupted run would have, writing the same files.

On resuming, :func:`resume_settings` refuses, by name and with exit code 2,
any flag that would change the run (``--hidden``, ``--lr``, ``--csv``, ...)
when its value differs from the checkpoint's; only ``--epochs`` (more than the
epochs already finished) and the output options may change. :func:`check_data`
refuses data whose hash differs from the one stored.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from . import CLIError

__all__ = ["SAFE_ON_RESUME", "record_outputs", "resume_settings", "data_sha256", "check_data",
           "check_saved_options"]

# Flags that may differ on --resume: they change where results go, not the run.
SAFE_ON_RESUME = ("epochs", "out", "plots", "json", "quiet", "checkpoint", "checkpoint_every", "data_dir")
OUTPUTS = ("out", "plots", "checkpoint_every", "json", "quiet")


def _absolute(path) -> str | None:
    return None if path is None else str(Path(path).absolute())


def record_outputs(args) -> dict:
    """The output options of a fresh run, as plain data for its checkpoint."""
    return {"out": _absolute(args.out), "plots": _absolute(args.plots), "checkpoint_every": args.checkpoint_every,
            "json": bool(args.json), "quiet": bool(args.quiet)}


def _flag(key: str) -> str:
    return "--" + key.replace("_", "-")


def check_saved_options(options: dict, source: dict, where: str) -> None:
    """The checkpoint's training options must have the types the command line gives them."""
    from ..recipes import OPTIONS

    for key, kind in OPTIONS.items():
        value = options.get(key)
        if value is None:
            continue
        ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
        if kind is float:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and np.isfinite(value)
        if key == "hidden":
            ok = ok and len(value) <= 1000 and all(type(n) is int and n >= 1 for n in value)
        if not ok:
            raise CLIError(f"{where}: the checkpoint's option {key} is not a valid {kind.__name__}: {value!r:.60}")
    for key in ("dataset", "csv", "npz", "target", "data_dir"):
        if source.get(key) is not None and not isinstance(source[key], str):
            raise CLIError(f"{where}: the checkpoint's data source {key} is not a string")


def resume_settings(args, state, saved: dict, defaults) -> tuple[dict, dict]:
    """The training options and data source to resume with; ``args`` gets the saved output options.

    Raises
    ------
    CLIError
        For flags that conflict with the checkpoint (all named at once), or
        ``--epochs`` not above the epochs already finished.
    """
    options, source = dict(saved["training"]), dict(saved["source"])
    check_saved_options(options, source, str(args.resume))
    conflicts = []
    for key in defaults:
        given = getattr(args, key, None)
        if key in SAFE_ON_RESUME or given is None:
            continue
        if given != options.get(key):
            conflicts.append(f"{_flag(key)} {given} (the checkpoint has {options.get(key)})")
    for key in ("csv", "npz", "target"):
        given = getattr(args, key, None)
        if given is None:
            continue
        stored = source.get(key)
        same = stored is not None and (str(given) == stored if key == "target" else
                                       Path(given).absolute() == Path(stored))
        if not same:
            conflicts.append(f"{_flag(key)} {given} (the checkpoint has {stored})")
    recipe = getattr(args, "recipe", None)
    if recipe is not None and recipe != saved.get("recipe"):
        conflicts.append(f"--recipe {recipe} (the checkpoint has {saved.get('recipe')})")
    if conflicts:
        raise CLIError(f"--resume goes on with the checkpoint's own settings, and these flags would change them: "
                       f"{'; '.join(conflicts)}. Drop them; only --epochs and the output options "
                       "(--out, --plots, --json, --quiet, --checkpoint, --checkpoint-every, --data-dir) may change")
    if args.epochs is not None:
        if args.epochs <= state.epoch:
            raise CLIError(f"--epochs {args.epochs}: the checkpoint in {args.resume} has already finished "
                           f"{state.epoch} epoch{'s' * (state.epoch != 1)}; give more than {state.epoch} to "
                           "train further, or leave --epochs out to finish the run as planned")
        options["epochs"] = args.epochs
    outputs = saved.get("outputs") or {}
    for key in OUTPUTS:
        if key in ("json", "quiet"):
            setattr(args, key, bool(getattr(args, key)) or bool(outputs.get(key)))
        elif getattr(args, key) is None and outputs.get(key) is not None:
            setattr(args, key, Path(outputs[key]) if key != "checkpoint_every" else int(outputs[key]))
    if args.data_dir is None and source.get("data_dir") is not None:
        args.data_dir = Path(source["data_dir"])
    return options, source


def data_sha256(train, validation) -> str:
    """SHA-256 of the training and validation data as loaded: shapes, dtypes and values."""
    digest = hashlib.sha256()
    for part in (train, validation):
        if part is None:
            digest.update(b"none\n")
            continue
        for arr in (part.X, part.y):
            arr = np.asarray(arr)
            digest.update(f"{arr.dtype.str} {arr.shape}\n".encode())
            # .data: the array's own buffer, hashed without a copy (MNIST's training set is 300 MB)
            digest.update(repr(arr.tolist()).encode() if arr.dtype == object else np.ascontiguousarray(arr).data)
    return digest.hexdigest()


def check_data(saved: dict, digest: str, source: dict, folder) -> None:
    """Refuse to resume on data that differs from the data the checkpoint was trained on."""
    stored = saved.get("data_sha256")
    if stored is not None and stored != digest:
        name = source.get("csv") or source.get("npz") or source.get("dataset")
        raise CLIError(f"the training data {name} has changed since the checkpoint in {folder} was written "
                       f"(SHA-256 {digest[:12]}... now, {stored[:12]}... then); resuming on other data would "
                       "not be the same run: restore the data, or start a new run")
