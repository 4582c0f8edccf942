"""docs/how-to/own-data.md runs: its Python blocks and console commands, in order, in a fresh folder."""

import os
import re
import subprocess
import sys
from pathlib import Path

import backprop

DOC = Path(__file__).resolve().parents[2] / "docs" / "how-to" / "own-data.md"
SRC = str(Path(backprop.__file__).resolve().parents[1])


def blocks(text: str):
    """``(kind, body)`` for each fenced python or console block."""
    for match in re.finditer(r"```(python|console)\n(.*?)```", text, flags=re.S):
        yield match.group(1), match.group(2)


def commands(body: str):
    """``(command, shown output)`` for each ``$ `` line of a console block."""
    parts = re.split(r"^\$ ", body, flags=re.M)[1:]
    for part in parts:
        command, _, shown = part.partition("\n")
        yield command, shown.strip()


def test_the_own_data_guide_runs_as_written(tmp_path):
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", ""), "COLUMNS": "100"}
    backprop_cmd = f"{sys.executable} -m backprop"
    ran = 0
    for kind, body in blocks(DOC.read_text(encoding="utf-8")):
        if kind == "python":
            result = subprocess.run([sys.executable, "-c", body], cwd=tmp_path, env=env, capture_output=True,
                                    text=True, timeout=300)
            assert result.returncode == 0, result.stderr
            continue
        for command, shown in commands(body):
            line = re.sub(r"(^|\| )backprop ", lambda m: f"{m.group(1)}{backprop_cmd} ", command)
            result = subprocess.run(line, shell=True, cwd=tmp_path, env=env, capture_output=True, text=True,
                                    timeout=300)
            ran += 1
            if shown.startswith("backprop ") and ": error:" in shown:
                assert result.returncode == 2, (command, result.stderr)
                # The message as the guide shows it (the examples it quotes depend on the split).
                assert result.stderr.strip().split("(")[0] == shown.split("(")[0], command
            else:
                assert result.returncode == 0, (command, result.stderr)
    assert ran >= 8
    assert (tmp_path / "predictions.csv").read_text().count("\n") == 301
