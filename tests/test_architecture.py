"""The structure the design promises: imports point inward, no cycles, small modules."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import backprop

SRC = Path(backprop.__file__).resolve().parent
MAX_LINES = 500


def modules() -> dict[str, Path]:
    found = {}
    for path in SRC.rglob("*.py"):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def imports(name: str, path: Path, known) -> set[str]:
    """The backprop modules ``name`` imports at module level (not inside functions)."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for candidate in (target, *(f"{target}.{a.name}" for a in node.names)):
                if candidate in known and candidate != name:
                    out.add(candidate)
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name in known}
    return out


def external(path: Path) -> set[str]:
    """Top-level packages outside backprop that a file imports anywhere."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            out.add(node.module.split(".")[0])
    return out - {"backprop", "__future__"}


#: The one exception to "the core imports NumPy only": NumPy has no matrix product that adds into its
#: output (BLAS ``gemm`` with ``beta = 1``), which the folded SGD step is. The module calls NumPy's own
#: OpenBLAS through ctypes (standard library) where it finds it; else it imports SciPy's BLAS inside a
#: function, only when a run can use it, and trains on the NumPy path where SciPy is missing too;
#: threadpoolctl, also inside a function, keeps SciPy's own BLAS on one thread meanwhile (or is skipped).
OPTIONAL_IN_CORE = {"backprop.core.training.blas": {"scipy", "threadpoolctl"},
                    "backprop.core.training.kernels": {"numba", "llvmlite"}}
#: Core modules that need an optional library to be imported at all: each is imported only inside a
#: function of another core module, when a run takes its path (the compiled pass and Numba).
IMPORTED_ONLY_WHEN_USED = {"backprop.core.training.kernels": "backprop.core.training.compiled"}


def module_level(path: Path) -> set[str]:
    """Top-level packages a file imports at module level, where importing the module would need them."""
    out = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Import):
            out |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            out.add(node.module.split(".")[0])
    return out - {"backprop", "__future__"}


def test_the_core_imports_numpy_and_the_standard_library_only():
    import sys

    for name, path in modules().items():
        if name == "backprop.core" or name.startswith("backprop.core."):
            outside = {m for m in external(path) if m not in sys.stdlib_module_names}
            assert outside <= {"numpy"} | OPTIONAL_IN_CORE.get(name, set()), f"{name} imports {sorted(outside)}"
            at_import = {m for m in module_level(path) if m not in sys.stdlib_module_names}
            allowed = OPTIONAL_IN_CORE[name] if name in IMPORTED_ONLY_WHEN_USED else set()
            assert at_import <= {"numpy"} | allowed, f"{name} needs {sorted(at_import)} to be imported"
            for target in imports(name, path, modules()):
                assert target.startswith("backprop.core"), f"{name} imports {target}, outside the core"


def test_no_import_cycles_between_modules():
    known = modules()
    graph = {name: imports(name, path, known) for name, path in known.items()}

    def related(a: str, b: str) -> bool:  # a package and what it holds re-export each other by design
        return a.startswith(b + ".") or b.startswith(a + ".")

    def reach(start: str) -> list[str] | None:
        stack = [(start, [start])]
        seen = set()
        while stack:
            node, path = stack.pop()
            for nxt in graph[node]:
                if nxt == start and not all(related(x, y) for x, y in zip(path, path[1:] + [start])):
                    return path + [start]
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, path + [nxt]))
        return None

    for name in graph:
        cycle = reach(name)
        assert cycle is None, " -> ".join(cycle)


def test_no_source_module_is_over_500_lines():
    long = {str(p.relative_to(SRC)): n for p in SRC.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, f"split these into modules named for what they hold: {long}"


def test_a_module_that_needs_an_optional_library_is_loaded_only_when_a_run_takes_it():
    """Importing backprop and training a small network (the compiled pass not worth it) loads no Numba."""
    import subprocess

    script = ("import sys, numpy as np, backprop as bp\n"
              "net = bp.Network.from_sizes([3, 4, 2], activation='relu', output_activation='identity', "
              "loss='mse', seed=0)\n"
              "net.fit(np.ones((8, 3)), np.zeros((8, 2)), epochs=1)\n"
              f"print(sorted(m for m in {sorted(IMPORTED_ONLY_WHEN_USED)!r} + ['numba'] if m in sys.modules))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"
