"""Helpers shared by the tests: finite differences and relative errors."""

from __future__ import annotations

import numpy as np


def central_difference(f, arr: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """d f() / d arr by central differences, perturbing ``arr`` in place one entry at a time."""
    grad = np.zeros_like(arr, dtype=np.float64)
    flat = arr.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        plus = f()
        flat[i] = old - eps
        minus = f()
        flat[i] = old
        grad.reshape(-1)[i] = (plus - minus) / (2 * eps)
    return grad


def relative_error(a, b, floor: float = 1e-8) -> float:
    """``||a - b|| / max(||a|| + ||b||, floor)``: 0 for equal arrays, scale-free otherwise."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), floor))


def run_cli(capsys, *argv):
    """Run the command line in process; return (exit code, stdout, stderr)."""
    from backprop.cli import main

    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(err: str) -> str:
    """The single line a failed command prints on stderr (asserting there is one, and no traceback)."""
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]
