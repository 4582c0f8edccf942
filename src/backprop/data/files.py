"""Your own data as arrays: tables of numbers (read by :mod:`backprop.data.table`) and ``.npz`` archives.

A training table names its columns in a header row; one column is the target
and every other column is a numeric feature. Class labels may be words.
(Tables with text columns and missing values are for
:mod:`backprop.data.tabular`, which learns their encoding on training rows.) A
prediction CSV has the same header without the target column, and
:func:`write_predictions_csv` writes the network's answers back out.

Every loader checks its file before anything is trained on it and names the
line and column of the first bad value.
"""

from __future__ import annotations

import csv
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


def load_csv(path, target: str | int, *, task: str | None = None, delimiter: str | None = None,
             header: bool = True, skip_rows: int = 0) -> Dataset:
    """Load a table of numbers: one target column, every other column a numeric feature.

    The file is read by :func:`backprop.data.table.read_table`: any common
    delimiter (detected), compressed or not, with or without a header row.
    Text feature columns and missing values are refused here, since encoding
    them must be learned from training rows alone: ``backprop train --csv``
    does that, as do :func:`backprop.data.tabular.load_table` and
    :func:`~backprop.data.tabular.split_table`.

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
    delimiter, header, skip_rows
        As :func:`~backprop.data.table.read_table` takes them.

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
        For an unreadable table, an unknown target column, a feature value
        that is missing or not a finite number, or a classification target
        with one class; the message names the line and the column.
    """
    from .columns import _show, _texts
    from .tabular import load_table

    _check_task(task)
    if isinstance(target, bool) or not isinstance(target, (str, int, np.integer)):
        raise TypeError(f"target must be a column name or index; got {type(target).__name__}")
    data = load_table(path, target, task=task, delimiter=delimiter, header=header, skip_rows=skip_rows)
    table = data.table
    for name in data.inputs.columns:
        series = data.inputs[name]
        missing = series.isna().to_numpy()
        if series.dtype.kind not in "fiub":
            row = int(np.argmax(~missing))
            raise ValueError(f"{table.source}, line {table.line(row)}, column {name!r}: "
                             f"{_show(_texts(series)[row])} is not a number; load_csv returns numbers only "
                             "(backprop train --csv one-hot encodes text columns)")
        if missing.any():
            row = int(np.argmax(missing))
            raise ValueError(f"{table.source}, line {table.line(row)}, column {name!r}: missing value; load_csv "
                             "returns complete rows only (backprop train --csv fills gaps from the training rows)")
    return Dataset(
        X=data.inputs.to_numpy(dtype=np.float64), y=data.y, task=data.task, name=Path(table.source).stem,
        feature_names=[str(c) for c in data.inputs.columns],
        description=f"CSV file {table.source}, target column {data.target!r}",
    )


def load_features_csv(path, n_features: int | None = None, *,
                      feature_names: list[str] | None = None) -> np.ndarray:
    """Load the inputs to predict on: a table with a header row and numeric feature columns only.

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
    from .columns import _show, numbers_of
    from .table import read_table, strict_numbers

    path = _check_file(path, "CSV file")
    table = read_table(path)
    header = table.columns
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
        columns = expected
    else:
        if n_features is not None and len(header) != n_features:
            extra = " (is the target column still in it?)" if len(header) > n_features else ""
            raise ValueError(
                f"{path} has {len(header)} columns but the model takes {n_features} features{extra}{hint}"
            )
        columns = header
    values = []
    for name in columns:
        cells, bad = strict_numbers(table.frame[name].to_numpy(dtype=object))
        if bad is not None:
            cell = _show(str(table.frame[name].iloc[bad]))
            raise ValueError(f"{path}, line {table.line(bad)}, column {name!r}: {cell} is not a number{hint}")
        column = numbers_of(table.frame[name], name, table.source, table.lines, strict=True)
        if np.isnan(column).any():
            row = int(np.argmax(np.isnan(column)))
            raise ValueError(f"{path}, line {table.line(row)}, column {name!r}: missing value{hint}")
        values.append(column)
    return np.column_stack(values)


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
