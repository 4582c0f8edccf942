"""``backprop train --refit-all`` (cli/train_refit.py): the final model trains on every row.

Without early stopping it trains once on all rows for --epochs; with early
stopping it first finds the best epoch on the validation split, then refits
for that many epochs. The model file and --json say so, evaluate refuses the
validation split of such a model, and --resume keeps the option.
"""

from __future__ import annotations

import json
import signal

import pytest
from reliability_support import write_labelled

import backprop as bp
from backprop.cli import main

DIGITS = ["--dataset", "digits", "--hidden", "8", "--batch-size", "64", "--seed", "3"]


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_without_early_stopping_it_trains_once_on_every_row(capsys, tmp_path):
    out = tmp_path / "m.safetensors"
    code, stdout, err = run(capsys, "train", *DIGITS, "--epochs", "3", "--refit-all", "--json", "--out", out)
    assert code == 0, err
    result = json.loads(stdout)
    assert result["refit"] == {"rows": 1797, "epochs": 3, "chosen_by": "--epochs (no early stopping)"}
    assert result["epochs_run"] == 3 and "val_loss" not in result  # no held-out rows left to score
    assert result["stop"]["reason"].startswith("refit on all 1797 rows for 3 epochs")
    training = bp.load(out).metadata["training"]
    assert training["refit_all"] is True and training["refit"]["rows"] == 1797


def test_with_early_stopping_the_validation_split_chooses_the_epochs(capsys, tmp_path):
    plain = ["train", *DIGITS, "--epochs", "25", "--early-stopping", "--patience", "2", "--lr", "0.05"]
    code, stdout, err = run(capsys, *plain, "--json")
    assert code == 0, err
    best = json.loads(stdout)["stop"]["best_epoch"]  # the same search, run on its own
    code, stdout, err = run(capsys, *plain, "--json", "--refit-all", "--out", tmp_path / "m.safetensors")
    assert code == 0, err
    result = json.loads(stdout)
    assert result["refit"]["best_epoch"] == best and result["refit"]["epochs"] == best
    assert result["refit"]["search_rows"] == 1797 - 360 and result["refit"]["rows"] == 1797
    assert result["epochs_run"] == best and len(result["history"]["epochs"]) == best
    assert bp.load(tmp_path / "m.safetensors").metadata["training"]["refit"]["best_epoch"] == best
    code, _, err = run(capsys, *plain, "--refit-all", "--quiet")
    assert code == 0 and err == ""  # --quiet says nothing
    code, _, err = run(capsys, *plain, "--refit-all")
    assert code == 0 and f"the validation split chose {best} epochs" in err
    assert f"now training a new model on every row for {best} epochs" in err


def test_evaluate_refuses_the_validation_split_of_a_refit_model(capsys, tmp_path):
    out = tmp_path / "m.safetensors"
    assert run(capsys, "train", *DIGITS, "--epochs", "1", "--refit-all", "--quiet", "--out", out)[0] == 0
    for extra in ([], ["--split", "validation"], ["--dataset", "digits", "--split", "validation"]):
        code, _, err = run(capsys, "evaluate", out, *extra)
        assert code == 2 and "--refit-all" in err and "not a held-out score" in err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    code, stdout, err = run(capsys, "evaluate", out, "--split", "all", "--json")
    assert code == 0 and json.loads(stdout)["n_samples"] == 1797


def test_a_table_refit_learns_its_columns_from_every_row(capsys, tmp_path):
    write_labelled(tmp_path / "d.csv", n_rows=40)
    out = tmp_path / "m.safetensors"
    code, stdout, err = run(capsys, "train", "--csv", tmp_path / "d.csv", "--target", "label", "--hidden", "3",
                            "--epochs", "2", "--refit-all", "--json", "--out", out)
    assert code == 0, err
    assert json.loads(stdout)["refit"]["rows"] == 40
    assert bp.load(out).metadata["data"]["validation_split"] == 0
    code, _, err = run(capsys, "evaluate", out)
    assert code == 2 and "not a held-out score" in err


def test_a_recipe_may_ask_for_the_refit_and_a_flag_may_not_undo_it_silently(capsys, tmp_path):
    recipe = tmp_path / "r.toml"
    recipe.write_text('[train]\ndataset = "digits"\nhidden = [8]\nepochs = 2\nrefit_all = true\n')
    code, stdout, err = run(capsys, "train", "--recipe", recipe, "--json")
    assert code == 0, err
    assert json.loads(stdout)["refit"]["rows"] == 1797
    recipe.write_text('[train]\nrefit_all = "yes"\n')
    code, _, err = run(capsys, "train", "--recipe", recipe)
    assert code == 2 and "train.refit_all must be a bool" in err


def test_resume_keeps_the_refit_and_refuses_to_change_it(capsys, tmp_path):
    args = ["train", *DIGITS, "--epochs", "12", "--early-stopping", "--patience", "2", "--lr", "0.05",
            "--refit-all", "--quiet", "--checkpoint", tmp_path / "ckpt", "--out", tmp_path / "m.safetensors"]
    assert run(capsys, *args)[0] == 0
    first = bp.load(tmp_path / "m.safetensors").metadata["training"]
    best = first["refit"]["epochs"]
    # The checkpoint is the refit's own: all rows, early stopping off, the chosen epochs.
    code, _, err = run(capsys, "train", "--resume", tmp_path / "ckpt", "--epochs", best + 2)
    assert code == 0, err
    again = bp.load(tmp_path / "m.safetensors").metadata["training"]
    assert again["refit_all"] is True and again["epochs_run"] == best + 2
    assert again["refit"]["rows"] == 1797 and again["refit"]["best_epoch"] == best
    code, _, err = run(capsys, "train", *DIGITS, "--epochs", "1", "--quiet", "--checkpoint", tmp_path / "plain")
    assert code == 0, err
    code, _, err = run(capsys, "train", "--resume", tmp_path / "plain", "--refit-all", "--epochs", "2")
    assert code == 2 and "--refit-all True (the checkpoint has False)" in err


def test_a_signal_during_the_search_writes_nothing_to_resume(capsys, tmp_path, monkeypatch):
    from backprop.cli import train

    monkeypatch.setattr(train.StopOnSignal, "__call__", lambda self: setattr(self, "signal", signal.SIGINT) or True)
    code, _, err = run(capsys, "train", *DIGITS, "--epochs", "5", "--early-stopping", "--refit-all",
                       "--out", tmp_path / "m.safetensors")
    assert code == 130 and "chose the epochs for --refit-all; nothing was written" in err
    assert not any(tmp_path.iterdir())


def test_the_help_says_what_the_refit_does(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--refit-all" in text and "60,000" in text and "best epoch" in text
