"""Gradient checking: the backward pass against central finite differences.

For every parameter ``theta`` (every ``w_jk^l`` and ``b_j^l``) the central
difference

    dC/dtheta ~ (C(theta + eps) - C(theta - eps)) / (2 eps)

approximates the derivative of the batch loss ``C = 1/N sum_i C_i`` with an
error of order ``eps^2``. :func:`gradcheck` compares it with the analytic
gradient that :meth:`Network.gradients` computes by backpropagation.

Precision
---------
The finite differences are always taken on a float64 copy of the network
(the same weights, cast up) with the same batch, also cast up. In float32 a
central difference is accurate to about 1e-3 at best (the loss itself is only
good to about 1e-7, and dividing by ``2 eps`` magnifies that), too coarse to
tell a slightly wrong derivative from rounding; in float64 it is good to about
1e-9, so the comparison measures the float32 backward pass itself. The network
that is checked is never modified: its parameters are not perturbed, and a
network keeps no forward or backward state between calls.

Dropout is inactive in the check (every mask is all ones): the loss is the
deterministic one of prediction, which finite differences can measure. A
mask's own derivative (the mask) is checked in the tests of
:class:`~backprop.core.layers.Dropout`.

Tolerance
---------
An entry's relative error is

    |analytic - numeric| / max(|analytic|, |numeric|, floor)

and it passes when that is at most ``rtol``. The ``floor`` keeps entries that
are (nearly) zero from dividing by zero: below it an entry is judged by its
absolute error, ``rtol * floor``. By default ``floor`` is 1e-3 of the largest
numeric gradient entry of the whole network, raised where needed above the
rounding noise of the finite difference itself (about
``1e-16 |C| / eps``), so that a well-conditioned entry is never failed for
noise. Defaults:

=======  =========  ==========  ==========================================
dtype    ``eps``    ``rtol``    why
=======  =========  ==========  ==========================================
float64  1e-6       1e-6        FD error ~ eps^2 and 1e-16/eps: ~1e-10
float32  1e-6       1e-3        the analytic gradient carries float32
                                rounding (~1e-7 per operation, more where
                                sums cancel)
=======  =========  ==========  ==========================================

A wrong derivative gives relative errors of order 1, far above both.

Kinks (ReLU at 0, MAE where ``a = y``) have no derivative; a finite difference
that straddles one disagrees with the one-sided value the backward pass uses,
and the check can fail there for a correct implementation. Random inputs make
this unlikely; a smaller ``eps`` makes it rarer still.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from .core import Layer, Network
from .core.validation import check_positive_int, check_rng

__all__ = ["gradcheck", "GradcheckResult", "ParameterCheck", "numeric_gradient", "float64_copy",
           "layer_name", "DEFAULT_TOLERANCES"]

# dtype name -> (eps, rtol); see the module docstring.
DEFAULT_TOLERANCES: dict[str, tuple[float, float]] = {
    "float64": (1e-6, 1e-6),
    "float32": (1e-6, 1e-3),
}
_FLOOR_FRACTION = 1e-3  # of the largest gradient entry: below it, errors are judged absolutely
_NOISE_FACTOR = 30.0    # float64 rounding of the loss, magnified by 1/eps, with margin


def layer_name(index: int, n_layers: int) -> str:
    """The article's name of layer ``index`` (1-based, as ``net.layers[index - 1]``).

    The output layer is ``"L"``, the one before ``"L-1"``, and so on; index 0 is
    the input layer, ``"L-n"`` for a network of ``n`` weight layers.
    """
    return "L" if index == n_layers else f"L-{n_layers - index}"


@dataclass(frozen=True)
class ParameterCheck:
    """The check of one parameter array (``W`` or ``b``) of one layer.

    Attributes
    ----------
    layer : int
        1-based layer number: ``net.layers[layer - 1]``.
    name : str
        The article's name of the layer (``"L"``, ``"L-1"``, ...).
    parameter : {"W", "b"}
    size : int
        The number of entries checked.
    total : int
        The number of entries in the array (more than ``size`` when only
        ``max_entries`` of them were checked).
    max_abs_error : float
        ``max |analytic - numeric|``.
    max_rel_error : float
        The largest relative error (see the module docstring).
    worst : tuple of int
        The index of the entry with the largest relative error.
    passed : bool
        ``max_rel_error <= rtol``.
    """

    layer: int
    name: str
    parameter: str
    size: int
    max_abs_error: float
    max_rel_error: float
    worst: tuple
    passed: bool
    total: int = 0

    def __post_init__(self):
        if not self.total:
            object.__setattr__(self, "total", self.size)


@dataclass(frozen=True)
class GradcheckResult:
    """What :func:`gradcheck` found: one row per layer and parameter array, and the settings.

    Attributes
    ----------
    rows : list of ParameterCheck
        Layer 1's ``W`` (and ``b``), then layer 2's, ... up to the output layer.
    eps : float
        The finite-difference step.
    rtol : float
        The relative tolerance.
    floor : float
        The gradient magnitude below which errors are judged absolutely.
    dtype : str
        The network's dtype.
    loss : float
        The batch loss at the checked parameters.
    """

    rows: list[ParameterCheck] = field(default_factory=list)
    eps: float = 0.0
    rtol: float = 0.0
    floor: float = 0.0
    dtype: str = "float64"
    loss: float = 0.0

    @property
    def passed(self) -> bool:
        """True when every row passed."""
        return all(row.passed for row in self.rows)

    @property
    def max_rel_error(self) -> float:
        return max((row.max_rel_error for row in self.rows), default=0.0)

    @property
    def max_abs_error(self) -> float:
        return max((row.max_abs_error for row in self.rows), default=0.0)

    def to_dict(self) -> dict:
        """Plain data, ready for JSON."""
        out = asdict(self)
        out["rows"] = [dict(r, worst=list(r["worst"])) for r in out["rows"]]
        out["passed"] = self.passed
        return out

    def __bool__(self) -> bool:
        return self.passed


def float64_copy(net: Network) -> Network:
    """A new float64 network with ``net``'s weights, activations, loss and output shortcut.

    Built from fresh layers rather than copied, so that nothing of ``net`` (its
    arrays, or the float32 work buffers its layers keep) is shared or carried
    over; perturbing the copy leaves ``net`` as it was.
    """
    layers = []
    for layer in net.layers:
        new = Layer(layer.n_in, layer.n_out, layer.activation, bias=layer.bias, init="zeros", dtype="float64")
        new.W[...] = layer.W
        if layer.b is not None:
            new.b[...] = layer.b
        layers.append(new)
    return Network(layers, net.loss_fn, fuse_output=net.fuse_output)


def _batch_loss(net: Network, X: np.ndarray, Y: np.ndarray) -> float:
    return float(np.mean(net.per_sample_loss(net.forward_train(X)[1], Y)))


def numeric_gradient(net64: Network, X: np.ndarray, Y: np.ndarray, layer: int, parameter: str,
                     eps: float, index=None) -> np.ndarray | float:
    """Central differences of the batch loss with respect to one parameter array.

    Parameters
    ----------
    net64 : Network
        A float64 network (see :func:`float64_copy`); its parameters are
        perturbed one entry at a time and restored.
    X, Y : ndarray
        The checked batch, float64.
    layer : int
        0-based index into ``net64.layers``.
    parameter : {"W", "b"}
    eps : float
        The step.
    index : tuple of int, optional
        One entry only; the result is then a float.

    Returns
    -------
    ndarray or float
        ``(C(theta + eps) - C(theta - eps)) / (2 eps)`` for every entry (or the one).
    """
    theta = getattr(net64.layers[layer], parameter)
    if index is not None:
        return float(_central_differences(net64, X, Y, theta, eps, [index])[0])
    return _central_differences(net64, X, Y, theta, eps, list(np.ndindex(theta.shape))).reshape(theta.shape)


def _central_differences(net64: Network, X: np.ndarray, Y: np.ndarray, theta: np.ndarray, eps: float,
                         indices) -> np.ndarray:
    """``(C(theta + eps) - C(theta - eps)) / (2 eps)`` at each index, in order; ``theta`` is restored."""
    out = np.empty(len(indices))
    for n, idx in enumerate(indices):
        idx = tuple(int(k) for k in idx)
        old = theta[idx]
        theta[idx] = old + eps
        c_plus = _batch_loss(net64, X, Y)
        theta[idx] = old - eps
        c_minus = _batch_loss(net64, X, Y)
        theta[idx] = old
        out[n] = (c_plus - c_minus) / (2.0 * eps)
    return out


def _pick(shape: tuple, limit: int | None, rng: np.random.Generator) -> np.ndarray:
    """Indices of an array of ``shape``, one per row in C order: all, or ``limit`` of them at random."""
    size = int(np.prod(shape))
    flat = np.arange(size) if limit is None or size <= limit else np.sort(rng.choice(size, size=limit, replace=False))
    return np.stack(np.unravel_index(flat, shape), axis=1)


def gradcheck(net: Network, X, Y, *, eps: float | None = None, rtol: float | None = None,
              floor: float | None = None, max_entries: int | None = None, seed=0) -> GradcheckResult:
    """Compare every parameter's backpropagated gradient with central finite differences.

    Parameters
    ----------
    net : Network
        The network to check; its parameters are not changed.
    X : array_like of shape (n_samples, n_inputs)
    Y : array_like of shape (n_samples, n_outputs)
    eps : float, optional
        The finite-difference step (applied in float64); 1e-6 by default.
    rtol : float, optional
        The relative tolerance; 1e-6 for a float64 network, 1e-3 for float32.
    floor : float, optional
        Gradient magnitude below which an entry is judged by its absolute
        error ``rtol * floor``; by default 1e-3 of the largest numeric gradient
        entry (raised above the finite difference's own rounding noise).
    max_entries : int, optional
        Check at most this many entries of each parameter array, picked at
        random with ``seed``; every entry by default. Each entry costs two
        forward passes, so a large network (784-300-10 has 235,200 weights in
        its first layer) takes minutes to hours without it.
    seed : int or numpy.random.Generator, default 0
        Which entries ``max_entries`` picks.

    Returns
    -------
    GradcheckResult
        ``result.passed`` is True when every entry is within tolerance.

    Examples
    --------
    >>> import numpy as np, backprop as bp
    >>> net = bp.Network.from_sizes([3, 4, 2], activation="tanh", seed=0)
    >>> rng = np.random.default_rng(0)
    >>> bp.gradcheck(net, rng.normal(size=(5, 3)), rng.normal(size=(5, 2))).passed
    True
    """
    if not isinstance(net, Network):
        raise TypeError(f"net must be a backprop Network; got {type(net).__name__}")
    X = net.check_X(X)
    Y = net.check_Y(Y, X.shape[0])
    default_eps, default_rtol = DEFAULT_TOLERANCES[net.dtype.name]
    eps = default_eps if eps is None else float(eps)
    rtol = default_rtol if rtol is None else float(rtol)
    if not (np.isfinite(eps) and eps > 0):
        raise ValueError(f"eps must be a positive number; got {eps!r}")
    if not (np.isfinite(rtol) and rtol > 0):
        raise ValueError(f"rtol must be a positive number; got {rtol!r}")
    if floor is not None and not (np.isfinite(floor) and floor >= 0):
        raise ValueError(f"floor must be a non-negative number; got {floor!r}")
    if max_entries is not None:
        max_entries = check_positive_int(max_entries, "max_entries")
    rng = check_rng(seed)

    analytic = [{k: (None if v is None else v.astype(np.float64)) for k, v in g.items()}
                for g in net.gradients(X, Y)]

    net64 = float64_copy(net)
    X64, Y64 = X.astype(np.float64), Y.astype(np.float64)
    loss = _batch_loss(net64, X64, Y64)
    picked = [{name: _pick(theta.shape, max_entries, rng) for name, theta in layer.parameters().items()
               if theta is not None} for layer in net64.layers]
    numeric = [{name: _central_differences(net64, X64, Y64, getattr(net64.layers[i], name), eps, at)
                for name, at in layer.items()} for i, layer in enumerate(picked)]

    if floor is None:
        largest = max(float(np.abs(g).max()) for layer in numeric for g in layer.values() if g is not None)
        with np.errstate(over="ignore"):  # an infinite floor is refused just below, with its cause
            noise = _NOISE_FACTOR * np.finfo(np.float64).eps * max(abs(loss), 1.0) / eps
            floor = max(_FLOOR_FRACTION * largest, noise / rtol, np.finfo(np.float64).tiny)
        if not np.isfinite(floor):
            # A floor of infinity would excuse every error: eps or rtol is too small to judge by.
            raise ValueError(f"eps={eps!r} and rtol={rtol!r} leave no usable tolerance (the finite "
                             "differences' rounding noise overflows); use eps >= 1e-10 and rtol >= 1e-12")

    n = len(net.layers)
    rows = []
    for i in range(n):
        for name in ("W", "b"):
            at = picked[i].get(name)
            if at is None:
                continue
            a, g = analytic[i][name][tuple(at.T)], numeric[i][name]   # the checked entries, in C order
            err = np.abs(a - g)
            rel = err / np.maximum(np.maximum(np.abs(a), np.abs(g)), floor)
            k = int(np.argmax(rel))
            rows.append(ParameterCheck(
                layer=i + 1, name=layer_name(i + 1, n), parameter=name, size=int(g.size),
                max_abs_error=float(err.max()), max_rel_error=float(rel.max()),
                worst=tuple(int(t) for t in at[k]), passed=bool(rel.max() <= rtol),
                total=int(analytic[i][name].size),
            ))
    return GradcheckResult(rows=rows, eps=eps, rtol=rtol, floor=float(floor), dtype=net.dtype.name,
                           loss=loss)
