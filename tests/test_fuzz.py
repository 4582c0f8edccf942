"""Fuzzing: malformed input of every kind meets only the documented errors.

The property, for every entry point: it either works, or raises ValueError,
TypeError or OSError (or a subclass) with a non-empty message; the command
line returns 0 or exit code 2 with one line on stderr (argparse's own
``SystemExit(2)`` included), never exit code 1 or a traceback; nothing hangs.

The inputs: CSV text (binary junk, ragged rows, quotes, NaN/inf strings, huge
numbers, empty cells, BOMs, odd line endings) into the CSV loaders; arrays of
any shape and dtype (object, complex, bool, int, NaN, inf) into the network and
the model; byte mutations, truncations and metadata edits of a valid model
file into ``backprop.load`` and the ``info`` and ``predict`` commands; byte
mutations of IDX and NPZ files into their readers; argument lists built from
the real option names and junk values into ``backprop.cli.main``.

The normal suite generates about 11,000 inputs in all; ``make fuzz`` runs the
same tests with 20 times as many (``HYPOTHESIS_PROFILE=fuzz``, see
``conftest.py``).
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import io
import json
import urllib.request
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from safetensors import safe_open
from safetensors.numpy import save_file

import backprop as bp
from reliability_support import Hang, no_hang
from backprop.cli import CLIError, build_parser, main
from backprop.data import load_csv, load_features_csv, load_npz, read_idx
from backprop.data.mnist import IMAGES_MAGIC, parse_idx

DOCUMENTED = (ValueError, TypeError, OSError)


def examples(n: int) -> int:
    """``n`` examples in the normal suite; as many times more as the active profile allows over "ci"."""
    return n * max(1, settings.default.max_examples // settings.get_profile("ci").max_examples)


def fuzz_settings(n: int):
    # deadline=None: a slow example is not a failure; a hung one is stopped by time_limit instead.
    return settings(max_examples=examples(n), deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])


# One hang guard for the suite: a block still running after its limit fails with Hang.
time_limit = no_hang


def only_documented(fn, *args, **kwargs):
    """Call ``fn``; a ValueError, TypeError or OSError must say something. Anything else propagates."""
    with time_limit(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            result = fn(*args, **kwargs)
        except DOCUMENTED as exc:
            assert str(exc).strip(), f"{type(exc).__name__} without a message"
            event(f"{getattr(fn, '__name__', fn)}: {type(exc).__name__}")
            return None
        event(f"{getattr(fn, '__name__', fn)}: returned")
        return result


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


def put(path, data: bytes):
    """Write ``data`` over ``path`` in place: on some file systems truncating to zero first costs milliseconds."""
    with open(path, "r+b" if path.exists() else "wb") as fh:
        fh.write(data)
        fh.truncate()
    return path


@pytest.fixture(scope="module", autouse=True)
def offline(tmp_path_factory):
    """No download is ever tried for real: MNIST is looked for in an empty folder and the network fails at once."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BACKPROP_DATA", str(tmp_path_factory.mktemp("no-mnist")))

        def urlopen(*args, **kwargs):
            raise OSError("offline (fuzz tests)")

        mp.setattr(urllib.request, "urlopen", urlopen)
        yield


# -- CSV text ---------------------------------------------------------------------------------------------

NAMES = st.sampled_from(["a", "b", "t", "c", "", " t ", "a", "\ufefft", "x y", '"t"'])
CELLS = st.one_of(
    st.sampled_from(["", " ", "0", "1", "-1", "2", "0.5", "1e-3", "nan", "NaN", "-nan", "inf", "-inf",
                     "Infinity", "1e400", "-1e309", "1e39", "1.8e308", "1e-400", "9" * 400, "1_0", "0x10",
                     "spam", "eggs", '"', '""', '"1,2"', "'1'", "\x00", "\ufeff", "\u0663", "1 2", "٣.٥"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-10**30, 10**30).map(str),
    st.text(max_size=6),
)


GOOD_CELLS = st.one_of(st.sampled_from(["0", "1", "2", "-1", "0.5", "1e-3", "3", " 4 ", "cat", "dog"]),
                       st.floats(-1e6, 1e6).map(lambda x: f"{x:.4g}"))


@st.composite
def csv_text(draw) -> bytes:
    """CSV text: a table of mostly good cells with a few bad ones; junk cells throughout; raw junk."""
    kind = draw(st.integers(0, 9))
    if kind == 0:
        return draw(st.binary(max_size=300))
    if kind == 1:
        return draw(st.text(max_size=300)).encode("utf-8", "surrogatepass")
    width = draw(st.sampled_from([2, 2, 3, 3, 4, 1]))
    if draw(st.integers(0, 3)):  # distinct names with a target column t
        header = draw(st.permutations(["a", "b", "c", "t"][-width:]))
    else:
        header = draw(st.lists(NAMES, min_size=width, max_size=width))
    if kind < 6:
        rows = draw(st.lists(st.lists(GOOD_CELLS, min_size=width, max_size=width), min_size=1, max_size=8))
        for _ in range(draw(st.sampled_from([0, 0, 1, 2]))):  # a few bad cells, or a ragged row
            row = rows[draw(st.integers(0, len(rows) - 1))]
            if row and draw(st.integers(0, 4)):
                row[draw(st.integers(0, len(row) - 1))] = draw(CELLS)
            elif not row or draw(st.booleans()):
                row.append(draw(CELLS))
            else:
                row.pop()
    else:
        rows = draw(st.lists(st.lists(CELLS, min_size=max(0, width - 1), max_size=width + 1), max_size=8))
    delimiter = draw(st.sampled_from([","] * 8 + [";", "\t"]))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r", "\n\n"]))
    text = newline.join(delimiter.join(row) for row in [header, *rows])
    if draw(st.booleans()):
        text += newline
    bom = draw(st.sampled_from(["", "", "\ufeff", "\ufeff\ufeff"]))
    encoding = draw(st.sampled_from(["utf-8"] * 8 + ["utf-16", "latin-1"]))
    return (bom + text).encode(encoding, "replace")


TARGETS = st.one_of(st.just("t"), st.just("t"), st.sampled_from(["a", "b", "", " t", "missing", "\ufefft"]),
                    st.integers(-6, 6), st.sampled_from([None, 1.5, True, b"t", ["t"], np.int64(0)]))
TASKS = st.one_of(st.none(), st.none(), st.sampled_from(["classification", "regression", "clustering", 3]))


@fuzz_settings(2500)
@given(data=csv_text(), target=TARGETS, task=TASKS)
def test_load_csv_meets_junk_with_documented_errors(folder, data, target, task):
    path = put(folder / "junk.csv", data)
    dataset = only_documented(load_csv, path, target, task=task)
    if dataset is not None:
        assert np.all(np.isfinite(dataset.X)) and dataset.X.shape[0] == len(dataset.y) >= 1


@fuzz_settings(1000)
@given(data=csv_text(), n_features=st.one_of(st.none(), st.integers(-1, 5)),
       names=st.one_of(st.none(), st.lists(NAMES, max_size=4)))
def test_load_features_csv_meets_junk_with_documented_errors(folder, data, n_features, names):
    path = put(folder / "features.csv", data)
    X = only_documented(load_features_csv, path, n_features, feature_names=names)
    if X is not None:
        assert X.ndim == 2 and np.all(np.isfinite(X))


# -- arrays into the network and the model -----------------------------------------------------------------

FLOATS = st.floats(allow_nan=True, allow_infinity=True, width=64)
NUMERIC = st.sampled_from([np.float64, np.float32, np.float16, np.int64, np.int8, np.uint8, np.bool_,
                           np.complex128])
SHAPES = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)


def any_array():
    """Arrays of any shape and dtype, ragged lists, objects, strings; often shaped (n, 2)."""
    return st.one_of(
        hnp.arrays(NUMERIC, SHAPES),
        hnp.arrays(NUMERIC, st.tuples(st.integers(0, 4), st.sampled_from([1, 2, 3]))),
        hnp.arrays(np.float64, st.tuples(st.integers(1, 4), st.just(2)),
                   elements=st.sampled_from([0.0, 1.0, -2.5, 1e39, 1e300, -1e308, np.nan, np.inf, 5e-324])),
        hnp.arrays(object, st.tuples(st.integers(0, 3), st.just(2)),
                   elements=st.one_of(st.none(), FLOATS, st.integers(-10**20, 10**20), st.text(max_size=2))),
        hnp.arrays(st.sampled_from([np.dtype("U3"), np.dtype("S2"), np.dtype("M8[s]")]),
                   st.tuples(st.integers(0, 3), st.just(2))),
        st.lists(st.one_of(FLOATS, st.lists(FLOATS, max_size=3)), max_size=4),
        st.sampled_from([None, "abc", 3.0, [], [[]], [[1.0, 2.0], [3.0]], {"a": 1}, object()]),
    )


NETWORKS = {
    "sse": lambda: bp.Network.from_sizes([2, 3, 1], activation="tanh", loss="sse", seed=0),
    "softmax": lambda: bp.Network.from_sizes([2, 3, 2], activation="relu", output_activation="softmax",
                                             loss="cross_entropy", seed=1),
    "float32": lambda: bp.Network.from_sizes([2, 2], activation="sigmoid", loss="binary_cross_entropy",
                                             dtype="float32", seed=2),
}


def n_rows(X) -> int:
    return len(X) if isinstance(X, list) or (isinstance(X, np.ndarray) and X.ndim > 0) else 2


def rows_like(X, n_columns: int):
    """Targets with as many rows as ``X`` (when it has any), so that checks past the row count are reached."""
    n = n_rows(X)
    return st.one_of(
        hnp.arrays(np.float64, (n, n_columns), elements=st.sampled_from([0.0, 1.0, 0.5, -3.0, np.nan, 1e300])),
        hnp.arrays(st.sampled_from([np.int64, np.bool_, np.float32]), st.sampled_from([(n,), (n, n_columns)])),
        any_array(),
    )


@fuzz_settings(1500)
@given(kind=st.sampled_from(sorted(NETWORKS)), X=any_array(), data=st.data())
def test_network_forward_loss_gradients_meet_junk_arrays(kind, X, data):
    net = NETWORKS[kind]()
    Y = data.draw(rows_like(X, net.sizes[-1]))
    out = only_documented(net.forward, X)
    if out is not None:
        assert out.shape[1] == net.sizes[-1]
    loss = only_documented(net.loss, X, Y)
    if loss is not None:
        assert isinstance(loss, float)
    only_documented(net.gradients, X, Y)


FIT_OPTIONS = st.fixed_dictionaries({}, optional={
    "epochs": st.sampled_from([1, 2, 0, -1, 1.5, "1", None, True]),
    "batch_size": st.sampled_from([1, 3, 0, -2, 2.5, "4", None]),
    "lr": st.sampled_from([0.1, 1e3, 0.0, -1.0, float("nan"), float("inf"), "x", None]),
    "optimizer": st.sampled_from(["sgd", "adam", "momentum", "bogus", 3, None]),
    "validation_split": st.sampled_from([0.0, 0.5, 1.0, -0.1, float("nan")]),
    "weight_decay": st.sampled_from([0.0, 0.1, -1.0, float("inf")]),
    "clip_norm": st.sampled_from([None, 1.0, 0.0, -1.0, float("nan")]),
    "seed": st.sampled_from([0, 1, -1, None, "s", 2**70]),
    "early_stopping": st.booleans(),
    "patience": st.sampled_from([0, 1, -1, 2.5]),
    "schedule": st.sampled_from([None, "constant", "cosine", "bogus", {"name": "step"}]),
})


@fuzz_settings(600)
@given(kind=st.sampled_from(sorted(NETWORKS)), X=any_array(), data=st.data(), options=FIT_OPTIONS)
def test_network_fit_meets_junk_arrays_and_options(kind, X, data, options):
    net = NETWORKS[kind]()
    Y = data.draw(rows_like(X, net.sizes[-1]))
    history = only_documented(net.fit, X, Y, **options)
    if history is not None:
        assert all(np.all(np.isfinite(p)) for layer in net.parameters() for p in layer.values() if p is not None)


@pytest.fixture(scope="module")
def models():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(12, 2))
    classifier = bp.Model.build(2, [3], task="classification", classes=["cat", "dog"], seed=0)
    classifier.fit(X, ["cat", "dog"] * 6, epochs=1)
    regressor = bp.Model.build(2, [3], task="regression", dtype="float32", seed=0, preprocessing="minmax")
    regressor.fit(X, rng.normal(size=12), epochs=1)
    return {"classifier": classifier, "regressor": regressor}


@fuzz_settings(1000)
@given(which=st.sampled_from(["classifier", "regressor"]), X=any_array(), data=st.data())
def test_model_predict_and_evaluate_meet_junk_arrays(models, which, X, data):
    model = models[which]
    n = n_rows(X)
    y = data.draw(st.one_of(st.lists(st.sampled_from(["cat", "dog", "cow", 0, 1.5, None]), min_size=n, max_size=n),
                            rows_like(X, 1)))
    predictions = only_documented(model.predict, X)
    if predictions is not None:
        assert len(predictions) == np.asarray(X).shape[0]
    if which == "classifier":
        only_documented(model.predict_proba, X)
    only_documented(model.evaluate, X, y)


# -- model files -----------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def model_file(folder, models):
    path = folder / "valid.safetensors"
    models["classifier"].save(path)
    return path.read_bytes()


@st.composite
def mutated_bytes(draw, original: bytes) -> bytes:
    """Truncations, flipped, overwritten, inserted and deleted bytes, a rewritten length prefix, junk appended."""
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 3))):
        how = draw(st.sampled_from(["truncate", "flip", "set", "insert", "delete", "prefix", "append",
                                    "zero"]))
        where = draw(st.integers(0, max(len(data) - 1, 0)))
        if how == "truncate":
            del data[where:]
        elif how == "flip" and data:
            data[where] ^= 1 << draw(st.integers(0, 7))
        elif how == "set" and data:
            chunk = draw(st.binary(min_size=1, max_size=8))
            data[where:where + len(chunk)] = chunk
        elif how == "insert":
            data[where:where] = draw(st.binary(min_size=1, max_size=16))
        elif how == "delete":
            del data[where:where + draw(st.integers(1, 16))]
        elif how == "prefix" and len(data) >= 8:
            n = draw(st.one_of(st.integers(0, 2**64 - 1), st.integers(0, len(data) + 16)))
            data[:8] = n.to_bytes(8, "little")
        elif how == "append":
            data += draw(st.binary(min_size=1, max_size=64))
        elif how == "zero":
            data[where:where + draw(st.integers(1, 64))] = bytes(min(64, len(data) - where))
    return bytes(data)


JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20), st.floats(allow_nan=False),
              st.sampled_from([0, -1, 1, 2, 10**9, "", "relu", "softmax", "float32", "bogus", "standardize"]),
              st.text(max_size=5)),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)),
    max_leaves=6,
)


def _paths(obj, prefix=()):
    """Every path into a JSON value."""
    yield prefix
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else ()
    for key, value in items:
        yield from _paths(value, prefix + (key,))


@st.composite
def edited_metadata(draw, original: bytes) -> tuple[dict, dict, dict]:
    """The model file's metadata and tensors with one to three JSON values or tensors replaced.

    The stored checksum is dropped (files without one load unchecked), so the
    edits reach every check behind it.
    """
    header_len = int.from_bytes(original[:8], "little")
    meta = json.loads(original[8:8 + header_len])["__metadata__"]
    config = json.loads(meta["model"])
    meta = {k: v for k, v in meta.items() if k != "sha256"}
    tensors = {}
    for _ in range(draw(st.integers(1, 3))):
        target = draw(st.sampled_from(["config", "config", "config", "meta", "tensor"]))
        if target == "config":
            path = draw(st.sampled_from(list(_paths(config))[1:]))
            node = config
            for key in path[:-1]:
                node = node[key]
            node[path[-1]] = draw(JSON_VALUES)
        elif target == "meta":
            meta[draw(st.sampled_from(["format", "format_version", "model"]))] = draw(
                st.sampled_from(["", "1", "2", "backprop-model", "{}", "[]", "null", "NaN", "{\"network\": 1}"]))
        else:
            name = draw(st.sampled_from(["layers.0.W", "layers.0.b", "layers.1.W", "layers.1.b", "extra"]))
            tensors[name] = draw(hnp.arrays(st.sampled_from([np.float64, np.float32, np.int32, np.uint8]),
                                            hnp.array_shapes(min_dims=0, max_dims=2, max_side=4)))
    meta["model"] = json.dumps(config) if "model" not in meta or meta["model"].startswith("{\"network\": {") \
        else meta["model"]
    return meta, tensors, config


def _load_and_use(path):
    model = only_documented(bp.load, path)
    if model is not None:
        X = np.array([[0.5, -1.0], [2.0, 0.0]])
        only_documented(model.predict, X[:, :model.network.sizes[0]])
        only_documented(bp.modelfile.read_metadata, path)
    return model


@fuzz_settings(1800)
@given(data=st.data())
def test_mutated_model_files_meet_documented_errors(folder, model_file, data):
    path = put(folder / "mutated.safetensors", data.draw(mutated_bytes(model_file)))
    _load_and_use(path)


@fuzz_settings(500)
@given(data=st.data())
def test_model_files_with_edited_metadata_meet_documented_errors(folder, model_file, data):
    meta, tensors, _ = data.draw(edited_metadata(model_file))
    path = folder / "edited.safetensors"
    with safe_open(folder / "valid.safetensors", "numpy") as f:
        arrays = {k: f.get_tensor(k) for k in f.keys()}
    arrays.update(tensors)
    save_file({k: np.ascontiguousarray(v) for k, v in arrays.items()}, str(path), metadata=meta)
    _load_and_use(path)


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    """Run the entry point; check the exit-code contract; return (code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    debug = "--debug" in argv
    command = next(a for a in argv if a != "--debug")
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), time_limit(), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            code = main(argv)
        except Hang as exc:
            raise Hang(f"{exc} for {argv}") from None
        except SystemExit as exc:  # argparse: 2 for bad usage, 0 for --help and --version
            assert exc.code in (0, 2), f"SystemExit({exc.code!r}) for {argv}"
            event(f"{command}: argparse exit {exc.code}")
            return int(exc.code or 0), out.getvalue(), err.getvalue()
        except (*DOCUMENTED, CLIError) as exc:
            assert debug, f"{type(exc).__name__} escaped main() without --debug: {exc}"
            event(f"{command} --debug: {type(exc).__name__}")
            return 2, out.getvalue(), err.getvalue()
    event(f"{command}: exit {code}")
    stderr = err.getvalue()
    assert "Traceback" not in stderr, stderr
    if command == "gradcheck" and code == 1:
        assert not stderr.strip(), f"gradcheck failed unexpectedly: {stderr}"  # 1: the documented FAILED
        return code, out.getvalue(), stderr
    assert code in (0, 2), f"exit code {code} for {argv}: {stderr}"
    if code == 2:
        lines = [line for line in stderr.splitlines() if line.strip()]
        assert len(lines) == 1, f"{len(lines)} lines on stderr for {argv}: {stderr}"
    return code, out.getvalue(), stderr


@fuzz_settings(300)
@given(data=st.data(), command=st.sampled_from(["info", "info --json", "predict", "predict --out"]))
def test_mutated_model_files_through_info_and_predict(folder, model_file, data, command):
    path = put(folder / "cli.safetensors", data.draw(mutated_bytes(model_file)))
    features = put(folder / "cli-features.csv", b"a,b\n0.5,1\n-2,3\n")
    if command.startswith("info"):
        run_cli(["info", str(path), *command.split()[1:]])
    else:
        extra = ["--out", str(folder / "predictions.csv")] if command.endswith("--out") else []
        run_cli(["predict", str(path), str(features), *extra])


# -- IDX and NPZ files -------------------------------------------------------------------------------------------

def idx_bytes(array: np.ndarray) -> bytes:
    """What :func:`write_idx` writes, made in memory."""
    code = {"uint8": 0x08, "int8": 0x09, "int16": 0x0B, "int32": 0x0C, "float32": 0x0D, "float64": 0x0E}
    header = bytes([0, 0, code[array.dtype.name], array.ndim]) + b"".join(n.to_bytes(4, "big") for n in array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


IDX_ARRAYS = st.one_of(
    hnp.arrays(st.sampled_from([np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]),
               hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=4)),
    st.just(np.zeros((2, 28, 28), dtype=np.uint8)),
)


@fuzz_settings(1500)
@given(array=IDX_ARRAYS, data=st.data(), compress=st.booleans(), magic=st.sampled_from([None, IMAGES_MAGIC, 7]))
def test_mutated_idx_files_meet_documented_errors(folder, array, data, compress, magic):
    raw = data.draw(mutated_bytes(idx_bytes(array)))
    stored = gzip.compress(raw, mtime=0, compresslevel=1) if compress else raw
    if compress and data.draw(st.booleans()):
        stored = data.draw(mutated_bytes(stored))  # damage the gzip stream itself
    path = put(folder / "mutated.idx", stored)
    result = only_documented(read_idx, path, magic=magic)
    if result is not None:
        assert result.ndim >= 1
    only_documented(parse_idx, raw, "bytes", magic=magic)


@pytest.fixture(scope="module")
def npz_file(folder):
    path = folder / "valid.npz"
    np.savez(path, X=np.arange(12.0).reshape(6, 2), y=np.array(["a", "b"] * 3), feature_names=np.array(["p", "q"]))
    compressed = folder / "valid-compressed.npz"
    np.savez_compressed(compressed, X=np.arange(12.0).reshape(6, 2), y=np.arange(6) % 2)
    return path.read_bytes(), compressed.read_bytes()


@fuzz_settings(400)
@given(data=st.data(), which=st.sampled_from([0, 1]), task=TASKS)
def test_mutated_npz_files_meet_documented_errors(folder, npz_file, data, which, task):
    path = put(folder / "mutated.npz", data.draw(mutated_bytes(npz_file[which])))
    only_documented(load_npz, path, task=task)


# -- command-line arguments ---------------------------------------------------------------------------------------

def _actions_by_command() -> dict[str, list[argparse.Action]]:
    """Each command's arguments, read from the real parser."""
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return {name: [a for a in p._actions if not isinstance(a, argparse._HelpAction)] for name, p in sub.choices.items()}


ACTIONS = _actions_by_command()
# export belongs to the ONNX bridge (and its optional dependency); plot draws with matplotlib, which is slow.
FUZZED_COMMANDS = ["train", "evaluate", "predict", "info", "datasets", "explain", "gradcheck", "plot"]
# Junk values: no mid-sized integers, so that nothing asks for a big network or a long run.
JUNK = st.sampled_from([
    "", " ", "-", "--", "abc", "é", "\x00", ",", "x,y", "0x10", "1_0", "iris", "xor", "mnist", "digits", "sine",
    "moons", "t", "a", "b", "sgd", "relu", "float32", "json", "L,0,0", "L,1,b", "L-1,0,1", "1,0,0", "train",
    "99999999999999999999999", "-1", "0", "1", "nan", "inf", "1e400", "1e-300",
])
INTS = st.sampled_from(["0", "1", "2", "3", "-1", "-5", "1.5", "x", "", "99999999999999999999999", "0x3"])
FLOATS_TEXT = st.sampled_from(["0", "0.5", "1", "-1", "1e-3", "nan", "inf", "-inf", "1e400", "1e-300", "1e39",
                               "1e-16", "x", ""])
LISTS = st.sampled_from(["2", "2,3", "3,2", "2,2,2", "1,2", "0", "2,0", "-1,2", "x", "", ",", "2,,3",
                         "2,99999999999999999999999", "0.5,-1", "1e400,1", "nan,1", "0.5,1,2"])


@pytest.fixture(scope="module")
def cli_files(folder, model_file, npz_file):
    """Paths the junk may name: a good model, a damaged one, CSVs, an NPZ, a folder, a missing file.

    The commands run in ``folder``, so that a junk --out or --checkpoint writes nothing elsewhere.
    """
    (folder / "cli-model.safetensors").write_bytes(model_file)
    (folder / "cli-damaged.safetensors").write_bytes(model_file[: len(model_file) // 2])
    (folder / "cli-train.csv").write_text("a,b,t\n" + "".join(f"{i % 5},{(i * 3) % 7},{'xy'[i % 2]}\n"
                                                             for i in range(12)))
    (folder / "cli-features.csv").write_text("a,b\n0.5,1\n")
    (folder / "cli-junk.bin").write_bytes(bytes(range(256)))
    (folder / "cli-empty.csv").write_text("")
    (folder / "cli-data.npz").write_bytes(npz_file[1])
    (folder / "cli-dir").mkdir(exist_ok=True)
    names = ["cli-model.safetensors", "cli-damaged.safetensors", "cli-train.csv", "cli-features.csv",
             "cli-junk.bin", "cli-empty.csv", "cli-data.npz", "cli-dir", "cli-missing.csv",
             "cli-dir/new-file", "cli-missing-dir/file"]
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(folder)
        yield [str(folder / name) for name in names]


@st.composite
def argv(draw, files: list[str]) -> list[str]:
    """A command, its positionals, and up to six of its real options, each with a plausible or junk value."""
    command = draw(st.sampled_from(FUZZED_COMMANDS))
    paths = st.sampled_from(files)

    def value(action: argparse.Action) -> str:
        if action.dest == "epochs":  # a huge number of epochs is a long run, not bad input
            return draw(st.sampled_from(["0", "1", "2", "-1", "x", "1.5", ""]))
        kind = action.type
        typed = (st.sampled_from(list(action.choices)) if action.choices is not None else
                 paths if getattr(kind, "__name__", "") in ("Path", "PosixPath") else
                 INTS if kind is int else FLOATS_TEXT if kind is float else
                 LISTS if kind is not None else st.one_of(JUNK, paths, LISTS))
        return draw(typed if draw(st.integers(0, 5)) else st.one_of(JUNK, paths))

    positionals = [a for a in ACTIONS[command] if not a.option_strings]
    options = [a for a in ACTIONS[command] if a.option_strings and a.dest not in ("plots", "debug")]
    args = []
    if command == "train":
        # A tiny data set, one epoch, two hidden units: the options below may replace any of them.
        args += ["--csv", files[2], "--target", "t", "--epochs", "1", "--hidden", "2", "--quiet"]
    if command in ("explain", "gradcheck") and draw(st.integers(0, 3)):
        args += ["--sizes", draw(LISTS)]
    if command == "explain" and draw(st.integers(0, 3)):  # --weight is required
        args += ["--weight", draw(st.sampled_from(["L,0,0", "L,1,b", "L-1,0,1", "1,0,0", "L,5,0", "x", ""]))]
    for action in draw(st.lists(st.sampled_from(options), max_size=6)) if options else []:
        args.append(draw(st.sampled_from(action.option_strings)))
        if action.nargs != 0:
            args.append(value(action))
    args += [value(action) for action in positionals]
    if draw(st.integers(0, 9)) == 0:  # a stray token anywhere
        args.insert(draw(st.integers(0, len(args))), draw(st.one_of(JUNK, st.text(max_size=4))))
    debug = ["--debug"] if draw(st.integers(0, 9)) == 0 else []
    return [*debug, command, *args]


@fuzz_settings(900)
@given(data=st.data())
def test_cli_meets_junk_arguments_with_exit_code_0_or_2(cli_files, data):
    run_cli(data.draw(argv(cli_files)))
