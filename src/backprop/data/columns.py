"""Column preprocessing: from a table's raw columns to the numbers a network takes, learned on training rows.

:class:`ColumnPreprocessing` learns, from the training split alone, what each
input column becomes:

number
    Kept as one input. A missing value is filled with the column's training
    median (``fill``). Scaling comes after, from the model's scaler
    (``--preprocess``, standardize by default), which is fitted on the same
    training rows.
category
    A text column becomes one 0/1 input per category seen in the training
    rows (one-hot), named ``column=value``. A missing value, and a value not
    seen in training (an *unseen category*), become all zeros: the network
    sees "none of the known categories". Unseen values are reported (a
    warning, or the ``on_unseen`` callback), never silently dropped.

A text column whose distinct values are most of its rows (more than half,
and more than :data:`MIN_CATEGORIES_FOR_ID`), or more than
:data:`MAX_CATEGORIES` in all, looks like an identifier or a date: it is
refused with a message naming ``--ignore``, rather than exploded into
hundreds of inputs.

The learned record is plain data (:meth:`ColumnPreprocessing.to_dict`, checked
by :func:`check_record`); a model file keeps it in its metadata under
``"columns"``, so ``predict``, ``evaluate`` and :meth:`backprop.Model.predict`
on a ``DataFrame`` apply the same steps, matching columns by name.
"""

from __future__ import annotations

import warnings
from typing import Callable

import numpy as np

from .table import strict_numbers

__all__ = ["ColumnPreprocessing", "check_record", "RECORD_VERSION", "MAX_CATEGORIES", "MIN_CATEGORIES_FOR_ID"]

RECORD_VERSION = 1
MAX_CATEGORIES = 100
MIN_CATEGORIES_FOR_ID = 10
KINDS = ("number", "category")


def _is_numeric_dtype(series) -> bool:
    import pandas as pd

    return pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype)


def _where(source: str, lines, row: int, column: str) -> str:
    place = f", line {int(lines[row])}" if lines is not None else f", row {row + 1}"
    return f"{source or 'table'}{place}, column {column!r}"


def _show(cell, limit: int = 40) -> str:
    text = str(cell)
    return repr(text) if len(text) <= limit else repr(text[:limit]) + f"... ({len(text)} characters)"


def numbers_of(series, column: str, source: str = "", lines=None, strict: bool = False,
               what: str = "value") -> np.ndarray | None:
    """A column as float64 (NaN where missing), or ``None`` if it is text.

    Refuses, naming the line, a column of numbers with a few cells that are
    not (``1_000``, ``n/a!``) and any non-finite number. With ``strict``, a
    single text cell is enough to refuse (the column was numeric in training).
    """
    cells = None
    if _is_numeric_dtype(series):
        values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        cells = series.to_numpy(dtype=object)
        values, bad = strict_numbers(cells)
        if bad is not None:
            present = int(np.count_nonzero(~series.isna().to_numpy()))
            numbers = int(np.count_nonzero(~np.isnan(values)))
            if not strict and numbers * 2 < present:
                return None  # a text column: most of its cells are not numbers
            why = "was a number column in training" if strict else "holds numbers otherwise"
            raise ValueError(f"{_where(source, lines, bad, column)}: {_show(cells[bad])} is not a number "
                             f"(the column {why}); write plain numbers such as 1000 or 2.5")
    infinite = np.isinf(values)
    if infinite.any():
        row = int(np.argmax(infinite))
        cell = str(values[row]) if cells is None else str(cells[row]).strip()
        if cell.lower().lstrip("+-") in ("inf", "infinity"):
            why = f"non-finite {what} {_show(cell)}; expected a finite number or a missing value"
        else:
            why = f"{what} {_show(cell)} overflows a 64-bit float (largest about 1.8e308); expected a finite number"
        raise ValueError(f"{_where(source, lines, row, column)}: {why}")
    return values


def _texts(series) -> np.ndarray:
    """Cells as stripped strings, None where missing."""
    cells = series.to_numpy(dtype=object)
    missing = series.isna().to_numpy()
    return np.array([None if m else str(c).strip() for c, m in zip(cells, missing)], dtype=object)


class ColumnPreprocessing:
    """What each input column of a table becomes, learned from the training rows.

    Attributes
    ----------
    inputs : list of dict
        One entry per input column, in the order the network sees them:
        ``{"name", "kind": "number", "fill"}`` or ``{"name", "kind":
        "category", "categories"}``, with ``"missing"``, the count of missing
        training values.
    ignored : list of str
        Columns dropped on request (``--ignore``).
    target : str or None
        The target column, which a table to predict on may still hold.
    header : bool
        Whether the training file had a header row (column names), or columns
        named by position.
    """

    def __init__(self, inputs: list[dict], *, ignored=(), target: str | None = None, header: bool = True):
        self.inputs = inputs
        self.ignored = list(ignored)
        self.target = target
        self.header = bool(header)

    # -- learning ----------------------------------------------------------------------

    @classmethod
    def fit(cls, frame, *, target: str | None = None, ignored=(), header: bool = True, source: str = "",
            lines=None) -> "ColumnPreprocessing":
        """Learn the steps from ``frame``, the training rows of the input columns (a pandas DataFrame).

        Raises
        ------
        ValueError
            For a column with no values in the training rows, a number column
            holding text cells, or a text column that looks like an identifier
            or a date (naming ``--ignore``).
        """
        if frame.shape[1] == 0:
            raise ValueError(f"{source or 'the table'} has no input columns left besides the target")
        n = len(frame)
        inputs = []
        for name in frame.columns:
            name = str(name)
            series = frame[name]
            missing = int(series.isna().sum())
            if missing == n:
                raise ValueError(f"{source or 'table'}: column {name!r} has no values in the training rows; "
                                 f"drop it with --ignore {name}")
            values = numbers_of(series, name, source, lines)
            if values is not None:
                inputs.append({"name": name, "kind": "number", "fill": float(np.nanmedian(values)),
                               "missing": missing})
                continue
            texts = _texts(series)
            categories = sorted({t for t in texts if t is not None})
            present = n - missing
            if len(categories) > MAX_CATEGORIES or (len(categories) > MIN_CATEGORIES_FOR_ID
                                                     and len(categories) * 2 > present):
                examples = ", ".join(repr(c) for c in categories[:3])
                raise ValueError(
                    f"{source or 'table'}: text column {name!r} has {len(categories)} distinct values in "
                    f"{present} training rows ({examples}, ...): it looks like an identifier or a date, "
                    f"not categories; leave it out with --ignore {name} (several: --ignore COLUMN[,...])")
            inputs.append({"name": name, "kind": "category", "categories": categories, "missing": missing})
        return cls(inputs, ignored=ignored, target=target, header=header)

    # -- applying ------------------------------------------------------------------------

    @property
    def columns(self) -> list[str]:
        """The input columns a table must hold, in training order."""
        return [spec["name"] for spec in self.inputs]

    @property
    def feature_names(self) -> list[str]:
        """The network's inputs: a number column's name, ``column=value`` for each category."""
        names = []
        for spec in self.inputs:
            if spec["kind"] == "number":
                names.append(spec["name"])
            else:
                names.extend(f"{spec['name']}={c}" for c in spec["categories"])
        return names

    @property
    def n_features(self) -> int:
        return len(self.feature_names)

    def transform(self, frame, *, source: str = "", lines=None,
                  on_unseen: Callable[[str, list, int], None] | None = None) -> np.ndarray:
        """The network's inputs for the rows of ``frame``, a DataFrame holding (at least) :attr:`columns`.

        Columns are matched by name, in any order; others (the target, notes)
        are ignored. ``on_unseen(column, values, count)`` hears of categories
        not seen in training; without it they are reported as a warning.

        Raises
        ------
        ValueError
            Naming the missing columns, or a cell that is not a number in a
            number column.
        """
        present = [str(c) for c in frame.columns]
        missing = [c for c in self.columns if c not in present]
        if missing:
            hint = ("; does the file have a header row? (a file without one needs --no-header)" if self.header
                    else "; the model was trained on a table without a header row, its columns named by "
                         "position: give one without a header too (--no-header)")
            raise ValueError(f"{source or 'the table'} lacks column(s) {', '.join(map(repr, missing))}; the "
                             f"model takes {', '.join(self.columns)}{hint}")
        lookup = {}
        for column in frame.columns:
            lookup.setdefault(str(column), column)
        blocks = []
        for spec in self.inputs:
            series = frame[lookup[spec["name"]]]
            if spec["kind"] == "number":
                values = numbers_of(series, spec["name"], source, lines, strict=True)
                blocks.append(np.where(np.isnan(values), spec["fill"], values)[:, None])
                continue
            texts = _texts(series)
            index = {c: i for i, c in enumerate(spec["categories"])}
            block = np.zeros((len(texts), len(index)))
            unseen = {}
            for row, t in enumerate(texts):
                if t is None:
                    continue
                j = index.get(t)
                if j is None:
                    unseen[t] = unseen.get(t, 0) + 1
                else:
                    block[row, j] = 1.0
            if unseen:
                report = on_unseen or _warn_unseen
                report(spec["name"], sorted(unseen), sum(unseen.values()))
            blocks.append(block)
        if not blocks:
            return np.empty((len(frame), 0))
        return np.hstack(blocks)

    # -- plain data ----------------------------------------------------------------------

    def to_dict(self) -> dict:
        """The record as plain JSON-able data."""
        return {"version": RECORD_VERSION, "inputs": [dict(spec) for spec in self.inputs],
                "ignored": list(self.ignored), "target": self.target, "header": self.header}

    @classmethod
    def from_dict(cls, record: dict) -> "ColumnPreprocessing":
        """Rebuild from :meth:`to_dict`'s output, checked by :func:`check_record`."""
        record = check_record(record)
        return cls(record["inputs"], ignored=record["ignored"], target=record["target"],
                   header=record["header"])

    def describe(self) -> list[dict]:
        """One line of words per input column: what was done to it."""
        rows = []
        for spec in self.inputs:
            if spec["kind"] == "number":
                what = f"number; missing values filled with the training median {spec['fill']:.6g}"
            else:
                cats = spec["categories"]
                shown = ", ".join(cats[:6]) + (f", ... ({len(cats)} in all)" if len(cats) > 6 else "")
                what = (f"text, one-hot over {len(cats)} training categories ({shown}); missing or unseen "
                        "values give all zeros")
            rows.append({"column": spec["name"], "kind": spec["kind"], "treatment": what,
                         "missing_in_training": spec["missing"]})
        for name in self.ignored:
            rows.append({"column": name, "kind": "ignored", "treatment": "ignored (--ignore)",
                         "missing_in_training": None})
        return rows

    def __repr__(self) -> str:
        kinds = [spec["kind"] for spec in self.inputs]
        return (f"ColumnPreprocessing({kinds.count('number')} number, {kinds.count('category')} text "
                f"columns -> {self.n_features} inputs)")


def _warn_unseen(column: str, values: list, count: int) -> None:
    warnings.warn(_unseen_message(column, values, count), stacklevel=3)


def _unseen_message(column: str, values: list, count: int) -> str:
    shown = ", ".join(map(repr, values[:5])) + (" ..." if len(values) > 5 else "")
    return (f"column {column!r}: {count} row(s) hold categories not seen in training ({shown}); "
            "they were encoded as none of the known categories (all zeros)")


def check_record(record) -> dict:
    """Check a column-preprocessing record read from a model file; return it, or raise ValueError naming the fault."""
    def fail(why):
        raise ValueError(f"the column preprocessing record is invalid: {why}")

    if not isinstance(record, dict):
        fail(f"expected a JSON object, got {type(record).__name__}")
    if record.get("version") != RECORD_VERSION:
        fail(f"version {record.get('version')!r}; this backprop reads version {RECORD_VERSION}")
    inputs = record.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        fail("'inputs' must be a non-empty list")
    names = set()
    for i, spec in enumerate(inputs):
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str) or spec.get("kind") not in KINDS:
            fail(f"input {i} must have a name and a kind ({' or '.join(KINDS)})")
        if spec["name"] in names:
            fail(f"column {spec['name']!r} is listed twice")
        names.add(spec["name"])
        if not (isinstance(spec.get("missing"), int) and not isinstance(spec.get("missing"), bool)
                and spec["missing"] >= 0):
            fail(f"column {spec['name']!r}: 'missing' must be a count >= 0")
        if spec["kind"] == "number":
            fill = spec.get("fill")
            if isinstance(fill, bool) or not isinstance(fill, (int, float)) or not np.isfinite(fill):
                fail(f"column {spec['name']!r}: 'fill' must be a finite number; got {fill!r}")
        else:
            cats = spec.get("categories")
            if not (isinstance(cats, list) and cats and all(isinstance(c, str) for c in cats)
                    and len(set(cats)) == len(cats)):
                fail(f"column {spec['name']!r}: 'categories' must be a non-empty list of distinct strings")
    ignored = record.get("ignored")
    if not (isinstance(ignored, list) and all(isinstance(c, str) for c in ignored)):
        fail("'ignored' must be a list of column names")
    if record.get("target") is not None and not isinstance(record["target"], str):
        fail("'target' must be a column name or null")
    if not isinstance(record.get("header"), bool):
        fail("'header' must be true or false")
    return record


def table_inputs(X, metadata: dict):
    """``X`` for a model: a pandas DataFrame goes through the model's column record (by column name);
    anything else is returned as it is.

    A model without a record (trained on arrays) takes a DataFrame's columns
    by the names it was trained on when it knows them, else in order.
    """
    if not (hasattr(X, "columns") and hasattr(X, "iloc")):
        return X
    record = metadata.get("columns")
    if record is not None:
        return ColumnPreprocessing.from_dict(record).transform(X)
    names = metadata.get("feature_names")
    present = [str(c) for c in X.columns]
    if names and all(n in present for n in names):
        X = X.iloc[:, [present.index(n) for n in names]]
    return X.to_numpy(dtype=np.float64, na_value=np.nan)
