"""Per-epoch policies, each one rule, as callbacks the loop calls in turn.

:class:`Callback` is the public hook interface. The policies the loop is
composed of are callbacks too: :class:`LearningRate` (the schedule and
reduce-on-plateau), :class:`EarlyStopping` (and which epoch was best), and
:class:`Checkpoints`. Progress bars (the CLI's) and scikit-learn's
convergence warning (the estimators') are callbacks of their packages.

A policy that keeps state for a resumed run reads and writes its entries of
:attr:`TrainingState.best`.
"""

from __future__ import annotations

import math
import numbers
from typing import Callable

__all__ = ["Callback", "FunctionCallback", "Improvement", "LearningRate", "EarlyStopping", "Checkpoints",
           "as_callback"]


class Callback:
    """Hooks into the training loop; override any of them. Return True from ``on_epoch_end`` to stop.

    The loop sets ``callback.loop`` before ``on_train_begin``: the running
    :class:`~backprop.core.training.loop.TrainingLoop` (its network, optimizer
    and history).
    """

    loop = None

    def on_train_begin(self, info: dict) -> None:
        """``info`` holds ``epochs``, ``n_batches`` (per epoch), ``n_samples``, ``batch_size``, ``initial_epoch``."""

    def on_epoch_begin(self, epoch: int) -> None:
        """``epoch`` counts from 1."""

    def on_batch_end(self, epoch: int, batch: int, loss: float) -> None:
        """``loss`` is the running mean of the epoch's batch losses so far."""

    def on_epoch_end(self, epoch: int, record: dict) -> bool | None:
        """``record`` is the epoch's entry of the history."""

    def on_train_end(self, history) -> None:
        """Called once, also after early stopping."""


class FunctionCallback(Callback):
    """A plain function ``fn(epoch, record)`` called at each epoch's end; True stops training."""

    def __init__(self, fn: Callable[[int, dict], bool | None]):
        self.fn = fn

    def on_epoch_end(self, epoch, record):
        return self.fn(epoch, record)


def as_callback(cb, where: str = "a callback") -> Callback:
    """A :class:`Callback` as it is, a function wrapped; anything else refused."""
    if isinstance(cb, Callback):
        return cb
    if callable(cb):
        return FunctionCallback(cb)
    raise TypeError(f"{where} must be a backprop Callback or a function fn(epoch, record); "
                    f"got {type(cb).__name__}")


def check_non_negative(value, name: str, integer: bool = True):
    kind = numbers.Integral if integer else numbers.Real
    ok = isinstance(value, kind) and not isinstance(value, bool) and value >= 0
    if not ok and value == math.inf and integer:
        return math.inf  # scikit-learn's n_iter_no_change=np.inf: never stop early
    if not ok:
        raise ValueError(f"{name} must be a non-negative {'integer' if integer else 'number'}; got {value!r}")
    return value


# Monitored values for which higher is better (any other name is a loss: lower is better).
HIGHER_IS_BETTER = ("accuracy", "r2", "score")


def check_mode(mode, monitor: str) -> str:
    """``"min"`` or ``"max"``; None chooses by the monitored name (accuracy, r2, score: max)."""
    if mode is None:
        return "max" if monitor.removeprefix("val_") in HIGHER_IS_BETTER else "min"
    if mode not in ("min", "max"):
        raise ValueError(f"mode must be 'min', 'max' or None; got {mode!r}")
    return mode


class Improvement:
    """The one rule for "did the monitored value improve?", shared by early stopping and the plateau.

    A value improves when it beats the best so far by more than ``min_delta``
    (below it for ``mode="min"``, above it for ``"max"``; NaN never does).
    ``since`` counts the epochs in a row without improvement; a plateau is
    ``patience`` of them.

    Parameters
    ----------
    mode : {"min", "max"}
    min_delta : float, default 0
    """

    def __init__(self, mode: str = "min", min_delta: float = 0.0):
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max'; got {mode!r}")
        self.sign = 1.0 if mode == "min" else -1.0  # compare sign * value, where lower is better
        self.min_delta = check_non_negative(min_delta, "min_delta", integer=False)
        self.best, self.since = self.sign * math.inf, 0

    def update(self, value: float) -> bool:
        """Count ``value`` in; return whether it is the best so far (even by less than ``min_delta``)."""
        signed, best = self.sign * value, self.sign * self.best
        self.since = 0 if signed < best - self.min_delta else self.since + 1
        if signed < best:
            self.best = value
            return True
        return False

    def stalled(self, patience) -> bool:
        """Whether the last ``patience`` epochs (at least one) brought no improvement."""
        return self.since > 0 and self.since >= patience

    def describe(self, monitor: str, patience) -> str:
        """Why a rule acted: ``monitor`` did not improve by more than ``min_delta`` for ``patience`` epochs."""
        return f"{monitor} did not improve by more than {self.min_delta:g} for {patience} epochs"


class LearningRate(Callback):
    """The rate of each epoch: the schedule's, times the plateau factor, at least ``min_lr``.

    Reduce-on-plateau multiplies the factor by ``factor`` when the monitored
    value has not improved (:class:`Improvement`) for ``patience`` epochs in a
    row; with ``stop_lr``, a plateau reached at a rate of at most ``stop_lr``
    stops training instead (scikit-learn's ``learning_rate="adaptive"``).
    """

    def __init__(self, schedule, plateau=None, monitor: str = "loss", min_delta: float = 0.0,
                 mode: str | None = None):
        self.schedule, self.monitor = schedule, monitor
        self.plateau = plateau_options(plateau)
        self.tracker = Improvement(check_mode(mode, monitor), min_delta)
        self.factor = 1.0

    def on_epoch_begin(self, epoch):
        opt = self.loop.optimizer
        opt.lr = max(self.schedule(opt.base_lr, epoch - 1) * self.factor, self.plateau["min_lr"])

    def on_epoch_end(self, epoch, record):
        if not self.plateau["enabled"]:
            return None
        self.tracker.update(monitored(record, self.monitor))
        if not self.tracker.stalled(self.plateau["patience"]):
            return None
        history, lr = self.loop.history, self.loop.optimizer.lr
        if lr <= self.plateau["stop_lr"]:
            history.stopped_early = True
            reason = self.tracker.describe(self.monitor, self.plateau["patience"])
            history.stop_reason = f"{reason} at learning rate {lr:g}"
            return True
        self.factor, self.tracker.since = self.factor * self.plateau["factor"], 0
        return None

    def state(self) -> dict:
        return {"plateau_factor": self.factor, "plateau_loss": self.tracker.best, "plateau_since": self.tracker.since}

    def load_state(self, best: dict) -> None:
        self.factor = best.get("plateau_factor", 1.0)
        self.tracker.best = best.get("plateau_loss", self.tracker.sign * math.inf)
        self.tracker.since = best.get("plateau_since", 0)


def plateau_options(option) -> dict:
    """``reduce_lr_on_plateau`` as the loop uses it: True, False/None or a dict of options."""
    if not option:
        return {"enabled": False, "min_lr": 0.0}
    settings = {"factor": 0.1, "patience": 5, "min_lr": 0.0, "stop_lr": -math.inf}
    if isinstance(option, dict):
        unknown = set(option) - set(settings)
        if unknown:
            raise ValueError(f"unknown reduce_lr_on_plateau option(s) {sorted(unknown)}; "
                             f"expected {sorted(settings)}")
        settings.update(option)
    if isinstance(settings["factor"], bool) or not isinstance(settings["factor"], numbers.Real) \
            or not 0 < settings["factor"] < 1:
        raise ValueError(f"reduce_lr_on_plateau factor must be in (0, 1); got {settings['factor']!r}")
    check_non_negative(settings["patience"], "reduce_lr_on_plateau patience")
    check_non_negative(settings["min_lr"], "reduce_lr_on_plateau min_lr", integer=False)
    if isinstance(settings["stop_lr"], bool) or not isinstance(settings["stop_lr"], numbers.Real):
        raise ValueError(f"reduce_lr_on_plateau stop_lr must be a number; got {settings['stop_lr']!r}")
    return {"enabled": True, **settings}


def monitored(record: dict, monitor: str) -> float:
    """The value a policy watches, or an error that names what the record holds."""
    try:
        return record[monitor]
    except KeyError:
        raise ValueError(f"monitor {monitor!r} is not recorded; the epoch's record holds "
                         f"{', '.join(k for k in record if k not in ('epoch', 'lr', 'seconds'))}") from None


class EarlyStopping(Callback):
    """The one rule for the best epoch and for stopping early.

    An epoch is the best so far when its monitored value beats every earlier
    one; it counts as an improvement when it beats the best by more than
    ``min_delta`` (:class:`Improvement`). With ``active``, training stops after
    ``patience`` epochs in a row without improvement, and (with
    ``restore_best_weights``) ends with the best epoch's weights, whether it
    stopped early or ran out of epochs.

    Parameters
    ----------
    monitor : str, default "val_loss"
        An entry of the epoch's record: a loss, or a metric such as ``val_accuracy``.
    patience : int, default 10
        ``math.inf`` never stops (the best weights are still kept).
    min_delta : float, default 0
    restore_best_weights : bool, default True
    active : bool, default True
        False only records the best epoch.
    mode : {"min", "max"}, optional
        Whether lower or higher is better; by the name if omitted
        (``accuracy``, ``r2`` and ``score`` are higher-is-better).
    """

    def __init__(self, monitor: str = "val_loss", patience=10, min_delta: float = 0.0,
                 restore_best_weights: bool = True, active: bool = True, mode: str | None = None):
        self.monitor = monitor
        self.patience = check_non_negative(patience, "patience")
        self.restore, self.active = restore_best_weights, active
        self.tracker = Improvement(check_mode(mode, monitor), min_delta)
        self.weights = None

    def on_epoch_end(self, epoch, record):
        history = self.loop.history
        if self.tracker.update(monitored(record, self.monitor)):
            history.best_epoch = epoch
            if self.active and self.restore:
                self.weights = self.loop.net.get_weights()
        if self.active and self.tracker.stalled(self.patience):
            history.stopped_early = True
            reason = self.tracker.describe(self.monitor, self.patience)
            history.stop_reason = f"{reason} after epoch {history.best_epoch}"
            return True
        return None

    def on_train_end(self, history):
        if self.weights is not None:
            self.loop.net.set_weights(self.weights)

    def state(self) -> dict:
        return {"loss": self.tracker.best, "since": self.tracker.since, "weights": self.weights}

    def load_state(self, best: dict) -> None:
        self.tracker.best = best.get("loss", self.tracker.sign * math.inf)
        self.tracker.since = best.get("since", 0)
        self.weights = best.get("weights")


class Checkpoints(Callback):
    """Save the whole training state every ``every`` epochs, after the last, and when interrupted.

    ``save(state)`` gets a :class:`TrainingState`; in a data-parallel run
    rank 0 alone saves, and the state does not depend on the number of
    processes.
    """

    def __init__(self, save: Callable, every: int = 1):
        self.save, self.every = save, every

    def after_epoch(self, epoch: int, last: bool) -> None:
        """Save at the end of every ``every``-th epoch and of the last one.

        (An interrupted run is saved by the loop, with the state it raises.)
        """
        if last or epoch % self.every == 0:
            self.save(self.loop.state(epoch, 0))
