"""``make bench`` reports issue 18's targets from the ratios it measured."""

from __future__ import annotations

import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path[:0] = [str(BENCHMARKS)]

import bench_epoch  # noqa: E402


def row(batch, dtype, jax, torch, floor, limit, memory=100.0):
    return {"config": f"784-300-10 relu mse b{batch} {dtype}", "batch": batch, "dtype": dtype,
            "vs_jax_scan": {"median": jax}, "vs_pytorch": {"median": torch}, "vs_floor": {"median": floor},
            "vs_limit": {"median": limit}, "memory_mb": memory, "memory_target_mb": 200.0}


def test_targets_count_the_rows_met_and_name_the_others_with_their_ratio():
    rows = [row(32, "float32", 1.4, 0.5, 1.1, 3.0), row(128, "float32", 0.9, 0.7, 1.3, 1.5),
            row(128, "float64", 1.0, 0.6, 1.2, 2.5, memory=250.0)]
    lines = {line.split(" | ")[0].strip("| "): line.split(" | ") for line in
             bench_epoch.targets(rows).splitlines()[2:]}
    jax = lines["<= 1.0x JAX's scanned epoch (issue 18)"]
    assert jax[1] == "2 of 3" and jax[2] == "0.90-1.40" and jax[3] == "1.00-1.00"
    assert "b32 float32 (1.40)" in jax[4] and "b128" not in jax[4]
    assert lines["<= 0.6x PyTorch (issue 18)"][1] == "2 of 3"
    assert lines["<= 0.8x PyTorch at batch 32"][1] == "1 of 1"       # a target for some batch sizes only
    assert lines["<= 1.2x the GEMMs-only floor (issue 18)"][1] == "2 of 3"
    limit = lines["<= 2x the arithmetic limit at batch >= 128 (issue 18)"]
    assert limit[1] == "1 of 2" and "b128 float64 (2.50)" in limit[4]   # batch 32 is not held to it
    memory = lines["memory <= data + 3x parameters + a batch + 50 MB"]
    assert memory[1] == "2 of 3" and "b128 float64" in memory[4]


def test_a_peer_that_was_not_run_has_no_line():
    rows = [{"config": "c", "batch": 32, "dtype": "float32", "vs_pytorch": {"median": 0.5}}]
    table = bench_epoch.targets(rows)
    assert "PyTorch" in table and "JAX" not in table and "floor" not in table and "scikit-learn" not in table
