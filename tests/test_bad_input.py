"""The bad-input catalogue of issue 8: each kind of bad input gets one line that names the problem.

Through the command line (``backprop.cli.main``) where the input can reach it:
exit code 2, exactly one non-empty line on stderr, no traceback, and the
message names the file, the line or column, the bad value. Through the Python
API otherwise: ValueError or TypeError with a message naming the value.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
from safetensors import safe_open
from safetensors.numpy import save_file

import backprop as bp
from backprop import modelfile
from backprop.cli import main
from backprop.data import load_csv, load_mnist, read_idx, write_idx
from backprop.data.mnist import IMAGES_MAGIC, LABELS_MAGIC, SIZES

TRAIN = ["train", "--epochs", "1", "--hidden", "2", "--quiet"]


def error_line(capsys, *argv) -> str:
    """Run the CLI; assert exit code 2 and one line on stderr without a traceback; return that line."""
    code = main([str(a) for a in argv])
    _, err = capsys.readouterr()
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, err
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith(f"backprop {argv[0]}: error: "), lines[0]
    return lines[0]


def write(path, text: str):
    path.write_text(text, encoding="utf-8")
    return path


def table(n: int = 20, *, cell=lambda i, j: f"{(i * 7 + j * 3) % 11 - 5}", label=lambda i: i % 2) -> str:
    """A small CSV: features a, b, target t."""
    rows = [f"{cell(i, 0)},{cell(i, 1)},{label(i)}" for i in range(n)]
    return "a,b,t\n" + "\n".join(rows) + "\n"


@pytest.fixture
def model_path(tmp_path, capsys):
    """A tiny classifier (features a, b; classes 0 and 1) trained through the CLI."""
    data = write(tmp_path / "train.csv", table())
    path = tmp_path / "m.safetensors"
    assert main([*TRAIN, "--csv", str(data), "--target", "t", "--out", str(path)]) == 0
    capsys.readouterr()
    return path


# -- CSV files ----------------------------------------------------------------------------------------

def test_malformed_csv_that_is_not_text(capsys, tmp_path):
    path = tmp_path / "junk.csv"
    path.write_bytes(b"\xff\xfe\x00\x81binary junk\x00\n\x90\x91")
    line = error_line(capsys, *TRAIN, "--csv", path, "--target", "t")
    assert str(path) in line and "not UTF-8 text" in line


def test_malformed_csv_with_a_field_too_large(capsys, tmp_path):
    path = write(tmp_path / "huge_field.csv", 'a,b,t\n1,"' + "9" * 200_000 + '",0\n')
    line = error_line(capsys, *TRAIN, "--csv", path, "--target", "t")
    assert str(path) in line and "not a readable CSV file" in line and "field larger than field limit" in line


def test_ragged_csv_names_the_line_and_both_counts(capsys, tmp_path):
    path = write(tmp_path / "ragged.csv", "a,b,t\n1,2,0\n1,0\n3,4,1\n")
    line = error_line(capsys, *TRAIN, "--csv", path, "--target", "t")
    assert f"{path}, line 3: 2 fields, but the header has 3 columns" in line


def test_empty_csv(capsys, tmp_path):
    path = write(tmp_path / "empty.csv", "")
    line = error_line(capsys, *TRAIN, "--csv", path, "--target", "t")
    assert f"{path} is empty" in line


def test_header_only_csv(capsys, tmp_path):
    path = write(tmp_path / "header.csv", "a,b,t\n")
    line = error_line(capsys, *TRAIN, "--csv", path, "--target", "t")
    assert f"{path} has a header row but no data rows" in line


def test_non_numeric_feature_names_line_column_and_value(capsys, tmp_path):
    path = write(tmp_path / "words.csv", "a,b,t\n1,2,0\n3,four,1\n")
    line = error_line(capsys, *TRAIN, "--csv", path, "--target", "t")
    assert f"{path}, line 3, column 'b': 'four' is not a number" in line


def test_missing_target_column(capsys, tmp_path):
    path = write(tmp_path / "data.csv", table())
    line = error_line(capsys, *TRAIN, "--csv", path, "--target", "label")
    assert "no column named 'label'; the columns are a, b, t" in line and str(path) in line
    line = error_line(capsys, *TRAIN, "--csv", path)
    assert "--csv needs --target COLUMN" in line


def test_one_class_only(capsys, tmp_path):
    path = write(tmp_path / "one.csv", table(label=lambda i: "spam"))
    line = error_line(capsys, *TRAIN, "--csv", path, "--target", "t")
    assert str(path) in line and "only one class ('spam')" in line and "at least two" in line


# NaN and nan are missing values (filled from the training rows, tests/data/test_table.py); infinity is refused.
@pytest.mark.parametrize("value", ["inf", "-inf", "Infinity"])
def test_nan_or_inf_in_features(capsys, tmp_path, value):
    path = write(tmp_path / "nan.csv", table(cell=lambda i, j: value if (i, j) == (4, 1) else "1"))
    line = error_line(capsys, *TRAIN, "--csv", path, "--target", "t")
    assert f"{path}, line 6, column 'b': non-finite value '{value}'" in line


@pytest.mark.parametrize("value", ["nan", "inf"])
def test_nan_or_inf_in_targets(capsys, tmp_path, value):
    path = write(tmp_path / "target.csv", table(label=lambda i: value if i == 3 else f"{i * 0.37:.2f}"))
    line = error_line(capsys, *TRAIN, "--csv", path, "--target", "t")
    if value == "nan":  # a missing target: the row cannot be learned from
        assert f"{path}, line 5, column 't': the target is missing" in line
    else:
        assert f"{path}, line 5, column 't': non-finite target '{value}'" in line


def test_nan_in_npz_features_and_targets(capsys, tmp_path):
    X = np.zeros((6, 2))
    X[4, 1] = np.nan
    np.savez(tmp_path / "x.npz", X=X, y=np.arange(6) % 2)
    line = error_line(capsys, *TRAIN, "--npz", tmp_path / "x.npz")
    assert "x.npz: X[4, 1] is nan" in line
    np.savez(tmp_path / "y.npz", X=np.zeros((3, 2)), y=np.array([0.5, np.inf, 1.5]))
    line = error_line(capsys, *TRAIN, "--npz", tmp_path / "y.npz")
    assert "y.npz, y: target 1 is inf" in line


def test_nan_or_inf_through_the_python_api():
    net = bp.Network.from_sizes([2, 3, 1], seed=0)
    with pytest.raises(ValueError, match=r"X contains a non-finite value \(nan\) at row 1, column 0"):
        net.forward([[0.0, 1.0], [np.nan, 2.0]])
    with pytest.raises(ValueError, match=r"Y contains a non-finite value \(inf\) at row 0, column 0"):
        net.loss([[0.0, 1.0]], [[np.inf]])
    model = bp.Model.build(2, [3], task="regression", seed=0)
    with pytest.raises(ValueError, match=r"y\[1, 0\] is nan"):
        model.fit(np.zeros((3, 2)), [1.0, np.nan, 2.0], epochs=1)


# -- numbers that overflow --------------------------------------------------------------------------------

@pytest.mark.parametrize("value", ["1e400", "-2.5e309", "9" * 400])
def test_a_number_that_overflows_float64_in_a_csv(capsys, tmp_path, value):
    path = write(tmp_path / "big.csv", table(cell=lambda i, j: value if (i, j) == (2, 0) else "1"))
    line = error_line(capsys, *TRAIN, "--csv", path, "--target", "t")
    assert f"{path}, line 4, column 'a':" in line and "overflows a 64-bit float" in line
    assert len(line) < 300  # the 400-digit value is shortened, not pasted whole


def test_a_target_that_overflows_float64(capsys, tmp_path):
    path = write(tmp_path / "big_target.csv", table(label=lambda i: "1e999" if i == 5 else f"{i / 3:.3f}"))
    line = error_line(capsys, *TRAIN, "--csv", path, "--target", "t")
    assert f"{path}, line 7, column 't': target '1e999' overflows a 64-bit float" in line


def test_a_value_that_overflows_float32_training(capsys, tmp_path):
    """1e39 is a float64 but no float32: without scaling, a float32 network cannot take it."""
    path = write(tmp_path / "f32.csv", table(cell=lambda i, j: "1e39" if (i, j) == (3, 1) else "1"))
    line = error_line(capsys, *TRAIN, "--csv", path, "--target", "t", "--dtype", "float32",
                      "--preprocess", "none", "--validation-split", "0")
    assert "= 1e+39 overflows float32" in line and "rescale the data or use float64" in line


def test_float32_overflow_through_the_python_api():
    X = np.ones((4, 2))
    X[2, 1] = 1e39
    model = bp.Model.build(2, [3], task="classification", classes=[0, 1], dtype="float32",
                           preprocessing="none", seed=0)
    with pytest.raises(ValueError, match=r"X\[2, 1\] = 1e\+39 overflows float32"):
        model.fit(X, [0, 1, 0, 1], epochs=1)
    regressor = bp.Model.build(2, [3], task="regression", dtype="float32", preprocessing="none", seed=0)
    with pytest.raises(ValueError, match=r"y\[1, 0\] = -5e\+40 overflows float32"):
        regressor.fit(np.ones((3, 2)), [1.0, -5e40, 2.0], epochs=1)


def test_standardized_float32_data_near_the_float64_limit_trains_finitely():
    """Scaling happens in float64 before the cast, so huge but finite inputs are not an error there:
    they are standardized into range (and the statistics themselves do not overflow)."""
    X = np.array([[1e300, 1.0], [-1e300, 2.0], [0.0, 3.0], [5e299, 4.0]])
    model = bp.Model.build(2, [3], task="regression", dtype="float32", seed=0)
    model.fit(X, [1e300, -1e300, 0.0, 2e299], epochs=2, lr=0.01)
    assert np.all(np.isfinite(model.predict(X)))
    assert all(np.all(np.isfinite(p)) for layer in model.network.parameters() for p in layer.values()
               if p is not None)


def test_a_feature_whose_range_overflows_minmax_scaling():
    X = np.array([[1.7e308], [-1.7e308]])
    model = bp.Model.build(1, [2], task="classification", classes=[0, 1], preprocessing="minmax", seed=0)
    with pytest.raises(ValueError, match="column 0 ranges from -1.7e\\+308 to 1.7e\\+308, too wide to minmax"):
        model.fit(X, [0, 1], epochs=1)


# -- what the model knows ------------------------------------------------------------------------------------

def test_labels_unknown_to_the_model(capsys, tmp_path, model_path):
    path = write(tmp_path / "eval.csv", table(label=lambda i: 7 if i == 4 else i % 2))
    line = error_line(capsys, "evaluate", model_path, "--csv", path, "--target", "t")
    assert str(path) in line and "label(s) 7 are not among the model's classes (0, 1)" in line


def test_labels_unknown_to_the_model_through_the_python_api(model_path):
    model = bp.load(model_path)
    with pytest.raises(ValueError, match=r"labels \['5'\] are not among the model's classes \[0, 1\]"):
        model.evaluate(np.zeros((2, 2)), [0, 5])


def test_x_y_row_mismatch_in_an_npz_file(capsys, tmp_path):
    np.savez(tmp_path / "rows.npz", X=np.zeros((5, 2)), y=np.array([0, 1, 0]))
    line = error_line(capsys, *TRAIN, "--npz", tmp_path / "rows.npz")
    assert "rows.npz: y must have shape (5,) to match X (5, 2); got (3,)" in line


def test_x_y_row_mismatch_through_the_python_api():
    net = bp.Network.from_sizes([2, 3, 1], seed=0)
    with pytest.raises(ValueError, match="X has 5 rows but Y has 4"):
        net.fit(np.zeros((5, 2)), np.zeros((4, 1)), epochs=1)
    with pytest.raises(ValueError, match="X has 5 rows but Y has 4"):
        net.gradients(np.zeros((5, 2)), np.zeros((4, 1)))
    model = bp.Model.build(2, [3], task="classification", classes=[0, 1], seed=0)
    with pytest.raises(ValueError, match="X has 5 rows but y has 3"):
        model.fit(np.zeros((5, 2)), [0, 1, 0], epochs=1)


def test_feature_count_that_does_not_fit_the_model(capsys, tmp_path, model_path):
    """Columns are matched by name: a missing one is named; without a header the count must fit."""
    only_a = write(tmp_path / "only_a.csv", "a,c\n1,3\n")
    line = error_line(capsys, "predict", model_path, only_a)
    assert f"{only_a} lacks column(s) 'b'; the model takes a, b" in line
    three = write(tmp_path / "three.csv", "1,2,3\n")
    line = error_line(capsys, "predict", model_path, three, "--no-header")
    assert f"{three} has 3 columns, but without a header row they must be the model's 2 input columns" in line
    labelled = write(tmp_path / "labelled.csv", "a,t\n1,0\n4,1\n")
    line = error_line(capsys, "evaluate", model_path, "--csv", labelled, "--target", "t")
    assert f"{labelled} lacks column(s) 'b'" in line


def test_feature_count_through_the_python_api(model_path):
    model = bp.load(model_path)
    with pytest.raises(ValueError, match="X has 3 features but the model expects 2"):
        model.predict(np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"X has 3 columns but the network has 2 input nodes"):
        model.network.forward(np.zeros((4, 3)))


# -- names and numbers in the options ------------------------------------------------------------------------

def test_unknown_names(capsys, tmp_path):
    data = write(tmp_path / "d.csv", table())
    line = error_line(capsys, *TRAIN, "--csv", data, "--target", "t", "--init", "glorious")
    assert "unknown initializer 'glorious'" in line and "glorot_uniform" in line
    line = error_line(capsys, *TRAIN, "--csv", data, "--target", "t", "--recipe", "no-such-recipe")
    assert "no-such-recipe" in line


def test_unknown_choice_is_refused_by_argparse_with_exit_2(capsys):
    """argparse prints its usage, then one error line naming the value and the choices."""
    with pytest.raises(SystemExit) as exc:
        main(["train", "--activation", "sigmoidal"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "invalid choice: 'sigmoidal'" in err.strip().splitlines()[-1]


def test_unknown_names_through_the_python_api():
    with pytest.raises(ValueError, match="sigmoidal"):
        bp.Network.from_sizes([2, 1], activation="sigmoidal")
    with pytest.raises(ValueError, match="squared"):
        bp.Network.from_sizes([2, 1], loss="squared")
    net = bp.Network.from_sizes([2, 1], seed=0)
    with pytest.raises(ValueError, match="adamant"):
        net.fit(np.zeros((2, 2)), np.zeros((2, 1)), optimizer="adamant")
    with pytest.raises(ValueError, match="unknown data set 'mnest'"):
        bp.data.load_dataset("mnest")


@pytest.mark.parametrize("option, value, message", [
    ("--lr", "0", "--lr must be positive; got 0.0"),
    ("--lr", "-0.1", "--lr must be positive; got -0.1"),
    ("--epochs", "0", "--epochs must be a positive integer; got 0"),
    ("--epochs", "-3", "--epochs must be a positive integer; got -3"),
    ("--batch-size", "0", "--batch-size must be a positive integer; got 0"),
    ("--batch-size", "-8", "--batch-size must be a positive integer; got -8"),
])
def test_zero_or_negative_lr_epochs_batch_size(capsys, tmp_path, option, value, message):
    data = write(tmp_path / "d.csv", table())
    line = error_line(capsys, *TRAIN, "--csv", data, "--target", "t", f"{option}={value}")
    assert message in line


@pytest.mark.parametrize("option, value, message", [
    ("lr", 0.0, "lr must be positive"),
    ("lr", -1.0, "lr must be positive"),
    ("epochs", 0, "epochs must be a positive integer; got 0"),
    ("epochs", -2, "epochs must be a positive integer; got -2"),
    ("batch_size", 0, "batch_size must be a positive integer; got 0"),
    ("batch_size", -1, "batch_size must be a positive integer; got -1"),
])
def test_zero_or_negative_options_through_the_python_api(option, value, message):
    net = bp.Network.from_sizes([2, 1], seed=0)
    with pytest.raises(ValueError, match=message):
        net.fit(np.zeros((4, 2)), np.zeros((4, 1)), **{option: value})


# -- output paths ---------------------------------------------------------------------------------------------

def test_unwritable_output_path_for_train(capsys, tmp_path):
    data = write(tmp_path / "d.csv", table())
    missing = tmp_path / "no" / "such" / "m.safetensors"
    line = error_line(capsys, *TRAIN, "--csv", data, "--target", "t", "--out", missing)
    assert f"cannot write {missing}" in line and "does not exist" in line
    folder = tmp_path / "a_folder"
    folder.mkdir()
    line = error_line(capsys, *TRAIN, "--csv", data, "--target", "t", "--out", folder)
    assert f"cannot write {folder}: it is a folder" in line


def test_unwritable_output_path_for_predict(capsys, tmp_path, model_path, monkeypatch):
    features = write(tmp_path / "f.csv", "a,b\n1,2\n")
    a_file = write(tmp_path / "a_file", "x")
    line = error_line(capsys, "predict", model_path, features, "--out", a_file / "p.csv")
    assert f"cannot write {a_file / 'p.csv'}: {a_file} is a file, not a folder" in line
    line = error_line(capsys, "predict", model_path, features, "--out", tmp_path)
    assert f"cannot write {tmp_path}: it is a folder" in line
    # The suite may run as root, who may write anywhere: simulate a folder without write permission.
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    line = error_line(capsys, "predict", model_path, features, "--out", tmp_path / "p.csv")
    assert f"no permission to write in the folder {tmp_path}" in line


# -- model files ----------------------------------------------------------------------------------------------

def test_truncated_model_file(capsys, model_path):
    data = model_path.read_bytes()
    model_path.write_bytes(data[:-10])
    line = error_line(capsys, "info", model_path)
    assert f"{model_path} is truncated" in line
    model_path.write_bytes(data[: len(data) // 3])
    line = error_line(capsys, "info", model_path)
    assert "its header claims" in line and "truncated" in line
    model_path.write_bytes(data[:5])
    line = error_line(capsys, "info", model_path)
    assert "not a model file: only 5 bytes" in line


def test_corrupted_model_file_header(capsys, model_path):
    data = bytearray(model_path.read_bytes())
    data[9] ^= 0xFF  # inside the JSON header
    model_path.write_bytes(bytes(data))
    line = error_line(capsys, "info", model_path)
    assert f"{model_path} is not a valid safetensors file: its header is not JSON" in line


def test_corrupted_model_file_weights_fail_the_checksum(capsys, model_path):
    data = bytearray(model_path.read_bytes())
    data[-3] ^= 0x01  # one bit of the last weight: still a finite number
    model_path.write_bytes(bytes(data))
    line = error_line(capsys, "info", model_path)
    assert f"{model_path} is damaged" in line and "SHA-256" in line


def test_oversized_model_file_header(capsys, model_path):
    """The 8-byte header length may not exceed modelfile.MAX_HEADER_BYTES (16 MiB)."""
    data = model_path.read_bytes()
    model_path.write_bytes((10**12).to_bytes(8, "little") + data[8:])
    line = error_line(capsys, "info", model_path)
    assert "header claims 1000000000000 bytes, more than the 16777216" in line


def test_oversized_model_file_is_refused_without_being_read(capsys, model_path, monkeypatch):
    """A file must be exactly as long as its header says: 10 GB of trailing zeros are refused at once.

    There is no limit on the weights themselves, so a large legitimate model
    still loads; the header's shapes must also match the architecture before
    any weight is read.
    """
    size = model_path.stat().st_size
    with model_path.open("r+b") as fh:
        fh.truncate(10 * 1024**3)  # sparse: takes no disk space
    def never(self, *args, **kwargs):
        raise AssertionError(f"{self} was read whole")

    monkeypatch.setattr(Path, "read_bytes", never)
    line = error_line(capsys, "info", model_path)
    assert f"{10 * 1024**3 - size} unexpected bytes after the {size}" in line


def _rewrite(path, tensors=None, **metadata):
    with safe_open(path, "numpy") as f:
        meta = dict(f.metadata())
        arrays = {k: f.get_tensor(k) for k in f.keys()}
    meta.update(metadata)
    arrays.update(tensors or {})
    save_file(arrays, str(path), metadata=meta)
    return path


def test_metadata_from_another_format_version(capsys, model_path):
    _rewrite(model_path, format_version="2")
    line = error_line(capsys, "info", model_path)
    assert f"{model_path} has model format version '2'" in line and "reads version '1'" in line


def test_metadata_with_wrong_shapes(capsys, model_path):
    config = modelfile.read_metadata(model_path)
    config["network"]["sizes"] = [2, 5, 2]
    _rewrite(model_path, model=json.dumps(config))
    line = error_line(capsys, "info", model_path)
    assert "tensor layers.0.W has shape (2, 2); the architecture in its metadata needs (5, 2)" in line


def test_tensors_with_wrong_shapes(capsys, model_path):
    _rewrite(model_path, tensors={"layers.1.b": np.zeros(7)})
    line = error_line(capsys, "info", model_path)
    assert "tensor layers.1.b has shape (7,); the architecture in its metadata needs (2,)" in line


def test_a_safetensors_file_that_is_not_a_model(capsys, tmp_path):
    path = tmp_path / "other.safetensors"
    save_file({"x": np.zeros(3)}, str(path))
    line = error_line(capsys, "info", path)
    assert "is a safetensors file but not a backprop model" in line


def test_metadata_with_non_finite_numbers_is_refused(capsys, model_path):
    config = modelfile.read_metadata(model_path)
    text = json.dumps(config).replace('"scale": [', '"scale": [NaN, ', 1)
    _rewrite(model_path, model=text)
    line = error_line(capsys, "info", model_path)
    assert "the model metadata is missing or not valid JSON" in line and "NaN" in line


def test_saving_metadata_with_a_non_finite_number_names_it(tmp_path):
    model = bp.Model.build(2, [3], task="classification", classes=[0, 1], seed=0)
    model.metadata["final"] = {"loss": float("nan")}
    with pytest.raises(ValueError, match=r"model\['metadata'\]\['final'\]\['loss'\] is not a finite number"):
        model.save(tmp_path / "m.safetensors")
    assert not (tmp_path / "m.safetensors").exists()


# -- IDX files ----------------------------------------------------------------------------------------------

def _mnist_folder(tmp_path, images=None, labels=None):
    rng = np.random.default_rng(0)
    folder = tmp_path / "mnist"
    folder.mkdir()
    write_idx(folder / "train-images-idx3-ubyte",
              rng.integers(0, 256, (12, 28, 28), dtype=np.uint8) if images is None else images)
    if isinstance(labels, bytes):
        (folder / "train-labels-idx1-ubyte").write_bytes(labels)
    else:
        write_idx(folder / "train-labels-idx1-ubyte",
                  rng.integers(0, 10, 12, dtype=np.uint8) if labels is None else labels)
    return folder


def test_idx_with_a_wrong_magic_number(capsys, tmp_path, monkeypatch):
    monkeypatch.delenv("BACKPROP_DATA", raising=False)
    # Images written as int32: magic 0x00000c03, not MNIST's 0x00000803.
    folder = _mnist_folder(tmp_path, images=np.zeros((12, 28, 28), dtype=np.int32))
    line = error_line(capsys, *TRAIN, "--dataset", "mnist", "--data-dir", folder)
    assert "train-images-idx3-ubyte: magic number 3075 (0x00000c03: int32, 3 dimensions)" in line
    assert f"expected {IMAGES_MAGIC}" in line


def test_idx_with_a_wrong_size(capsys, tmp_path, monkeypatch):
    monkeypatch.delenv("BACKPROP_DATA", raising=False)
    folder = _mnist_folder(tmp_path)
    path = folder / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-100])
    line = error_line(capsys, *TRAIN, "--dataset", "mnist", "--data-dir", folder)
    assert f"{path}: truncated: the header declares shape (12, 28, 28)" in line
    assert f"({12 * 28 * 28} bytes of data) but the file holds {12 * 28 * 28 - 100}" in line


def test_idx_with_a_wrong_checksum(capsys, tmp_path, monkeypatch):
    """A labels file of the published size is checked against the published SHA-256."""
    monkeypatch.delenv("BACKPROP_DATA", raising=False)
    n = SIZES["train-labels-idx1-ubyte"] - 8
    labels = LABELS_MAGIC.to_bytes(4, "big") + n.to_bytes(4, "big") + bytes(n)
    folder = _mnist_folder(tmp_path, labels=labels)
    line = error_line(capsys, *TRAIN, "--dataset", "mnist", "--data-dir", folder)
    assert "train-labels-idx1-ubyte: SHA-256 checksum mismatch" in line


def test_idx_problems_through_the_python_api(tmp_path):
    path = write_idx(tmp_path / "labels", np.arange(5, dtype=np.uint8))
    with pytest.raises(ValueError, match=re.escape(f"magic number {LABELS_MAGIC}")):
        read_idx(path, magic=IMAGES_MAGIC)
    path.write_bytes(path.read_bytes() + b"\x00\x01")
    with pytest.raises(ValueError, match="2 unexpected bytes after the 5 bytes of data"):
        read_idx(path)
    folder = _mnist_folder(tmp_path)
    with pytest.raises(ValueError, match="SHA-256 checksum mismatch for train-labels-idx1-ubyte"):
        load_mnist("train", folder, download=False, checksums={"train-labels-idx1-ubyte": "0" * 64})


def test_load_csv_api_names_the_bad_value(tmp_path):
    path = write(tmp_path / "d.csv", "a,b,t\n1,2,x\n3,oops,y\n")
    with pytest.raises(ValueError, match=re.escape(f"{path}, line 3, column 'b': 'oops' is not a number")):
        load_csv(path, "t")
    with pytest.raises(TypeError, match="target must be a column name or index; got float"):
        load_csv(path, 1.5)


def test_debug_shows_the_traceback_instead(capsys, tmp_path):
    """With --debug the same bad input raises, so that the full traceback is printed."""
    path = write(tmp_path / "empty.csv", "")
    with pytest.raises(ValueError, match="is empty"):
        main(["--debug", *TRAIN, "--csv", str(path), "--target", "t"])


def test_an_error_quoting_a_line_break_stays_one_line(capsys, tmp_path):
    line = error_line(capsys, "info", tmp_path / "two\nlines.safetensors")
    assert "two\\nlines.safetensors" in line
