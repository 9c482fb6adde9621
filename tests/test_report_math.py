"""Math that renders everywhere (issue 23): every formula of the three committed reports parses as MathML (and
passes the page's sanitiser) and as LaTeX; the live derivations print without SymPy leaks (``subs(...)``,
``piecewise(...)``) and with multi-letter names upright; report.md puts display math in fenced ``math`` blocks,
which markdown-it never reads as a list, emphasis or a heading."""
from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path
from xml.etree import ElementTree

import pytest
import sympy as sp
from markdown_it import MarkdownIt

import theory
from theory.derivation import to_latex, to_mathml
from verify.report import render_markdown
from verify.report.html import _safe_mathml

ROOT = Path(__file__).resolve().parents[1]
MML = "{http://www.w3.org/1998/Math/MathML}"

#: the LaTeX commands our printers write (SymPy's and the papers' LATEX_NAMES), all of them known to KaTeX and
#: MathJax (GitHub's math); a command outside this list is a typo or a printer's private macro
KNOWN_COMMANDS = frozenset("""
    frac dfrac tfrac sqrt left right log ln exp sin cos tan sinh cosh tanh arcsin arccos arctan sec csc cot
    operatorname mathrm mathbf mathbb mathcal mathit text textrm
    alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta iota kappa lambda mu nu xi pi rho varrho
    sigma varsigma tau upsilon phi varphi chi psi omega Gamma Delta Theta Lambda Xi Pi Sigma Upsilon Phi Psi Omega
    cdot cdots ldots dots times pm mp leq geq le ge neq ne approx sim simeq equiv infty partial nabla
    int iint sum prod lim limits min max sup inf substack begin end quad qquad big Big bigg Bigg bigl bigr
    dot ddot hat bar tilde vec overline underline mid vert lvert rvert lVert rVert langle rangle lfloor rfloor
    lceil rceil wedge vee neg forall exists in notin subset subseteq cup cap setminus emptyset to mapsto
    rightarrow leftarrow Rightarrow Leftrightarrow ell hbar displaystyle textstyle left right middle
    operatorname otimes oplus circ star ast prime top intercal gtrsim lesssim ll gg propto polygamma
    """.split())

#: a word of two or more letters outside the argument of \\mathrm, \\text, \\operatorname, ... is set as a
#: product of italic letters ("ratio" reads r a t i o); differentials (dt, ds, du) are exceptions, and so is a
#: two-letter run with a capital (tA: t times the matrix A)
_WORD_ARGS = re.compile(r"\\(mathrm|text|textrm|operatorname|mathbb|mathcal|mathbf|mathit|begin|end)\s*\{[^{}]*\}")
_DIFFERENTIAL = re.compile(r"^d[a-z]$")


def latex_problems(tex: str) -> list[str]:
    """What would keep ``tex`` from typesetting as meant: unbalanced groups, \\left without \\right, an
    environment not closed, an unknown command, a multi-letter name in italics."""
    problems = []
    tex = tex.replace("\\\\", " ")                     # a row break of a matrix or cases
    depth = 0
    for ch in re.sub(r"\\[{}]", "", tex):
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth < 0:
            problems.append("a '}' closes no group")
            break
    if depth > 0:
        problems.append(f"{depth} group(s) left open")
    lefts, rights = len(re.findall(r"\\left(?![A-Za-z])", tex)), len(re.findall(r"\\right(?![A-Za-z])", tex))
    if lefts != rights:
        problems.append(f"{lefts} \\left against {rights} \\right")
    if sorted(re.findall(r"\\begin\{(\w+)\}", tex)) != sorted(re.findall(r"\\end\{(\w+)\}", tex)):
        problems.append("an environment is not closed")
    unknown = sorted({c for c in re.findall(r"\\([A-Za-z]+)", tex) if c not in KNOWN_COMMANDS})
    if unknown:
        problems.append(f"unknown command(s) {unknown}")
    bare = re.sub(r"\\[A-Za-z]+", " ", _WORD_ARGS.sub(" ", tex))
    words = sorted({w for w in re.findall(r"(?<![A-Za-z])[A-Za-z]{2,}(?![A-Za-z])", bare)
                    if not _DIFFERENTIAL.match(w) and (len(w) > 2 or w.islower())})
    if words:
        problems.append(f"multi-letter name(s) in italics {words}")
    return problems


def mathml_problems(text: str, *, strict: bool = True) -> list[str]:
    """What would keep ``text`` from showing as meant: not well-formed, not a <math> element, rejected by the
    page's sanitiser; ``strict``: a SymPy class leaking as a function name, a multi-letter identifier not
    marked upright."""
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError as exc:
        return [f"not well-formed XML ({exc})"]
    if root.tag not in ("math", MML + "math"):
        return [f"the root is {root.tag}, not math"]
    problems = [] if _safe_mathml(text) else ["rejected by the page's sanitiser (_safe_mathml)"]
    if strict:
        for mi in root.iter(MML + "mi"):
            word = (mi.text or "").strip()
            if word.lower() in ("subs", "piecewise", "true", "false", "derivative", "integral"):
                problems.append(f"SymPy's {word} printed as a name")
            elif sum(not unicodedata.combining(c) for c in word) > 1 and mi.get("mathvariant") is None:
                problems.append(f"multi-letter identifier {word!r} not marked upright")
    return problems


def _committed(paper: str) -> dict:
    path = ROOT / "reports" / paper / "default-seed0" / "report.json"
    return json.loads(path.read_text(encoding="utf-8"))


def _formulas(report: dict):
    seen = set()
    for claim in report["claims"]:
        for res in claim.get("results") or ():
            if (res["latex"], res.get("mathml")) not in seen:
                seen.add((res["latex"], res.get("mathml")))
                yield claim["claim"], res


# ------------------------------------------------------------------------------ the checks can fail

def test_the_checks_catch_the_known_defects():
    s, sk = sp.symbols("s s_k")
    subs = sp.Subs(sp.Derivative(sp.Function("sigma")(s), s), s, sk)
    assert "SymPy's subs printed as a name" in mathml_problems(
        '<math xmlns="http://www.w3.org/1998/Math/MathML"><mi>subs</mi></math>')
    assert mathml_problems('<math xmlns="http://www.w3.org/1998/Math/MathML"><mi>ratio</mi></math>')
    assert mathml_problems("<math><mi>x</mi>")                                   # not well-formed
    assert any("italics" in p for p in latex_problems(sp.latex(sp.Symbol("ratio"))))
    assert any("italics" in p for p in latex_problems(sp.latex(sp.Symbol("K_eq"))))
    assert latex_problems(r"\left( x") and latex_problems(r"\frac{a}{b") and latex_problems(r"\foo x")
    # ... and the printers fix them
    assert not mathml_problems(to_mathml(subs)) and not latex_problems(to_latex(subs))
    assert not latex_problems(to_latex(sp.Symbol("ratio") + sp.Symbol("K_eq")))
    assert to_latex(sp.Symbol("ratio")) == r"\mathrm{ratio}" and to_latex(sp.Symbol("K_eq")) == r"K_{\mathrm{eq}}"
    x = sp.Symbol("x")
    assert not mathml_problems(to_mathml(sp.Piecewise((x, x > 0), (0, True))))


# ------------------------------------------------------------------------------ committed reports

@pytest.mark.parametrize("paper", list(theory.PAPERS))
def test_every_formula_of_a_committed_report_parses_as_mathml_and_as_latex(paper):
    """Every formula of the committed report: its MathML well-formed and accepted by the sanitiser, its LaTeX
    balanced with known commands.  (Leaks and italic words are checked on the live printers below: a committed
    report.json keeps the printers of its run until it is regenerated.)"""
    formulas = list(_formulas(_committed(paper)))
    assert formulas
    for cid, res in formulas:
        assert res.get("mathml"), (cid, res["label"])
        assert not mathml_problems(res["mathml"], strict=False), (cid, res["label"])
        problems = [p for p in latex_problems(res["latex"]) if "italics" not in p]
        assert not problems, (cid, res["label"], res["latex"], problems)


# the live printers on every derived result of every paper: tests/test_report_rendering.py
# (test_every_derived_result_prints_without_leaks_and_with_upright_names, on its fixture of every derivation)


# ------------------------------------------------------------------------------ report.md on markdown-it

@pytest.mark.parametrize("paper", list(theory.PAPERS))
def test_report_md_math_is_fenced_and_never_a_list_or_emphasis(paper):
    report = _committed(paper)
    md = render_markdown(report)
    tokens = MarkdownIt("commonmark").enable("table").parse(md)
    math = [t.content for t in tokens if t.type == "fence" and t.info == "math"]
    for cid, res in _formulas(report):
        tex = "\n".join(ln for ln in res["latex"].strip().splitlines() if ln.strip())
        assert tex + "\n" in math, (cid, res["label"])               # each derived result in a math fence
    assert "$$" not in md
    lists = 0
    for t in tokens:
        if t.type in ("bullet_list_open", "ordered_list_open"):
            lists += 1
        elif t.type in ("bullet_list_close", "ordered_list_close"):
            lists -= 1
        elif t.type == "fence" and t.info == "math":
            assert lists == 0, (paper, t.content)                        # no math block inside a list
        elif t.type == "inline":
            # LaTeX outside a fence would be read as text: emphasis, lists and escapes take it apart
            for child in t.children or ():
                if child.type == "text":
                    assert not re.search(r"\\(frac|left|right|mathrm|operatorname|begin)\b", child.content), \
                        (paper, child.content)
