"""Training off the request path: the engine's own loop, in a thread, paused between batches.

:class:`Trainer` runs :meth:`backprop.Model.fit` - the loop ``backprop train``
runs - in a background thread, with a callback that holds it between batches
while the page has it paused, lets one batch through for "step", and lets it
run for "play". The thread holds :attr:`Trainer.lock` while the engine
computes; a request that reads or uses the network takes the lock through
:meth:`Trainer.hold`, so it always sees the weights between two batches, never
half-way through one.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager

from ..core import Callback, NonFiniteError
from ..model import Model
from .build import StudioData
from .settings import Settings

__all__ = ["Trainer", "MAX_EPOCHS", "DEFAULT_SPEED"]

# Training runs until paused; this bounds a run left playing (and the history it keeps).
MAX_EPOCHS = 10_000
# Batches a second while playing, unless the page asks otherwise (0: as fast as the engine goes).
# Slow enough to watch a boundary form on a set in the plane.
DEFAULT_SPEED = 300.0


class _Stopped(Exception):
    """Raised inside the training thread to end its run (reset, new settings, shutdown)."""


class _Gate(Callback):
    """The engine's callback: report progress, and wait where the page asks."""

    def __init__(self, trainer: "Trainer"):
        self.trainer = trainer
        self.n_batches = 1

    def on_train_begin(self, info):
        self.n_batches = info["n_batches"]
        self.trainer._wait()

    def on_batch_end(self, epoch, batch, loss):
        # The last batch's gradients, from the loop's workspace (a copy: the loop reuses its arrays).
        self.trainer.gradients = [{k: None if v is None else v.copy() for k, v in g.items()}
                                  for g in self.loop.work.grads]
        self.trainer._batch_done(epoch, batch, loss)
        if batch < self.n_batches:  # the epoch's last batch waits after its record, in on_epoch_end
            self.trainer._wait()

    def on_epoch_end(self, epoch, record):
        self.trainer._epoch_done(record)
        self.trainer._wait()


class Trainer:
    """One training run of a model on a session's data.

    Parameters
    ----------
    model : Model
        Trained in place.
    data : StudioData
    settings : Settings
        The optimizer, learning rate, batch size, L2 and seed.
    on_change : callable
        Called (with the lock held) after every batch and epoch.
    """

    def __init__(self, model: Model, data: StudioData, settings: Settings, on_change=lambda: None):
        self.gradients = None  # the last batch's dC/dW and dC/db, one dict per layer
        self.model, self.data, self.settings = model, data, settings
        self.on_change = on_change
        self.lock = threading.Lock()
        self._cond = threading.Condition()
        self._waiting = 0         # requests waiting for the lock
        self._served = 0          # requests that got it
        self._steps = 0
        self._stop = False
        self.mode = "paused"
        self.speed = DEFAULT_SPEED
        self._due = 0.0           # when playing: the earliest time of the next batch
        self.epoch = 0
        self.batch = 0
        self.batches = 0          # batches trained in all
        self.running_loss = None  # the mean loss of the epoch's batches so far
        self.records: list[dict] = []
        self.error: str | None = None
        self.finished = False
        self._thread = threading.Thread(target=self._run, name="backprop-studio-training", daemon=True)

    # -- what the page asks --------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def play(self) -> None:
        self._set(mode="playing")

    def pause(self) -> None:
        self._set(mode="paused")

    def step(self) -> None:
        """Let one batch through (and pause after it)."""
        self._set(mode="paused", steps=1)

    def set_speed(self, batches_per_second: float) -> None:
        """Batches a second while playing; 0 for as fast as the engine goes."""
        self.speed = float(batches_per_second)
        self._set()

    def stop(self, timeout: float = 10.0) -> None:
        """End the run and wait for the thread."""
        self._set(stop=True)
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    def _set(self, mode=None, steps=None, stop=None) -> None:
        with self._cond:
            if mode is not None:
                self.mode = mode
            if steps is not None:
                self._steps += steps
            if stop:
                self._stop = True
            self._cond.notify_all()

    @contextmanager
    def hold(self):
        """Hold the training between two batches while the block runs."""
        with self._cond:
            self._waiting += 1
        try:
            with self.lock:
                self._served += 1
                yield self.model
        finally:
            with self._cond:
                self._waiting -= 1

    def status(self) -> dict:
        return {"mode": "finished" if self.finished else self.mode, "speed": self.speed,
                "epoch": self.epoch, "batch": self.batch,
                "batches": self.batches, "running_loss": self.running_loss, "error": self.error}

    # -- the thread ----------------------------------------------------------

    def _run(self) -> None:
        s, data = self.settings, self.data
        self.lock.acquire()
        try:
            validation = None if data.validation is None else (data.validation.X, data.validation.y)
            self.model.fit(data.train.X, data.train.y, validation_data=validation, epochs=MAX_EPOCHS,
                           batch_size=min(s.batch_size, data.train.n_samples), optimizer=s.optimizer, lr=s.lr,
                           weight_decay=s.l2, seed=s.seed, callbacks=[_Gate(self)])
        except _Stopped:
            pass
        except NonFiniteError as exc:
            self.error = f"training stopped: {exc}"
        except (ValueError, TypeError, MemoryError) as exc:
            self.error = f"training stopped: {exc}"
        except Exception as exc:  # noqa: BLE001 - the page must hear of it; the thread has no caller
            self.error = f"training stopped by an unexpected error ({type(exc).__name__}): {exc}"
        finally:
            self.finished = True
            self.on_change()
            self.lock.release()

    def _batch_done(self, epoch: int, batch: int, loss: float) -> None:
        self.epoch, self.batch, self.running_loss = epoch, batch, loss
        self.batches += 1
        self.on_change()

    def _epoch_done(self, record: dict) -> None:
        self.records.append(dict(record))
        self.on_change()

    def _wait(self) -> None:
        """Between batches: let waiting requests in, then wait for play or a step."""
        self.lock.release()
        try:
            with self._cond:
                while True:
                    if self._stop:
                        raise _Stopped
                    if self._steps > 0:
                        self._steps -= 1
                        break
                    if self.mode == "playing":
                        now = time.monotonic()
                        if not self.speed or now >= self._due:
                            self._due = max(self._due, now - 0.1) + (1.0 / self.speed if self.speed else 0.0)
                            break
                        self._cond.wait(self._due - now)  # at the set speed; pause or stop wakes it
                        continue
                    self._cond.wait()
            # Requests already waiting for the network go first (a lock is not fair), then one batch.
            served, waiting = self._served, self._waiting
            deadline = time.monotonic() + 1.0
            while self._served < served + waiting and self._waiting and time.monotonic() < deadline:
                time.sleep(0.0005)
        finally:
            self.lock.acquire()
