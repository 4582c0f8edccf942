"""Activation functions g(z) and their derivatives g'(z).

In the article a node's output is ``a_j = g_l(z_j)``, and the backward pass
needs the middle factor of the chain rule, ``da_j/dz_j = g_l'(z_j)``.
Each activation here gives both, numerically stable for any finite ``z``.

Every activation has two methods:

``value(z)``
    the output ``a = g(z)``, elementwise (softmax: along each row);
``backward(z, a, dC_da)``
    ``dC/dz``, the upstream gradient times the local derivative. For an
    elementwise ``g`` this is ``dC/da * g'(z)``; for softmax, whose output
    node depends on every input node, it is the Jacobian-vector product.

Elementwise activations also expose ``derivative(z, a)`` = ``g'(z)``, and take
``a`` as well as ``z`` because many derivatives are cheapest from the output
that the forward pass already computed (sigmoid: ``a (1 - a)``; tanh:
``1 - a^2``).

Both take an optional ``out`` array to write into, so that training can reuse
one buffer per layer across batches instead of allocating new arrays; without
it they return a new array.

Each activation also knows how it is shown and exported, so that everything
about it is in one place: ``derivative_formula()``, the ``g'`` that
``backprop explain`` prints (text and LaTeX), and ``to_onnx(g, z)``, its
lowering to ONNX operators through the exporter's graph builder (which this
module only calls: it never imports onnx).

Constants are Python floats, never NumPy float64 scalars, so a float32 array
stays float32 (NumPy's type promotion treats Python scalars as weak).
"""

from __future__ import annotations

import math

import numpy as np

from .named import FormulaText, Named

__all__ = [
    "Activation", "Identity", "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "ELU",
    "Softplus", "GELU", "Softmax", "Exp", "ACTIVATIONS", "get_activation", "erf",
]


class Activation(Named):
    """Base class: an elementwise activation ``a = g(z)``.

    Subclasses implement :meth:`value` and :meth:`derivative`; the backward
    pass is then the chain rule's ``dC/dz = dC/da * g'(z)``.
    """

    def value(self, z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Return ``a = g(z)`` (written into ``out`` if given)."""
        raise NotImplementedError

    def derivative(self, z: np.ndarray, a: np.ndarray) -> np.ndarray:
        """Return ``g'(z)``, given ``z`` and the already computed ``a = g(z)``."""
        raise NotImplementedError

    def backward(self, z: np.ndarray, a: np.ndarray, dC_da: np.ndarray,
                 out: np.ndarray | None = None) -> np.ndarray:
        """Return ``dC/dz = dC/da * da/dz``.

        Parameters
        ----------
        z, a : ndarray of shape (n_samples, n_nodes)
            The weighted sums and the outputs cached by the forward pass.
        dC_da : ndarray of shape (n_samples, n_nodes)
            The upstream gradient.
        out : ndarray, optional
            Where to write the result.
        """
        return np.multiply(dC_da, self.derivative(z, a), out=out)

    def derivative_formula(self) -> FormulaText:
        """``g'`` as ``explain`` prints it, in terms of ``«z»`` or ``«a»``.

        The built-in activations each give their own; this generic form is for
        an activation defined outside backprop.
        """
        tex = self.name.replace("_", "\\_")
        return FormulaText(f"{self.name}′(«z»)", f"\\mathrm{{{tex}}}'(«z»)")

    def to_onnx(self, g, z: str) -> str:
        """Add ``a = g(z)`` to an ONNX graph; return the output's name.

        ``g`` is :class:`backprop.onnx_export`'s graph builder (``g.op``,
        ``g.const``, ``g.dtype``). onnxruntime has float32 kernels for every
        operator; its float64 ones lack Elu, Softplus and Erf, which a float64
        graph composes from simpler operators.
        """
        raise ValueError(f"ONNX export does not know the activation {self.name!r}; it knows "
                         f"{', '.join(ACTIVATIONS)}")


class Identity(Activation):
    """``g(z) = z``, ``g'(z) = 1``: the linear output of a regressor."""

    name = "identity"

    def derivative_formula(self):
        return FormulaText("1", "1")

    def to_onnx(self, g, z):
        return g.op("Identity", z)

    def value(self, z, out=None):
        return z.copy() if out is None else _into(out, z)

    def derivative(self, z, a):
        return np.ones_like(z)

    def backward(self, z, a, dC_da, out=None):
        return dC_da.copy() if out is None else _into(out, dC_da)


class Sigmoid(Activation):
    """The logistic function ``g(z) = 1 / (1 + e^-z)``, ``g'(z) = a (1 - a)``.

    For very negative ``z``, ``e^-z`` overflows to infinity and ``1 / (1 + inf)``
    is exactly 0, the correctly rounded result; the overflow is expected, so
    its warning is silenced. Every other ``z`` is computed to full precision.
    """

    name = "sigmoid"

    def derivative_formula(self):
        return FormulaText("«a»(1 − «a»)", "«a»\\left(1 - «a»\\right)")

    def to_onnx(self, g, z):
        return g.op("Sigmoid", z)

    def value(self, z, out=None):
        with np.errstate(over="ignore"):
            out = np.exp(np.negative(z, out=out), out=out)
        out += 1.0
        return np.reciprocal(out, out=out)

    def derivative(self, z, a):
        return a * (1.0 - a)

    def backward(self, z, a, dC_da, out=None):
        out = np.subtract(1.0, a, out=out)   # 1 - a
        out *= a                              # g'(z) = a (1 - a)
        out *= dC_da
        return out


class Tanh(Activation):
    """``g(z) = tanh z``, ``g'(z) = 1 - a^2``."""

    name = "tanh"

    def derivative_formula(self):
        return FormulaText("1 − («a»)²", "1 - {«a»}^2", wrap=True)

    def to_onnx(self, g, z):
        return g.op("Tanh", z)

    def value(self, z, out=None):
        return np.tanh(z, out=out)

    def derivative(self, z, a):
        return 1.0 - a * a

    def backward(self, z, a, dC_da, out=None):
        out = np.multiply(a, a, out=out)
        np.subtract(1.0, out, out=out)        # g'(z) = 1 - a^2
        out *= dC_da
        return out


class ReLU(Activation):
    """``g(z) = max(z, 0)``; ``g'(z) = 1`` for ``z > 0`` and 0 otherwise (0 at 0, as PyTorch)."""

    name = "relu"

    def derivative_formula(self):
        return FormulaText("(1 if «z» > 0 else 0)",
                           "\\begin{cases}1 & «z» > 0\\\\ 0 & \\text{otherwise}\\end{cases}")

    def to_onnx(self, g, z):
        return g.op("Relu", z)

    def value(self, z, out=None):
        return np.maximum(z, 0.0, out=out)

    def derivative(self, z, a):
        return (z > 0).astype(z.dtype)

    def backward(self, z, a, dC_da, out=None):
        return np.multiply(dC_da, z > 0, out=out)


class LeakyReLU(Activation):
    """``g(z) = z`` for ``z > 0``, else ``slope * z``.

    Parameters
    ----------
    negative_slope : float, default 0.01
        The slope for ``z <= 0`` (PyTorch's default).
    """

    name = "leaky_relu"

    def derivative_formula(self):
        s = f"{self.negative_slope:g}"
        return FormulaText(f"(1 if «z» > 0 else {s})",
                           f"\\begin{{cases}}1 & «z» > 0\\\\ {s} & \\text{{otherwise}}\\end{{cases}}")

    def to_onnx(self, g, z):
        if g.dtype == np.float32:
            return g.op("LeakyRelu", z, alpha=float(self.negative_slope))
        # The operator's alpha is a float32 attribute; a float64 graph keeps the slope in float64.
        negative = g.op("Mul", z, g.const(self.negative_slope))
        return g.op("Where", g.op("Greater", z, g.const(0.0)), z, negative, stem="leaky_relu")

    def __init__(self, negative_slope: float = 0.01):
        self.negative_slope = float(negative_slope)

    def value(self, z, out=None):
        return _into(out, np.where(z > 0, z, self.negative_slope * z))

    def derivative(self, z, a):
        one = np.ones((), dtype=z.dtype)
        return np.where(z > 0, one, one * self.negative_slope)

    def config(self):
        return {"name": self.name, "negative_slope": self.negative_slope}


class ELU(Activation):
    """``g(z) = z`` for ``z > 0``, else ``alpha (e^z - 1)``; ``g'(z) = alpha e^z`` for ``z <= 0``.

    Parameters
    ----------
    alpha : float, default 1.0
        The saturation value for large negative ``z`` (PyTorch's default).
    """

    name = "elu"

    def derivative_formula(self):
        al = f"{self.alpha:g}"
        return FormulaText(f"(1 if «z» > 0 else {al}·e^«z»)",
                           f"\\begin{{cases}}1 & «z» > 0\\\\ {al}\\,e^{{«z»}} & \\text{{otherwise}}\\end{{cases}}")

    def to_onnx(self, g, z):
        if g.dtype == np.float32:
            return g.op("Elu", z, alpha=float(self.alpha))
        # alpha (e^min(z, 0) - 1) where z <= 0, else z
        negative = g.op("Mul", g.const(self.alpha), g.op("Sub", g.op("Exp", g.op("Min", z, g.const(0.0))),
                                                         g.const(1.0)))
        return g.op("Where", g.op("Greater", z, g.const(0.0)), z, negative, stem="elu")

    def __init__(self, alpha: float = 1.0):
        self.alpha = float(alpha)

    def value(self, z, out=None):
        # expm1 of min(z, 0): accurate near 0 and no overflow for large z.
        return _into(out, np.where(z > 0, z, self.alpha * np.expm1(np.minimum(z, 0.0))))

    def derivative(self, z, a):
        return np.where(z > 0, 1.0, self.alpha * np.exp(np.minimum(z, 0.0))).astype(z.dtype, copy=False)

    def config(self):
        return {"name": self.name, "alpha": self.alpha}


class Softplus(Activation):
    """``g(z) = log(1 + e^z)``, ``g'(z) = sigmoid(z)``.

    ``logaddexp(0, z)`` is exact for large positive and negative ``z``.
    """

    name = "softplus"

    def derivative_formula(self):
        return FormulaText("1/(1 + e^(−«z»))", "\\frac{1}{1 + e^{-«z»}}", wrap=True)

    def to_onnx(self, g, z):
        if g.dtype == np.float32:
            return g.op("Softplus", z)
        # log(1 + e^z) = max(z, 0) + log(1 + e^-|z|): no exponential overflows
        tail = g.op("Log", g.op("Add", g.const(1.0), g.op("Exp", g.op("Neg", g.op("Abs", z)))))
        return g.op("Add", g.op("Max", z, g.const(0.0)), tail, stem="softplus")

    def value(self, z, out=None):
        return np.logaddexp(0.0, z, out=out)

    def derivative(self, z, a):
        return Sigmoid().value(z)


_SQRT_HALF = math.sqrt(0.5)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_ONE_OVER_SQRT_PI = 1.0 / math.sqrt(math.pi)
_ONE_OVER_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def erf(x: np.ndarray) -> np.ndarray:
    """The error function, elementwise, in the dtype of ``x``.

    NumPy has no ``erf``, and the numerical core depends on NumPy alone, so it
    is computed here: for ``|x| < 2`` from the series
    ``erf x = 2/sqrt(pi) e^(-x^2) sum_n (2x^2)^n x / (1*3*...*(2n+1))``, whose
    terms are all positive (no cancellation); for ``|x| >= 2`` from the
    continued fraction
    ``erfc x = e^(-x^2)/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + ...))))``.
    Agrees with :func:`math.erf` to about 1e-15 in float64.
    """
    x = np.asarray(x)
    ax = np.abs(x)
    out = np.empty_like(ax)
    near = ax < 2.0

    xs = ax[near]
    term = xs.copy()
    total = xs.copy()
    two_x2 = 2.0 * xs * xs
    for n in range(1, 61):
        term *= two_x2 / (2 * n + 1)
        total += term
    out[near] = _TWO_OVER_SQRT_PI * np.exp(-xs * xs) * total

    xl = ax[~near]
    fraction = xl.copy()
    for n in range(50, 0, -1):
        fraction = xl + (0.5 * n) / fraction
    out[~near] = 1.0 - _ONE_OVER_SQRT_PI * np.exp(-xl * xl) / fraction
    return np.copysign(out, x)


class GELU(Activation):
    """``g(z) = z Phi(z)`` with ``Phi`` the standard normal CDF (the exact form, PyTorch's default).

    ``g'(z) = Phi(z) + z phi(z)``, with ``phi`` the standard normal density.
    """

    name = "gelu"

    def derivative_formula(self):
        return FormulaText("Φ(«z») + «z»·φ(«z»)", "\\Phi(«z») + «z»\\,\\varphi(«z»)", wrap=True)

    def to_onnx(self, g, z):
        # z Phi(z) = z (1 + erf(z / sqrt 2)) / 2
        e = _erf_onnx(g, g.op("Mul", z, g.const(math.sqrt(0.5))))
        return g.op("Mul", g.op("Mul", z, g.const(0.5)), g.op("Add", g.const(1.0), e), stem="gelu")

    def value(self, z, out=None):
        return np.multiply(z, 0.5 * (1.0 + erf(z * _SQRT_HALF)), out=out)

    def derivative(self, z, a):
        cdf = 0.5 * (1.0 + erf(z * _SQRT_HALF))
        pdf = _ONE_OVER_SQRT_2PI * np.exp(-0.5 * z * z)
        return cdf + z * pdf


class Softmax(Activation):
    """``a_j = e^(z_j) / sum_i e^(z_i)`` along each row (each sample).

    Every output depends on every input, so the local derivative is a Jacobian,
    ``da_j/dz_i = a_j (delta_ij - a_i)``. The backward pass applies it without
    forming it: ``dC/dz_i = a_i (dC/da_i - sum_j dC/da_j a_j)``.
    """

    name = "softmax"

    def derivative_formula(self):
        # One entry of the Jacobian; explain prints the Jacobian-vector product it enters.
        return FormulaText("«a»(δ − a)", "«a»\\left(\\delta - a\\right)")

    def to_onnx(self, g, z):
        return g.op("Softmax", z, axis=-1)

    def value(self, z, out=None):
        e = np.exp(np.subtract(z, z.max(axis=1, keepdims=True), out=out), out=out)
        e /= e.sum(axis=1, keepdims=True)
        return e

    def derivative(self, z, a):
        raise TypeError(
            "softmax has no elementwise derivative: its Jacobian couples the nodes; "
            "use backward(z, a, dC_da) for the Jacobian-vector product"
        )

    def backward(self, z, a, dC_da, out=None):
        return np.multiply(a, dC_da - (dC_da * a).sum(axis=1, keepdims=True), out=out)


_ERF_RANGE = 6.0  # erf(x) = 1 to within 2e-17 for x >= 6
_ERF_DEGREE = 40


def _erf_onnx(g, x: str) -> str:
    """``erf(x)`` in ONNX: the ``Erf`` operator, or (float64) a Chebyshev series by Clenshaw's recurrence.

    ``erf(x) = sign(x) P(|x|)`` for ``|x| < 6`` and ``sign(x)`` beyond, with
    ``P(t) = sum_k c_k T_k(u)``, ``u = t/3 - 1``. The coefficients interpolate
    :func:`math.erf` at the Chebyshev points of ``[0, 6]``; ``P`` is within
    2e-14 of ``erf`` there.
    """
    if g.dtype == np.float32:
        return g.op("Erf", x)
    half = _ERF_RANGE / 2
    coefficients = np.polynomial.chebyshev.chebinterpolate(
        np.vectorize(lambda u: math.erf(half * (u + 1.0))), _ERF_DEGREE)
    magnitude = g.op("Abs", x)
    t = g.op("Min", magnitude, g.const(_ERF_RANGE))  # keeps u in [-1, 1] for any x
    u = g.op("Sub", g.op("Div", t, g.const(half)), g.const(1.0))
    two_u = g.op("Mul", u, g.const(2.0))
    # Clenshaw: b_k = c_k + 2u b_{k+1} - b_{k+2}; P = c_0 + u b_1 - b_2.
    b1, b2 = g.const(coefficients[-1]), g.const(0.0)
    for c in coefficients[-2:0:-1]:
        b1, b2 = g.op("Add", g.op("Sub", g.op("Mul", two_u, b1), b2), g.const(c)), b1
    p = g.op("Add", g.op("Sub", g.op("Mul", u, b1), b2), g.const(coefficients[0]))
    # Beyond 6, erf is 1 in float64 (as math.erf rounds it), which keeps gelu(z) exactly 0 for z << 0.
    p = g.op("Where", g.op("Less", magnitude, g.const(_ERF_RANGE)), p, g.const(1.0))
    return g.op("Mul", g.op("Sign", x), p, stem="erf")


def _into(out, result):
    """Copy ``result`` into ``out`` when a buffer was given."""
    if out is None:
        return result
    out[...] = result
    return out


class Exp(Activation):
    """``g(z) = e^z``, ``g'(z) = a``: a Poisson regressor's log link; ``z`` capped so ``a`` stays finite."""

    name = "exp"

    def derivative_formula(self):
        return FormulaText("«a»", "«a»")

    def to_onnx(self, g, z):
        return g.op("Exp", z)

    def value(self, z, out=None):
        return np.exp(np.minimum(z, 0.999 * math.log(np.finfo(z.dtype).max), out=out), out=out)

    def derivative(self, z, a):
        return a.copy()

    def backward(self, z, a, dC_da, out=None):
        return np.multiply(dC_da, a, out=out)


ACTIVATIONS: dict[str, type[Activation]] = {
    cls.name: cls
    for cls in (Identity, Sigmoid, Tanh, ReLU, LeakyReLU, ELU, Softplus, GELU, Softmax, Exp)
}
_ALIASES = {"linear": "identity", "logistic": "sigmoid"}


def get_activation(spec: str | dict | Activation) -> Activation:
    """Return an activation from its name, a config dict or an instance.

    Parameters
    ----------
    spec : str, dict or Activation
        A name from ``ACTIVATIONS`` (``"sigmoid"``, ``"relu"``, ...), a dict as
        returned by :meth:`Activation.config`, or an :class:`Activation`.

    Raises
    ------
    ValueError
        If the name is unknown.
    TypeError
        If ``spec`` is of another type.
    """
    if isinstance(spec, Activation):
        return spec
    if isinstance(spec, dict):
        params = dict(spec)
        name = params.pop("name", None)
        return _lookup(name)(**params)
    if isinstance(spec, str):
        return _lookup(spec)()
    raise TypeError(f"activation must be a name, a config dict or an Activation; got {type(spec).__name__}")


def _lookup(name) -> type[Activation]:
    key = _ALIASES.get(str(name).lower(), str(name).lower())
    if key not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; expected one of {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[key]
