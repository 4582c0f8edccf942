"""The explain and gradcheck commands, through the entry point."""

import json

import numpy as np
import pytest

import backprop as bp
from backprop.cli import main
from backprop.core.activations import Activation, Sigmoid

ARTICLE = ["--sizes", "3,3,2", "--activation", "sigmoid", "--loss", "sse", "--no-bias", "--seed", "3"]


from support import one_error_line
from support import run_cli as run


def article_net():
    return bp.Network.from_sizes([3, 3, 2], activation="sigmoid", loss="sse", bias=False, seed=3)


# -- explain ---------------------------------------------------------------------------

@pytest.mark.parametrize("weight,layer,j,k", [("L,1,2", 1, 1, 2), ("L-1,2,2", 0, 2, 2), ("1,0,1", 0, 0, 1)])
def test_json_equals_the_network_built_the_same_way(capsys, weight, layer, j, k):
    code, out, err = run(capsys, "explain", *ARTICLE, "--input", "0.5,-1.0,2.0", "--target", "1,0",
                         "--input", "0.1,0.2,0.3", "--target", "0,1", "--weight", weight, "--format", "json")
    assert code == 0, err
    d = json.loads(out)
    X = np.array([[0.5, -1.0, 2.0], [0.1, 0.2, 0.3]])
    Y = np.array([[1.0, 0.0], [0.0, 1.0]])
    expected = article_net().gradients(X, Y)[layer]["W"][j, k]
    assert d["backprop"] == expected
    assert d["chain_rule"] == pytest.approx(expected, rel=1e-12)
    assert d["finite_difference"] == pytest.approx(expected, rel=1e-5)
    assert [s["x"] for s in d["samples"]] == X.tolist() and [s["y"] for s in d["samples"]] == Y.tolist()
    assert d["update"]["lr"] == 0.1


def test_negative_values_after_a_space(capsys):
    code, out, err = run(capsys, "explain", "--sizes", "3,2", "--activation", "identity", "--loss", "mse",
                         "--input", "-0.5,1,2", "--target", "-1,0.5", "--weight", "L,0,0", "--format", "json")
    assert code == 0, err
    d = json.loads(out)
    assert d["samples"][0]["x"] == [-0.5, 1.0, 2.0] and d["samples"][0]["y"] == [-1.0, 0.5]


def test_terminal_output(capsys):
    code, out, err = run(capsys, "explain", *ARTICLE, "--input", "0.5,-1.0,2.0", "--target", "1,0",
                         "--weight", "L-1,2,2", "--lr", "0.5")
    assert code == 0, err
    for part in ("1. Forward pass", "2. Loss", "3. Chain rule", "4. Average", "5. Gradient-descent update",
                 "6. Check", "∂C₀/∂w₂₂ᴸ⁻¹", "2(a₀ᴸ − y₀)", "wⱼ₂ᴸ", "net.gradients"):
        assert part in out, part


@pytest.mark.parametrize("fmt,needle", [("markdown", "## 6. Check"), ("latex", r"\begin{align*}")])
def test_markdown_and_latex(capsys, fmt, needle):
    code, out, err = run(capsys, "explain", *ARTICLE, "--weight", "L,1,2", "--format", fmt, "--digits", "4")
    assert code == 0, err
    assert needle in out
    assert r"2\left(a_{1}^{L} - y_{1}\right)" in out


def test_random_samples_from_the_seed(capsys):
    argv = ["explain", "--sizes", "2,3,2", "--activation", "tanh", "--output-activation", "softmax",
            "--loss", "cross_entropy", "--seed", "5", "--samples", "3", "--weight", "L-1,0,b", "--format", "json"]
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    d = json.loads(out)
    assert len(d["samples"]) == 3 and d["fused"] == "softmax_cross_entropy"
    assert d["chain_rule"] == pytest.approx(d["backprop"], rel=1e-12)
    assert run(capsys, *argv)[1] == out  # the same seed, the same samples


def test_dataset_rows(capsys):
    code, out, err = run(capsys, "explain", "--sizes", "2,3,2", "--seed", "0", "--dataset", "xor",
                         "--index", "0", "--index", "5", "--weight", "L,1,0", "--format", "json")
    assert code == 0, err
    d = json.loads(out)
    from backprop.data import load_dataset

    data = load_dataset("xor")
    assert [s["x"] for s in d["samples"]] == data.X[[0, 5]].tolist()
    for s, label in zip(d["samples"], data.y[[0, 5]]):
        assert s["y"] == np.eye(2)[list(data.classes).index(label)].tolist()


def test_model_file(capsys, tmp_path):
    from backprop.data import load_dataset

    data = load_dataset("xor")
    model = bp.Model.build(2, [3], task="classification", classes=data.classes, seed=0)
    model.fit(data.X, data.y, epochs=1, seed=0)
    path = tmp_path / "m.safetensors"
    model.save(path)
    code, out, err = run(capsys, "explain", "--model", path, "--dataset", "xor", "--index", "2",
                         "--weight", "L,0,1", "--format", "json")
    assert code == 0, err
    d = json.loads(out)
    X, Y = model.transform(data.X[[2]]), model.encode(data.y[[2]])
    assert d["backprop"] == model.network.gradients(X, Y)[1]["W"][0, 1]
    assert d["chain_rule"] == pytest.approx(d["backprop"], rel=1e-12)
    # a class label as --target
    code, out, err = run(capsys, "explain", "--model", path, "--input", "0.5,-0.5", "--target",
                         str(model.classes[1]), "--weight", "L,0,1", "--format", "json")
    assert code == 0, err
    assert json.loads(out)["samples"][0]["y"] == [0.0, 1.0]


@pytest.mark.parametrize("argv,message", [
    (["--weight", "L,5,0"], "layer L has 2 nodes"),
    (["--weight", "L-2,0,0"], "no weight layer"),
    (["--weight", "L,0"], "cannot read weight"),
    (["--weight", "L,0,b"], "no bias"),
    (["--weight", "L,0,0", "--input", "1,2,3"], "1 --input and 0 --target"),
    (["--weight", "L,0,0", "--input", "1,2", "--target", "1,0"], "has 2 values but the network has 3"),
    (["--weight", "L,0,0", "--input", "1,2,3", "--target", "1,0,0"], "3 values but the network has 2 output"),
    (["--weight", "L,0,0", "--index", "3"], "give --dataset"),
    (["--weight", "L,0,0", "--dataset", "xor", "--index", "0"], "2 features but the network has 3"),
    (["--weight", "L,0,0", "--samples", "0"], "positive"),
    (["--weight", "L,0,0", "--lr", "-1"], "learning rate"),
    (["--weight", "L,0,0", "--model", "m.safetensors"], "drop --sizes"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, argv, message):
    code, out, err = run(capsys, "explain", *ARTICLE, *argv)
    assert code == 2
    assert message in one_error_line(err)


def test_no_network_and_missing_model(capsys, tmp_path):
    code, _, err = run(capsys, "explain", "--weight", "L,0,0")
    assert code == 2 and "--sizes" in one_error_line(err)
    code, _, err = run(capsys, "explain", "--model", tmp_path / "nope.safetensors", "--weight", "L,0,0")
    assert code == 2 and "nope.safetensors" in one_error_line(err)


# -- gradcheck ------------------------------------------------------------------------------

def test_gradcheck_passes(capsys):
    code, out, err = run(capsys, "gradcheck", "--sizes", "3,4,2", "--activation", "tanh",
                         "--output-activation", "softmax", "--loss", "cross_entropy", "--batch", "4")
    assert code == 0, err
    assert "passed" in out and "FAIL" not in out
    for name in ("L-1 (1)", "L (2)", "max rel error"):
        assert name in out


def test_gradcheck_of_a_large_network_checks_a_sample_of_each_array_and_says_so(capsys):
    # 784-300-10 has 235,200 first-layer weights: every one would take minutes; the default is 1,000 an array.
    code, out, err = run(capsys, "gradcheck", "--sizes", "784,300,10", "--batch", "2", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert [(r["size"], r["total"]) for r in report["rows"]] == [(1000, 235200), (300, 300), (1000, 3000), (10, 10)]
    assert any("--max-entries all" in note for note in report["notes"])
    code, out, err = run(capsys, "gradcheck", "--sizes", "4,5,3", "--max-entries", "all", "--json")
    assert code == 0 and [r["size"] for r in json.loads(out)["rows"]] == [20, 5, 15, 3]
    code, out, err = run(capsys, "gradcheck", "--sizes", "4,5,3", "--max-entries", "0")
    assert code == 2 and "--max-entries must be a positive integer or 'all'; got '0'" in one_error_line(err)
    code, out, err = run(capsys, "gradcheck", "--sizes", "4,5,3", "--max-entries", "1e9")
    assert code == 2 and "got '1e9'" in one_error_line(err)


def test_gradcheck_fails_with_a_wrong_derivative(capsys, monkeypatch):
    monkeypatch.setattr(Sigmoid, "derivative", lambda self, z, a: a * (1.0 - a) * 1.05)
    monkeypatch.setattr(Sigmoid, "backward", Activation.backward)
    code, out, err = run(capsys, "gradcheck", *ARTICLE)
    assert code == 1
    assert "FAILED" in out and "FAIL" in out
    code, out, err = run(capsys, "gradcheck", *ARTICLE, "--format", "json")
    assert code == 1 and json.loads(out)["passed"] is False


def test_gradcheck_json_float32_and_dataset(capsys):
    code, out, err = run(capsys, "gradcheck", "--sizes", "2,3,2", "--dtype", "float32", "--dataset", "xor",
                         "--batch", "5", "--format", "json")
    assert code == 0, err
    d = json.loads(out)
    assert d["passed"] is True and d["dtype"] == "float32" and d["rtol"] == 1e-3 and d["n_samples"] == 5
    assert [(r["name"], r["parameter"]) for r in d["rows"]] == [("L-1", "W"), ("L-1", "b"), ("L", "W"), ("L", "b")]


def test_gradcheck_settings_and_bad_input(capsys):
    code, out, err = run(capsys, "gradcheck", *ARTICLE, "--eps", "1e-5", "--tol", "1e-4", "--format", "json")
    assert code == 0, err
    assert json.loads(out)["eps"] == 1e-5
    code, _, err = run(capsys, "gradcheck", *ARTICLE, "--tol", "0")
    assert code == 2 and "--tol" in one_error_line(err)
    code, _, err = run(capsys, "gradcheck", *ARTICLE, "--batch", "0")
    assert code == 2 and "--batch" in one_error_line(err)
