"""The maths panel: the article's chain rule for a weight, and a node's four numbers, from ``backprop.explain``.

Nothing here computes a derivative: :func:`backprop.explain.explain` does, on
the session's network and the samples the page picks, and
:func:`backprop.explain.render.render_markdown` writes it out as ``backprop
explain --format markdown`` does. :func:`markdown_html` turns that Markdown
into HTML whose formulas the page's KaTeX draws.
"""

from __future__ import annotations

import html
import re

import numpy as np
from markdown_it import MarkdownIt

from ..explain import explain
from ..explain.render import render_latex, render_markdown
from ..model import Model
from .build import StudioData

__all__ = ["MAX_SAMPLES", "parse_samples", "samples_for", "explanation", "explanation_text", "markdown_html",
           "node_values"]

MAX_SAMPLES = 32  # the explanation writes every sample out; more would be a wall of numbers
_MATH = re.compile(r"\$\$(.+?)\$\$|\$(.+?)\$", re.S)
_SLOT = re.compile(r"BPMATHSLOT(\d+)X")
_markdown = MarkdownIt("commonmark", {"html": False}).enable("table")


def parse_samples(text: str, n_rows: int) -> list[int]:
    """Read ``"3"``, ``"0-7"`` or ``"0,4,9"`` as training rows (from 0), at most :data:`MAX_SAMPLES`."""
    text = str(text).strip()
    if not text:
        raise ValueError("say which samples: a row number such as 0, a range such as 0-7, or a list such as 0,4,9")
    rows: list[int] = []
    for part in text.split(","):
        m = re.fullmatch(r"\s*(\d{1,9})\s*(?:-\s*(\d{1,9})\s*)?", part)
        if not m:
            raise ValueError(f"cannot read the samples {text[:40]!r}: expected rows such as 0, 0-7 or 0,4,9")
        first, last = int(m.group(1)), int(m.group(2) or m.group(1))
        if last < first:
            raise ValueError(f"the range {part.strip()!r} runs backwards")
        if last >= n_rows:
            raise ValueError(f"sample {last} does not exist: the training set has rows 0 to {n_rows - 1}")
        if last - first + 1 + len(rows) > MAX_SAMPLES:
            raise ValueError(f"at most {MAX_SAMPLES} samples at a time; {text[:40]!r} names more")
        rows.extend(range(first, last + 1))
    return rows


def samples_for(model: Model, data: StudioData, rows: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """The training rows as the network sees them: scaled inputs and encoded targets."""
    return model.transform(data.train.X[rows]), model.encode(data.train.y[rows])


def explanation(model: Model, data: StudioData, weight: str, rows: list[int], lr: float):
    """The :class:`backprop.explain.Explanation` of ``weight`` on the given training rows."""
    X, Y = samples_for(model, data, rows)
    e = explain(model.network, X, Y, weight, lr=lr)
    e.notes.append(f"Training rows {_rows_text(rows)} of {data.name!r}, as the network sees them "
                   "(features scaled by the model's standardizer).")
    return e


def _rows_text(rows: list[int]) -> str:
    return ", ".join(map(str, rows)) if len(rows) <= 8 else f"{rows[0]} ... {rows[-1]} ({len(rows)} rows)"


def explanation_text(e, fmt: str, digits: int = 6) -> str:
    """The explanation as ``backprop explain --format markdown`` or ``latex`` writes it."""
    if fmt == "markdown":
        return render_markdown(e, digits)
    if fmt == "latex":
        return render_latex(e, digits)
    raise ValueError(f"unknown format {fmt!r}; expected markdown or latex")


def markdown_html(text: str) -> str:
    """Markdown with ``$...$`` and ``$$...$$`` formulas as HTML; each formula becomes
    ``<span class="math" data-tex="...">`` for the page to typeset.

    Formulas are set aside before the Markdown is parsed, so that their
    backslashes, underscores and bars are never read as Markdown.
    """
    slots: list[tuple[bool, str]] = []

    def keep(m: re.Match) -> str:
        slots.append((m.group(1) is not None, m.group(1) if m.group(1) is not None else m.group(2)))
        return f"BPMATHSLOT{len(slots) - 1}X"

    body = _markdown.render(_MATH.sub(keep, text))

    def put(m: re.Match) -> str:
        display, tex = slots[int(m.group(1))]
        kind = "math display" if display else "math"
        return f'<span class="{kind}" data-tex="{html.escape(tex.strip(), quote=True)}"></span>'

    return _SLOT.sub(put, body)


def node_values(model: Model, data: StudioData, layer: int, j: int, rows: list[int]) -> dict:
    """``z``, ``a``, ``dC/da`` and ``dC/dz`` of node ``j`` of layer ``layer`` (0 = the input) on each row.

    The values are those of the explanation of the node's first incoming
    weight: its forward pass, and the chain rule's first two factors.
    """
    net = model.network
    X, Y = samples_for(model, data, rows)
    sizes = net.sizes
    if not 0 <= layer < len(sizes):
        raise ValueError(f"there is no layer {layer}; the layers are 0 (the input) to {len(sizes) - 1}")
    if not 0 <= j < sizes[layer]:
        raise ValueError(f"layer {layer} has nodes 0 to {sizes[layer] - 1}; got {j}")
    if layer == 0:
        return {"layer": 0, "j": j, "rows": rows, "a": [float(v) for v in X[:, j]], "z": None,
                "dC_da": None, "dC_dz": None, "note": "an input node: its a is the (scaled) input x"}
    e = explain(net, X, Y, f"{layer},{j},0")
    out = {"layer": layer, "j": j, "rows": rows, "z": [], "a": [], "dC_da": [], "dC_dz": [], "note": None}
    for s in e.samples:
        values = s.forward[layer]
        out["z"].append(float(values.z[j]))
        out["a"].append(float(values.a[j]))
        if len(s.factors) == 3:   # dC/da, da/dz, dz/dw
            out["dC_da"].append(float(s.factors[0].value))
            out["dC_dz"].append(float(s.factors[0].value * s.factors[1].value))
        else:                     # softmax or a fused output: dC/dz comes as one factor
            out["dC_da"].append(None)
            out["dC_dz"].append(float(s.factors[0].value))
            out["note"] = ("softmax couples its nodes (or the output is fused with the loss), so the "
                           "engine computes dC/dz directly")
    return out
