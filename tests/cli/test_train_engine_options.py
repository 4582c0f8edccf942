"""What the one engine gives the command line: dropout and class weights, kept in the model file."""

import json

import numpy as np
import pytest

import backprop as bp
from support import run_cli as run


def test_dropout_is_trained_saved_described_and_exported_as_identity(capsys, tmp_path):
    model = tmp_path / "m.safetensors"
    code, out, err = run(capsys, "train", "--dataset", "iris", "--hidden", "16,8", "--dropout", "0.2,0.4",
                         "--epochs", "3", "--json", "--out", model)
    assert code == 0, err
    loaded = bp.load(model)
    assert loaded.network.dropout == [0.0, 0.2, 0.4]
    assert [type(layer).__name__ for layer in loaded.network.stack] == \
        ["Dense", "Dropout", "Dense", "Dropout", "Dense"]
    code, out, err = run(capsys, "info", model, "--json")
    assert code == 0 and [row["dropout_before"] for row in json.loads(out)["layers"]] == [0.0, 0.2, 0.4]
    ort = pytest.importorskip("onnxruntime")
    onnx_path = tmp_path / "m.onnx"
    code, out, err = run(capsys, "export", model, onnx_path)
    assert code == 0, err
    X = np.random.default_rng(0).normal(size=(5, 4))
    session = ort.InferenceSession(str(onnx_path))
    (onnx_out,) = session.run(None, {session.get_inputs()[0].name: X})
    np.testing.assert_allclose(onnx_out, loaded.predict_proba(X), rtol=1e-10, atol=1e-12)


def test_class_weight_balanced_changes_the_training_and_is_refused_for_regression(capsys, tmp_path):
    args = ["train", "--dataset", "iris", "--epochs", "2", "--json", "--quiet"]
    code, plain, err = run(capsys, *args)
    assert code == 0, err
    code, weighted, err = run(capsys, *args, "--class-weight", "balanced")
    assert code == 0, err
    # iris's classes are nearly balanced, but not in the training split: the weights move the loss.
    assert json.loads(plain)["loss"] != json.loads(weighted)["loss"]
    code, out, err = run(capsys, "train", "--dataset", "sine", "--class-weight", "balanced", "--epochs", "1")
    assert code == 2 and "--class-weight balanced is for classification" in err


@pytest.mark.parametrize("rates", ["0.2,0.3", "1.0", "-0.1"])
def test_bad_dropout_rates_are_named(capsys, rates):
    code, out, err = run(capsys, "train", "--dataset", "iris", "--dropout", rates, "--epochs", "1")
    assert code == 2 and "--dropout takes one rate, or one per hidden layer" in err
    assert err.count("\n") == 1


def test_input_dropout_and_max_norm_reach_the_network_and_the_optimizer(capsys, tmp_path):
    model = tmp_path / "m.safetensors"
    code, out, err = run(capsys, "train", "--dataset", "iris", "--hidden", "8", "--input-dropout", "0.2",
                         "--max-norm", "0.5", "--epochs", "5", "--quiet", "--out", model)
    assert code == 0, err
    net = bp.load(model).network
    assert net.dropout == [0.2, 0.0]
    # Every unit's incoming weights were kept inside the ball of radius 0.5.
    assert all(np.linalg.norm(layer.W, axis=1).max() <= 0.5 + 1e-12 for layer in net.layers)
    for flag, value, message in [("--input-dropout", "1.5", "--input-dropout must be in [0, 1)"),
                                 ("--max-norm", "0", "--max-norm must be positive")]:
        code, out, err = run(capsys, "train", "--dataset", "iris", flag, value, "--epochs", "1")
        assert code == 2 and message in err


def test_an_exploding_run_is_stopped_as_divergence_in_one_line(capsys):
    # Issue 17, case 17: finite but exploding (loss 1e218) used to exit 0.
    code, out, err = run(capsys, "train", "--dataset", "iris", "--optimizer", "sgd", "--lr", "1e10",
                         "--epochs", "30", "--quiet")
    assert code == 2 and "the loss diverged" in err and "smaller learning rate" in err
    assert err.count("\n") == 1


def test_a_recipes_momentum_stays_with_its_optimizer(capsys, tmp_path):
    recipe = tmp_path / "r.toml"
    recipe.write_text('[train]\ndataset = "iris"\nhidden = [8]\nepochs = 2\noptimizer = "nesterov"\nmomentum = 0.5\n')
    model = tmp_path / "m.safetensors"
    # Trying another optimizer on a recipe is an ordinary thing to do; the recipe's momentum is not
    # the user's, and Adam has none.
    code, out, err = run(capsys, "train", "--recipe", recipe, "--optimizer", "adam", "--json", "--out", model)
    assert code == 0, err
    training = bp.load(model).metadata["training"]
    assert training["optimizer"] == "adam" and training["momentum"] is None
    code, out, err = run(capsys, "train", "--recipe", recipe, "--json", "--out", model)
    assert code == 0, err
    assert bp.load(model).metadata["training"]["momentum"] == 0.5
    # Asked for by the user, it is a mistake, said in one line.
    code, out, err = run(capsys, "train", "--dataset", "iris", "--optimizer", "rmsprop", "--momentum", "0.5")
    assert code == 2 and "--momentum" in err and "rmsprop" in err and "Traceback" not in err


def test_schedule_cosine_anneals_over_the_epochs_given(capsys):
    code, out, err = run(capsys, "train", "--dataset", "iris", "--epochs", "5", "--lr", "0.01",
                         "--schedule", "cosine", "--json", "--quiet")
    assert code == 0, err
    lrs = [r["lr"] for r in json.loads(out)["history"]["epochs"]]
    assert lrs == pytest.approx([0.01 * (1 + np.cos(np.pi * e / 5)) / 2 for e in range(5)])


def test_the_engine_option_reaches_fit_from_a_flag_and_from_a_recipe(capsys, tmp_path, monkeypatch):
    from backprop.core.training import compiled

    asked = []
    real = compiled.takes_the_compiled_pass
    monkeypatch.setattr(compiled, "takes_the_compiled_pass", lambda *a: asked.append(a[-1]) or real(*a))
    args = ["train", "--dataset", "iris", "--hidden", "8", "--epochs", "2", "--json", "--quiet"]
    code, numpy_run, err = run(capsys, *args, "--engine", "numpy")
    assert code == 0, err
    assert json.loads(numpy_run)["history"]["engine"] == "numpy"
    recipe = tmp_path / "r.toml"
    recipe.write_text('[train]\nengine = "compiled"\n')
    if compiled.numba_installed():
        code, compiled_run, err = run(capsys, *args, "--recipe", recipe)
        assert code == 0, err
        assert json.loads(compiled_run)["loss"] == pytest.approx(json.loads(numpy_run)["loss"], rel=1e-9)
        assert json.loads(compiled_run)["history"]["engine"] == "compiled"
        assert isinstance(json.loads(compiled_run)["history"]["compile_seconds"], float)  # recorded, not judged
        code, out, err = run(capsys, *args[:-2], "--recipe", recipe)  # the table says so too
        assert code == 0 and "compiled" in out, err
    assert asked[:2] == ["numpy", "compiled"][:len(asked)] and asked
    recipe.write_text('[train]\nengine = "jit"\n')
    code, out, err = run(capsys, *args, "--recipe", recipe)
    assert code == 2 and "engine must be one of 'auto', 'numpy', 'compiled'; got 'jit'" in err
    assert "Traceback" not in err
