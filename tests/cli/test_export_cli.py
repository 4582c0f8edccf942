"""``backprop export MODEL --format onnx OUT.onnx``, through the CLI entry point."""

from __future__ import annotations

import json

import numpy as np
import pytest

import backprop as bp
from backprop.cli import main

ort = pytest.importorskip("onnxruntime")


from support import one_error_line
from support import run_cli as run


def onnx_outputs(path, X):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(["Y"], {"X": X})[0]


@pytest.fixture(scope="module")
def saved_classifier(tmp_path_factory):
    """A small classifier with string labels and standardized features, trained and saved."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(90, 3)) * [1.0, 10.0, 100.0] + [0.0, 5.0, -50.0]
    y = np.where(X[:, 0] + X[:, 1] / 10 > 0.5, "yes", "no")
    model = bp.Model.build(3, [6], task="classification", classes=["no", "yes"], activation="tanh", seed=0)
    model.fit(X, y, epochs=3, optimizer="adam", lr=0.01, seed=0)
    path = tmp_path_factory.mktemp("models") / "clf.safetensors"
    model.save(path)
    return path, model


@pytest.mark.parametrize("dtype, tolerance", [("float64", 1e-6), ("float32", 1e-5)])
def test_export_writes_a_graph_that_predicts_like_the_model(capsys, tmp_path, dtype, tolerance):
    model = bp.Model.build(4, [5, 3], task="regression", n_targets=2, activation="elu", dtype=dtype, seed=1)
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 4)) * 20 + 3
    model.fit(X, X[:, :2] * 7, epochs=2, seed=0)
    model.save(tmp_path / "reg.safetensors")

    code, out, err = run(capsys, "export", tmp_path / "reg.safetensors", "--format", "onnx",
                         tmp_path / "reg.onnx")
    assert code == 0, err
    assert str(tmp_path / "reg.onnx") in out and err == ""
    X_test = (rng.normal(size=(200, 4)) * 50).astype(dtype)
    np.testing.assert_allclose(onnx_outputs(tmp_path / "reg.onnx", X_test), model.predict(X_test),
                               rtol=tolerance, atol=tolerance)


def test_export_json_and_the_default_format(capsys, tmp_path, saved_classifier):
    path, model = saved_classifier
    code, out, err = run(capsys, "export", path, tmp_path / "clf.onnx", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["format"] == "onnx" and result["input"] == "X" and result["output"] == "Y"
    assert result["n_features"] == 3 and result["n_outputs"] == 2 and result["bytes"] > 0
    X = np.random.default_rng(2).normal(size=(50, 3)) * 30
    np.testing.assert_allclose(onnx_outputs(tmp_path / "clf.onnx", X), model.predict_proba(X),
                               rtol=1e-6, atol=1e-6)


def test_export_errors_are_one_line(capsys, tmp_path, saved_classifier):
    path, _ = saved_classifier
    code, out, err = run(capsys, "export", path, tmp_path / "missing" / "m.onnx")
    assert code == 2 and "folder" in one_error_line(err) and "does not exist" in err
    not_a_model = tmp_path / "junk.safetensors"
    not_a_model.write_bytes(b"not a model at all")
    code, out, err = run(capsys, "export", not_a_model, tmp_path / "m.onnx")
    assert code == 2 and one_error_line(err).startswith("backprop export: error:")
    code, out, err = run(capsys, "export", tmp_path / "nope.safetensors", tmp_path / "m.onnx")
    assert code == 2 and "no model file" in one_error_line(err)
    assert not (tmp_path / "m.onnx").exists()


def test_export_refuses_an_unknown_format(capsys, tmp_path, saved_classifier):
    path, _ = saved_classifier
    with pytest.raises(SystemExit) as exit_info:
        main(["export", str(path), str(tmp_path / "m.tflite"), "--format", "tflite"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'tflite'" in capsys.readouterr().err


def test_export_is_listed_in_the_help(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "export" in capsys.readouterr().out
