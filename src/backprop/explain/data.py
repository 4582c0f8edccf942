"""The derivation as plain data: which weight, each factor, each sum, each sample, the check."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields, is_dataclass

import numpy as np

from ..gradcheck import layer_name
from .formulas import Formula
from .notation import Math

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
