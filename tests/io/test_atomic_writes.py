"""Issue 17, cases 7 to 11: outputs never destroy anything.

7. A destination that is not a regular file (a FIFO, a device) is refused, not replaced.
8. An output that is one of the command's inputs (same device and inode) is refused.
9. A write that fails part-way (a full disk, here a file-size limit) leaves the old file whole.
10. The destination is checked before training; a write that fails after training keeps the model.
11. New files get the umask's mode; a replaced file keeps its mode.
"""

from __future__ import annotations

import errno
import os
import resource
import signal
import stat
import subprocess
import sys

import pytest
from reliability_support import no_hang, tiny_model, write_features, write_labelled

import backprop as bp
from backprop.cli import main

TRAIN = ["train", "--epochs", "1", "--hidden", "3", "--quiet"]


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def files(tmp_path):
    model = tmp_path / "m.safetensors"
    tiny_model().save(model)
    write_features(tmp_path / "x.csv")
    write_labelled(tmp_path / "data.csv")
    return model, tmp_path / "x.csv", tmp_path / "data.csv"


# -- 7: only regular files are replaced -------------------------------------------------------------

@pytest.mark.parametrize("command", ["train", "predict", "export"])
def test_a_fifo_as_the_output_is_refused_and_stays_a_fifo(capsys, tmp_path, files, command):
    model, x, data = files
    out = tmp_path / "out"
    os.mkfifo(out)
    argv = {"train": [*TRAIN, "--csv", data, "--target", "label", "--out", out],
            "predict": ["predict", model, x, "--out", out],
            "export": ["export", model, out]}[command]
    with no_hang():  # opening a FIFO for writing waits for a reader
        code, _, err = run(capsys, *argv)
    assert code == 2 and "not a regular file" in err, err
    assert stat.S_ISFIFO(os.stat(out).st_mode)


def test_a_device_node_as_the_output_is_refused(capsys, tmp_path, files):
    model, x, _ = files
    node = tmp_path / "null"
    try:
        os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # a /dev/null of our own
    except PermissionError:
        pytest.skip("cannot create device nodes here")
    code, _, err = run(capsys, "predict", model, x, "--out", node)
    assert code == 2 and "character device" in err, err
    assert stat.S_ISCHR(os.stat(node).st_mode)


# -- 8: an output is never one of the inputs ----------------------------------------------------------

def test_an_output_that_is_an_input_is_refused_and_the_input_kept(capsys, tmp_path, files):
    model, x, data = files
    link = tmp_path / "hard-link.csv"
    os.link(x, link)
    cases = [
        [*TRAIN, "--csv", data, "--target", "label", "--out", data],
        ["predict", model, x, "--out", model],
        ["predict", model, x, "--out", x],
        ["predict", model, x, "--out", link],  # another name for the same file
        ["export", model, model],
    ]
    for argv in cases:
        before = {p: p.read_bytes() for p in (model, x, data)}
        code, _, err = run(capsys, *argv)
        assert code == 2 and "one of this command's inputs" in err, (argv, err)
        assert {p: p.read_bytes() for p in (model, x, data)} == before, argv


# -- 9: a failed write leaves the old file ----------------------------------------------------------

def _limited(max_bytes: int):
    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes, max_bytes))
    return limit


def _backprop(*argv, max_bytes: int):
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([sys.executable, "-m", "backprop", *map(str, argv)], capture_output=True, text=True,
                          preexec_fn=_limited(max_bytes), env=env, timeout=300)


def test_predict_out_on_a_full_disk_keeps_the_old_file(tmp_path, files):
    model, x, _ = files
    old = tmp_path / "predictions.csv"
    old.write_text("old,predictions\n" * 2)
    write_features(x, n_rows=200)  # predictions larger than the limit below
    done = _backprop("predict", model, x, "--out", old, max_bytes=200)
    assert done.returncode == 2, done.stderr
    assert str(old) in done.stderr
    assert old.read_text() == "old,predictions\n" * 2
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temporary file left


def test_plots_on_a_full_disk_keep_the_old_history(tmp_path, files):
    _, _, data = files
    plots = tmp_path / "plots"
    plots.mkdir()
    (plots / "history.json").write_text('{"old": true}')
    done = _backprop(*TRAIN, "--csv", data, "--target", "label", "--plots", plots, max_bytes=300)
    assert done.returncode == 2, done.stderr
    assert (plots / "history.json").read_text() == '{"old": true}'


# -- 10: checked before training, kept after a late failure -------------------------------------------

def test_a_destination_on_a_pseudo_file_system_is_refused_before_training(capsys, files):
    _, _, data = files
    code, _, err = run(capsys, *TRAIN, "--csv", data, "--target", "label", "--out", "/proc/model.safetensors")
    assert code == 2 and "cannot create a file in /proc" in err, err


def test_a_model_that_cannot_be_written_after_training_is_kept_elsewhere(capsys, tmp_path, files, monkeypatch):
    import tempfile

    from backprop import modelfile

    _, _, data = files
    out = tmp_path / "out" / "model.safetensors"
    out.parent.mkdir()
    rescue = tmp_path / "rescue"
    rescue.mkdir()
    original = modelfile.write_atomic

    def disk_full_in_out(path, data, **kwargs):
        if str(path).startswith(str(out.parent)):
            raise OSError(errno.ENOSPC, f"cannot write {path}: No space left on device")
        return original(path, data, **kwargs)

    monkeypatch.setattr(modelfile, "write_atomic", disk_full_in_out)
    monkeypatch.setattr(tempfile, "gettempdir", lambda: str(rescue))
    code, _, err = run(capsys, *TRAIN, "--csv", data, "--target", "label", "--out", out)
    assert code == 2 and "No space left" in err, err
    kept = list(rescue.iterdir())
    assert len(kept) == 1 and str(kept[0]) in err
    assert bp.load(kept[0]).classes == ["a", "b", "c"]


# -- 11: modes ------------------------------------------------------------------------------------

def test_new_files_follow_the_umask_and_replaced_files_keep_their_mode(tmp_path, files):
    model, x, _ = files
    previous = os.umask(0o022)
    try:
        fresh = tmp_path / "fresh.safetensors"
        tiny_model().save(fresh)
        assert stat.S_IMODE(os.stat(fresh).st_mode) == 0o644
        os.chmod(model, 0o640)
        tiny_model(seed=1).save(model)
        assert stat.S_IMODE(os.stat(model).st_mode) == 0o640
        os.umask(0o077)
        private = tmp_path / "private.csv"
        assert main(["predict", str(model), str(x), "--out", str(private)]) == 0
        assert stat.S_IMODE(os.stat(private).st_mode) == 0o600
    finally:
        os.umask(previous)


def test_a_symbolic_link_as_the_output_is_followed_and_kept(tmp_path, files):
    model, x, _ = files
    real = tmp_path / "real.csv"
    real.write_text("old\n")
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    assert main(["predict", str(model), str(x), "--out", str(link)]) == 0
    assert link.is_symlink() and real.read_text().startswith("prediction")
