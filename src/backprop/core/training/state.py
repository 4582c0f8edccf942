"""What training leaves behind, as plain data: the history, the resumable state, the errors."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

__all__ = ["History", "TrainingState", "NonFiniteError", "DivergenceError", "TrainingInterrupted"]


@dataclass
class History:
    """What training did, epoch by epoch, as plain data.

    Each entry of ``epochs`` is a dict with ``epoch`` (from 1), ``loss``, ``lr``,
    ``seconds``; ``val_loss`` with validation data; ``accuracy`` and
    ``val_accuracy`` for classifiers; ``r2``, ``mae``, ``val_r2``, ``val_mae``
    for regressors. The training metrics come from each batch's outputs during
    the epoch (before that batch's update), the validation ones from the
    weights at the end of the epoch. ``engine`` says whether the batches ran
    on the NumPy path or the compiled pass, and ``compile_seconds`` how long
    loading (or compiling) the latter took, before the first epoch.
    """

    task: str
    epochs: list[dict] = field(default_factory=list)
    best_epoch: int | None = None
    stopped_early: bool = False
    stop_reason: str | None = None
    engine: str = "numpy"
    compile_seconds: float | None = None

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
                   stop_reason=data.get("stop_reason"), engine=data.get("engine", "numpy"),
                   compile_seconds=data.get("compile_seconds"))


@dataclass
class TrainingState:
    """Everything the loop needs to go on exactly where it stopped, as plain data.

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
        The policies' bookkeeping (early stopping, plateau, divergence);
        ``best["weights"]`` may be None. ``best["dropout_rng"]`` is the
        dropout generator's state when the network has dropout.
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


class DivergenceError(NonFiniteError):
    """The loss grew by orders of magnitude above where it started; the weights are those before that step."""


class TrainingInterrupted(Exception):
    """Training was asked to stop (``should_stop``); ``state`` resumes it, ``history`` has the finished epochs."""

    def __init__(self, message, *, state: TrainingState, history: History):
        super().__init__(message)
        self.state, self.history = state, history
