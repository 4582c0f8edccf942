"""MkDocs hook: tables generated from the project's own data rather than pasted.

``<!-- results: NAME.md -->``
    replaced by ``benchmarks/results/NAME.md``, the table that the benchmark script
    wrote from its last run (``make bench`` writes ``full.md``,
    ``python benchmarks/bench_mpi.py`` writes ``mpi.md``); a missing file fails the build.
``<!-- bench-targets: NAME.json -->``
    replaced by the epoch benchmark's targets (``TARGETS`` in ``benchmarks/bench_epoch.py``), each
    with the rows of that results file (``make bench`` writes ``full.json``) it is met on.
``<!-- tests-map -->``
    replaced by a table of every module under ``src/backprop/`` with the test file named
    after it in the mirrored folder (``tests/core/test_layers*.py`` for ``core/layers.py``), and the test files that import it by
    its dotted name: what "the tests mirror the source" is true of, read from the tree.
``<!-- names-table -->``
    replaced by the names the engine accepts for activations, losses, initializers,
    optimizers and schedules, read from its registries, with each one's docstring summary.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "benchmarks" / "results"
RESULTS_MARKER = re.compile(r"<!-- results: ([\w.-]+\.md) -->")
TARGETS_MARKER = re.compile(r"<!-- bench-targets: ([\w.-]+\.json) -->")
NAMES_MARKER = "<!-- names-table -->"
TESTS_MARKER = "<!-- tests-map -->"


def results_table(name: str) -> str:
    path = RESULTS / name
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist: run the benchmark that writes it")
    return path.read_text(encoding="utf-8").strip() + "\n"


def bench_targets(name: str) -> str:
    """The targets table of ``benchmarks/bench_epoch.py`` (where the targets are defined), from a results file."""
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from bench_epoch import targets
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    return targets(json.loads((RESULTS / name).read_text(encoding="utf-8"))["rows"])


def _summary(obj) -> str:
    doc = (obj.__doc__ or "").strip()
    return doc.split("\n\n")[0].replace("\n", " ").replace("|", "\\|")


def names_table() -> str:
    """One row per registry: the accepted names (aliases together), and per class its summary."""
    import backprop as bp

    lines = ["| kind | name | what it is |", "|---|---|---|"]
    for kind, registry in (("activation", bp.ACTIVATIONS), ("loss", bp.LOSSES),
                           ("optimizer", bp.OPTIMIZERS), ("schedule", bp.SCHEDULES),
                           ("initializer", bp.INITIALIZERS)):
        by_object: dict[int, list[str]] = {}
        objects = {}
        for name, obj in registry.items():
            by_object.setdefault(id(obj), []).append(name)
            objects[id(obj)] = obj
        for key, names in by_object.items():
            obj = objects[key]
            summary = _summary(obj) if isinstance(obj, type) else ""
            lines.append(f"| {kind} | {', '.join(f'`{n}`' for n in names)} | {summary} |")
    return "\n".join(lines) + "\n"


def tests_map() -> str:
    """One row per source module: the test file named after it, and the test files that import it."""
    tests = sorted((ROOT / "tests").rglob("test_*.py"))
    texts = {t: t.read_text(encoding="utf-8") for t in tests}
    lines = ["| module | test file named after it | test files that import it by name |", "|---|---|---|"]
    for module in sorted((ROOT / "src" / "backprop").rglob("*.py")):
        if module.name in ("__init__.py", "__main__.py"):
            continue
        dotted = ".".join(module.relative_to(ROOT / "src").with_suffix("").parts)
        package, _, name = dotted.rpartition(".")
        uses = re.compile(rf"\b{re.escape(dotted)}\b|from {re.escape(package)} import [^\n]*\b{name}\b")
        # tests/ mirrors src/backprop/: src/backprop/core/layers.py -> tests/core/test_layers*.py
        folder = ROOT / "tests" / module.parent.relative_to(ROOT / "src" / "backprop")
        same = [t for t in tests if t.parent == folder and t.stem.startswith(f"test_{module.stem}")]
        importing = [t for t in tests if uses.search(texts[t])]

        def cell(paths):
            return ", ".join(f"`{p.relative_to(ROOT)}`" for p in paths) or "-"

        lines.append(f"| `{module.relative_to(ROOT)}` | {cell(same)} | {cell(importing)} |")
    return "\n".join(lines) + "\n"


def on_page_markdown(markdown: str, page, config, files, **kwargs) -> str:
    markdown = RESULTS_MARKER.sub(lambda m: results_table(m.group(1)), markdown)
    markdown = TARGETS_MARKER.sub(lambda m: bench_targets(m.group(1)), markdown)
    if TESTS_MARKER in markdown:
        markdown = markdown.replace(TESTS_MARKER, tests_map())
    if NAMES_MARKER in markdown:
        markdown = markdown.replace(NAMES_MARKER, names_table())
    return markdown
