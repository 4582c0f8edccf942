"""The one schema of a model file's metadata, checked whole when a file is loaded (and before one is saved).

A model file's ``model`` metadata is JSON written by :func:`backprop.save`;
a file from anyone else may hold anything. :func:`check_model_config` checks
every field the project reads, so that a bad file is refused at load time with
one line naming the field, instead of loading and failing later (or, worse,
predicting NaN):

``network``
    ``sizes``: 2 to :data:`MAX_LAYERS` + 1 integers (not floats, not
    booleans), each 1 to :data:`MAX_WIDTH`; ``activations`` and ``loss``:
    known names, or ``{"name": ..., param: number}`` with finite numeric
    parameters; ``bias``: booleans; ``dtype``: ``"float32"`` or ``"float64"``;
    ``fuse_output``: a boolean.
``task`` and ``classes``
    ``"classification"`` with distinct labels (strings of at most
    :data:`MAX_LABEL_CHARS` characters, integers, booleans or finite
    numbers), one per output (or two for a single sigmoid output); or
    ``"regression"`` without labels.
``preprocessing``
    ``null`` or a scaler state that :func:`backprop.data.get_preprocessor`
    accepts, fitted (if fitted) on as many features as the network has inputs.
``target_scaling``
    ``null`` or ``{"mean": [...], "scale": [...]}``: one finite number per
    output, every scale non-zero; regressors only.
``metadata``
    A JSON object nested at most :data:`MAX_DEPTH` levels, with finite
    numbers, strings of at most :data:`MAX_STRING_CHARS` characters and at
    most :data:`MAX_ITEMS` values in all; its ``training`` and ``final``
    entries, which commands read, are objects, and ``final`` holds numbers.

:func:`check_tensors` then checks the file's tensors against the network:
each one present, of the network's shape and dtype (``F32`` or ``F64``; BF16
and other types are refused by name), and no others.
"""

from __future__ import annotations

import math

__all__ = ["check_model_config", "check_tensors", "check_plain", "MAX_LAYERS", "MAX_WIDTH",
           "MAX_LABEL_CHARS", "MAX_STRING_CHARS", "MAX_DEPTH", "MAX_ITEMS", "TENSOR_DTYPES"]

MAX_LAYERS = 1000
MAX_WIDTH = 2**31 - 1
MAX_LABEL_CHARS = 1000
MAX_STRING_CHARS = 10_000
MAX_DEPTH = 32
MAX_ITEMS = 1_000_000
TENSOR_DTYPES = {"float32": "F32", "float64": "F64"}


class SchemaError(ValueError):
    """A field of the metadata is not what the schema allows."""


def _fail(where: str, problem: str, value=None) -> SchemaError:
    shown = "" if value is None else f"; got {_short(value)}"
    return SchemaError(f"{where} {problem}{shown}")


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:60] + f"... ({len(text)} characters)"


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def check_plain(value, where: str, *, max_depth: int = MAX_DEPTH, max_string: int = MAX_STRING_CHARS,
                max_items: int = MAX_ITEMS) -> None:
    """Check JSON-like plain data without recursion: depth, string sizes, finite numbers, item count."""
    stack = [(value, where, 0)]
    items = 0
    while stack:
        obj, at, depth = stack.pop()
        items += 1
        if items > max_items:
            raise _fail(where, f"holds more than {max_items} values")
        if isinstance(obj, dict):
            if depth >= max_depth:
                raise _fail(at, f"nests more than {max_depth} levels deep")
            for key, v in obj.items():
                if not isinstance(key, str) or len(key) > max_string:
                    raise _fail(at, f"has a key longer than {max_string} characters")
                stack.append((v, f"{at}[{key[:40]!r}]", depth + 1))
        elif isinstance(obj, list):
            if depth >= max_depth:
                raise _fail(at, f"nests more than {max_depth} levels deep")
            stack.extend((v, f"{at}[{i}]", depth + 1) for i, v in enumerate(obj))
        elif isinstance(obj, str):
            if len(obj) > max_string:
                raise _fail(at, f"is a string of {len(obj)} characters; at most {max_string} are allowed")
        elif isinstance(obj, float):
            if not math.isfinite(obj):
                raise _fail(at, "must be a finite number", obj)
        elif not (obj is None or isinstance(obj, (bool, int))):
            raise _fail(at, "must be plain JSON data", type(obj).__name__)


def _named(spec, where: str, known) -> None:
    """An activation or loss: a known name, or {"name": known, param: finite number, ...}."""
    if isinstance(spec, dict):
        name = spec.get("name")
        for key, v in spec.items():
            if key != "name" and not _is_number(v):
                raise _fail(f"{where}[{key!r}]", "must be a finite number", v)
    else:
        name = spec
    if not isinstance(name, str) or name.lower() not in known:
        raise _fail(where, f"must name one of {', '.join(sorted(known))}", name)


def _check_network(net, where: str) -> list[int]:
    from ..core import ACTIVATIONS, LOSSES

    if not isinstance(net, dict):
        raise _fail(where, "must be an object describing the network", net)
    sizes = net.get("sizes")
    if not isinstance(sizes, list) or not 2 <= len(sizes) <= MAX_LAYERS + 1:
        raise _fail(f"{where}['sizes']", f"must list 2 to {MAX_LAYERS + 1} layer sizes", sizes)
    for i, n in enumerate(sizes):
        if not _is_int(n) or not 1 <= n <= MAX_WIDTH:
            raise _fail(f"{where}['sizes'][{i}]", f"must be an integer from 1 to {MAX_WIDTH}", n)
    n_layers = len(sizes) - 1
    for key in ("activations", "bias"):
        if not isinstance(net.get(key), list) or len(net[key]) != n_layers:
            raise _fail(f"{where}[{key!r}]", f"must list one entry per layer ({n_layers})", net.get(key))
    known = {*ACTIVATIONS, "linear", "logistic"}
    for i, spec in enumerate(net["activations"]):
        _named(spec, f"{where}['activations'][{i}]", known)
    for i, flag in enumerate(net["bias"]):
        if not isinstance(flag, bool):
            raise _fail(f"{where}['bias'][{i}]", "must be true or false", flag)
    _named(net.get("loss"), f"{where}['loss']", {*LOSSES, "l1", "l2", "bce", "ce", "categorical_cross_entropy",
                                                 "log_loss"})
    if net.get("dtype") not in TENSOR_DTYPES:
        raise _fail(f"{where}['dtype']", f"must be one of {', '.join(TENSOR_DTYPES)}", net.get("dtype"))
    if not isinstance(net.get("fuse_output", True), bool):
        raise _fail(f"{where}['fuse_output']", "must be true or false", net.get("fuse_output"))
    return sizes


def _check_classes(config: dict, n_out: int) -> None:
    classes = config.get("classes")
    if config["task"] == "regression":
        if classes is not None:
            raise _fail("model['classes']", "must be null for a regressor", classes)
        return
    if not isinstance(classes, list) or not (len(classes) == n_out or (n_out == 1 and len(classes) == 2)):
        raise _fail("model['classes']", f"must list one label per output ({n_out})", classes)
    for i, label in enumerate(classes):
        ok = _is_number(label) or isinstance(label, bool) or \
            (isinstance(label, str) and len(label) <= MAX_LABEL_CHARS)
        if not ok:
            raise _fail(f"model['classes'][{i}]", f"must be a number or a string of at most {MAX_LABEL_CHARS} "
                        "characters", label)
    if len(set(map(repr, classes))) != len(classes):
        raise _fail("model['classes']", "must be distinct labels", classes)


def _check_scaling(config: dict, n_in: int, n_out: int) -> None:
    from ..data.preprocessing import get_preprocessor

    pre = config.get("preprocessing")
    if pre is not None:
        if not isinstance(pre, dict):
            raise _fail("model['preprocessing']", "must be null or an object", pre)
        try:
            scaler = get_preprocessor(pre)
        except (TypeError, ValueError, KeyError) as exc:
            raise _fail("model['preprocessing']", f"is not a valid scaler state ({exc})") from None
        fitted = getattr(scaler, "n_features", None)
        if fitted is not None and fitted != n_in:
            raise _fail("model['preprocessing']", f"was fitted on {fitted} features, but the network has "
                        f"{n_in} inputs")
    scaling = config.get("target_scaling")
    if scaling is None:
        return
    if config["task"] != "regression":
        raise _fail("model['target_scaling']", "must be null for a classifier", scaling)
    if not isinstance(scaling, dict) or set(scaling) != {"mean", "scale"}:
        raise _fail("model['target_scaling']", 'must be {"mean": [...], "scale": [...]}', scaling)
    for key in ("mean", "scale"):
        values = scaling[key]
        if not isinstance(values, list) or len(values) != n_out or not all(_is_number(v) for v in values):
            raise _fail(f"model['target_scaling'][{key!r}]", f"must list {n_out} finite numbers", values)
    if any(v == 0 for v in scaling["scale"]):
        raise _fail("model['target_scaling']['scale']", "must not hold 0", scaling["scale"])


def _check_metadata(metadata) -> None:
    if metadata is None:
        return
    if not isinstance(metadata, dict):
        raise _fail("model['metadata']", "must be an object", metadata)
    check_plain(metadata, "model['metadata']")
    for key in ("training", "final"):
        if key in metadata and not isinstance(metadata[key], dict):
            raise _fail(f"model['metadata'][{key!r}]", "must be an object", metadata[key])
    for key, v in (metadata.get("final") or {}).items():
        if not (_is_number(v) or v is None):
            raise _fail(f"model['metadata']['final'][{key!r}]", "must be a number", v)
    training = metadata.get("training") or {}
    checks = {"dataset": lambda v: v is None or isinstance(v, str),
              "seed": lambda v: v is None or _is_int(v),
              "validation_split": lambda v: v is None or (_is_number(v) and 0 <= v < 1)}
    for key, ok in checks.items():
        if key in training and not ok(training[key]):
            raise _fail(f"model['metadata']['training'][{key!r}]", "has the wrong type or range", training[key])


def check_model_config(config, source: str) -> dict:
    """Check a model file's parsed ``model`` metadata against the schema; return it.

    Parameters
    ----------
    config : object
        What ``json.loads`` returned for the ``model`` metadata string.
    source : str
        The file, for messages.

    Raises
    ------
    ValueError
        ``"{source}: invalid model metadata: model[...] ..."``, naming the
        first field that breaks the schema and its value.
    """
    try:
        if not isinstance(config, dict):
            raise _fail("model", "must be an object", config)
        sizes = _check_network(config.get("network"), "model['network']")
        if config.get("task") not in ("classification", "regression"):
            raise _fail("model['task']", "must be 'classification' or 'regression'", config.get("task"))
        _check_classes(config, sizes[-1])
        _check_scaling(config, sizes[0], sizes[-1])
        _check_metadata(config.get("metadata"))
    except SchemaError as exc:
        raise ValueError(f"{source}: invalid model metadata: {exc}") from None
    return config


def check_tensors(header: dict, network_config: dict, source: str, prefix: str = "layers") -> None:
    """Check a safetensors header's tensors against a checked network config, before reading any.

    Each layer ``i`` needs ``{prefix}.{i}.W`` of shape ``(n_{i+1}, n_i)`` and,
    with a bias, ``{prefix}.{i}.b`` of shape ``(n_{i+1},)``, in the network's
    dtype. Tensors under ``prefix`` that the network does not have are refused.
    """
    sizes, biases = network_config["sizes"], network_config["bias"]
    dtype = TENSOR_DTYPES[network_config["dtype"]]
    expected = {}
    for i in range(len(sizes) - 1):
        expected[f"{prefix}.{i}.W"] = (sizes[i + 1], sizes[i])
        if biases[i]:
            expected[f"{prefix}.{i}.b"] = (sizes[i + 1],)
    for key, shape in expected.items():
        if key not in header:
            raise ValueError(f"{source}: tensor {key} is missing")
        entry = header[key]
        if entry["dtype"] != dtype:
            raise ValueError(f"{source}: tensor {key} is stored as {str(entry['dtype'])[:20]}; this network "
                             f"holds {network_config['dtype']} ({dtype}) tensors only")
        if tuple(entry["shape"]) != shape:
            raise ValueError(f"{source}: tensor {key} has shape {tuple(entry['shape'])}; the architecture in "
                             f"its metadata needs {shape}")
    extra = sorted(k for k in header if k.startswith(f"{prefix}.") and k not in expected)
    if extra:
        raise ValueError(f"{source}: unexpected tensors {[k[:40] for k in extra[:5]]} for this architecture")
