"""Issue 17, cases 12 to 16, and issue 14 item 5: ``--resume`` is the same run, or it says why not.

The checkpoint keeps every original option (``--out``, ``--plots``,
``--data-dir``, ...), so the printed resume command works as it is, MNIST
included; flags that would change the run are refused by name; ``--epochs`` at
or below the epochs done is refused; a checkpoint changed by one bit, or with
impossible state, is refused; data changed since is refused; and two runs
cannot share one checkpoint folder.
"""

from __future__ import annotations

import json
import os
import urllib.request

import numpy as np
import pytest
from reliability_support import write_labelled
from safetensors import safe_open
from safetensors.numpy import save_file

import backprop as bp
from backprop.cli import main

FAST = ["--hidden", "3", "--batch-size", "16", "--seed", "1"]


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def run_dir(tmp_path, capsys):
    """A finished 2-epoch CSV run with a checkpoint, a model and plots."""
    write_labelled(tmp_path / "d.csv", n_rows=40)
    code, _, err = run(capsys, "train", "--csv", tmp_path / "d.csv", "--target", "label", "--epochs", "2", *FAST,
                       "--checkpoint", tmp_path / "ckpt", "--out", tmp_path / "m.safetensors",
                       "--plots", tmp_path / "plots", "--quiet")
    assert code == 0, err
    return tmp_path


def test_resume_writes_the_original_outputs(capsys, run_dir, monkeypatch):
    (run_dir / "m.safetensors").unlink()
    (run_dir / "plots" / "history.json").unlink()
    monkeypatch.chdir(run_dir / "plots")  # another working folder: the stored paths are absolute
    code, _, err = run(capsys, "train", "--resume", run_dir / "ckpt", "--epochs", "3")
    assert code == 0, err
    assert bp.load(run_dir / "m.safetensors").metadata["training"]["epochs_run"] == 3
    assert len(json.loads((run_dir / "plots" / "history.json").read_text())["epochs"]) == 3


@pytest.mark.parametrize("epochs", ["1", "2"])
def test_epochs_at_or_below_those_done_is_refused(capsys, run_dir, epochs):
    code, _, err = run(capsys, "train", "--resume", run_dir / "ckpt", "--epochs", epochs)
    assert code == 2 and "has already finished 2 epochs; give more than 2" in err, err


def test_flags_that_conflict_with_the_checkpoint_are_refused_by_name(capsys, run_dir):
    code, _, err = run(capsys, "train", "--resume", run_dir / "ckpt", "--hidden", "8", "--lr", "0.5",
                       "--optimizer", "sgd", "--seed", "9", "--dtype", "float32", "--batch-size", "4",
                       "--dataset", "iris", "--epochs", "3")
    assert code == 2, err
    for flag in ("--hidden", "--lr", "--optimizer", "--seed", "--dtype", "--batch-size", "--dataset"):
        assert flag in err, (flag, err)
    assert len(err.strip().splitlines()) == 1


def test_a_flag_equal_to_the_checkpoint_and_output_flags_are_allowed(capsys, run_dir):
    code, _, err = run(capsys, "train", "--resume", run_dir / "ckpt", "--hidden", "3", "--epochs", "3",
                       "--out", run_dir / "other.safetensors", "--quiet")
    assert code == 0, err
    assert (run_dir / "other.safetensors").exists()


def test_data_changed_since_the_checkpoint_is_refused(capsys, run_dir):
    lines = (run_dir / "d.csv").read_text().splitlines()
    lines[5] = "9.9," + lines[5].split(",", 1)[1]
    (run_dir / "d.csv").write_text("\n".join(lines) + "\n")
    code, _, err = run(capsys, "train", "--resume", run_dir / "ckpt", "--epochs", "3")
    assert code == 2 and "has changed since the checkpoint" in err, err


def _rewrite_checkpoint(folder, edit=None, flip_weight_bit=False):
    path = folder / "ckpt" / "checkpoint.safetensors"
    if flip_weight_bit:
        data = bytearray(path.read_bytes())
        n = int.from_bytes(data[:8], "little")
        start = json.loads(data[8:8 + n])["weights.0.W"]["data_offsets"][0]
        data[8 + n + start + 3] ^= 0x10
        path.write_bytes(bytes(data))
        return
    with safe_open(str(path), "numpy") as f:
        meta = dict(f.metadata())
        arrays = {k: f.get_tensor(k) for k in f.keys()}
    state = json.loads(meta["checkpoint"])
    edit(state)
    meta["checkpoint"] = json.dumps(state)
    meta.pop("sha256")  # so that the state checks, not the checksum, meet it
    save_file(arrays, str(path), metadata=meta)


def test_one_flipped_bit_in_a_weight_is_refused(capsys, run_dir):
    _rewrite_checkpoint(run_dir, flip_weight_bit=True)
    code, _, err = run(capsys, "train", "--resume", run_dir / "ckpt", "--epochs", "3")
    assert code == 2 and "damaged" in err and "SHA-256" in err, err


@pytest.mark.parametrize("key, value, message", [
    ("epoch", 10**6, "epoch must be a whole number from 0"),
    ("epoch", -5, "epoch must be a whole number from 0"),
    ("batch", 10**9, "batch is past 0 but there is no unfinished epoch"),
    ("history", {"task": "classification", "epochs": json.loads("[" * 500 + "]" * 500)}, "nests"),
    ("rng", {"bit_generator": "os.system", "state": {}}, "names no NumPy bit generator"),
    ("loss_sum", "lots", "loss_sum must be a finite number"),
])
def test_impossible_checkpoint_state_is_refused(capsys, run_dir, key, value, message):
    _rewrite_checkpoint(run_dir, lambda state: state.__setitem__(key, value))
    code, _, err = run(capsys, "train", "--resume", run_dir / "ckpt", "--epochs", "3")
    assert code == 2 and message in err, err
    assert len(err.strip().splitlines()) == 1


def test_a_second_run_on_a_locked_checkpoint_folder_is_refused(capsys, run_dir):
    from backprop.checkpoint import checkpoint_lock

    with checkpoint_lock(run_dir / "ckpt"):
        code, _, err = run(capsys, "train", "--resume", run_dir / "ckpt", "--epochs", "3")
    assert code == 2 and "is in use by another backprop train" in err and f"process {os.getpid()}" in err, err


def test_a_stale_lock_from_a_dead_process_does_not_block(capsys, run_dir):
    (run_dir / "ckpt" / ".lock").write_text("999999999\n")  # a lock file left by a killed run
    code, _, err = run(capsys, "train", "--resume", run_dir / "ckpt", "--epochs", "3", "--quiet")
    assert code == 0, err


def test_mnist_resume_reads_the_same_data_folder_not_a_download(capsys, tmp_path, monkeypatch):
    from backprop.data import write_idx

    data = tmp_path / "mnist-files"
    data.mkdir()
    rng = np.random.default_rng(0)
    write_idx(data / "train-images-idx3-ubyte", rng.integers(0, 256, (60, 28, 28), dtype=np.uint8))
    write_idx(data / "train-labels-idx1-ubyte", np.arange(60, dtype=np.uint8) % 10)

    def offline(*args, **kwargs):
        raise OSError("offline: no downloads in this test")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    monkeypatch.delenv("BACKPROP_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "empty-cache"))
    code, _, err = run(capsys, "train", "--dataset", "mnist", "--data-dir", data, "--epochs", "1", "--hidden", "4",
                       "--checkpoint", tmp_path / "ckpt", "--quiet")
    assert code == 0, err
    code, _, err = run(capsys, "train", "--resume", tmp_path / "ckpt", "--epochs", "2", "--quiet")
    assert code == 0, err


def test_the_printed_resume_command_finishes_an_interrupted_run(capsys, tmp_path, monkeypatch):
    import shlex
    import signal

    from backprop.cli import train

    write_labelled(tmp_path / "d.csv", n_rows=40)
    with monkeypatch.context() as patch:  # SIGINT as it arrives: the loop stops after the first batch
        patch.setattr(train.StopOnSignal, "__call__", lambda self: setattr(self, "signal", signal.SIGINT) or True)
        code, _, err = run(capsys, "train", "--csv", tmp_path / "d.csv", "--target", "label", "--epochs", "2",
                           *FAST, "--out", tmp_path / "m.safetensors", "--quiet")
    assert code == 130 and "Resume with: " in err, err
    command = shlex.split(err.split("Resume with: ", 1)[1].strip())
    assert command[:2] == ["backprop", "train"]
    code, _, err = run(capsys, *command[1:])
    assert code == 0, err
    assert bp.load(tmp_path / "m.safetensors").metadata["training"]["epochs_run"] == 2


def test_a_batch_past_the_end_of_an_unfinished_epoch_is_refused(capsys, tmp_path, monkeypatch):
    import signal

    from backprop.cli import train

    write_labelled(tmp_path / "d.csv", n_rows=40)
    with monkeypatch.context() as patch:
        patch.setattr(train.StopOnSignal, "__call__", lambda self: setattr(self, "signal", signal.SIGINT) or True)
        code, _, err = run(capsys, "train", "--csv", tmp_path / "d.csv", "--target", "label", "--epochs", "2",
                           *FAST, "--checkpoint", tmp_path / "ckpt", "--quiet")
    assert code == 130, err
    _rewrite_checkpoint(tmp_path, lambda state: state.__setitem__("batch", 10**9))
    code, _, err = run(capsys, "train", "--resume", tmp_path / "ckpt")
    assert code == 2 and "batch is past the 2 batches of an epoch" in err, err


def test_resume_may_name_its_own_folder_as_the_checkpoint(capsys, run_dir):
    code, _, err = run(capsys, "train", "--resume", run_dir / "ckpt", "--checkpoint", run_dir / "ckpt",
                       "--epochs", "3", "--quiet")
    assert code == 0, err
