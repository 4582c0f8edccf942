"""Tests for ``backprop plot HISTORY --out DIR``, through the CLI entry point."""

from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402

from backprop.cli import main  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def history(task="classification", n=5):
    metric = "accuracy" if task == "classification" else "r2"
    epochs = [{"epoch": i, "loss": 1.0 / i, "val_loss": 1.1 / i, metric: 1 - 0.5 / i,
               f"val_{metric}": 1 - 0.6 / i, "lr": 0.1, "seconds": 0.01} for i in range(1, n + 1)]
    return {"task": task, "epochs": epochs, "best_epoch": n, "stopped_early": False, "stop_reason": None}


def write_history(tmp_path, obj, name="history.json"):
    path = tmp_path / name
    path.write_text(obj if isinstance(obj, str) else json.dumps(obj))
    return path


def assert_png(path):
    assert path.is_file() and path.read_bytes()[:8] == PNG_SIGNATURE and path.stat().st_size > 1000


def test_plot_writes_the_history_plots(tmp_path, capsys):
    source = write_history(tmp_path, dict(history(), confusion_matrix={"labels": [0, 1], "matrix": [[5, 1], [0, 6]]}))
    out = tmp_path / "plots" / "run1"
    assert main(["plot", str(source), "--out", str(out)]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["accuracy.png", "confusion_matrix.png", "loss.png"]
    for name in names:
        assert_png(out / name)
    captured = capsys.readouterr()
    assert captured.err == ""
    for name in names:
        assert str(out / name) in captured.out


def test_plot_json_output_for_a_regression_history(tmp_path, capsys):
    source = write_history(tmp_path, history("regression"))
    out = tmp_path / "out"
    assert main(["plot", str(source), "--out", str(out), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert sorted(result) == ["plots"]
    assert sorted(result["plots"]) == sorted(str(out / n) for n in ("loss.png", "r2.png"))
    for p in result["plots"]:
        assert_png(out / p.rsplit("/", 1)[-1])


def test_plot_defaults_to_the_history_directory(tmp_path, capsys):
    write_history(tmp_path, history())
    assert main(["plot", str(tmp_path), "--json"]) == 0  # a directory holding history.json
    assert sorted(json.loads(capsys.readouterr().out)["plots"]) == sorted(
        str(tmp_path / n) for n in ("accuracy.png", "loss.png"))


def test_history_file_name_matches_the_library():
    from backprop import plots
    from backprop.cli import plot

    assert plot.HISTORY_FILE == plots.HISTORY_FILE


@pytest.mark.parametrize("content, words", [
    (None, "history file not found"),
    ("{not json", "is not valid JSON"),
    ("", "is not valid JSON"),
    ("[1, 2]", "JSON object"),
    ('{"epochs": []}', "empty"),
    ('{"epochs": [{"epoch": 1, "loss": "x"}]}', "must be a number"),
    ('{"task": "classification"}', "no 'epochs'"),
])
def test_bad_history_exits_2_with_one_line(tmp_path, capsys, content, words):
    source = tmp_path / "history.json"
    if content is not None:
        source.write_text(content)
    out = tmp_path / "out"
    assert main(["plot", str(source), "--out", str(out)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("backprop plot: error: ") and words in lines[0]
    assert not out.exists()


def test_unwritable_output_exits_2(tmp_path, capsys):
    source = write_history(tmp_path, history())
    blocker = write_history(tmp_path, "a file", name="blocker")
    assert main(["plot", str(source), "--out", str(blocker)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "blocker" in lines[0]


def test_plot_requires_a_history_argument(capsys):
    with pytest.raises(SystemExit) as info:
        main(["plot"])
    assert info.value.code == 2
    assert "HISTORY" in capsys.readouterr().err
