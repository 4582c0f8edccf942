"""Run the examples of README.md and docs/: the conventions a documentation page follows.

A page's fenced code blocks are of these kinds (tests/docs/test_examples.py runs them):

```python
    Runs, in a namespace of its own: a block uses only what it makes itself (imports
    included). A block whose lines start with ``>>>`` is a doctest: the output it shows
    is compared (``...`` stands for any text, runs of whitespace compare equal).
```console
    Command lines ``$ backprop ...`` (a trailing ``\\`` continues a line), each run
    through the entry point; the lines under a command are its expected output, compared
    like a doctest's. A command that ends in ``# exit N`` must exit with status N (an
    error shown on purpose); every other command must exit 0. Only ``backprop`` commands may stand in a console block; show other
    shell commands (make, pip, mpiexec) in a ``bash`` block, which is not run.
``<!-- excerpt: PATH -->`` before a block
    The block quotes the file PATH (relative to the repository root) and is not run;
    it must still appear there: each run of lines between ``...`` lines is found in the
    file as consecutive lines (indentation and blank lines aside).
``<!-- fixture: NAME -->``
    Writes the named input file (see FIXTURES) into the page's working folder, for the
    blocks below it. Every page runs in a fresh temporary folder.
``<!-- skip: next "reason" -->``
    Sybil's skip: the next block is not run (kept for runs that need the full MNIST
    files or minutes of training).

Any other language in SHOWN_ONLY (``text``, ``bash``, ``toml``, ``json``, ``latex``, ...)
is shown, not run.
"""

from __future__ import annotations

import contextlib
import doctest
import io
import re
import shlex
from pathlib import Path

from sybil import Document, Region, Sybil
from sybil.parsers.markdown import CodeBlockParser, PythonCodeBlockParser, SkipParser
from sybil.parsers.markdown.lexers import DirectiveInHTMLCommentLexer

ROOT = Path(__file__).resolve().parent.parent
SHOWN_ONLY = {"text", "bash", "sh", "shell", "toml", "yaml", "ini", "json", "latex", "csv", "markdown", "html",
              "javascript", "css", "diff"}
RUN = {"python", "console"}
CHECKER_FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
EXCERPT = re.compile(r"^[ \t]*<!-- excerpt: (?P<path>\S+) -->[ \t]*\n[ \t]*(?P<fence>```+)[^\n]*\n(?P<body>.*?)"
                     r"^[ \t]*(?P=fence)[ \t]*$", re.MULTILINE | re.DOTALL)
EXIT_MARK = re.compile(r"\s+#\s*exit (\d+)\s*$")  # `$ backprop ... # exit 2`: a command shown failing
FENCE_LINE = re.compile(r"^(?P<fence>```+)(?P<info>[^`\n]*)$", re.MULTILINE)


# Pages whose examples another test runs as a whole, in order, with a shell (pipes, printf):
# the page and the test that runs it.
OWN_RUNNERS = {"docs/how-to/own-data.md": "tests/cli/test_own_data_doc.py"}


def documented_pages() -> list[Path]:
    """README.md and every Markdown page of the site (but those in OWN_RUNNERS)."""
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    return [p for p in pages if str(p.relative_to(ROOT)) not in OWN_RUNNERS]


# -- input files that a page may ask for by name ----------------------------------------------

def _iris_frame():
    from sklearn.datasets import load_iris

    iris = load_iris(as_frame=True)
    frame = iris.frame.rename(columns=lambda c: c.replace(" (cm)", "").replace(" ", "_"))
    frame["species"] = iris.target_names[iris.target]
    return frame.drop(columns="target")


def _write_iris(folder: Path) -> None:
    _iris_frame().to_csv(folder / "iris.csv", index=False)


def _write_new_flowers(folder: Path) -> None:
    _iris_frame().drop(columns="species").iloc[[0, 60, 120]].to_csv(folder / "new_flowers.csv", index=False)


FIXTURES = {
    # Fisher's iris as a user would have it: a header row, four measurements, species as text.
    "iris.csv": _write_iris,
    # Three rows of iris measurements without the species: what `backprop predict` reads.
    "new_flowers.csv": _write_new_flowers,
}


# -- excerpts ---------------------------------------------------------------------------------

def excerpt_missing(path: str, body: str) -> str | None:
    """None if every run of ``body``'s lines between ``...`` lines is in the file, else why not."""
    file = ROOT / path
    if not file.is_file():
        return f"the excerpt names {path}, which does not exist"
    lines = [line.strip() for line in file.read_text(encoding="utf-8").splitlines() if line.strip()]
    chunks, chunk = [], []
    for line in body.splitlines():
        if line.strip() in ("...", "# ..."):
            chunks.append(chunk)
            chunk = []
        elif line.strip():
            chunk.append(line.strip())
    chunks.append(chunk)
    for chunk in filter(None, chunks):
        if not any(lines[i:i + len(chunk)] == chunk for i in range(len(lines) - len(chunk) + 1)):
            return f"this excerpt is no longer in {path}:\n" + "\n".join(chunk)
    return None


def _check_excerpt(example) -> str | None:
    path, body = example.parsed
    return excerpt_missing(path, body)


def parse_excerpts(document: Document):
    for m in EXCERPT.finditer(document.text):
        yield Region(m.start(), m.end(), parsed=(m["path"], m["body"]), evaluator=_check_excerpt)


# -- console blocks ---------------------------------------------------------------------------

def console_commands(text: str) -> list[tuple[str, str]]:
    """(command, expected output) for each ``$ `` line of a console block."""
    commands: list[list] = []
    continuing = False
    for line in text.splitlines():
        if continuing:
            commands[-1][0] += " " + line.strip().removesuffix("\\").strip()
            continuing = line.rstrip().endswith("\\")
        elif line.startswith("$ "):
            commands.append([line[2:].strip().removesuffix("\\").strip(), []])
            continuing = line.rstrip().endswith("\\")
        elif commands:
            commands[-1][1].append(line)
        elif line.strip():
            raise ValueError(f"a console block must start with a '$ ' command line, not {line!r}")
    return [(cmd, "\n".join(out).strip("\n")) for cmd, out in commands]


def run_backprop(command: str) -> tuple[int, str]:
    """Run one ``backprop ...`` command line in process: (exit code, stdout and stderr)."""
    from backprop.cli import main

    argv = shlex.split(command)
    if argv[0] != "backprop":
        raise ValueError(f"console blocks run backprop commands only (show others in a bash block): {command}")
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        try:
            code = main(argv[1:])
        except SystemExit as exc:  # argparse: --help, or bad usage
            code = exc.code if isinstance(exc.code, int) else 1
    return code, out.getvalue()


def _evaluate_console(example) -> str | None:
    checker = doctest.OutputChecker()
    for command, expected in console_commands(example.parsed):
        wanted = EXIT_MARK.search(command)
        command = EXIT_MARK.sub("", command)
        code, output = run_backprop(command)
        if code != (int(wanted[1]) if wanted else 0):
            return f"$ {command}\nexited {code}:\n{output}"
        if expected and not checker.check_output(expected + "\n", output.rstrip() + "\n", CHECKER_FLAGS):
            return f"$ {command}\nexpected:\n{expected}\ngot:\n{output}"
    return None


# -- python blocks, each in a namespace of its own --------------------------------------------

def _fresh_namespace(evaluator):
    def evaluate(example):
        example.namespace.clear()
        return evaluator(example)
    return evaluate


class _SelfContainedPython(PythonCodeBlockParser):
    """Sybil's Python parser, with the namespace emptied at the start of every block."""

    def __call__(self, document: Document):
        for region in self.codeblock_parser(document):
            source = region.parsed
            if source.startswith(">>>"):
                regions = list(self.doctest_parser(source, document.path))
                for i, doctest_region in enumerate(regions):
                    doctest_region.adjust(region, source)
                    if i == 0:
                        doctest_region.evaluator = _fresh_namespace(doctest_region.evaluator)
                    yield doctest_region
            else:
                region.evaluator = _fresh_namespace(region.evaluator)
                yield region


def _write_fixture(example) -> str | None:
    name = example.parsed
    if name not in FIXTURES:
        return f"no fixture named {name!r}; known: {', '.join(FIXTURES)}"
    FIXTURES[name](Path.cwd())
    return None


def parse_fixtures(document: Document):
    for region in DirectiveInHTMLCommentLexer("fixture", arguments=r"\S+")(document):
        region.parsed = region.lexemes["arguments"]
        region.evaluator = _write_fixture
        yield region


def _not_inside(regions, outer):
    spans = [(r.start, r.end) for r in outer]
    return [r for r in regions if not any(s <= r.start < e for s, e in spans)]


def parse_page(document: Document):
    """Every runnable region of a page: excerpts, fixtures, skips, python and console blocks."""
    excerpts = list(parse_excerpts(document))
    yield from excerpts
    yield from parse_fixtures(document)
    yield from SkipParser()(document)
    yield from _not_inside(_SelfContainedPython(doctest_optionflags=CHECKER_FLAGS)(document), excerpts)
    yield from _not_inside(CodeBlockParser("console", _evaluate_console)(document), excerpts)


SYBIL = Sybil(parsers=[parse_page])


def fence_languages(text: str) -> list[str]:
    """The info string's first word of every opening fence in ``text``."""
    languages, open_fence = [], None
    for m in FENCE_LINE.finditer(text):
        if open_fence is None:
            open_fence = m["fence"]
            languages.append(m["info"].split(" ")[0].strip())
        elif m["fence"] == open_fence and not m["info"].strip():
            open_fence = None
    return languages
