"""A formula of the derivation: templates in the article's symbols, and the values they took."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from ..core.named import FormulaText
from .notation import Math, _Notation

# -- formulas -----------------------------------------------------------------

@dataclass(frozen=True)
class Arg:
    """A symbol in a formula and the value it had."""

    name: str
    symbol: Math
    value: float


_PLACEHOLDER = re.compile(r"«(\w+)»")


@dataclass(frozen=True)
class Formula:
    """An expression in the article's symbols, and the values it was evaluated at.

    ``text`` and ``latex`` are templates in which ``«name»`` stands for the
    argument ``name``; :meth:`symbolic` fills in the symbols and
    :meth:`numeric` the numbers. ``wrap`` says whether the expression needs
    parentheses when it is multiplied by something.
    """

    text: str
    latex: str
    args: tuple[Arg, ...] = ()
    wrap: bool = False

    def _fill(self, template: str, what) -> str:
        args = {arg.name: arg for arg in self.args}
        return _PLACEHOLDER.sub(lambda m: what(args[m.group(1)], template, m), template)

    def symbolic(self, kind: str = "text") -> str:
        """The formula in symbols; ``kind`` is ``"text"`` or ``"latex"``."""
        template = self.text if kind == "text" else self.latex
        return self._fill(template, lambda arg, t, m: getattr(arg.symbol, kind))

    def numeric(self, kind: str, fmt) -> str:
        """The formula with each symbol replaced by ``fmt(value)``; negatives get parentheses."""
        template = self.text if kind == "text" else self.latex

        def number(arg, t, m):
            s = fmt(arg.value)
            enclosed = t[m.start() - 1:m.start()] in ("(", "{") and t[m.end():m.end() + 1] in (")", "}")
            return f"({s})" if arg.value < 0 and not enclosed else s

        return self._fill(template, number)

    def math(self) -> Math:
        return Math(self.symbolic("text"), self.symbolic("latex"))


def _formula(text: FormulaText, args: tuple) -> Formula:
    """An explanation's formula from the template a loss or activation gives (see ``backprop.core``)."""
    return Formula(text.text, text.latex, args, text.wrap)


def _loss_part_formula(loss, nt: _Notation, j: int, a: float, y: float, n_out: int) -> Formula | None:
    """``C_ij``, the part of the loss from output node ``j``."""
    text = loss.part_formula(n_out)
    return None if text is None else _formula(text, (Arg("a", nt.a(j, nt.n), a), Arg("y", nt.y(j), y)))


def _loss_parts(loss_name: str, fused, z: np.ndarray, a: np.ndarray, y: np.ndarray, loss) -> np.ndarray | None:
    """The per-node parts of one sample's loss (float64), or None for a loss without them."""
    z, a, y = (np.asarray(v, dtype=np.float64) for v in (z, a, y))
    return fused.per_node(z, y) if fused is not None else loss.per_node(a, y)


def _loss_derivative_formula(loss, nt: _Notation, j, a: float, y: float, n_out: int) -> Formula:
    """``dC_i/da_j^L``."""
    return _formula(loss.derivative_formula(n_out), (Arg("a", nt.a(j, nt.n), a), Arg("y", nt.y(j), y)))


def _fused_formula(fused, nt: _Notation, j, a: float, y: float, y_sum: float, n_out: int) -> Formula:
    """``dC_i/dz_j^L`` of a fused output shortcut."""
    s = Math("Σᵣ yᵣ", "\\sum_r y_r")
    args = (Arg("a", nt.a(j, nt.n), a), Arg("y", nt.y(j), y), Arg("s", s, y_sum))
    return _formula(fused.delta_formula(n_out), args)


def _activation_formula(activation, nt: _Notation, j, p: int, z: float, a: float) -> Formula:
    """``g_p'(z_j^p)``, in terms of ``z`` or ``a``."""
    return _formula(activation.derivative_formula(), (Arg("z", nt.z(j, p), z), Arg("a", nt.a(j, p), a)))
