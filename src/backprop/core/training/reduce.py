"""How the gradients of the processes become one: nothing to do, or an Allreduce.

A reducer also sums the few numbers the loop needs from every process (the
batch loss, metrics, a request to stop) and says whether this process writes
files. :class:`Local` is one process; :class:`AllReduce` wraps a communicator
(:class:`Communicator`, for MPI :class:`backprop.distributed.MPICommunicator`).
"""

from __future__ import annotations

from typing import Callable, Protocol

import numpy as np

__all__ = ["Communicator", "Local", "AllReduce"]


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


class Local:
    """One process: every sum is the process's own."""

    rank, size = 0, 1

    def sum(self, values) -> np.ndarray:
        """``values`` as a float64 vector, summed over the processes."""
        return np.array(values, dtype=np.float64)

    def sum_array(self, array: np.ndarray) -> np.ndarray:
        return array

    def gradients(self, flat: np.ndarray, scalars: list[float]) -> np.ndarray:
        """Sum the gradient buffer and ``scalars`` over the processes; return the summed scalars."""
        return np.array(scalars, dtype=np.float64)

    def agree(self, flag: bool) -> bool:
        """True on every process if it is True on any."""
        return bool(flag)

    def bcast(self, obj):
        return obj

    def on_rank0(self, action: Callable | None) -> Callable | None:
        return action


class AllReduce(Local):
    """Several processes: sums are Allreduce calls over ``comm``.

    The gradients travel in the workspace's one flat buffer, one Allreduce a
    step (a call per array would pay the latency once per array), with the
    batch's loss and stop request in a second, tiny one.
    """

    def __init__(self, comm: Communicator):
        self.comm = comm
        self.rank, self.size = comm.rank, comm.size

    def sum(self, values) -> np.ndarray:
        array = np.array(values, dtype=np.float64)
        self.comm.allreduce_sum(array)
        return array

    def sum_array(self, array: np.ndarray) -> np.ndarray:
        self.comm.allreduce_sum(array)
        return array

    def gradients(self, flat, scalars):
        self.comm.allreduce_sum(flat)
        return self.sum(scalars)

    def agree(self, flag):
        return bool(self.sum([1.0 if flag else 0.0])[0] > 0)

    def bcast(self, obj):
        return self.comm.bcast(obj)

    def on_rank0(self, action):
        """``action`` as every process calls it: rank 0 runs it, and if it fails, every process stops.

        Otherwise the others would go on to the next Allreduce and wait there for ever.
        """
        if not self.comm.bcast(action is not None):
            return None

        def run(*args):
            failure = None
            if self.rank == 0:
                try:
                    action(*args)
                except Exception as exc:  # noqa: BLE001 - raised below, on every process
                    failure = exc
            message = self.comm.bcast(None if failure is None else str(failure) or type(failure).__name__)
            if failure is not None:
                raise failure
            if message is not None:
                raise RuntimeError(f"rank 0 could not save the checkpoint ({message}); every process stops")
        return run
