"""Checkpoints through the shell: kill training at a random moment, resume, get the same weights."""

import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from safetensors.numpy import load_file

from backprop.checkpoint import CHECKPOINT_FILE, load_checkpoint
from backprop.cli import main

# Long enough to be interrupted (a few seconds), small enough for the suite.
RUN = ["train", "--dataset", "digits", "--hidden", "32", "--optimizer", "momentum", "--lr", "0.01",
       "--batch-size", "4", "--epochs", "300", "--schedule", "step", "--early-stopping", "--patience", "1000",
       "--quiet", "--seed", "3"]


def backprop(*argv, **kwargs):
    return subprocess.Popen([sys.executable, "-m", "backprop", *map(str, argv)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kwargs)


def weights(path):
    return load_file(str(path))


def same(a, b):
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("whole")
    proc = backprop(*RUN, "--out", folder / "model.safetensors")
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    return weights(folder / "model.safetensors")


def test_sigkill_at_a_random_moment_then_resume_is_bit_identical(tmp_path, uninterrupted):
    checkpoint = tmp_path / "ckpt"
    proc = backprop(*RUN, "--checkpoint", checkpoint, "--out", tmp_path / "model.safetensors")
    deadline = time.monotonic() + 120
    while not (checkpoint / CHECKPOINT_FILE).exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    time.sleep(random.Random(7).uniform(0.0, 1.0))
    proc.kill()  # SIGKILL: no chance to save anything more
    proc.communicate()
    assert (checkpoint / CHECKPOINT_FILE).exists()
    state, _, _ = load_checkpoint(checkpoint)
    assert state.batch == 0 and 1 <= state.epoch <= 300

    resumed = backprop("train", "--resume", checkpoint, "--out", tmp_path / "model.safetensors", "--quiet")
    _, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    assert same(weights(tmp_path / "model.safetensors"), uninterrupted)


@pytest.mark.parametrize("sig, explicit_folder", [(signal.SIGINT, True), (signal.SIGTERM, False)])
def test_a_signal_finishes_the_batch_saves_and_says_how_to_resume(tmp_path, uninterrupted, sig, explicit_folder):
    out = tmp_path / "model.safetensors"
    if explicit_folder:
        folder = tmp_path / "ckpt"
        proc = backprop(*RUN, "--out", out, "--checkpoint", folder, "--checkpoint-every", "1000")
        # Training holds the folder's lock: from then on a signal means "stop cleanly".
        deadline = time.monotonic() + 120
        while not (folder / ".lock").exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        time.sleep(0.5)
    else:
        folder = tmp_path / "model.checkpoint"  # the default next to --out
        proc = backprop(*RUN, "--out", out)
        time.sleep(5.0)  # past the imports (pandas, matplotlib), well into training
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + sig, err
    assert f"Resume with: backprop train --resume {folder}" in " ".join(err.split())
    state, _, _ = load_checkpoint(folder)
    assert not out.exists()

    resumed = backprop("train", "--resume", folder, "--out", out, "--quiet")
    _, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    assert same(weights(out), uninterrupted)


def test_resume_errors_are_clear(tmp_path, capsys):
    assert main(["train", "--resume", str(tmp_path)]) == 2
    assert "no checkpoint in" in capsys.readouterr().err
    (tmp_path / CHECKPOINT_FILE).write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{}")
    assert main(["train", "--resume", str(tmp_path)]) == 2
    assert "not a" in capsys.readouterr().err
    assert main(["train", "--dataset", "iris", "--checkpoint-every", "0", "--quiet"]) == 2
    assert "--checkpoint-every must be a positive integer" in capsys.readouterr().err
