"""A table with a target column, split and encoded: what ``backprop train --csv`` learns from.

:func:`load_table` reads a file (:func:`~backprop.data.table.read_table`),
takes the target column out, drops ``ignore``\\ d columns, and infers the task.
:func:`split_table` draws the train/validation split (the same rule as
:func:`~backprop.data.split_dataset`), learns the
:class:`~backprop.data.columns.ColumnPreprocessing` from the training rows
alone, and returns two :class:`~backprop.data.Dataset` objects of numbers.

>>> data = load_table("houses.csv.gz", "price", ignore=["id"])   # doctest: +SKIP
>>> train, validation, columns = split_table(data, 0.2, seed=0)  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .columns import ColumnPreprocessing, numbers_of
from .dataset import Dataset, _validation_indices
from .files import _check_task, _finish_targets
from .table import Table, read_table

__all__ = ["TableData", "load_table", "split_table", "resolve_column", "read_options"]


@dataclass
class TableData:
    """The input columns (a DataFrame), the targets, and the table they came from."""

    inputs: object
    y: np.ndarray
    task: str
    target: str
    ignored: list
    table: Table

    @property
    def n_samples(self) -> int:
        return int(len(self.y))


def read_options(delimiter=None, header: bool = True, skip_rows: int = 0) -> dict:
    """The reading options as plain data, as a model file remembers them."""
    return {"delimiter": delimiter, "header": bool(header), "skip_rows": int(skip_rows)}


def resolve_column(columns: list[str], target, source: str, header: bool = True) -> str:
    """The name of the column ``target`` names: a header name, or a 0-based position (negative from the end)."""
    if isinstance(target, str) and target.strip() in columns:
        return target.strip()
    position = target
    if isinstance(target, str):
        text = target.strip()
        if not text.lstrip("-").isdigit():
            split = next((sep for sep in (";", "\t", ",", "|") if any(sep in c for c in columns)), None)
            hint = (f" (a name holds {split!r}: is the delimiter right? --delimiter chooses it)"
                    if split else "")
            raise ValueError(f"{source}: no column named {target!r}; the columns are "
                             f"{', '.join(columns)}{hint}")
        position = int(text)
    if isinstance(position, bool) or not isinstance(position, (int, np.integer)):
        raise TypeError(f"target must be a column name or index; got {type(target).__name__}")
    if not -len(columns) <= position < len(columns):
        raise ValueError(f"{source}: target column index {position} is out of range for {len(columns)} "
                         f"columns ({', '.join(columns)})")
    return columns[int(position) % len(columns)]


def load_table(source, target, *, ignore=(), task: str | None = None, delimiter=None, header: bool = True,
               skip_rows: int = 0, max_bytes: int | None = None) -> TableData:
    """Read a table and take out its target column.

    Parameters
    ----------
    source : str or Path
        A file (compressed or not) or ``"-"`` for standard input.
    target : str or int
        The target column, by name or 0-based position.
    ignore : sequence of str
        Columns to leave out (identifiers, dates, free text).
    task : {None, "classification", "regression"}
        ``None`` infers it as :func:`~backprop.data.load_csv` does.
    delimiter, header, skip_rows, max_bytes
        As :func:`~backprop.data.table.read_table` takes them.

    Raises
    ------
    ValueError
        For an unreadable table, an unknown column, a missing target value,
        or a target that does not suit the task.
    """
    _check_task(task)
    table = read_table(source, delimiter=delimiter, header=header, skip_rows=skip_rows, max_bytes=max_bytes)
    columns, name = table.columns, table.source
    target = resolve_column(columns, target, name, header)
    ignore = [c.strip() for c in ignore if c.strip()]
    unknown = [c for c in ignore if c not in columns]
    if unknown:
        raise ValueError(f"{name}: --ignore names column(s) {', '.join(map(repr, unknown))} that it does not "
                         f"have; the columns are {', '.join(columns)}")
    if target in ignore:
        raise ValueError(f"{name}: the target column {target!r} cannot also be ignored")
    if len(columns) - len(ignore) < 2:
        raise ValueError(f"{name}: only the target column {target!r}; expected feature columns beside it")
    y = _targets(table, target, task)
    y, task = _finish_targets(y, task, f"{name}, column {target!r}")
    inputs = table.frame[[c for c in columns if c != target and c not in ignore]].copy()
    # Whether a column holds numbers or text is decided on every row, so that a typo in a number
    # column ('four', '1_000') is named wherever it is, rather than turning the column into text.
    for column in inputs.columns:
        values = numbers_of(inputs[column], column, name, table.lines)
        if values is not None:
            inputs[column] = values
    return TableData(inputs=inputs, y=y, task=task, target=target, ignored=ignore, table=table)


def _targets(table: Table, target: str, task) -> np.ndarray:
    series = table.frame[target]
    absent = series.isna().to_numpy()
    if absent.any():
        row = int(np.argmax(absent))
        raise ValueError(f"{table.source}, line {table.line(row)}, column {target!r}: the target is missing "
                         f"({int(absent.sum())} row(s) without one); every row needs a target value")
    values = numbers_of(series, target, table.source, table.lines, strict=task == "regression", what="target")
    if values is not None:
        return values
    return np.array([str(v).strip() for v in series.to_numpy(dtype=object)])


def split_table(data: TableData, fraction: float, seed=0) -> tuple[Dataset, Dataset | None, ColumnPreprocessing]:
    """Split, learn the column preprocessing on the training rows, and encode both parts.

    ``fraction = 0`` keeps every row for training (no validation set). The
    split is :func:`~backprop.data.split_dataset`'s: the same seed and
    fraction give the same rows.
    """
    n = data.n_samples
    if fraction:
        train_rows, validation_rows = _validation_indices(n, fraction, seed)
    else:
        train_rows, validation_rows = np.arange(n), None
    table = data.table
    columns = ColumnPreprocessing.fit(data.inputs.iloc[train_rows], target=data.target, ignored=data.ignored,
                                      header=table.options["header"], source=table.source,
                                      lines=table.lines[train_rows])
    X = columns.transform(data.inputs, source=table.source, lines=table.lines)
    whole = Dataset(X=X, y=data.y, task=data.task, name=_stem(table.source), feature_names=columns.feature_names,
                    description=f"table {table.source}, target column {data.target!r}")
    train = whole.subset(train_rows)
    validation = None if validation_rows is None else whole.subset(validation_rows)
    return train, validation, columns


def _stem(source: str) -> str:
    from pathlib import Path

    name = Path(source).name
    for suffix in (".gz", ".bz2", ".xz", ".zip", ".csv", ".tsv", ".txt"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    return name or "table"
