"""The record every derivation returns, and the parsing of module docstrings.

A derivation module's docstring has numpydoc-style sections ``Statement``,
``Assumptions``, ``Derivation`` and ``References``; :func:`derivation_text`
reads them so that statements are written once, in the module that derives
them, and every report quotes that text.
"""
from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field

import sympy as sp

__all__ = ["Derivation", "derivation_text"]

_SECTION = re.compile(r"^(\w[\w ]*)\n-{3,}\n", re.MULTILINE)


def derivation_text(module_name: str) -> dict[str, str]:
    """Split a module docstring into ``{"summary", "statement", "assumptions", ...}``."""
    doc = sys.modules[module_name].__doc__ or ""
    parts = _SECTION.split(doc)
    out = {"summary": parts[0].strip()}
    for title, body in zip(parts[1::2], parts[2::2]):
        out[title.strip().lower()] = body.strip()
    return out


@dataclass(frozen=True)
class Derivation:
    """The result of one derivation.

    Attributes
    ----------
    key : str
        The key of the result within its paper (``"D1"`` ... for the multistage paper).
    name : str
        The module name (the mathematical object).
    title : str
    text : dict
        Docstring sections: summary, statement, assumptions, derivation, references.
    results : dict
        Named SymPy objects (equations, matrices, expressions).
    identities : dict
        Named symbolic identities established during the derivation, each
        ``True`` only if the difference of the two sides simplified to zero.
    label : str
        What the result is, as reports print it (set by the paper package).
    """

    key: str
    name: str
    title: str
    text: dict
    results: dict
    identities: dict = field(default_factory=dict)
    label: str = "reconstruction of a published result"

    def latex(self) -> str:
        lines = [f"### {self.key}. {self.title}", "", self.text.get("statement", ""), ""]
        for label, value in self.results.items():
            lines.append(f"- {label}: $${sp.latex(value)}$$")
        for label, ok in self.identities.items():
            lines.append(f"- identity {label}: {'verified (difference simplifies to 0)' if ok else 'NOT verified'}")
        return "\n".join(lines)

    def as_json(self) -> dict:
        return {
            "key": self.key,
            "name": self.name,
            "title": self.title,
            "label": self.label,
            "statement": self.text.get("statement", ""),
            "assumptions": self.text.get("assumptions", ""),
            "derivation": self.text.get("derivation", ""),
            "references": self.text.get("references", ""),
            "results": {k: {"sympy": str(v), "latex": sp.latex(v)}
                        for k, v in self.results.items()},
            "identities": dict(self.identities),
        }


def is_zero(expr) -> bool:
    """True when ``expr`` (scalar or Matrix) simplifies to zero."""
    if isinstance(expr, sp.MatrixBase):
        return all(is_zero(e) for e in expr)
    return sp.simplify(expr) == 0
