"""Issue 17, cases 2 and 4: a model file's metadata is checked whole, against one schema, at load time.

Each file here was loaded before (or failed later, with exit code 1 or a
confusing message); now ``bp.load`` and ``backprop info`` refuse it with one
line naming the field.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from reliability_support import rewrite, tiny_model
from safetensors import safe_open
from safetensors.numpy import save_file

import backprop as bp
from backprop.cli import main


@pytest.fixture
def path(tmp_path):
    p = tmp_path / "m.safetensors"
    tiny_model().save(p)
    return p


def set_in(*keys_and_value):
    *keys, value = keys_and_value

    def edit(config):
        target = config
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value
    return edit


def raw_edit(path, old: str, new: str) -> None:
    """Replace text in the model JSON as written (for values json.dumps cannot write, like 1e400)."""
    with safe_open(str(path), "numpy") as f:
        meta = dict(f.metadata())
        arrays = {k: f.get_tensor(k) for k in f.keys()}
    assert old in meta["model"]
    meta["model"] = meta["model"].replace(old, new, 1)
    meta.pop("sha256", None)
    save_file(arrays, str(path), metadata=meta)


CASES = {
    "sizes as floats": (set_in("network", "sizes", [4.0, 3, 3]), r"\['sizes'\]\[0\] must be an integer"),
    "training is a string": (set_in("metadata", "training", "fast"), r"\['training'\] must be an object"),
    "target_scaling on a classifier": (set_in("target_scaling", {"mean": [0], "scale": [1]}),
                                       "target_scaling'] must be null for a classifier"),
    "scaler of 7 columns": (set_in("preprocessing", {"kind": "standardize", "mean": [0.0] * 7, "scale": [1.0] * 7}),
                            "fitted on 7 features, but the network has 4 inputs"),
    "unknown activation": (set_in("network", "activations", [{"name": "nope"}, {"name": "softmax"}]),
                           r"\['activations'\]\[0\] must name one of"),
    "a label too long": (set_in("classes", ["a", "b", "c" * 20_000]),
                         r"\['classes'\]\[2\] must be a number or a string"),
    "a class per output": (set_in("classes", ["a", "b"]), "must list one label per output"),
    "a metadata string too long": (set_in("metadata", "note", "x" * 20_000), "is a string of 20000 characters"),
    "nested metadata": (set_in("metadata", "deep", json.loads("[" * 40 + "]" * 40)), "nests more than 32 levels"),
    "final holds text": (set_in("metadata", "final", {"loss": "low"}), r"\['final'\]\['loss'\] must be a number"),
    "task unknown": (set_in("task", "clustering"), "task'] must be 'classification' or 'regression'"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_metadata_that_breaks_the_schema_is_refused_at_load(path, case):
    edit, message = CASES[case]
    rewrite(path, edit)
    with pytest.raises(ValueError, match=message):
        bp.load(path)


@pytest.mark.parametrize("old, new, message", [
    ('"sizes": [4, 3, 3]', '"sizes": [1e400, 3, 3]', r"\['sizes'\]\[0\] must be an integer"),
    ('"sizes": [4, 3, 3]', '"sizes": [4, 3, 3.5]', r"\['sizes'\]\[2\] must be an integer"),
])
def test_numbers_json_reads_as_infinity_are_refused(path, old, new, message):
    raw_edit(path, old, new)
    with pytest.raises(ValueError, match=message):
        bp.load(path)


def test_an_activation_parameter_of_1e400_is_refused_not_turned_into_nan(tmp_path):
    model = bp.Model.build(2, [3], task="regression", activation="elu", seed=0)
    model.preprocessor.fit(np.ones((4, 2)) * [[1], [2], [3], [4]])
    model.fit_preprocessing(np.arange(8.0).reshape(4, 2), np.arange(4.0))
    p = tmp_path / "elu.safetensors"
    model.save(p)
    raw_edit(p, '"alpha": 1.0', '"alpha": "1e400"')
    with pytest.raises(ValueError, match=r"\['alpha'\] must be a finite number"):
        bp.load(p)
    raw_edit(p, '"alpha": "1e400"', '"alpha": 1e400')
    with pytest.raises(ValueError, match=r"\['alpha'\] must be a finite number"):
        bp.load(p)


def test_bad_target_scaling_is_refused(tmp_path):
    model = bp.Model.build(2, [3], task="regression", seed=0)
    model.fit_preprocessing(np.arange(8.0).reshape(4, 2), np.arange(4.0))
    p = tmp_path / "r.safetensors"
    model.save(p)
    for scaling, message in [({"mean": [0.0], "scale": [0.0]}, "must not hold 0"),
                             ({"mean": [0.0, 1.0], "scale": [1.0, 1.0]}, "must list 1 finite numbers"),
                             ("scaled", 'must be {"mean"')]:
        rewrite(p, set_in("target_scaling", scaling))
        with pytest.raises(ValueError, match=message):
            bp.load(p)


def test_a_bf16_tensor_is_refused_by_name(capsys, path):
    with safe_open(str(path), "numpy") as f:
        meta = dict(f.metadata())
        arrays = {k: f.get_tensor(k) for k in f.keys()}
    meta.pop("sha256")
    save_file(arrays, str(path), metadata=meta)
    data = bytearray(path.read_bytes())
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + n])
    entry = header["layers.0.W"]
    # The same bytes described as BF16 (2 bytes a value, so four times the values of F64).
    entry["dtype"], entry["shape"] = "BF16", [entry["shape"][0], entry["shape"][1] * 4]
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (n - len(text)) if len(text) <= n else b""
    assert len(text) == n
    path.write_bytes(bytes(data[:8]) + text + bytes(data[8 + n:]))
    assert main(["info", str(path)]) == 2
    err = capsys.readouterr().err
    assert "layers.0.W is stored as BF16" in err and len(err.strip().splitlines()) == 1, err


def test_save_refuses_what_load_would_refuse(tmp_path):
    model = tiny_model(classes=["a", "b", "x" * 5000])
    with pytest.raises(ValueError, match=r"cannot save the model to .*classes'\]\[2\]"):
        model.save(tmp_path / "m.safetensors")
    assert not (tmp_path / "m.safetensors").exists()


def test_info_on_a_model_with_many_long_labels_prints_a_bounded_summary(capsys, tmp_path):
    labels = [f"{i:04d}" + "y" * 990 for i in range(300)]
    model = bp.Model.build(2, [2], task="classification", classes=labels, seed=0)
    p = tmp_path / "wide.safetensors"
    model.save(p)
    assert main(["info", str(p)]) == 0
    out = capsys.readouterr().out
    classes_line = next(line for line in out.splitlines() if line.startswith("classes:"))
    assert "(250 more)" in out and "(994 characters)" in classes_line
    assert len(out) < 100_000
