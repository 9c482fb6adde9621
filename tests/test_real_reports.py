"""The committed reports of every paper read as intended: re-rendered by the project's renderer (and as
committed), their Markdown parsed by markdown-it keeps the heading of every claim section and of every fixed
section, no code fence swallows a heading, and their HTML parses with html5lib's strict parser.

The reports are ``reports/<paper>/default-seed0/report.json``, made by ``python -m verify all --out reports``;
the failed claims among them are also rendered with the figure of their verdict in their section."""
from __future__ import annotations

import base64
import copy
import json
import re
from pathlib import Path

import html5lib
import pytest
from markdown_it import MarkdownIt

import theory
from verify.report import render_html, render_markdown
from verify.report.files import _run_record
from verify.runner import _verdict_figures

from test_report_rendering import expected_headings

ROOT = Path(__file__).resolve().parents[1]
FIXED = ("Summary", "Run", "Regenerate")
#: the labelled lines every claim's compact Markdown section holds (its sub-sections are in report.html)
PER_CLAIM = ("**Tolerance:**", "**Seeds:**")


def report_dir(paper: str) -> Path:
    return ROOT / "reports" / paper / "default-seed0"


def tokens_of(md: str) -> list:
    return MarkdownIt("commonmark").enable("table").parse(md)


def heading_tokens(md: str) -> list[tuple[int, str]]:
    """(level, raw inline text) of every heading markdown-it finds."""
    tokens = tokens_of(md)
    return [(int(t.tag[1]), tokens[i + 1].content) for i, t in enumerate(tokens) if t.type == "heading_open"]


def check_markdown(md: str, report: dict) -> None:
    """Every claim's section heading, its sub-headings and the fixed sections are heading tokens; no fence
    swallows a heading."""
    found = heading_tokens(md)
    texts = [text for _, text in found]
    assert len(found) == len(expected_headings(md))                       # nothing the renderer wrote was lost
    assert [level for level, _ in found][0] == 1 and texts[0].startswith("Verification report")
    for name in FIXED:
        assert (2, name) in found, name
    if report["figures"]:
        assert (2, "Figures") in found
    claim_headings = [text for level, text in found if level == 2 and text.startswith("`")]
    assert [re.match(r"`([^`]+)`", t).group(1) for t in claim_headings] == [c["claim"] for c in report["claims"]]
    paragraphs = [t.content for t in tokens_of(md) if t.type == "inline"]
    for name in PER_CLAIM:
        assert sum(p.startswith(name) for p in paragraphs) == len(report["claims"]), name
    controls = sum(1 for c in report["claims"] if c.get("negative_control") is not None)
    assert sum(p.startswith("**Negative control:**") for p in paragraphs) == controls
    fences = [t for t in tokens_of(md) if t.type == "fence"]
    assert all(t.info in ("", "text", "math") for t in fences)            # no fence opened by a value's text
    assert not any(re.search(r"^#{1,6} ", t.content, re.M) for t in fences)
    for j, fig in enumerate(report["figures"]):                            # every figure keeps its numbered title
        assert any(text.startswith(f"Figure {j + 1}. ") for text in texts), fig["name"]


def check_html(page: str, report: dict) -> None:
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)
    doc = parser.parse(page)                                              # raises on any parse error
    sections = doc.findall(".//section")
    assert [s.get("id") for s in sections] == ["claim-" + re.sub(r"[^A-Za-z0-9_-]", "-", c["claim"])
                                               for c in report["claims"]]
    h2 = ["".join(h.itertext()) for h in doc.iter("h2")]
    for name in FIXED:
        assert name in h2


@pytest.fixture(scope="module", params=list(theory.PAPERS))
def committed(request):
    folder = report_dir(request.param)
    if not (folder / "report.json").is_file():
        pytest.fail(f"{folder}/report.json is missing: regenerate with 'python -m verify all --out reports'")
    return folder, json.loads((folder / "report.json").read_text(encoding="utf-8"))


def test_every_paper_has_a_committed_report():
    assert all((report_dir(p) / "report.json").is_file() for p in theory.PAPERS)


def test_a_re_rendered_real_report_keeps_every_heading(committed):
    folder, report = committed
    check_markdown(render_markdown(report, _run_record(folder)), report)


def test_the_committed_markdown_keeps_every_heading(committed):
    folder, report = committed
    check_markdown((folder / "report.md").read_text(encoding="utf-8"), report)


def test_a_re_rendered_real_report_parses_as_html(committed):
    folder, report = committed
    check_html(render_html(report, folder, _run_record(folder)), report)


def test_the_committed_html_parses(committed):
    folder, report = committed
    check_html((folder / "report.html").read_text(encoding="utf-8"), report)


def test_a_real_report_with_verdict_figures_keeps_every_heading(tmp_path):
    """The noisy-quadratic report (three claims fail at the default profile, or one made to fail if it has been
    fixed since) with the figure of each failed verdict in its section, as a run now writes it."""
    folder = report_dir("noisy-quadratic")
    report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    if not any(c["status"] in ("failed", "inconclusive") for c in report["claims"]):
        report["claims"][0]["status"] = "failed"
    report = copy.deepcopy(report)
    # the verdict figures are drawn here again, as a run draws them: any the committed report holds go first
    committed_verdicts = {f["png"] for f in report["figures"] if f.get("claim")}
    report["figures"] = [f for f in report["figures"] if not f.get("claim")]
    for c in report["claims"]:
        c["figures"] = [f for f in c.get("figures", []) if f not in committed_verdicts]
    drawn = _verdict_figures(report["claims"])
    assert drawn["figures"]
    for name, data in drawn["files"].items():
        (tmp_path / "figures").mkdir(exist_ok=True)
        (tmp_path / "figures" / name).write_bytes(base64.b64decode(data))
    by_id = {c["claim"]: c for c in report["claims"]}
    for fig in drawn["figures"]:
        by_id[fig["claim"]]["figures"].append(fig["png"])
    report["figures"] += drawn["figures"]
    md = render_markdown(report)
    check_markdown(md, report)
    found = heading_tokens(md)
    for fig in drawn["figures"]:
        assert any(level == 4 and fig["claim"] in text for level, text in found), fig["claim"]
    page = render_html(report, tmp_path)
    check_html(page, report)
    assert "is missing; it cannot be shown" not in page.split("<h2>Figures</h2>", 1)[0]  # the verdict figures embed


def test_the_checks_catch_a_swallowed_heading_and_broken_html(committed):
    """The checks above can fail: a fence opened after a label swallows the next claim's heading, and a stray
    closing tag breaks the strict HTML parse."""
    folder, report = committed
    md = render_markdown(report, _run_record(folder))
    second = report["claims"][1]["claim"] if len(report["claims"]) > 1 else None
    if second is not None:
        # the closing fence of a block opened mid-line opens a new block, which runs to the end of the file
        broken = md.replace(f"## `{second}`", "**Measured:** ```text\n{a: 1}\n\n```\n\n## `" + second + "`", 1)
        with pytest.raises(AssertionError):
            check_markdown(broken, report)
    page = render_html(report, folder, _run_record(folder))
    with pytest.raises(Exception):
        check_html(page.replace("<main>", "<main></span>", 1), report)
