"""Your own table through the command line and the Python API: files the tests write, as people have them."""

import csv
import gzip
import io
import json

import numpy as np
import pandas as pd
import pytest

import backprop as bp
from backprop.cli import main

from support import one_error_line
from support import run_cli as run

QUICK = ["--hidden", "8", "--epochs", "5", "--quiet"]


def mixed_rows(n=120, seed=0):
    """A mixed-type table: numbers with gaps (several spellings), a text column, a label."""
    rng = np.random.default_rng(seed)
    rows = []
    spellings = ["", "NA", "N/A", "NaN", "null", "?"]
    for i in range(n):
        size = rng.normal()
        color = ["red", "green", "blue"][i % 3]
        weight = rng.normal()
        label = "yes" if size + (color == "red") * 1.5 + 0.3 * weight > 0.5 else "no"
        rows.append({"size": spellings[i % 6] if i % 10 == 0 else f"{size:.4f}",
                     "color": "" if i % 17 == 0 else color, "weight": f"{weight:.4f}", "label": label})
    return rows


def write_rows(path, rows, sep=",", columns=None, header=True, compress=False):
    columns = columns or list(rows[0])
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=sep, lineterminator="\n")
    if header:
        writer.writerow(columns)
    writer.writerows([[r[c] for c in columns] for r in rows])
    data = buffer.getvalue().encode()
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


@pytest.fixture
def mixed_model(tmp_path, capsys):
    """A model trained on a semicolon-separated, gzip-compressed mixed table with no preprocessing flags."""
    data = write_rows(tmp_path / "mixed.csv.gz", mixed_rows(), sep=";", compress=True)
    model = tmp_path / "mixed.safetensors"
    code, out, err = run(capsys, "train", "--csv", data, "--target", "label", "--out", model, "--json",
                         "--hidden", "8", "--epochs", "100")
    assert code == 0, err
    return model, data, json.loads(out)


def predictions(capsys, *argv):
    code, out, err = run(capsys, "predict", *argv)
    assert code == 0, err
    return out, err


def test_a_mixed_table_trains_without_flags_and_its_columns_may_come_in_any_order(capsys, tmp_path, mixed_model):
    model, _, result = mixed_model
    assert result["val_accuracy"] > 0.75
    rows = mixed_rows(40, seed=5)
    plain = write_rows(tmp_path / "new.csv", rows, columns=["size", "color", "weight"])
    shuffled = write_rows(tmp_path / "shuffled.tsv", [dict(r, note="x") for r in rows], sep="\t",
                          columns=["weight", "note", "label", "color", "size"])  # extra columns, target too
    first, _ = predictions(capsys, model, plain)
    second, _ = predictions(capsys, model, shuffled)
    assert first == second and len(first.splitlines()) == 41
    # The Python API takes a DataFrame the same way.
    loaded = bp.load(model)
    frame = pd.read_csv(shuffled, sep="\t", keep_default_na=False, na_values=["", "NA", "N/A", "NaN", "null", "?"])
    labels = [line.split(",")[0] for line in first.splitlines()[1:]]
    assert loaded.predict(frame).tolist() == labels
    assert loaded.predict(frame[["size", "color", "weight"]]).tolist() == labels


def test_a_missing_column_is_refused_by_name(capsys, tmp_path, mixed_model):
    model = mixed_model[0]
    path = write_rows(tmp_path / "partial.csv", mixed_rows(5), columns=["size", "label"])
    code, _, err = run(capsys, "predict", model, path)
    assert code == 2
    assert "lacks column(s) 'color', 'weight'; the model takes size, color, weight" in one_error_line(err)


def test_an_unseen_category_is_encoded_as_none_and_reported(capsys, tmp_path, mixed_model):
    model = mixed_model[0]
    path = tmp_path / "purple.csv"
    path.write_text("size,color,weight\n0.1,purple,0.2\n0.1,red,0.2\n")
    out, err = predictions(capsys, model, path)
    assert len(out.splitlines()) == 3
    assert "warning: column 'color': 1 row(s) hold categories not seen in training ('purple')" in err
    assert "all zeros" in err


def test_an_identifier_column_is_refused_and_ignore_drops_it(capsys, tmp_path):
    rows = [dict(r, id=f"c{i:05d}") for i, r in enumerate(mixed_rows())]
    path = write_rows(tmp_path / "ids.csv", rows)
    code, _, err = run(capsys, "train", "--csv", path, "--target", "label", *QUICK)
    assert code == 2
    line = one_error_line(err)
    assert "text column 'id'" in line and "--ignore id" in line
    code, _, err = run(capsys, "train", "--csv", path, "--target", "label", "--ignore", "id", *QUICK,
                       "--out", tmp_path / "m.safetensors")
    assert code == 0, err
    code, out, _ = run(capsys, "info", tmp_path / "m.safetensors", "--json")
    inputs = {row["column"]: row["kind"] for row in json.loads(out)["inputs"]}
    assert inputs == {"size": "number", "color": "category", "weight": "number", "id": "ignored"}


def test_headerless_files_need_no_header_and_are_checked_by_count(capsys, tmp_path):
    rows = mixed_rows()
    train_file = write_rows(tmp_path / "plain.csv", rows, header=False)
    model = tmp_path / "m.safetensors"
    code, _, err = run(capsys, "train", "--csv", train_file, "--target", "3", "--no-header", *QUICK, "--out", model)
    assert code == 0, err
    three = write_rows(tmp_path / "three.csv", rows[:3], columns=["size", "color", "weight"], header=False)
    out, _ = predictions(capsys, model, three, "--no-header")
    assert len(out.splitlines()) == 4  # a header line and three predictions: no row was taken for a header
    code, _, err = run(capsys, "predict", model, three)
    assert code == 2 and "--no-header" in one_error_line(err)
    two = tmp_path / "two.csv"
    two.write_text("0.1,red\n0.2,blue\n")
    code, _, err = run(capsys, "predict", model, two, "--no-header")
    assert code == 2 and "has 2 columns, but without a header row they must be the model's 3" in one_error_line(err)


def test_a_headered_model_reads_a_headerless_file_in_training_order(capsys, tmp_path, mixed_model):
    model = mixed_model[0]
    rows = mixed_rows(4, seed=9)
    named = write_rows(tmp_path / "named.csv", rows, columns=["size", "color", "weight"])
    bare = write_rows(tmp_path / "bare.csv", rows, columns=["size", "color", "weight"], header=False)
    assert predictions(capsys, model, named)[0] == predictions(capsys, model, bare, "--no-header")[0]


def test_evaluate_with_no_data_scores_exactly_the_validation_rows(capsys, tmp_path, mixed_model):
    model, data, result = mixed_model
    code, out, err = run(capsys, "evaluate", model, "--json")
    assert code == 0, err
    scores = json.loads(out)
    assert scores["n_samples"] == 24  # 20% of 120
    assert scores["loss"] == pytest.approx(result["val_loss"]) and scores["accuracy"] == result["val_accuracy"]
    code, out, _ = run(capsys, "evaluate", model, "--split", "train", "--json")
    assert json.loads(out)["n_samples"] == 96
    code, out, _ = run(capsys, "evaluate", model, "--csv", data, "--split", "validation", "--json")
    assert json.loads(out)["loss"] == pytest.approx(result["val_loss"])


def test_evaluate_refuses_a_changed_file_and_a_validation_split_of_another_file(capsys, tmp_path, mixed_model):
    model, data, _ = mixed_model
    other = write_rows(tmp_path / "other.csv", mixed_rows(30, seed=2))
    code, _, err = run(capsys, "evaluate", model, "--csv", other, "--split", "validation")
    assert code == 2 and "other.csv is not that file" in one_error_line(err)
    code, out, err = run(capsys, "evaluate", model, "--csv", other, "--json")  # every row of it
    assert code == 0 and json.loads(out)["n_samples"] == 30, err
    data.write_bytes(gzip.compress(gzip.decompress(data.read_bytes()) + b"1;red;2;yes\n"))
    code, _, err = run(capsys, "evaluate", model)
    assert code == 2 and "has changed since the model was trained" in one_error_line(err)


def test_regression_metrics_are_in_the_targets_units_everywhere(capsys, tmp_path):
    rng = np.random.default_rng(0)
    x = rng.uniform(-3, 3, 150)
    path = tmp_path / "prices.csv"
    path.write_text("x,price\n" + "".join(f"{v:.4f},{1000 + 400 * np.sin(v) + rng.normal(0, 20):.2f}\n" for v in x))
    model = tmp_path / "r.safetensors"
    code, out, err = run(capsys, "train", "--csv", path, "--target", "price", "--hidden", "16", "--epochs", "40",
                         "--json", "--out", model)
    assert code == 0, err
    trained = json.loads(out)
    code, out, _ = run(capsys, "evaluate", model, "--json")
    scores = json.loads(out)
    assert scores["mae"] == pytest.approx(trained["val_mae"], rel=1e-9)
    assert trained["val_mae"] > 5  # in price units, not standardised ones
    assert trained["history"]["epochs"][-1]["val_mae"] == pytest.approx(trained["val_mae"]) or \
        trained["history"]["stopped_early"]


def test_predict_reads_standard_input_and_writes_standard_output_and_json(capsys, tmp_path, mixed_model,
                                                                           monkeypatch):
    model = mixed_model[0]
    text = "size,color,weight\n0.5,red,0.1\n-1,blue,0\n"
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(text.encode())))
    out, _ = predictions(capsys, model, "-", "--out", "-")
    assert out.splitlines()[0] == "prediction,probability_no,probability_yes" and len(out.splitlines()) == 3
    assert not (tmp_path / "-").exists()
    path = tmp_path / "in.csv"
    path.write_text(text)
    out, _ = predictions(capsys, model, path, "--json")
    result = json.loads(out)
    assert result["n_samples"] == 2 and result["classes"] == ["no", "yes"]
    assert np.allclose(np.sum(result["probabilities"], axis=1), 1)


def test_explain_takes_table_rows_through_the_column_record(capsys, mixed_model):
    model, data, _ = mixed_model
    code, out, err = run(capsys, "explain", "--model", model, "--csv", data, "--index", "2",
                         "--weight", "L,0,0", "--json")
    assert code == 0, err
    assert json.loads(out)  # a derivation, as JSON through the --format json alias


def test_onnx_export_refuses_text_columns_and_fills_missing_numbers(capsys, tmp_path, mixed_model):
    pytest.importorskip("onnxruntime")
    code, _, err = run(capsys, "export", mixed_model[0], tmp_path / "m.onnx")
    assert code == 2 and "one-hot encodes the text column(s) 'color'" in one_error_line(err)
    rows = [{k: v for k, v in r.items() if k != "color"} for r in mixed_rows()]
    path = write_rows(tmp_path / "numbers.csv", rows)
    model = tmp_path / "n.safetensors"
    assert run(capsys, "train", "--csv", path, "--target", "label", *QUICK, "--out", model)[0] == 0
    code, out, err = run(capsys, "export", model, tmp_path / "n.onnx", "--json")
    assert code == 0 and json.loads(out)["columns"] == ["size", "weight"], err
    import onnxruntime

    X = np.array([[np.nan, 0.5], [0.3, -1.0]])
    session = onnxruntime.InferenceSession(str(tmp_path / "n.onnx"))
    onnx_proba = session.run(None, {"X": X})[0]
    ours = bp.load(model).predict_proba(pd.DataFrame(X, columns=["size", "weight"]))
    np.testing.assert_allclose(onnx_proba, ours, rtol=1e-6)


def test_info_on_a_table_says_it_is_not_a_model_file(capsys, tmp_path):
    path = write_rows(tmp_path / "t.csv", mixed_rows(3))
    code, _, err = run(capsys, "info", path)
    assert code == 2
    line = one_error_line(err)
    assert "is not a model file" in line and "claims" not in line


def test_a_wrong_delimiter_is_named_as_the_likely_cause(capsys, tmp_path):
    path = tmp_path / "semi.csv"
    path.write_text("x1;x2;animal\n1;2;cat\n3;4;dog\n")
    code, _, err = run(capsys, "train", "--csv", path, "--target", "animal", "--delimiter", ",")
    assert code == 2
    assert "a name holds ';': is the delimiter right? --delimiter chooses it" in one_error_line(err)
