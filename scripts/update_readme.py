"""The README's counts and run times, generated from the committed reports (so they cannot drift).

The README holds one generated block between the lines ``<!-- committed-reports:begin -->`` and
``<!-- committed-reports:end -->``: per paper, the counts of the committed default-profile report
(``reports/<paper>/default-seed0/report.json``), how many of the claims that did not pass record that verdict as a
documented finding, a link to the report (which says why each did not pass) and the run's wall time from its
``timing.json``.  Nothing in it is typed by hand.

    python scripts/update_readme.py            # rewrite the block in README.md
    python scripts/update_readme.py --check    # exit 1 (and show the block) when README.md is not current

``tests/test_readme.py`` runs the check.  The report files are read as data (counts, ids, reasons and times are
the only fields used; text is escaped for Markdown tables).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BEGIN, END = "<!-- committed-reports:begin -->", "<!-- committed-reports:end -->"
#: the statuses of verify.registry.STATUSES, in its order (tests/test_readme.py checks that they agree; this script
#: reads the reports as data and imports nothing of the project)
STATUSES = ("passed", "failed", "inconclusive", "error", "not-applicable")


def _cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ").strip()


def summary_block(reports: Path = REPO / "reports", profile: str = "default") -> str:
    """The generated Markdown block (markers included) for the committed reports of ``profile``."""
    rows, total, passed = [], 0, 0
    for path in sorted(reports.glob(f"*/{profile}-seed0/report.json")):
        report = json.loads(path.read_text(encoding="utf-8"))
        key = _cell(report["paper"]["key"])
        summary = {s: int(report["summary"].get(s, 0)) for s in STATUSES}
        n = sum(summary.values())
        total, passed = total + n, passed + summary["passed"]
        try:
            timing = json.loads((path.parent / "timing.json").read_text(encoding="utf-8"))
            workers = int(timing['workers'])
            wall = f"{float(timing['wall_time_s']):.0f} s ({workers} worker{'' if workers == 1 else 's'})"
        except (OSError, ValueError, KeyError, TypeError):
            wall = "not recorded"
        others = [c for c in report["claims"] if c["status"] != "passed"]
        found = sum(1 for c in others if (c.get("expected") or {}).get("status") == c["status"]
                    and (c.get("expected") or {}).get("reason"))
        link = path.parent.relative_to(REPO).as_posix() + "/report.md" if path.is_relative_to(REPO) else None
        report_cell = f"[report]({link})" if link else "-"
        rows.append(f"| `{key}` | {summary['passed']} of {n} | "
                    f"{summary['failed']} / {summary['inconclusive']} / {summary['error']} / "
                    f"{summary['not-applicable']} | {found} of {len(others)} | {report_cell} | {wall} |")
    lines = [BEGIN,
             f"The committed reports of the {profile} profile ([`reports/index.md`](reports/index.md)): "
             f"**{passed} of {total} claims pass**.", "",
             "| paper | passed | failed / inconclusive / error / not applicable | of those, documented findings "
             "| report | wall time of its run |",
             "| --- | --- | --- | --- | --- | --- |", *rows, "",
             "A documented finding is a verdict against the source that the claim records as expected; each "
             "report says why every claim that did not pass, in its summary table.",
             END]
    return "\n".join(lines)


def replace_block(text: str, block: str) -> str:
    start, stop = text.index(BEGIN), text.index(END) + len(END)
    return text[:start] + block + text[stop:]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="only check that README.md is current")
    ap.add_argument("--readme", default=str(REPO / "README.md"))
    args = ap.parse_args(argv)
    readme = Path(args.readme)
    text = readme.read_text(encoding="utf-8")
    if BEGIN not in text or END not in text:
        print(f"error: {readme} has no {BEGIN} ... {END} block; add the two lines where the counts belong",
              file=sys.stderr)
        return 2
    new = replace_block(text, summary_block())
    if args.check:
        if new != text:
            print("README.md's committed-reports block is not current; run python scripts/update_readme.py. "
                  "It should read:\n" + summary_block(), file=sys.stderr)
            return 1
        return 0
    if new != text:
        readme.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
