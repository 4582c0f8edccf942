"""The train, evaluate, predict, info and datasets commands, through the entry point."""

import csv
import json
import subprocess
import sys

import numpy as np
import pytest

import backprop as bp
from backprop.cli import main


from support import one_error_line
from support import run_cli as run


@pytest.fixture
def string_csv(tmp_path):
    """A small CSV with string class labels in the middle column."""
    rng = np.random.default_rng(0)
    path = tmp_path / "fruit.csv"
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["weight", "kind", "colour"])
        for _ in range(120):
            kind = rng.integers(0, 2)
            w.writerow([f"{rng.normal(150 + 60 * kind, 10):.3f}", ["apple", "melon"][kind],
                        f"{rng.normal(kind, 0.3):.3f}"])
    return path


def test_default_train_reaches_95_percent_on_digits(capsys, tmp_path):
    code, out, err = run(capsys, "train", "--json", "--out", tmp_path / "d.safetensors")
    assert code == 0, err
    result = json.loads(out)
    assert result["dataset"] == "digits" and result["sizes"][0] == 64
    assert result["val_accuracy"] >= 0.95
    assert {"val_loss", "val_accuracy", "history"} <= set(result)
    # Naming no epochs asks for early stopping within a budget set by the data size (1,438 samples: 140).
    assert len(result["history"]["epochs"]) == result["epochs_run"] <= 140
    assert result["history"]["stopped_early"] == ("stopped early" in result["stop"]["reason"])
    assert (tmp_path / "d.safetensors").stat().st_size > 0


def test_train_writes_plots_and_history_and_prints_a_summary(capsys, tmp_path):
    code, out, err = run(capsys, "train", "--dataset", "moons", "--hidden", "8", "--epochs", "3",
                         "--plots", tmp_path / "plots", "--out", tmp_path / "m.safetensors")
    assert code == 0, err
    assert "val_accuracy" in out and "parameters" in out
    history = json.loads((tmp_path / "plots" / "history.json").read_text())
    assert len(history["epochs"]) == 3 and "confusion_matrix" in history
    pngs = sorted(p.name for p in (tmp_path / "plots").glob("*.png"))
    assert {"loss.png", "accuracy.png", "confusion_matrix.png", "decision_boundary.png"} <= set(pngs)
    assert all((tmp_path / "plots" / name).stat().st_size > 1000 for name in pngs)


def test_csv_round_trip_with_string_labels(capsys, tmp_path, string_csv):
    model_path = tmp_path / "fruit.safetensors"
    code, out, err = run(capsys, "train", "--csv", string_csv, "--target", "kind", "--hidden", "8",
                         "--epochs", "20", "--quiet", "--out", model_path)
    assert code == 0 and out == "", err
    assert bp.load(model_path).classes == ["apple", "melon"]

    code, out, _ = run(capsys, "evaluate", model_path, "--csv", string_csv, "--target", "kind", "--json")
    scores = json.loads(out)
    assert code == 0 and scores["accuracy"] > 0.9 and scores["classes"] == ["apple", "melon"]

    features = tmp_path / "features.csv"
    with string_csv.open() as src, features.open("w", newline="") as dst:
        rows = list(csv.reader(src))
        csv.writer(dst).writerows([[r[0], r[2]] for r in rows])
    code, out, err = run(capsys, "predict", model_path, features, "--out", tmp_path / "pred.csv")
    assert code == 0, err
    predicted = list(csv.DictReader((tmp_path / "pred.csv").open()))
    assert len(predicted) == 120
    truth = [r[1] for r in rows[1:]]
    assert np.mean([p["prediction"] == t for p, t in zip(predicted, truth)]) > 0.9


def test_evaluate_and_info_on_the_training_data(capsys, tmp_path):
    model_path = tmp_path / "iris.safetensors"
    assert run(capsys, "train", "--dataset", "iris", "--epochs", "5", "--quiet", "--out", model_path)[0] == 0
    code, out, _ = run(capsys, "evaluate", model_path)
    assert code == 0 and "confusion matrix" in out and "precision" in out
    code, out, _ = run(capsys, "evaluate", model_path, "--json")
    assert json.loads(out)["n_samples"] == 30  # 20% of iris, the same split as in training
    code, out, _ = run(capsys, "info", model_path, "--json")
    info = json.loads(out)
    assert info["sizes"] == [4, 64, 3] and info["n_parameters"] == 4 * 64 + 64 + 64 * 3 + 3
    assert info["metadata"]["training"]["dataset"] == "iris"
    code, out, _ = run(capsys, "info", model_path)
    assert code == 0 and "64 x 4" in out


def test_regression_from_the_shell(capsys, tmp_path):
    code, out, err = run(capsys, "train", "--dataset", "sine", "--hidden", "16", "--activation", "tanh",
                         "--lr", "0.01", "--epochs", "60", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["task"] == "regression" and result["val_r2"] > 0.8


def test_datasets_lists_sets_and_mnist_paths(capsys, tmp_path):
    code, out, _ = run(capsys, "datasets", "--data-dir", tmp_path, "--json")
    listing = json.loads(out)
    assert code == 0 and {"digits", "mnist", "moons", "diabetes"} <= {d["name"] for d in listing["datasets"]}
    assert str(tmp_path) in listing["mnist_search_paths"]
    code, out, _ = run(capsys, "datasets")
    assert "digits" in out and "MNIST is looked for in" in out


@pytest.mark.parametrize("argv, message", [
    (["train", "--epochs", "0"], "--epochs must be a positive integer; got 0"),
    (["train", "--lr", "-1"], "--lr must be positive"),
    (["train", "--csv", "missing.csv", "--target", "y"], "missing.csv"),
    (["train", "--csv", "{csv}"], "--csv needs --target"),
    (["train", "--csv", "{csv}", "--target", "nope"], "nope"),
    (["train", "--dataset", "iris", "--csv", "{csv}", "--target", "kind"], "give one of"),
    (["train", "--out", "no/such/folder/m.safetensors"], "does not exist"),
    (["train", "--dataset", "iris", "--validation-split", "1.5"], "--validation-split must be in"),
    (["evaluate", "missing.safetensors"], "no model file"),
    (["info", "{csv}"], "not a"),
    (["predict", "missing.safetensors", "{csv}"], "no model file"),
])
def test_bad_input_exits_2_with_one_line(capsys, string_csv, argv, message):
    argv = [a.replace("{csv}", str(string_csv)) for a in argv]
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert message in one_error_line(err)


def test_bad_usage_exits_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--activation", "swish"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'swish'" in capsys.readouterr().err


def test_divergence_is_reported_without_traceback(capsys):
    code, _, err = run(capsys, "train", "--dataset", "iris", "--optimizer", "sgd", "--lr", "1e6",
                       "--activation", "relu", "--output-activation", "identity", "--loss", "sse",
                       "--epochs", "50", "--quiet")
    assert code == 2 and "smaller learning rate" in one_error_line(err)


def test_every_command_has_help_and_python_m_works():
    for command in ("train", "evaluate", "predict", "info", "datasets"):
        result = subprocess.run([sys.executable, "-m", "backprop", command, "--help"],
                                capture_output=True, text=True)
        assert result.returncode == 0 and "usage: backprop" in result.stdout
