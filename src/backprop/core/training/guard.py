"""The guard: no non-finite or runaway step ever reaches the weights.

It runs after the gradients are summed and before the update, so when it
stops training the weights are those before the bad batch.
"""

from __future__ import annotations

import math

import numpy as np

from .state import DivergenceError, NonFiniteError

__all__ = ["Guard", "DIVERGENCE_FACTOR"]

#: A batch loss this many times above the run's first (or above 1, if that was smaller) is divergence:
#: no run that is learning gets there, and one that is exploding passes it long before it overflows.
DIVERGENCE_FACTOR = 1e6


class Guard:
    """Stops training at the first NaN, infinity or runaway loss, naming where it arose."""

    def __init__(self, history, start_loss: float | None = None):
        self.history = history
        self.start_loss = start_loss

    def check(self, batch_loss: float, flat_grads: np.ndarray, grads: list[dict], trace,
              epoch: int, batch: int, lr: float) -> None:
        """Raise :class:`NonFiniteError` or :class:`DivergenceError`, or return.

        The quick test is the sum of squares of the gradient buffer (one BLAS
        dot product), which is NaN or infinity if any entry is. Only then are
        the arrays searched, which also tells a true NaN from a finite sum that
        overflowed.
        """
        self.check_squares(batch_loss, float(np.vdot(flat_grads, flat_grads)), grads, trace, epoch, batch, lr)

    def check_squares(self, batch_loss: float, squares: float, grads: list[dict], trace,
                      epoch: int, batch: int, lr: float) -> None:
        """:meth:`check`, given the sum of squares of the arrays in ``grads`` instead of a flat buffer."""
        if math.isfinite(batch_loss) and math.isfinite(squares):
            if self.start_loss is None:
                self.start_loss = batch_loss
            elif batch_loss > DIVERGENCE_FACTOR * max(self.start_loss, 1.0):
                self._stop(DivergenceError, f"the loss diverged ({batch_loss:.3g}, from {self.start_loss:.3g} at "
                           "the start)", "the loss diverged", None, epoch, batch, lr)
            return
        where = None
        if not math.isfinite(batch_loss):
            where = ("the loss", None)
            dense = [cache for cache in trace if hasattr(cache, "z")]
            for i, cache in enumerate(dense, start=1):
                if not np.isfinite(cache.a).all():
                    where = (f"the activations of layer {i} (and so the loss)", i)
                    break
        else:
            for i, g in enumerate(grads, start=1):
                if not all(np.isfinite(arr).all() for arr in g.values() if arr is not None):
                    where = (f"the gradient of layer {i}", i)
                    break
        if where is not None:
            self._stop(NonFiniteError, f"{where[0]} is not finite (NaN or infinity)",
                       f"non-finite values in {where[0]}", where[1], epoch, batch, lr)

    def _stop(self, error, what: str, reason: str, layer, epoch: int, batch: int, lr: float) -> None:
        self.history.stop_reason = f"{reason} at epoch {epoch}, batch {batch}"
        raise error(f"training stopped: {what} at epoch {epoch}, batch {batch}; the weights are those "
                    f"before this batch. Try a smaller learning rate (now lr={lr:g}).",
                    epoch=epoch, batch=batch, layer=layer, history=self.history)
