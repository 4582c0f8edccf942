"""What activations and losses share: a name, parameters as plain data, equality by them."""

from __future__ import annotations

from typing import NamedTuple


class FormulaText(NamedTuple):
    """A formula as ``explain`` prints it: plain text and LaTeX templates.

    In both, ``«z»``, ``«a»``, ``«y»`` stand for the node's symbols (filled in
    with the article's names, or with numbers). ``wrap`` says whether the
    expression needs parentheses when it is multiplied by something.
    """

    text: str
    latex: str
    wrap: bool = False


class Named:
    """A part of the network known by its name and parameters (``config()``).

    Two parts with the same configuration are equal, so a network rebuilt from
    a model file compares equal to the one that was saved.
    """

    name: str = ""

    def config(self) -> dict:
        """Plain-data description: the name and any parameters."""
        return {"name": self.name}

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.config().items() if k != "name")
        return f"{type(self).__name__}({params})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Named) and self.config() == other.config()

    def __hash__(self) -> int:
        return hash(tuple(sorted(self.config().items())))
