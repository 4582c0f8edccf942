"""How fast is the forward product ``Z = A W^T`` with ``W`` in C order and in Fortran order?

    python benchmarks/prototypes/forward_layout.py [--threads 1] [--repeats 5]

``W`` has the article's shape ``(n_out, n_in)`` either way; in Fortran order
its transpose is a plain C-ordered matrix and BLAS is asked for ``A B``
rather than ``A B^T``. Prints the CPU microseconds of one product for
784-300 at batch 32 and 128, float32 and float64, once per repeat.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np


def per_call(f, n: int = 300) -> float:
    f()
    started = time.process_time()
    for _ in range(n):
        f()
    return (time.process_time() - started) / n * 1e6


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    from threadpoolctl import threadpool_limits

    threadpool_limits(args.threads)
    rng = np.random.default_rng(0)
    for dtype in ("float32", "float64"):
        for batch in (32, 128):
            A = rng.random((batch, 784)).astype(dtype)
            W_c = rng.random((300, 784)).astype(dtype)
            W_f = np.asfortranarray(W_c)
            Z = np.empty((batch, 300), dtype)
            c_order, f_order = [], []
            for _ in range(args.repeats):  # alternating, so a slow spell falls on both
                c_order.append(per_call(lambda: np.matmul(A, W_c.T, out=Z)))
                f_order.append(per_call(lambda: np.matmul(A, W_f.T, out=Z)))
            print(f"{dtype} batch {batch}: W in C order {' '.join(f'{v:.0f}' for v in c_order)} us; "
                  f"in Fortran order {' '.join(f'{v:.0f}' for v in f_order)} us")
    return 0


if __name__ == "__main__":
    sys.exit(main())
