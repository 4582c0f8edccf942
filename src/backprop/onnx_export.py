"""ONNX export: a trained network and its preprocessing as one ONNX graph.

The graph takes the raw features and returns what the Python object returns:

========================  =====================================================
input ``X``               shape ``(N, n_features)``, the model's dtype
                          (float32 or float64)
preprocessing             a :class:`~backprop.Model`'s scaler as ``Sub`` and
                          ``Div``; a ``Pipeline``'s ``StandardScaler``
                          (``Sub``, ``Div``) or ``MinMaxScaler`` (``Mul``,
                          ``Add``); in float64 (a float32 graph casts before
                          and after), as ``Model.transform`` does
each layer ``l``          ``Gemm(A, W, b, transB=1)`` = ``A W^T + b``, the
                          article's ``z = sum_k w_jk a_k + b_j`` with ``W``
                          stored as the network holds it; then the activation
output ``Y``              shape ``(N, n_outputs)``: ``predict_proba`` of a
                          classifier, ``predict`` of a regressor (a 1-D
                          ``predict`` is ``Y[:, 0]``)
========================  =====================================================

For a regressor :class:`~backprop.Model` the output is un-scaled back to the
targets' units (``Mul`` and ``Add``, in float64 like ``Model.decode``). For an
:class:`~backprop.sklearn.MLPClassifier` the output activations become class
probabilities as ``predict_proba`` makes them: one sigmoid node ``p`` gives
``[1 - p, p]``, several are divided by their sum (as
``Softmax(-Softplus(-z))``). The task, the class labels and the estimator's
name are stored as JSON in the model's ``metadata_props``.

Activations are ONNX operators: ``Sigmoid``, ``Tanh``, ``Relu``,
``LeakyRelu``, ``Elu``, ``Softplus``, ``Softmax`` (``axis=-1``), ``Identity``,
and GELU as ``z * (1 + Erf(z / sqrt 2)) / 2``. onnxruntime has no float64
kernels for ``Elu``, ``Softplus`` and ``Erf``, so a float64 graph writes them
with operators that have: ``Elu`` and ``Softplus`` from ``Exp``, ``Log``,
``Min``, ``Max`` and ``Where``, and ``erf`` as a Chebyshev series of degree 40
on ``[0, 6]`` (``erf`` is odd and rounds to 1 beyond 6), accurate to about
2e-14. ``LeakyRelu``'s slope is a float32 attribute, so a float64 graph
multiplies by a float64 constant under ``Where`` instead.

The graph uses opset 17 and passes :func:`onnx.checker.check_model` with
``full_check=True``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ._version import __version__
from .core.activations import Softplus
from .core.network import Network
from .model import Model
from .modelfile import write_atomic

__all__ = ["to_onnx", "export_onnx", "OPSET", "INPUT_NAME", "OUTPUT_NAME"]

OPSET = 17
INPUT_NAME = "X"
OUTPUT_NAME = "Y"



def _onnx():
    try:
        import onnx
    except ImportError:  # pragma: no cover - depends on the installation
        raise ImportError("ONNX export needs the onnx package: pip install 'backprop[onnx]'") from None
    return onnx


class _GraphBuilder:
    """Collects nodes and constants; each method adds one operator and returns its output's name."""

    def __init__(self, dtype: np.dtype):
        self.onnx = _onnx()
        self.dtype = np.dtype(dtype)
        self.nodes = []
        self.initializers = []
        self._count = 0

    def _name(self, stem: str) -> str:
        self._count += 1
        return f"{stem}_{self._count}"

    def const(self, value, stem: str = "c", dtype=None) -> str:
        """A constant in the graph's dtype (or ``dtype``)."""
        name = self._name(stem)
        array = np.asarray(value, dtype=self.dtype if dtype is None else dtype)
        self.initializers.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def cast(self, x: str, dtype) -> str:
        return self.op("Cast", x, to=self.onnx.helper.np_dtype_to_tensor_dtype(np.dtype(dtype)))

    def widen(self, x: str) -> str:
        """``x`` in float64 (a Cast in a float32 graph)."""
        return x if self.dtype == np.float64 else self.cast(x, np.float64)

    def narrow(self, x: str) -> str:
        """A float64 ``x`` back in the graph's dtype."""
        return x if self.dtype == np.float64 else self.cast(x, self.dtype)

    def ints(self, values, stem: str = "axes") -> str:
        """A constant vector of int64 (axes, shapes)."""
        name = self._name(stem)
        self.initializers.append(self.onnx.numpy_helper.from_array(np.asarray(values, dtype=np.int64), name))
        return name

    def op(self, op_type: str, *inputs: str, stem: str | None = None, **attributes) -> str:
        output = self._name(stem or op_type.lower())
        self.nodes.append(self.onnx.helper.make_node(op_type, list(inputs), [output], **attributes))
        return output

    def model(self, input_name: str, output: str, n_in: int, n_out: int, metadata: dict, doc: str):
        onnx = self.onnx
        elem = onnx.helper.np_dtype_to_tensor_dtype(self.dtype)
        # The last node writes the graph's output name.
        self.nodes.append(onnx.helper.make_node("Identity", [output], [OUTPUT_NAME]))
        graph = onnx.helper.make_graph(
            self.nodes, "backprop",
            [onnx.helper.make_tensor_value_info(input_name, elem, ["N", n_in])],
            [onnx.helper.make_tensor_value_info(OUTPUT_NAME, elem, ["N", n_out])],
            initializer=self.initializers, doc_string=doc)
        model = onnx.helper.make_model(graph, opset_imports=[onnx.helper.make_opsetid("", OPSET)],
                                       producer_name="backprop", producer_version=__version__)
        onnx.helper.set_model_props(model, {k: json.dumps(v) for k, v in metadata.items()})
        onnx.checker.check_model(model, full_check=True)
        return model


# -- what each kind of object contributes ----------------------------------------------


@dataclass
class _Plan:
    """What goes into the graph: the network and the elementwise steps before and after it.

    ``before`` and ``after`` are ``(operator, constant)`` pairs such as
    ``("Sub", shift)``, computed in float64.
    """

    network: Network
    metadata: dict
    before: list = field(default_factory=list)
    after: list = field(default_factory=list)
    proba: str | None = None  # an MLPClassifier's output activation, for its predict_proba step


def _plan(obj) -> _Plan:
    """The plan for a Model, a Network, an estimator, or a Pipeline of scalers and an estimator."""
    if isinstance(obj, Network):
        obj = Model(obj, task="regression")
    if isinstance(obj, Model):
        plan = _Plan(obj.network, {"task": obj.task})
        plan.before = _column_steps(obj.metadata.get("columns"))
        pre = obj.preprocessor
        if pre is not None and pre.kind != "none":
            if pre.shift_ is None:
                raise ValueError(f"the model's {pre.kind} preprocessing is not fitted; fit the model first")
            plan.before += [("Sub", pre.shift_), ("Div", pre.scale_)]
        if obj.task == "classification":
            plan.metadata["classes"] = list(obj.classes)
        elif obj.target_scaling is not None:
            plan.after = [("Mul", obj.target_scaling["scale"]), ("Add", obj.target_scaling["mean"])]
        return plan

    from sklearn.pipeline import Pipeline

    from .sklearn import MLPClassifier, MLPRegressor

    if isinstance(obj, Pipeline):
        plan = _plan(obj.steps[-1][1])
        plan.before = [step for name, scaler in obj.steps[:-1] for step in _scaler_steps(name, scaler)]
        return plan
    if isinstance(obj, (MLPClassifier, MLPRegressor)):
        if not hasattr(obj, "network_"):
            raise ValueError(f"this {type(obj).__name__} is not fitted yet; call fit before exporting it")
        plan = _Plan(obj.network_, {"task": obj._task, "estimator": type(obj).__name__})
        if isinstance(obj, MLPClassifier):
            # predict_proba's step: the network's own name ("sigmoid", not scikit-learn's "logistic");
            # none for a label matrix, whose outputs are each label's probability already.
            plan.proba = None if obj._multilabel() else obj.network_.layers[-1].activation.name
            plan.metadata["classes"] = obj.classes_.tolist()
        return plan
    raise TypeError(f"ONNX export takes a backprop Model, Network, MLPClassifier or MLPRegressor, or a "
                    f"Pipeline ending in one; got {type(obj).__name__}")


def _column_steps(record) -> list:
    """A table-trained model's column record: missing numbers filled in the graph; text columns refused."""
    if record is None:
        return []
    from .data.columns import ColumnPreprocessing

    columns = ColumnPreprocessing.from_dict(record)
    text = [spec["name"] for spec in columns.inputs if spec["kind"] == "category"]
    if text:
        raise ValueError(f"ONNX export takes numeric inputs only, and this model one-hot encodes the text "
                         f"column(s) {', '.join(map(repr, text))}; predict with backprop (which applies the "
                         f"encoding), or train without them (--ignore {','.join(text)}) to export")
    return [("FillNaN", [spec["fill"] for spec in columns.inputs])]


def _scaler_steps(name: str, scaler) -> list:
    """A fitted scikit-learn StandardScaler or MinMaxScaler as the operators of its ``transform``."""
    from sklearn.preprocessing import MinMaxScaler, StandardScaler

    if scaler is None or scaler == "passthrough":
        return []
    if isinstance(scaler, StandardScaler) and hasattr(scaler, "n_features_in_"):
        steps = [("Sub", scaler.mean_)] if scaler.with_mean else []  # X -= mean_; X /= scale_
        return steps + ([("Div", scaler.scale_)] if scaler.with_std else [])
    if isinstance(scaler, MinMaxScaler) and hasattr(scaler, "n_features_in_") and not scaler.clip:
        return [("Mul", scaler.scale_), ("Add", scaler.min_)]  # X *= scale_; X += min_
    raise TypeError(f"ONNX export takes pipelines of fitted StandardScaler or MinMaxScaler (clip=False) "
                    f"steps before the estimator; step {name!r} is {scaler!r}")


def to_onnx(obj):
    """Build the ONNX graph of a model, an estimator or a bare network.

    Parameters
    ----------
    obj : Model, Network, MLPClassifier, MLPRegressor or Pipeline
        Fitted. A :class:`~backprop.Model` brings its preprocessing and
        target scaling; an estimator its ``predict_proba`` step; a
        scikit-learn ``Pipeline`` of ``StandardScaler`` or ``MinMaxScaler``
        steps ending in an estimator brings the scalers too.

    Returns
    -------
    onnx.ModelProto
        Input ``"X"`` of shape ``(N, n_features)``, output ``"Y"`` of shape
        ``(N, n_outputs)``, in the network's dtype; checked with
        :func:`onnx.checker.check_model`.
    """
    plan = _plan(obj)
    net = plan.network
    g = _GraphBuilder(net.dtype)
    a = INPUT_NAME
    a = _elementwise(g, a, plan.before, "preprocessed")
    for i, layer in enumerate(net.layers, start=1):
        inputs = [a, g.const(layer.W, f"W{i}")] + ([g.const(layer.b, f"b{i}")] if layer.b is not None else [])
        z = g.op("Gemm", *inputs, transB=1, stem=f"z{i}")
        a = layer.activation.to_onnx(g, z)
    n_out = net.sizes[-1]
    if plan.proba == "sigmoid":
        if n_out == 1:  # one sigmoid node is P(classes_[1])
            a = g.op("Concat", g.op("Sub", g.const([[1.0]]), a), a, axis=1, stem="proba")
            n_out = 2
        else:  # a_j / sum_k a_k = softmax(log sigmoid(z)), with log sigmoid(z) = -softplus(-z)
            log_a = g.op("Neg", Softplus().to_onnx(g, g.op("Neg", z)))
            a = g.op("Softmax", log_a, axis=-1, stem="proba")
    a = _elementwise(g, a, plan.after, "unscaled")
    doc = f"backprop {__version__}: {net!r}"
    return g.model(INPUT_NAME, a, net.sizes[0], n_out, plan.metadata, doc)


def _elementwise(g: _GraphBuilder, x: str, steps: list, stem: str) -> str:
    """Apply ``(operator, constant)`` steps in float64, as Model.transform and Model.decode do."""
    if not steps:
        return x
    x = g.widen(x)
    for op_type, constant in steps:
        if op_type == "FillNaN":  # a missing input (NaN) becomes its column's training median
            fill = g.const(constant, "fill", np.float64)
            x = g.op("Where", g.op("IsNaN", x, stem="missing"), fill, x, stem="filled")
            continue
        x = g.op(op_type, x, g.const(constant, op_type.lower(), np.float64), stem=stem)
    return g.narrow(x)


def export_onnx(obj, path) -> Path:
    """Write ``obj`` as an ONNX file at ``path`` (atomically); return the path.

    See :func:`to_onnx` for what the graph holds.
    """
    return write_atomic(path, to_onnx(obj).SerializeToString())
