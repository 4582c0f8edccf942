"""Within-round ratios between any two implementations of a ``bench_epoch.py`` results file, as Markdown.

    python benchmarks/prototypes/ratios.py benchmarks/results/NAME.json \\
        backprop/jax_scan backprop/floor backprop/limit numba_gemm/jax_scan ...

Each ratio is the median over rounds of (a's time / b's time) within the
round; ``limit`` is the arithmetic limit at that round's GEMM rate. The
seconds are the ones the run summarised (``--clock``).
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main(argv: list[str]) -> int:
    from epoch_timers import flops_per_epoch

    data = json.loads(Path(argv[0]).read_text())
    pairs = [p.split("/") for p in argv[1:]]
    print("| configuration | " + " | ".join("/".join(p) for p in pairs) + " |")
    print("|---|" + "---:|" * len(pairs))
    for row in data["rows"]:
        rounds = {impl: row[impl]["rounds"] for impl in row if isinstance(row[impl], dict) and "rounds" in row[impl]
                  and not impl.startswith("vs_")}
        if "limit" in row:
            key = "gflops_cpu" if _cpu(row, data) else "gflops"
            rounds["limit"] = [flops_per_epoch(row) / r[key] / 1e9 for r in data["gemm"][row["dtype"]]]
        cells = []
        for a, b in pairs:
            if a in rounds and b in rounds:
                cells.append(f"{statistics.median(x / y for x, y in zip(rounds[a], rounds[b])):.2f}")
            else:
                cells.append("-")
        print(f"| {row['config']} | " + " | ".join(cells) + " |")
    return 0


def _cpu(row: dict, data: dict) -> bool:
    """Whether the run summarised CPU seconds: its medians are those of the raw cpu_seconds."""
    impl = next(i for i in row if isinstance(row[i], dict) and "rounds" in row[i] and not i.startswith("vs_"))
    raw = data["raw"][row["config"]][impl]
    return row[impl]["rounds"] == [m["cpu_seconds"] for m in raw]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
