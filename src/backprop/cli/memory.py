"""What a training run will hold in memory, against what the machine has, checked before it starts.

A network asked for on the command line (``--hidden 40000,40000``) can need
more memory than the machine has; allocated bit by bit during training, it
ends in the system killing the process, with no message. Before building it,
``backprop train`` estimates what the run will hold, the weights, their
gradients, a work array and the optimizer's state, plus a batch's
activations, and refuses in one line when that is more than is available.
"""

from __future__ import annotations

from pathlib import Path

from ..core.optimizers import OPTIMIZERS
from . import CLIError

GIB = 2**30


def available_memory() -> int | None:
    """Bytes the process can still use: MemAvailable, and the cgroup's limit if it has one; None if unknown."""
    found = []
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                found.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit != "max":
            found.append(int(limit) - int(Path("/sys/fs/cgroup/memory.current").read_text().strip()))
    except (OSError, ValueError):
        pass
    return min(found) if found else None


def training_bytes(sizes: list[int], dtype: str, optimizer: str, batch: int) -> int:
    """A generous estimate of a run's peak: every parameter held ``4 + slots`` times, and more.

    The weights, their gradients, a work array, one more copy (the float32
    working copy of a folded SGD run, or a best-weights copy), the optimizer's
    state; the largest layer's weights once more in float64 (the initializer
    draws them so); and four arrays a layer for each row of a batch.
    """
    itemsize = 4 if dtype == "float32" else 8        # any other name is refused later, by name
    layers = [n_in * n_out + n_out for n_in, n_out in zip(sizes, sizes[1:])]
    known = OPTIMIZERS.get(str(optimizer).lower())   # a name it does not know is refused later, by name
    copies = 4 + (len(known.slots) if known else max(len(cls.slots) for cls in OPTIMIZERS.values()))
    return itemsize * (sum(layers) * copies + 4 * batch * sum(sizes)) + 8 * max(layers)


def check_training_fits(sizes: list[int], dtype: str, optimizer: str, batch: int) -> None:
    """Refuse, naming the sizes, a run that would need more memory than is available."""
    available = available_memory()
    need = training_bytes(sizes, dtype, optimizer, batch)
    if available is not None and need > available:
        raise CLIError(f"a {'-'.join(map(str, sizes))} network trained with {optimizer} in {dtype} needs about "
                       f"{need / GIB:.1f} GiB (weights, gradients and optimizer state); {available / GIB:.1f} GiB "
                       f"is available: ask for smaller layers{' or float32' if dtype == 'float64' else ''}")
