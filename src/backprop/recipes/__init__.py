"""Recipes: every training option for a classic result, in a small TOML file.

``backprop train --recipe NAME`` reads ``NAME.toml`` from this folder (also
reachable as ``recipes/`` at the top of the repository), or any ``.toml`` path;
flags given on the command line override the recipe. A recipe is a table of
training options, named as the ``train`` command's flags with ``_`` for ``-``
(``batch_size``, ``validation_split``, ...), plus ``description`` and
``reference`` for the reader::

    description = "LeCun et al. (1998): 784-300-10 trained with squared error"
    reference = "LeCun, Bottou, Bengio, Haffner (1998), table 1: 4.7% test error"
    paper_test_error = 0.047

    [train]
    dataset = "mnist"
    hidden = [300]
    loss = "sse"
    ...
"""

from __future__ import annotations

import numbers
import tomllib
from pathlib import Path

__all__ = ["RECIPE_DIR", "list_recipes", "read_recipe", "load_recipe"]

RECIPE_DIR = Path(__file__).parent

# The options a recipe may set, and the Python types each takes.
OPTIONS = {
    "dataset": str, "hidden": list, "activation": str, "output_activation": str, "loss": str,
    "bias": bool, "init": str, "optimizer": str, "lr": float, "momentum": float, "weight_decay": float,
    "clip_norm": float, "schedule": str, "batch_size": int, "epochs": int, "seed": int, "dtype": str,
    "validation_split": float, "early_stopping": bool, "patience": int, "preprocess": str, "n_samples": int,
    "dropout": list, "input_dropout": float, "max_norm": float, "class_weight": str, "refit_all": bool,
    "engine": str,
}
MAX_RECIPE_BYTES = 1_000_000
MAX_RECIPE_DEPTH = 8  # a recipe is a table of options; hidden = [300, 100] nests 2 deep
TOP_LEVEL = {"description": str, "reference": str, "paper_test_error": float, "train": dict}


def list_recipes() -> list[str]:
    """The names of the recipes that ship with backprop."""
    return sorted(p.stem for p in RECIPE_DIR.glob("*.toml"))


def _path(name_or_path: str) -> Path:
    path = Path(name_or_path)
    if path.suffix == ".toml" and path.exists():
        return path  # open_regular refuses a FIFO or a folder by name
    candidate = RECIPE_DIR / f"{name_or_path}.toml"
    if candidate.is_file():
        return candidate
    raise ValueError(f"unknown recipe {name_or_path!r}; expected one of {', '.join(list_recipes())} "
                     "or the path of a .toml file")


def read_recipe(name_or_path: str) -> dict:
    """The whole recipe, checked: ``description``, ``reference``, ``paper_test_error`` and ``train``."""
    from ..io.nesting import check_nesting
    from ..io.reading import open_regular

    path = _path(name_or_path)
    with open_regular(path, "recipe") as fh:
        raw = fh.read(MAX_RECIPE_BYTES + 1)
    if len(raw) > MAX_RECIPE_BYTES:
        raise ValueError(f"recipe {path} is larger than {MAX_RECIPE_BYTES} bytes; a recipe is a short TOML file")
    try:
        text = raw.decode("utf-8")
        check_nesting(text, f"recipe {path}", limit=MAX_RECIPE_DEPTH)
        recipe = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise ValueError(f"recipe {path} is not valid TOML: {exc or 'nested too deeply'}") from None
    for key, value in recipe.items():
        _check(path, key, value, TOP_LEVEL)
    if "train" not in recipe:
        raise ValueError(f"recipe {path} has no [train] table")
    for key, value in recipe["train"].items():
        _check(path, f"train.{key}", value, OPTIONS)
    rates = recipe["train"].get("dropout", [])
    if not all(isinstance(p, numbers.Real) and not isinstance(p, bool) and 0 <= p < 1 for p in rates):
        raise ValueError(f"recipe {path}: train.dropout must list rates in [0, 1); got {rates!r}")
    hidden = recipe["train"].get("hidden", [])
    if not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in hidden):
        raise ValueError(f"recipe {path}: train.hidden must list positive integers; got {hidden!r}")
    return recipe


def load_recipe(name_or_path: str) -> dict:
    """The training options of a recipe (its ``[train]`` table)."""
    return dict(read_recipe(name_or_path)["train"])


def _check(path: Path, key: str, value, allowed: dict) -> None:
    name = key.split(".")[-1]
    if name not in allowed:
        raise ValueError(f"recipe {path}: unknown option {key!r}; expected one of {', '.join(sorted(allowed))}")
    expected = allowed[name]
    ok = isinstance(value, expected) and not (expected is int and isinstance(value, bool))
    if expected is float:
        ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if not ok:
        raise ValueError(f"recipe {path}: {key} must be a {expected.__name__}; got {value!r}")
