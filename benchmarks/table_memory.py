"""Peak memory of reading a table, against its size on disk.

For each kind of table (numbers only; numbers with a short text column and
gaps), writes a file of about ``MB`` megabytes, then reads it in a fresh
process with :func:`backprop.data.table.read_table` and reports the growth of
the peak resident set size (``ru_maxrss``) over the process after imports.

    python benchmarks/table_memory.py [MB]
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

import numpy as np

CHILD = """
import resource, sys
import pandas, backprop.data.table as t
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
table = t.read_table(sys.argv[1])
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print((peak - base) * 1024, len(table.frame))
"""


def write(path: str, kind: str, megabytes: float) -> None:
    rng = np.random.default_rng(0)
    with open(path, "w") as fh:
        fh.write("a,b,c,d,kind\n" if kind == "mixed" else "a,b,c,d,e\n")
        while fh.tell() < megabytes * 1e6:
            block = rng.normal(size=(10_000, 5)).round(4)
            if kind == "mixed":
                words = np.array(["red", "green", "blue", "NA"])[rng.integers(0, 4, 10_000)]
                lines = [f"{r[0]},{r[1]},{r[2]},{r[3]},{w}\n" for r, w in zip(block, words)]
            else:
                lines = [",".join(map(str, r)) + "\n" for r in block]
            fh.write("".join(lines))


def main(megabytes: float) -> None:
    print("| table | size on disk | rows | peak memory growth | ratio |")
    print("|---|---|---|---|---|")
    for kind in ("numbers", "mixed"):
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, f"{kind}.csv")
            write(path, kind, megabytes)
            size = os.path.getsize(path)
            out = subprocess.run([sys.executable, "-c", CHILD, path], capture_output=True, text=True, check=True)
            grown, rows = map(int, out.stdout.split())
            print(f"| {kind} | {size / 1e6:.0f} MB | {rows:,} | {grown / 1e6:.0f} MB | {grown / size:.1f}x |")


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 50)
