"""Run under ``mpiexec -n P``: train data-parallel from Python, every rank saving what it holds.

    mpiexec -n 3 python tests/distributed_fit.py OUT_DIR

Each rank trains on its shard (``backprop.distributed.shard``) and writes
``OUT_DIR/rank{r}.npz`` (its weights) and ``OUT_DIR/history{r}.json``, so that
tests/test_distributed.py can check that every rank ends with the same weights,
bit for bit, and that they equal one process's. The data and options are
``problem()`` and ``OPTIONS``, which the test uses for its single-process run.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

import backprop as bp

OPTIONS = dict(epochs=4, batch_size=16, optimizer="adam", lr=0.01, seed=5, validation_split=0.25,
               early_stopping=True, patience=2, schedule="step")


def problem():
    """A small regression problem with two targets (so R^2 and MAE are reduced too) and a fresh network."""
    rng = np.random.default_rng(11)
    X = rng.normal(size=(203, 5))
    Y = np.stack([np.sin(X[:, 0]) + 0.1 * X[:, 1], X[:, 2] * X[:, 3]], axis=1)
    net = bp.Network.from_sizes([5, 12, 2], activation="tanh", output_activation="identity", loss="mse",
                                seed=2)
    return X, Y, net


def main(out: Path) -> None:
    from backprop.distributed import MPICommunicator, shard

    comm = MPICommunicator()
    X, Y, net = problem()
    rows = shard(len(X), comm)
    history = net.fit(X[rows], Y[rows], comm=comm, **OPTIONS)
    np.savez(out / f"rank{comm.rank}.npz",
             **{f"{i}.{k}": v for i, layer in enumerate(net.get_weights()) for k, v in layer.items()})
    (out / f"history{comm.rank}.json").write_text(json.dumps(history.to_dict()))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
