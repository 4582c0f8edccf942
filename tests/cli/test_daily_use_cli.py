"""The command line in daily use: versions, global flags, pipes, logs, narrow terminals, hints."""

import json
import os
import subprocess
import sys

import pytest

from backprop import __version__
from backprop.cli import main
from backprop.data import DATASETS

from support import one_error_line
from support import run_cli as run


def cli(*argv, columns=80):
    env = {**os.environ, "COLUMNS": str(columns)}
    return subprocess.run([sys.executable, "-m", "backprop", *map(str, argv)], capture_output=True, text=True,
                          env=env, timeout=300)


@pytest.mark.parametrize("flag", ["-V", "--version"])
def test_version(capsys, flag):
    with pytest.raises(SystemExit) as exit_:
        main([flag])
    assert exit_.value.code == 0 and capsys.readouterr().out.strip() == f"backprop {__version__}"


def test_debug_works_after_the_command(capsys, tmp_path):
    missing = tmp_path / "none.safetensors"
    assert main(["info", str(missing)]) == 2
    with pytest.raises(FileNotFoundError):  # --debug: the exception itself, for a traceback
        main(["info", str(missing), "--debug"])
    with pytest.raises(FileNotFoundError):
        main(["--debug", "info", str(missing)])


def test_train_help_prints_a_plain_percent(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = capsys.readouterr().out
    assert "20%" in out and "%%" not in out


def test_an_empty_hidden_size_is_refused(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--dataset", "xor", "--hidden", "16,,16"])
    assert exit_.value.code == 2 and "expected comma-separated integers, got '16,,16'" in capsys.readouterr().err


def test_a_classification_loss_on_a_regression_target_names_the_cause(capsys):
    code, _, err = run(capsys, "train", "--dataset", "sine", "--loss", "cross_entropy", "--epochs", "2")
    assert code == 2
    line = one_error_line(err)
    assert "classification loss" in line and "regression target" in line and "--loss mse" in line
    assert "learning rate" not in line


def test_without_a_terminal_progress_is_one_line_per_epoch(capsys):
    code, _, err = run(capsys, "train", "--dataset", "xor", "--hidden", "4", "--epochs", "3")
    assert code == 0
    lines = [line for line in err.splitlines() if line.startswith("epoch ")]
    assert [line.split()[1] for line in lines] == ["1/3", "2/3", "3/3"]
    assert all("val_loss" in line and "val_accuracy" in line for line in lines)


def test_the_summary_says_why_training_stopped_and_warns_when_it_was_too_short(capsys):
    code, out, err = run(capsys, "train", "--dataset", "sine", "--epochs", "4", "--hidden", "8")
    assert code == 0
    assert "ran all 4 epochs" in out
    assert "warning: val_loss was still falling at the end" in err and "--epochs 8" in err
    code, out, _ = run(capsys, "train", "--dataset", "xor", "--hidden", "4", "--json", "--n-samples", "100")
    stop = json.loads(out)["stop"]
    assert stop["epochs_run"] <= 1000
    assert stop["reason"].startswith("stopped early") or "budget chosen from the data size" in stop["reason"]


def test_datasets_and_info_break_no_word_at_80_columns(tmp_path):
    result = cli("datasets")
    assert result.returncode == 0, result.stderr
    assert max(len(line) for line in result.stdout.splitlines()) <= 80
    words = set(result.stdout.replace("│", " ").split())
    for info in DATASETS.values():
        for word in info.description.split():
            assert word in words, word
    model = tmp_path / "m.safetensors"
    assert cli("train", "--dataset", "iris", "--epochs", "2", "--quiet", "--out", model).returncode == 0
    result = cli("info", model)
    assert result.returncode == 0 and max(len(line) for line in result.stdout.splitlines()) <= 80


def test_plot_reads_the_output_of_train_json_and_names_the_columns(capsys, tmp_path, monkeypatch):
    path = tmp_path / "shapes.csv"
    rows = "".join(f"{i % 7},{(i * 3) % 5},{'ab'[(i % 7 + (i * 3) % 5) > 5]}\n" for i in range(60))
    path.write_text("height,width,kind\n" + rows)
    import matplotlib.axes

    labels = []
    original = matplotlib.axes.Axes.set_xlabel
    monkeypatch.setattr(matplotlib.axes.Axes, "set_xlabel",
                        lambda self, text, *a, **k: (labels.append(text), original(self, text, *a, **k))[1])
    code, out, err = run(capsys, "train", "--csv", path, "--target", "kind", "--hidden", "4", "--epochs", "3",
                         "--json", "--plots", tmp_path / "plots")
    assert code == 0, err
    assert "height" in labels
    (tmp_path / "run.json").write_text(out)
    code, out, err = run(capsys, "plot", tmp_path / "run.json", "--out", tmp_path / "again", "--json")
    assert code == 0, err
    assert {"loss.png", "accuracy.png"} <= {os.path.basename(p) for p in json.loads(out)["plots"]}


def test_progress_lines_show_the_mae_in_the_targets_units(capsys, tmp_path):
    path = tmp_path / "big.csv"
    path.write_text("x,y\n" + "".join(f"{i / 10},{5000.5 + 300 * (i % 7)}\n" for i in range(60)))
    code, _, err = run(capsys, "train", "--csv", path, "--target", "y", "--hidden", "4", "--epochs", "2")
    assert code == 0, err
    maes = [float(line.split("val_mae ")[1].split()[0]) for line in err.splitlines() if line.startswith("epoch ")]
    assert len(maes) == 2 and all(m > 20 for m in maes)  # hundreds of units, not a standardised 1.x


def test_the_progress_bar_keeps_its_eta_at_80_columns():
    import io

    from rich.console import Console

    from backprop.cli.progress import TrainingProgress

    out = io.StringIO()
    bar = TrainingProgress(Console(file=out, width=80, force_terminal=True, color_system=None))
    bar.on_train_begin({"n_batches": 10, "epochs": 1000})
    for batch in range(1, 11):
        bar.on_batch_end(158, batch, 0.0426)
    bar.on_epoch_end(158, {"loss": 0.04, "val_loss": 0.2723, "val_accuracy": 0.925})
    bar.on_train_end(None)
    last = [line for line in out.getvalue().splitlines() if "loss" in line][-1]
    assert "eta" in last and "…" not in last and "val 0.272 acc 0.925" in last
