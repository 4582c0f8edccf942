"""Your own data: CSV files (read with the standard library's ``csv``) and NumPy ``.npz`` archives.

A training CSV has a header row naming its columns; one column is the target
and every other column is a numeric feature. Class labels may be words. A
prediction CSV has the same header without the target column, and
:func:`write_predictions_csv` writes the network's answers back out.

Every loader checks its file before anything is trained on it and names the
line and column of the first bad value.
"""

from __future__ import annotations

import csv
import math
import stat
from pathlib import Path

import numpy as np

from .dataset import TASKS, Dataset, infer_task

__all__ = ["load_csv", "load_features_csv", "load_npz", "write_predictions_csv", "neutralise_formula"]

# A cell that starts with one of these is read as a formula by spreadsheet programs (=cmd|..., @SUM(...)).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def neutralise_formula(value):
    """A text cell that a spreadsheet would run as a formula, prefixed with ``'`` so that it shows as text.

    Cells starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
    (and their full-width forms) are formulas to Excel, LibreOffice and Google
    Sheets; prediction files hold labels from training data, which anyone may
    have written (``=cmd|' /C calc'!A0``). Numbers, and text that reads as a
    number (``-1.5``), are left as they are.
    """
    if not isinstance(value, str) or not value.startswith(_FORMULA_STARTS):
        return value
    try:
        float(value)
    except ValueError:
        return "'" + value
    return value


def _check_task(task) -> None:
    if task is not None and task not in TASKS:
        raise ValueError(f"task must be None (infer it), {' or '.join(map(repr, TASKS))}; got {task!r}")


def _check_file(path, what: str) -> Path:
    from ..io.reading import describe_mode

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{what} not found: {path}")
    mode = path.stat().st_mode
    if not stat.S_ISREG(mode):  # a FIFO would block the read for ever, a device never end
        raise ValueError(f"{what} {path} is not a file: it is {describe_mode(mode)}")
    return path


def _read_table(path: Path) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Return the header and the ``(line number, fields)`` of each data row; blank lines are skipped."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            rows = [(reader.line_num, row) for row in reader if row]
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path} is not UTF-8 text ({exc})") from None
    except csv.Error as exc:
        raise ValueError(f"{path} is not a readable CSV file: {exc}") from None
    if not rows:
        raise ValueError(f"{path} is empty; expected a header row naming the columns, then data rows")
    header = [name.strip() for name in rows[0][1]]
    for i, name in enumerate(header):
        if not name:
            raise ValueError(f"{path}: column {i + 1} of the header row has no name")
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if duplicates:
        raise ValueError(f"{path}: the header names column(s) {', '.join(map(repr, duplicates))} more than once")
    data = rows[1:]
    if not data:
        raise ValueError(f"{path} has a header row but no data rows")
    for line, row in data:
        if len(row) != len(header):
            raise ValueError(
                f"{path}, line {line}: {len(row)} fields, but the header has {len(header)} columns"
            )
    return header, data


def _show(cell: str, limit: int = 40) -> str:
    """``repr`` of a cell, shortened so that one bad value cannot flood the message."""
    return repr(cell) if len(cell) <= limit else repr(cell[:limit]) + f"... ({len(cell)} characters)"


def _non_finite(cell: str, what: str = "value") -> str:
    """Why a cell that parsed to NaN or infinity is refused: written so, or too large for a float."""
    if cell.lower().lstrip("+-") in ("nan", "inf", "infinity"):
        return f"non-finite {what} {_show(cell)}; expected a finite number"
    return f"{what} {_show(cell)} overflows a 64-bit float (largest about 1.8e308); expected a finite number"


def _parse_number(text: str, path: Path, line: int, column: str, hint: str = "") -> float:
    cell = text.strip()
    if not cell:
        raise ValueError(f"{path}, line {line}, column {column!r}: empty value; expected a number{hint}")
    try:
        value = float(cell)
    except ValueError:
        raise ValueError(f"{path}, line {line}, column {column!r}: {_show(cell)} is not a number{hint}") from None
    if not math.isfinite(value):
        raise ValueError(f"{path}, line {line}, column {column!r}: {_non_finite(cell)}")
    return value


def _parse_features(path: Path, header: list[str], data, columns: list[int], hint: str = "") -> np.ndarray:
    X = np.empty((len(data), len(columns)), dtype=np.float64)
    for i, (line, row) in enumerate(data):
        for j, c in enumerate(columns):
            X[i, j] = _parse_number(row[c], path, line, header[c], hint)
    return X


def _finish_targets(y: np.ndarray, task: str | None, source: str) -> tuple[np.ndarray, str]:
    """Infer or check the task; whole-number labels become ints; a classifier needs two classes."""
    numeric = np.issubdtype(y.dtype, np.number) or y.dtype == bool
    if numeric and not np.all(np.isfinite(y)):
        index = int(np.argmin(np.isfinite(y)))
        raise ValueError(f"{source}: target {index} is {y[index]}; expected finite numbers")
    task = task or infer_task(y)
    if task == "regression":
        if not numeric:
            raise ValueError(f"{source}: regression targets must be numbers; got labels of dtype {y.dtype}")
        return y.astype(np.float64), task
    # Whole numbers become int labels, unless they are too large for int64 to hold exactly (1e300).
    if np.issubdtype(y.dtype, np.floating) and np.all(y == np.round(y)) and np.all(np.abs(y) <= 2.0**53):
        y = y.astype(np.int64)
    classes = np.unique(y)
    if len(classes) < 2:
        raise ValueError(
            f"{source}: the target has only one class ({classes[0].item()!r}); a classifier needs at least two"
        )
    return y, task


def load_csv(path, target: str | int, *, task: str | None = None) -> Dataset:
    """Load a CSV file with a header row: one target column, every other column a numeric feature.

    Parameters
    ----------
    path : str or Path
    target : str or int
        The target column, by its name in the header or by its position
        (0-based; negative counts from the end, so -1 is the last column).
    task : {None, "classification", "regression"}, default None
        ``None`` infers it: a target whose values are all numbers, and either
        include one that is not a whole number or take more than 20 distinct
        values, is a regression target; anything else holds class labels.

    Returns
    -------
    Dataset
        Labels that are all whole numbers become ints; other labels stay
        strings, as written (without surrounding spaces).

    Raises
    ------
    FileNotFoundError
        If there is no such file.
    ValueError
        For an empty file, a header with no data rows, a row with the wrong
        number of fields, an unknown target column, a feature value that is
        not a finite number, or a classification target with one class.
    """
    _check_task(task)
    path = _check_file(path, "CSV file")
    header, data = _read_table(path)
    if isinstance(target, (int, np.integer)) and not isinstance(target, bool):
        if not -len(header) <= target < len(header):
            raise ValueError(f"{path}: target column index {target} is out of range for "
                             f"{len(header)} columns ({', '.join(header)})")
        t = int(target) % len(header)
    elif isinstance(target, str):
        if target.strip() not in header:
            raise ValueError(f"{path}: no column named {target!r}; the columns are {', '.join(header)}")
        t = header.index(target.strip())
    else:
        raise TypeError(f"target must be a column name or index; got {type(target).__name__}")
    if len(header) < 2:
        raise ValueError(f"{path}: only the target column {header[t]!r}; expected feature columns beside it")

    features = [c for c in range(len(header)) if c != t]
    X = _parse_features(path, header, data, features)
    labels = [row[t].strip() for _, row in data]
    for (line, _), label in zip(data, labels):
        if not label:
            raise ValueError(f"{path}, line {line}, column {header[t]!r}: empty target value")
    try:
        y = np.array([float(v) for v in labels])
    except ValueError:
        if task == "regression":
            line, bad = next((line, v) for (line, _), v in zip(data, labels) if not _is_number(v))
            raise ValueError(f"{path}, line {line}, column {header[t]!r}: {_show(bad)} is not a number, "
                             "and regression targets must be numbers") from None
        y = np.array(labels)
    else:
        if not np.all(np.isfinite(y)):
            (line, _), bad = next(((d, v) for d, v in zip(data, labels) if not math.isfinite(float(v))))
            raise ValueError(f"{path}, line {line}, column {header[t]!r}: {_non_finite(bad, 'target')}")
    y, task = _finish_targets(y, task, f"{path}, column {header[t]!r}")
    return Dataset(
        X=X, y=y, task=task, name=path.stem, feature_names=[header[c] for c in features],
        description=f"CSV file {path}, target column {header[t]!r}",
    )


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def load_features_csv(path, n_features: int | None = None, *,
                      feature_names: list[str] | None = None) -> np.ndarray:
    """Load the inputs to predict on: a CSV with a header row and numeric feature columns only.

    Parameters
    ----------
    path : str or Path
    n_features : int, optional
        The number of inputs the network takes; the file must have exactly
        this many columns.
    feature_names : list of str, optional
        The features the network was trained on. The file must have exactly
        these columns, in any order; they are returned in this order.

    Returns
    -------
    ndarray of shape (n_samples, n_features), float64

    Raises
    ------
    ValueError
        For a column the network does not take (such as the target), a
        missing one, the wrong number of columns, or a value that is not a
        finite number.
    """
    path = _check_file(path, "CSV file")
    header, data = _read_table(path)
    hint = "; a prediction CSV holds the feature columns only"
    if feature_names is not None:
        expected = [str(n) for n in feature_names]
        extra = [name for name in header if name not in expected]
        missing = [name for name in expected if name not in header]
        if extra:
            raise ValueError(
                f"{path}: column(s) {', '.join(map(repr, extra))} are not inputs of the model{hint} "
                f"({', '.join(expected)})"
            )
        if missing:
            raise ValueError(f"{path}: missing feature column(s) {', '.join(map(repr, missing))}; "
                             f"the model takes {', '.join(expected)}")
        columns = [header.index(name) for name in expected]
    else:
        if n_features is not None and len(header) != n_features:
            extra = " (is the target column still in it?)" if len(header) > n_features else ""
            raise ValueError(
                f"{path} has {len(header)} columns but the model takes {n_features} features{extra}{hint}"
            )
        columns = list(range(len(header)))
    return _parse_features(path, header, data, columns, hint)


def load_npz(path, *, task: str | None = None) -> Dataset:
    """Load a NumPy ``.npz`` archive holding arrays ``X`` (n_samples, n_features) and ``y`` (n_samples,).

    The archive is read with ``allow_pickle=False``: it cannot run code, so
    labels must be numbers or fixed-width strings (``np.asarray(y, dtype=str)``),
    not Python objects. An optional array ``feature_names`` names the columns.

    Parameters
    ----------
    path : str or Path
    task : {None, "classification", "regression"}, default None
        ``None`` infers it as :func:`load_csv` does.
    """
    _check_task(task)
    from .npz import read_npz_arrays

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"NPZ file not found: {path}")
    files, arrays = read_npz_arrays(path, ("X", "y", "feature_names"))
    missing = [key for key in ("X", "y") if key not in arrays]
    if missing:
        raise ValueError(
            f"{path} has no array {' or '.join(missing)}; it holds {', '.join(files[:20]) or 'nothing'}, "
            "and X (n_samples, n_features) and y (n_samples,) are needed"
        )
    X, y = arrays["X"], arrays["y"]
    if X.ndim != 2 or not (np.issubdtype(X.dtype, np.number) or X.dtype == bool):
        raise ValueError(f"{path}: X must be a 2-D numeric array; got shape {X.shape}, dtype {X.dtype}")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"{path}: X has shape {X.shape}; expected at least one row and one column")
    if not np.all(np.isfinite(X)):
        row, col = np.argwhere(~np.isfinite(X))[0]
        raise ValueError(f"{path}: X[{row}, {col}] is {X[row, col]}; expected finite numbers")
    if y.ndim != 1 or y.shape[0] != X.shape[0]:
        raise ValueError(f"{path}: y must have shape ({X.shape[0]},) to match X {X.shape}; got {y.shape}")
    if y.dtype.kind == "S":
        y = np.char.decode(y, "utf-8")
    y, task = _finish_targets(y, task, f"{path}, y")
    names = arrays.get("feature_names")
    return Dataset(
        X=X, y=y, task=task, name=path.stem, description=f"NPZ file {path}",
        feature_names=None if names is None else [str(n) for n in np.atleast_1d(names)],
    )


def write_predictions_csv(path_or_file, predictions, probabilities=None, classes=None) -> None:
    """Write predictions as CSV: a ``prediction`` column, then ``probability_<class>`` columns if given.

    Parameters
    ----------
    path_or_file : str, Path or text file
        A path to write, or an open text file (such as ``sys.stdout``).
    predictions : array_like of shape (n_samples,) or (n_samples, n_outputs)
        Class labels or regression outputs. Several outputs are written as
        columns ``prediction_0``, ``prediction_1``, ...
    probabilities : array_like of shape (n_samples, n_classes), optional
        The classifier's output for each class.
    classes : sequence, optional
        The class of each column of ``probabilities``; ``0 .. n_classes - 1``
        if not given.
    """
    pred = np.asarray(predictions)
    if pred.ndim == 2 and pred.shape[1] == 1:
        pred = pred[:, 0]
    if pred.ndim not in (1, 2):
        raise ValueError(f"predictions must be 1-D or 2-D; got shape {pred.shape}")
    header = ["prediction"] if pred.ndim == 1 else [f"prediction_{j}" for j in range(pred.shape[1])]
    columns = [pred.reshape(len(pred), -1)]
    if probabilities is not None:
        proba = np.asarray(probabilities, dtype=np.float64)
        if proba.ndim != 2 or proba.shape[0] != len(pred):
            raise ValueError(f"probabilities must have shape ({len(pred)}, n_classes) to match "
                             f"{len(pred)} predictions; got {proba.shape}")
        classes = list(range(proba.shape[1])) if classes is None else list(np.asarray(classes).tolist())
        if len(classes) != proba.shape[1]:
            raise ValueError(f"{len(classes)} classes given for {proba.shape[1]} columns of probabilities")
        header += [f"probability_{c}" for c in classes]
        columns.append(proba)
    elif classes is not None:
        raise ValueError("classes names the columns of probabilities; pass probabilities too")

    def write(f):
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        rows = zip(*(c.tolist() for c in columns))
        writer.writerows([neutralise_formula(v) for part in parts for v in part] for parts in rows)

    if hasattr(path_or_file, "write"):
        write(path_or_file)
    else:
        import io

        from ..io.atomic import write_atomic

        text = io.StringIO(newline="")
        write(text)
        write_atomic(path_or_file, text.getvalue())
