"""What ``predict`` and ``evaluate`` share: a table's columns matched to the inputs a model takes."""

from __future__ import annotations

import numpy as np

from ..data.columns import ColumnPreprocessing, _unseen_message
from ..data.table import Table
from . import CLIError
from .common import stderr


def warn_unseen(command: str):
    """An ``on_unseen`` callback that prints one warning line on stderr."""
    def report(column, values, count):
        stderr.print(f"backprop {command}: warning: {_unseen_message(column, values, count)}",
                     markup=False, highlight=False, soft_wrap=True)
    return report


def model_inputs(model, table: Table, command: str) -> np.ndarray:
    """The rows of ``table`` as the model's raw inputs (before its scaler), columns matched by name.

    A model trained on a table matches columns by their header names, in any
    order, ignoring extra ones (the target, notes); a headerless table
    (``--no-header``) must have the training input columns, in order, or all
    the training columns (target included) when the model was trained
    headerless too. A model trained on arrays takes the columns by the names
    it knows, else in order.
    """
    frame, header = table.frame, table.options["header"]
    record = model.metadata.get("columns")
    n_in = model.network.sizes[0]
    if record is not None:
        columns = ColumnPreprocessing.from_dict(record)
        if not header and not columns.header and all(c in table.columns for c in columns.columns):
            pass  # trained headerless too: the positions are the names
        elif not header:
            if frame.shape[1] != len(columns.columns):
                raise CLIError(f"{table.source} has {frame.shape[1]} columns, but without a header row they must "
                               f"be the model's {len(columns.columns)} input columns in training order: "
                               f"{', '.join(columns.columns)}")
            frame = frame.set_axis(columns.columns, axis=1)
        return columns.transform(frame, source=table.source, lines=table.lines, on_unseen=warn_unseen(command))
    names = model.metadata.get("feature_names")
    if header and names and all(n in table.columns for n in names):
        frame = frame[list(names)]
    elif frame.shape[1] != n_in:
        extra = " (is the target column still in it?)" if frame.shape[1] > n_in else ""
        raise CLIError(f"{table.source} has {frame.shape[1]} columns but the model takes {n_in} features{extra}")
    from ..data.columns import numbers_of

    values = [numbers_of(frame[c], str(c), table.source, table.lines, strict=True) for c in frame.columns]
    X = np.column_stack(values) if values else np.empty((len(frame), 0))
    if np.isnan(X).any():
        row, col = np.argwhere(np.isnan(X))[0]
        raise CLIError(f"{table.source}, line {table.line(int(row))}, column {str(frame.columns[col])!r}: "
                       "missing value; this model was trained on arrays and has no rule to fill one")
    return X
