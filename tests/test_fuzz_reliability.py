"""Fuzzing the reliability promises of issue 17: one generator per family.

- special files: FIFOs, folders, sockets and links to them, as every input and
  as outputs: documented errors, no hang, and the special file left as it was;
- the model metadata schema: any JSON value at any place in a valid model's
  metadata: ``bp.load`` loads a model that predicts finite numbers, or raises
  ValueError (never another exception, never NaN predictions);
- markup in labels: any text (brackets, escapes, control characters) as class
  labels: ``info`` exits 0 and prints no control character;
- checkpoints: byte mutations and any JSON in any field of the state:
  ``load_checkpoint`` returns or raises a documented error.

The normal suite runs a few hundred inputs; ``make fuzz`` 20 times as many.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import socket
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reliability_support import no_hang, tiny_model
from safetensors import safe_open
from safetensors.numpy import save_file

import backprop as bp
from backprop.checkpoint import load_checkpoint
from backprop.cli import main

DOCUMENTED = (ValueError, TypeError, OSError)


def examples(n: int) -> int:
    return n * max(1, settings.default.max_examples // settings.get_profile("ci").max_examples)


def fuzz(n: int):
    return settings(max_examples=examples(n), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture])


def documented(fn, *args):
    """Call ``fn``: it returns, or raises a documented error with a message; nothing else, no hang."""
    with no_hang(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return fn(*args)
        except DOCUMENTED as exc:
            assert str(exc).strip()
            return None


def cli(*argv) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), no_hang():
        code = main([str(a) for a in argv])
    assert code in (0, 2) and "Traceback" not in err.getvalue(), (argv, code, err.getvalue())
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz-reliability")
    tiny_model().save(folder / "model.safetensors")
    (folder / "x.csv").write_text("a,b,c,d\n1,2,3,4\n")
    return folder


# -- special files ------------------------------------------------------------------------------------

def make_special(folder, kind: str, name: str):
    path = folder / name
    if os.path.lexists(path):
        path.rmdir() if path.is_dir() and not path.is_symlink() else path.unlink()
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()
    elif kind == "socket":
        sock = socket.socket(socket.AF_UNIX)
        sock.bind(str(path))
        sock.close()
    elif kind == "link to fifo":
        target = folder / f"{name}.target"
        if not target.exists():
            os.mkfifo(target)
        path.symlink_to(target)
    elif kind == "dangling link":
        path.symlink_to(folder / "nowhere")
    elif kind == "link to /dev/null":
        path.symlink_to("/dev/null")
    return path


KINDS = ["fifo", "folder", "socket", "link to fifo", "dangling link", "link to /dev/null"]
READERS = {
    "bp.load": lambda p: bp.load(p),
    "load_csv": lambda p: bp.data.load_csv(p, "t") if hasattr(bp, "data") else None,
    "load_npz": lambda p: __import__("backprop.data", fromlist=["load_npz"]).load_npz(p),
    "read_idx": lambda p: __import__("backprop.data", fromlist=["read_idx"]).read_idx(p),
    "read_recipe": lambda p: __import__("backprop.recipes", fromlist=["read_recipe"]).read_recipe(str(p)),
    "load_checkpoint": lambda p: load_checkpoint(p.parent),
}


@fuzz(40)
@given(kind=st.sampled_from(KINDS), reader=st.sampled_from(sorted(READERS)))
def test_special_files_as_inputs_meet_documented_errors(folder, kind, reader):
    name = {"read_recipe": "special.toml", "load_checkpoint": "checkpoint.safetensors"}.get(reader, "special")
    sub = folder / f"special-{reader}"
    sub.mkdir(exist_ok=True)
    path = make_special(sub, kind, name)
    documented(READERS[reader], path)


@fuzz(25)
@given(kind=st.sampled_from([k for k in KINDS if k != "dangling link"]),
       command=st.sampled_from(["predict", "export", "train"]))
def test_special_files_as_outputs_are_refused_and_left_alone(folder, kind, command):
    out = make_special(folder, kind, "special-out")
    before = os.lstat(out)
    argv = {"predict": ["predict", folder / "model.safetensors", folder / "x.csv", "--out", out],
            "export": ["export", folder / "model.safetensors", out],
            "train": ["train", "--dataset", "xor", "--epochs", "1", "--hidden", "2", "--quiet", "--out", out]}
    code, _, err = cli(*argv[command])
    assert code == 2, err
    after = os.lstat(out)
    assert (after.st_mode, after.st_ino) == (before.st_mode, before.st_ino)


# -- the model metadata schema ---------------------------------------------------------------------------

JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-2**40, 2**40), st.sampled_from([1e400, -1e400, 1e308, 0.5]),
              st.floats(allow_nan=False), st.text(max_size=8)),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)),
    max_leaves=12,
)


def _places(obj, prefix=()):
    yield prefix
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else ()
    for key, value in items:
        yield from _places(value, (*prefix, key))


@pytest.fixture(scope="module")
def valid_model(folder):
    path = folder / "model.safetensors"
    with safe_open(str(path), "numpy") as f:
        return dict(f.metadata()), {k: f.get_tensor(k) for k in f.keys()}


@fuzz(150)
@given(data=st.data())
def test_any_json_anywhere_in_the_metadata_loads_cleanly_or_is_refused(folder, valid_model, data):
    meta, arrays = valid_model
    config = json.loads(meta["model"])
    place = data.draw(st.sampled_from([p for p in _places(config) if p]))
    value = data.draw(JSON)
    target = config
    for key in place[:-1]:
        target = target[key]
    target[place[-1]] = value
    text = json.dumps(config)  # 1e400 is written as Infinity: the loader must refuse it
    path = folder / "edited.safetensors"
    save_file(arrays, str(path), metadata={**{k: v for k, v in meta.items() if k != "sha256"}, "model": text})
    model = documented(bp.load, path)
    if model is not None:
        with np.errstate(all="ignore"):
            out = documented(model.predict_proba if model.task == "classification" else model.predict,
                             np.ones((2, model.network.sizes[0])))
        assert out is None or np.all(np.isfinite(np.asarray(out, dtype=float)))


# -- markup in labels ---------------------------------------------------------------------------------------

LABEL = st.lists(st.sampled_from(list("[]/=:@ab \x1b\x07\x9b\u202e\n\t;") + ["link", "bold", "red"]),
                 min_size=1, max_size=12).map("".join)


@fuzz(60)
@given(labels=st.lists(LABEL, min_size=2, max_size=4, unique=True))
def test_any_labels_print_as_text_in_info(folder, labels):
    path = folder / "labels.safetensors"
    tiny_model(classes=labels).save(path)
    code, out, err = cli("info", path)
    assert code == 0, err
    assert not any(c in out for c in "\x1b\x07\x9b\u202e"), out


# -- checkpoints --------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def checkpoint(folder):
    code, _, err = cli("train", "--dataset", "xor", "--epochs", "2", "--hidden", "3", "--quiet",
                       "--checkpoint", folder / "ckpt")
    assert code == 0, err
    return (folder / "ckpt" / "checkpoint.safetensors").read_bytes()


@fuzz(150)
@given(data=st.data())
def test_mutated_checkpoints_meet_documented_errors(folder, checkpoint, data):
    raw = bytearray(checkpoint)
    for _ in range(data.draw(st.integers(1, 4))):
        how = data.draw(st.sampled_from(["flip", "truncate", "byte"]))
        if how == "truncate":
            raw = raw[:data.draw(st.integers(0, len(raw)))]
        elif raw:
            i = data.draw(st.integers(0, len(raw) - 1))
            raw[i] = raw[i] ^ (1 << data.draw(st.integers(0, 7))) if how == "flip" else data.draw(st.integers(0, 255))
    target = folder / "mutated-ckpt"
    target.mkdir(exist_ok=True)
    (target / "checkpoint.safetensors").write_bytes(bytes(raw))
    documented(load_checkpoint, target)


@fuzz(150)
@given(data=st.data())
def test_any_json_anywhere_in_the_checkpoint_state_is_loaded_or_refused(folder, checkpoint, data):
    source = folder / "state-src"
    source.mkdir(exist_ok=True)
    (source / "checkpoint.safetensors").write_bytes(checkpoint)
    with safe_open(str(source / "checkpoint.safetensors"), "numpy") as f:
        meta = dict(f.metadata())
        arrays = {k: f.get_tensor(k) for k in f.keys()}
    state = json.loads(meta.pop("checkpoint"))
    meta.pop("sha256")
    place = data.draw(st.sampled_from([p for p in _places(state) if p and p[0] != "model"]))
    target = state
    for key in place[:-1]:
        target = target[key]
    target[place[-1]] = data.draw(JSON)
    save_file(arrays, str(source / "checkpoint.safetensors"), metadata={**meta, "checkpoint": json.dumps(state)})
    documented(load_checkpoint, source)
