"""Column preprocessing: learned on the training rows, applied by name, kept as plain data."""

import json

import numpy as np
import pandas as pd
import pytest

from backprop.data import split_dataset, Dataset
from backprop.data.columns import ColumnPreprocessing, check_record
from backprop.data.tabular import load_table, split_table


def frame():
    return pd.DataFrame({"size": [1.0, np.nan, 3.0, 10.0], "color": ["red", "blue", None, "red"]})


def test_fit_learns_a_median_and_the_categories():
    cp = ColumnPreprocessing.fit(frame(), target="y")
    assert cp.columns == ["size", "color"]
    assert cp.feature_names == ["size", "color=blue", "color=red"]
    assert cp.inputs[0]["fill"] == 3.0 and cp.inputs[0]["missing"] == 1
    X = cp.transform(frame())
    np.testing.assert_array_equal(X, [[1, 0, 1], [3, 1, 0], [3, 0, 0], [10, 0, 1]])


def test_columns_are_matched_by_name_in_any_order_and_extra_ones_ignored():
    cp = ColumnPreprocessing.fit(frame())
    shuffled = frame()[["color", "size"]].assign(note="x", y=[0, 1, 0, 1])
    np.testing.assert_array_equal(cp.transform(shuffled), cp.transform(frame()))
    with pytest.raises(ValueError, match=r"lacks column\(s\) 'size'; the model takes size, color"):
        cp.transform(frame()[["color"]])


def test_an_unseen_category_is_all_zeros_and_reported():
    cp = ColumnPreprocessing.fit(frame())
    new = pd.DataFrame({"size": [2.0, 2.0], "color": ["green", "red"]})
    heard = []
    X = cp.transform(new, on_unseen=lambda column, values, count: heard.append((column, values, count)))
    np.testing.assert_array_equal(X, [[2, 0, 0], [2, 0, 1]])
    assert heard == [("color", ["green"], 1)]
    seen = r"column 'color': 1 row\(s\) hold categories not seen in training \('green'\)"
    with pytest.warns(UserWarning, match=seen):
        cp.transform(new)


@pytest.mark.parametrize("values", [[f"user-{i}" for i in range(40)],
                                    [f"2024-01-{i % 28 + 1:02d} 10:{i:02d}" for i in range(40)]])
def test_an_identifier_or_date_column_is_refused_naming_ignore(values):
    data = pd.DataFrame({"x": np.arange(40.0), "id": values})
    with pytest.raises(ValueError, match=r"text column 'id' has 40 distinct values in 40 training rows.*"
                                         r"identifier or a date.*--ignore id \(several: --ignore COLUMN\[,...\]\)"):
        ColumnPreprocessing.fit(data)


def test_the_record_is_plain_data_and_round_trips():
    cp = ColumnPreprocessing.fit(frame(), target="y", ignored=["id"])
    record = json.loads(json.dumps(cp.to_dict()))
    again = ColumnPreprocessing.from_dict(record)
    np.testing.assert_array_equal(again.transform(frame()), cp.transform(frame()))
    assert [row["column"] for row in again.describe()] == ["size", "color", "id"]


@pytest.mark.parametrize("change, match", [
    (lambda r: r.update(version=2), "version 2"),
    (lambda r: r.update(inputs=[]), "non-empty list"),
    (lambda r: r["inputs"][0].update(kind="date"), "must have a name and a kind"),
    (lambda r: r["inputs"][0].update(fill=float("nan")), "'fill' must be a finite number"),
    (lambda r: r["inputs"][0].update(fill="3"), "'fill' must be a finite number"),
    (lambda r: r["inputs"][1].update(categories=["a", "a"]), "distinct strings"),
    (lambda r: r["inputs"][1].update(missing=-1), "'missing' must be a count"),
    (lambda r: r["inputs"].append(dict(r["inputs"][0])), "listed twice"),
    (lambda r: r.update(header="yes"), "'header' must be true or false"),
    (lambda r: r.update(ignored="id"), "'ignored' must be a list"),
])
def test_check_record_names_what_is_wrong(change, match):
    record = ColumnPreprocessing.fit(frame()).to_dict()
    change(record)
    with pytest.raises(ValueError, match=match):
        check_record(record)


def test_the_split_is_split_datasets_and_the_fill_comes_from_training_rows_only(tmp_path):
    rng = np.random.default_rng(1)
    n = 50
    x = rng.normal(size=n)
    path = tmp_path / "t.csv"
    cells = [("NA" if i % 7 == 0 else f"{v:.6f}") for i, v in enumerate(x)]
    path.write_text("x,kind,y\n" + "".join(f"{c},{'ab'[i % 2]},{i % 3}\n" for i, c in enumerate(cells)))
    data = load_table(path, "y")
    train, validation, columns = split_table(data, 0.2, seed=3)
    plain = Dataset(X=np.arange(n)[:, None], y=np.zeros(n), task="regression", name="rows")
    train_rows, validation_rows = (part.X[:, 0].astype(int) for part in split_dataset(plain, 0.2, seed=3))
    np.testing.assert_array_equal(train.y, data.y[train_rows])
    np.testing.assert_array_equal(validation.y, data.y[validation_rows])
    observed = np.array([np.nan if c == "NA" else float(c) for c in cells])
    assert columns.inputs[0]["fill"] == pytest.approx(np.nanmedian(observed[train_rows]))
    assert columns.inputs[0]["fill"] != pytest.approx(np.nanmedian(observed))


def test_a_number_column_with_a_typo_is_named_wherever_the_typo_is(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b,t\n" + "".join(f"{i},{i % 3},{i % 2}\n" for i in range(30)) + "1_000,2,1\n")
    with pytest.raises(ValueError, match=r"t.csv, line 32, column 'a': '1_000' is not a number"):
        load_table(path, "t")
