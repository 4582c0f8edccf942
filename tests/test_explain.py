"""explain(): the article's derivation for one weight, as data, and its renderings."""

import json
import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import backprop as bp
from backprop.explain import WeightRef, explain, parse_weight, random_samples, to_dict
from backprop.explain.render import (
    format_latex_number, format_number, render, render_json, render_latex, render_markdown, terminal_text,
)


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def article_net(seed=0):
    """The article's model: sigmoid everywhere, the sum of squared errors, no biases; 3-3-2 nodes."""
    return bp.Network.from_sizes([3, 3, 2], activation="sigmoid", loss="sse", bias=False, seed=seed)


X0 = np.array([[0.5, -1.0, 2.0]])
Y0 = np.array([[1.0, 0.0]])


def by_hand(net, x, y):
    """The forward pass written out from the article's formulas, independent of the engine."""
    W1, W2 = net.layers[0].W, net.layers[1].W
    a0 = x  # a^{L-2}
    z1 = np.array([sum(W1[j, k] * a0[k] for k in range(3)) for j in range(3)])  # z^{L-1}
    a1 = sigmoid(z1)
    z2 = np.array([sum(W2[j, k] * a1[k] for k in range(3)) for j in range(2)])  # z^L
    a2 = sigmoid(z2)
    return a0, z1, a1, z2, a2


def g_prime(z):
    return sigmoid(z) * (1.0 - sigmoid(z))


# -- the article's two worked cases ------------------------------------------------------

def test_article_output_layer_w12():
    net = article_net()
    a0, z1, a1, z2, a2 = by_hand(net, X0[0], Y0[0])
    y = Y0[0]
    # dC0/dw_12^L = 2(a_1^L - y_1) * g_L'(z_1^L) * a_2^{L-1}
    factors = [2 * (a2[1] - y[1]), g_prime(z2[1]), a1[2]]

    e = explain(net, X0, Y0, "L,1,2")
    s = e.samples[0]
    assert e.weight == WeightRef(layer=2, j=1, k=2, n_layers=2)
    assert [f.value for f in s.factors] == pytest.approx(factors, rel=1e-12)
    assert s.value == pytest.approx(math.prod(factors), rel=1e-12)
    assert e.chain_rule == pytest.approx(net.gradients(X0, Y0)[1]["W"][1, 2], rel=1e-12)
    # the factors carry the article's names and formulas
    assert [f.symbol.text for f in s.factors] == ["∂C₀/∂a₁ᴸ", "∂a₁ᴸ/∂z₁ᴸ", "∂z₁ᴸ/∂w₁₂ᴸ"]
    assert s.factors[0].formula.symbolic("text") == "2(a₁ᴸ − y₁)"
    assert s.factors[1].alias.text == "gᴸ′(z₁ᴸ)"
    assert s.factors[2].formula.symbolic("text") == "a₂ᴸ⁻¹"
    assert s.equation.text == "∂C₀/∂w₁₂ᴸ = ∂C₀/∂a₁ᴸ · ∂a₁ᴸ/∂z₁ᴸ · ∂z₁ᴸ/∂w₁₂ᴸ"
    assert s.expanded.text == "∂C₀/∂w₁₂ᴸ = 2(a₁ᴸ − y₁) · gᴸ′(z₁ᴸ) · a₂ᴸ⁻¹"
    assert s.upstream == []
    # the forward pass and the loss, node by node
    assert s.forward[0].a == pytest.approx(list(a0))
    assert s.forward[1].z == pytest.approx(list(z1), rel=1e-12)
    assert s.forward[2].a == pytest.approx(list(a2), rel=1e-12)
    assert [p.value for p in s.loss_parts] == pytest.approx(list((a2 - y) ** 2), rel=1e-12)
    assert s.loss.value == pytest.approx(float(((a2 - y) ** 2).sum()), rel=1e-12)


def test_article_hidden_layer_w22():
    net = article_net()
    a0, z1, a1, z2, a2 = by_hand(net, X0[0], Y0[0])
    y, W2 = Y0[0], net.layers[1].W
    # dC0/dw_22^{L-1} = (sum_j 2(a_j^L - y_j) g_L'(z_j^L) w_j2^L) g_{L-1}'(z_2^{L-1}) a_2^{L-2}
    terms = [2 * (a2[j] - y[j]) * g_prime(z2[j]) * W2[j, 2] for j in range(2)]
    factors = [sum(terms), g_prime(z1[2]), a0[2]]

    e = explain(net, X0, Y0, "L-1,2,2")
    s = e.samples[0]
    first = s.factors[0]
    assert [t.value for t in first.sum.terms] == pytest.approx(terms, rel=1e-12)
    for j, t in enumerate(first.sum.terms):
        assert [f.value for f in t.factors] == pytest.approx(
            [2 * (a2[j] - y[j]), g_prime(z2[j]), W2[j, 2]], rel=1e-12)
    assert [f.value for f in s.factors] == pytest.approx(factors, rel=1e-12)
    assert e.chain_rule == pytest.approx(math.prod(factors), rel=1e-12)
    assert e.backprop == pytest.approx(math.prod(factors), rel=1e-12)
    assert first.sum.formula.text == "Σⱼ₌₀¹ ∂C₀/∂aⱼᴸ · gᴸ′(zⱼᴸ) · wⱼ₂ᴸ"
    assert [h.text for h in first.sum.headers] == ["∂C₀/∂aⱼᴸ", "gᴸ′(zⱼᴸ)", "wⱼ₂ᴸ"]
    assert s.expanded.text == "∂C₀/∂w₂₂ᴸ⁻¹ = (Σⱼ₌₀¹ 2(aⱼᴸ − yⱼ) · gᴸ′(zⱼᴸ) · wⱼ₂ᴸ) · gᴸ⁻¹′(z₂ᴸ⁻¹) · a₂ᴸ⁻²"
    # the output layer's dC0/da_j^L, listed once as already computed, with its own formula
    (up,) = s.upstream
    assert up.name == "L"
    assert [q.value for q in up.dC_da] == pytest.approx(list(2 * (a2 - y)), rel=1e-12)
    assert up.dC_da[0].formula.symbolic("text") == "2(a₀ᴸ − y₀)"


def test_layer_numbers_name_the_same_weights():
    net = article_net()
    for name, number in (("L,1,2", "2,1,2"), ("L-1,2,2", "1,2,2"), ("l-1,0,1", "1,0,1")):
        a, b = explain(net, X0, Y0, name), explain(net, X0, Y0, number)
        assert a.weight == b.weight and a.chain_rule == b.chain_rule


# -- equal to the backward pass ---------------------------------------------------------------

PAIRS = [  # (output activation, loss, fuse_output)
    ("sigmoid", "sse", True), ("softmax", "cross_entropy", True), ("softmax", "cross_entropy", False),
    ("softmax", "sse", True), ("identity", "mse", True), ("sigmoid", "binary_cross_entropy", True),
    ("sigmoid", "binary_cross_entropy", False), ("identity", "huber", True), ("tanh", "mae", True),
]


@settings(max_examples=30)
@given(sizes=st.lists(st.integers(1, 4), min_size=2, max_size=5),
       hidden=st.sampled_from(["sigmoid", "tanh", "relu", "leaky_relu", "elu", "softplus", "gelu", "identity",
                               "softmax"]),
       pair=st.sampled_from(PAIRS), bias=st.booleans(), n=st.integers(1, 3), seed=st.integers(0, 10_000),
       data=st.data())
def test_json_numbers_equal_the_backward_pass(sizes, hidden, pair, bias, n, seed, data):
    output, loss, fuse = pair
    if output == "softmax":
        sizes[-1] = max(sizes[-1], 2)
    net = bp.Network.from_sizes(sizes, activation=hidden, output_activation=output, loss=loss, bias=bias,
                                seed=seed, fuse_output=fuse)
    X, Y = random_samples(net, n, seed)
    grads = net.gradients(X, Y)
    for layer in range(1, len(sizes)):
        for _ in range(2):
            j = data.draw(st.integers(0, sizes[layer] - 1))
            k = data.draw(st.sampled_from(list(range(sizes[layer - 1])) + (["b"] if bias else [])))
            e = explain(net, X, Y, f"{layer},{j},{k}")
            d = json.loads(render_json(e))
            expected = grads[layer - 1]["b"][j] if k == "b" else grads[layer - 1]["W"][j, k]
            assert d["backprop"] == expected
            assert d["chain_rule"] == pytest.approx(expected, rel=1e-9, abs=1e-14)
            assert d["finite_difference"] == pytest.approx(expected, rel=1e-4, abs=1e-7)
            # the top-level chain_rule is the average of the products of the printed factors
            products = [math.prod(f["value"] for f in s["factors"]) for s in d["samples"]]
            assert d["chain_rule"] == pytest.approx(sum(products) / n, rel=1e-12, abs=1e-300)
            assert [s["value"] for s in d["samples"]] == pytest.approx(products, rel=1e-12, abs=1e-300)


@pytest.mark.parametrize("weight", ["L,0,0", "L-1,1,2", "L-2,2,3", "L-3,3,b"])
def test_several_samples_average_the_per_sample_gradients(weight):
    net = bp.Network.from_sizes([2, 4, 3, 3, 2], activation="tanh", output_activation="sigmoid", seed=4)
    X, Y = random_samples(net, 4, 7)
    e = explain(net, X, Y, weight, lr=0.5)
    ref = e.weight
    per_sample = [net.gradients(X[i:i + 1], Y[i:i + 1])[ref.layer - 1][ref.parameter][ref.index] for i in range(4)]
    assert [s.value for s in e.samples] == pytest.approx(per_sample, rel=1e-10)
    assert e.chain_rule == pytest.approx(np.mean(per_sample), rel=1e-10)
    assert e.update.old == net.layers[ref.layer - 1].parameters()[ref.parameter][ref.index]
    assert e.update.new == e.update.old - 0.5 * e.update.gradient
    assert e.update.gradient == e.chain_rule
    assert e.relative_difference < 1e-6 and e.chain_rule_vs_backprop < 1e-10
    assert "1/4 Σᵢ₌₀³" in e.average.text


def test_deep_networks_list_each_upper_layer_once():
    net = bp.Network.from_sizes([2, 3, 3, 3, 3, 2], activation="sigmoid", seed=0)
    X, Y = random_samples(net, 1, 0)
    e = explain(net, X, Y, "1,0,1")
    s = e.samples[0]
    assert [up.name for up in s.upstream] == ["L", "L-1", "L-2", "L-3"]
    assert all(len(up.dC_da) == 3 or up.name == "L" for up in s.upstream)
    # a hidden layer's dC0/da quotes the layer above's values instead of re-deriving them
    term = s.upstream[1].dC_da[0].sum.terms[0]
    assert term.factors[0].derived_above and term.factors[0].sum is None
    assert term.factors[0].value == s.upstream[0].dC_da[0].value
    assert s.expanded.text.count("Σ") == 4
    assert e.chain_rule == pytest.approx(e.backprop, rel=1e-12)


def test_softmax_is_a_jacobian_vector_product():
    net = bp.Network.from_sizes([3, 4, 3], activation="tanh", output_activation="softmax", loss="sse", seed=2)
    X, Y = random_samples(net, 1, 1)
    e = explain(net, X, Y, "L,1,2")
    s = e.samples[0]
    first = s.factors[0]
    assert len(s.factors) == 2 and first.symbol.text == "∂C₀/∂z₁ᴸ"
    a = np.array(s.forward[-1].a)
    dC_da = 2 * (a - Y[0])
    jvp = sum(dC_da[m] * a[m] * ((m == 1) - a[1]) for m in range(3))
    assert first.value == pytest.approx(jvp, rel=1e-12)
    assert len(first.sum.terms) == 3
    assert [q.value for q in s.upstream[0].dC_da] == pytest.approx(list(dC_da), rel=1e-12)
    assert e.chain_rule == pytest.approx(e.backprop, rel=1e-12)


def test_fused_output_follows_the_network():
    net = bp.Network.from_sizes([3, 3], activation="softmax", loss="cross_entropy", seed=0)
    X, Y = random_samples(net, 2, 0)
    e = explain(net, X, Y, "L,2,0")
    assert e.fused == "softmax_cross_entropy"
    f = e.samples[0].factors[0]
    assert f.formula.symbolic("text") == "a₂ᴸ·Σᵣ yᵣ − y₂"
    a, y = e.samples[0].forward[-1].a[2], Y[0, 2]
    assert f.value == pytest.approx(a - y, rel=1e-12)
    assert e.chain_rule == pytest.approx(e.backprop, rel=1e-12)
    assert any("fuses" in note for note in e.notes)


def test_float32_networks():
    net = bp.Network.from_sizes([3, 3, 2], activation="sigmoid", seed=0, dtype="float32")
    X, Y = random_samples(net, 2, 0)
    e = explain(net, X, Y, "L-1,0,1")
    assert e.chain_rule == pytest.approx(e.backprop, rel=1e-5)
    assert e.finite_difference == pytest.approx(e.backprop, rel=1e-4)
    assert any("float32" in note for note in e.notes)


def test_leaves_the_network_unchanged():
    net = article_net()
    before = net.get_weights()
    explain(net, X0, Y0, "L-1,2,2")
    for old, new in zip(before, net.get_weights()):
        np.testing.assert_array_equal(old["W"], new["W"])


# -- naming weights and bad input ----------------------------------------------------------------

def test_parse_weight():
    assert parse_weight("L,1,2", 2) == WeightRef(2, 1, 2, 2)
    assert parse_weight("L-1,2,2", 2) == WeightRef(1, 2, 2, 2)
    assert parse_weight(" l - 1 , 0 , 1 ", 3) == WeightRef(2, 0, 1, 3)
    assert parse_weight("1,0,0", 3) == WeightRef(1, 0, 0, 3)
    assert parse_weight("L,1,b", 2) == WeightRef(2, 1, None, 2)
    assert parse_weight(("L", 0, 1), 2) == WeightRef(2, 0, 1, 2)
    ref = parse_weight("L-1,0,b", 2)
    assert (ref.name, ref.parameter, ref.index, str(ref)) == ("L-1", "b", (0,), "L-1,0,b")
    for bad in ("L,1", "L,1,2,3", "M,1,2", "L,x,2", "L,-1,0", "L+1,0,0"):
        with pytest.raises(ValueError, match="weight"):
            parse_weight(bad, 2)
    for missing in ("L-2,0,0", "0,0,0", "3,0,0"):
        with pytest.raises(ValueError, match="no weight layer"):
            parse_weight(missing, 2)


def test_bad_nodes_and_settings():
    net = article_net()
    with pytest.raises(ValueError, match="layer L has 2 nodes"):
        explain(net, X0, Y0, "L,2,0")
    with pytest.raises(ValueError, match="layer L-1 has 3 nodes"):
        explain(net, X0, Y0, "L,0,3")
    with pytest.raises(ValueError, match="no bias"):
        explain(net, X0, Y0, "L,0,b")
    with pytest.raises(ValueError, match="learning rate"):
        explain(net, X0, Y0, "L,0,0", lr=-1)
    with pytest.raises(ValueError, match="columns"):
        explain(net, [[1.0, 2.0]], Y0, "L,0,0")


def test_random_samples_suit_the_output():
    soft = bp.Network.from_sizes([2, 3], activation="softmax", loss="cross_entropy", seed=0)
    X, Y = random_samples(soft, 5, 1)
    assert X.shape == (5, 2) and (Y.sum(axis=1) == 1).all() and set(np.unique(Y)) <= {0.0, 1.0}
    again = random_samples(soft, 5, 1)
    np.testing.assert_array_equal(X, again[0])
    reg = bp.Network.from_sizes([2, 1], activation="identity", loss="mse", seed=0)
    assert random_samples(reg, 3, 0)[1].shape == (3, 1)


# -- renderings ------------------------------------------------------------------------------

def test_markdown_and_latex_contain_the_formulas():
    net = article_net()
    for render_fn in (render_markdown, render_latex):
        out = render_fn(explain(net, X0, Y0, "L,1,2"))
        assert r"\frac{\partial C_{0}}{\partial w_{12}^{L}}" in out
        assert r"\frac{\partial C_{0}}{\partial a_{1}^{L}} \cdot \frac{\partial a_{1}^{L}}{\partial z_{1}^{L}}" in out
        assert r"2\left(a_{1}^{L} - y_{1}\right)" in out
        assert r"g_{L}'(z_{1}^{L})" in out
        assert r"a_{2}^{L-1}" in out
        hidden = render_fn(explain(net, X0, Y0, "L-1,2,2"))
        assert (r"\sum_{j=0}^{1} \frac{\partial C_{0}}{\partial a_{j}^{L}} \cdot g_{L}'(z_{j}^{L}) \cdot w_{j2}^{L}"
                in hidden)
        assert r"g_{L-1}'(z_{2}^{L-1})" in hidden and r"a_{2}^{L-2}" in hidden
        if render_fn is render_latex:
            assert "−" not in hidden  # LaTeX wants ASCII minus signs
    latex = render_latex(explain(net, X0, Y0, "L-1,2,2"))
    assert latex.count(r"\begin{align*}") == latex.count(r"\end{align*}") >= 5
    assert r"\leftarrow" in latex


def test_markdown_sections_and_tables():
    net = article_net()
    md = render_markdown(explain(net, np.vstack([X0, X0 / 2]), np.vstack([Y0, Y0]), "L-1,2,2"))
    for heading in ("## Sample 0", "## Sample 1", "### 1. Forward pass", "### 2. Loss", "### 3. Chain rule",
                    "## 4. Average over the samples", "## 5. Gradient-descent update", "## 6. Check"):
        assert heading in md
    assert r"\frac{1}{2} \sum_{i=0}^{1}" in md
    # every table row has as many cells as its header
    lines = md.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("|") and i + 1 < len(lines) and lines[i + 1].startswith("|--"):
            j = i
            while j < len(lines) and lines[j].startswith("|"):
                assert lines[j].count("|") == line.count("|"), lines[j]
                j += 1


def test_terminal_text():
    net = article_net()
    text = terminal_text(explain(net, X0, Y0, "L-1,2,2"))
    for part in ("1. Forward pass", "2. Loss", "3. Chain rule", "4. Average", "5. Gradient-descent update",
                 "6. Check", "∂C₀/∂w₂₂ᴸ⁻¹ = ∂C₀/∂a₂ᴸ⁻¹ · ∂a₂ᴸ⁻¹/∂z₂ᴸ⁻¹ · ∂z₂ᴸ⁻¹/∂w₂₂ᴸ⁻¹", "2(a₀ᴸ − y₀)",
                 "gᴸ⁻¹′(z₂ᴸ⁻¹) = a₂ᴸ⁻¹(1 − a₂ᴸ⁻¹)", "term by term", "already computed, layer L"):
        assert part in text, part


def test_json_has_every_number():
    net = bp.Network.from_sizes([3, 3, 2], activation="tanh", output_activation="sigmoid", seed=0)
    X, Y = random_samples(net, 2, 0)
    e = explain(net, X, Y, "L-1,1,b")
    d = json.loads(render_json(e))
    assert {"chain_rule", "backprop", "finite_difference", "samples", "update", "weight"} <= set(d)
    assert d["weight"] == {"layer": 1, "name": "L-1", "j": 1, "k": None, "parameter": "b", "text": "L-1,1,b"}
    s = d["samples"][1]
    assert len(s["forward"]) == 3 and s["forward"][2]["a"] == pytest.approx(list(net.forward(X[1:2])[0]), rel=1e-14)
    assert s["factors"][2]["value"] == 1.0  # dz/db = 1
    assert s["factors"][0]["sum"]["terms"][0]["factors"][0]["derived_above"] is True
    assert d == json.loads(json.dumps(to_dict(e))) and d["update"]["new"] == e.update.new


def test_render_dispatch_and_numbers():
    net = article_net()
    e = explain(net, X0, Y0, "L,0,0")
    assert isinstance(render(e, "markdown"), str)
    with pytest.raises(ValueError, match="unknown format"):
        render(e, "html")
    assert format_number(-0.5) == "−0.5"
    assert format_latex_number(1.5e-7) == r"1.5\times 10^{-7}"
    assert format_latex_number(0.25, 2) == "0.25"


@pytest.mark.parametrize("hidden,output,loss", [
    ("relu", "softmax", "sse"), ("leaky_relu", "sigmoid", "binary_cross_entropy"), ("elu", "identity", "huber"),
    ("gelu", "tanh", "mae"), ("softplus", "softmax", "cross_entropy"), ("tanh", "identity", "mse"),
])
def test_latex_is_balanced(hidden, output, loss):
    """No TeX engine in the test environment: check the structure that breaks a slide."""
    net = bp.Network.from_sizes([2, 3, 3, 2], activation=hidden, output_activation=output, loss=loss, seed=0,
                                fuse_output=False)
    X, Y = random_samples(net, 2, 0)
    for weight in ("L,1,0", "L-2,2,b"):
        tex = render_latex(explain(net, X, Y, weight))
        body = "\n".join(line for line in tex.splitlines() if not line.startswith("%"))
        depth = 0
        for ch in body.replace(r"\{", "").replace(r"\}", ""):
            depth += {"{": 1, "}": -1}.get(ch, 0)
            assert depth >= 0
        assert depth == 0
        assert len(re.findall(r"\\left(?!arrow)", body)) == len(re.findall(r"\\right(?!arrow)", body))
        assert body.count(r"\begin{") == body.count(r"\end{")
        assert "−" not in body and "∂" not in body and "·" not in body
