"""The history and the other inputs of a plot, checked once at the boundary."""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Mapping, Sequence

import numpy as np

from .figure import METRICS, TASKS

# ---------------------------------------------------------------------------
# validation
# ---------------------------------------------------------------------------

def check_history(history) -> dict:
    """Validate a training history and return it as a normalised plain dict.

    Parameters
    ----------
    history : mapping or dataclass
        The history as described in the module docstring (for instance what
        ``json.load`` returns for ``history.json``).

    Returns
    -------
    dict
        A new dict with ``task``, ``epochs`` (each with an int ``epoch`` and
        float metrics; ``null`` metrics dropped), ``best_epoch``,
        ``stopped_early``, ``stop_reason`` and, when present,
        ``confusion_matrix``. When ``task`` is absent it is inferred from the
        metrics: ``r2``/``mae`` mean regression, anything else classification.

    Raises
    ------
    ValueError
        If the structure is wrong; the message names the offending key,
        epoch and value.
    """
    if dataclasses.is_dataclass(history) and not isinstance(history, type):
        history = dataclasses.asdict(history)
    if not isinstance(history, Mapping):
        raise ValueError(
            f"a history must be a JSON object (dict) with an 'epochs' list; got {type(history).__name__}"
        )
    if "epochs" not in history:
        raise ValueError(f"the history has no 'epochs' key; found keys {sorted(map(str, history))}")
    raw_epochs = history["epochs"]
    if not isinstance(raw_epochs, Sequence) or isinstance(raw_epochs, (str, bytes)):
        raise ValueError(f"history['epochs'] must be a list of objects; got {type(raw_epochs).__name__}")
    if len(raw_epochs) == 0:
        raise ValueError("history['epochs'] is empty; there is nothing to plot")

    epochs = []
    for i, entry in enumerate(raw_epochs):
        if not isinstance(entry, Mapping):
            raise ValueError(f"history['epochs'][{i}] must be an object (dict); got {type(entry).__name__}")
        epoch = dict(entry)
        number = epoch.get("epoch", i + 1)
        if not _is_integer(number) or number < 0:
            raise ValueError(f"history['epochs'][{i}]['epoch'] must be a non-negative integer; got {number!r}")
        epoch["epoch"] = int(number)
        if epoch.get("loss") is None:
            raise ValueError(f"history['epochs'][{i}] has no 'loss'; every epoch needs its training loss")
        for key in METRICS:
            value = epoch.get(key)
            if value is None:
                epoch.pop(key, None)
            elif not _is_number(value):
                raise ValueError(f"history['epochs'][{i}][{key!r}] must be a number; got {value!r}")
            else:
                epoch[key] = float(value)
        epochs.append(epoch)

    numbers_seen = [e["epoch"] for e in epochs]
    if any(b <= a for a, b in zip(numbers_seen, numbers_seen[1:])):
        raise ValueError(f"history epoch numbers must increase; got {_abbreviate(numbers_seen)}")

    task = history.get("task")
    if task is None:
        keys = {k for e in epochs for k in e}
        task = "regression" if keys & {"r2", "val_r2", "mae", "val_mae"} else "classification"
    elif task not in TASKS:
        raise ValueError(f"history['task'] must be one of {list(TASKS)}; got {task!r}")

    best = history.get("best_epoch")
    if best is not None:
        if not _is_integer(best):
            raise ValueError(f"history['best_epoch'] must be an integer or null; got {best!r}")
        if int(best) not in numbers_seen:
            raise ValueError(
                f"history['best_epoch'] is {best}, which is not among the recorded epochs "
                f"({numbers_seen[0]}..{numbers_seen[-1]})"
            )
        best = int(best)

    stopped = history.get("stopped_early", False)
    if not isinstance(stopped, bool):
        raise ValueError(f"history['stopped_early'] must be true or false; got {stopped!r}")
    reason = history.get("stop_reason")
    if reason is not None and not isinstance(reason, str):
        raise ValueError(f"history['stop_reason'] must be a string or null; got {reason!r}")

    out = {"task": task, "epochs": epochs, "best_epoch": best, "stopped_early": stopped,
           "stop_reason": reason}
    cm = history.get("confusion_matrix")
    if cm is not None:
        if not isinstance(cm, Mapping) or "matrix" not in cm or "labels" not in cm:
            raise ValueError(
                "history['confusion_matrix'] must be an object with 'labels' and 'matrix'; "
                f"got {_abbreviate(cm)}"
            )
        matrix, labels = _check_confusion(cm["matrix"], cm["labels"], "history['confusion_matrix']")
        out["confusion_matrix"] = {"labels": labels, "matrix": matrix.tolist()}
    return out


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_integer(value) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, numbers.Integral):
        return True
    return isinstance(value, float) and value.is_integer()


def _abbreviate(value, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _check_confusion(matrix, labels, name: str) -> tuple[np.ndarray, list[str]]:
    """Return the matrix as a float array and the labels as strings, or raise."""
    try:
        arr = np.asarray(matrix, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} matrix must be a square table of counts; got {_abbreviate(matrix)}"
        ) from None
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1] or arr.shape[0] == 0:
        raise ValueError(f"{name} matrix must be square and non-empty; got shape {arr.shape}")
    if not np.isfinite(arr).all() or (arr < 0).any():
        raise ValueError(f"{name} matrix must hold non-negative finite counts; got {_abbreviate(arr.tolist())}")
    if isinstance(labels, (str, bytes)) or not isinstance(labels, (Sequence, np.ndarray)):
        raise ValueError(f"{name} labels must be a list; got {_abbreviate(labels)}")
    labels = [str(label) for label in labels]
    if len(labels) != arr.shape[0]:
        raise ValueError(
            f"{name} has {len(labels)} labels for a {arr.shape[0]}x{arr.shape[1]} matrix; they must match"
        )
    return arr, labels
