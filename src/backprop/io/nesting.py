"""The nesting depth of JSON or TOML text, measured without recursion.

Python's ``json`` and ``tomllib`` parse recursively: ``[[[[...]]]]`` nested a
few thousand deep ends in ``RecursionError``, and the structures they return
break any recursive walk later. :func:`check_nesting` counts brackets outside
strings in one pass over the text, so deep input is refused, in words, before a
parser sees it. No file the project writes nests deeper than a handful of
levels; :data:`MAX_DEPTH` leaves generous room.
"""

from __future__ import annotations

__all__ = ["MAX_DEPTH", "nesting_depth", "check_nesting"]

MAX_DEPTH = 64


def nesting_depth(text: str) -> int:
    """The deepest nesting of ``[`` and ``{`` outside quoted strings (JSON or TOML).

    Strings are skipped as JSON and TOML write them: ``"..."`` with backslash
    escapes, and TOML's literal ``'...'``; TOML comments (``#`` to the end of
    the line) are skipped too. Over-counting is harmless: it only matters
    beyond :data:`MAX_DEPTH`.
    """
    depth = deepest = 0
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif c in "]}":
            depth = max(depth - 1, 0)
        elif c == '"' or c == "'":
            i += 1
            while i < n and text[i] != c:
                i += 2 if (c == '"' and text[i] == "\\") else 1
        elif c == "#":
            end = text.find("\n", i)
            i = n if end < 0 else end
        i += 1
    return deepest


def check_nesting(text: str, source: str, limit: int = MAX_DEPTH) -> None:
    """Raise ValueError naming ``source`` if ``text`` nests deeper than ``limit``."""
    depth = nesting_depth(text)
    if depth > limit:
        raise ValueError(f"{source} nests arrays or objects {depth} levels deep; at most {limit} are allowed")
