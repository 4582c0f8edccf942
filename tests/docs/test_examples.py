"""Every example in README.md and docs/ runs, and shows what it prints (see tests/doc_examples.py)."""

from __future__ import annotations

import unittest
from pathlib import Path

import pytest
from sybil.example import SybilFailure

from doc_examples import RUN, ROOT, SHOWN_ONLY, SYBIL, console_commands, documented_pages, excerpt_missing, fence_languages

PAGES = documented_pages()


def run_page(path) -> int:
    """Evaluate every example of the page in order; return how many were skipped."""
    skipped = 0
    for example in SYBIL.parse(path):
        try:
            example.evaluate()
        except unittest.SkipTest:  # <!-- skip: next "reason" -->: that block only
            skipped += 1
    return skipped


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    """A fresh working folder, and a terminal width that does not depend on the machine."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "80")
    return tmp_path


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_example_on_the_page_runs(page, in_tmp):
    run_page(page)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_code_block_is_run_or_marked_as_shown_only(page):
    languages = fence_languages(page.read_text(encoding="utf-8"))
    unknown = [lang or "(none)" for lang in languages if lang not in RUN | SHOWN_ONLY]
    assert not unknown, f"{page.name}: code blocks need a language from {sorted(RUN | SHOWN_ONLY)}, got {unknown}"


def test_the_readme_has_examples_that_run():
    languages = fence_languages((ROOT / "README.md").read_text(encoding="utf-8"))
    assert "python" in languages and "console" in languages


# -- the runner itself: a broken example must fail ---------------------------------------------

def write(tmp_path, text):
    page = tmp_path / "page.md"
    page.write_text(text, encoding="utf-8")
    return page


@pytest.mark.parametrize("text", [
    # a doctest whose shown output is wrong
    "```python\n>>> 1 + 1\n3\n```\n",
    # a block that raises
    "```python\nimport backprop as bp\nbp.Network.from_sizes([2, 0])\n```\n",
    # a block that leans on a name made by the block before it
    "```python\nnet = 1\n```\n\n```python\nprint(net)\n```\n",
    # a command line that fails
    "```console\n$ backprop train --dataset no_such_set\n```\n",
    # a command line whose shown output is not what it prints
    "```console\n$ backprop --version\nbackprop 0.0.0-never\n```\n",
    # a command shown failing that succeeds
    "```console\n$ backprop --version # exit 2\n```\n",
    # a console block with another program in it
    "```console\n$ ls\n```\n",
    # a stale excerpt
    "<!-- excerpt: src/backprop/core/layers.py -->\n```python\nthis line is not in layers.py\n```\n",
    # an unknown fixture
    "<!-- fixture: nothing.csv -->\n",
])
def test_a_broken_example_fails(tmp_path, in_tmp, text):
    with pytest.raises((SybilFailure, Exception)):
        run_page(write(tmp_path, text))


def test_working_examples_of_every_kind_pass(tmp_path, in_tmp):
    run_page(write(tmp_path, (
        "```python\n>>> 2 * 21\n42\n```\n\n"
        "```python\nimport numpy as np\nassert np.ones(3).sum() == 3\n```\n\n"
        "<!-- fixture: iris.csv -->\n\n"
        "```console\n$ backprop --version\nbackprop ...\n```\n\n"
        "```console\n$ backprop train --dataset no_such_set # exit 2\n...invalid choice...\n```\n\n"
        "<!-- excerpt: src/backprop/cli/__init__.py -->\n```python\ndef main(argv: list[str] | None = None) -> int:\n"
        "...\n    parser = build_parser()\n```\n")))
    assert (in_tmp / "iris.csv").read_text().startswith("sepal_length,")


def test_excerpts_are_matched_line_by_line_in_the_named_file():
    assert excerpt_missing("src/backprop/cli/__init__.py", "parser = build_parser()\n") is None
    assert "no longer" in excerpt_missing("src/backprop/cli/__init__.py", "parser = build_parser(\n")
    assert "does not exist" in excerpt_missing("src/no/such/file.py", "x\n")


def test_console_blocks_split_into_commands_and_their_output():
    text = "$ backprop train \\\n    --epochs 2\nline one\nline two\n$ backprop info m\n"
    assert console_commands(text) == [("backprop train --epochs 2", "line one\nline two"), ("backprop info m", "")]


def test_pages_left_to_their_own_runner_are_run_by_it():
    from doc_examples import OWN_RUNNERS

    for page, runner in OWN_RUNNERS.items():
        assert (ROOT / page).exists() and (ROOT / runner).exists()
        assert Path(page).name in (ROOT / runner).read_text(encoding="utf-8")
