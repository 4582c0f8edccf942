"""Training: gradient descent over mini-batches and epochs.

Each step is the article's: forward propagation, the loss, backpropagation of
its gradient averaged over the batch, and ``new weight = old weight - lr *
gradient`` (or a refinement of it, see :mod:`backprop.core.optimizers`).

:func:`fit` adds what a user of a training loop expects: seeded shuffling, a
validation set, a per-epoch history as plain data, early stopping with the best
weights restored, reduce-on-plateau, epoch-end callbacks, and a guard that stops
at the first non-finite loss or gradient before it reaches the weights. It is
silent; progress bars are callbacks that the command line passes in.

Given a communicator (``comm=``), the same loop trains data-parallel over
several processes, each holding a shard of the data; see :class:`_DataParallel`
(and :mod:`backprop.distributed`, which makes a communicator from MPI).
"""

from __future__ import annotations

import math
import numbers
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Iterable, Protocol

import numpy as np

from .metrics import accuracy, is_one_hot, mean_absolute_error, predicted_classes, r2_score
from .optimizers import Optimizer, get_optimizer, get_schedule
from .validation import check_positive_int, check_rng

__all__ = ["fit", "History", "Callback", "Communicator", "NonFiniteError", "TrainingInterrupted",
           "TrainingState", "TASKS"]

TASKS = ("classification", "regression")


class Communicator(Protocol):
    """What data-parallel training needs from a group of processes.

    :class:`backprop.distributed.MPICommunicator` wraps MPI's; the core never
    imports MPI itself, so any object with these four members will do.
    """

    rank: int  # this process, from 0
    size: int  # the number of processes

    def allreduce_sum(self, array: np.ndarray) -> np.ndarray:
        """Replace ``array``, on every process, by its element-wise sum over all processes; return it."""

    def bcast(self, obj):
        """Return rank 0's ``obj`` on every process."""


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
        should_stop: Callable[[], bool] | None = None, comm: Communicator | None = None) -> History:
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
    comm : Communicator, optional
        Train data-parallel over the processes of ``comm`` (for MPI,
        :class:`backprop.distributed.MPICommunicator`). ``X`` and ``Y`` are then
        this process's shard: the shards, concatenated in rank order, are the
        training set (:func:`backprop.distributed.shard` cuts even ones).
        Every process computes its share of each global batch's gradient, one
        Allreduce sums the shares, and every process takes the same step, so
        all hold the same weights: those of one process given the whole data,
        to rounding. ``validation_data`` is this process's part of the
        validation set (or None); a ``validation_split`` is drawn from all
        shards, as one process would draw it. Give every process the same
        options. Callbacks and ``should_stop`` run on every process (a stop
        asked by any stops all); ``checkpoint`` runs on rank 0 alone, and the
        state it gets does not depend on the number of processes.

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
    parallel = None
    if comm is not None:
        parallel = _DataParallel(comm, X.shape[0])
        parallel.synchronize(net, rng)
    if validation_data is not None:
        try:
            X_val, Y_val = validation_data
        except (TypeError, ValueError):
            raise ValueError("validation_data must be a pair (X_val, Y_val)") from None
        X_val = net.check_X(X_val)
        Y_val = net.check_Y(as_targets(net, Y_val), X_val.shape[0])
    elif validation_split > 0 and parallel is not None:
        held_out = parallel.split(rng, validation_split)
        X_val, Y_val = X[held_out], Y[held_out]
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
    if parallel is not None and parallel.agree(X_val is not None) and X_val is None:
        X_val, Y_val = X[:0], Y[:0]  # other processes hold validation data, this one none

    if task is None:
        task = infer_task(net, Y)
    elif task not in TASKS:
        raise ValueError(f"task must be one of {', '.join(TASKS)}; got {task!r}")
    if parallel is not None:
        task = comm.bcast(task)  # inferred from rank 0's shard

    if isinstance(optimizer, Optimizer):
        opt = optimizer
    else:
        opt = get_optimizer(optimizer, lr=lr, weight_decay=weight_decay, clip_norm=clip_norm,
                            **(optimizer_options or {}))
    lr_schedule = get_schedule(schedule)
    plateau = _plateau_options(reduce_lr_on_plateau)
    hooks = [cb if isinstance(cb, Callback) else _FunctionCallback(cb) for cb in callbacks]

    n = X.shape[0] if parallel is None else parallel.n_train
    n_batches = math.ceil(n / batch_size)
    history = History(task=task)
    monitor = "val_loss" if X_val is not None else "loss"
    best = {"loss": math.inf, "since": 0, "weights": None,
            "plateau_factor": 1.0, "plateau_loss": math.inf, "plateau_since": 0}
    params = net.parameters()
    outputs = np.empty_like(Y)  # each batch's outputs, for the epoch's training metrics
    if parallel is not None:
        outputs = np.zeros((n, Y.shape[1]), dtype=Y.dtype)  # in epoch order; this process fills its rows
        checkpoint = parallel.on_rank0(checkpoint)
    # Each batch is gathered into these, so shuffling never copies the whole data set.
    X_batch_buffer = np.empty((min(batch_size, X.shape[0]), X.shape[1]), dtype=X.dtype)
    Y_batch_buffer = np.empty((min(batch_size, X.shape[0]), Y.shape[1]), dtype=Y.dtype)
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
            order=order.copy() if mid_epoch else None,
            outputs=(outputs.copy() if parallel is None else parallel.gather(outputs)) if mid_epoch else None,
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
        if parallel is not None:
            parallel.begin_epoch(order)
        for batch in range(first_batch if epoch == first_epoch else 0, n_batches):
            part = slice(batch * batch_size, (batch + 1) * batch_size)
            rows = order[part]
            if parallel is None:
                X_batch = np.take(X, rows, axis=0, out=X_batch_buffer[:len(rows)])
                Y_batch = np.take(Y, rows, axis=0, out=Y_batch_buffer[:len(rows)])
                outputs[part] = net.forward_unchecked(X_batch)
                batch_loss = float(np.mean(net.per_sample_loss(Y_batch)))
                net.backward_unchecked(Y_batch)
                grads = [layer.gradients() for layer in net.layers]
            else:
                # This process's rows of the global batch (maybe none), each sample's derivative
                # scaled by 1/N of the whole batch: its dC/dW is its share of the batch's mean.
                mine, local = parallel.batch_rows(part)
                X_batch = np.take(X, local, axis=0, out=X_batch_buffer[:len(local)])
                Y_batch = np.take(Y, local, axis=0, out=Y_batch_buffer[:len(local)])
                outputs[part][mine] = net.forward_unchecked(X_batch)
                local_loss = float(np.sum(net.per_sample_loss(Y_batch), dtype=np.float64))
                net.backward_unchecked(Y_batch, scale=1.0 / len(rows))
                grads, batch_loss, stop_asked = parallel.allreduce_gradients(
                    net.layers, local_loss, should_stop is not None and should_stop())
                batch_loss /= len(rows)
            _guard(batch_loss, grads, net.layers, epoch, batch + 1, opt.lr, history)
            opt.step(params, grads)
            loss_sum += batch_loss * len(rows)
            for hook in hooks:
                hook.on_batch_end(epoch, batch + 1, loss_sum / min(n, (batch + 1) * batch_size))
            if parallel is None:
                stop_asked = should_stop is not None and should_stop()
            if stop_asked and batch + 1 < n_batches:
                saved = state(epoch - 1, batch + 1)
                if checkpoint is not None:
                    checkpoint(saved)
                history.stop_reason = f"interrupted in epoch {epoch} after batch {batch + 1}"
                raise TrainingInterrupted(history.stop_reason, state=saved, history=history)

        if parallel is None:
            record = {"epoch": epoch, "loss": loss_sum / n,
                      **_task_metrics(outputs, Y[order], task, "")}
            if X_val is not None:
                record.update(evaluate(net, X_val, Y_val, task, prefix="val_"))
        else:
            record = {"epoch": epoch, "loss": loss_sum / n,
                      **parallel.task_metrics(outputs[parallel.mine], Y[parallel.local[parallel.mine]], task, "")}
            if X_val is not None:
                record.update(parallel.evaluate(net, X_val, Y_val, task, prefix="val_"))
        record["lr"] = opt.lr
        record["seconds"] = time.perf_counter() - started
        if parallel is not None:
            record = comm.bcast(record)  # rank 0's record everywhere, so every decision below is too
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
        if parallel is not None:
            stop = parallel.agree(stop)
        if early_stopping and best["since"] > 0 and best["since"] >= patience:
            history.stopped_early = True
            history.stop_reason = (f"{monitor} did not improve by more than {min_delta:g} "
                                   f"for {patience} epochs after epoch {history.best_epoch}")
        elif stop:
            history.stop_reason = f"a callback asked to stop after epoch {epoch}"
        finished = history.stop_reason is not None or epoch == epochs
        interrupted = not finished and should_stop is not None and should_stop()
        if parallel is not None:
            interrupted = parallel.agree(interrupted)
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


class _DataParallel:
    """What :func:`fit` does differently when several processes train together.

    The training set is the processes' shards concatenated in rank order, so
    rank r holds the global rows ``lo`` to ``hi - 1``. Every rank draws the
    same sample order and so knows every global mini-batch of N samples; it
    runs forward and backward on the rows of the batch it holds (maybe none),
    with each sample's loss derivative scaled by 1/N instead of 1/(its rows),
    so that its dC/dW is its share of the batch's mean gradient,
    ``1/N sum_{i in its rows} dC_i/dW``. One Allreduce sums the shares over
    the ranks into the mean gradient itself, the article's
    ``1/N sum_i dC_i/dW``, on every rank; every rank then takes the same step,
    and the weights stay the same everywhere, and equal to one process's up
    to the order of the sums.

    What else a rank needs from the others is a sum as well (the loss, right
    predictions, squared errors, a request to stop); each epoch's record is
    rank 0's, so every decision (early stopping, the plateau, stopping) is
    the same on every rank.
    """

    def __init__(self, comm: Communicator, n_local: int):
        self.comm = comm
        counts = np.zeros(comm.size)
        counts[comm.rank] = n_local
        counts = self._sum(counts)
        self.lo = int(counts[:comm.rank].sum())
        self.hi = self.lo + n_local
        self.n_train = int(counts.sum())
        self.train_rows = None  # the global row of each training sample, once a validation split took some
        self.mine = self.local = None
        self._flat = self._shares = None
        self._ss_tot: dict[str, np.ndarray] = {}

    def _sum(self, values) -> np.ndarray:
        array = np.array(values, dtype=np.float64)
        self.comm.allreduce_sum(array)
        return array

    def agree(self, flag: bool) -> bool:
        """True on every process if it is True on any."""
        return bool(self._sum([1.0 if flag else 0.0])[0] > 0)

    def synchronize(self, net, rng: np.random.Generator) -> None:
        """Start every process from rank 0's weights and random state (the same even without a seed)."""
        net.set_weights(self.comm.bcast(net.get_weights()))
        rng.bit_generator.state = self.comm.bcast(rng.bit_generator.state)

    def split(self, rng: np.random.Generator, fraction: float) -> np.ndarray:
        """Hold out ``fraction`` of all the rows, drawn as one process draws them; return this shard's."""
        n_val = int(round(self.n_train * fraction))
        if n_val < 1 or n_val >= self.n_train:
            raise ValueError(
                f"validation_split={fraction} of {self.n_train} samples leaves "
                f"{n_val} for validation and {self.n_train - n_val} for training; both need at least one"
            )
        order = rng.permutation(self.n_train)
        held_out, self.train_rows = order[:n_val], order[n_val:]
        self.n_train -= n_val
        return held_out[(held_out >= self.lo) & (held_out < self.hi)] - self.lo

    def begin_epoch(self, order: np.ndarray) -> None:
        """Mark the places in the epoch's order that hold this shard's rows, and where in the shard they are."""
        rows = order if self.train_rows is None else self.train_rows[order]
        self.mine = (rows >= self.lo) & (rows < self.hi)
        self.local = rows - self.lo

    def batch_rows(self, part: slice) -> tuple[np.ndarray, np.ndarray]:
        """Which places of the batch are this shard's, and their rows in it."""
        mine = self.mine[part]
        return mine, self.local[part][mine]

    def allreduce_gradients(self, layers, loss_sum: float, stop: bool) -> tuple[list[dict], float, bool]:
        """Sum every process's gradient share, loss sum and stop request.

        The gradients travel in one flat buffer, one Allreduce a step (a call
        per array would pay the latency once per array). Returns the summed
        gradients, one ``{"W": ..., "b": ...}`` per layer (views of the
        buffer), the summed loss, and whether any process asked to stop.
        """
        first = self._flat is None
        if first:
            params = [layer.parameters() for layer in layers]
            self._flat = np.empty(sum(p.size for ps in params for p in ps.values() if p is not None),
                                  dtype=layers[0].dtype)
            self._shares, start = [], 0
            for ps in params:
                share = dict.fromkeys(ps)
                for name, p in ps.items():
                    if p is not None:
                        share[name] = self._flat[start:start + p.size].reshape(p.shape)
                        start += p.size
                self._shares.append(share)
        for layer, share in zip(layers, self._shares):
            for name, grad in layer.gradients().items():
                if grad is not None and grad is not share[name]:
                    share[name][...] = grad
            if first:
                # A layer keeps its gradient arrays from pass to pass: from now on its backward
                # pass writes dC/dW and dC/db straight into the buffer, and nothing is copied.
                layer.dW, layer.db = share["W"], share["b"]
        self.comm.allreduce_sum(self._flat)
        loss_sum, stops = self._sum([loss_sum, 1.0 if stop else 0.0])
        return self._shares, float(loss_sum), bool(stops > 0)

    def gather(self, outputs: np.ndarray) -> np.ndarray:
        """The epoch's outputs of every shard's rows, in epoch order, as one process holds them."""
        everyone = np.where(self.mine[:, None], outputs, 0).astype(outputs.dtype, copy=False)
        self.comm.allreduce_sum(everyone)
        return everyone

    def evaluate(self, net, X: np.ndarray, Y: np.ndarray, task: str, prefix: str = "",
                 batch_size: int = 4096) -> dict:
        """:func:`evaluate` of the data all processes hold together."""
        outputs = np.empty((X.shape[0], net.sizes[-1]), dtype=net.dtype)
        loss_sum = 0.0
        for start in range(0, X.shape[0], batch_size):
            part = slice(start, start + batch_size)
            outputs[part] = net.forward_unchecked(X[part])
            loss_sum += float(np.sum(net.per_sample_loss(Y[part]), dtype=np.float64))
        loss_sum, count = self._sum([loss_sum, X.shape[0]])
        return {f"{prefix}loss": float(loss_sum / count), **self.task_metrics(outputs, Y, task, prefix)}

    def task_metrics(self, outputs: np.ndarray, Y: np.ndarray, task: str, prefix: str) -> dict:
        """:func:`_task_metrics` of the outputs all processes hold together, from sums."""
        if task == "classification":
            right, count = self._sum([np.count_nonzero(predicted_classes(outputs) == predicted_classes(Y)),
                                      Y.shape[0]])
            return {f"{prefix}accuracy": float(right / count)}
        if prefix not in self._ss_tot:  # the same targets every epoch
            self._ss_tot[prefix] = self._spread(Y)
        error = outputs - Y
        n_out = Y.shape[1]
        sums = self._sum([*np.sum(error * error, axis=0, dtype=np.float64),
                          np.sum(np.abs(error), dtype=np.float64), error.size])
        return {f"{prefix}r2": _r2_from_sums(sums[:n_out], self._ss_tot[prefix]),
                f"{prefix}mae": float(sums[n_out] / sums[n_out + 1])}

    def _spread(self, Y: np.ndarray) -> np.ndarray:
        """Each column's sum of squared deviations from its mean, over all processes (two passes)."""
        sums = self._sum([*np.sum(Y, axis=0, dtype=np.float64), Y.shape[0]])
        mean = sums[:-1] / sums[-1]
        return self._sum(np.sum((Y - mean) ** 2, axis=0, dtype=np.float64))

    def on_rank0(self, checkpoint: Callable | None) -> Callable | None:
        """``checkpoint`` as every process calls it: rank 0 saves, and if it fails, every process stops.

        Otherwise the others would go on to the next Allreduce and wait there for ever.
        """
        if not self.comm.bcast(checkpoint is not None):
            return None

        def save(state: TrainingState) -> None:
            failure = None
            if self.comm.rank == 0:
                try:
                    checkpoint(state)
                except Exception as exc:  # noqa: BLE001 - raised below, on every process
                    failure = exc
            message = self.comm.bcast(None if failure is None else str(failure) or type(failure).__name__)
            if failure is not None:
                raise failure
            if message is not None:
                raise RuntimeError(f"rank 0 could not save the checkpoint ({message}); every process stops")
        return save


def _r2_from_sums(ss_res: np.ndarray, ss_tot: np.ndarray) -> float:
    """:func:`r2_score` from its two sums per output, ``1 - SS_res / SS_tot`` averaged over outputs."""
    with np.errstate(divide="ignore", invalid="ignore"):
        scores = np.where(ss_tot > 0, 1.0 - ss_res / np.where(ss_tot > 0, ss_tot, 1.0),
                          np.where(ss_res == 0, 1.0, 0.0))
    return float(scores.mean())


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
