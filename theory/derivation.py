"""The record every derivation returns, and the parsing of module docstrings.

A derivation module's docstring has numpydoc-style sections ``Statement``,
``Assumptions``, ``Derivation`` and ``References``; :func:`derivation_text`
reads them so that statements are written once, in the module that derives
them, and every report quotes that text.

Symbol names such as ``E[f*^2]`` or ``z^T Sigma^-1 z`` are not LaTeX: SymPy's
printer would split them at ``^`` and ``_`` into broken markup.  Each paper
package gives its derivations a ``latex_names`` mapping (symbol name -> LaTeX);
:func:`to_latex` uses it, with a safe ``\\text{...}`` fallback for any other
such name, and :func:`to_mathml` prints presentation MathML (shown natively by
browsers, offline) with such names as readable text (:func:`display_name`).
"""
from __future__ import annotations

import html
import re
import sys
import unicodedata
from html.entities import html5
from dataclasses import dataclass, field

import sympy as sp
from sympy.printing.conventions import split_super_sub
from sympy.printing.latex import LatexPrinter
from sympy.printing.latex import translate as latex_translate
from sympy.printing.mathml import MathMLPresentationPrinter
from sympy.core.function import AppliedUndef
from sympy.printing.pretty.pretty_symbology import greek_unicode

__all__ = ["Derivation", "derivation_text", "display_name", "to_latex", "to_mathml"]

_SECTION = re.compile(r"^(\w[\w ]*)\n-{3,}\n", re.MULTILINE)


def derivation_of(module_name: str, results: dict, identities: dict | None = None) -> "Derivation":
    """The :class:`Derivation` a derivation module returns: its ``KEY`` and ``TITLE``, its name and docstring
    sections read from the module itself, with the ``results`` and ``identities`` it derived."""
    module = sys.modules[module_name]
    return Derivation(module.KEY, module_name.rsplit(".", 1)[-1], module.TITLE, derivation_text(module_name),
                      results, identities or {})


def derivation_text(module_name: str) -> dict[str, str]:
    """Split a module docstring into ``{"summary", "statement", "assumptions", ...}``."""
    doc = sys.modules[module_name].__doc__ or ""
    parts = _SECTION.split(doc)
    out = {"summary": parts[0].strip()}
    for title, body in zip(parts[1::2], parts[2::2]):
        out[title.strip().lower()] = body.strip()
    return out


# --------------------------------------------------------------------------------------------
# symbol names as LaTeX, MathML and plain text
# --------------------------------------------------------------------------------------------

#: a name SymPy's printers read correctly: letters (a Greek name is printed as the letter), digits, one subscript
_SIMPLE_NAME = re.compile(r"[A-Za-z]+[0-9]*(_[A-Za-z0-9]+)?")
_GREEK = ("alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa", "lambda", "mu",
          "nu", "xi", "pi", "rho", "sigma", "tau", "phi", "chi", "psi", "omega", "Gamma", "Delta", "Theta",
          "Lambda", "Xi", "Pi", "Sigma", "Phi", "Psi", "Omega")
_GREEK_RE = re.compile(r"(?<![A-Za-z])(" + "|".join(_GREEK) + r")(?![A-Za-z])")
_SUPERSCRIPTS = {"2": "\u00b2", "3": "\u00b3", "4": "\u2074", "-1": "\u207b\u00b9", "T": "\u1d40", "n": "\u207f"}
_TEXT_RULES = ((re.compile(r"\^(-1|[234Tn])(?![A-Za-z0-9])"), lambda m: _SUPERSCRIPTS[m.group(1)]),
               (re.compile(r"\\dot ([A-Za-z\u0370-\u03ff])"), lambda m: m.group(1) + "\u0307"),
               (re.compile(r"->"), lambda m: "\u2192"), (re.compile(r">="), lambda m: "\u2265"),
               (re.compile(r"<="), lambda m: "\u2264"), (re.compile(r"(?<![A-Za-z])oo(?![A-Za-z])"),
                                                          lambda m: "\u221e"))


def display_name(name: str) -> str:
    """``name`` as readable plain text: Greek names as letters, small powers as superscripts, arrows.

    ``display_name("E[lambda x^2]") == "E[\u03bb x\u00b2]"``; used for result labels and, inside MathML, for
    symbol names SymPy cannot split into base, subscript and superscript.
    """
    text = _GREEK_RE.sub(lambda m: greek_unicode[m.group(1)], name)
    for pattern, repl in _TEXT_RULES:
        text = pattern.sub(repl, text)
    return text


_TEXT_ESCAPES = str.maketrans({"\\": "/", "{": "(", "}": ")", "$": "\\$", "&": "\\&", "#": "\\#",
                               "%": "\\%", "_": "\\_", "^": "\\^{}", "~": "\\~{}"})


def _latex_fallback(name: str) -> str:
    """A name with no LaTeX given, as upright text that cannot unbalance the surrounding markup."""
    return r"\text{" + display_name(name).translate(_TEXT_ESCAPES) + "}"


def _symbols(expr) -> set:
    if isinstance(expr, (list, tuple, set, frozenset)):
        return set().union(*(_symbols(e) for e in expr)) if expr else set()
    if isinstance(expr, dict):
        return _symbols(list(expr.keys())) | _symbols(list(expr.values()))
    return set(getattr(expr, "free_symbols", ()))


def _symbol_names(expr, names: dict) -> dict:
    """``{Symbol: LaTeX}`` for every symbol of ``expr`` whose name is mapped in ``names`` or is not simple."""
    out = {}
    for s in _symbols(expr):
        if type(s) is not sp.Symbol and not isinstance(s, sp.Dummy):
            continue                                   # Indexed and the like print themselves
        if s.name in names:
            out[s] = names[s.name]
        elif not _SIMPLE_NAME.fullmatch(s.name):
            out[s] = _latex_fallback(s.name)
    return out


def _is_word(text: str) -> bool:
    """A name of two or more Latin letters that LaTeX would set as a product of italic letters (``ratio``, ``eq``)
    and that is no Greek letter or accent SymPy translates."""
    return len(text) > 1 and text.isascii() and text.isalpha() and latex_translate(text) == text


class _Latex(LatexPrinter):
    """SymPy's LaTeX printer with a multi-letter name (``ratio``, the ``eq`` of ``K_eq``) set upright as one word,
    ``\\mathrm{ratio}``, not as the product r a t i o; the names mapped in ``symbol_names`` print as given."""

    def _print_Symbol(self, expr, style: str = "plain") -> str:
        string = expr.name
        if expr in self._settings["symbol_names"] or not _SIMPLE_NAME.fullmatch(string):
            return super()._print_Symbol(expr, style)
        name, supers, subs = split_super_sub(string)
        if not (_is_word(name) or any(_is_word(x) for x in supers + subs)):
            return super()._print_Symbol(expr, style)
        word = lambda t: r"\mathrm{" + t + "}" if _is_word(t) else latex_translate(t)
        out = word(name)
        if style == "bold":
            out = r"\mathbf{" + out + "}"
        if supers:
            out += "^{" + " ".join(word(x) for x in supers) + "}"
        if subs:
            out += "_{" + " ".join(word(x) for x in subs) + "}"
        return out


def to_latex(expr, names: dict | None = None) -> str:
    """LaTeX of ``expr`` with the symbol names of ``names`` (name -> LaTeX), a safe form for other names that are
    not LaTeX, and multi-letter names upright (:class:`_Latex`)."""
    return _Latex({"symbol_names": _symbol_names(expr, names or {})}).doprint(expr)


class _MathML(MathMLPresentationPrinter):
    """Presentation MathML in which a name SymPy cannot split is one identifier, shown as :func:`display_name`."""

    def _print_Symbol(self, sym, style="plain"):
        if _SIMPLE_NAME.fullmatch(sym.name):
            return super()._print_Symbol(sym, style)
        sub = _TRAILING_SUB.fullmatch(sym.name)
        if sub:                                    # "\dot a_k": a_k with the dot, the k as a subscript
            msub = self.dom.createElement("msub")
            msub.appendChild(self._mi(display_name(sub.group(1))))
            msub.appendChild(self._mi(sub.group(2)))
            return msub
        return self._mi(display_name(sym.name))

    def _mi(self, text: str):
        """An identifier; upright when it is more than one letter (combining accents not counted)."""
        mi = self.dom.createElement("mi")
        if sum(not unicodedata.combining(c) for c in text) > 1:
            mi.setAttribute("mathvariant", "normal")
        mi.appendChild(self.dom.createTextNode(html.escape(text, quote=False)))   # the writer does not escape
        return mi

    _print_Dummy = _print_Symbol

    def _print_Subs(self, e):
        """``expr|_{s = s_k}``: the expression, a bar, the substitutions below it (SymPy prints ``subs(...)``)."""
        expr, old, new = e.args
        bar = self.dom.createElement("mrow")
        bar.appendChild(self._print(expr))
        mo = self.dom.createElement("mo")
        mo.setAttribute("stretchy", "true")
        mo.appendChild(self.dom.createTextNode("|"))
        bar.appendChild(mo)
        at = self.dom.createElement("mrow")
        for i, (o, n) in enumerate(zip(old, new)):
            if i:
                at.appendChild(self._mo(","))
            at.appendChild(self._print(o))
            at.appendChild(self._mo("="))
            at.appendChild(self._print(n))
        msub = self.dom.createElement("msub")
        msub.appendChild(bar)
        msub.appendChild(at)
        return msub

    def _print_Piecewise(self, e):
        """A brace and one row per piece, ``value  if condition`` (``otherwise`` for the last, true, one)."""
        table = self.dom.createElement("mtable")
        table.setAttribute("columnalign", "left left")
        for value, cond in e.args:
            row = self.dom.createElement("mtr")
            for part in (value, cond):
                cell = self.dom.createElement("mtd")
                if part is cond:
                    text = self.dom.createElement("mtext")
                    text.appendChild(self.dom.createTextNode("otherwise" if cond == sp.true else "if\u00a0"))
                    cell.appendChild(text)
                    if cond != sp.true:
                        cell.appendChild(self._print(cond))
                else:
                    cell.appendChild(self._print(part))
                row.appendChild(cell)
            table.appendChild(row)
        mrow = self.dom.createElement("mrow")
        mrow.appendChild(self._mo("{"))
        mrow.appendChild(table)
        return mrow

    def _mo(self, text: str):
        mo = self.dom.createElement("mo")
        mo.appendChild(self.dom.createTextNode(text))
        return mo

    def doprint(self, expr):
        """As SymPy's, with every identifier of two or more letters marked upright (``mathvariant="normal"``): a
        name (``ratio``, the ``eq`` of ``K_eq``) or a function (``log``) is one word, not a product of italics."""
        root = self._print(expr)
        stack = [root]
        while stack:
            el = stack.pop()
            if getattr(el, "tagName", None) == "mi" and not el.getAttribute("mathvariant"):
                text = "".join(c.data for c in el.childNodes if c.nodeType == c.TEXT_NODE)
                if sum(not unicodedata.combining(c) for c in html.unescape(text)) > 1:
                    el.setAttribute("mathvariant", "normal")
            stack.extend(getattr(el, "childNodes", ()))
        return root.toxml().encode("ascii", "xmlcharrefreplace").decode()

    def _print_Function(self, e):
        if not isinstance(e, AppliedUndef):
            return super()._print_Function(e)
        mrow = self.dom.createElement("mrow")      # an undefined function keeps its case: E(...), not e(...)
        mrow.appendChild(self._print(sp.Symbol(type(e).__name__)))
        mrow.appendChild(self._paren_comma_separated(*e.args))
        return mrow


_ENTITY = re.compile(r"&([A-Za-z][A-Za-z0-9]*);")
#: a name that is not simple but ends in one plain subscript (``\\dot a_k``): the base and the subscript
_TRAILING_SUB = re.compile(r"([^_]+)_([A-Za-z0-9]+)")


def to_mathml(expr) -> str:
    """``<math display="block">`` presentation MathML of ``expr`` (a list or tuple of results: one row).

    Named entities are written as numeric references, so the fragment is also well-formed XML.
    """
    if isinstance(expr, (list, tuple)):
        expr = sp.Tuple(*expr)
    if isinstance(expr, bool):
        expr = sp.true if expr else sp.false
    body = _MathML({"mat_delim": "["}).doprint(sp.sympify(expr))
    body = _ENTITY.sub(lambda m: "".join(f"&#{ord(c)};" for c in html5[m.group(1) + ";"])
                       if m.group(1) + ";" in html5 and m.group(1) not in ("amp", "lt", "gt", "quot") else m.group(0),
                       body)
    body = body.replace("<mo><</mo>", "<mo>&lt;</mo>").replace("<mo>></mo>", "<mo>&gt;</mo>")
    return f'<math xmlns="http://www.w3.org/1998/Math/MathML" display="block">{body}</math>'


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
    latex_names : dict
        Symbol name -> LaTeX, for names that are not LaTeX (set by the paper package).
    """

    key: str
    name: str
    title: str
    text: dict
    results: dict
    identities: dict = field(default_factory=dict)
    label: str = "reconstruction of a published result"
    latex_names: dict = field(default_factory=dict)

    def rendered(self) -> list[dict]:
        """Every result as ``{"label", "latex", "mathml"}``: its label as plain text, its LaTeX and MathML."""
        return [{"label": display_name(label), "latex": to_latex(value, self.latex_names),
                 "mathml": to_mathml(value)} for label, value in self.results.items()]

    def latex(self) -> str:
        """Markdown with the LaTeX of each result: its label on a line of its own, then the LaTeX in a fenced
        ```` ```math ```` block (GitHub renders it; plain CommonMark shows the LaTeX as readable code, never a
        list item or emphasis made of math), then the identities and whether they verified."""
        lines = [f"### {self.key}. {self.title}", "", self.text.get("statement", ""), ""]
        for label, value in self.results.items():
            lines += [f"{display_name(label)}:", "", "```math", to_latex(value, self.latex_names), "```", ""]
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
            "results": {k: {"sympy": str(v), "latex": to_latex(v, self.latex_names)}
                        for k, v in self.results.items()},
            "identities": dict(self.identities),
        }


def is_zero(expr) -> bool:
    """True when ``expr`` (scalar or Matrix) simplifies to zero.

    Cheap rewritings are tried first (each is an identity transformation, so reaching 0 proves the difference
    zero): ``expand`` and ``cancel`` settle most identities of the derivations in milliseconds; ``simplify``
    (about ten times dearer: seconds per paper) decides the rest."""
    if isinstance(expr, sp.MatrixBase):
        return all(is_zero(e) for e in expr)
    expr = sp.sympify(expr)
    if expr == 0:
        return True
    for rewrite in (sp.expand, sp.cancel):
        try:
            if rewrite(expr) == 0:
                return True
        except (sp.PolynomialError, NotImplementedError, TypeError, ValueError):
            pass        # not a form the rewriting handles: simplify decides
    return sp.simplify(expr) == 0
