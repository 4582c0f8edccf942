"""The MkDocs hooks in docs/_hooks/ that generate the reference parts of the site."""

from __future__ import annotations

import argparse
import importlib.util

import pytest

import backprop as bp
from backprop.cli import build_parser
from doc_examples import ROOT


def hook(name):
    spec = importlib.util.spec_from_file_location(f"docs_hook_{name}", ROOT / "docs" / "_hooks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_cli_reference_has_every_command_and_every_option():
    cli = hook("cli_reference")
    parser = build_parser()
    text = cli.render(parser)
    commands = cli.subcommands(parser)
    assert set(commands) >= {"train", "evaluate", "predict", "info", "explain", "export"}
    for name, sub in commands.items():
        section = text.split(f"## `backprop {name}`", 1)[1].split("\n## ", 1)[0]
        for action in sub._actions:
            if isinstance(action, argparse._HelpAction) or action.help == argparse.SUPPRESS:
                continue
            shown = action.option_strings[0] if action.option_strings else action.metavar or action.dest
            assert f"`{shown}" in section, f"backprop {name}: {shown} is missing from the reference"


def test_the_cli_reference_replaces_its_marker_only():
    cli = hook("cli_reference")
    assert cli.on_page_markdown("no marker here", None, None, None) == "no marker here"
    page = cli.on_page_markdown(f"# CLI\n\n{cli.MARKER}\n", None, None, None)
    assert cli.MARKER not in page and "## `backprop train`" in page and "`--csv FILE`" in page


def test_the_names_table_lists_every_registered_name():
    table = hook("generated_tables").names_table()
    for registry in (bp.ACTIVATIONS, bp.LOSSES, bp.OPTIMIZERS, bp.SCHEDULES, bp.INITIALIZERS):
        for name in registry:
            assert f"`{name}`" in table


def test_benchmark_tables_come_from_the_results_folder():
    tables = hook("generated_tables")
    page = tables.on_page_markdown("before\n<!-- results: full.md -->\nafter", None, None, None)
    assert (ROOT / "benchmarks" / "results" / "full.md").read_text().strip() in page
    with pytest.raises(FileNotFoundError):
        tables.results_table("no-such-run.md")


def test_the_targets_are_computed_from_the_results(tmp_path, monkeypatch):
    """The page shows the benchmark's own targets table (``TARGETS`` in bench_epoch.py), from the file."""
    tables = hook("generated_tables")

    def row(config, torch, sklearn, floor, memory):
        return {"config": config, "batch": 32, "dtype": "float32", "vs_pytorch": {"median": torch},
                "vs_sklearn": {"median": sklearn}, "vs_floor": {"median": floor},
                "memory_mb": memory, "memory_target_mb": 90.0}

    rows = [row("a b32 float32", 0.7, 0.5, 1.4, 100.0), row("c b32 float32", 0.9, 0.3, 1.6, 80.0)]
    (tmp_path / "run.json").write_text(__import__("json").dumps({"rows": rows}))
    monkeypatch.setattr(tables, "RESULTS", tmp_path)
    table = tables.bench_targets("run.json")
    assert "| <= 0.8x PyTorch at batch 32 | 1 of 2 | 0.70-0.90 | - | c b32 float32 (0.90) |" in table
    assert "| <= 0.4x scikit-learn | 1 of 2 | 0.30-0.50 | - | a b32 float32 (0.50) |" in table
    assert "| memory <= data + 3x parameters + a batch + 50 MB | 1 of 2 | - | - | a b32 float32 |" in table
    assert "batch 128" not in table and "JAX" not in table  # no rows, no claim


def test_the_tests_map_is_read_from_the_tree():
    table = hook("generated_tables").tests_map()
    assert "| `src/backprop/core/layers.py` | `tests/core/test_layers.py` |" in table
    modules = [p for p in (ROOT / "src" / "backprop").rglob("*.py") if p.name not in ("__init__.py", "__main__.py")]
    assert len(table.strip().splitlines()) == 2 + len(modules)


@pytest.mark.parametrize("html, remote", [
    ('<link rel="stylesheet" href="https://fonts.googleapis.com/css?family=Roboto">', True),
    ('<script src="//cdn.example.org/x.js"></script>', True),
    ('<img src="https://example.org/a.png">', True),
    ('<a href="https://example.org/">a link the reader clicks</a>', False),
    ('<script src="../assets/javascripts/bundle.js"></script>', False),
    ('<link rel="stylesheet" href="assets/stylesheets/main.css">', False),
])
def test_the_offline_check_finds_what_a_browser_would_fetch(html, remote):
    assert bool(hook("offline").remote_loads(html)) is remote


def test_sphinx_roles_are_shown_as_plain_code():
    roles = hook("rst_roles")
    html = roles.on_page_content("see :class:<code>Network</code> and :meth:<code>~backprop.Network.fit</code>",
                                 None, None, None)
    assert html == "see <code>Network</code> and <code>fit</code>"
