"""Recipes: every shipped recipe parses and validates, and runs on small generated MNIST files."""

import json

import numpy as np
import pytest

from backprop.cli import main
from backprop.data import write_idx
from backprop.recipes import OPTIONS, list_recipes, load_recipe, read_recipe

PAPER_ROWS = ["lecun98-300", "lecun98-1000", "lecun98-300-100", "lecun98-500-150", "simard03-800-ce",
              "srivastava14-dropout"]


def test_the_paper_recipes_ship():
    assert set(PAPER_ROWS) <= set(list_recipes())


@pytest.mark.parametrize("name", list_recipes())
def test_recipe_parses_and_validates(name):
    recipe = read_recipe(name)
    train = recipe["train"]
    assert recipe["description"] and recipe["reference"]
    assert 0 < recipe["paper_test_error"] < 0.1
    assert set(train) <= set(OPTIONS)
    assert train["dataset"] == "mnist" and train["hidden"]
    if name.startswith("lecun98"):
        assert train["loss"] in ("sse", "mse")  # squared error, as the paper and the article
    sizes = "-".join(map(str, train["hidden"]))
    assert sizes in name or name == "srivastava14-dropout"


def test_the_dropout_recipe_is_the_papers_network():
    """Srivastava et al. (2014), table 2: three hidden layers of 1024 relu units, dropout on the inputs
    (0.2) and the hidden layers (0.5), and a max-norm constraint on each unit's incoming weights."""
    train = load_recipe("srivastava14-dropout")
    assert train["hidden"] == [1024, 1024, 1024] and train["activation"] == "relu"
    assert train["loss"] == "cross_entropy" and train["output_activation"] == "softmax"
    assert train["input_dropout"] == 0.2 and train["dropout"] == [0.5]
    assert 3 <= train["max_norm"] <= 4  # the paper's range for c


def test_no_shipped_recipe_refits_by_default():
    """The table reports validation error, which a refit on all rows would make meaningless."""
    assert not any(load_recipe(name).get("refit_all") for name in list_recipes())


@pytest.fixture
def tiny_mnist(tmp_path):
    """600 random 28x28 'images' with labels, in the MNIST file layout (validation: the last 100)."""
    rng = np.random.default_rng(0)
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", rng.integers(0, 256, (600, 28, 28), dtype=np.uint8),
              compress=True)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", rng.integers(0, 10, 600, dtype=np.uint8), compress=True)
    return tmp_path


@pytest.mark.parametrize("name", PAPER_ROWS)
def test_one_epoch_of_each_recipe_on_generated_idx_files(name, tiny_mnist, tmp_path, capsys):
    out = tmp_path / f"{name}.safetensors"
    code = main(["train", "--recipe", name, "--data-dir", str(tiny_mnist), "--epochs", "1", "--json",
                 "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    result = json.loads(captured.out)
    recipe = load_recipe(name)
    assert result["sizes"] == [784, *recipe["hidden"], 10]
    assert len(result["history"]["epochs"]) == 1  # the flag overrides the recipe's epochs
    assert out.stat().st_size > 0
    code = main(["evaluate", str(out), "--dataset", "mnist", "--split", "validation",
                 "--data-dir", str(tiny_mnist), "--json"])
    assert code == 0 and json.loads(capsys.readouterr().out)["n_samples"] == 100


def test_a_recipe_refit_on_all_mnist_training_images(tiny_mnist, tmp_path, capsys):
    out = tmp_path / "m.safetensors"
    code = main(["train", "--recipe", "simard03-800-ce", "--data-dir", str(tiny_mnist), "--epochs", "1",
                 "--refit-all", "--json", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert json.loads(captured.out)["refit"]["rows"] == 600  # the training and validation splits together
    code = main(["evaluate", str(out), "--dataset", "mnist", "--split", "validation", "--data-dir", str(tiny_mnist)])
    assert code == 2 and "not a held-out score" in capsys.readouterr().err


def test_evaluate_on_the_test_split_for_users_who_have_it(tiny_mnist, tmp_path, capsys):
    rng = np.random.default_rng(1)
    write_idx(tiny_mnist / "t10k-images-idx3-ubyte", rng.integers(0, 256, (40, 28, 28), dtype=np.uint8))
    write_idx(tiny_mnist / "t10k-labels-idx1-ubyte", rng.integers(0, 10, 40, dtype=np.uint8))
    out = tmp_path / "m.safetensors"
    assert main(["train", "--recipe", "lecun98-300", "--data-dir", str(tiny_mnist), "--epochs", "1",
                 "--quiet", "--out", str(out)]) == 0
    code = main(["evaluate", str(out), "--dataset", "mnist", "--split", "test", "--data-dir", str(tiny_mnist),
                 "--json"])
    scores = json.loads(capsys.readouterr().out)
    assert code == 0 and scores["n_samples"] == 40 and len(scores["confusion_matrix"]) == 10


def test_bad_recipes_are_named(tmp_path):
    with pytest.raises(ValueError, match="unknown recipe 'lecun99'"):
        load_recipe("lecun99")
    bad = tmp_path / "bad.toml"
    bad.write_text('description = "x"\nreference = "y"\n[train]\nhidden = [300]\nlearning_rate = 0.1\n')
    with pytest.raises(ValueError, match="unknown option 'train.learning_rate'"):
        load_recipe(str(bad))
    bad.write_text('[train]\nepochs = "ten"\n')
    with pytest.raises(ValueError, match="train.epochs must be a int; got 'ten'"):
        load_recipe(str(bad))
    bad.write_text("[train\n")
    with pytest.raises(ValueError, match="not valid TOML"):
        load_recipe(str(bad))


def test_unknown_recipe_from_the_shell_exits_2(capsys):
    assert main(["train", "--recipe", "nope"]) == 2
    assert "unknown recipe 'nope'" in capsys.readouterr().err
