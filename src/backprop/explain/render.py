"""Renderers for :class:`backprop.explain.Explanation`: terminal, Markdown, LaTeX, JSON.

All four show the same sections in the same order (the article's):

1. the forward pass, 2. the loss, 3. the chain rule (with the already computed
``dC/da`` of the layers above, for a hidden layer), 4. the average over the
samples, 5. the gradient-descent update, 6. the check against the vectorised
backward pass and finite differences.

``render_terminal`` returns a rich renderable (Unicode sub- and superscripts,
aligned tables); ``render_markdown`` Markdown whose formulas are ``$...$``
LaTeX (GitHub, Jupyter and most editors render them); ``render_latex`` a
fragment of ``align*`` environments and ``tabular`` tables for slides, which
needs only ``amsmath``; ``render_json`` every number, at full precision.
"""

from __future__ import annotations

import io
import json

from rich import box
from rich.console import Console, Group
from rich.padding import Padding
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from .data import Explanation, Quantity, SampleExplanation, Term, to_dict

__all__ = ["render", "render_terminal", "render_markdown", "render_latex", "render_json", "FORMATS",
           "format_number", "format_latex_number"]

FORMATS = ("terminal", "markdown", "latex", "json")


def format_number(value: float, digits: int = 6) -> str:
    """``value`` to ``digits`` significant digits, with a real minus sign."""
    text = f"{value:.{digits}g}"
    return text.replace("-", "−")


def format_latex_number(value: float, digits: int = 6) -> str:
    """``value`` to ``digits`` significant digits, ``1.5\\times 10^{-7}`` for exponents."""
    text = f"{value:.{digits}g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        return f"{mantissa}\\times 10^{{{int(exponent)}}}"
    return text


def _fmt(kind: str, digits: int):
    if kind == "latex":
        return lambda v: format_latex_number(v, digits)
    return lambda v: format_number(v, digits)


def _wrap_negative(s: str, value: float) -> str:
    return f"({s})" if value < 0 else s


def _term_numbers(term: Term, kind: str, fmt) -> str:
    times = " \\cdot " if kind == "latex" else "·"
    return times.join(_wrap_negative(fmt(f.value), f.value) for f in term.factors)


def _describe(q: Quantity, kind: str, fmt) -> tuple[str, str, str]:
    """``(symbol, formula, formula with numbers)`` of a quantity, in ``kind`` ("text" or "latex")."""
    symbol = getattr(q.symbol, kind)
    formula = numbers = ""
    if q.formula is not None:
        formula, numbers = q.formula.symbolic(kind), q.formula.numeric(kind, fmt)
        if formula == numbers:
            numbers = ""
    elif q.sum is not None:
        formula = getattr(q.sum.formula, kind)
        plus = " + "
        numbers = plus.join(_term_numbers(t, kind, fmt) for t in q.sum.terms)
    if numbers == fmt(q.value):
        numbers = ""
    if q.alias is not None:
        alias = getattr(q.alias, kind)
        formula = f"{alias} = {formula}" if formula else alias
    return symbol, formula, numbers


def _weight_label(e: Explanation, kind: str) -> str:
    ref = e.weight
    where = f"net.layers[{ref.layer - 1}].{ref.parameter}[{', '.join(str(i) for i in ref.index)}]"
    if kind == "latex":
        where = where.replace("_", "\\_")
    return where


def _network_line(e: Explanation) -> str:
    cfg = e.network
    acts = [a["name"] for a in cfg["activations"]]
    acts_text = acts[0] if len(set(acts)) == 1 else ", ".join(acts)
    bias = "with biases" if all(cfg["bias"]) else "no biases" if not any(cfg["bias"]) else "some biases"
    return (f"sizes {'-'.join(str(s) for s in cfg['sizes'])}, activation {acts_text}, loss {cfg['loss']['name']}, "
            f"{bias}, {cfg['dtype']}")


def _vector(values, digits) -> str:
    return "(" + ", ".join(format_number(v, digits) for v in values) + ")"


# -- terminal -------------------------------------------------------------------

def _table(*columns: str, right: tuple = ()) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 1))
    for i, name in enumerate(columns):
        table.add_column(name, justify="right" if i in right else "left", overflow="fold")
    return table


def _quantity_table(quantities, fmt, sums_below: bool = False) -> Table:
    table = _table("", "formula", "with numbers", "value", right=(3,))
    for q in quantities:
        symbol, formula, numbers = _describe(q, "text", fmt)
        if sums_below and q.sum is not None:
            numbers = "term by term below"
        table.add_row(symbol, formula, numbers, fmt(q.value))
    return table


def _indent(renderable, n: int = 2) -> Padding:
    return Padding(renderable, (0, 0, 0, n), expand=False)


def _heading(text: str) -> Text:
    return Text("\n" + text, style="bold")


def _terms_table(q: Quantity, fmt) -> Table:
    s = q.sum
    table = _table(s.index, *[h.text for h in s.headers], "term", right=tuple(range(1, len(s.headers) + 2)))
    for term in s.terms:
        table.add_row(str(term.index), *[fmt(f.value) for f in term.factors], fmt(term.value))
    table.add_row("Σ", *[""] * len(s.headers), Text(fmt(q.value), style="bold"))
    return table


def _terminal_sample(e: Explanation, s: SampleExplanation, digits: int) -> list:
    fmt = _fmt("text", digits)
    out = [Text(""), Rule(f"sample {s.index}: x = {_vector(s.x, digits)}, y = {_vector(s.y, digits)}",
                          align="left")]

    bias = " + bⱼˡ" if any(e.network["bias"]) else ""
    out.append(_heading(f"1. Forward pass   zⱼˡ = Σₖ wⱼₖˡ aₖˡ⁻¹{bias},  aⱼˡ = gˡ(zⱼˡ)"))
    table = _table("layer", "g", "node", "z", "a", right=(3, 4))
    for layer in s.forward:
        for j, a in enumerate(layer.a):
            label = (layer.name + (" (input)" if layer.z is None else "")) if j == 0 else ""
            g = (layer.activation or "") if j == 0 else ""
            table.add_row(label, g, str(j), "" if layer.z is None else fmt(layer.z[j]), fmt(a))
    out.append(_indent(table))

    C = s.loss.symbol.text
    out.append(_heading(f"2. Loss   {C} = Σⱼ {C}ⱼ"))
    if s.loss_parts is not None:
        table = _quantity_table(s.loss_parts, fmt)
        table.add_row(C, "sum", "", Text(fmt(s.loss.value), style="bold"))
        out.append(_indent(table))
    else:
        out.append(Text(f"  {C} = {fmt(s.loss.value)}"))

    out.append(_heading("3. Chain rule"))
    out.append(Text("  " + s.equation.text))
    for up in s.upstream:
        out.append(Text(f"  already computed, layer {up.name} ({up.activation}):", style="italic"))
        out.append(_indent(_quantity_table(up.dC_da + up.dC_dz, fmt), 4))
    out.append(Text("  the factors:", style="italic"))
    out.append(_indent(_quantity_table(s.factors, fmt, sums_below=True), 4))
    for q in s.factors:
        if q.sum is not None:
            out.append(Text(f"  {q.symbol.text}, term by term:", style="italic"))
            out.append(_indent(_terms_table(q, fmt), 4))
    product = " · ".join(_wrap_negative(fmt(f.value), f.value) for f in s.factors)
    lhs = s.equation.text.split(" = ")[0]
    out.append(Text.assemble("  ", lhs, " = ", product, " = ", (fmt(s.value), "bold")))
    out.append(Text("  written out: " + s.expanded.text, style="dim"))
    return out


def render_terminal(e: Explanation, digits: int = 6) -> Group:
    """A rich renderable of the whole explanation (print it with a rich Console)."""
    fmt = _fmt("text", digits)
    sym = e.symbol.text
    N = len(e.samples)
    parts = [
        Text.assemble(("∂C/∂" + sym, "bold"), f"   {sym} = {_weight_label(e, 'text')} = {fmt(e.value)}"),
        Text(f"network: {_network_line(e)}"),
        Text("layers are named from the output (L, L-1, …), nodes numbered from 0", style="dim"),
    ]
    parts += [Text(note, style="dim") for note in e.notes]
    for s in e.samples:
        parts.extend(_terminal_sample(e, s, digits))
    parts += [Text(""), Rule(align="left")]
    parts.append(_heading(f"4. Average over the {N} sample{'s' if N > 1 else ''}   {e.average.text}"))
    table = _table("i", f"∂Cᵢ/∂{sym}", right=(1,))
    for s in e.samples:
        table.add_row(str(s.index), fmt(s.value))
    table.add_row(f"1/{N} Σ", Text(fmt(e.chain_rule), style="bold"))
    parts.append(_indent(table))
    u = e.update
    parts.append(_heading("5. Gradient-descent update   new weight = old weight − learning rate · gradient"))
    parts.append(Text(f"  {sym} ← {fmt(u.old)} − {fmt(u.lr)} · {_wrap_negative(fmt(u.gradient), u.gradient)} "
                      f"= {fmt(u.new)}"))
    parts.append(_heading("6. Check"))
    table = _table("method", f"∂C/∂{sym}", "relative difference", right=(1, 2))
    table.add_row("chain rule (above)", fmt(e.chain_rule), "")
    table.add_row("backward pass (net.gradients)", fmt(e.backprop), format_number(e.chain_rule_vs_backprop, 2))
    table.add_row(f"central finite difference (ε = {format_number(e.eps)})", fmt(e.finite_difference),
                  format_number(e.relative_difference, 2))
    parts.append(_indent(table))
    return Group(*parts)


def terminal_text(e: Explanation, digits: int = 6, width: int = 120) -> str:
    """The terminal rendering as plain text (no colours), e.g. for tests and docs."""
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, color_system=None, highlight=False)
    console.print(render_terminal(e, digits))
    return buffer.getvalue()


# -- markdown -------------------------------------------------------------------

def _md_math(s: str) -> str:
    return f"${s}$" if s else ""


def _md_quantity_table(quantities, fmt) -> list[str]:
    lines = ["| | formula | with numbers | value |", "|---|---|---|---:|"]
    for q in quantities:
        symbol, formula, numbers = _describe(q, "latex", fmt)
        lines.append(f"| {_md_math(symbol)} | {_md_math(formula)} | {_md_math(numbers)} | {fmt(q.value)} |")
    return lines


def render_markdown(e: Explanation, digits: int = 6) -> str:
    """The explanation as Markdown, formulas as ``$...$`` LaTeX."""
    fmt = _fmt("latex", digits)
    sym = e.symbol.latex
    lines = [f"# $\\partial C / \\partial {sym}$", "",
             f"Weight ${sym}$ = `{_weight_label(e, 'text')}` = {fmt(e.value)}. Network: {_network_line(e)}. "
             "Layers are named from the output (L, L-1, ...); nodes are numbered from 0.", ""]
    lines += [f"> {note}" for note in e.notes]
    if e.notes:
        lines.append("")
    for s in e.samples:
        lines += [f"## Sample {s.index}", "", f"$x = {_vector(s.x, digits)}$, $y = {_vector(s.y, digits)}$".replace("−", "-"), ""]
        bias = " + b_j^l" if any(e.network["bias"]) else ""
        lines += ["### 1. Forward pass", "",
                  f"$z_j^l = \\sum_k w_{{jk}}^l a_k^{{l-1}}{bias}$, $a_j^l = g_l(z_j^l)$", "",
                  "| layer | $g$ | node | $z$ | $a$ |", "|---|---|---:|---:|---:|"]
        for layer in s.forward:
            for j, a in enumerate(layer.a):
                name = (layer.name + (" (input)" if layer.z is None else "")) if j == 0 else ""
                g = (layer.activation or "") if j == 0 else ""
                z = "" if layer.z is None else fmt(layer.z[j])
                lines.append(f"| {name} | {g} | {j} | {z} | {fmt(a)} |")
        lines += ["", "### 2. Loss", "", f"${s.loss.symbol.latex} = \\sum_j C_{{{s.index}j}}$", ""]
        if s.loss_parts is not None:
            lines += _md_quantity_table(s.loss_parts, fmt)
            lines.append(f"| ${s.loss.symbol.latex}$ | sum | | **{fmt(s.loss.value)}** |")
        else:
            lines.append(f"${s.loss.symbol.latex} = {fmt(s.loss.value)}$")
        lines += ["", "### 3. Chain rule", "", f"$$ {s.equation.latex} $$", ""]
        for up in s.upstream:
            lines += [f"Already computed, layer {up.name} ({up.activation}):", ""]
            lines += _md_quantity_table(up.dC_da + up.dC_dz, fmt)
            lines.append("")
        lines += ["The factors:", ""]
        lines += _md_quantity_table(s.factors, fmt)
        lines.append("")
        for q in s.factors:
            if q.sum is not None:
                head = " | ".join(f"${h.latex}$" for h in q.sum.headers)
                lines += [f"${q.symbol.latex}$ term by term:", "",
                          f"| ${q.sum.index}$ | {head} | term |",
                          "|---:|" + "---:|" * (len(q.sum.headers) + 1)]
                for t in q.sum.terms:
                    lines.append(f"| {t.index} | " + " | ".join(fmt(f.value) for f in t.factors)
                                 + f" | {fmt(t.value)} |")
                lines += ["| $\\sum$ |" + " |" * len(q.sum.headers) + f" **{fmt(q.value)}** |", ""]
        lhs = s.equation.latex.split(" = ")[0]
        product = " \\cdot ".join(_wrap_negative(fmt(f.value), f.value) for f in s.factors)
        lines += [f"$$ {lhs} = {product} = {fmt(s.value)} $$", "", "Written out:", "",
                  f"$$ {s.expanded.latex} $$", ""]
    N = len(e.samples)
    lines += ["## 4. Average over the samples", "", f"$$ {e.average.latex} $$", "",
              f"| $i$ | $\\partial C_i / \\partial {sym}$ |", "|---:|---:|"]
    lines += [f"| {s.index} | {fmt(s.value)} |" for s in e.samples]
    lines += [f"| $\\frac{{1}}{{{N}}}\\sum$ | **{fmt(e.chain_rule)}** |", ""]
    u = e.update
    lines += ["## 5. Gradient-descent update", "",
              "new weight = old weight − learning rate × gradient", "",
              f"$$ {sym} \\leftarrow {fmt(u.old)} - {fmt(u.lr)} \\cdot {_wrap_negative(fmt(u.gradient), u.gradient)} "
              f"= {fmt(u.new)} $$", ""]
    lines += ["## 6. Check", "", f"| method | $\\partial C / \\partial {sym}$ | relative difference |",
              "|---|---:|---:|",
              f"| chain rule (above) | {fmt(e.chain_rule)} | |",
              f"| backward pass (`net.gradients`) | {fmt(e.backprop)} | {format_number(e.chain_rule_vs_backprop, 2).replace('−', '-')} |",
              f"| central finite difference ($\\varepsilon = {format_latex_number(e.eps)}$) | {fmt(e.finite_difference)} "
              f"| {format_number(e.relative_difference, 2).replace('−', '-')} |", ""]
    return "\n".join(lines)


# -- latex ------------------------------------------------------------------------

def _latex_quantities(quantities, fmt) -> list[str]:
    """One ``align*`` row per quantity: ``symbol &= formula = numbers = value``.

    A sum is spread over several rows, three terms to a row, to fit a slide.
    """
    rows = []
    for q in quantities:
        symbol, formula, numbers = _describe(q, "latex", fmt)
        if q.sum is not None:
            terms = [_term_numbers(t, "latex", fmt) for t in q.sum.terms]
            chunks = [" + ".join(terms[i:i + 3]) for i in range(0, len(terms), 3)]
            rows.append(f"{symbol} &= {formula}")
            rows.append("&= " + " \\\\\n&\\quad + ".join(chunks))
            rows.append(f"&= {fmt(q.value)}")
            continue
        chain = [p for p in (formula, numbers) if p] + [fmt(q.value)]
        rows.append(f"{symbol} &= " + " = ".join(chain))
    return rows


def _align(rows: list[str]) -> list[str]:
    return ["\\begin{align*}", " \\\\\n".join(rows), "\\end{align*}"]


def render_latex(e: Explanation, digits: int = 6) -> str:
    """The explanation as a LaTeX fragment (``align*`` and ``tabular``; needs ``amsmath``)."""
    fmt = _fmt("latex", digits)
    sym = e.symbol.latex
    lines = ["% backprop explain: the chain rule for one weight, ready to paste into slides.",
             "% Needs \\usepackage{amsmath}. Layers are named from the output (L, L-1, ...); nodes from 0.",
             f"% Network: {_network_line(e)}. Weight: {_weight_label(e, 'text')} = {e.value!r}."]
    for note in e.notes:
        lines.append("% " + note.replace("∂", "d").replace("ᴸ", "^L"))
    for s in e.samples:
        xs = ", ".join(fmt(v) for v in s.x)
        ys = ", ".join(fmt(v) for v in s.y)
        lines += ["", f"% ---- sample {s.index} ----", f"% 1. Forward pass: x = ({xs}), y = ({ys})",
                  "\\begin{tabular}{llrrr}", "layer & $g$ & node & $z$ & $a$ \\\\ \\hline"]
        for layer in s.forward:
            for j, a in enumerate(layer.a):
                name = (f"${layer.name}$" + (" (input)" if layer.z is None else "")) if j == 0 else ""
                g = (layer.activation or "").replace("_", "\\_") if j == 0 else ""
                z = "" if layer.z is None else f"${fmt(layer.z[j])}$"
                lines.append(f"{name} & {g} & {j} & {z} & ${fmt(a)}$ \\\\")
        lines.append("\\end{tabular}")
        lines.append("% 2. Loss")
        rows = _latex_quantities(s.loss_parts, fmt) if s.loss_parts is not None else []
        rows.append(f"{s.loss.symbol.latex} &= \\sum_j C_{{{s.index}j}} = {fmt(s.loss.value)}")
        lines += _align(rows)
        lines.append("% 3. Chain rule")
        rows = [f"{s.equation.latex.replace(' = ', ' &= ', 1)}"]
        lines += _align(rows)
        for up in s.upstream:
            lines.append(f"% already computed: layer {up.name} ({up.activation})")
            lines += _align(_latex_quantities(up.dC_da + up.dC_dz, fmt))
        lines.append("% the factors")
        lines += _align(_latex_quantities(s.factors, fmt))
        lhs = s.equation.latex.split(" = ")[0]
        product = " \\cdot ".join(_wrap_negative(fmt(f.value), f.value) for f in s.factors)
        lines += _align([f"{lhs} &= {product} = {fmt(s.value)}",
                         f"{s.expanded.latex.replace(' = ', ' &= ', 1)}"])
    N = len(e.samples)
    u = e.update
    values = " + ".join(_wrap_negative(fmt(s.value), s.value) for s in e.samples)
    avg_lhs, avg_rhs = e.average.latex.split(" = ", 1)
    lines += ["", "% 4. Average over the samples"]
    lines += _align([f"{avg_lhs} &= {avg_rhs} = \\frac{{1}}{{{N}}}\\left({values}\\right) = {fmt(e.chain_rule)}"])
    lines += ["% 5. Gradient-descent update: new weight = old weight - learning rate * gradient"]
    lines += _align([f"{sym} &\\leftarrow {sym} - \\eta \\frac{{\\partial C}}{{\\partial {sym}}} = {fmt(u.old)} - "
                     f"{fmt(u.lr)} \\cdot {_wrap_negative(fmt(u.gradient), u.gradient)} = {fmt(u.new)}"])
    lines += ["% 6. Check: chain rule, backward pass (net.gradients), central finite difference",
              "\\begin{tabular}{lrr}", "method & value & relative difference \\\\ \\hline",
              f"chain rule & ${fmt(e.chain_rule)}$ & \\\\",
              f"backward pass & ${fmt(e.backprop)}$ & ${format_latex_number(e.chain_rule_vs_backprop, 2)}$ \\\\",
              f"finite difference ($\\varepsilon = {format_latex_number(e.eps)}$) & ${fmt(e.finite_difference)}$ & "
              f"${format_latex_number(e.relative_difference, 2)}$ \\\\",
              "\\end{tabular}", ""]
    return "\n".join(lines)


# -- json --------------------------------------------------------------------------

def render_json(e: Explanation) -> str:
    """Every number of the explanation as JSON; the top level has ``chain_rule``,
    ``backprop`` and ``finite_difference``."""
    return json.dumps(to_dict(e), indent=2, ensure_ascii=False)


def render(e: Explanation, fmt: str = "terminal", digits: int = 6):
    """Dispatch on ``fmt`` (one of :data:`FORMATS`); the terminal format returns a rich renderable."""
    if fmt == "terminal":
        return render_terminal(e, digits)
    if fmt == "markdown":
        return render_markdown(e, digits)
    if fmt == "latex":
        return render_latex(e, digits)
    if fmt == "json":
        return render_json(e)
    raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
