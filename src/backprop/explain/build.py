"""Building the derivation from one forward pass of the network."""

from __future__ import annotations

import math
import warnings

import numpy as np

from ..core import Network
from ..gradcheck import DEFAULT_TOLERANCES, float64_copy, layer_name, numeric_gradient
from .data import (Explanation, LayerValues, Quantity, SampleExplanation, Sum, Term, Update, UpstreamLayer,
                   WeightRef, parse_weight)
from .formulas import (Arg, Formula, _activation_formula, _fused_formula, _loss_derivative_formula,
                       _loss_part_formula, _loss_parts)
from .notation import _LETTERS, Math, _Notation, _sup

MAX_LAYERS = 100  # the derivation nests one level per later layer; deeper is unreadable, and recursion ends



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
        :mod:`backprop.explain.render` into text.

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
