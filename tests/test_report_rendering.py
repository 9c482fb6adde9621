"""Rendered reports read as intended: Markdown parsed by markdown-it keeps every section (no code fence opened
mid-line or swallowing later sections), derived results of every paper convert to balanced LaTeX and to MathML,
and the HTML parses (html5lib) with its <math> elements."""
from __future__ import annotations

import copy
import re

import html5lib
import pytest
from markdown_it import MarkdownIt

import theory
from theory.derivation import display_name, to_latex, to_mathml
from verify.report import render_html, render_markdown

from test_report import make_report


def headings(md: str) -> list[str]:
    """The text of every heading markdown-it finds (fences and HTML blocks are not headings)."""
    tokens = MarkdownIt("commonmark").enable("table").parse(md)
    return [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"]


def expected_headings(md: str) -> list[str]:
    """Every line that the renderer wrote as a heading (outside fences, by construction of the renderer)."""
    out, fence = [], None
    for line in md.splitlines():
        m = re.match(r"^(`{3,})", line)
        if m and (fence is None or line.strip() == fence):
            fence = None if fence else m.group(1)
            continue
        if fence is None and re.match(r"^#{1,6} ", line):
            out.append(line.lstrip("#").strip())
    return out


def every_section_report() -> dict:
    """The synthetic report with values that tempt a renderer into a fence mid-line: long multi-line strings
    as measured values, backticks, a pipe, and derived results in both schema forms."""
    report = make_report()
    c0, c1 = report["claims"][0], report["claims"][1]
    c0["measured"] = "line one\nline two with ``` three backticks\n" + "x" * 150
    c0["predicted"] = {f"key{i}": list(range(12)) for i in range(6)}
    c0["results"] = [{"label": "E[lambda x^2]", "latex": to_latex(theory.derive("noisy-quadratic", "Q1")
                                                                  .results["stationary loss"]),
                      "mathml": to_mathml(theory.derive("noisy-quadratic", "Q1").results["stationary loss"])}]
    c0["key"] = {"quantity": "t_half relative error", "measured": 0.002, "predicted": 0.0, "margin": 0.4,
                 "why": None}
    c1["key"] = {"quantity": "slope", "measured": 1.7, "predicted": 1.0, "margin": 3.5,
                 "why": "the slope is 1.7, outside the band [0.9, 1.1]"}
    c1["negative_control"] = {"description": "`wrong` | slope", "status": "passed",
                              "predicted": "a\nb", "measured": {"long": "y" * 200}}
    return report


def test_markdown_keeps_every_heading_of_a_report_with_every_section_type():
    md = render_markdown(every_section_report())
    found, wanted = headings(md), expected_headings(md)
    assert len(found) == len(wanted) >= 12
    for title in ("Summary", "Run", "Regenerate", "Figures", "Derived results", "Statement"):
        assert any(h == title for h in found), title
    tokens = MarkdownIt("commonmark").enable("table").parse(md)
    fences = [t for t in tokens if t.type == "fence"]
    assert fences and all(t.info in ("", "text", "math") for t in fences)  # no fence opened by a value's text
    assert not any(re.search(r"^#{1,6} ", t.content, re.M) for t in fences)  # no fence swallows a section


def test_summary_row_shows_the_key_number_and_why():
    md = render_markdown(every_section_report())
    rows = [ln for ln in md.splitlines() if ln.startswith("| [")]
    assert "t\\_half relative error" in rows[0] and "`0.002`" in rows[0] and "`0.4`" in rows[0]
    assert "`3.5`" in rows[1] and "the slope is 1.7, outside the band" in rows[1]


def test_the_heading_check_catches_a_fence_opened_mid_line():
    md = render_markdown(every_section_report())
    # the defect this file guards against: a fence opened after a label, whose closing fence opens a new one
    broken = md.replace("## `H1", "**Measured:** ```text\n{a: 1}\n\n```\n\n## `H1", 1)
    assert len(headings(broken)) < len(expected_headings(md))


@pytest.fixture(scope="module")
def derived():
    """(paper, key, label, expression) of every derived result of every paper."""
    out = []
    for paper in theory.PAPERS:
        package = theory.paper(paper)
        for key in package.DERIVATIONS:
            d = package.derive(key)
            assert d.latex_names is package.LATEX_NAMES
            out += [(paper, key, label, value, d.latex_names) for label, value in d.results.items()]
    return out


def bracket_groups_balanced(tex: str) -> bool:
    """True when braces balance and no brace group holds an unmatched [ or ] (E[f*^{2]} fails)."""
    stack = [0]
    for ch in re.sub(r"\\[{}\[\]]", "", tex):
        if ch == "{":
            stack.append(0)
        elif ch == "}":
            if len(stack) == 1 or stack.pop() != 0:
                return False
        elif ch in "[]":
            stack[-1] += 1 if ch == "[" else -1
    return stack == [0]


def test_balance_check_catches_sympys_split_names():
    import sympy as sp

    assert not bracket_groups_balanced(sp.latex(sp.Symbol("E[f*^2]")))          # E[f*^{2]}
    assert bracket_groups_balanced(to_latex(sp.Symbol("E[f*^2]")))             # the \text fallback
    assert bracket_groups_balanced(r"\left[\begin{matrix}a & b\end{matrix}\right]")


def test_every_derived_result_converts_to_latex_and_mathml(derived):
    from xml.dom import minidom

    assert len(derived) > 100
    for paper, key, label, value, names in derived:
        tex = to_latex(value, names)
        assert bracket_groups_balanced(tex), (paper, key, label, tex)
        assert "False" not in tex and "True" not in tex, (paper, key, label, tex)   # an Eq that evaluated away
        assert not re.search(r"\^\{[^{}]*\]", tex), (paper, key, label, tex)
        mathml = to_mathml(value)
        root = minidom.parseString(mathml).documentElement                     # well-formed XML
        assert root.tagName == "math", (paper, key, label)
        assert display_name(label).strip()


def test_every_derived_result_prints_without_leaks_and_with_upright_names(derived):
    """Issue 23: no SymPy class as a name (``subs(...)``, ``piecewise(...)``) in the MathML, every multi-letter
    identifier upright, and LaTeX with known commands and no multi-letter name in italics (``ratio``)."""
    from test_report_math import latex_problems, mathml_problems

    for paper, key, label, value, names in derived:
        tex = to_latex(value, names)
        assert not latex_problems(tex), (paper, key, label, tex, latex_problems(tex))
        assert not mathml_problems(to_mathml(value)), (paper, key, label, mathml_problems(to_mathml(value)))


def test_mapped_names_are_used_and_no_current_name_falls_back(derived):
    """Every symbol name SymPy cannot split has a LaTeX name in its paper's LATEX_NAMES."""
    from theory.derivation import _SIMPLE_NAME, _symbols

    missing = set()
    for paper, key, label, value, names in derived:
        for s in _symbols(value):
            if type(s).__name__ == "Symbol" and not _SIMPLE_NAME.fullmatch(s.name) and s.name not in names:
                missing.add((paper, s.name))
    assert not missing


def test_html_parses_and_shows_mathml(tmp_path):
    report = every_section_report()
    page = render_html(report, tmp_path)
    doc = html5lib.parse(page, namespaceHTMLElements=False)
    maths = doc.findall(".//{http://www.w3.org/1998/Math/MathML}math") or doc.findall(".//math")
    assert len(maths) == 1
    assert "<script" not in page
    hostile = copy.deepcopy(report)                      # markup smuggled in as MathML is shown as LaTeX instead
    hostile["claims"][0]["results"][0]["mathml"] = '<math><mi>x</mi><script>alert(1)</script></math>'
    page = render_html(hostile, tmp_path)
    assert "<script" not in page and 'class="latex"' in page


_HOSTILE_MATHML = [
    '<math><?x ><img src=x onerror=alert(document.domain)>?></math>',          # the audit's payload
    '<math><mi>x</mi><!-- --><img src=x onerror=alert(1)> --></math>',
    '<math><mtext><![CDATA[<img src=x onerror=alert(1)>]]></mtext></math>',
    '<!DOCTYPE math [<!ENTITY e "&lt;img src=x onerror=alert(1)&gt;">]><math><mi>&e;</mi></math>',
    '<math><mi>&lt;img src=x onerror=alert(1)&gt;</mi></math>',                 # escaped text stays text
    '<math><mi mathvariant="&quot; onmouseover=&quot;alert(1)">x</mi></math>',  # an attribute value breaking out
    '<math><mi href="javascript:alert(1)">x</mi></math>',
    '<math><mi><svg><script>alert(1)</script></svg></mi></math>',
]


def _live_markup(page: str) -> list:
    """Event handlers, scripts, javascript: URLs and foreign elements of ``page`` as an HTML5 parser reads it."""
    doc = html5lib.parse(page, namespaceHTMLElements=False)
    found = []
    for el in doc.iter():
        tag = el.tag.rsplit("}", 1)[-1] if isinstance(el.tag, str) else ""
        if tag in ("script", "iframe", "object", "embed", "svg", "img") and not (
                tag == "img" and el.get("src", "").startswith("data:image/png;base64,")):
            found.append(tag)
        for name, value in el.attrib.items():
            if name.lower().startswith("on") or "javascript:" in str(value).lower():
                found.append(f"{tag}@{name}")
    return found


@pytest.mark.parametrize("payload", _HOSTILE_MATHML)
def test_hostile_mathml_never_reaches_the_page_live(tmp_path, payload):
    report = every_section_report()
    hostile = copy.deepcopy(report)
    hostile["claims"][0]["results"][0]["mathml"] = payload
    page = render_html(hostile, tmp_path)
    assert _live_markup(page) == []


def test_the_live_markup_check_sees_the_audit_payload_passed_through():
    # control: the page as the earlier checker built it (the original text inserted once its parsed tree passed
    # the whitelist) carries a live onerror handler
    payload = _HOSTILE_MATHML[0]
    assert _live_markup(f"<!DOCTYPE html><html><body><p>{payload}</p></body></html>") != []


def test_mathml_is_serialised_from_the_checked_tree():
    from verify.report.html import _safe_mathml

    out = _safe_mathml('<math display="block"><mi>a&lt;b</mi><mo>&#x2062;</mo></math>')
    assert out == ('<math xmlns="http://www.w3.org/1998/Math/MathML" display="block"><mi>a&lt;b</mi>'
                   '<mo>\u2062</mo></math>')
    assert _safe_mathml(_HOSTILE_MATHML[0]) is None and _safe_mathml("<math>" * 100000) is None


def test_committed_reports_pass_every_formula_and_render_without_live_markup():
    import json
    from pathlib import Path

    from verify.report.html import _safe_mathml

    root = Path(__file__).resolve().parent.parent / "reports"
    for path in sorted(root.glob("*/*/report.json")):
        report = json.loads(path.read_text(encoding="utf-8"))
        formulas = [r["mathml"] for c in report.get("claims", []) for r in c.get("results", []) or []
                    if isinstance(r, dict) and r.get("mathml")]
        assert all(_safe_mathml(m) is not None for m in formulas), path
        assert _live_markup(render_html(report, path.parent)) == [], path
