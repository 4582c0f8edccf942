"""MkDocs hook: show the Sphinx roles of the docstrings as plain code.

The numpydoc docstrings write cross-references as ``:class:`Network``` and
``:meth:`~backprop.Network.fit```; mkdocstrings leaves the role's name in the text.
This hook drops the role and a leading ``~`` so the reader sees ``Network`` and ``fit``.
"""

from __future__ import annotations

import re

ROLE = re.compile(r":(?:py:)?(?:class|meth|func|attr|mod|data|exc|obj):(?=<code>)")
TILDE = re.compile(r"<code>~([\w.]+)</code>")


def on_page_content(html: str, page, config, files, **kwargs) -> str:
    html = ROLE.sub("", html)
    return TILDE.sub(lambda m: f"<code>{m.group(1).rsplit('.', 1)[-1]}</code>", html)
