"""The index names and highlights the claims that did not pass, and a paper is one clean line everywhere
(issue 23: "(Ciuca, talk) (talk (no arXiv id); ...)" was printed in the index, --help and list)."""
from __future__ import annotations

import copy
import io
import json
import re
from contextlib import redirect_stdout
from pathlib import Path

import html5lib
import pytest

import theory
from verify.report.index import render_index_html, render_index_markdown, write_index
from verify.report.sections import paper_line

from test_report import make_report

ROOT = Path(__file__).resolve().parents[1]

#: a paper line names its source once: no "(... talk) (talk ...)" and no parenthesis inside a parenthesis
_DOUBLED = re.compile(r"\([^()]*\([^()]*\)[^()]*\)|talk\W+talk|\)\s*\(")


@pytest.mark.parametrize("title, arxiv, line", [
    ("Neural Network Training Dynamics: Towards Making Sense of a Confusing Mess (Ciuca, talk)", "talk (no arXiv id)",
     "Neural Network Training Dynamics: Towards Making Sense of a Confusing Mess (Ciuca; talk)"),
    ("On Multi-Stage Loss Dynamics in Neural Networks (Chen, Luo, Wang)", "arXiv:2410.20119",
     "On Multi-Stage Loss Dynamics in Neural Networks (Chen, Luo, Wang; arXiv:2410.20119)"),
    ("A title without authors", "arXiv:1234.5678", "A title without authors (arXiv:1234.5678)"),
])
def test_paper_line(title, arxiv, line):
    assert paper_line(title, arxiv) == line
    assert not _DOUBLED.search(line)


def test_every_paper_is_one_clean_line_in_list_and_help():
    from verify.cli import build_parser, main

    lines = [paper_line(theory.paper(k).TITLE, theory.paper(k).ARXIV) for k in theory.PAPERS]
    assert all(not _DOUBLED.search(ln) for ln in lines), lines
    out = io.StringIO()
    with redirect_stdout(out):
        main(["list"])
    listing = out.getvalue()
    for key, line in zip(theory.PAPERS, lines):
        assert f"{line} [{key}]" in listing
    assert not _DOUBLED.search(listing.replace("[", "").split("\n")[0])
    assert "talk (no arXiv id)" not in listing and "talk (no arXiv id)" not in build_parser().format_help()


def _tree(tmp_path: Path) -> Path:
    """A reports folder with one run whose claims passed, failed as documented, failed unexpectedly,
    were inconclusive, raised and did not apply."""
    report = make_report()
    c = report["claims"]
    error = copy.deepcopy(c[0])
    error.update(claim="D10-raises", status="error", traceback="Traceback (most recent call last):\nValueError: x",
                 key=None)
    surprise = copy.deepcopy(c[0])
    surprise.update(claim="D11-surprise", status="failed")
    doubt = copy.deepcopy(c[0])
    doubt.update(claim="D12 odd/id", status="inconclusive")
    report["claims"] += [error, surprise, doubt]
    report["summary"] = {s: sum(x["status"] == s for x in report["claims"])
                         for s in ("passed", "failed", "inconclusive", "error", "not-applicable")}
    report["paper"] = {"key": "noisy-quadratic", "title": theory.paper("noisy-quadratic").TITLE,
                       "arxiv": theory.paper("noisy-quadratic").ARXIV}
    folder = tmp_path / "noisy-quadratic" / "quick-seed0"
    folder.mkdir(parents=True)
    (folder / "report.json").write_text(json.dumps(report), encoding="utf-8")
    return tmp_path


def test_the_index_names_and_highlights_the_claims_that_did_not_pass(tmp_path):
    root = _tree(tmp_path)
    paths = write_index(root)
    md = Path(paths["md"]).read_text(encoding="utf-8")
    assert "## Neural Network Training Dynamics: Towards Making Sense of a Confusing Mess (Ciuca; talk)" in md
    assert not _DOUBLED.search(md.split("## ", 2)[1].split("\n")[0].replace("(`noisy-quadratic`)", ""))
    listed = md.split("Did not pass in the latest run", 1)[1].split("\n\n|", 1)[0]
    # each failed, inconclusive and error claim named, linked to its section, marked expected or not
    assert "- failed: [`H1-heuristic-width`](noisy-quadratic/quick-seed0/report.md#claim-H1-heuristic-width) " \
           "(expected finding)" in listed
    assert "- **failed**: [`D11-surprise`](noisy-quadratic/quick-seed0/report.md#claim-D11-surprise) " \
           "(unexpected)" in listed
    assert "- **error**: [`D10-raises`](noisy-quadratic/quick-seed0/report.md#claim-D10-raises) (unexpected)" in listed
    assert "**inconclusive**: [`D12 odd/id`](noisy-quadratic/quick-seed0/report.md#claim-D12-odd-id)" in listed
    assert "D9-descent-time" not in listed and "D6-plateau" not in listed      # passed, not applicable
    page = Path(paths["html"]).read_text(encoding="utf-8")
    html5lib.HTMLParser(strict=True).parse(page)
    assert '<span class="status status-error">error</span> <a href="noisy-quadratic/quick-seed0/report.html' \
           '#claim-D10-raises"><code>D10-raises</code></a> <span class="unexpected">(unexpected)</span>' in page
    assert '<span class="expected">(expected finding)</span>' in page
    assert "(Ciuca; talk)" in page and "talk (no arXiv id)" not in page


def test_an_index_of_runs_that_all_passed_says_so(tmp_path):
    report = make_report()
    report["claims"] = [report["claims"][0]]
    report["summary"] = {"passed": 1, "failed": 0, "inconclusive": 0, "error": 0, "not-applicable": 0}
    folder = tmp_path / "demo" / "r1"
    folder.mkdir(parents=True)
    (folder / "report.json").write_text(json.dumps(report), encoding="utf-8")
    write_index(tmp_path)
    md = (tmp_path / "index.md").read_text(encoding="utf-8")
    assert f"Every claim passed or does not apply in the latest run ({report['run_id']})." in md
    assert "Did not pass" not in md


def test_the_committed_index_is_what_the_reports_render():
    """reports/index.md and index.html are rendered from the committed reports (re-render: write_index)."""
    from verify.report.index import collect_runs

    papers = collect_runs(ROOT / "reports")
    assert set(papers) == set(theory.PAPERS)
    assert (ROOT / "reports" / "index.md").read_text(encoding="utf-8") == render_index_markdown(papers)
    assert (ROOT / "reports" / "index.html").read_text(encoding="utf-8") == render_index_html(papers)
