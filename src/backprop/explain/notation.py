"""The article's notation: symbols such as w₁₂ᴸ and ∂C₀/∂a₁ᴸ, in text and LaTeX."""

from __future__ import annotations

from dataclasses import dataclass


from ..gradcheck import layer_name

# -- notation -----------------------------------------------------------------

_SUB = dict(zip("0123456789+-=()aehijklmnoprstuvx,", "₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ,"))
_SUP = dict(zip("0123456789+-=()Lnil", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ᴸⁿⁱˡ"))
# The summation indices, outermost first; each has a Unicode subscript.
_LETTERS = "jmpstuvx"


def _sub(text) -> str:
    text = str(text)
    if all(c in _SUB for c in text):
        return "".join(_SUB[c] for c in text)
    return f"_{text}"


def _sup(text) -> str:
    text = str(text)
    if all(c in _SUP for c in text):
        return "".join(_SUP[c] for c in text)
    return f"^{text}"


@dataclass(frozen=True)
class Math:
    """One piece of notation, written twice: Unicode text and LaTeX."""

    text: str
    latex: str


def _pair(*indices) -> tuple[str, str]:
    """Two indices as one subscript: ``12`` when both are one character, else ``12,3``."""
    parts = [str(i) for i in indices]
    sep = "" if all(len(p) == 1 for p in parts) else ","
    return sep.join(parts), sep.join(parts)


class _Notation:
    """The article's symbols for sample ``i`` of a network with ``n`` weight layers."""

    def __init__(self, n_layers: int, sample: int):
        self.n = n_layers
        self.i = sample

    def layer(self, p: int) -> str:
        return layer_name(p, self.n)

    def node(self, base: str, j, p: int) -> Math:
        name = self.layer(p)
        return Math(f"{base}{_sub(j)}{_sup(name)}", f"{base}_{{{j}}}^{{{name}}}")

    def a(self, j, p: int) -> Math:
        return self.node("a", j, p)

    def z(self, j, p: int) -> Math:
        return self.node("z", j, p)

    def b(self, j, p: int) -> Math:
        return self.node("b", j, p)

    def w(self, j, k, p: int) -> Math:
        text, latex = _pair(j, k)
        name = self.layer(p)
        return Math(f"w{_sub(text)}{_sup(name)}", f"w_{{{latex}}}^{{{name}}}")

    def y(self, j) -> Math:
        return Math(f"y{_sub(j)}", f"y_{{{j}}}")

    def C(self, j=None) -> Math:
        if j is None:
            return Math(f"C{_sub(self.i)}", f"C_{{{self.i}}}")
        text, latex = _pair(self.i, j)
        return Math(f"C{_sub(text)}", f"C_{{{latex}}}")

    def delta(self, m, j) -> Math:
        text, latex = _pair(m, j)
        return Math(f"δ{_sub(text)}", f"\\delta_{{{latex}}}")

    @staticmethod
    def partial(num: Math, den: Math) -> Math:
        return Math(f"∂{num.text}/∂{den.text}", f"\\frac{{\\partial {num.latex}}}{{\\partial {den.latex}}}")

    def gprime(self, p: int, arg: Math) -> Math:
        name = self.layer(p)
        return Math(f"g{_sup(name)}′({arg.text})", f"g_{{{name}}}'({arg.latex})")

    @staticmethod
    def sum(index: str, count: int, body: Math) -> Math:
        return Math(f"Σ{_sub(index)}{_sub('=0')}{_sup(count - 1)} {body.text}",
                    f"\\sum_{{{index}=0}}^{{{count - 1}}} {body.latex}")

    @staticmethod
    def product(*parts: Math) -> Math:
        return Math(" · ".join(p.text for p in parts), " \\cdot ".join(p.latex for p in parts))

    @staticmethod
    def paren(m: Math) -> Math:
        return Math(f"({m.text})", f"\\left({m.latex}\\right)")
