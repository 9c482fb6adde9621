"""The index of every report under a reports folder: ``index.md`` and ``index.html``.

It lists, for each paper folder ``<root>/<paper>/``, each run that holds a
readable ``report.json`` (newest first, by the report's ``created`` date,
then by run id) with its profile, counts and the claims whose verdict
differs from its expectation, linking to the run's report.
"""
from __future__ import annotations

import html
import json
from pathlib import Path

from .._io import atomic_write
from ..registry import STATUSES
from .render import unexpected

__all__ = ["collect_runs", "render_index_markdown", "render_index_html", "write_index"]


def collect_runs(root: str | Path) -> dict[str, list[dict]]:
    """``{paper key: [run, ...]}`` with ``run`` = ``{"path", "run_id", "profile", "created", "summary", "title",
    "arxiv", "unexpected"}`` (``unexpected``: the ids of the claims whose verdict differs from its expectation)."""
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
                   "title": paper["title"], "arxiv": paper["arxiv"], "unexpected": unexpected(data)}
        except (OSError, ValueError, KeyError, TypeError):
            continue                      # not a report of this schema: not listed
        papers.setdefault(paper["key"], []).append(run)
    for runs in papers.values():
        runs.sort(key=lambda r: r["run_id"])
        runs.sort(key=lambda r: r["created"], reverse=True)
    return dict(sorted(papers.items()))


def _counts(summary: dict) -> str:
    return ", ".join(f"{summary.get(s, 0)} {s}" for s in STATUSES)


def _md_id(cid: str) -> str:
    """A claim id as inline code in a Markdown table cell (read from a report: no backtick or pipe survives)."""
    return "`" + str(cid).replace("`", "").replace("|", "/") + "`"


def _differs(run: dict) -> list[str]:
    return list(run.get("unexpected") or ())


def render_index_markdown(papers: dict) -> str:
    lines = ["# Verification reports", ""]
    if not papers:
        lines.append("No reports yet: run `python -m verify all`.")
    else:
        lines += ["Each run's counts, and the claims whose verdict differs from its expectation (expected: passed, "
                  "unless the claim records a finding against its source).", ""]
    for key, runs in papers.items():
        lines += [f"## {runs[0]['title']} ({runs[0]['arxiv']}; `{key}`)", "",
                  "| run | profile | run date | claims | differ from the expectation |",
                  "| --- | --- | --- | --- | --- |"]
        for i, r in enumerate(runs):
            latest = " (latest)" if i == 0 else ""
            differ = ", ".join(_md_id(c) for c in _differs(r)) or "none"
            lines.append(f"| [{r['run_id']}]({r['path']}/report.md){latest} | {r['profile']} | {r['created']} | "
                         f"{_counts(r['summary'])} | {differ} |")
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def render_index_html(papers: dict) -> str:
    e = html.escape
    out = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
           "<title>Verification reports</title>",
           "<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}"
           "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}</style>",
           "</head>", "<body>", "<h1>Verification reports</h1>"]
    if not papers:
        out.append("<p>No reports yet: run <code>python -m verify all</code>.</p>")
    for key, runs in papers.items():
        out.append(f"<h2>{e(runs[0]['title'])} ({e(runs[0]['arxiv'])}; <code>{e(key)}</code>)</h2>")
        out.append("<table><thead><tr><th>run</th><th>profile</th><th>run date</th><th>claims</th>"
                   "<th>differ from the expectation</th></tr></thead><tbody>")
        for i, r in enumerate(runs):
            latest = " (latest)" if i == 0 else ""
            differ = ", ".join(f"<code>{e(c)}</code>" for c in _differs(r)) or "none"
            out.append(f'<tr><td><a href="{e(r["path"])}/report.html">{e(r["run_id"])}</a>{latest}</td>'
                       f"<td>{e(r['profile'])}</td><td>{e(r['created'])}</td><td>{e(_counts(r['summary']))}</td>"
                       f"<td>{differ}</td></tr>")
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
