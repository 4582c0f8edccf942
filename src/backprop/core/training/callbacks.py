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

__all__ = ["Callback", "FunctionCallback", "LearningRate", "EarlyStopping", "Checkpoints", "as_callback"]


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


class LearningRate(Callback):
    """The rate of each epoch: the schedule's, times the plateau factor, at least ``min_lr``.

    Reduce-on-plateau multiplies the factor by ``factor`` when the monitored
    loss has not improved by ``min_delta`` for more than ``patience`` epochs.
    """

    def __init__(self, schedule, plateau=None, monitor: str = "loss", min_delta: float = 0.0):
        self.schedule, self.monitor, self.min_delta = schedule, monitor, min_delta
        self.plateau = plateau_options(plateau)
        self.factor, self.plateau_loss, self.since = 1.0, math.inf, 0

    def on_epoch_begin(self, epoch):
        opt = self.loop.optimizer
        opt.lr = max(self.schedule(opt.base_lr, epoch - 1) * self.factor, self.plateau["min_lr"])

    def on_epoch_end(self, epoch, record):
        if not self.plateau["enabled"]:
            return
        current = record[self.monitor]
        if current < self.plateau_loss - self.min_delta:
            self.plateau_loss, self.since = current, 0
        else:
            self.since += 1
            if self.since > self.plateau["patience"]:
                self.factor, self.since = self.factor * self.plateau["factor"], 0

    def state(self) -> dict:
        return {"plateau_factor": self.factor, "plateau_loss": self.plateau_loss, "plateau_since": self.since}

    def load_state(self, best: dict) -> None:
        self.factor = best.get("plateau_factor", 1.0)
        self.plateau_loss = best.get("plateau_loss", math.inf)
        self.since = best.get("plateau_since", 0)


def plateau_options(option) -> dict:
    """``reduce_lr_on_plateau`` as the loop uses it: True, False/None or a dict of options."""
    if not option:
        return {"enabled": False, "min_lr": 0.0}
    settings = {"factor": 0.1, "patience": 5, "min_lr": 0.0}
    if isinstance(option, dict):
        unknown = set(option) - set(settings)
        if unknown:
            raise ValueError(f"unknown reduce_lr_on_plateau option(s) {sorted(unknown)}; "
                             f"expected {sorted(settings)}")
        settings.update(option)
    if not 0 < settings["factor"] < 1:
        raise ValueError(f"reduce_lr_on_plateau factor must be in (0, 1); got {settings['factor']!r}")
    check_non_negative(settings["patience"], "reduce_lr_on_plateau patience")
    return {"enabled": True, **settings}


class EarlyStopping(Callback):
    """The one rule for the best epoch and for stopping early.

    An epoch is the best so far when its monitored loss is below every earlier
    one; it counts as an improvement when it beats the best by more than
    ``min_delta``. With ``active``, training stops after ``patience`` epochs in
    a row without improvement, and (with ``restore_best_weights``) ends with
    the best epoch's weights.
    """

    def __init__(self, monitor: str = "val_loss", patience=10, min_delta: float = 0.0,
                 restore_best_weights: bool = True, active: bool = True):
        self.monitor, self.min_delta = monitor, min_delta
        self.patience = check_non_negative(patience, "patience")
        self.restore, self.active = restore_best_weights, active
        self.best, self.since, self.weights = math.inf, 0, None

    def on_epoch_end(self, epoch, record):
        current, history = record[self.monitor], self.loop.history
        improved = current < self.best - self.min_delta
        if current < self.best:
            self.best = current
            history.best_epoch = epoch
            if self.active and self.restore:
                self.weights = self.loop.net.get_weights()
        self.since = 0 if improved else self.since + 1
        if self.active and self.since > 0 and self.since >= self.patience:
            history.stopped_early = True
            history.stop_reason = (f"{self.monitor} did not improve by more than {self.min_delta:g} "
                                   f"for {self.patience} epochs after epoch {history.best_epoch}")
            return True
        return None

    def on_train_end(self, history):
        if history.stopped_early and self.weights is not None:
            self.loop.net.set_weights(self.weights)

    def state(self) -> dict:
        return {"loss": self.best, "since": self.since, "weights": self.weights}

    def load_state(self, best: dict) -> None:
        self.best = best.get("loss", math.inf)
        self.since = best.get("since", 0)
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
