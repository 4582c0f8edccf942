"""Training: gradient descent over mini-batches and epochs.

Each step is the article's: forward propagation, the loss, backpropagation of
its gradient averaged over the batch, and ``new weight = old weight - lr *
gradient`` (or a refinement of it, see :mod:`backprop.core.optimizers`).

:func:`fit` adds what a user of a training loop expects: seeded shuffling, a
validation set, a per-epoch history as plain data, early stopping with the best
weights restored, reduce-on-plateau, epoch-end callbacks, and a guard that stops
at the first non-finite loss or gradient before it reaches the weights. It is
silent; progress bars are callbacks that the command line passes in.
"""

from __future__ import annotations

import math
import numbers
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Iterable

import numpy as np

from .metrics import accuracy, is_one_hot, mean_absolute_error, r2_score
from .optimizers import Optimizer, get_optimizer, get_schedule
from .validation import check_positive_int, check_rng

__all__ = ["fit", "History", "Callback", "NonFiniteError", "TrainingInterrupted", "TrainingState", "TASKS"]

TASKS = ("classification", "regression")


class NonFiniteError(ValueError):
    """Training met a NaN or infinity; the weights are those before the bad step.

    Attributes
    ----------
    epoch, batch : int
        Where it happened (both from 1).
    layer : int or None
        The layer (from 1) whose gradient was not finite, if it was a gradient.
    history : History
        The epochs completed before it.
    """

    def __init__(self, message, *, epoch, batch, layer, history):
        super().__init__(message)
        self.epoch, self.batch, self.layer, self.history = epoch, batch, layer, history


@dataclass
class TrainingState:
    """Everything :func:`fit` needs to go on exactly where it stopped, as plain data.

    A run resumed from it ends with the same weights, bit for bit, as a run
    that was never interrupted (same data, options and seed).

    Attributes
    ----------
    epoch : int
        Epochs finished.
    batch : int
        Batches finished of the next epoch (0 at an epoch boundary).
    weights : list of dict
        The network's parameters.
    optimizer : dict
        :meth:`Optimizer.state_dict`.
    rng : dict
        The shuffling generator's ``bit_generator.state``.
    history : dict
        :meth:`History.to_dict` of the finished epochs.
    order, outputs : ndarray or None
        The unfinished epoch's sample order and its batches' outputs so far.
    loss_sum : float
        Its summed batch losses so far.
    best : dict
        Early-stopping and plateau bookkeeping; ``best_weights`` may be None.
    """

    epoch: int
    batch: int
    weights: list
    optimizer: dict
    rng: dict
    history: dict
    order: np.ndarray | None = None
    outputs: np.ndarray | None = None
    loss_sum: float = 0.0
    best: dict = field(default_factory=dict)


class TrainingInterrupted(Exception):
    """Training was asked to stop (``should_stop``); ``state`` resumes it, ``history`` has the finished epochs."""

    def __init__(self, message, *, state: TrainingState, history: "History"):
        super().__init__(message)
        self.state, self.history = state, history


@dataclass
class History:
    """What training did, epoch by epoch, as plain data.

    Each entry of ``epochs`` is a dict with ``epoch`` (from 1), ``loss``, ``lr``,
    ``seconds``; ``val_loss`` with validation data; ``accuracy`` and
    ``val_accuracy`` for classifiers; ``r2``, ``mae``, ``val_r2``, ``val_mae``
    for regressors. The training metrics come from each batch's outputs during
    the epoch (before that batch's update), the validation ones from the
    weights at the end of the epoch.
    """

    task: str
    epochs: list[dict] = field(default_factory=list)
    best_epoch: int | None = None
    stopped_early: bool = False
    stop_reason: str | None = None

    def __getitem__(self, key: str) -> list:
        """The values of one metric over the epochs, e.g. ``history["val_loss"]``."""
        return [record.get(key) for record in self.epochs]

    def __len__(self) -> int:
        return len(self.epochs)

    @property
    def final(self) -> dict:
        """The metrics of the weights training ended with (the best epoch's if they were restored)."""
        if not self.epochs:
            return {}
        if self.best_epoch is not None and self.stopped_early:
            return dict(self.epochs[self.best_epoch - 1])
        return dict(self.epochs[-1])

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "History":
        return cls(task=data["task"], epochs=[dict(e) for e in data.get("epochs", [])],
                   best_epoch=data.get("best_epoch"), stopped_early=bool(data.get("stopped_early")),
                   stop_reason=data.get("stop_reason"))


class Callback:
    """Hooks into :func:`fit`; override any of them. Return True from ``on_epoch_end`` to stop."""

    def on_train_begin(self, info: dict) -> None:
        """``info`` holds ``epochs``, ``n_batches`` (per epoch), ``n_samples``, ``batch_size``."""

    def on_epoch_begin(self, epoch: int) -> None:
        """``epoch`` counts from 1."""

    def on_batch_end(self, epoch: int, batch: int, loss: float) -> None:
        """``loss`` is the running mean of the epoch's batch losses so far."""

    def on_epoch_end(self, epoch: int, record: dict) -> bool | None:
        """``record`` is the epoch's entry of the history."""

    def on_train_end(self, history: History) -> None:
        """Called once, also after early stopping."""


class _FunctionCallback(Callback):
    def __init__(self, fn: Callable[[int, dict], bool | None]):
        self.fn = fn

    def on_epoch_end(self, epoch, record):
        return self.fn(epoch, record)


def infer_task(net, Y: np.ndarray) -> str:
    """Classification for a cross-entropy loss or one-hot targets, else regression."""
    if net.loss_fn.name in ("cross_entropy", "binary_cross_entropy") or is_one_hot(Y):
        return "classification"
    return "regression"


def as_targets(net, Y) -> np.ndarray:
    """Class indices (1-D integers) become one-hot rows when the network has several outputs."""
    arr = np.asarray(Y)
    n_out = net.sizes[-1]
    if arr.ndim == 1 and n_out > 1 and arr.size and np.issubdtype(arr.dtype, np.integer):
        if arr.min() < 0 or arr.max() >= n_out:
            raise ValueError(
                f"class indices must be in [0, {n_out - 1}] for a network with {n_out} outputs; "
                f"got values from {arr.min()} to {arr.max()}"
            )
        return np.eye(n_out, dtype=net.dtype)[arr]
    return arr


def _check_fraction(value, name) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value < 1:
        raise ValueError(f"{name} must be a number in [0, 1); got {value!r}")
    return float(value)


def _check_non_negative_int(value, name) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer; got {value!r}")
    return int(value)


def evaluate(net, X: np.ndarray, Y: np.ndarray, task: str, prefix: str = "",
             batch_size: int = 4096) -> dict:
    """Loss and task metrics of checked data, in chunks to bound memory."""
    outputs = np.empty((X.shape[0], net.sizes[-1]), dtype=net.dtype)
    losses = np.empty(X.shape[0], dtype=np.float64)
    for start in range(0, X.shape[0], batch_size):
        part = slice(start, start + batch_size)
        outputs[part] = net.forward_unchecked(X[part])
        losses[part] = net.per_sample_loss(Y[part])
    return {f"{prefix}loss": float(losses.mean()), **_task_metrics(outputs, Y, task, prefix)}


def _task_metrics(outputs, Y, task, prefix) -> dict:
    if task == "classification":
        return {f"{prefix}accuracy": accuracy(outputs, Y)}
    return {f"{prefix}r2": r2_score(outputs, Y), f"{prefix}mae": mean_absolute_error(outputs, Y)}


# Overflow is not reported as a warning here: the guard stops training at the first
# non-finite loss or gradient, with a message that says where.
@np.errstate(over="ignore", invalid="ignore", divide="ignore")
def fit(net, X, Y, *, epochs: int = 10, batch_size: int = 32, optimizer="sgd", lr: float | None = None,
        seed=None, validation_data=None, validation_split: float = 0.0, shuffle: bool = True,
        schedule=None, weight_decay: float = 0.0, clip_norm: float | None = None,
        optimizer_options: dict | None = None, early_stopping: bool = False, patience: int = 10,
        min_delta: float = 0.0, restore_best_weights: bool = True, reduce_lr_on_plateau=None,
        callbacks: Iterable = (), task: str | None = None, checkpoint: Callable | None = None,
        checkpoint_every: int = 1, resume: TrainingState | None = None,
        should_stop: Callable[[], bool] | None = None) -> History:
    """Train ``net`` by mini-batch gradient descent; return the history.

    Parameters
    ----------
    net : Network
    X : array_like of shape (n_samples, n_inputs)
    Y : array_like of shape (n_samples, n_outputs)
        Targets; for a classifier with several outputs, 1-D integer class
        indices are accepted and become one-hot rows.
    epochs : int, default 10
    batch_size : int, default 32
        The last batch of an epoch may be smaller.
    optimizer : str, dict or Optimizer, default "sgd"
        ``"sgd"`` is the article's ``w <- w - lr * grad``.
    lr : float, optional
        The learning rate; the optimizer's default if omitted.
    seed : int, numpy.random.Generator or None
        Drives shuffling and the validation split; the same seed gives the same run.
    validation_data : tuple (X_val, Y_val), optional
    validation_split : float in [0, 1), default 0
        If no ``validation_data``, hold out this fraction of the samples,
        chosen at random with ``seed``.
    shuffle : bool, default True
        Reshuffle the training samples every epoch.
    schedule : str, dict or Schedule, optional
        Learning-rate schedule per epoch (``"step"``, ``"exponential"``, ``"cosine"``).
    weight_decay, clip_norm : float, optional
        L2 penalty on weights and gradient clipping by global norm.
    optimizer_options : dict, optional
        Further options for the optimizer, e.g. ``{"momentum": 0.9}``.
    early_stopping : bool, default False
        Stop when the monitored loss (``val_loss`` if there is validation data,
        else ``loss``) has not improved by ``min_delta`` for ``patience`` epochs.
    patience : int, default 10
    min_delta : float, default 0
    restore_best_weights : bool, default True
        With early stopping, end with the weights of the best epoch.
    reduce_lr_on_plateau : bool or dict, optional
        Multiply the rate by ``factor`` (default 0.1) when the monitored loss
        has not improved for ``patience`` epochs (default 5), down to ``min_lr``
        (default 0). A dict sets those options.
    callbacks : iterable of Callback or callable
        A callable is called as ``fn(epoch, record)`` at each epoch's end;
        returning True stops training.
    task : {"classification", "regression"}, optional
        Which metrics to record; inferred from the loss and targets if omitted.
    checkpoint : callable, optional
        Called as ``checkpoint(state)`` with a :class:`TrainingState` every
        ``checkpoint_every`` epochs, after the last epoch, and when
        ``should_stop`` stops the run. Saving it is the caller's business
        (:mod:`backprop.checkpoint` writes it to a folder).
    checkpoint_every : int, default 1
    resume : TrainingState, optional
        Go on from this state instead of starting afresh. Give the same data
        and options as the run that made it.
    should_stop : callable, optional
        Asked after every batch; when it returns True, training stops after
        that batch, checkpoints, and raises :class:`TrainingInterrupted`.

    Returns
    -------
    History

    Raises
    ------
    NonFiniteError
        At the first NaN or infinity in a batch's loss or gradients; the
        weights are left as they were before that batch.
    TrainingInterrupted
        When ``should_stop`` asked for it.
    """
    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    validation_split = _check_fraction(validation_split, "validation_split")
    patience = _check_non_negative_int(patience, "patience")
    checkpoint_every = check_positive_int(checkpoint_every, "checkpoint_every")
    rng = check_rng(seed)

    X = net.check_X(X)
    Y = net.check_Y(as_targets(net, Y), X.shape[0])
    if validation_data is not None:
        try:
            X_val, Y_val = validation_data
        except (TypeError, ValueError):
            raise ValueError("validation_data must be a pair (X_val, Y_val)") from None
        X_val = net.check_X(X_val)
        Y_val = net.check_Y(as_targets(net, Y_val), X_val.shape[0])
    elif validation_split > 0:
        n_val = int(round(X.shape[0] * validation_split))
        if n_val < 1 or n_val >= X.shape[0]:
            raise ValueError(
                f"validation_split={validation_split} of {X.shape[0]} samples leaves "
                f"{n_val} for validation and {X.shape[0] - n_val} for training; both need at least one"
            )
        order = rng.permutation(X.shape[0])
        X_val, Y_val = X[order[:n_val]], Y[order[:n_val]]
        X, Y = X[order[n_val:]], Y[order[n_val:]]
    else:
        X_val = Y_val = None

    if task is None:
        task = infer_task(net, Y)
    elif task not in TASKS:
        raise ValueError(f"task must be one of {', '.join(TASKS)}; got {task!r}")

    if isinstance(optimizer, Optimizer):
        opt = optimizer
    else:
        opt = get_optimizer(optimizer, lr=lr, weight_decay=weight_decay, clip_norm=clip_norm,
                            **(optimizer_options or {}))
    lr_schedule = get_schedule(schedule)
    plateau = _plateau_options(reduce_lr_on_plateau)
    hooks = [cb if isinstance(cb, Callback) else _FunctionCallback(cb) for cb in callbacks]

    n = X.shape[0]
    n_batches = math.ceil(n / batch_size)
    history = History(task=task)
    monitor = "val_loss" if X_val is not None else "loss"
    best = {"loss": math.inf, "since": 0, "weights": None,
            "plateau_factor": 1.0, "plateau_loss": math.inf, "plateau_since": 0}
    params = net.parameters()
    outputs = np.empty_like(Y)  # each batch's outputs, for the epoch's training metrics
    # Each batch is gathered into these, so shuffling never copies the whole data set.
    X_batch_buffer = np.empty((min(batch_size, n), X.shape[1]), dtype=X.dtype)
    Y_batch_buffer = np.empty((min(batch_size, n), Y.shape[1]), dtype=Y.dtype)
    first_epoch, first_batch, order, loss_sum = 1, 0, None, 0.0
    if resume is not None:
        net.set_weights(resume.weights)
        opt.load_state_dict(resume.optimizer)
        rng.bit_generator.state = resume.rng
        history = History.from_dict(resume.history)
        history.stop_reason = None
        best.update(resume.best)
        first_epoch, first_batch = resume.epoch + 1, resume.batch
        if first_batch:
            order, loss_sum = np.asarray(resume.order), resume.loss_sum
            outputs[...] = resume.outputs

    def state(epoch_done: int, batch_done: int) -> TrainingState:
        mid_epoch = batch_done > 0
        return TrainingState(
            epoch=epoch_done, batch=batch_done, weights=net.get_weights(), optimizer=opt.state_dict(),
            rng=rng.bit_generator.state, history=history.to_dict(),
            order=order.copy() if mid_epoch else None, outputs=outputs.copy() if mid_epoch else None,
            loss_sum=loss_sum if mid_epoch else 0.0,
            best={**best, "weights": best["weights"]})

    for hook in hooks:
        hook.on_train_begin({"epochs": epochs, "n_batches": n_batches, "n_samples": n,
                             "batch_size": batch_size, "initial_epoch": first_epoch - 1})
    for epoch in range(first_epoch, epochs + 1):
        started = time.perf_counter()
        opt.lr = max(lr_schedule(opt.base_lr, epoch - 1) * best["plateau_factor"], plateau["min_lr"])
        for hook in hooks:
            hook.on_epoch_begin(epoch)
        if epoch > first_epoch or not first_batch:
            order = rng.permutation(n) if shuffle else np.arange(n)
            loss_sum = 0.0
        for batch in range(first_batch if epoch == first_epoch else 0, n_batches):
            part = slice(batch * batch_size, (batch + 1) * batch_size)
            rows = order[part]
            X_batch = np.take(X, rows, axis=0, out=X_batch_buffer[:len(rows)])
            Y_batch = np.take(Y, rows, axis=0, out=Y_batch_buffer[:len(rows)])
            outputs[part] = net.forward_unchecked(X_batch)
            batch_loss = float(np.mean(net.per_sample_loss(Y_batch)))
            net.backward_unchecked(Y_batch)
            grads = [layer.gradients() for layer in net.layers]
            _guard(batch_loss, grads, net.layers, epoch, batch + 1, opt.lr, history)
            opt.step(params, grads)
            loss_sum += batch_loss * len(rows)
            for hook in hooks:
                hook.on_batch_end(epoch, batch + 1, loss_sum / min(n, (batch + 1) * batch_size))
            if should_stop is not None and should_stop() and batch + 1 < n_batches:
                saved = state(epoch - 1, batch + 1)
                if checkpoint is not None:
                    checkpoint(saved)
                history.stop_reason = f"interrupted in epoch {epoch} after batch {batch + 1}"
                raise TrainingInterrupted(history.stop_reason, state=saved, history=history)

        record = {"epoch": epoch, "loss": loss_sum / n,
                  **_task_metrics(outputs, Y[order], task, "")}
        if X_val is not None:
            record.update(evaluate(net, X_val, Y_val, task, prefix="val_"))
        record["lr"] = opt.lr
        record["seconds"] = time.perf_counter() - started
        history.epochs.append(record)

        current = record[monitor]
        if not math.isfinite(current):
            history.stop_reason = f"non-finite {monitor} at epoch {epoch}"
            raise NonFiniteError(
                f"{monitor} is not finite at the end of epoch {epoch}; try a smaller learning rate "
                f"(lr={opt.lr:g})", epoch=epoch, batch=n_batches, layer=None, history=history)
        if current < best["loss"] - min_delta:
            best.update(loss=current, since=0)
            history.best_epoch = epoch
            if early_stopping and restore_best_weights:
                best["weights"] = net.get_weights()
        else:
            best["since"] += 1
        if plateau["enabled"]:
            if current < best["plateau_loss"] - min_delta:
                best.update(plateau_loss=current, plateau_since=0)
            else:
                best["plateau_since"] += 1
                if best["plateau_since"] > plateau["patience"]:
                    best.update(plateau_factor=best["plateau_factor"] * plateau["factor"], plateau_since=0)

        stop = False
        for hook in hooks:
            stop = bool(hook.on_epoch_end(epoch, record)) or stop
        if early_stopping and best["since"] > 0 and best["since"] >= patience:
            history.stopped_early = True
            history.stop_reason = (f"{monitor} did not improve by more than {min_delta:g} "
                                   f"for {patience} epochs after epoch {history.best_epoch}")
        elif stop:
            history.stop_reason = f"a callback asked to stop after epoch {epoch}"
        finished = history.stop_reason is not None or epoch == epochs
        interrupted = not finished and should_stop is not None and should_stop()
        if checkpoint is not None and (finished or interrupted or epoch % checkpoint_every == 0):
            checkpoint(state(epoch, 0))
        if interrupted:
            saved = state(epoch, 0)
            history.stop_reason = f"interrupted after epoch {epoch}"
            raise TrainingInterrupted(history.stop_reason, state=saved, history=history)
        if history.stop_reason is not None:
            break

    if history.stopped_early and best["weights"] is not None:
        net.set_weights(best["weights"])
    for hook in hooks:
        hook.on_train_end(history)
    return history


def _plateau_options(option) -> dict:
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
    _check_non_negative_int(settings["patience"], "reduce_lr_on_plateau patience")
    return {"enabled": True, **settings}


def _guard(batch_loss: float, grads: list[dict], layers, epoch: int, batch: int, lr: float,
           history: History) -> None:
    """Stop before a non-finite loss or gradient reaches the weights.

    The quick test is the sum of squares of every gradient (one BLAS dot
    product each), which is NaN or infinity if any entry is. Only then are the
    arrays searched, which also tells a true NaN from a finite sum that overflowed.
    """
    squares = sum(float(np.vdot(arr, arr)) for g in grads for arr in g.values() if arr is not None)
    if math.isfinite(batch_loss) and math.isfinite(squares):
        return
    where = None
    if not math.isfinite(batch_loss):
        where = ("the loss", None)
        for i, layer in enumerate(layers, start=1):
            if not np.isfinite(layer.a).all():
                where = (f"the activations of layer {i} (and so the loss)", i)
                break
    else:
        for i, g in enumerate(grads, start=1):
            if not all(np.isfinite(arr).all() for arr in g.values() if arr is not None):
                where = (f"the gradient of layer {i}", i)
                break
    if where is not None:
        history.stop_reason = f"non-finite values in {where[0]} at epoch {epoch}, batch {batch}"
        raise NonFiniteError(
            f"training stopped: {where[0]} is not finite (NaN or infinity) at epoch {epoch}, "
            f"batch {batch}; the weights are those before this batch. Try a smaller learning "
            f"rate (now lr={lr:g}).",
            epoch=epoch, batch=batch, layer=where[1], history=history)
