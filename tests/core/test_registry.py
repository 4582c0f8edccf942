"""Every registered activation and loss knows itself in one place: value, derivative, formula, ONNX."""

import numpy as np
import pytest

from backprop.core.activations import ACTIVATIONS, Activation
from backprop.core.losses import FUSED_OUTPUTS, LOSSES, Loss


class Recorder:
    """A stand-in for the ONNX graph builder: records the operators an activation asks for."""

    def __init__(self, dtype):
        self.dtype, self.ops = np.dtype(dtype), []

    def op(self, op_type, *inputs, stem=None, **attributes):
        self.ops.append(op_type)
        return f"{op_type}_{len(self.ops)}"

    def const(self, value, stem="c", dtype=None):
        return "const"


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_each_activation_has_a_value_derivative_formula_and_onnx_lowering(name):
    act = ACTIVATIONS[name]()
    z = np.linspace(-2, 2, 12).reshape(3, 4)
    assert act.value(z).shape == z.shape
    assert act.backward(z, act.value(z), np.ones_like(z)).shape == z.shape
    # Its own formula, not the generic one an unknown activation gets.
    formula = type(act).derivative_formula
    assert formula is not Activation.derivative_formula, f"{name} has no formula of its own"
    text = act.derivative_formula()
    assert "′" not in text.text and ("«z»" in text.text or "«a»" in text.text or text.text == "1")
    assert text.latex.count("{") == text.latex.count("}")
    for dtype in ("float32", "float64"):
        g = Recorder(dtype)
        assert act.to_onnx(g, "z") and g.ops, f"{name} lowers to no ONNX operator in {dtype}"
    # Float64 graphs avoid the operators onnxruntime has only in float32.
    g64 = Recorder("float64")
    act.to_onnx(g64, "z")
    assert not {"Elu", "Softplus", "Erf", "LeakyRelu"} & set(g64.ops)


@pytest.mark.parametrize("name", list(LOSSES))
def test_each_loss_has_parts_a_derivative_and_formulas(name):
    loss = LOSSES[name]()
    rng = np.random.default_rng(0)
    a = rng.uniform(0.1, 0.9, size=(5, 3))
    y = rng.uniform(0.0, 1.0, size=(5, 3))
    np.testing.assert_allclose(loss.per_node(a, y).sum(axis=1), loss.per_sample(a, y), rtol=1e-12)
    assert type(loss).derivative_formula is not Loss.derivative_formula, f"{name} has no formula of its own"
    for text in (loss.part_formula(3), loss.derivative_formula(3)):
        assert "«a»" in text.text and "«y»" in text.text and "′" not in text.text


@pytest.mark.parametrize("pair", list(FUSED_OUTPUTS))
def test_each_fused_output_has_parts_and_a_formula(pair):
    fused = FUSED_OUTPUTS[pair]
    rng = np.random.default_rng(1)
    z = rng.normal(size=(4, 3))
    y = np.eye(3)[[0, 1, 2, 0]]
    np.testing.assert_allclose(fused.per_node(z, y).sum(axis=1), fused.per_sample(z, None, y), rtol=1e-12)
    assert "«a»" in fused.delta_formula(3).text
