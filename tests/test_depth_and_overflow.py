"""Issue 17, cases 6 and 18: deep nesting is refused up front; explain near 1e308 says the check is unusable.

``explain --sizes`` with 3,000 layers, ``backprop plot`` on deeply nested JSON
and a recipe with a deeply nested array ended in RecursionError (exit 1).
``explain`` with inputs near 1e308 printed RuntimeWarnings and a NaN finite
difference beside a relative difference of 0.
"""

from __future__ import annotations

import json
import math
import warnings

import numpy as np

import backprop as bp
from backprop.cli import main


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_explain_with_thousands_of_layers_is_refused_up_front(capsys):
    code, _, err = run(capsys, "explain", "--sizes", ",".join(["2"] * 3000), "--weight", "1,0,0")
    assert code == 2 and "at most 100 layers" in err and "2999" in err, err


def test_plot_on_deeply_nested_json_is_refused(capsys, tmp_path):
    path = tmp_path / "history.json"
    path.write_text('{"epochs": ' + "[" * 100_000 + "]" * 100_000 + "}")
    code, _, err = run(capsys, "plot", path, "--out", tmp_path)
    assert code == 2 and "nests arrays or objects" in err and len(err.strip().splitlines()) == 1, err


def test_a_recipe_with_a_deeply_nested_array_is_refused(capsys, tmp_path):
    path = tmp_path / "deep.toml"
    path.write_text("[train]\nhidden = " + "[" * 5000 + "]" * 5000 + "\n")
    code, _, err = run(capsys, "train", "--recipe", path, "--quiet")
    assert code == 2 and "nests arrays or objects" in err, err


def test_a_recipe_nesting_check_ignores_brackets_in_strings(tmp_path):
    from backprop.recipes import read_recipe

    path = tmp_path / "ok.toml"
    path.write_text('description = "' + "[" * 100 + '"  # [[[[[[[[[[[[\n[train]\nhidden = [4, 2]\n')
    assert read_recipe(str(path))["train"]["hidden"] == [4, 2]


def test_explain_near_the_float64_limit_warns_nobody_and_says_the_check_is_unusable(capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any RuntimeWarning fails the test
        code, out, err = run(capsys, "explain", "--sizes", "2,2,1", "--activation", "relu", "--weight", "1,0,0",
                             "--input", "1e308,-1e308", "--target", "1", "--format", "json")
    assert code == 0, err
    assert "RuntimeWarning" not in err
    result = json.loads(out.replace("NaN", "null").replace("-Infinity", "null").replace("Infinity", "null"))
    assert result["relative_difference"] is None  # NaN: never 0 for a comparison of non-finite numbers
    assert any("finite-difference check is unusable" in note for note in result["notes"])


def test_explain_api_reports_nan_not_zero_for_non_finite_comparisons():
    from backprop.explain import explain

    net = bp.Network.from_sizes([2, 2, 1], activation="relu", seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        e = explain(net, np.array([[1e308, -1e308]]), np.array([[1.0]]), "1,0,0")
    assert not math.isfinite(e.finite_difference) or not math.isfinite(e.backprop)
    assert math.isnan(e.relative_difference)
    assert any("unusable" in note for note in e.notes)
