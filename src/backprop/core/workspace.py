"""The arrays a training run reuses from one mini-batch to the next.

Training runs forward and backward once per mini-batch, on batches of the
same size (and a last, smaller one). Allocating ``Z``, ``A`` and the
gradients afresh every time costs as much as some of the arithmetic, so a
:class:`Workspace` keeps them. It belongs to the loop that made it, never to a
layer: a prediction, an explanation or a second run that uses the same network
cannot overwrite what a training run is holding.

The gradients live in one flat array (``flat``), with one ``{"W": ..., "b": ...}``
dict of views per layer (``grads``): a data-parallel run sums them over the
processes with a single Allreduce of ``flat``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Workspace"]


class Workspace:
    """Reused batch arrays and the gradient buffer for one network.

    Parameters
    ----------
    params : list of dict
        ``network.parameters()``: the gradient views take their shapes.
    dtype : numpy.dtype
    """

    def __init__(self, params, dtype):
        self.dtype = np.dtype(dtype)
        size = sum(w.size for p in params for w in p.values() if w is not None)
        self.flat = np.zeros(size, dtype=self.dtype)
        self.grads: list[dict[str, np.ndarray | None]] = []
        start = 0
        for p in params:
            views = {}
            for name, w in p.items():
                if w is None:
                    views[name] = None
                    continue
                views[name] = self.flat[start:start + w.size].reshape(w.shape)
                start += w.size
            self.grads.append(views)
        self._arrays: dict[tuple, dict[int, np.ndarray]] = {}

    def array(self, owner, name: str, shape: tuple[int, int]) -> np.ndarray:
        """An uninitialised array of ``shape`` for ``owner``'s ``name``, the same one each batch.

        Two batch sizes are kept per array (an epoch's full batches and its
        last one); a third evicts the older.
        """
        by_rows = self._arrays.setdefault((id(owner), name, shape[1:]), {})
        arr = by_rows.get(shape[0])
        if arr is None:
            if len(by_rows) >= 2:
                by_rows.pop(next(iter(by_rows)))
            arr = by_rows[shape[0]] = np.empty(shape, dtype=self.dtype)
        return arr
