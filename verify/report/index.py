"""The index of every report under a reports folder: ``index.md`` and ``index.html``.

It lists, for each paper folder ``<root>/<paper>/`` (headed by one clean paper line: title, authors, arXiv id or
"talk"), each run that holds a readable ``report.json`` (newest first, by the report's ``created`` date, then by
run id) with its profile, counts, the claims that did not pass (failed, inconclusive, error), each linked to its
section and marked as an expected finding or not, and the claims whose verdict differs from its expectation,
linking to the run's report.
"""
from __future__ import annotations

import html
import json
from pathlib import Path

from ..output import atomic_write
from ..registry import STATUSES
from .sections import _anchors, expectation_of, paper_line, unexpected

#: the statuses the index names and highlights
NOT_PASSED = ("failed", "inconclusive", "error")

__all__ = ["collect_runs", "render_index_markdown", "render_index_html", "write_index"]


def collect_runs(root: str | Path) -> dict[str, list[dict]]:
    """``{paper key: [run, ...]}`` with ``run`` = ``{"path", "run_id", "profile", "created", "summary", "title",
    "arxiv", "unexpected", "not_passed"}`` (``unexpected``: the ids of the claims whose verdict differs from its
    expectation; ``not_passed``: ``{"claim", "status", "expected", "anchor"}`` of each failed, inconclusive or
    error claim, ``expected`` true when its verdict is a finding the claim records)."""
    root = Path(root)
    papers: dict[str, list[dict]] = {}
    for path in sorted(root.glob("*/*/report.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            paper = data["paper"]
            try:    # the run's date from its run record, else the revision's date
                when = json.loads((path.parent / "timing.json").read_text(encoding="utf-8"))["run_date"]
            except (OSError, ValueError, KeyError, TypeError):
                when = data["created"]
            run = {"path": path.parent.relative_to(root).as_posix(), "run_id": data["run_id"],
                   "profile": data["profile"], "created": str(when), "summary": data["summary"],
                   "title": paper["title"], "arxiv": paper["arxiv"], "unexpected": unexpected(data),
                   "not_passed": _not_passed(data)}
        except (OSError, ValueError, KeyError, TypeError):
            continue                      # not a report of this schema: not listed
        papers.setdefault(paper["key"], []).append(run)
    for runs in papers.values():
        runs.sort(key=lambda r: r["run_id"])
        runs.sort(key=lambda r: r["created"], reverse=True)
    return dict(sorted(papers.items()))


def _not_passed(report: dict) -> list[dict]:
    anchors, differ = _anchors(report), set(unexpected(report))
    return [{"claim": c["claim"], "status": c["status"], "anchor": anchors[c["claim"]],
             "expected": c["claim"] not in differ and expectation_of(c, report)["status"] == c["status"]}
            for c in report["claims"] if c["status"] in NOT_PASSED]


def _counts(summary: dict) -> str:
    return ", ".join(f"{summary.get(s, 0)} {s}" for s in STATUSES)


def _md_id(cid: str) -> str:
    """A claim id as inline code in a Markdown table cell (read from a report: no backtick or pipe survives)."""
    return "`" + str(cid).replace("`", "").replace("|", "/") + "`"


def _differs(run: dict) -> list[str]:
    return list(run.get("unexpected") or ())


def _expected_word(item: dict) -> str:
    return "expected finding" if item["expected"] else "unexpected"


def render_index_markdown(papers: dict) -> str:
    lines = ["# Verification reports", ""]
    if not papers:
        lines.append("No reports yet: run `python -m verify all`.")
    else:
        lines += ["Each run's counts, the claims that did not pass (failed, inconclusive or error; an *expected "
                  "finding* is a verdict the claim records against its source) and the claims whose verdict "
                  "differs from its expectation (expected: passed, unless the claim records a finding).", ""]
    for key, runs in papers.items():
        lines += [f"## {paper_line(runs[0]['title'], runs[0]['arxiv'])} (`{key}`)", ""]
        latest = runs[0]
        if latest.get("not_passed"):
            lines.append(f"Did not pass in the latest run ([{latest['run_id']}]({latest['path']}/report.md)):")
            lines.append("")
            for item in latest["not_passed"]:
                mark = "" if item["expected"] else "**"
                lines.append(f"- {mark}{item['status']}{mark}: [{_md_id(item['claim'])}]"
                             f"({latest['path']}/report.md#{item['anchor']}) ({_expected_word(item)})")
            lines.append("")
        else:
            lines += [f"Every claim passed or does not apply in the latest run ({latest['run_id']}).", ""]
        lines += ["| run | profile | run date | claims | did not pass | differ from the expectation |",
                  "| --- | --- | --- | --- | --- | --- |"]
        for i, r in enumerate(runs):
            tag = " (latest)" if i == 0 else ""
            differ = ", ".join(_md_id(c) for c in _differs(r)) or "none"
            failed = ", ".join(f"[{_md_id(x['claim'])}]({r['path']}/report.md#{x['anchor']}) {x['status']}"
                               for x in r.get("not_passed") or ()) or "none"
            lines.append(f"| [{r['run_id']}]({r['path']}/report.md){tag} | {r['profile']} | {r['created']} | "
                         f"{_counts(r['summary'])} | {failed} | {differ} |")
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


_CSS = ("body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left;"
        "vertical-align:top}ul.not-passed{padding-left:1.2rem}"
        ".status{display:inline-block;padding:0 .5em;border-radius:1em;font-weight:600;font-size:.9em}"
        ".status-failed{background:#ffebe9;color:#a40e26;border:1px solid #ff8182}"
        ".status-inconclusive{background:#fff8c5;color:#7d4e00;border:1px solid #d4a72c}"
        ".status-error{background:#f1e6ff;color:#5e1ca8;border:1px solid #a371f7}"
        ".unexpected{font-weight:600}.expected{color:#59636e}")


def _html_item(e, run: dict, item: dict) -> str:
    href = f"{run['path']}/report.html#{item['anchor']}"
    return (f'<span class="status status-{e(item["status"])}">{e(item["status"])}</span> '
            f'<a href="{e(href)}"><code>{e(item["claim"])}</code></a> '
            f'<span class="{"expected" if item["expected"] else "unexpected"}">({_expected_word(item)})</span>')


def render_index_html(papers: dict) -> str:
    e = html.escape
    out = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
           "<title>Verification reports</title>", f"<style>{_CSS}</style>", "</head>", "<body>",
           "<h1>Verification reports</h1>"]
    if not papers:
        out.append("<p>No reports yet: run <code>python -m verify all</code>.</p>")
    for key, runs in papers.items():
        out.append(f"<h2>{e(paper_line(runs[0]['title'], runs[0]['arxiv']))} (<code>{e(key)}</code>)</h2>")
        latest = runs[0]
        if latest.get("not_passed"):
            out.append(f'<p>Did not pass in the latest run (<a href="{e(latest["path"])}/report.html">'
                       f"{e(latest['run_id'])}</a>):</p>")
            out.append('<ul class="not-passed">' + "".join(f"<li>{_html_item(e, latest, x)}</li>"
                                                           for x in latest["not_passed"]) + "</ul>")
        else:
            out.append(f"<p>Every claim passed or does not apply in the latest run ({e(latest['run_id'])}).</p>")
        out.append("<table><thead><tr><th>run</th><th>profile</th><th>run date</th><th>claims</th>"
                   "<th>did not pass</th><th>differ from the expectation</th></tr></thead><tbody>")
        for i, r in enumerate(runs):
            tag = " (latest)" if i == 0 else ""
            differ = ", ".join(f"<code>{e(c)}</code>" for c in _differs(r)) or "none"
            failed = "<br>".join(_html_item(e, r, x) for x in r.get("not_passed") or ()) or "none"
            out.append(f'<tr><td><a href="{e(r["path"])}/report.html">{e(r["run_id"])}</a>{tag}</td>'
                       f"<td>{e(r['profile'])}</td><td>{e(r['created'])}</td><td>{e(_counts(r['summary']))}</td>"
                       f"<td>{failed}</td><td>{differ}</td></tr>")
        out.append("</tbody></table>")
    out += ["</body>", "</html>"]
    return "\n".join(out) + "\n"


def write_index(root: str | Path) -> dict:
    """Write ``root/index.md`` and ``root/index.html``; return their paths."""
    root = Path(root)
    papers = collect_runs(root)
    paths = {"md": root / "index.md", "html": root / "index.html"}
    atomic_write(paths["md"], render_index_markdown(papers))
    atomic_write(paths["html"], render_index_html(papers))
    return {k: str(v) for k, v in paths.items()}
