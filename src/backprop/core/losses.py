"""Loss functions: the per-sample loss C_i and its derivative dC_i/da.

The article's loss for one sample is ``C0 = sum_j (a_j^L - y_j)^2`` over the
output nodes, and its derivative is ``dC0/da_j^L = 2 (a_j^L - y_j)``. The loss
of a batch is the mean over its samples, so that its gradient is the article's
average of the per-sample gradients, ``dC/dw = 1/N sum_i dC_i/dw``.

Each loss has

``per_sample(a, y)``
    the vector of per-sample losses ``C_i``, shape ``(n_samples,)``;
``derivative(a, y)``
    the per-sample derivatives ``dC_i/da``, shape ``(n_samples, n_outputs)``;
``value(a, y)``
    the batch loss, ``1/N sum_i C_i``, as a Python float.

Apart from ``sse``, which is the article's, each loss is defined as PyTorch
defines the loss of the same name (``reduction="mean"``):

============================  =========================================  ==================
name                          per-sample ``C_i``                          PyTorch
============================  =========================================  ==================
``sse``                       ``sum_j (a_j - y_j)^2``                     (the article)
``mse``                       ``1/n sum_j (a_j - y_j)^2``                 ``MSELoss``
``mae``                       ``1/n sum_j |a_j - y_j|``                   ``L1Loss``
``huber``                     ``1/n sum_j huber_delta(a_j - y_j)``        ``HuberLoss``
``cross_entropy``             ``-sum_j y_j log a_j``                      ``CrossEntropyLoss``
``binary_cross_entropy``      ``-1/n sum_j y log a + (1-y) log(1-a)``     ``BCELoss``
``poisson``                   ``1/n sum_j a_j - y_j log a_j``             ``PoissonNLLLoss``
============================  =========================================  ==================

(``n`` is the number of output nodes.)

Fused output shortcuts
----------------------
A softmax output with cross-entropy, or a sigmoid output with binary
cross-entropy, has ``dC/dz = a * sum(y) - y`` and ``dC/dz = (a - y) / n``: the
large and small factors of the chain rule cancel. :data:`FUSED_OUTPUTS` names
these two shortcuts; they compute the loss from ``z`` (log-softmax,
log-sigmoid), which stays finite where ``a`` rounds to 0 or 1. The network uses
them only when asked (``fuse_output=True``) and the tests show them equal to
the unfused chain.
"""

from __future__ import annotations

import numpy as np

from .named import FormulaText, Named

__all__ = [
    "Loss",
    "SSE",
    "MSE",
    "MAE",
    "Huber",
    "CrossEntropy",
    "BinaryCrossEntropy",
    "Poisson",
    "FusedOutput",
    "SoftmaxCrossEntropy",
    "SigmoidBinaryCrossEntropy",
    "FUSED_OUTPUTS",
    "LOSSES",
    "get_loss",
]


class Loss(Named):
    """Base class: a loss ``C = 1/N sum_i C_i`` over a batch of N samples."""

    def per_sample(self, a: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Return the vector of per-sample losses ``C_i``."""
        raise NotImplementedError

    def derivative(self, a: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Return ``dC_i/da`` for each sample, shape ``(n_samples, n_outputs)``."""
        raise NotImplementedError

    def value(self, a: np.ndarray, y: np.ndarray) -> float:
        """Return the batch loss ``1/N sum_i C_i``."""
        return float(np.mean(self.per_sample(a, y)))

    def per_node(self, a: np.ndarray, y: np.ndarray) -> np.ndarray | None:
        """Each output node's part of ``C_i`` (their sum over nodes is ``C_i``), or None if it has no parts."""
        return None

    def part_formula(self, n: int) -> FormulaText | None:
        """``C_ij``, node ``j``'s part of the loss, in ``«a»`` and ``«y»``, for ``n`` output nodes."""
        return None

    def derivative_formula(self, n: int) -> FormulaText:
        """``dC_i/da_j``, as ``explain`` prints it, for ``n`` output nodes.

        The built-in losses each give their own; this generic form is for a
        loss defined outside backprop.
        """
        tex = self.name.replace("_", "\\_")
        return FormulaText(f"{self.name}′(«a», «y»)", f"\\mathrm{{{tex}}}'(«a», «y»)")


class SSE(Loss):
    """The article's loss: ``C0 = sum_j (a_j - y_j)^2``, ``dC0/da_j = 2 (a_j - y_j)``."""

    name = "sse"

    def per_node(self, a, y):
        return (a - y) ** 2

    def part_formula(self, n):
        return FormulaText("(«a» − «y»)²", "\\left(«a» - «y»\\right)^2")

    def derivative_formula(self, n):
        return FormulaText("2(«a» − «y»)", "2\\left(«a» - «y»\\right)")

    def per_sample(self, a, y):
        d = a - y
        return (d * d).sum(axis=1)

    def derivative(self, a, y):
        return 2.0 * (a - y)


class MSE(Loss):
    """``C_i = 1/n sum_j (a_j - y_j)^2``: the mean over outputs, as PyTorch's ``MSELoss``."""

    name = "mse"

    def per_node(self, a, y):
        return (a - y) ** 2 / a.shape[-1]

    def part_formula(self, n):
        return FormulaText(f"(«a» − «y»)²/{n}", f"\\frac{{\\left(«a» - «y»\\right)^2}}{{{n}}}")

    def derivative_formula(self, n):
        return FormulaText(f"2(«a» − «y»)/{n}", f"\\frac{{2\\left(«a» - «y»\\right)}}{{{n}}}", wrap=True)

    def per_sample(self, a, y):
        d = a - y
        return (d * d).mean(axis=1)

    def derivative(self, a, y):
        return (2.0 / a.shape[1]) * (a - y)


class MAE(Loss):
    """``C_i = 1/n sum_j |a_j - y_j|``, as PyTorch's ``L1Loss``; its derivative at 0 is 0."""

    name = "mae"

    def per_node(self, a, y):
        return np.abs(a - y) / a.shape[-1]

    def part_formula(self, n):
        return FormulaText(f"|«a» − «y»|/{n}", f"\\frac{{\\lvert «a» - «y» \\rvert}}{{{n}}}")

    def derivative_formula(self, n):
        return FormulaText(f"sign(«a» − «y»)/{n}",
                           f"\\frac{{\\operatorname{{sign}}\\left(«a» - «y»\\right)}}{{{n}}}", wrap=True)

    def per_sample(self, a, y):
        return np.abs(a - y).mean(axis=1)

    def derivative(self, a, y):
        return np.sign(a - y) * (1.0 / a.shape[1])


class Huber(Loss):
    """Quadratic near 0, linear beyond ``delta``, averaged over outputs (PyTorch's ``HuberLoss``).

    ``h(d) = d^2 / 2`` for ``|d| <= delta``, else ``delta (|d| - delta / 2)``.

    Parameters
    ----------
    delta : float, default 1.0
        Where the loss turns from quadratic to linear. Must be positive.
    """

    name = "huber"

    def per_node(self, a, y):
        d = np.abs(a - y)
        return np.where(d <= self.delta, 0.5 * d * d, self.delta * (d - 0.5 * self.delta)) / a.shape[-1]

    def part_formula(self, n):
        d = f"{self.delta:g}"
        return FormulaText(f"h(«a» − «y»)/{n}, h(d) = d²/2 if |d| ≤ {d} else {d}(|d| − {d}/2)",
                           f"\\frac{{h_{{{d}}}\\left(«a» - «y»\\right)}}{{{n}}}")

    def derivative_formula(self, n):
        d = f"{self.delta:g}"
        return FormulaText(f"clip(«a» − «y», −{d}, {d})/{n}",
                           f"\\frac{{\\operatorname{{clip}}\\left(«a» - «y», -{d}, {d}\\right)}}{{{n}}}", wrap=True)

    def __init__(self, delta: float = 1.0):
        if not delta > 0:
            raise ValueError(f"huber delta must be positive; got {delta!r}")
        self.delta = float(delta)

    def per_sample(self, a, y):
        d = np.abs(a - y)
        h = np.where(d <= self.delta, 0.5 * d * d, self.delta * (d - 0.5 * self.delta))
        return h.mean(axis=1)

    def derivative(self, a, y):
        d = a - y
        return np.clip(d, -self.delta, self.delta) * (1.0 / a.shape[1])

    def config(self):
        return {"name": self.name, "delta": self.delta}


def _safe_log(a: np.ndarray) -> np.ndarray:
    """``log a`` with ``a`` clamped to the smallest normal number, so 0 gives a large finite value."""
    return np.log(np.maximum(a, np.finfo(a.dtype).tiny))


class CrossEntropy(Loss):
    """``C_i = -sum_j y_j log a_j``, for a probability output (softmax) and target.

    ``dC_i/da_j = -y_j / a_j``. Targets are one-hot rows or probability rows.
    """

    name = "cross_entropy"

    def per_node(self, a, y):
        return -y * _safe_log(a)

    def part_formula(self, n):
        return FormulaText("−«y» log «a»", "-«y» \\log «a»")

    def derivative_formula(self, n):
        return FormulaText("−«y»/«a»", "-\\frac{«y»}{«a»}", wrap=True)

    def per_sample(self, a, y):
        return -(y * _safe_log(a)).sum(axis=1)

    def derivative(self, a, y):
        return -y / np.maximum(a, np.finfo(a.dtype).tiny)


class BinaryCrossEntropy(Loss):
    """``C_i = -1/n sum_j [y_j log a_j + (1 - y_j) log(1 - a_j)]``, as PyTorch's ``BCELoss``.

    ``dC_i/da_j = (a_j - y_j) / (a_j (1 - a_j)) / n``.
    """

    name = "binary_cross_entropy"

    def per_node(self, a, y):
        return -(y * _safe_log(a) + (1.0 - y) * _safe_log(1.0 - a)) / a.shape[-1]

    def part_formula(self, n):
        return FormulaText(f"−[«y» log «a» + (1 − «y») log(1 − «a»)]/{n}",
                           f"-\\frac{{«y» \\log «a» + (1 - «y») \\log(1 - «a»)}}{{{n}}}")

    def derivative_formula(self, n):
        return FormulaText(f"(«a» − «y»)/(«a»(1 − «a»)·{n})",
                           f"\\frac{{«a» - «y»}}{{{n}\\,«a»\\left(1 - «a»\\right)}}", wrap=True)

    def per_sample(self, a, y):
        return -(y * _safe_log(a) + (1.0 - y) * _safe_log(1.0 - a)).mean(axis=1)

    def derivative(self, a, y):
        tiny = np.finfo(a.dtype).tiny
        return (a - y) / np.maximum(a * (1.0 - a), tiny) * (1.0 / a.shape[1])


class Poisson(Loss):
    """``C_i = 1/n sum_j (a_j - y_j log a_j)``: the Poisson negative log-likelihood of counts ``y``.

    PyTorch's ``PoissonNLLLoss(log_input=False)`` (less its ``eps``); it differs
    from half the Poisson deviance, scikit-learn's ``poisson``, by a term that
    does not depend on ``a``. ``dC_i/da_j = (1 - y_j / a_j) / n``; the outputs
    must be positive (an ``exp`` output layer), the targets non-negative.
    """

    name = "poisson"

    def per_node(self, a, y):
        return (a - y * _safe_log(a)) / a.shape[-1]

    def part_formula(self, n):
        return FormulaText(f"(«a» − «y» log «a»)/{n}", f"\\frac{{«a» - «y» \\log «a»}}{{{n}}}")

    def derivative_formula(self, n):
        return FormulaText(f"(1 − «y»/«a»)/{n}", f"\\frac{{1 - «y»/«a»}}{{{n}}}", wrap=True)

    def per_sample(self, a, y):
        return (a - y * _safe_log(a)).mean(axis=1)

    def derivative(self, a, y):
        return (1.0 - y / np.maximum(a, np.finfo(a.dtype).tiny)) * (1.0 / a.shape[1])


class FusedOutput:
    """A named shortcut for one (output activation, loss) pair.

    ``per_sample(z, a, y)`` computes the loss from ``z`` and ``delta(z, a, y)``
    returns ``dC_i/dz`` directly, where the chain rule's two factors simplify.
    """

    name: str = ""
    activation: str = ""
    loss: str = ""

    def per_sample(self, z: np.ndarray, a: np.ndarray, y: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def delta(self, z: np.ndarray, a: np.ndarray, y: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def per_node(self, z: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Each output node's part of ``C_i``, from ``z``."""
        raise NotImplementedError

    def delta_formula(self, n: int) -> FormulaText:
        """``dC_i/dz_j`` as ``explain`` prints it (``«s»`` is ``sum_r y_r``)."""
        raise NotImplementedError


class SoftmaxCrossEntropy(FusedOutput):
    """Softmax then cross-entropy.

    ``C_i = -sum_j y_j (z_j - logsumexp(z))`` and
    ``dC_i/dz_j = a_j sum_k y_k - y_j`` (``a_j - y_j`` for one-hot targets).
    """

    name = "softmax_cross_entropy"
    activation = "softmax"
    loss = "cross_entropy"

    def per_sample(self, z, a, y):
        zmax = z.max(axis=1, keepdims=True)
        log_a = z - zmax - np.log(np.exp(z - zmax).sum(axis=1, keepdims=True))
        return -(y * log_a).sum(axis=1)

    def delta(self, z, a, y):
        return a * y.sum(axis=1, keepdims=True) - y

    def per_node(self, z, y):
        zmax = z.max(axis=-1, keepdims=True)
        return -y * (z - zmax - np.log(np.exp(z - zmax).sum(axis=-1, keepdims=True)))

    def delta_formula(self, n):
        return FormulaText("«a»·«s» − «y»", "«a» «s» - «y»", wrap=True)


class SigmoidBinaryCrossEntropy(FusedOutput):
    """Sigmoid then binary cross-entropy.

    ``C_i = 1/n sum_j [softplus(z_j) - y_j z_j]`` and ``dC_i/dz_j = (a_j - y_j) / n``.
    """

    name = "sigmoid_binary_cross_entropy"
    activation = "sigmoid"
    loss = "binary_cross_entropy"

    def per_sample(self, z, a, y):
        return (np.logaddexp(0.0, z) - y * z).mean(axis=1)

    def delta(self, z, a, y):
        return (a - y) * (1.0 / a.shape[1])

    def per_node(self, z, y):
        return (np.logaddexp(0.0, z) - y * z) / z.shape[-1]

    def delta_formula(self, n):
        return FormulaText(f"(«a» − «y»)/{n}", f"\\frac{{«a» - «y»}}{{{n}}}", wrap=True)


FUSED_OUTPUTS: dict[tuple[str, str], FusedOutput] = {
    (f.activation, f.loss): f for f in (SoftmaxCrossEntropy(), SigmoidBinaryCrossEntropy())
}

LOSSES: dict[str, type[Loss]] = {
    cls.name: cls for cls in (SSE, MSE, MAE, Huber, CrossEntropy, BinaryCrossEntropy, Poisson)
}
_ALIASES = {"l1": "mae", "l2": "mse", "bce": "binary_cross_entropy", "ce": "cross_entropy",
            "categorical_cross_entropy": "cross_entropy", "log_loss": "cross_entropy"}


def get_loss(spec: str | dict | Loss) -> Loss:
    """Return a loss from its name, a config dict or an instance.

    Parameters
    ----------
    spec : str, dict or Loss
        A name from ``LOSSES`` (``"sse"``, ``"mse"``, ``"cross_entropy"``, ...),
        a dict as returned by :meth:`Loss.config`, or a :class:`Loss` (which
        may be a user's own subclass).

    Raises
    ------
    ValueError
        If the name is unknown.
    """
    if isinstance(spec, Loss):
        return spec
    if isinstance(spec, dict):
        params = dict(spec)
        return _lookup(params.pop("name", None))(**params)
    if isinstance(spec, str):
        return _lookup(spec)()
    raise TypeError(f"loss must be a name, a config dict or a Loss; got {type(spec).__name__}")


def _lookup(name) -> type[Loss]:
    key = str(name).lower()
    key = _ALIASES.get(key, key)
    if key not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; expected one of {', '.join(LOSSES)}")
    return LOSSES[key]
