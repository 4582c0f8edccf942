"""Wall-clock and CPU seconds of one timed region, for the benchmarks.

The machine the benchmarks run on may be shared: another process on the same
core stretches the wall-clock time of a region but hardly its CPU time (the
seconds the process itself ran, all its threads together). With one thread
per implementation, CPU time is the steadier measure; with several, a thread
that spins while it waits counts too, so the two are reported side by side.
"""

from __future__ import annotations

import time


class Clock:
    """``with Clock() as c: ...`` then ``c.wall`` and ``c.cpu`` are the region's seconds."""

    def __enter__(self) -> "Clock":
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu

    def seconds(self) -> dict:
        return {"seconds": self.wall, "cpu_seconds": self.cpu}
