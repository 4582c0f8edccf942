"""Issue 17, case 1: a path that is not a regular file is refused before it is opened for reading.

A FIFO used to hang ``backprop info`` and ``bp.load`` for ever (an ``open`` for
reading waits for a writer). Every reader is tried here on a FIFO under a hang
guard, and on a folder: each refuses with a message that says what the path is.
"""

from __future__ import annotations

import os
import socket

import pytest
from reliability_support import no_hang, tiny_model, write_features

import backprop as bp
from backprop.checkpoint import load_checkpoint
from backprop.cli import main
from backprop.data import load_csv, load_features_csv, load_npz, read_idx
from backprop.modelfile import read_metadata
from backprop.recipes import read_recipe


@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "pipe"
    os.mkfifo(path)
    return path


READERS = {
    "bp.load": lambda p: bp.load(p),
    "read_metadata": lambda p: read_metadata(p),
    "load_csv": lambda p: load_csv(p, "y"),
    "load_features_csv": lambda p: load_features_csv(p),
    "load_npz": lambda p: load_npz(p),
    "read_idx": lambda p: read_idx(p),
    "read_recipe": lambda p: read_recipe(str(p)),
}


@pytest.mark.parametrize("reader", sorted(READERS))
def test_every_reader_refuses_a_fifo_without_blocking(tmp_path, fifo, reader):
    target = fifo
    if reader == "read_recipe":
        target = tmp_path / "pipe.toml"
        os.mkfifo(target)
    with no_hang(), pytest.raises(ValueError, match="FIFO|not a file"):
        READERS[reader](target)


def test_a_checkpoint_that_is_a_fifo_is_refused(tmp_path):
    os.mkfifo(tmp_path / "checkpoint.safetensors")
    with no_hang(), pytest.raises(ValueError, match="FIFO"):
        load_checkpoint(tmp_path)


@pytest.mark.parametrize("argv", [
    ["info", "{fifo}"],
    ["evaluate", "{fifo}", "--dataset", "iris"],
    ["predict", "{fifo}", "{csv}"],
    ["predict", "{model}", "{fifo}"],
    ["export", "{fifo}", "{tmp}/out.onnx"],
    ["explain", "--model", "{fifo}", "--weight", "L,0,0"],
    ["plot", "{fifo}"],
    ["train", "--npz", "{fifo}", "--quiet"],
])
def test_commands_refuse_a_fifo_in_one_line(capsys, tmp_path, fifo, argv):
    model = tmp_path / "m.safetensors"
    tiny_model().save(model)
    write_features(tmp_path / "x.csv")
    args = [a.format(fifo=fifo, csv=tmp_path / "x.csv", model=model, tmp=tmp_path) for a in argv]
    with no_hang():
        code = main(args)
    err = capsys.readouterr().err
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and ("FIFO" in err or "not a file" in err), err


def test_open_regular_names_each_kind_of_special_file(tmp_path):
    from backprop.io import open_regular

    with pytest.raises(ValueError, match="is a folder"):
        open_regular(tmp_path, "model file")
    with pytest.raises(ValueError, match="character device"):
        open_regular("/dev/null", "model file")
    sock_path = tmp_path / "s"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(sock_path))
        with pytest.raises((ValueError, OSError), match="socket|No such device"):
            open_regular(sock_path, "model file")
    with pytest.raises(FileNotFoundError, match="no model file at"):
        open_regular(tmp_path / "missing", "model file")


def test_a_symbolic_link_to_a_regular_file_is_read(tmp_path):
    model = tmp_path / "m.safetensors"
    tiny_model().save(model)
    link = tmp_path / "link.safetensors"
    link.symlink_to(model)
    assert bp.load(link).classes == ["a", "b", "c"]
