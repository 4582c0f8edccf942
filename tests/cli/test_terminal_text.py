"""Issue 17, case 3: text from files and paths reaches the terminal as text, never as markup or control codes.

A class label ``[/bold]`` made ``info`` and ``evaluate`` exit 1 (MarkupError),
``[link=...]`` became a link, escape sequences in labels reached the terminal,
and a path holding ``[/x]`` made ``train``, ``export`` and the SIGINT message
exit 1 after the work was done.
"""

from __future__ import annotations

import numpy as np
import pytest
from reliability_support import tiny_model, write_labelled

import backprop as bp
from backprop.cli import main

HOSTILE = ["[/bold]", "[link=https://example.com]click[/link]", "\x1b]8;;https://x\x1b\\osc\x1b]8;;\x1b\\",
           "\x1b[31mred\x1b[0m", "bell\x07", "rtl\u202eabc", ":smile:"]


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def hostile_model(tmp_path):
    model = tiny_model(classes=HOSTILE)
    path = tmp_path / "m.safetensors"
    model.save(path)
    return path


def no_control_codes(text: str) -> bool:
    return not any(c in text for c in "\x1b\x07\u202e")


def test_info_prints_hostile_labels_as_text(capsys, hostile_model):
    code, out, err = run(capsys, "info", hostile_model)
    assert code == 0, err
    assert "[/bold]" in out and "[link=https://example.com]click[/link]" in out and ":smile:" in out
    assert "\\x1b[31mred\\x1b[0m" in out and "bell\\x07" in out and "rtl\\u202eabc" in out
    assert no_control_codes(out)


def test_evaluate_prints_hostile_labels_as_text(capsys, tmp_path, hostile_model):
    X = np.random.default_rng(0).normal(size=(len(HOSTILE) * 2, 4))
    y = np.array(HOSTILE * 2)
    np.savez(tmp_path / "d.npz", X=X, y=y)
    code, out, err = run(capsys, "evaluate", hostile_model, "--npz", tmp_path / "d.npz")
    assert code == 0, err
    assert "[/bold]" in out and "[link=https://example.com]click[/link]" in out
    assert no_control_codes(out)


def test_a_path_with_markup_survives_train_and_export(capsys, tmp_path):
    folder = tmp_path / "[/x] [bold]"  # a folder "[" holding "x] [bold]": the path reads "[/x] [bold]"
    folder.mkdir(parents=True)
    write_labelled(folder / "d.csv")
    code, out, err = run(capsys, "train", "--csv", folder / "d.csv", "--target", "label", "--epochs", "1",
                         "--hidden", "2", "--out", folder / "m.safetensors")
    assert code == 0, err
    assert "[bold]" in out  # the path, as text, in the summary table
    code, out, err = run(capsys, "export", folder / "m.safetensors", folder / "m.onnx")
    assert code == 0, err
    assert "[/x] [bold]" in out


def test_the_sigint_message_prints_a_path_with_markup(capsys, tmp_path, monkeypatch):
    import signal

    from backprop.cli import train

    write_labelled(tmp_path / "d.csv")
    folder = tmp_path / "[/x]ckpt"
    # The stop flag as a signal would set it, from the first check on.
    monkeypatch.setattr(train.StopOnSignal, "__call__", lambda self: setattr(self, "signal", signal.SIGINT) or True)
    code, _, err = run(capsys, "train", "--csv", tmp_path / "d.csv", "--target", "label", "--epochs", "3",
                       "--hidden", "2", "--checkpoint", folder)
    assert code == 130, err
    assert "stopped by SIGINT" in err and "[/x]ckpt" in err


def test_an_error_message_escapes_control_characters(capsys, tmp_path):
    bad = tmp_path / "evil\x1b[2Jname.safetensors"
    code, _, err = run(capsys, "info", bad)
    assert code == 2 and "\\x1b[2J" in err and no_control_codes(err)


def test_bp_load_keeps_hostile_labels_exactly(hostile_model):
    assert bp.load(hostile_model).classes == HOSTILE


def test_predict_to_a_terminal_escapes_control_characters_in_labels(tmp_path, hostile_model, monkeypatch):
    import io
    import sys

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    (tmp_path / "x.csv").write_text("a,b,c,d\n1,2,3,4\n0,0,0,0\n")
    screen = Terminal()
    monkeypatch.setattr(sys, "stdout", screen)
    assert main(["predict", str(hostile_model), str(tmp_path / "x.csv")]) == 0
    assert screen.getvalue().startswith("prediction,") and no_control_codes(screen.getvalue())
