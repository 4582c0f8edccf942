"""MkDocs hook: fail the build if a page would load anything from the internet.

The site must work offline (a lecture room, a laptop on a train), so every script,
stylesheet, font, image and frame has to come from the site itself. Links that a
reader clicks (``<a href="https://...">``) are fine.
"""

from __future__ import annotations

import re

# An element that the browser fetches by itself, pointing at another host.
REMOTE = re.compile(
    r"<(?:script|img|iframe|source|audio|video)\b[^>]*\bsrc=[\"'](?:https?:)?//"
    r"|<link\b[^>]*\bhref=[\"'](?:https?:)?//"
    r"|@import\s+url\([\"']?(?:https?:)?//"
    r"|url\([\"']?(?:https?:)?//fonts\.",
    re.IGNORECASE,
)


def remote_loads(html: str) -> list[str]:
    """The fragments of ``html`` that would make a browser fetch from another host."""
    return [html[m.start():m.start() + 120] for m in REMOTE.finditer(html)]


def on_post_page(output: str, page, config, **kwargs) -> str:
    from mkdocs.exceptions import PluginError

    found = remote_loads(output)
    if found:
        raise PluginError(f"{page.file.src_uri} loads from the internet: {found[0]!r}")
    return output
