"""Update rules: how the gradient changes the weights.

The article's rule is plain gradient descent,
``new weight = old weight - learning rate * gradient``, which is :class:`SGD`.
The others are the usual refinements, each written as PyTorch's ``torch.optim``
writes it, so a few steps of each agree with PyTorch to rounding.

An optimizer updates parameters in place from gradients, both given as the
network gives them: one ``{"W": ..., "b": ...}`` dict per layer. Its state
(moment estimates, step count) is plain data, see :meth:`Optimizer.state_dict`.

Common options
--------------
weight_decay : float
    L2 penalty ``wd/2 * ||W||^2`` added to the loss, so ``wd * W`` is added to
    the gradient of each weight matrix before the update. Biases are not
    decayed. :class:`AdamW` instead shrinks the weights directly (decoupled).
    This is the one place the penalty lives: :meth:`Optimizer.penalty` is its
    value, which the training loop adds to the reported loss.
decay_per_sample : bool
    Divide the penalty by the batch's total sample weight, as scikit-learn's
    ``alpha`` is: ``alpha/(2 n) * ||W||^2`` for a batch of ``n`` samples.
clip_norm : float or None
    If the global norm of all gradients together exceeds it, they are scaled
    down to this norm before the update.
max_norm : float or None
    A constraint after the update: each unit's incoming weights (a row
    ``W[j, :]``) whose norm exceeds ``c`` are scaled back to norm ``c``
    (Srivastava et al. 2014, used with dropout). Biases are not constrained.

Learning-rate schedules map ``(base_lr, epoch)`` to the epoch's rate:
:class:`ConstantLR`, :class:`StepLR`, :class:`ExponentialLR`, :class:`CosineLR`.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

__all__ = [
    "Optimizer", "SGD", "Momentum", "Nesterov", "Adam", "AdamW", "RMSprop",
    "OPTIMIZERS", "get_optimizer", "clip_by_global_norm", "global_norm", "constrain_rows",
    "Schedule", "ConstantLR", "StepLR", "ExponentialLR", "CosineLR", "SCHEDULES", "get_schedule",
]

Params = Sequence[dict]


def global_norm(grads: Params) -> float:
    """``sqrt(sum of squares)`` over every gradient array."""
    total = 0.0
    for g in grads:
        for arr in g.values():
            if arr is not None:
                total += float(np.vdot(arr, arr))
    return math.sqrt(total)


def clip_by_global_norm(grads: Params, max_norm: float) -> list[dict]:
    """Scale all gradients by ``max_norm / norm`` when their global norm exceeds ``max_norm``.

    Returns new dicts; the inputs are left as they are.
    """
    norm = global_norm(grads)
    if norm <= max_norm or norm == 0.0:
        return list(grads)
    factor = max_norm / (norm + 1e-6)  # PyTorch's clip_grad_norm_ adds the same 1e-6
    return [{k: (None if v is None else v * factor) for k, v in g.items()} for g in grads]


def constrain_rows(W: np.ndarray, c: float) -> None:
    """Scale, in place, each row of ``W`` whose Euclidean norm exceeds ``c`` back to norm ``c``."""
    norms = np.sqrt(np.einsum("ij,ij->i", W, W))
    over = norms > c
    if over.any():
        W[over] *= (c / norms[over])[:, None].astype(W.dtype)


def _check_rate(value, name: str, *, allow_zero: bool = False) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number; got {value!r}") from None
    ok = value >= 0 if allow_zero else value > 0
    if not (ok and math.isfinite(value)):
        raise ValueError(f"{name} must be {'non-negative' if allow_zero else 'positive'} and finite; got {value!r}")
    return value


def _check_fraction(value, name: str) -> float:
    value = _check_rate(value, name, allow_zero=True)
    if value >= 1:
        raise ValueError(f"{name} must be in [0, 1); got {value!r}")
    return value


class Optimizer:
    """Base class: validates the common options and walks the parameters.

    Subclasses implement :meth:`update`, the update of one array from its
    gradient and its slot of state.

    Parameters
    ----------
    lr : float
        The learning rate; positive.
    weight_decay : float, default 0.0
    clip_norm : float or None, default None
    """

    name = ""
    default_lr = 0.01
    slots: tuple[str, ...] = ()

    def __init__(self, lr: float | None = None, *, weight_decay: float = 0.0, clip_norm: float | None = None,
                 decay_per_sample: bool = False, max_norm: float | None = None):
        self.lr = _check_rate(self.default_lr if lr is None else lr, "lr")
        self.base_lr = self.lr
        self.weight_decay = _check_rate(weight_decay, "weight_decay", allow_zero=True)
        self.decay_per_sample = bool(decay_per_sample)
        self.clip_norm = None if clip_norm is None else _check_rate(clip_norm, "clip_norm")
        self.max_norm = None if max_norm is None else _check_rate(max_norm, "max_norm")
        self.t = 0
        self.state: dict[str, dict[str, np.ndarray]] = {}

    def step(self, params: Params, grads: Params, batch_weight: float = 1.0) -> None:
        """Update every parameter array in place from its gradient.

        Parameters
        ----------
        params : list of dict
            ``network.parameters()``.
        grads : list of dict
            The matching gradients, e.g. ``network.gradients(X, Y)``.
        batch_weight : float, default 1
            The batch's total sample weight (its size without weights); used
            only with ``decay_per_sample``.
        """
        if self.clip_norm is not None:
            grads = clip_by_global_norm(grads, self.clip_norm)
        self.t += 1
        wd = self._decay(batch_weight)
        for i, (p, g) in enumerate(zip(params, grads)):
            for name, w in p.items():
                if w is None:
                    continue
                grad = g[name]
                if name == "W" and wd and self.coupled_decay:
                    grad = grad + wd * w                  # d/dW of wd/2 ||W||^2
                key = f"{i}.{name}"
                if key not in self.state:
                    self.state[key] = {s: np.zeros_like(w) for s in self.slots}
                self.update(w, grad, self.state[key], decay=name == "W")
                if name == "W" and self.max_norm is not None:
                    constrain_rows(w, self.max_norm)

    coupled_decay = True

    def _decay(self, batch_weight: float) -> float:
        return self.weight_decay / batch_weight if self.decay_per_sample else self.weight_decay

    def penalty(self, params: Params, batch_weight: float = 1.0) -> float:
        """The L2 term of the loss, ``wd/2 * sum ||W||^2`` (0 for decoupled decay)."""
        wd = self._decay(batch_weight)
        if not wd or not self.coupled_decay:
            return 0.0
        return 0.5 * wd * sum(float(np.vdot(p["W"], p["W"])) for p in params)

    def update(self, w: np.ndarray, grad: np.ndarray, state: dict, decay: bool) -> None:
        """Update one array ``w`` in place."""
        raise NotImplementedError

    @staticmethod
    def scratch(state: dict, like: np.ndarray) -> np.ndarray:
        """A work array the shape of ``like``, kept in ``state`` between steps (not part of the saved state)."""
        work = state.get("_scratch")
        if work is None:
            work = state["_scratch"] = np.empty_like(like)
        return work

    def state_dict(self) -> dict:
        """The state as plain data: ``{"t": steps, "lr": rate, "arrays": {"0.W.m": ...}}``."""
        arrays = {f"{key}.{slot}": arr.copy() for key, slots in self.state.items() for slot, arr in slots.items()
                  if not slot.startswith("_")}
        return {"name": self.name, "t": self.t, "lr": self.lr, "arrays": arrays}

    def load_state_dict(self, state: dict) -> None:
        """Restore what :meth:`state_dict` returned."""
        self.t = int(state["t"])
        self.lr = float(state.get("lr", self.lr))
        self.state = {}
        for name, arr in state["arrays"].items():
            key, slot = name.rsplit(".", 1)
            self.state.setdefault(key, {})[slot] = np.array(arr)

    def config(self) -> dict:
        """The hyper-parameters as plain data."""
        out = {"name": self.name, "lr": self.base_lr, "weight_decay": self.weight_decay}
        if self.decay_per_sample:
            out["decay_per_sample"] = True
        if self.max_norm is not None:
            out["max_norm"] = self.max_norm
        if self.clip_norm is not None:
            out["clip_norm"] = self.clip_norm
        return out

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.config().items() if k != "name")
        return f"{type(self).__name__}({params})"


class SGD(Optimizer):
    """Plain gradient descent, the article's rule: ``w <- w - lr * grad``.

    Parameters
    ----------
    lr : float, optional
    fold : bool, default True
        Let training take the step inside the product that forms the
        gradient, ``W <- W - lr dC/dZ^T A_prev`` in one BLAS call, where
        nothing else needs ``dC/dW`` (no weight decay, clipping or ``max_norm``,
        no dropout, one process; see :mod:`backprop.core.training.update`).
        It is the same rule, rounded once instead of twice, and faster.
        ``False`` keeps the two steps exactly as written here.
    **kwargs
        The options every optimizer takes (see :class:`Optimizer`).
    """

    name = "sgd"

    def __init__(self, lr=None, *, fold: bool = True, **kwargs):
        super().__init__(lr, **kwargs)
        if not isinstance(fold, bool):
            raise ValueError(f"fold must be True or False; got {fold!r}")
        self.fold = fold

    def update(self, w, grad, state, decay):
        w -= np.multiply(grad, self.lr, out=self.scratch(state, w))

    def config(self):
        return super().config() if self.fold else {**super().config(), "fold": False}


class Momentum(Optimizer):
    """Gradient descent with momentum (PyTorch's ``SGD(momentum=mu)``).

    ``v <- mu v + grad``, ``w <- w - lr v``.
    """

    name = "momentum"
    slots = ("v",)

    def __init__(self, lr=None, momentum: float = 0.9, **kwargs):
        super().__init__(lr, **kwargs)
        self.momentum = _check_fraction(momentum, "momentum")

    def update(self, w, grad, state, decay):
        v = state["v"]
        v *= self.momentum
        v += grad
        w -= self.step_along(grad, v, out=self.scratch(state, w))

    def step_along(self, grad, v, out):
        """The step, ``lr v``, written into ``out``."""
        return np.multiply(v, self.lr, out=out)

    def config(self):
        return {**super().config(), "momentum": self.momentum}


class Nesterov(Momentum):
    """Nesterov momentum (PyTorch's ``SGD(momentum=mu, nesterov=True)``).

    ``v <- mu v + grad``, ``w <- w - lr (grad + mu v)``.
    """

    name = "nesterov"

    def step_along(self, grad, v, out):
        """The step, ``lr (grad + mu v)``, written into ``out``."""
        np.multiply(v, self.momentum, out=out)
        out += grad
        out *= self.lr
        return out


class Adam(Optimizer):
    """Adam (Kingma and Ba, 2015), as PyTorch's ``Adam``.

    ``m <- b1 m + (1 - b1) g``, ``v <- b2 v + (1 - b2) g^2``,
    ``w <- w - lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)``.
    """

    name = "adam"
    default_lr = 0.001
    slots = ("m", "v")

    def __init__(self, lr=None, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8, **kwargs):
        super().__init__(lr, **kwargs)
        self.beta1 = _check_fraction(beta1, "beta1")
        self.beta2 = _check_fraction(beta2, "beta2")
        self.eps = _check_rate(eps, "eps")

    def update(self, w, grad, state, decay):
        # The formulas above, one pass each, in place: no temporary the size of w.
        m, v, work = state["m"], state["v"], self.scratch(state, w)
        m *= self.beta1
        m += np.multiply(grad, 1.0 - self.beta1, out=work)
        v *= self.beta2
        np.multiply(grad, grad, out=work)
        work *= 1.0 - self.beta2
        v += work
        step_size = self.lr / (1.0 - self.beta1 ** self.t)
        denom = np.sqrt(v, out=work)
        denom /= math.sqrt(1.0 - self.beta2 ** self.t)
        denom += self.eps
        step = np.divide(m, denom, out=work)
        step *= step_size
        w -= step

    def config(self):
        return {**super().config(), "beta1": self.beta1, "beta2": self.beta2, "eps": self.eps}


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov and Hutter), as PyTorch's ``AdamW``.

    Before the Adam step, ``W <- W (1 - lr wd)``; the decay does not enter the
    moment estimates. ``weight_decay`` defaults to 0.01 as in PyTorch.
    """

    name = "adamw"
    coupled_decay = False

    def __init__(self, lr=None, weight_decay: float = 0.01, **kwargs):
        super().__init__(lr, weight_decay=weight_decay, **kwargs)

    def update(self, w, grad, state, decay):
        if decay and self.weight_decay:
            w *= 1.0 - self.lr * self.weight_decay
        super().update(w, grad, state, decay)


class RMSprop(Optimizer):
    """RMSprop, as PyTorch's ``RMSprop`` (no momentum, not centred).

    ``v <- rho v + (1 - rho) g^2``, ``w <- w - lr g / (sqrt(v) + eps)``.
    """

    name = "rmsprop"
    slots = ("v",)

    def __init__(self, lr=None, rho: float = 0.99, eps: float = 1e-8, **kwargs):
        super().__init__(lr, **kwargs)
        self.rho = _check_fraction(rho, "rho")
        self.eps = _check_rate(eps, "eps")

    def update(self, w, grad, state, decay):
        v, work = state["v"], self.scratch(state, w)
        v *= self.rho
        np.multiply(grad, grad, out=work)
        work *= 1.0 - self.rho
        v += work
        denom = np.sqrt(v, out=work)
        denom += self.eps
        step = np.divide(grad, denom, out=work)
        step *= self.lr
        w -= step

    def config(self):
        return {**super().config(), "rho": self.rho, "eps": self.eps}


OPTIMIZERS: dict[str, type[Optimizer]] = {
    cls.name: cls for cls in (SGD, Momentum, Nesterov, Adam, AdamW, RMSprop)
}


def get_optimizer(spec: str | dict | Optimizer, **kwargs) -> Optimizer:
    """Return an optimizer from its name (with keyword options), a config dict or an instance.

    Raises
    ------
    ValueError
        If the name is unknown or an option is out of range.
    """
    if isinstance(spec, Optimizer):
        return spec
    if isinstance(spec, dict):
        kwargs = {**spec, **kwargs}
        spec = kwargs.pop("name", None)
    key = str(spec).lower()
    if key not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {spec!r}; expected one of {', '.join(OPTIMIZERS)}")
    try:
        return OPTIMIZERS[key](**kwargs)
    except TypeError as exc:
        raise ValueError(f"bad option for optimizer {key!r}: {exc}") from None


class Schedule:
    """A learning-rate schedule: ``schedule(base_lr, epoch)`` is the rate for that epoch (from 0)."""

    name = ""

    def __call__(self, base_lr: float, epoch: int) -> float:
        raise NotImplementedError

    def config(self) -> dict:
        return {"name": self.name, **{k: v for k, v in vars(self).items()}}


class ConstantLR(Schedule):
    """The same rate every epoch."""

    name = "constant"

    def __call__(self, base_lr, epoch):
        return base_lr


class StepLR(Schedule):
    """``base_lr * gamma^floor(epoch / step_size)`` (PyTorch's ``StepLR``)."""

    name = "step"

    def __init__(self, step_size: int = 10, gamma: float = 0.1):
        if isinstance(step_size, bool) or not isinstance(step_size, int) or step_size < 1:
            raise ValueError(f"step_size must be a positive integer; got {step_size!r}")
        self.step_size = step_size
        self.gamma = _check_rate(gamma, "gamma")

    def __call__(self, base_lr, epoch):
        return base_lr * self.gamma ** (epoch // self.step_size)


class ExponentialLR(Schedule):
    """``base_lr * gamma^epoch`` (PyTorch's ``ExponentialLR``)."""

    name = "exponential"

    def __init__(self, gamma: float = 0.95):
        self.gamma = _check_rate(gamma, "gamma")

    def __call__(self, base_lr, epoch):
        return base_lr * self.gamma ** epoch


class CosineLR(Schedule):
    """``eta_min + (base_lr - eta_min) (1 + cos(pi epoch / t_max)) / 2`` (PyTorch's ``CosineAnnealingLR``)."""

    name = "cosine"

    def __init__(self, t_max: int = 50, eta_min: float = 0.0):
        if isinstance(t_max, bool) or not isinstance(t_max, int) or t_max < 1:
            raise ValueError(f"t_max must be a positive integer; got {t_max!r}")
        self.t_max = t_max
        self.eta_min = _check_rate(eta_min, "eta_min", allow_zero=True)

    def __call__(self, base_lr, epoch):
        epoch = min(epoch, self.t_max)
        return self.eta_min + (base_lr - self.eta_min) * (1 + math.cos(math.pi * epoch / self.t_max)) / 2


SCHEDULES: dict[str, type[Schedule]] = {
    cls.name: cls for cls in (ConstantLR, StepLR, ExponentialLR, CosineLR)
}


def get_schedule(spec: str | dict | Schedule | None, *, epochs: int | None = None, **kwargs) -> Schedule:
    """Return a schedule from its name (with options), a config dict, an instance or None (constant).

    ``epochs``, the length of the run, is where a cosine schedule named without
    its own ``t_max`` ends: it anneals over the whole run, as a user who asks
    for "cosine" expects (without it, ``t_max`` is 50).
    """
    if spec is None:
        return ConstantLR()
    if isinstance(spec, Schedule):
        return spec
    if isinstance(spec, dict):
        kwargs = {**spec, **kwargs}
        spec = kwargs.pop("name", None)
    key = str(spec).lower()
    if key not in SCHEDULES:
        raise ValueError(f"unknown schedule {spec!r}; expected one of {', '.join(SCHEDULES)}")
    if key == "cosine" and epochs is not None:
        kwargs.setdefault("t_max", epochs)
    try:
        return SCHEDULES[key](**kwargs)
    except TypeError as exc:
        raise ValueError(f"bad option for schedule {key!r}: {exc}") from None
