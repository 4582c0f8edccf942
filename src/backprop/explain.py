"""The article's derivation for one weight, as plain data.

:func:`explain` takes a network, one or more samples and a weight ``w_jk^l``
and returns an :class:`Explanation`: every number the article's derivation
uses, in the order the article uses them.

1. The forward pass: ``z_j^l = sum_k w_jk^l a_k^(l-1) (+ b_j^l)`` and
   ``a_j^l = g_l(z_j^l)`` for every node of every layer.
2. The loss ``C_0 = sum_j C_0j`` and its part from each output node
   (``C_0j = (a_j^L - y_j)^2`` for the article's loss).
3. The chain rule ``dC0/dw_jk^l = dC0/da_j^l * da_j^l/dz_j^l * dz_j^l/dw_jk^l``,
   each factor with its formula and value. At the output layer ``dC0/da_j^L``
   is the loss's derivative (``2 (a_j^L - y_j)``); at a hidden layer it is the
   article's sum over the next layer's nodes,
   ``dC0/da_j^l = sum_m dC0/da_m^(l+1) * g'_(l+1)(z_m^(l+1)) * w_mj^(l+1)``,
   term by term.
4. With several samples, each sample's value and their average,
   ``dC/dw = 1/N sum_i dC_i/dw``.
5. The gradient-descent update ``new = old - lr * gradient``.
6. A check: the same number from the vectorised backward pass
   (:meth:`Network.gradients`) and from central finite differences.

Naming layers and weights
-------------------------
As in the article, the output layer is ``L``, the one before it ``L-1``, and
so on; the input layer of a network with ``n`` weight layers is ``L-n``
(``a^(L-n)`` is the input ``x``). A layer may also be given by its number, the
1-based index of the weight layers: layer ``l`` is ``net.layers[l - 1]``, so
for ``sizes=[3, 3, 2]`` layer 2 is ``L`` and layer 1 is ``L-1``. Nodes are
numbered from 0, as in the article; ``w_jk^l`` is ``net.layers[l - 1].W[j, k]``
(``j`` in layer ``l``, ``k`` in the layer before). A bias ``b_j^l`` is named
with ``k = "b"``: ``"L,1,b"``; for it ``dz_j/db_j = 1``.

Deep networks: the recursion
----------------------------
Written out, the hidden-layer sum nests one sum per layer above ``l``, and its
numbers multiply out exponentially. The explanation keeps it linear: every
layer above ``l`` is listed once in ``upstream``, each of its nodes with its
own ``dC0/da`` and that value's derivation (the loss's derivative at ``L``, a
sum over the next layer below it); the sums then use those values as already
computed quantities. The symbolic ``expanded`` equation shows the whole
nesting, as the article's "putting it all together".

Softmax and the fused outputs
-----------------------------
Softmax couples its nodes: every ``a_m`` depends on every ``z_j``, so there is
no single factor ``da_j/dz_j``. For a softmax layer the first two factors are
replaced by their combined value, the Jacobian-vector product

    dC0/dz_j = sum_m dC0/da_m * da_m/dz_j,     da_m/dz_j = a_m (delta_mj - a_j),

shown term by term, and the chain rule reads ``dC0/dw_jk = dC0/dz_j * dz_j/dw_jk``.
When the network uses a fused output (softmax with cross-entropy, sigmoid with
binary cross-entropy; see :data:`backprop.core.losses.FUSED_OUTPUTS`), the
explanation follows the network: ``dC0/dz_j^L`` is the shortcut's formula
(``a_j sum_m y_m - y_j``, ``(a_j - y_j)/n``) and the loss is computed from
``z``, so the numbers are the ones :meth:`Network.gradients` uses.

Every value is computed by the library's own functions (the loss's and the
activation's derivatives on the forward pass's ``z`` and ``a``), and every
product and sum from the values shown, so ``chain_rule`` is exactly the product
of the printed factors; ``backprop`` and ``finite_difference`` are computed
independently. Renderers for the terminal, Markdown, LaTeX and JSON are in
:mod:`backprop.explain_render`.
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass, field, fields, is_dataclass

import numpy as np

from .core import Network
from .core.named import FormulaText
from .gradcheck import DEFAULT_TOLERANCES, float64_copy, layer_name, numeric_gradient

MAX_LAYERS = 100  # the derivation nests one level per later layer; deeper is unreadable, and recursion ends

__all__ = [
    "explain", "parse_weight", "random_samples", "to_dict", "WeightRef", "Explanation",
    "SampleExplanation", "LayerValues", "UpstreamLayer", "Quantity", "Sum", "Term", "Formula",
    "Arg", "Math", "Update", "layer_name",
]


# -- notation -----------------------------------------------------------------

_SUB = dict(zip("0123456789+-=()aehijklmnoprstuvx,", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ,"))
_SUP = dict(zip("0123456789+-=()Lnil", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ᴸⁿⁱˡ"))
# The summation indices, outermost first; each has a Unicode subscript.
_LETTERS = "jmpstuvx"


def _sub(text) -> str:
    text = str(text)
    if all(c in _SUB for c in text):
        return "".join(_SUB[c] for c in text)
    return f"_{text}"


def _sup(text) -> str:
    text = str(text)
    if all(c in _SUP for c in text):
        return "".join(_SUP[c] for c in text)
    return f"^{text}"


@dataclass(frozen=True)
class Math:
    """One piece of notation, written twice: Unicode text and LaTeX."""

    text: str
    latex: str


def _pair(*indices) -> tuple[str, str]:
    """Two indices as one subscript: ``12`` when both are one character, else ``12,3``."""
    parts = [str(i) for i in indices]
    sep = "" if all(len(p) == 1 for p in parts) else ","
    return sep.join(parts), sep.join(parts)


class _Notation:
    """The article's symbols for sample ``i`` of a network with ``n`` weight layers."""

    def __init__(self, n_layers: int, sample: int):
        self.n = n_layers
        self.i = sample

    def layer(self, p: int) -> str:
        return layer_name(p, self.n)

    def node(self, base: str, j, p: int) -> Math:
        name = self.layer(p)
        return Math(f"{base}{_sub(j)}{_sup(name)}", f"{base}_{{{j}}}^{{{name}}}")

    def a(self, j, p: int) -> Math:
        return self.node("a", j, p)

    def z(self, j, p: int) -> Math:
        return self.node("z", j, p)

    def b(self, j, p: int) -> Math:
        return self.node("b", j, p)

    def w(self, j, k, p: int) -> Math:
        text, latex = _pair(j, k)
        name = self.layer(p)
        return Math(f"w{_sub(text)}{_sup(name)}", f"w_{{{latex}}}^{{{name}}}")

    def y(self, j) -> Math:
        return Math(f"y{_sub(j)}", f"y_{{{j}}}")

    def C(self, j=None) -> Math:
        if j is None:
            return Math(f"C{_sub(self.i)}", f"C_{{{self.i}}}")
        text, latex = _pair(self.i, j)
        return Math(f"C{_sub(text)}", f"C_{{{latex}}}")

    def delta(self, m, j) -> Math:
        text, latex = _pair(m, j)
        return Math(f"δ{_sub(text)}", f"\\delta_{{{latex}}}")

    @staticmethod
    def partial(num: Math, den: Math) -> Math:
        return Math(f"∂{num.text}/∂{den.text}", f"\\frac{{\\partial {num.latex}}}{{\\partial {den.latex}}}")

    def gprime(self, p: int, arg: Math) -> Math:
        name = self.layer(p)
        return Math(f"g{_sup(name)}′({arg.text})", f"g_{{{name}}}'({arg.latex})")

    @staticmethod
    def sum(index: str, count: int, body: Math) -> Math:
        return Math(f"Σ{_sub(index)}{_sub('=0')}{_sup(count - 1)} {body.text}",
                    f"\\sum_{{{index}=0}}^{{{count - 1}}} {body.latex}")

    @staticmethod
    def product(*parts: Math) -> Math:
        return Math(" · ".join(p.text for p in parts), " \\cdot ".join(p.latex for p in parts))

    @staticmethod
    def paren(m: Math) -> Math:
        return Math(f"({m.text})", f"\\left({m.latex}\\right)")


# -- formulas -----------------------------------------------------------------

@dataclass(frozen=True)
class Arg:
    """A symbol in a formula and the value it had."""

    name: str
    symbol: Math
    value: float


_PLACEHOLDER = re.compile(r"«(\w+)»")


@dataclass(frozen=True)
class Formula:
    """An expression in the article's symbols, and the values it was evaluated at.

    ``text`` and ``latex`` are templates in which ``«name»`` stands for the
    argument ``name``; :meth:`symbolic` fills in the symbols and
    :meth:`numeric` the numbers. ``wrap`` says whether the expression needs
    parentheses when it is multiplied by something.
    """

    text: str
    latex: str
    args: tuple[Arg, ...] = ()
    wrap: bool = False

    def _fill(self, template: str, what) -> str:
        args = {arg.name: arg for arg in self.args}
        return _PLACEHOLDER.sub(lambda m: what(args[m.group(1)], template, m), template)

    def symbolic(self, kind: str = "text") -> str:
        """The formula in symbols; ``kind`` is ``"text"`` or ``"latex"``."""
        template = self.text if kind == "text" else self.latex
        return self._fill(template, lambda arg, t, m: getattr(arg.symbol, kind))

    def numeric(self, kind: str, fmt) -> str:
        """The formula with each symbol replaced by ``fmt(value)``; negatives get parentheses."""
        template = self.text if kind == "text" else self.latex

        def number(arg, t, m):
            s = fmt(arg.value)
            enclosed = t[m.start() - 1:m.start()] in ("(", "{") and t[m.end():m.end() + 1] in (")", "}")
            return f"({s})" if arg.value < 0 and not enclosed else s

        return self._fill(template, number)

    def math(self) -> Math:
        return Math(self.symbolic("text"), self.symbolic("latex"))


def _formula(text: FormulaText, args: tuple) -> Formula:
    """An explanation's formula from the template a loss or activation gives (see ``backprop.core``)."""
    return Formula(text.text, text.latex, args, text.wrap)


def _loss_part_formula(loss, nt: _Notation, j: int, a: float, y: float, n_out: int) -> Formula | None:
    """``C_ij``, the part of the loss from output node ``j``."""
    text = loss.part_formula(n_out)
    return None if text is None else _formula(text, (Arg("a", nt.a(j, nt.n), a), Arg("y", nt.y(j), y)))


def _loss_parts(loss_name: str, fused, z: np.ndarray, a: np.ndarray, y: np.ndarray, loss) -> np.ndarray | None:
    """The per-node parts of one sample's loss (float64), or None for a loss without them."""
    z, a, y = (np.asarray(v, dtype=np.float64) for v in (z, a, y))
    return fused.per_node(z, y) if fused is not None else loss.per_node(a, y)


def _loss_derivative_formula(loss, nt: _Notation, j, a: float, y: float, n_out: int) -> Formula:
    """``dC_i/da_j^L``."""
    return _formula(loss.derivative_formula(n_out), (Arg("a", nt.a(j, nt.n), a), Arg("y", nt.y(j), y)))


def _fused_formula(fused, nt: _Notation, j, a: float, y: float, y_sum: float, n_out: int) -> Formula:
    """``dC_i/dz_j^L`` of a fused output shortcut."""
    s = Math("Σᵣ yᵣ", "\\sum_r y_r")
    args = (Arg("a", nt.a(j, nt.n), a), Arg("y", nt.y(j), y), Arg("s", s, y_sum))
    return _formula(fused.delta_formula(n_out), args)


def _activation_formula(activation, nt: _Notation, j, p: int, z: float, a: float) -> Formula:
    """``g_p'(z_j^p)``, in terms of ``z`` or ``a``."""
    return _formula(activation.derivative_formula(), (Arg("z", nt.z(j, p), z), Arg("a", nt.a(j, p), a)))


# -- the explanation as data ---------------------------------------------------

@dataclass(frozen=True)
class WeightRef:
    """A weight (or bias) named as the article names it.

    Attributes
    ----------
    layer : int
        1-based layer number: the weight is in ``net.layers[layer - 1]``.
    j : int
        The node in that layer (from 0).
    k : int or None
        The node in the layer before (from 0); None for the bias ``b_j``.
    n_layers : int
        The number of weight layers of the network, which fixes the names.
    """

    layer: int
    j: int
    k: int | None
    n_layers: int

    @property
    def name(self) -> str:
        """The article's name of the layer: ``"L"``, ``"L-1"``, ..."""
        return layer_name(self.layer, self.n_layers)

    @property
    def is_bias(self) -> bool:
        return self.k is None

    @property
    def parameter(self) -> str:
        return "b" if self.k is None else "W"

    @property
    def index(self) -> tuple:
        """The index into the parameter array: ``(j, k)`` for ``W``, ``(j,)`` for ``b``."""
        return (self.j,) if self.k is None else (self.j, self.k)

    def __str__(self) -> str:
        return f"{self.name},{self.j},{'b' if self.k is None else self.k}"


_LAYER = re.compile(r"^\s*L\s*(?:-\s*(\d+))?\s*$", re.IGNORECASE)


def parse_weight(text, n_layers: int) -> WeightRef:
    """Read a weight name: ``"L,1,2"``, ``"L-1,2,2"``, ``"2,1,0"`` or a bias ``"L,1,b"``.

    Parameters
    ----------
    text : str or tuple
        ``"LAYER,j,k"``: the layer as ``L``, ``L-d`` or its 1-based number
        (``net.layers[number - 1]``), ``j`` the node in that layer and ``k`` the
        node in the layer before, both from 0; ``k = "b"`` names the bias ``b_j``.
        A tuple ``(layer, j, k)`` is read the same way.
    n_layers : int
        The number of weight layers in the network.

    Raises
    ------
    ValueError
        If the text cannot be read or the layer does not exist. Node indices
        are checked against the network by :func:`explain`.
    """
    if isinstance(text, WeightRef):
        return text
    parts = [str(p).strip() for p in text] if isinstance(text, (tuple, list)) else str(text).split(",")
    usage = ("expected LAYER,j,k with LAYER 'L', 'L-1', ... or a layer number from 1, "
             "j and k node numbers from 0, and k = 'b' for a bias")
    if len(parts) != 3:
        raise ValueError(f"cannot read weight {text!r}: {usage}")
    layer_text, j_text, k_text = (p.strip() for p in parts)
    m = _LAYER.match(layer_text)
    if m:
        layer = n_layers - int(m.group(1) or 0)
    else:
        try:
            layer = int(layer_text)
        except ValueError:
            raise ValueError(f"cannot read the layer {layer_text!r} of weight {text!r}: {usage}") from None
    if not 1 <= layer <= n_layers:
        names = ", ".join(f"{layer_name(p, n_layers)} (= {p})" for p in range(n_layers, 0, -1))
        raise ValueError(f"weight {text!r}: the network has no weight layer {layer_text}; "
                         f"its weight layers are {names}")
    try:
        j = int(j_text)
        k = None if k_text.lower() == "b" else int(k_text)
    except ValueError:
        raise ValueError(f"cannot read the nodes of weight {text!r}: {usage}") from None
    if j < 0 or (k is not None and k < 0):
        raise ValueError(f"weight {text!r}: node numbers start at 0; got a negative one")
    return WeightRef(layer=layer, j=j, k=k, n_layers=n_layers)


@dataclass
class Term:
    """One term of a sum: its factors and their product."""

    index: int
    factors: list
    value: float


@dataclass
class Sum:
    """A sum over the nodes of a layer, term by term.

    ``formula`` is the sum in symbols; ``headers`` are the generic factors of
    a term (with the summation ``index`` as a letter).
    """

    index: str
    formula: Math
    headers: list
    terms: list


@dataclass
class Quantity:
    """A named number and, where it is derived, how.

    Attributes
    ----------
    symbol : Math
        Its name, e.g. ``∂C₀/∂a₁ᴸ``.
    value : float
    alias : Math or None
        Another name for it, e.g. ``gᴸ′(z₁ᴸ)`` for ``∂a₁ᴸ/∂z₁ᴸ``.
    formula : Formula or None
        A closed form, evaluated by the library (the loss's or activation's derivative).
    sum : Sum or None
        A sum over a layer's nodes; ``value`` is the sum of its terms.
    derived_above : bool
        True for a value derived earlier (in ``upstream``) and only quoted here.
    """

    symbol: Math
    value: float
    alias: Math | None = None
    formula: Formula | None = None
    sum: Sum | None = None
    derived_above: bool = False


@dataclass
class LayerValues:
    """The forward pass through one layer for one sample (the input layer has no ``z``)."""

    layer: int
    name: str
    activation: str | None
    z: list | None
    a: list


@dataclass
class UpstreamLayer:
    """The ``dC/da`` (and, for softmax or a fused output, ``dC/dz``) of one layer's nodes."""

    layer: int
    name: str
    activation: str
    dC_da: list
    dC_dz: list


@dataclass
class SampleExplanation:
    """The derivation for one sample.

    Attributes
    ----------
    index : int
        ``i`` in ``C_i``.
    x, y : list of float
        The input and the target.
    forward : list of LayerValues
        The input layer, then every layer up to ``L``.
    loss : Quantity
        ``C_i``, the network's per-sample loss.
    loss_parts : list of Quantity or None
        ``C_ij`` for each output node (None for a loss that is not a sum over nodes).
    upstream : list of UpstreamLayer
        From ``L`` down: the layers whose ``dC/da`` the chain rule uses.
    equation : Math
        The chain rule for this weight, in symbols.
    expanded : Math
        The chain rule with every factor written out (the article's "putting it all together").
    factors : list of Quantity
        The chain rule's factors.
    value : float
        Their product, ``dC_i/dw``.
    """

    index: int
    x: list
    y: list
    forward: list
    loss: Quantity
    loss_parts: list | None
    upstream: list
    equation: Math
    expanded: Math
    factors: list
    value: float


@dataclass
class Update:
    """The gradient-descent step ``new weight = old weight - learning rate * gradient``."""

    old: float
    lr: float
    gradient: float
    new: float


@dataclass
class Explanation:
    """The whole derivation for one weight; see the module docstring.

    ``chain_rule`` is the average over the samples of the product of the
    printed factors, ``backprop`` the same entry of :meth:`Network.gradients`
    and ``finite_difference`` a central difference of the batch loss (taken in
    float64, step ``eps``). The relative differences are
    ``|x - y| / max(|x|, |y|)``.
    """

    network: dict
    weight: WeightRef
    symbol: Math
    value: float
    fused: str | None
    samples: list
    average: Math
    chain_rule: float
    backprop: float
    finite_difference: float
    eps: float
    relative_difference: float
    chain_rule_vs_backprop: float
    update: Update
    notes: list = field(default_factory=list)


def to_dict(obj):
    """Plain data for JSON: dataclasses become dicts, a :class:`Formula` its text, LaTeX and arguments."""
    if isinstance(obj, Formula):
        return {"text": obj.symbolic("text"), "latex": obj.symbolic("latex"),
                "args": {a.name: {"symbol": to_dict(a.symbol), "value": a.value} for a in obj.args}}
    if isinstance(obj, WeightRef):
        return {"layer": obj.layer, "name": obj.name, "j": obj.j, "k": obj.k,
                "parameter": obj.parameter, "text": str(obj)}
    if is_dataclass(obj):
        return {f.name: to_dict(getattr(obj, f.name)) for f in fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_dict(v) for k, v in obj.items()}
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


# -- building it ----------------------------------------------------------------

def _prod(values) -> float:
    out = 1.0
    for v in values:
        out *= v
    return out


def _rel(x: float, y: float) -> float:
    if not (math.isfinite(x) and math.isfinite(y)):
        return math.nan  # never "0" for two infinities or NaNs: the comparison means nothing
    scale = max(abs(x), abs(y))
    return 0.0 if scale == 0 else abs(x - y) / scale


class _Builder:
    """Computes a :class:`SampleExplanation` for each sample, from one forward pass."""

    def __init__(self, net: Network, ref: WeightRef, X: np.ndarray, Y: np.ndarray):
        self.net, self.ref, self.Y = net, ref, Y
        self.n = n = len(net.layers)
        # Dropout is inactive here (every mask is all ones): the derivation is the network's own.
        _, trace = net.forward_train(X)
        dense = [cache for cache in trace if cache is not None and hasattr(cache, "z")]
        self.A = [X] + [cache.a for cache in dense]
        self.Z = [None] + [cache.z for cache in dense]
        self.fused = net.fused
        self.per_sample = net.per_sample_loss(trace, Y)
        self.dC_da_out = None if self.fused else net.loss_fn.derivative(self.A[n], Y)
        self.delta_out = self.fused.delta(self.Z[n], self.A[n], Y) if self.fused else None
        self.kind = {}
        self.gprime = {}
        for p, layer in enumerate(net.layers, start=1):
            if p == n and self.fused is not None:
                self.kind[p] = "fused"
            elif layer.activation.name == "softmax":
                self.kind[p] = "softmax"
            else:
                self.kind[p] = "elementwise"
                try:
                    self.gprime[p] = layer.activation.derivative(self.Z[p], self.A[p])
                except (TypeError, NotImplementedError):
                    raise ValueError(f"cannot explain layer {layer_name(p, n)}: its activation "
                                     f"{layer.activation.name!r} has no elementwise derivative") from None

    # values of sample i
    def a(self, i, j, p) -> float:
        return float(self.A[p][i, j])

    def z(self, i, j, p) -> float:
        return float(self.Z[p][i, j])

    def w(self, j, k, p) -> float:
        return float(self.net.layers[p - 1].W[j, k])

    def sample(self, i: int) -> SampleExplanation:
        nt = _Notation(self.n, i)
        n, ref = self.n, self.ref
        l, j = ref.layer, ref.j
        self.nt, self.i = nt, i
        self.dC_da, self.dC_dz = {}, {}

        upstream = []
        for p in range(n, l, -1):
            self.dC_da[p] = [self._dC_da(p, m) for m in range(self._size(p))] if self.kind[p] != "fused" else []
            self.dC_dz[p] = [self._dC_dz(p, m) for m in range(self._size(p))] if self.kind[p] != "elementwise" else []
            upstream.append(self._upstream(p))
        if self.kind[l] == "softmax":
            self.dC_da[l] = [self._dC_da(l, m) for m in range(self._size(l))]
            self.dC_dz[l] = []
            upstream.append(self._upstream(l))

        weight = nt.b(j, l) if ref.is_bias else nt.w(j, ref.k, l)
        dz_dw = nt.partial(nt.z(j, l), weight)
        if ref.is_bias:
            third = Quantity(dz_dw, 1.0, formula=Formula("1", "1"))
            third_sym = Math("1", "1")
        else:
            a_k = nt.a(ref.k, l - 1)
            third = Quantity(dz_dw, self.a(i, ref.k, l - 1), formula=Formula("«a»", "«a»", (Arg("a", a_k, self.a(i, ref.k, l - 1)),)))
            third_sym = a_k
        if self.kind[l] == "elementwise":
            first = self._dC_da(l, j)
            second = self._gprime_quantity(l, j, as_partial=True)
            factors = [first, second, third]
        else:
            factors = [self._dC_dz(l, j), third]
        equation = Math(
            f"{nt.partial(nt.C(), weight).text} = " + " · ".join(f.symbol.text for f in factors),
            f"{nt.partial(nt.C(), weight).latex} = " + " \\cdot ".join(f.symbol.latex for f in factors),
        )
        expanded_rhs = _Notation.product(self._expand_local(l, j, 0), third_sym)
        expanded = Math(f"{nt.partial(nt.C(), weight).text} = {expanded_rhs.text}",
                        f"{nt.partial(nt.C(), weight).latex} = {expanded_rhs.latex}")
        return SampleExplanation(
            index=i, x=[float(v) for v in self.A[0][i]], y=[float(v) for v in self.Y[i]],
            forward=self._forward(i), loss=Quantity(nt.C(), float(self.per_sample[i])),
            loss_parts=self._loss_parts(i), upstream=upstream, equation=equation, expanded=expanded,
            factors=factors, value=_prod(f.value for f in factors),
        )

    def _size(self, p: int) -> int:
        return self.net.layers[p - 1].n_out

    def _forward(self, i: int) -> list:
        rows = [LayerValues(0, layer_name(0, self.n), None, None, [float(v) for v in self.A[0][i]])]
        for p, layer in enumerate(self.net.layers, start=1):
            rows.append(LayerValues(p, layer_name(p, self.n), layer.activation.name,
                                    [float(v) for v in self.Z[p][i]], [float(v) for v in self.A[p][i]]))
        return rows

    def _loss_parts(self, i: int) -> list | None:
        n, nt = self.n, self.nt
        parts = _loss_parts(self.net.loss_fn.name, self.fused, self.Z[n][i], self.A[n][i], self.Y[i], self.net.loss_fn)
        if parts is None:
            return None
        out = []
        for j, value in enumerate(parts):
            formula = _loss_part_formula(self.net.loss_fn, nt, j, self.a(i, j, n), float(self.Y[i, j]), self._size(n))
            out.append(Quantity(nt.C(j), float(value), formula=formula))
        return out

    def _upstream(self, p: int) -> UpstreamLayer:
        return UpstreamLayer(p, layer_name(p, self.n), self.net.layers[p - 1].activation.name,
                             self.dC_da[p], self.dC_dz.get(p, []))

    @staticmethod
    def _quote(q: Quantity) -> Quantity:
        return Quantity(q.symbol, q.value, derived_above=True)

    def _gprime_quantity(self, p: int, m: int, as_partial: bool = False) -> Quantity:
        nt, i = self.nt, self.i
        g = nt.gprime(p, nt.z(m, p))
        formula = _activation_formula(self.net.layers[p - 1].activation, nt, m, p, self.z(i, m, p), self.a(i, m, p))
        value = float(self.gprime[p][i, m])
        if as_partial:
            return Quantity(nt.partial(nt.a(m, p), nt.z(m, p)), value, alias=g, formula=formula)
        return Quantity(g, value, formula=formula)

    def _dC_da(self, p: int, m: int) -> Quantity:
        """``dC_i/da_m^p``: the loss's derivative at ``L``, else the sum over layer ``p + 1``."""
        nt, i, n = self.nt, self.i, self.n
        symbol = nt.partial(nt.C(), nt.a(m, p))
        if p == n:
            formula = _loss_derivative_formula(self.net.loss_fn, nt, m, self.a(i, m, n), float(self.Y[i, m]),
                                               self._size(n))
            return Quantity(symbol, float(self.dC_da_out[i, m]), formula=formula)
        q, letter = p + 1, _LETTERS[0]
        terms = []
        for t in range(self._size(q)):
            w = Quantity(nt.w(t, m, q), self.w(t, m, q))
            if self.kind[q] == "elementwise":
                factors = [self._quote(self.dC_da[q][t]), self._gprime_quantity(q, t), w]
            else:
                factors = [self._quote(self.dC_dz[q][t]), w]
            terms.append(Term(t, factors, _prod(f.value for f in factors)))
        if self.kind[q] == "elementwise":
            headers = [nt.partial(nt.C(), nt.a(letter, q)), nt.gprime(q, nt.z(letter, q)), nt.w(letter, m, q)]
        else:
            headers = [nt.partial(nt.C(), nt.z(letter, q)), nt.w(letter, m, q)]
        total = math.fsum(t.value for t in terms)
        body = _Notation.sum(letter, self._size(q), _Notation.product(*headers))
        return Quantity(symbol, total, sum=Sum(letter, body, headers, terms))

    def _dC_dz(self, p: int, m: int) -> Quantity:
        """``dC_i/dz_m^p`` for a fused output or a softmax layer (the Jacobian-vector product)."""
        nt, i, n = self.nt, self.i, self.n
        symbol = nt.partial(nt.C(), nt.z(m, p))
        if self.kind[p] == "fused":
            formula = _fused_formula(self.fused, nt, m, self.a(i, m, n), float(self.Y[i, m]),
                                     float(self.Y[i].astype(np.float64).sum()), self._size(n))
            return Quantity(symbol, float(self.delta_out[i, m]), formula=formula)
        letter = _LETTERS[0]
        terms = []
        a_m = self.a(i, m, p)
        for t in range(self._size(p)):
            d = 1.0 if t == m else 0.0
            a_t = self.a(i, t, p)
            jac = Quantity(nt.partial(nt.a(t, p), nt.z(m, p)), a_t * (d - a_m),
                           formula=Formula("«at»(«d» − «am»)", "«at»\\left(«d» - «am»\\right)",
                                           (Arg("at", nt.a(t, p), a_t), Arg("d", nt.delta(t, m), d),
                                            Arg("am", nt.a(m, p), a_m))))
            factors = [self._quote(self.dC_da[p][t]), jac]
            terms.append(Term(t, factors, _prod(f.value for f in factors)))
        headers = [nt.partial(nt.C(), nt.a(letter, p)), nt.partial(nt.a(letter, p), nt.z(m, p))]
        body = _Notation.sum(letter, self._size(p), _Notation.product(*headers))
        return Quantity(symbol, math.fsum(t.value for t in terms), sum=Sum(letter, body, headers, terms))

    # -- the symbolic "putting it all together" --

    def _expand_da(self, p: int, idx, depth: int) -> Math:
        nt, n = self.nt, self.n
        if p == n:
            f = _loss_derivative_formula(self.net.loss_fn, nt, idx, 0.0, 0.0, self._size(n))
            return _Notation.paren(f.math()) if f.wrap else f.math()
        letter = _LETTERS[min(depth, len(_LETTERS) - 1)]
        body = _Notation.product(self._expand_local(p + 1, letter, depth + 1), nt.w(letter, idx, p + 1))
        return _Notation.paren(_Notation.sum(letter, self._size(p + 1), body))

    def _expand_local(self, p: int, idx, depth: int) -> Math:
        """``dC/dz_idx^p`` written out: ``dC/da * g'(z)``, the fused formula, or the softmax sum."""
        nt = self.nt
        if self.kind[p] == "fused":
            f = _fused_formula(self.fused, nt, idx, 0.0, 0.0, 0.0, self._size(p))
            return _Notation.paren(f.math())
        if self.kind[p] == "softmax":
            letter = _LETTERS[min(depth, len(_LETTERS) - 1)]
            jac = Math(f"{nt.a(letter, p).text}({nt.delta(letter, idx).text} − {nt.a(idx, p).text})",
                       f"{nt.a(letter, p).latex}\\left({nt.delta(letter, idx).latex} - {nt.a(idx, p).latex}\\right)")
            body = _Notation.product(self._expand_da(p, letter, depth + 1), jac)
            return _Notation.paren(_Notation.sum(letter, self._size(p), body))
        return _Notation.product(self._expand_da(p, idx, depth), nt.gprime(p, nt.z(idx, p)))


def random_samples(net: Network, n_samples: int, seed=None) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n_samples`` inputs and targets that suit the network's output.

    Inputs are uniform in [-1, 1]. Targets are one-hot rows for a softmax output
    or a cross-entropy loss, 0 or 1 for a sigmoid output or binary
    cross-entropy, and standard normal otherwise. The same seed gives the same samples.
    """
    rng = np.random.default_rng(seed)
    n_in, n_out = net.sizes[0], net.sizes[-1]
    X = rng.uniform(-1.0, 1.0, size=(n_samples, n_in))
    out, loss = net.layers[-1].activation.name, net.loss_fn.name
    if out == "softmax" or loss == "cross_entropy":
        Y = np.eye(n_out)[rng.integers(0, n_out, size=n_samples)]
    elif out == "sigmoid" or loss == "binary_cross_entropy":
        Y = rng.integers(0, 2, size=(n_samples, n_out)).astype(float)
    else:
        Y = rng.normal(size=(n_samples, n_out))
    return X.astype(net.dtype), Y.astype(net.dtype)


def explain(net: Network, X, Y, weight, *, lr: float = 0.1, eps: float | None = None) -> Explanation:
    """Derive ``dC/dw`` for one weight by the article's chain rule, with every number.

    Parameters
    ----------
    net : Network
        The network; its parameters are not changed.
    X : array_like of shape (n_samples, n_inputs)
    Y : array_like of shape (n_samples, n_outputs)
    weight : str, tuple or WeightRef
        The weight, as :func:`parse_weight` reads it: ``"L,1,2"`` is
        ``w_12^L``, ``net.layers[-1].W[1, 2]``; ``"L-1,2,2"``; ``"1,0,2"``
        (layer numbers from 1); ``"L,1,b"`` the bias ``b_1^L``.
    lr : float, default 0.1
        The learning rate of the gradient-descent update shown.
    eps : float, optional
        The finite-difference step (applied in float64); 1e-6 by default.

    Returns
    -------
    Explanation
        Plain data; :func:`to_dict` turns it into JSON-ready dicts and
        :mod:`backprop.explain_render` into text.

    Examples
    --------
    >>> import backprop as bp
    >>> from backprop.explain import explain
    >>> net = bp.Network.from_sizes([3, 3, 2], activation="sigmoid", loss="sse", bias=False, seed=0)
    >>> e = explain(net, [[0.5, -1.0, 2.0]], [[1.0, 0.0]], "L,1,2")
    >>> abs(e.chain_rule - e.backprop) < 1e-12
    True
    """
    if not isinstance(net, Network):
        raise TypeError(f"net must be a backprop Network; got {type(net).__name__}")
    X = net.check_X(X)
    Y = net.check_Y(Y, X.shape[0])
    n = len(net.layers)
    if n > MAX_LAYERS:
        raise ValueError(f"explain derives a weight through every later layer; at most {MAX_LAYERS} layers, "
                         f"and this network has {n}")
    ref = parse_weight(weight, n)
    layer = net.layers[ref.layer - 1]
    if ref.j >= layer.n_out:
        raise ValueError(f"weight {ref}: layer {ref.name} has {layer.n_out} nodes (0 to {layer.n_out - 1}); "
                         f"got j = {ref.j}")
    if ref.is_bias and layer.b is None:
        raise ValueError(f"weight {ref}: layer {ref.name} has no bias (the network was built without biases)")
    if not ref.is_bias and ref.k >= layer.n_in:
        prev = layer_name(ref.layer - 1, n)
        raise ValueError(f"weight {ref}: layer {prev} has {layer.n_in} nodes (0 to {layer.n_in - 1}); "
                         f"got k = {ref.k}")
    lr = float(lr)
    if not (math.isfinite(lr) and lr > 0):
        raise ValueError(f"the learning rate must be a positive number; got {lr!r}")
    eps = DEFAULT_TOLERANCES["float64"][0] if eps is None else float(eps)
    if not (math.isfinite(eps) and eps > 0):
        raise ValueError(f"eps must be a positive number; got {eps!r}")

    # Inputs near the float64 limit overflow: the numbers say so (inf, NaN, a note), not RuntimeWarnings.
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        builder = _Builder(net, ref, X, Y)
        samples = [builder.sample(i) for i in range(X.shape[0])]
        N = len(samples)
        chain_rule = math.fsum(s.value for s in samples) / N
        backprop = float(net.gradients(X, Y)[ref.layer - 1][ref.parameter][ref.index])
        net64 = float64_copy(net)
        fd = numeric_gradient(net64, X.astype(np.float64), Y.astype(np.float64), ref.layer - 1, ref.parameter,
                              eps, index=ref.index)

    nt = _Notation(n, 0)
    symbol = nt.b(ref.j, ref.layer) if ref.is_bias else nt.w(ref.j, ref.k, ref.layer)
    average = Math(
        f"∂C/∂{symbol.text} = 1/{N} Σᵢ₌₀{_sup(N - 1)} ∂Cᵢ/∂{symbol.text}",
        f"\\frac{{\\partial C}}{{\\partial {symbol.latex}}} = \\frac{{1}}{{{N}}} \\sum_{{i=0}}^{{{N - 1}}} "
        f"\\frac{{\\partial C_i}}{{\\partial {symbol.latex}}}",
    )
    old = float(getattr(layer, ref.parameter)[ref.index])
    notes = []
    if not all(math.isfinite(v) for v in (chain_rule, backprop, float(fd))):
        notes.append("These inputs overflow float64 (a value above is infinite or NaN): the gradient cannot be "
                     "computed in floating point here, and the finite-difference check is unusable.")
    if any(net.dropout):
        notes.append("The network has dropout; it is inactive here (every mask is all ones), as in prediction, "
                     "so the derivation is the network's own. While training, a dropped node's a is 0 and "
                     "the others are divided by 1 − p, and the same mask multiplies ∂C/∂a on the way back.")
    if builder.fused is not None:
        notes.append(f"The network fuses its {builder.fused.activation} output with the {builder.fused.loss} "
                     f"loss: ∂C/∂zᴸ is the shortcut's formula and the loss is computed from zᴸ.")
    if any(kind == "softmax" for kind in builder.kind.values()):
        notes.append("Softmax couples its nodes, so ∂C/∂a · ∂a/∂z is a sum over the layer's nodes "
                     "(a Jacobian-vector product), shown as ∂C/∂z.")
    if net.dtype != np.float64:
        notes.append(f"The network computes in {net.dtype.name}; the values shown are its values, "
                     "multiplied and summed in float64, and the finite difference is taken in float64.")
    return Explanation(
        network=net.config(), weight=ref, symbol=symbol, value=old,
        fused=None if builder.fused is None else builder.fused.name, samples=samples, average=average,
        chain_rule=chain_rule, backprop=backprop, finite_difference=float(fd), eps=eps,
        relative_difference=_rel(backprop, float(fd)), chain_rule_vs_backprop=_rel(chain_rule, backprop),
        update=Update(old=old, lr=lr, gradient=chain_rule, new=old - lr * chain_rule), notes=notes,
    )
