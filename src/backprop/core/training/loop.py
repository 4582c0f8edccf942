"""The training loop: per batch, forward, backward, reduce, update.

Everything else is a named piece the loop is given: where the batches come
from (:mod:`.batches`), how the gradients of several processes become one
(:mod:`.reduce`), the update (:mod:`.update`: the optimizer's step, which also
owns weight decay and clipping, or plain SGD folded into the ``dC/dW``
product), the guard against non-finite and runaway steps (:mod:`.guard`),
and the per-epoch policies and user hooks (:mod:`.callbacks`).
"""

from __future__ import annotations

import math
import time

import numpy as np

from ..workspace import Workspace
from .state import History, NonFiniteError, TrainingInterrupted, TrainingState
from .tasks import evaluate, target_spread, task_metrics
from .compiled import CompiledPass, choose_update

__all__ = ["TrainingLoop"]


class TrainingLoop:
    """One training run of ``net``: the pieces, and the state they change.

    Parameters
    ----------
    net : Network
    batches : LocalBatches or ShardBatches
    reducer : Local or AllReduce
    optimizer : Optimizer
    policies : list of Callback
        The loop's own per-epoch rules (the learning rate, early stopping).
    callbacks : list of Callback
        The caller's hooks. At an epoch's start the policies run first (the
        hooks see the epoch's rate); at its end the hooks run first, so that
        the policies decide on the whole record, entries a hook adds included.
    task : {"classification", "regression"}
    rng : numpy.random.Generator
        Shuffles the samples.
    dropout_rng : numpy.random.Generator or None
        Draws the dropout masks (None when the network has no dropout).
    validation : tuple (X_val, Y_val, w_val) or None
    shuffle : bool
    guard : Guard
    monitor : {"loss", "val_loss"}
        The loss that must stay finite at each epoch's end.
    checkpoints : Checkpoints or None
    should_stop : callable or None
    update : Descent or FoldedSGD, optional
        How each batch's ``dC/dZ`` becomes the step; :func:`.compiled.choose_update` if omitted.
    engine : {"auto", "numpy", "compiled"}
        Whether each batch's forward and backward pass is compiled (:mod:`.compiled`).
    """

    def __init__(self, net, batches, reducer, optimizer, policies, callbacks, task, rng, dropout_rng,
                 validation, shuffle, guard, monitor="loss", checkpoints=None, should_stop=None, update=None,
                 engine="auto"):
        self.net, self.batches, self.reducer, self.optimizer = net, batches, reducer, optimizer
        self.policies, self.hooks = list(policies), list(callbacks)
        self.callbacks = self.policies + self.hooks  # in the order of an epoch's start
        self.task, self.rng, self.dropout_rng = task, rng, dropout_rng
        self.validation, self.shuffle, self.guard = validation, shuffle, guard
        self.checkpoints, self.should_stop = checkpoints, should_stop
        self.history = guard.history
        self.work = Workspace(net.parameters(), net.dtype)
        self.monitor = monitor
        self.update = update if update is not None else choose_update(net, optimizer, reducer, guard, self.work,
                                                                              n_samples=batches.n, engine=engine)
        self.history.engine = "compiled" if isinstance(self.update, CompiledPass) else "numpy"
        self.history.compile_seconds = getattr(self.update, "compile_seconds", None)
        self.outputs = np.zeros((batches.n, net.sizes[-1]), dtype=net.dtype)  # each batch's, in epoch order
        self.order, self.loss_sum, self.weight_done = None, 0.0, 0.0
        self._spread = None
        for cb in [*self.callbacks, checkpoints]:
            if cb is not None:
                cb.loop = self

    def run(self, epochs: int, first_epoch: int = 1, first_batch: int = 0) -> History:
        """Train epochs ``first_epoch`` to ``epochs`` (resuming at ``first_batch`` of the first)."""
        work, update = self.work, self.update
        batches, n_batches = self.batches, self.batches.n_batches
        for cb in self.callbacks:
            cb.on_train_begin({"epochs": epochs, "n_batches": n_batches, "n_samples": batches.n,
                               "batch_size": batches.batch_size, "initial_epoch": first_epoch - 1})
        for epoch in range(first_epoch, epochs + 1):
            started = time.perf_counter()
            for cb in self.callbacks:
                cb.on_epoch_begin(epoch)
            resuming = epoch == first_epoch and first_batch > 0
            if not resuming:
                self.order = self.rng.permutation(batches.n) if self.shuffle else np.arange(batches.n)
                self.loss_sum = self.weight_done = 0.0
            batches.begin_epoch(self.order)
            for b in range(first_batch if resuming else 0, n_batches):
                batch = batches.batch(b)
                a, losses, trace, deltas = update.forward_backward(batch, work, self.dropout_rng)  # forward, back
                stop_asked = self.should_stop is not None and self.should_stop()
                mine = np.sum(losses, dtype=np.float64) if batch.weights is None else np.dot(batch.weights, losses)
                loss_sum, stops = map(float, self.reducer.gradients(work.flat, [mine, stop_asked]))  # reduce
                penalty = update.step(loss_sum / batch.weight, trace, deltas, batch.weight,  # guard, update
                                      epoch, b + 1)
                self.outputs[batch.positions] = a
                self.loss_sum += loss_sum + penalty
                self.weight_done += batch.weight
                for cb in self.callbacks:
                    cb.on_batch_end(epoch, b + 1, self.loss_sum / self.weight_done)
                if stops > 0 and b + 1 < n_batches:
                    self._interrupt(epoch - 1, b + 1, f"interrupted in epoch {epoch} after batch {b + 1}")
            record = self._record(epoch, started)
            if self._end_epoch(epoch, record, last=epoch == epochs):
                break
        for cb in self.hooks + self.policies:
            cb.on_train_end(self.history)
        return self.history

    def _record(self, epoch: int, started: float) -> dict:
        """The epoch's entry of the history: the loss and metrics of training and validation."""
        outputs, targets = self.batches.epoch_targets(self.outputs)
        if self.task == "regression" and self._spread is None:
            self._spread = target_spread(targets, self.reducer.sum)  # the same targets every epoch
        record = {"epoch": epoch, "loss": self.loss_sum / self.batches.total_weight,
                  **task_metrics(outputs, targets, self.task, "", self.reducer.sum, self._spread)}
        if self.validation is not None:
            X_val, Y_val, w_val = self.validation
            record.update(evaluate(self.net, X_val, Y_val, self.task, "val_", sample_weight=w_val,
                                   total=self.reducer.sum))
        record["lr"] = self.optimizer.lr
        record["seconds"] = time.perf_counter() - started
        return self.reducer.bcast(record)  # rank 0's record everywhere, so every decision is too

    def _end_epoch(self, epoch: int, record: dict, last: bool) -> bool:
        """Record the epoch, run the policies and hooks, checkpoint; return whether training stops."""
        self.history.epochs.append(record)
        if not math.isfinite(record[self.monitor]):
            self.history.stop_reason = f"non-finite {self.monitor} at epoch {epoch}"
            raise NonFiniteError(f"{self.monitor} is not finite at the end of epoch {epoch}; try a smaller "
                                 f"learning rate (lr={self.optimizer.lr:g})", epoch=epoch,
                                 batch=self.batches.n_batches, layer=None, history=self.history)
        # Every callback sees the epoch's end, even after one has asked to stop.
        ending = self.hooks + self.policies  # the policies decide last, on the whole record
        stop = self.reducer.agree(any([bool(cb.on_epoch_end(epoch, record)) for cb in ending]))
        if stop and self.history.stop_reason is None:
            self.history.stop_reason = f"a callback asked to stop after epoch {epoch}"
        interrupted = not (stop or last) and self.should_stop is not None and self.should_stop()
        if self.reducer.agree(interrupted):
            self._interrupt(epoch, 0, f"interrupted after epoch {epoch}")
        if self.checkpoints is not None:
            self.checkpoints.after_epoch(epoch, last=stop or last)
        return stop

    def _interrupt(self, epoch_done: int, batch_done: int, reason: str):
        """Checkpoint where training stands and raise :class:`TrainingInterrupted` with that state."""
        state = self.state(epoch_done, batch_done)
        if self.checkpoints is not None:
            self.checkpoints.save(state)
        self.history.stop_reason = reason
        raise TrainingInterrupted(reason, state=state, history=self.history)

    def state(self, epoch_done: int, batch_done: int) -> TrainingState:
        """Everything needed to go on after ``batch_done`` batches of epoch ``epoch_done + 1``."""
        mid_epoch = batch_done > 0
        best = {}
        for cb in self.callbacks:
            if hasattr(cb, "state"):
                best.update(cb.state())
        best["start_loss"] = self.guard.start_loss
        if self.dropout_rng is not None:
            best["dropout_rng"] = self.dropout_rng.bit_generator.state
        return TrainingState(
            epoch=epoch_done, batch=batch_done, weights=self.net.get_weights(),
            optimizer=self.optimizer.state_dict(), rng=self.rng.bit_generator.state,
            history=self.history.to_dict(),
            order=self.order.copy() if mid_epoch else None,
            outputs=self.batches.epoch_outputs(self.outputs, self.reducer) if mid_epoch else None,
            loss_sum=self.loss_sum if mid_epoch else 0.0, best=best)

    def restore(self, state: TrainingState) -> tuple[int, int]:
        """Go back to ``state``; return the epoch and batch to start from."""
        self.net.set_weights(state.weights)
        self.optimizer.load_state_dict(state.optimizer)
        self.rng.bit_generator.state = state.rng
        restored = History.from_dict(state.history)
        self.history.epochs[:] = restored.epochs
        self.history.best_epoch, self.history.stopped_early = restored.best_epoch, restored.stopped_early
        self.history.stop_reason = None
        for cb in self.callbacks:
            if hasattr(cb, "load_state"):
                cb.load_state(state.best)
        self.guard.start_loss = state.best.get("start_loss")
        if self.dropout_rng is not None and state.best.get("dropout_rng") is not None:
            self.dropout_rng.bit_generator.state = state.best["dropout_rng"]
        if state.batch:
            self.order, self.loss_sum = np.asarray(state.order), state.loss_sum
            self.outputs[...] = state.outputs
            done = self.order[:min(self.batches.n, state.batch * self.batches.batch_size)]
            weights = self.batches.all_weights
            self.weight_done = float(len(done) if weights is None else weights[done].sum())
        return state.epoch + 1, state.batch
