"""backprop train refuses, in one line, a network that cannot fit in memory, before allocating it."""

from __future__ import annotations

import pytest

from backprop.cli import memory
from support import one_error_line
from support import run_cli as run


def test_the_estimate_counts_every_copy_of_the_parameters_and_a_batch():
    sizes = [4, 10, 3]                          # 50 + 33 parameters; the largest layer has 50
    sgd = memory.training_bytes(sizes, "float64", "sgd", batch=2)
    assert sgd == 8 * (83 * 4 + 4 * 2 * 17) + 8 * 50
    adam = memory.training_bytes(sizes, "float64", "adam", batch=2)
    assert adam - sgd == 8 * 83 * 2             # Adam's two moment arrays
    assert memory.training_bytes(sizes, "float32", "sgd", batch=2) == 4 * (83 * 4 + 4 * 2 * 17) + 8 * 50


def test_available_memory_is_a_positive_number_of_bytes_or_unknown():
    found = memory.available_memory()
    assert found is None or (isinstance(found, int) and found > 0)


def test_a_network_too_big_for_the_memory_is_refused_before_it_is_built(capsys, monkeypatch):
    monkeypatch.setattr(memory, "available_memory", lambda: 2**30)      # 1 GiB
    built = []
    import backprop.model

    monkeypatch.setattr(backprop.model.Model, "build", classmethod(lambda cls, *a, **k: built.append(a)))
    code, out, err = run(capsys, "train", "--dataset", "iris", "--hidden", "6000,6000", "--quiet")
    line = one_error_line(err)
    assert code == 2 and built == []
    assert "a 4-6000-6000-3 network trained with adam in float64 needs about" in line
    assert "1.0 GiB is available: ask for smaller layers or float32" in line
    code, out, err = run(capsys, "train", "--dataset", "iris", "--hidden", "8000,8000", "--dtype", "float32",
                         "--optimizer", "sgd", "--quiet")
    assert code == 2 and one_error_line(err).endswith("ask for smaller layers") and built == []


def test_an_unknown_amount_of_memory_refuses_nothing(capsys, monkeypatch):
    monkeypatch.setattr(memory, "available_memory", lambda: None)
    code, out, err = run(capsys, "train", "--dataset", "iris", "--hidden", "8", "--epochs", "1", "--quiet")
    assert code == 0, err


@pytest.mark.parametrize("line, message", [('optimizer = "bogus"', "unknown optimizer 'bogus'"),
                                           ('dtype = "bogus"', "dtype must be 'float32' or 'float64'; got 'bogus'")])
def test_a_bad_name_in_a_recipe_is_still_refused_by_its_name(capsys, tmp_path, line, message):
    recipe = tmp_path / "r.toml"
    recipe.write_text(f'[train]\ndataset = "iris"\n{line}\nepochs = 1\n')
    code, out, err = run(capsys, "train", "--recipe", str(recipe), "--quiet")
    assert code == 2 and message in one_error_line(err)
