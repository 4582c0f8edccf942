"""Data-parallel training over MPI: the bridge from mpi4py to :func:`backprop.core.training.fit`.

Run the same program on P processes (``mpiexec -n P ...``). Each process, a
*rank*, holds a shard of the training data: the shards, concatenated in rank
order, are the whole set. Every rank draws the same sample order, so it knows
every global mini-batch; it runs the article's forward and backward passes on
the rows of the batch it holds, scaling each sample's derivative by 1/N of the
whole batch, so that its ``dC/dW`` is its share of the batch's mean gradient.
An Allreduce sums the shares on every rank into the mean gradient
``1/N sum_i dC_i/dW``, and every rank takes the same step: all hold the same
weights, which are those one process computes from the whole data, to
rounding. The loop itself is :func:`~backprop.core.training.fit` given
``comm=``; this module only connects it to MPI.

From Python (under ``mpiexec -n P python script.py``)::

    from backprop.distributed import MPICommunicator, shard

    comm = MPICommunicator()                 # MPI.COMM_WORLD
    rows = shard(len(X), comm)               # this rank's block of rows
    net.fit(X[rows], Y[rows], comm=comm, seed=0, epochs=10, batch_size=128)

``backprop train`` does this by itself when ``mpiexec`` starts it
(:func:`world`). The numerical core never imports MPI: ``fit`` takes any
object with ``rank``, ``size``, ``allreduce_sum(array)`` and ``bcast(obj)``
(:class:`backprop.core.training.Communicator`); this module is the only one
that imports ``mpi4py``, and only when a communicator is made.
"""

from __future__ import annotations

import os

import numpy as np

__all__ = ["MPICommunicator", "launched_by_mpiexec", "world", "shard", "share_cores"]

# Set in every process by the usual launchers: MPICH's and Intel MPI's mpiexec (hydra),
# Open MPI's mpirun, and PMIx-based ones (Slurm's srun --mpi=pmix).
LAUNCHER_VARIABLES = ("PMI_RANK", "PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_RANK")

# Variables with which a user has already chosen how many threads BLAS uses.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS")

INSTALL_HINT = "pip install 'backprop[mpi]' (mpi4py and an MPI runtime)"


class MPICommunicator:
    """An MPI communicator with the four members :func:`~backprop.core.training.fit` needs.

    Parameters
    ----------
    comm : mpi4py.MPI.Comm, optional
        Default ``MPI.COMM_WORLD``: every process ``mpiexec`` started.

    Attributes
    ----------
    rank : int
        This process, from 0.
    size : int
        The number of processes.
    """

    def __init__(self, comm=None):
        try:
            from mpi4py import MPI
        except ImportError:
            raise ImportError(f"data-parallel training needs mpi4py: {INSTALL_HINT}") from None
        self._MPI = MPI
        self.comm = MPI.COMM_WORLD if comm is None else comm
        self.rank = self.comm.Get_rank()
        self.size = self.comm.Get_size()

    def allreduce_sum(self, array: np.ndarray) -> np.ndarray:
        """Replace ``array`` on every rank by its element-wise sum over all ranks (in place); return it."""
        if not array.flags.c_contiguous:
            raise ValueError("allreduce_sum needs a C-contiguous array")
        self.comm.Allreduce(self._MPI.IN_PLACE, array, op=self._MPI.SUM)
        return array

    def bcast(self, obj):
        """Rank 0's ``obj`` on every rank (pickled by mpi4py; for small plain data)."""
        return self.comm.bcast(obj, root=0)

    def allgather(self, obj) -> list:
        """Every rank's ``obj``, in rank order, on every rank."""
        return self.comm.allgather(obj)

    def abort(self, code: int) -> None:
        """End every rank at once with exit code ``code``."""
        self.comm.Abort(code)

    def ranks_on_this_machine(self) -> int:
        """How many ranks share this machine's cores and memory (this one included)."""
        return self.comm.Split_type(self._MPI.COMM_TYPE_SHARED).Get_size()

    def __repr__(self) -> str:
        return f"MPICommunicator(rank={self.rank}, size={self.size})"


def launched_by_mpiexec() -> bool:
    """Whether an MPI launcher started this process (its variables are set)."""
    return any(name in os.environ for name in LAUNCHER_VARIABLES)


def world() -> MPICommunicator | None:
    """All the processes ``mpiexec`` started, or None when this process runs alone.

    Raises
    ------
    ImportError
        Under ``mpiexec`` without mpi4py: training alone in each process would
        silently repeat the same run P times.
    """
    if not launched_by_mpiexec():
        return None
    try:
        return MPICommunicator()
    except ImportError:
        size = os.environ.get("PMI_SIZE") or os.environ.get("OMPI_COMM_WORLD_SIZE") or "several"
        raise ImportError(f"started by mpiexec ({size} processes) but mpi4py is not installed: "
                          f"{INSTALL_HINT}") from None


def shard(n_samples: int, comm) -> slice:
    """This rank's block of ``n_samples`` rows: the r-th of ``comm.size`` nearly equal blocks, in order.

    The first ``n_samples % size`` ranks get one row more, as in
    ``numpy.array_split``. ``X[shard(len(X), comm)]`` is a view, not a copy.
    """
    base, extra = divmod(int(n_samples), comm.size)
    start = comm.rank * base + min(comm.rank, extra)
    return slice(start, start + base + (comm.rank < extra))


def share_cores(comm: MPICommunicator) -> int | None:
    """Give each rank on a machine an equal part of its cores for BLAS; return the threads per rank.

    Without this, each of P ranks on a machine starts one BLAS thread per
    core, P times as many threads as cores, and they slow each other down.
    Nothing changes (and None is returned) if the user set a thread count
    (``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS``, ...).
    """
    if any(name in os.environ for name in THREAD_VARIABLES):
        return None
    from threadpoolctl import threadpool_limits

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    threads = max(1, cores // comm.ranks_on_this_machine())
    threadpool_limits(limits=threads, user_api="blas")
    return threads
