"""Model files: safetensors plus JSON metadata; damaged or foreign files are refused in words."""

import json
import re
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

import backprop as bp
from backprop import modelfile


@pytest.fixture
def saved(tmp_path):
    model = bp.Model.build(3, [4], task="classification", classes=[0, 1, 2], seed=0)
    model.preprocessor.fit(np.random.default_rng(0).normal(size=(10, 3)))
    path = tmp_path / "m.safetensors"
    model.save(path)
    return model, path


def test_file_holds_the_architecture_and_metadata(saved):
    model, path = saved
    config = modelfile.read_metadata(path)
    assert config["network"]["sizes"] == [3, 4, 3]
    assert config["network"]["activations"][1]["name"] == "softmax"
    assert config["network"]["dtype"] == "float64" and config["task"] == "classification"
    assert config["metadata"]["backprop_version"] == bp.__version__
    assert config["preprocessing"]["kind"] == "standardize"


def test_a_bare_network_can_be_saved(tmp_path):
    net = bp.Network.from_sizes([2, 3, 1], seed=0)
    bp.save(net, tmp_path / "n.safetensors")
    again = bp.load(tmp_path / "n.safetensors")
    assert np.array_equal(again.network.layers[1].W, net.layers[1].W)


def test_save_is_atomic_and_leaves_no_temporary_files(saved, tmp_path):
    _, path = saved
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.safetensors"]
    with pytest.raises(FileNotFoundError, match="does not exist"):
        bp.save(bp.Network.from_sizes([2, 1]), tmp_path / "missing" / "m.safetensors")


def corrupt(path: Path, how: str) -> Path:
    data = path.read_bytes()
    if how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "garbage":
        path.write_bytes(b"\x00" * 7 + b"not a model at all" * 10)
    elif how == "huge header":
        path.write_bytes((10**12).to_bytes(8, "little") + data[8:])
    elif how == "bad json":
        n = int.from_bytes(data[:8], "little")
        path.write_bytes(data[:8] + b"{" * n + data[8 + n:])
    return path


@pytest.mark.parametrize("how, message", [
    ("truncated", "not a valid safetensors file"),
    ("empty", "not a model file: only 0 bytes"),
    ("garbage", "not a valid safetensors file"),
    ("huge header", "header claims"),
    ("bad json", "header is not JSON"),
])
def test_damaged_files_are_refused(saved, how, message):
    _, path = saved
    with pytest.raises(ValueError, match=message):
        bp.load(corrupt(path, how))


def rewrite(path, tensors=None, **metadata_changes):
    """Write a new file from an existing one with some metadata or tensors replaced."""
    from safetensors import safe_open

    with safe_open(path, "numpy") as f:
        meta = dict(f.metadata())
        arrays = {k: f.get_tensor(k) for k in f.keys()}
    meta.update(metadata_changes)
    arrays.update(tensors or {})
    save_file(arrays, str(path), metadata=meta)
    return path


def test_foreign_and_mismatched_files_are_refused(saved, tmp_path):
    _, path = saved
    other = tmp_path / "other.safetensors"
    save_file({"x": np.zeros(3)}, str(other))
    with pytest.raises(ValueError, match="not a backprop model"):
        bp.load(other)
    with pytest.raises(ValueError, match="format version '99'"):
        bp.load(rewrite(path, format_version="99"))


def test_wrong_shapes_and_nan_weights_are_refused(saved):
    _, path = saved
    rewrite(path, tensors={"layers.0.W": np.zeros((5, 3))})
    with pytest.raises(ValueError, match=re.escape("tensor layers.0.W has shape (5, 3)")):
        bp.load(path)
    rewrite(path, tensors={"layers.0.W": np.full((4, 3), np.nan)})
    with pytest.raises(ValueError, match="NaN or infinity"):
        bp.load(path)


def test_metadata_that_lies_about_the_architecture_is_refused(saved):
    _, path = saved
    config = modelfile.read_metadata(path)
    config["network"]["sizes"] = [3, 4, 4, 3]
    rewrite(path, model=json.dumps(config))
    with pytest.raises(ValueError, match="invalid model metadata.*activations.*one entry per layer"):
        bp.load(path)


def test_missing_file_and_folder_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="no model file at"):
        bp.load(tmp_path / "nope.safetensors")
    with pytest.raises(ValueError, match="is a folder"):
        bp.load(tmp_path)


def test_nothing_in_the_package_executes_data():
    """No pickle, no eval or exec, no unsafe numpy loading anywhere in the package."""
    source = Path(bp.__file__).parent
    forbidden = re.compile(r"\bimport (pickle|dill|joblib|marshal|shelve)\b|\bfrom (pickle|dill|joblib) "
                           r"|\beval\(|\bexec\(|allow_pickle\s*=\s*True|torch\.load")
    offenders = [f"{p.relative_to(source)}:{i}" for p in source.rglob("*.py")
                 for i, line in enumerate(p.read_text().splitlines(), 1) if forbidden.search(line)]
    assert offenders == []


# Modules whose purpose is to turn data into code or processes.
_UNSAFE_MODULES = {"pickle", "_pickle", "cPickle", "dill", "cloudpickle", "joblib", "marshal", "shelve", "yaml",
                   "subprocess", "pty", "runpy", "code", "codeop"}
_UNSAFE_BUILTINS = {"eval", "exec", "compile", "__import__"}
_UNSAFE_ATTRIBUTES = {("torch", "load"), ("os", "system"), ("os", "popen"), ("os", "execv"), ("os", "execvp"),
                      ("os", "spawnv"), ("os", "startfile"), ("pd", "read_pickle"), ("pandas", "read_pickle")}
# importlib on a name that is not data: the CLI imports its own command modules, named in a constant tuple.
_IMPORTLIB_ALLOWED = {"cli/__init__.py"}


def _unsafe_calls(tree, relative: str) -> list[str]:
    import ast

    found = []
    for node in ast.walk(tree):
        where = f"{relative}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Import):
            found += [f"{where} import {a.name}" for a in node.names if a.name.split(".")[0] in _UNSAFE_MODULES]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in _UNSAFE_MODULES:
            found.append(f"{where} from {node.module} import")
        elif isinstance(node, ast.ImportFrom) and node.module == "importlib" and relative not in _IMPORTLIB_ALLOWED:
            found.append(f"{where} from importlib import")
        elif isinstance(node, ast.keyword) and node.arg == "allow_pickle" and not (
                isinstance(node.value, ast.Constant) and node.value.value is False):
            found.append(f"{where} allow_pickle that is not the constant False")
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id in _UNSAFE_BUILTINS:
                found.append(f"{where} {func.id}()")
            elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
                pair = (func.value.id, func.attr)
                if pair in _UNSAFE_ATTRIBUTES:
                    found.append(f"{where} {'.'.join(pair)}()")
                elif pair in (("np", "load"), ("numpy", "load")) and not any(
                        k.arg == "allow_pickle" and isinstance(k.value, ast.Constant) and k.value.value is False
                        for k in node.keywords):
                    found.append(f"{where} {'.'.join(pair)}() without allow_pickle=False")
                elif func.value.id == "importlib" and relative not in _IMPORTLIB_ALLOWED:
                    found.append(f"{where} importlib.{func.attr}()")
    return found


def test_nothing_in_the_package_turns_data_into_code():
    """The same promise, read from the syntax tree: no unpickling module, no eval/exec/compile/__import__,
    np.load only with allow_pickle=False, no importlib outside the CLI's own command table, no processes."""
    import ast

    source = Path(bp.__file__).parent
    offenders = []
    for path in sorted(source.rglob("*.py")):
        relative = path.relative_to(source).as_posix()
        offenders += _unsafe_calls(ast.parse(path.read_text(), filename=str(path)), relative)
    assert offenders == []


@pytest.mark.parametrize("snippet", [
    "import pickle", "from yaml import load", "import subprocess", "eval(text)", "exec(code)",
    "__import__(name)", "compile(text, 'f', 'exec')", "np.load(path)", "np.load(path, allow_pickle=flag)",
    "numpy.load(path, allow_pickle=True)", "importlib.import_module(name)", "os.system(cmd)", "torch.load(f)",
])
def test_the_scan_finds_each_way_of_running_data(snippet):
    import ast

    assert _unsafe_calls(ast.parse(snippet), "somewhere.py"), snippet
    assert not _unsafe_calls(ast.parse("np.load(path, allow_pickle=False); re.compile('x')"), "somewhere.py")
