"""The section model: a report (its ``report.json``, never live objects) as one list of blocks
(:mod:`.blocks`), built once and walked by both renderers; and the readings of a report the index and the command
line share (a claim's expected verdict, the verdicts that differ from it, a paper's one-line name, a margin, a
count, a tested range as the report states them)."""
from __future__ import annotations

import json
import re

from ..registry import QUANTIFIERS, STATUSES, Status, meets_expectation
from .blocks import (Bullets, Clipped, Code, Details, Em, Fields, Figure, Formula, Heading, Image, Link, Math, Para,
                     Pre, Section, StatusTag, Strong, Table, Text, Value)
from .schema import _parse_created
from .values import _INLINE, _compact, _num, _pretty

__all__ = ["build_sections", "report_title", "expectation_of", "unexpected", "paper_line", "format_margin",
           "counts_text", "range_text", "SUMMARY_COLUMNS", "FIT_COLUMNS"]


def _revision(report: dict, run: dict | None) -> str:
    rev = report["git_revision"] or "unknown"
    return rev + (" (with uncommitted changes)" if run and run.get("git_dirty") else "")


def _run_rows(report: dict, run: dict | None = None) -> list[tuple[str, str]]:
    """The (item, value) rows of the Run table, shared by the Markdown and the HTML.  ``run`` is the run record
    (``timing.json``: the run's date, wall time and whether the tree had uncommitted changes), kept out of
    report.json so that the same seed gives the same JSON."""
    run = run or {}
    rows = [("run id", report["run_id"]), ("profile", report["profile"]),
            ("run date", run.get("run_date") or "not recorded"), ("revision date", report["created"]),
            ("seed", str(report["seed"])), ("backend", report["backend"]), ("device", report["device"]),
            ("git revision", _revision(report, run)),
            ("wall time", _duration(run.get("wall_time_s", report["wall_time_s"])))]
    return rows + [(name, report["versions"][name] or "not installed") for name in report["versions"]]


def _duration(seconds) -> str:
    if seconds is None:
        return "in timing.json (kept out of report.json so that the same seed gives the same JSON)"
    s = f"{_num(float(seconds))} s"
    if seconds >= 120:
        s += f" ({_num(round(seconds / 60, 1))} min)"
    return s


def _tolerance_short(tol) -> str:
    return "none" if tol is None else f"{tol['name']}={_num(tol['value']) if tol['value'] is not None else 'null'}"


def _anchors(report: dict) -> dict[str, str]:
    """Claim id -> a distinct HTML id made of [A-Za-z0-9_-]."""
    out, used = {}, set()
    for claim in report["claims"]:
        base = "claim-" + re.sub(r"[^A-Za-z0-9_-]", "-", claim["claim"])
        anchor, n = base, 1
        while anchor in used:
            n += 1
            anchor = f"{base}-{n}"
        used.add(anchor)
        out[claim["claim"]] = anchor
    return out


def _figure_anchor(index: int, fig: dict) -> str:
    return f"fig-{index + 1}-" + re.sub(r"[^A-Za-z0-9_-]", "-", fig["name"])


#: the expectation an older report (schema 2 or 3) gives a claim it accepted as a known failure (--accept-failure)
_ACCEPTED = "accepted as a known failure on the command line when this report was made (--accept-failure)"


def expectation_of(claim: dict, report: dict | None = None) -> dict:
    """The expected verdict of a report's claim: ``{"status", "reason"}``.  A claim of schema 4 records it
    (``passed`` and no reason unless it records a finding); older reports record none, so their claims expect
    ``passed``, except the known failures accepted on the command line (``known_failures``), read as expected
    to reach the verdict they reached if it was failed or inconclusive (what the option accepted), else failed."""
    expected = claim.get("expected")
    if isinstance(expected, dict) and expected.get("status") in STATUSES:
        return {"status": expected["status"], "reason": expected.get("reason")}
    if report is not None and claim.get("claim") in (report.get("known_failures") or ()):
        status = claim.get("status")
        return {"status": status if status in (Status.FAILED, Status.INCONCLUSIVE) else Status.FAILED.value,
                "reason": _ACCEPTED}
    return {"status": Status.PASSED.value, "reason": None}


def unexpected(report: dict) -> list[str]:
    """The ids of the report's claims whose verdict differs from its expectation (in either direction: an
    expected failure that passes is named too), in report order (:func:`verify.registry.meets_expectation`)."""
    return [c["claim"] for c in report["claims"]
            if not meets_expectation(c["status"], expectation_of(c, report)["status"])]


def _summary_mismatch(report: dict) -> str | None:
    counts = {s: 0 for s in STATUSES}
    for claim in report["claims"]:
        counts[claim["status"]] += 1
    if counts == {s: report["summary"].get(s, 0) for s in STATUSES}:
        return None
    return ("The summary counts in report.json differ from the claims' statuses (claims: "
            + ", ".join(f"{counts[s]} {s}" for s in STATUSES) + ").")


_AUTHORS = re.compile(r"^(?P<title>.*\S)\s*\((?P<who>[^()]*)\)\s*$")


def paper_line(title: str, arxiv: str) -> str:
    """One clean line naming a paper: ``"Title (Authors; arXiv:NNNN.NNNNN)"``, or ``"Title (Author; talk)"`` for a
    work with no arXiv id.

    ``title`` may end with its authors in parentheses (as the theory packages and report.json write it), and a
    talk may say so twice ("... (Ciuca, talk)" with the label "talk (no arXiv id)"): the line says it once."""
    title, arxiv = " ".join(str(title).split()), " ".join(str(arxiv).split())
    m = _AUTHORS.match(title)
    main, who = (m.group("title"), [w.strip() for w in m.group("who").split(",") if w.strip()]) if m else (title, [])
    talk = [w for w in who if w.lower() == "talk"]
    who = [w for w in who if w.lower() != "talk"]
    if re.match(r"(?i)arxiv:", arxiv):
        source = arxiv
    elif talk or arxiv.lower().startswith("talk"):
        source = "talk"
    else:
        source = arxiv
    inner = "; ".join(part for part in (", ".join(who), source) if part)
    return f"{main} ({inner})" if inner else main


def _date(created: str) -> str:
    parsed = _parse_created(created)
    return parsed.date().isoformat() if parsed is not None else created


FIT_COLUMNS = ("slope", "interval", "band", "predicted")


def _figure_block(j: int, fig: dict, level: int = 3) -> "Figure":
    return Figure(_figure_anchor(j, fig), f"Figure {j + 1}. " + " ".join(fig["title"].split()), fig["png"],
                  fig.get("svg"), fig["caption"], fig["name"], level)


def _placed_figures(report: dict) -> dict[str, list[tuple[int, dict]]]:
    """Claim id -> ``(index, figure)`` of the report's figures shown in that claim's section (a figure whose ``claim``
    names a claim of the report: the figure of a verdict that did not pass); the others go to the Figures
    section."""
    ids = {c["claim"] for c in report["claims"]}
    out: dict[str, list[tuple[int, dict]]] = {}
    for j, fig in enumerate(report["figures"]):
        if fig.get("claim") in ids:
            out.setdefault(fig["claim"], []).append((j, fig))
    return out


#: rows of a claim's failing-rows table the compact Markdown shows (the others are in report.json and report.html)
_BRIEF_ROWS = 8


def _brief_value(v):
    """A value short enough for the compact Markdown: itself, or a sentence saying where the whole of it is."""
    if isinstance(v, str) and len(v) <= _INLINE or len(_compact(v)) <= _INLINE:
        return Value(v)
    n = f"{len(v)} entries" if isinstance(v, (list, dict)) else f"{len(_compact(v))} characters"
    return (f"{n}: in report.json and report.html",)


def _full_body(claim: dict) -> list:
    """The middle of a claim's full (HTML) section: prediction and measurement, fits, seeds, rows, controls,
    details."""
    B: list = []
    B.append(Heading(3, ("Prediction and measurement",)))
    tol = claim["tolerance"]
    tol_parts = ("none",) if tol is None else (Code(_tolerance_short(tol)), " " + " ".join(tol["justification"].split()))
    B.append(Fields((("Predicted", Value(claim["predicted"])), ("Measured", Value(claim["measured"])),
                     ("Tolerance", tol_parts), ("Resolution", (_resolution_text(claim),)))))
    if claim["fits"]:
        B.append(Heading(3, ("Fits",)))
        rows = []
        for name, fit in claim["fits"].items():
            cells = [(name,)] + [(Code(_compact(fit[c])),) if c in fit else () for c in FIT_COLUMNS]
            rest = {k: v for k, v in fit.items() if k not in FIT_COLUMNS}
            cells.append((Code(_compact(rest)[1:-1]),) if rest else ())
            rows.append(tuple(cells))
        B.append(Table(("fit",) + FIT_COLUMNS + ("other",), tuple(rows)))
    B.append(Heading(3, ("Seeds",)))
    B.append(Para((", ".join(str(s) for s in claim["seeds"]) if claim["seeds"] else "none (deterministic)",)))
    quantifier = (claim.get("key") or {}).get("quantifier")
    if quantifier in QUANTIFIERS:
        B.append(Para((Strong(("Quantifier:",)), " " + QUANTIFIERS[quantifier] + ".")))
    if claim.get("rows"):
        rows = claim["rows"]
        B.append(Heading(3, ("Rows that failed or held only within tolerance",)))
        B.append(Table(("row", "outcome", "margin"), tuple(
            ((", ".join(f"{k} {_compact(v)}" for k, v in r["row"].items()),), (r["outcome"],),
             (Code(format_margin(r["margin"])),) if r.get("margin") is not None else ("\u2014",))
            for r in rows)))
        if len(rows) < len(claim["rows"]):
            B.append(Para((f"The first {len(rows)} of {len(claim['rows'])} rows; all of them are in report.json "
                           "and report.html.",), "meta"))
    control = claim.get("negative_control")
    if control is not None:
        B.append(Heading(3, ("Negative control",)))
        B.append(Para((" ".join(control["description"].split()),)))
        items = [("outcome", (Strong((StatusTag(control["status"]),)), " (a negative control is expected to fail)"))]
        if "predicted" in control:
            items.append(("predicted (deliberately wrong)", Value(control["predicted"])))
        if "measured" in control:
            items.append(("measured", Value(control["measured"])))
        B.append(Fields(tuple(items)))
    calibrated = claim.get("calibrated_control")
    if calibrated is not None:
        B.append(Heading(3, ("Calibrated control",)))
        B.append(Para((" ".join(calibrated["description"].split()),)))
        items = [("outcome", (Strong((StatusTag(calibrated["status"]),)),
                              " (the prediction perturbed by at most twice the tolerance: expected to fail)"))]
        ckey = calibrated.get("key")
        if ckey:
            items.append(("key quantity", (" ".join(str(ckey.get("quantity", "")).split()),)))
            for name in ("measured", "predicted", "margin"):
                if ckey.get(name) is not None:
                    items.append((name, (Code(format_margin(ckey[name]) if name == "margin"
                                              else _num(float(ckey[name]))),)))
        B.append(Fields(tuple(items)))
    if claim.get("details"):
        B.append(Details("Details", (Pre(_pretty(claim["details"])),)))
    return B


def _brief_body(claim: dict, text: list, same_as: str | None, anchors: dict) -> list:
    """The middle of a claim's compact (Markdown) section: the derivation text folded (or a link to the claim that
    shows the same text), the values in a few lines, the first failing rows, one line per control."""
    B: list = []
    if same_as is not None:
        B.append(Para(("Statement and derived results: as in ",
                       Link((Code(same_as),), "#" + anchors[same_as]), "."), "meta"))
    elif text:
        # the assumptions are left to report.html and report.json
        cut = [i for i, b in enumerate(text) if isinstance(b, Heading) and b.parts == ("Assumptions",)]
        shown = text[:cut[0]] + text[cut[0] + 2:] if cut else text
        B.append(Details("Statement and derived results", tuple(shown)))
    tol = claim["tolerance"]
    quantifier = (claim.get("key") or {}).get("quantifier")
    items = [("Tolerance", (Code(_tolerance_short(tol)),) if tol else ("none",)),
             ("Seeds", (", ".join(str(s) for s in claim["seeds"]) if claim["seeds"] else "none (deterministic)",)
              + ((" (" + QUANTIFIERS[quantifier].split(":")[0].split(" (")[0] + ")",)
                 if quantifier in QUANTIFIERS else ()))]
    for name, label in (("negative_control", "Negative control"), ("calibrated_control", "Calibrated control")):
        control = claim.get(name)
        if control is not None:
            margin = (control.get("key") or {}).get("margin")
            items.append((label, (StatusTag(control["status"]),
                                  (f" (margin {format_margin(margin)})" if margin is not None else "")
                                  + ": " + " ".join(control["description"].split()))))
    B.append(Fields(tuple(items)))
    failing = [r for r in claim.get("rows") or () if r["outcome"] != "within tolerance"]
    if failing:
        rows = failing[:_BRIEF_ROWS]
        B.append(Heading(3, ("Rows that failed",)))
        B.append(Table(("row", "outcome", "margin"), tuple(
            ((", ".join(f"{k} {_compact(v)}" for k, v in r["row"].items()),), (r["outcome"],),
             (Code(format_margin(r["margin"])),) if r.get("margin") is not None else ("\u2014",))
            for r in rows)))
    if len(failing[:_BRIEF_ROWS]) < len(claim.get("rows") or ()):
        B.append(Para((f"{len(claim['rows'])} rows failed or held only within tolerance"
                       + (f" (the first {len(failing[:_BRIEF_ROWS])} failed ones above)" if failing else "")
                       + "; all of them are in report.html and report.json.",), "meta"))
    return B


def _claim_section(claim: dict, anchors: dict, figs_by_path: dict, expected: dict, placed=(), *,
                   brief: bool = False, same_as: str | None = None) -> Section:
    """A claim's section.  ``brief`` (the Markdown): the verdict, key number, controls and figures in the open,
    the derivation text and derived results folded, long values, the details and all but the first few failing
    rows left to report.json and report.html (so that report.md stays small)."""
    B = []
    tested = range_text(claim.get("range"))
    B.append(Heading(2, (Code(claim["claim"]), ": " + " ".join(claim["title"].split())
                         + (f" (tested on {tested})" if tested else ""))))
    met = meets_expectation(claim["status"], expected["status"])
    meta = [StatusTag(claim["status"])]
    if not met:
        meta.append(Strong((f"differs from the expected {expected['status']}",)))
    elif expected["reason"]:
        meta.append(f"as expected ({expected['status']})")
    meta.append(f"derivation {claim['derivation']}")
    if not brief:                                   # the Markdown leaves the label to report.html and report.json
        meta.append(Em((" ".join(claim["label"].split()),)))
    if claim.get("wall_time_s") is not None:
        meta.append(f"wall time {_duration(claim['wall_time_s'])}")
    B.append(Para(tuple(_join(meta, " \u00b7 ")), "meta"))
    if expected["reason"] or not met:
        # the documented finding (or the default, passed), and whether this verdict equals it
        said = ": " + " ".join(expected["reason"].split()).rstrip(".") if expected["reason"] else ""
        verdict = ("The verdict equals it." if met else
                   f"The verdict ({claim['status']}) differs from it: a change to report.")
        B.append(Para((Strong(("Expected verdict:",)), " ", StatusTag(expected["status"]), said + ". " + verdict),
                      "" if met else "note"))
    if claim["status"] == Status.ERROR:
        B.append(Heading(3, ("Error",)))
        B.append(Para(("The check or its negative control raised: a fault of the verifier, not a verdict on the "
                       "claim. The traceback:",)))
        B.append(Pre(claim.get("traceback") or "(no traceback recorded)"))
    text = []
    for key, heading in (("statement", "Statement"), ("assumptions", "Assumptions")):
        if claim.get(key):
            text += [Heading(3, (heading,)), Text(claim[key])]
    if claim.get("results"):
        text.append(Heading(3, ("Derived results",)))
        text += [Formula(r["label"], r["latex"], r.get("mathml")) for r in claim["results"]]
    elif claim.get("latex"):
        text.append(Heading(3, ("Derived results",)))
        text += [Math(tex) for tex in claim["latex"]]
    if brief:
        B += _brief_body(claim, text, same_as, anchors)
    else:
        B += text
        B += _full_body(claim)
    shown = {path for _, fig in placed for path in (fig["png"], fig.get("svg"))}
    listed = [path for path in claim["figures"] if path not in shown]
    if placed or listed:
        B.append(Heading(3, ("Figures",)))
    B += [_figure_block(j, fig, 4) for j, fig in placed]
    if listed:
        items = []
        for path in listed:
            hit = figs_by_path.get(path)
            if hit is not None:
                j, fig = hit
                items.append((Link((f"Figure {j + 1}", ": " + " ".join(fig["title"].split())),
                                   "#" + _figure_anchor(j, fig)), f" ({path})"))
            elif path.lower().endswith(".png"):
                items.append(Image(path, path))
            else:
                items.append((Link((path,), path),))
        B.append(Bullets(tuple(items)))
    return Section(anchors[claim["claim"]], claim["status"], tuple(B))


def _why(claim: dict) -> str | None:
    """One sentence on why a claim did not pass: its own, else one read from the report."""
    if claim["status"] in ("passed", "not-applicable"):
        return None
    key, details = claim.get("key") or {}, claim.get("details") or {}
    if key.get("why"):
        return " ".join(key["why"].split())
    if claim["status"] == Status.ERROR and isinstance(claim.get("traceback"), str) and claim["traceback"].strip():
        # "The check raised:" and the exception, the traceback's last line
        lines = [ln.strip() for ln in claim["traceback"].strip().splitlines() if ln.strip()]
        head = lines[0].rstrip(":")
        return (head[0].lower() + head[1:] + " " + lines[-1])[:200]
    if isinstance(details.get("error"), str):
        return "the check raised " + " ".join(details["error"].split())[:160]
    for control in ("negative_control", "calibrated_control"):
        if isinstance(details.get(control), str):
            return " ".join(details[control].split())
    tol = claim["tolerance"]
    if claim["status"] == "failed":
        return ("the measurement is outside the tolerance" + (f" {tol['name']}" if tol else "")
                + "; see the claim's section")
    return "the measurement could not decide the claim; see the claim's section"


def _resolution_text(claim: dict) -> str:
    """What the claim's check detects (its ``resolution``): "detects <a prediction off by >= X>", or "validity
    only; tightness measured: ..." for a check that cannot resolve its own tolerance; a dash where the report
    records none (reports written before resolutions were recorded)."""
    res = claim.get("resolution")
    if not isinstance(res, dict) or not res.get("detects"):
        return "\u2014"
    text = " ".join(res["detects"].split())
    return text if res.get("validity_only") or text.startswith("detects") else f"detects {text}"


def format_margin(margin: float) -> str:
    """A margin as the summary table shows it: 3 significant digits, more when those would round a margin that
    is not 1 to "1" (0.9996, 1.0004), and "< 1" or "> 1" for one within a millionth of 1, so that a passed
    claim never reads 1 or more and one that did not pass never reads 1 or less."""
    m = float(margin)
    for digits in (3, 4, 5, 6):
        text = format(m, f".{digits}g")
        if m == 1 or float(text) != 1:
            return text
    return "< 1" if m < 1 else "> 1"


def _unit_one(unit: str) -> str:
    return unit[:-1] if unit.endswith("s") else unit


def _range_value(v) -> str:
    """One value of a range: a list of consecutive integers as ``a-b``, other lists joined, a number short."""
    if isinstance(v, (list, tuple)):
        if len(v) > 2 and all(isinstance(x, int) and not isinstance(x, bool) for x in v) \
                and list(v) == list(range(v[0], v[0] + len(v))):
            return f"{v[0]}\u2013{v[-1]}"
        return ", ".join(_range_value(x) for x in v)
    if isinstance(v, float):
        return format(v, ".4g")
    return str(v)


def range_text(rng) -> str:
    """The range a claim was tested on (its ``range``, :class:`verify.registry.Verdict`), as the claim's heading
    states it: ``"seeds 0-7; m 1000"``; empty when none was recorded."""
    if not rng:
        return ""
    return "; ".join(f"{name} {_range_value(v)}" for name, v in rng.items())


def counts_text(counts: dict, quantifier: str | None = None) -> tuple[str, str]:
    """The measured and predicted cells of a key judged on a count (``key["counts"]``, see
    :func:`verify.stats.fraction_key`): e.g. ("8/8 seeds within tolerance, worst seed at 0.65 of it",
    "most seeds (95 % Wilson interval above 1/2)"), or for a count rule ("17/18 runs within tolerance",
    "18/18 runs")."""
    met, total, unit = counts["met"], counts["total"], counts["unit"]
    measured = f"{met}/{total} {unit} within tolerance"
    worst = counts.get("worst")
    if worst is not None:
        measured += f", worst {_unit_one(unit)} at {format(float(worst), '.2g')} of it"
    allowed = counts.get("allowed")
    if allowed is None:
        predicted = f"most {unit} (95 % Wilson interval above 1/2)"
    elif quantifier == "every":
        predicted = f"every {_unit_one(unit)} ({total}/{total} {unit}; one counterexample fails)"
    else:
        predicted = f"{'' if allowed == 0 else 'at least '}{max(total - allowed, 0)}/{total} {unit}"
    return measured, predicted


def _expected_cell(claim: dict, expected: dict) -> tuple:
    """The expected-verdict cell of a claim's summary row: the expected status, whether the verdict differs from
    it, and for a documented finding a pointer to its reason (stated in the claim's section)."""
    finding = " (a finding: the claim's section says why)" if expected["reason"] else ""
    if meets_expectation(claim["status"], expected["status"]):
        return (StatusTag(expected["status"], finding),)
    # plain words: a table cell drops the space between a text part and the next part
    return (Strong((f"differs: expected {expected['status']}",)),) + ((", a finding: the claim's section says why",)
                                                                      if finding else ())


#: the columns of the summary table: the status right after the claim id, so that it is seen first
SUMMARY_COLUMNS = ("claim", "status", "title", "key quantity", "measured", "predicted", "margin", "expected",
                   "resolution")


def _no_key_sentence(claim: dict) -> str:
    """The sentence a summary row shows for a claim that recorded no key number: why it did not pass, else what
    its check detects, else that the report records none."""
    why = _why(claim)
    if why:
        return "no key number: " + why
    res = _resolution_text(claim)
    if res != "\u2014":
        return "no key number; the check " + res
    return "no key number recorded; see the claim's section"


def _summary_cells(claim: dict, expected: dict) -> tuple:
    """The status, key quantity, measured, predicted, margin, expected and resolution cells of a claim's summary
    row: one number per claim, or a sentence where the claim recorded none (never its raw values)."""
    key = claim.get("key")
    status = [StatusTag(claim["status"])]
    dash = ("\u2014",)
    if key is None:                                  # a claim without a key number: a sentence, not its values
        return (tuple(status), (_no_key_sentence(claim),), dash, dash, dash, _expected_cell(claim, expected),
                (Clipped(_resolution_text(claim)),))
    why = _why(claim)
    if why:
        status.append(": " + why)
    fmt = {"measured": lambda v: _num(float(v)), "predicted": lambda v: _num(float(v)), "margin": format_margin}
    cells = [(" ".join(key["quantity"].split()),)]
    counts = key.get("counts")
    for name in ("measured", "predicted", "margin"):
        v = key.get(name)
        if counts and name != "margin":          # a count: "8/8 seeds within tolerance, worst seed at 0.65 of it"
            cells.append((counts_text(counts, key.get("quantifier"))[name == "predicted"],))
        else:
            cells.append((Code(fmt[name](v)),) if v is not None else dash)
    return (tuple(status), *cells, _expected_cell(claim, expected), (Clipped(_resolution_text(claim)),))


def _join_pairs(parts: list, sep: str) -> list:
    """``parts`` taken two at a time (an item and its note), ``sep`` between the pairs."""
    out = []
    for i in range(0, len(parts), 2):
        if i:
            out.append(sep)
        out += parts[i:i + 2]
    return out


def _join(parts: list, sep: str) -> list:
    out = []
    for i, p in enumerate(parts):
        if i:
            out.append(sep)
        out.append(p)
    return out


def report_title(report: dict, run: dict | None = None) -> str:
    when = (run or {}).get("run_date") or report["created"]
    return f"Verification report {report['run_id']} ({report['profile']} profile, {_date(when)})"


def build_sections(report: dict, run: dict | None = None, *, brief: bool = False) -> list:
    """The report as a list of blocks, the one model both renderers walk (``run``: the run record, see
    :func:`_run_rows`): the summary and the figures first, then one section per claim.  ``brief``: the compact
    claim sections of the Markdown (see :func:`_claim_section`)."""
    anchors = _anchors(report)
    figs_by_path = _figures_by_path(report)
    expected = {c["claim"]: expectation_of(c, report) for c in report["claims"]}
    differ = unexpected(report)
    summary = report["summary"]
    paper = report["paper"]
    B: list = [Heading(1, (report_title(report, run),))]
    B.append(Para(("Paper: " + paper_line(paper["title"], paper["arxiv"]) + " (key ", Code(paper["key"]), ")."),
                  "paper"))
    when = f"run on {run['run_date']}" if run and run.get("run_date") else f"revision of {report['created']}"
    B.append(Para(("Run ", Code(report["run_id"]), ", profile ", Code(report["profile"]),
                   f", {when}, revision {_revision(report, run)}, seed {report['seed']}, backend ",
                   Code(report["backend"]), " on ", Code(report["device"]),
                   f", wall time {_duration((run or {}).get('wall_time_s', report['wall_time_s']))}."), "meta"))
    counts = [part for i, s in enumerate(STATUSES)
              for part in ((", " if i else "") + f"{summary.get(s, 0)} ", StatusTag(s))]
    n = len(report["claims"])
    B.append(Para((Strong((f"{n} claim{'s' if n != 1 else ''}:",)), " ", *counts, ".")))
    mismatch = _summary_mismatch(report)
    if mismatch:
        B.append(Para((Strong(("Note:",)), " " + mismatch), "note"))
    findings = [Code(c["claim"]) for c in report["claims"]
                if expected[c["claim"]]["status"] != Status.PASSED and c["claim"] not in differ]
    if differ:
        named = [part for c in report["claims"] if c["claim"] in differ
                 for part in (Code(c["claim"]), f" ({c['status']}, expected {expected[c['claim']]['status']})")]
        B.append(Para((Strong(("Verdicts that differ from their expectation:",)), " ",
                       *_join_pairs(named, ", "), "."), "note"))
    else:
        B.append(Para(("Every verdict equals its expectation.",)))
    if findings:
        B.append(Para(("Expected findings (documented in the claim, shown in its section): ",
                       *_join(findings, ", "), ".")))
    B.append(Heading(2, ("Summary",)))
    B.append(Para(("One key number per claim: measured, predicted and the ", Em(("margin",)), ", the used fraction "
                   "of the tolerance (below 1 passed, above 1 not; a dash: no finite quantity, and the status says "
                   "why). A claim judged on a count shows the count and its worst member's used fraction. The "
                   "expected verdict is passed unless the claim records a finding against its source; a verdict "
                   "that differs from it is marked. The resolution is the smallest error of the prediction the "
                   "check detects (its calibrated control, perturbed that much, must fail)."
                   + (" This Markdown is the compact view: the assumptions, the full predicted and measured values, "
                      "fits, every row and the details are in report.html and report.json." if brief else ""),),
                  "meta"))
    rows = []
    for claim in report["claims"]:
        cells = _summary_cells(claim, expected[claim["claim"]])
        rows.append(((Link((Code(claim["claim"]),), "#" + anchors[claim["claim"]]),), cells[0],
                     (Clipped(" ".join(claim["title"].split())),), *cells[1:]))
    B.append(Table(SUMMARY_COLUMNS, tuple(rows), "summary"))
    placed = _placed_figures(report)
    if report["figures"]:
        B.append(Heading(2, ("Figures",)))
        in_sections = sorted(j for figs in placed.values() for j, _ in figs)
        if in_sections:
            links = [Link((f"Figure {j + 1}",), "#" + _figure_anchor(j, report["figures"][j])) for j in in_sections]
            B.append(Para(("The figure of each claim that did not pass is in that claim's section: ",
                           *_join(links, ", "), ".")))
        B += [_figure_block(j, f) for j, f in enumerate(report["figures"]) if j not in in_sections]
    first: dict = {}                     # the derivation text -> the first claim that shows it
    same_as = {}
    for claim in report["claims"]:
        text = json.dumps([claim.get("statement"), claim.get("assumptions"), claim.get("results"),
                           claim.get("latex")], sort_keys=True)
        same_as[claim["claim"]] = first.setdefault(text, claim["claim"])
    B += [_claim_section(claim, anchors, figs_by_path, expected[claim["claim"]], placed.get(claim["claim"], ()),
                         brief=brief, same_as=same_as[claim["claim"]] if same_as[claim["claim"]] != claim["claim"]
                         else None)
          for claim in report["claims"]]
    B.append(Heading(2, ("Run",)))
    B.append(Table(None, tuple(((name,), (value,)) for name, value in _run_rows(report, run))))
    B.append(Details("Configuration", (Pre(_pretty(report["config"])),)))
    B.append(Heading(2, ("Regenerate",)))
    key, rid = paper["key"], report["run_id"]
    B.append(Para(("Rerun the verification with ", Code(f"python -m verify all --paper {key}"),
                   " (this run: profile ", Code(report["profile"]), f", seed {report['seed']}). Re-render "
                   "report.md and report.html from report.json, without running anything, with ",
                   Code(f"python -m verify report reports/{key}/{rid}"), " (or the folder that holds report.json).")))
    return B


def _figures_by_path(report: dict) -> dict:
    """``path -> (index, figure)`` for the PNG and SVG of every report figure (the first one wins)."""
    found = {}
    for j, fig in enumerate(report["figures"]):
        found.setdefault(fig["png"], (j, fig))
        if fig.get("svg"):
            found.setdefault(fig["svg"], (j, fig))
    return found
