"""Render a run's ``report.json`` as Markdown and as one self-contained HTML file.

A run of the verifier leaves ``reports/<paper>/<run-id>/report.json`` (schema
``verify-report/4``; reports of schemas ``verify-report/2`` and ``/3`` are still read) and its figures under
``reports/<paper>/<run-id>/figures/``.
Everything here works from that JSON alone, never from live objects, so a
report can be re-rendered (``python -m verify report DIR``) and read without
running anything:

``report.md``
    renders on GitHub: the claims whose verdict differs from its expectation,
    a summary table (each claim's key number, prediction, used fraction of
    its tolerance, status and, for a claim that did not pass, why; its
    expected verdict, its resolution), one section per claim (expectation, the
    traceback of a check that raised, statement, derived results as ``$$``
    display math, prediction against measurement, tolerance, resolution, fits,
    seeds, negative control, calibrated control, figures), every figure numbered and captioned, the versions and how to
    regenerate.
``report.html``
    one file readable offline: inline CSS, every PNG embedded as a base64
    data URI, derived results as MathML (rendered by the browser: no
    JavaScript, no network), no external resources.

Rendering is deterministic: the same JSON gives the same bytes.
"""
from __future__ import annotations

import base64
import html
import stat
import json
import math
import re
import textwrap
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from urllib.parse import quote

from theory.errors import InputError

from .._io import atomic_write, dumps, jsonable
from ..registry import PROFILE_NAMES as PROFILES
from ..registry import QUANTIFIERS, STATUSES, Status, check_range, check_rows, meets_expectation

__all__ = ["SCHEMA", "STATUSES", "PROFILES", "validate_report", "validate_claim", "render_markdown", "render_html",
           "write_report", "rerender", "format_margin", "counts_text", "range_text", "expectation_of", "unexpected",
           "paper_line", "SUMMARY_COLUMNS"]

SCHEMA = "verify-report/4"
#: schemas this renderer reads: 3 adds a claim's ``key`` (summary number) and ``results`` (label, LaTeX, MathML);
#: 4 adds the status ``error`` (counted in ``summary``), a claim's ``expected`` verdict and, for an error, its
#: ``traceback``, and drops ``known_failures`` (the accepted failures of the command line)
SCHEMAS = ("verify-report/2", "verify-report/3", SCHEMA)
VERSION_KEYS = ("python", "numpy", "scipy", "sympy", "matplotlib", "torch")

_SHORT = 48          # characters of a value in the summary table
_INLINE = 100        # longer values are shown as a block
_WIDTH = 88          # line width of pretty-printed values
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


# --------------------------------------------------------------------------------------------
# validation
# --------------------------------------------------------------------------------------------

def _tname(value) -> str:
    if value is None:
        return "null"
    return {bool: "boolean", int: "integer", float: "number", str: "string", list: "array",
            dict: "object"}.get(type(value), type(value).__name__)


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


_KINDS = {
    "string": lambda v: isinstance(v, str),
    "string or null": lambda v: v is None or isinstance(v, str),
    "integer": _is_int,
    "number": _is_num,
    "number or null": lambda v: v is None or _is_num(v),
    "integer or null": lambda v: v is None or _is_int(v),
    "object": lambda v: isinstance(v, dict),
    "object or null": lambda v: v is None or isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "array or null": lambda v: v is None or isinstance(v, list),
    "any": lambda v: True,
}


def _check(obj: dict, key: str, kind: str, path: str, *, required: bool = True):
    """Return ``obj[key]`` after checking its type; raise :class:`InputError` naming ``path.key``."""
    field = f"{path}.{key}" if path else key
    if key not in obj:
        if not required:
            return None
        raise InputError(field, None, "is missing from the report",
                         f"add {key!r} ({kind}); see the schema in verify/report/render.py")
    value = obj[key]
    if not _KINDS[kind](value):
        raise InputError(field, value, f"has type {_tname(value)}, expected {kind}",
                         f"write {key!r} as {'an' if kind[0] in 'aeiou' else 'a'} {kind}")
    return value


def _check_items(values: list, kind: str, path: str) -> None:
    for i, v in enumerate(values):
        if not _KINDS[kind](v):
            raise InputError(f"{path}[{i}]", v, f"has type {_tname(v)}, expected {kind}",
                             f"make every entry of {path} {'an' if kind[0] in 'aeiou' else 'a'} {kind}")


def _check_relpath(value: str, field: str) -> None:
    p = PurePosixPath(value)
    if not value or "\\" in value or p.is_absolute() or ".." in p.parts or re.match(r"^[A-Za-z]:", value):
        raise InputError(field, value, "is not a relative path inside the report folder",
                         "give the path relative to the report folder, e.g. 'figures/loss.png'")


def _check_status(value: str, field: str) -> None:
    if value not in STATUSES:
        raise InputError(field, value, f"is not one of {', '.join(STATUSES)}", "use one of these status words")


def _check_pair(obj: dict, key: str, path: str) -> None:
    value = _check(obj, key, "any", path, required=False)
    if key in obj and not (isinstance(value, list) and len(value) == 2
                           and all(v is None or _is_num(v) for v in value)):
        raise InputError(f"{path}.{key}", value, "is not a pair [lo, hi] of numbers",
                         "write it as a two-element array of numbers (null for an unbounded end)")


def validate_report(report: dict) -> None:
    """Check ``report`` against schema ``verify-report/4`` (or ``/3``, which lacks the status ``error``, each
    claim's ``expected`` and ``traceback`` and has ``known_failures``; or ``/2``, which also lacks ``key`` and
    ``results``).

    Raises
    ------
    InputError
        naming the key path (e.g. ``claims[2].status``) when a required key
        is missing, a value has the wrong type, or the schema string is not
        :data:`SCHEMA`.  Keys the schema does not name are allowed.
    """
    if not isinstance(report, dict):
        raise InputError("report", _tname(report), "is not a JSON object", "give the object of report.json")
    schema = _check(report, "schema", "any", "")
    if schema not in SCHEMAS:
        raise InputError("schema", schema, f"is not one of {', '.join(map(repr, SCHEMAS))}",
                         f"render with the renderer of that schema, or regenerate the report ({SCHEMA})")
    run_id = _check(report, "run_id", "string", "")
    if not run_id.strip():
        raise InputError("run_id", run_id, "is empty", "give the run a non-empty id")
    paper = _check(report, "paper", "object", "")
    for key in ("key", "title", "arxiv"):
        if not _check(paper, key, "string", "paper").strip():
            raise InputError(f"paper.{key}", paper[key], "is empty", "give the paper's key, title and arXiv label")
    profile = _check(report, "profile", "string", "")
    if profile not in PROFILES:
        raise InputError("profile", profile, f"is not one of {', '.join(PROFILES)}", "use one of these profiles")
    created = _check(report, "created", "string", "")
    if _parse_created(created) is None:
        raise InputError("created", created, "is not an ISO-8601 date and time",
                         "write it like '2025-01-31T12:00:00+00:00'")
    _check(report, "seed", "integer", "")
    _check(report, "wall_time_s", "number or null", "")
    _check(report, "git_revision", "string or null", "")
    _check(report, "backend", "string", "")
    _check(report, "device", "string", "")
    versions = _check(report, "versions", "object", "")
    for key in VERSION_KEYS:
        _check(versions, key, "string or null" if key == "torch" else "string", "versions")
    for key in versions:
        _check(versions, key, "string or null", "versions")
    _check(report, "config", "object", "")
    summary = _check(report, "summary", "object", "")
    for key in STATUSES:
        # the count of errors is new in schema 4
        n = _check(summary, key, "integer", "summary", required=key != Status.ERROR or schema == SCHEMA)
        if n is not None and n < 0:
            raise InputError(f"summary.{key}", n, "is negative", "count the claims with this status")
    # the command line's accepted failures, up to schema 3 (schema 4 records each claim's expected verdict)
    known = _check(report, "known_failures", "array", "", required=schema != SCHEMA)
    if known is not None:
        _check_items(known, "string", "known_failures")

    claims = _check(report, "claims", "array", "")
    seen: dict[str, int] = {}
    for i, claim in enumerate(claims):
        path = f"claims[{i}]"
        validate_claim(claim, path)
        cid = claim["claim"]
        if cid in seen:
            raise InputError(f"{path}.claim", cid, f"repeats the id of claims[{seen[cid]}]",
                             "give every claim a distinct id")
        seen[cid] = i

    figures = _check(report, "figures", "array", "")
    names: dict[str, int] = {}
    for j, fig in enumerate(figures):
        path = f"figures[{j}]"
        if not isinstance(fig, dict):
            raise InputError(path, fig, f"has type {_tname(fig)}, expected object",
                             "write each figure as an object with name, title, caption, png, svg")
        name = _check(fig, "name", "string", path)
        if name in names:
            raise InputError(f"{path}.name", name, f"repeats the name of figures[{names[name]}]",
                             "give every figure a distinct name")
        names[name] = j
        _check(fig, "title", "string", path)
        _check(fig, "caption", "string", path)
        _check_relpath(_check(fig, "png", "string", path), f"{path}.png")
        svg = _check(fig, "svg", "string or null", path, required=False)
        if svg is not None:
            _check_relpath(svg, f"{path}.svg")
        _check(fig, "claim", "string or null", path, required=False)


def validate_claim(claim, path: str = "claim") -> None:
    """Check one claim of a report (``path``: where it is, for the messages, e.g. ``claims[2]``); raises
    :class:`InputError` like :func:`validate_report`.  The runner also checks cached verdicts with it."""
    if not isinstance(claim, dict):
        raise InputError(path, claim, f"has type {_tname(claim)}, expected object", "write each claim as an object")
    cid = _check(claim, "claim", "string", path)
    if not cid.strip():
        raise InputError(f"{path}.claim", cid, "is empty", "give the claim its id, e.g. 'D9-descent-time'")
    for key in ("title", "derivation", "label"):
        _check(claim, key, "string", path)
    _check_status(_check(claim, "status", "string", path), f"{path}.status")
    _check(claim, "predicted", "any", path)
    _check(claim, "measured", "any", path)
    tol = _check(claim, "tolerance", "object or null", path)
    if tol is not None:
        _check(tol, "name", "string", f"{path}.tolerance")
        _check(tol, "value", "number or null", f"{path}.tolerance")
        _check(tol, "justification", "string", f"{path}.tolerance")
    _check_items(_check(claim, "seeds", "array", path), "integer", f"{path}.seeds")
    fits = _check(claim, "fits", "object", path)
    for name, fit in fits.items():
        fpath = f"{path}.fits.{name}"
        if not isinstance(fit, dict):
            raise InputError(fpath, fit, f"has type {_tname(fit)}, expected object",
                             "write each fit as an object with slope, interval, band, predicted")
        _check(fit, "slope", "number or null", fpath, required=False)
        _check(fit, "predicted", "number or null", fpath, required=False)
        _check_pair(fit, "interval", fpath)
        _check_pair(fit, "band", fpath)
    figures = _check(claim, "figures", "array", path)
    _check_items(figures, "string", f"{path}.figures")
    for j, fig in enumerate(figures):
        _check_relpath(fig, f"{path}.figures[{j}]")
    for key in ("statement", "assumptions"):
        _check(claim, key, "string", path, required=False)
    latex = _check(claim, "latex", "array", path, required=False)
    if latex is not None:
        _check_items(latex, "string", f"{path}.latex")
    results = _check(claim, "results", "array", path, required=False)
    for j, res in enumerate(results or ()):
        rpath = f"{path}.results[{j}]"
        if not isinstance(res, dict):
            raise InputError(rpath, res, f"has type {_tname(res)}, expected object",
                             "write each derived result as an object with label, latex and mathml")
        _check(res, "label", "string", rpath)
        _check(res, "latex", "string", rpath)
        _check(res, "mathml", "string", rpath, required=False)
    key = _check(claim, "key", "object or null", path, required=False)
    if key is not None:
        kpath = f"{path}.key"
        _check(key, "quantity", "string", kpath)
        for name in ("measured", "predicted", "margin"):
            _check(key, name, "number or null", kpath, required=False)
        _check(key, "why", "string or null", kpath, required=False)
        _check_pair(key, "interval", kpath)
        _check_pair(key, "band", kpath)
        counts = _check(key, "counts", "object or null", kpath, required=False)
        if counts is not None:
            cpath = f"{kpath}.counts"
            _check(counts, "met", "integer", cpath)
            _check(counts, "total", "integer", cpath)
            _check(counts, "unit", "string", cpath)
            _check(counts, "allowed", "integer or null", cpath, required=False)
            _check(counts, "worst", "number or null", cpath, required=False)
        quantifier = _check(key, "quantifier", "string or null", kpath, required=False)
        if quantifier is not None and quantifier not in QUANTIFIERS:
            raise InputError(f"{kpath}.quantifier", quantifier, f"is not one of {sorted(QUANTIFIERS)}",
                             "write 'every' (for every seed) or 'most' (the Wilson rule, for 'typically')")
    for name, check in (("range", check_range), ("rows", check_rows)):
        value = _check(claim, name, "object or null" if name == "range" else "array or null", path, required=False)
        try:
            check(claim.get("claim", path), value)
        except ValueError as exc:
            raise InputError(f"{path}.{name}", value, f"is malformed: {exc}",
                             "write range as {name: values} and rows as verify.registry.rows_of makes them") from None
    _check(claim, "details", "object", path, required=False)
    _check(claim, "wall_time_s", "number or null", path, required=False)
    for name in ("negative_control", "calibrated_control"):
        control = _check(claim, name, "object or null", path, required=False)
        if control is not None:
            cpath = f"{path}.{name}"
            _check(control, "description", "string", cpath)
            _check_status(_check(control, "status", "string", cpath), f"{cpath}.status")
            if name == "calibrated_control":
                _check(control, "key", "object or null", cpath, required=False)
    res = _check(claim, "resolution", "object or null", path, required=False)
    if res is not None:
        rpath = f"{path}.resolution"
        _check(res, "detects", "string", rpath)
        _check(res, "value", "number or null", rpath, required=False)
        _check(res, "unit", "string or null", rpath, required=False)
        _check(res, "tightness", "number or null", rpath, required=False)
    expected = _check(claim, "expected", "object or null", path, required=False)
    if expected is not None:
        epath = f"{path}.expected"
        status = _check(expected, "status", "string", epath)
        _check_status(status, f"{epath}.status")
        if status == Status.ERROR:
            raise InputError(f"{epath}.status", status, "is never expected (a check that raises is a fault)",
                             "expect passed, failed, inconclusive or not-applicable")
        _check(expected, "reason", "string or null", epath)
    traceback = _check(claim, "traceback", "string or null", path, required=False)
    if claim["status"] == Status.ERROR and not (isinstance(traceback, str) and traceback.strip()):
        raise InputError(f"{path}.traceback", traceback, "is missing for a claim whose check raised (error)",
                         "record the traceback of the exception")


def _parse_created(text: str):
    try:
        return datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    except ValueError:
        return None


# --------------------------------------------------------------------------------------------
# value formatting (shared by both renderers)
# --------------------------------------------------------------------------------------------

def _num(x) -> str:
    """6 significant digits for floats; integers in full."""
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, int):
        return str(x)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    s = format(x, ".6g")
    return s if any(c in s for c in ".en") else s + ".0"  # keep a float recognisable as one


_BARE_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*\Z")


def _key(k: str) -> str:
    return k if _BARE_KEY.match(k) else json.dumps(k, ensure_ascii=False)


def _compact(v) -> str:
    """One-line JSON-like form: numbers to 6 significant digits, simple keys unquoted."""
    if v is None:
        return "null"
    if isinstance(v, (bool, int, float)):
        return _num(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ", ".join(_compact(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_key(str(k))}: {_compact(x)}" for k, x in v.items()) + "}"
    return json.dumps(str(v), ensure_ascii=False)


def _pretty(v, indent: int = 0, lead: int = 0) -> str:
    """Multi-line form of ``v`` that keeps short parts on one line.

    ``indent`` is the indentation of the lines of ``v``; ``lead`` the number of
    characters before ``v`` on its first line (a dict key).
    """
    flat = _compact(v)
    if indent + lead + len(flat) <= _WIDTH or not isinstance(v, (list, dict)) or not v:
        return flat
    pad = " " * (indent + 2)
    if isinstance(v, list):
        if all(not isinstance(x, (list, dict)) for x in v):  # scalars: fill lines
            lines, line = [], ""
            for x in v:
                item = _compact(x) + ","
                if line and len(pad) + len(line) + 1 + len(item) > _WIDTH:
                    lines.append(pad + line)
                    line = item
                else:
                    line = f"{line} {item}" if line else item
            lines.append(pad + line)
            body = "\n".join(lines).rstrip(",")
        else:
            body = ",\n".join(pad + _pretty(x, indent + 2) for x in v)
        return "[\n" + body + "\n" + " " * indent + "]"
    parts = []
    for k, x in v.items():
        head = f"{_key(str(k))}: "
        parts.append(pad + head + _pretty(x, indent + 2, len(head)))
    return "{\n" + ",\n".join(parts) + "\n" + " " * indent + "}"


def _short(v, limit: int = _SHORT) -> str:
    """Short one-line form for tables: strings without quotes, truncated with an ellipsis."""
    s = " ".join(v.split()) if isinstance(v, str) else _compact(v)
    return s if len(s) <= limit else s[: limit - 1].rstrip() + "\u2026"


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


def _blocks(text: str) -> list[tuple[str, str]]:
    """Split plain text into ("para", text) and ("formula", text) blocks.

    Indented lines form formula blocks (dedented); other lines are joined into
    paragraphs; blank lines separate blocks.
    """
    blocks: list[tuple[str, list[str]]] = []
    for line in text.expandtabs(4).splitlines():
        line = line.rstrip()
        if not line:
            blocks.append(("", []))
            continue
        kind = "formula" if line[0] == " " else "para"
        if not blocks or blocks[-1][0] != kind:
            blocks.append((kind, []))
        blocks[-1][1].append(line)
    out = []
    for kind, lines in blocks:
        if kind == "para":
            out.append((kind, " ".join(ln.strip() for ln in lines)))
        elif kind == "formula":
            out.append((kind, textwrap.dedent("\n".join(lines))))
    return out


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


# --------------------------------------------------------------------------------------------
# the section model: one list of blocks, built once from the report, rendered twice
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Code:
    """Inline code."""
    text: str


@dataclass(frozen=True)
class Strong:
    parts: tuple


@dataclass(frozen=True)
class Em:
    parts: tuple


@dataclass(frozen=True)
class Link:
    parts: tuple
    href: str                 # "#anchor" or a path relative to the report


@dataclass(frozen=True)
class StatusTag:
    status: str
    extra: str = ""           # plain text after the status


@dataclass(frozen=True)
class Heading:
    level: int
    parts: tuple
    anchor: str | None = None  # an explicit anchor the renderers must emit


@dataclass(frozen=True)
class Para:
    parts: tuple
    cls: str = ""             # "meta", "paper", "note"


@dataclass(frozen=True)
class Text:
    """Plain text in paragraphs and indented formula blocks (docstring sections, captions)."""
    text: str


@dataclass(frozen=True)
class Pre:
    text: str


@dataclass(frozen=True)
class Math:
    tex: str


@dataclass(frozen=True)
class Formula:
    """A derived result: its label (plain text), LaTeX (Markdown) and MathML (HTML; None: show the LaTeX)."""
    label: str
    tex: str
    mathml: str | None


@dataclass(frozen=True)
class Clipped:
    """Text the HTML shows on one line, cut with an ellipsis, the whole of it on hover (Markdown: the text)."""
    text: str


@dataclass(frozen=True)
class Table:
    head: tuple | None        # column titles, or None for a key-value table
    rows: tuple               # rows of cells; each cell a tuple of inline parts
    cls: str = ""             # "summary": the claims' summary, laid out to fit the page


@dataclass(frozen=True)
class Fields:
    """Labelled values: ``(label, inline parts or a Value)`` pairs."""
    items: tuple


@dataclass(frozen=True)
class Value:
    """A JSON value, inline when short, as a block otherwise."""
    value: object


@dataclass(frozen=True)
class Bullets:
    items: tuple              # each item a tuple of inline parts, or an Image


@dataclass(frozen=True)
class Image:
    path: str
    title: str


@dataclass(frozen=True)
class Details:
    summary: str
    body: tuple


@dataclass(frozen=True)
class Figure:
    anchor: str
    title: str
    png: str
    svg: str | None
    caption: str
    name: str
    level: int = 3            # of its title: 3 in the Figures section, 4 inside a claim's section


@dataclass(frozen=True)
class Section:
    """A claim's section: an anchor and a status class around its blocks."""
    anchor: str
    status: str
    body: tuple


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


# --------------------------------------------------------------------------------------------
# Markdown
# --------------------------------------------------------------------------------------------


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|$~&])")
_MD_LINE_START = re.compile(r"^(\s*)(#|[-+=]|\d{1,9}(?=[.)](\s|$)))")


def _md(text: str) -> str:
    """Escape plain text for Markdown (GitHub), keeping it on its lines."""
    out = []
    for line in str(text).split("\n"):
        line = _MD_SPECIAL.sub(r"\\\1", line)
        m = _MD_LINE_START.match(line)
        if m:
            if m.group(2)[0].isdigit():
                end = m.end()
                line = line[:end] + "\\" + line[end:]
            else:
                line = line[: m.start(2)] + "\\" + line[m.start(2):]
        out.append(line)
    return "\n".join(out)


def _md_cell(text: str) -> str:
    return _md(" ".join(str(text).split()))


def _md_code(text: str, *, table: bool = False) -> str:
    text = " ".join(text.split("\n"))
    run = max((len(r) for r in re.findall(r"`+", text)), default=0)
    fence = "`" * (run + 1)
    if text.startswith("`") or text.endswith("`") or (text.startswith(" ") and text.endswith(" ") and text.strip()):
        text = f" {text} "
    if table:
        text = text.replace("|", "\\|")
    return f"{fence}{text}{fence}"


def _md_fence(text: str, lang: str = "") -> str:
    run = max((len(r) for r in re.findall(r"`{3,}", text)), default=2)
    fence = "`" * (run + 1)
    return f"{fence}{lang}\n{text}\n{fence}"


def _md_value(v) -> str:
    """A value as inline code when short, as a fenced block otherwise."""
    if isinstance(v, str) and "\n" not in v and len(v) <= _INLINE:
        return _md(v)
    if isinstance(v, str):
        return _md_fence(v, "text")
    flat = _compact(v)
    if len(flat) <= _INLINE:
        return _md_code(flat)
    return _md_fence(_pretty(v), "text")


def _md_link_target(path: str) -> str:
    return quote(path, safe="/-_.~")


def _md_text_blocks(text: str) -> list[str]:
    out = []
    for kind, body in _blocks(text):
        out.append(_md(body) if kind == "para" else _md_fence(body, "text"))
    return out


def _figures_by_path(report: dict) -> dict:
    """``path -> (index, figure)`` for the PNG and SVG of every report figure (the first one wins)."""
    found = {}
    for j, fig in enumerate(report["figures"]):
        found.setdefault(fig["png"], (j, fig))
        if fig.get("svg"):
            found.setdefault(fig["svg"], (j, fig))
    return found


def _md_inline(parts, table: bool = False) -> str:
    out = []
    for p in parts:
        if isinstance(p, str):
            out.append(_md_cell(p) if table else _md(p))
        elif isinstance(p, Code):
            out.append(_md_code(p.text, table=table))
        elif isinstance(p, Strong):
            out.append(f"**{_md_inline(p.parts, table)}**")
        elif isinstance(p, Em):
            out.append(f"*{_md_inline(p.parts, table)}*")
        elif isinstance(p, Link):
            href = p.href if p.href.startswith("#") else _md_link_target(p.href)
            out.append(f"[{_md_inline(p.parts, table)}]({href})")
        elif isinstance(p, StatusTag):
            out.append(p.status + p.extra)
        elif isinstance(p, Clipped):
            out.append(_md_cell(p.text) if table else _md(p.text))
        else:
            raise TypeError(f"no Markdown for inline {p!r}")
    return "".join(out)


def _md_row(cells) -> str:
    return "| " + " | ".join(_md_inline(c, table=True) for c in cells) + " |"


def _md_block(b) -> list[str]:
    """The Markdown paragraphs of one block (joined by blank lines)."""
    if isinstance(b, Heading):
        head = f"{'#' * b.level} {_md_inline(b.parts)}"
        return ([f'<a id="{b.anchor}"></a>'] if b.anchor else []) + [head]
    if isinstance(b, Para):
        text = _md_inline(b.parts)
        return [f"> {text}" if b.cls == "note" else text]
    if isinstance(b, Text):
        return _md_text_blocks(b.text)
    if isinstance(b, Pre):
        return [_md_fence(b.text, "text")]
    if isinstance(b, Math):
        # a fenced math block: GitHub typesets it, plain CommonMark shows the LaTeX as code (never as a list,
        # emphasis or a heading, as a $$ paragraph can be read)
        return [_md_fence("\n".join(ln for ln in b.tex.strip().splitlines() if ln.strip()), "math")]
    if isinstance(b, Formula):
        return ([f"*{_md(b.label)}*"] if b.label.strip() else []) + _md_block(Math(b.tex))
    if isinstance(b, Table):
        head = b.head if b.head is not None else ("item", "value")
        lines = ["| " + " | ".join(head) + " |", "| " + " | ".join("---" for _ in head) + " |"]
        return ["\n".join(lines + [_md_row(r) for r in b.rows])]
    if isinstance(b, Fields):
        out = []
        for label, value in b.items:
            text = _md_value(value.value) if isinstance(value, Value) else _md_inline(value)
            if text.startswith("`" * 3):            # a fenced block never starts mid-line
                out += [f"**{_md(label)}:**", text]
            else:
                out.append(f"**{_md(label)}:** {text}")
        return out
    if isinstance(b, Bullets):
        items = []
        for item in b.items:
            if isinstance(item, Image):
                items.append(f"- ![{_md_cell(item.title)}]({_md_link_target(item.path)})")
            else:
                items.append("- " + _md_inline(item))
        return ["\n".join(items)]
    if isinstance(b, Details):
        return [f"<details><summary>{_e(b.summary)}</summary>"] + [p for x in b.body for p in _md_block(x)] \
            + ["</details>"]
    if isinstance(b, Figure):
        out = [f'<a id="{b.anchor}"></a>', f"{'#' * b.level} {_md_cell(b.title)}",
               f"![{_md_cell(b.title)}]({_md_link_target(b.png)})"]
        out += _md_text_blocks(b.caption) if b.caption else []
        return out + ([f"[SVG]({_md_link_target(b.svg)})"] if b.svg else [])   # the image links the PNG
    if isinstance(b, Section):
        return [f'<a id="{b.anchor}"></a>'] + [p for x in b.body for p in _md_block(x)]
    raise TypeError(f"no Markdown for block {b!r}")


def render_markdown(report: dict, run: dict | None = None) -> str:
    """The report as GitHub Markdown (validates ``report`` first; ``run``: the run record of timing.json)."""
    validate_report(report)
    paragraphs = [p for block in build_sections(report, run, brief=True) for p in _md_block(block)]
    return "\n\n".join(paragraphs).rstrip("\n") + "\n"


# --------------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------------

_CSS = """
:root { --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --bg-code: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--fg); background: #fff; line-height: 1.5;
       font: 15px/1.5 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; }
main { max-width: 980px; margin: 0 auto; padding: 24px 20px 64px; }
h1 { font-size: 1.7em; border-bottom: 1px solid var(--line); padding-bottom: .3em; }
h2 { font-size: 1.35em; border-bottom: 1px solid var(--line); padding-bottom: .25em; margin-top: 2em; }
h3 { font-size: 1.05em; margin: 1.3em 0 .4em; }
code, pre { font: 13px/1.45 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
code { background: var(--bg-code); padding: .1em .3em; border-radius: 4px; }
pre { background: var(--bg-code); padding: 10px 12px; border-radius: 6px; overflow-x: auto;
      white-space: pre-wrap; word-break: break-word; }
pre code { background: none; padding: 0; }
pre.latex { border-left: 3px solid #8250df; }
.formula { margin: .5em 0 1em; overflow-x: auto; }
.formula-label { color: var(--muted); margin: 0; font-style: italic; }
math[display="block"] { font-size: 1.1em; margin: .2em 0; }
table { border-collapse: collapse; margin: .6em 0; display: block; overflow-x: auto; }
th, td { border: 1px solid var(--line); padding: 4px 9px; text-align: left; vertical-align: top; }
th { background: var(--bg-code); }
.muted, .meta { color: var(--muted); }
.status { display: inline-block; padding: 0 .55em; border-radius: 1em; font-weight: 600; font-size: .9em;
          white-space: nowrap; }
.status-passed { background: #dafbe1; color: #116329; border: 1px solid #4ac26b; }
.status-failed { background: #ffebe9; color: #a40e26; border: 1px solid #ff8182; }
.status-inconclusive { background: #fff8c5; color: #7d4e00; border: 1px solid #d4a72c; }
.status-error { background: #f1e6ff; color: #5e1ca8; border: 1px solid #a371f7; }
.status-not-applicable { background: #eff2f5; color: #59636e; border: 1px solid #afb8c1; }
section.claim { border-left: 4px solid var(--line); padding-left: 14px; margin-top: 2.2em; }
section.claim.passed { border-left-color: #4ac26b; }
section.claim.failed { border-left-color: #ff8182; }
section.claim.inconclusive { border-left-color: #d4a72c; }
section.claim.error { border-left-color: #a371f7; }
section.claim.not-applicable { border-left-color: #afb8c1; }
.note { background: #fff8c5; border: 1px solid #d4a72c; padding: 6px 10px; border-radius: 6px; }
.missing { background: #ffebe9; border: 1px solid #ff8182; padding: 6px 10px; border-radius: 6px; }
figure { margin: 1em 0 2em; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); }
figcaption { color: var(--muted); }
table.summary { display: table; width: 100%; table-layout: fixed; font-size: 13px; line-height: 1.35; }
table.summary th, table.summary td { padding: 3px 5px; overflow-wrap: anywhere; hyphens: auto; }
table.summary code { font-size: 12px; padding: 0 .15em; }
table.summary col.c-claim { width: 12%; }
table.summary col.c-status { width: 15%; }
table.summary col.c-title { width: 11%; }
table.summary col.c-key-quantity { width: 16%; }
table.summary col.c-measured, table.summary col.c-predicted { width: 10%; }
table.summary col.c-margin { width: 6%; }
table.summary col.c-expected, table.summary col.c-resolution { width: 10%; }
table.summary td.c-status, table.summary td.c-title, table.summary td.c-expected,
table.summary td.c-resolution { font-size: 12px; }
table.summary td .clip { display: -webkit-box; -webkit-box-orient: vertical; -webkit-line-clamp: 3;
                         line-clamp: 3; overflow: hidden; }
table.summary td.c-expected, table.summary td.c-resolution { color: var(--muted); }
table.summary .status { font-size: .85em; padding: 0 .4em; overflow-wrap: normal; }
dl.kv { display: grid; grid-template-columns: max-content 1fr; gap: 4px 14px; }
dl.kv dt { font-weight: 600; }
dl.kv dd { margin: 0; }
""".strip()


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _status_html(status: str, extra: str = "") -> str:
    return f'<span class="status status-{_e(status)}">{_e(status)}</span>{extra}'


def _html_value(v) -> str:
    if isinstance(v, str) and "\n" not in v and len(v) <= _INLINE:
        return _e(v)
    if isinstance(v, str):
        return f"<pre>{_e(v)}</pre>"
    flat = _compact(v)
    if len(flat) <= _INLINE:
        return f"<code>{_e(flat)}</code>"
    return f"<pre><code>{_e(_pretty(v))}</code></pre>"


def _html_text(text: str) -> str:
    out = []
    for kind, body in _blocks(text):
        out.append(f"<p>{_e(body)}</p>" if kind == "para" else f'<pre class="formula">{_e(body)}</pre>')
    return "\n".join(out)


_MATHML_TAGS = frozenset("math mrow mi mn mo ms mtext mspace msub msup msubsup mfrac msqrt mroot mfenced mtable mtr "
                         "mtd munder mover munderover mstyle mpadded mphantom menclose semantics annotation".split())
_MATHML_ATTRS = frozenset("xmlns display mathvariant open close separators columnalign linethickness stretchy "
                          "fence separator form lspace rspace accent accentunder notation encoding".split())


def _safe_mathml(text: str) -> str | None:
    """MathML serialised afresh from ``text``'s parsed tree when that tree is made only of presentation elements
    and harmless attributes, else None (the LaTeX is shown instead).

    The page never receives ``text`` itself: processing instructions, comments, a DOCTYPE or CDATA (which an XML
    parser drops or resolves but an HTML parser reads differently) reject it outright, and the output is built
    from the checked elements with every text and attribute value escaped, so a report.json cannot put markup
    or scripts into the page."""
    from xml.etree import ElementTree

    if not isinstance(text, str) or "<?" in text or "<!" in text:
        return None
    try:
        root = ElementTree.fromstring(text)
    except (ElementTree.ParseError, ValueError, RecursionError):
        return None
    if root.tag.rsplit("}", 1)[-1] != "math":
        return None
    for el in root.iter():
        if not isinstance(el.tag, str):
            return None
        tag = el.tag.rsplit("}", 1)[-1]
        if tag not in _MATHML_TAGS or any(a.rsplit("}", 1)[-1] not in _MATHML_ATTRS for a in el.attrib):
            return None

    def emit(el, out: list) -> None:
        tag = el.tag.rsplit("}", 1)[-1]
        attrs = {a.rsplit("}", 1)[-1]: v for a, v in el.attrib.items() if a.rsplit("}", 1)[-1] != "xmlns"}
        if el is root:
            attrs = {"xmlns": "http://www.w3.org/1998/Math/MathML", **attrs}
        out.append(f"<{tag}" + "".join(f' {a}="{_e(v)}"' for a, v in attrs.items()) + ">")
        if el.text:
            out.append(_e(el.text))
        for child in el:
            emit(child, out)
            if child.tail:
                out.append(_e(child.tail))
        out.append(f"</{tag}>")

    out: list = []
    try:
        emit(root, out)
    except RecursionError:
        return None
    return "".join(out)


#: the largest figure a report embeds (the project's are below 1 MiB)
FIGURE_MAX_BYTES = 32 * 2**20


def _png_data_uri(base_dir: Path, rel: str) -> tuple[str | None, str | None]:
    """(data URI, None) or (None, why the figure cannot be shown)."""
    p = PurePosixPath(rel)
    if p.is_absolute() or ".." in p.parts or "\\" in rel:
        return None, "is outside the report folder"
    path = base_dir.joinpath(*p.parts)
    try:
        info = path.lstat()              # a link, a FIFO or a device is never opened (it could hang or never end)
        if not stat.S_ISREG(info.st_mode):
            return None, "is not a regular file"
        if info.st_size > FIGURE_MAX_BYTES:
            return None, f"is larger than {FIGURE_MAX_BYTES // 2**20} MiB"
        with path.open("rb") as fh:
            data = fh.read(FIGURE_MAX_BYTES + 1)
    except FileNotFoundError:
        return None, "is missing"
    except OSError as exc:
        return None, f"cannot be read ({exc.strerror or type(exc).__name__})"
    if not data.startswith(_PNG_MAGIC):
        return None, "is not a PNG file"
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii"), None


def _html_figure(base_dir: Path, rel: str, title: str) -> str:
    uri, why = _png_data_uri(base_dir, rel)
    if uri is None:
        return f'<p class="missing">Figure <code>{_e(rel)}</code> {_e(why)}; it cannot be shown.</p>'
    return f'<img src="{uri}" alt="{_e(title)}">'


def _html_inline(parts) -> str:
    out = []
    for p in parts:
        if isinstance(p, str):
            out.append(_e(p))
        elif isinstance(p, Code):
            out.append(f"<code>{_e(p.text)}</code>")
        elif isinstance(p, Strong):
            out.append(f"<strong>{_html_inline(p.parts)}</strong>")
        elif isinstance(p, Em):
            out.append(f"<em>{_html_inline(p.parts)}</em>")
        elif isinstance(p, Link):
            href = p.href if p.href.startswith("#") else quote(p.href, safe="/-_.~")
            out.append(f'<a href="{_e(href)}">{_html_inline(p.parts)}</a>')
        elif isinstance(p, StatusTag):
            extra = f' <span class="muted">{_e(p.extra.strip())}</span>' if p.extra else ""
            out.append(_status_html(p.status, extra))
        elif isinstance(p, Clipped):
            out.append(f'<span class="clip" title="{_e(p.text)}">{_e(p.text)}</span>')
        else:
            raise TypeError(f"no HTML for inline {p!r}")
    return "".join(out)


def _html_block(b, base_dir: Path) -> list[str]:
    if isinstance(b, Heading):
        anchor = f' id="{b.anchor}"' if b.anchor else ""
        return [f"<h{b.level}{anchor}>{_html_inline(b.parts)}</h{b.level}>"]
    if isinstance(b, Para):
        cls = f' class="{b.cls}"' if b.cls else ""
        return [f"<p{cls}>{_html_inline(b.parts)}</p>"]
    if isinstance(b, Text):
        return [_html_text(b.text)]
    if isinstance(b, Pre):
        return [f"<pre><code>{_e(b.text)}</code></pre>"]
    if isinstance(b, Math):
        return [f'<pre class="latex"><code>{_e(b.tex.strip())}</code></pre>']
    if isinstance(b, Formula):
        label = f'<p class="formula-label">{_e(b.label)}</p>' if b.label.strip() else ""
        mathml = _safe_mathml(b.mathml) if b.mathml else None
        shown = mathml if mathml else f'<pre class="latex"><code>{_e(b.tex.strip())}</code></pre>'
        return [f'<div class="formula">{label}{shown}</div>']
    if isinstance(b, Table) and b.cls == "summary":
        # laid out to the page's width: fixed column widths, long words broken, the status right after the id
        cols = [re.sub(r"[^a-z0-9]+", "-", h.lower()) for h in b.head]
        out = ['<table class="summary">', "<colgroup>" + "".join(f'<col class="c-{c}">' for c in cols) + "</colgroup>",
               "<thead><tr>" + "".join(f'<th class="c-{c}">{_e(h)}</th>' for c, h in zip(cols, b.head))
               + "</tr></thead>", "<tbody>"]
        out += ["<tr>" + "".join(f'<td class="c-{c}">{_html_inline(cell)}</td>' for c, cell in zip(cols, row))
                + "</tr>" for row in b.rows]
        return out + ["</tbody>", "</table>"]
    if isinstance(b, Table):
        out = ["<table>"]
        if b.head is not None:
            out.append("<thead><tr>" + "".join(f"<th>{_e(h)}</th>" for h in b.head) + "</tr></thead>")
            body = ["<tr>" + "".join(f"<td>{_html_inline(c)}</td>" for c in row) + "</tr>" for row in b.rows]
        else:
            body = [f"<tr><th>{_html_inline(row[0])}</th>" + "".join(f"<td>{_html_inline(c)}</td>" for c in row[1:])
                    + "</tr>" for row in b.rows]
        return out + ["<tbody>"] + body + ["</tbody>", "</table>"]
    if isinstance(b, Fields):
        items = [f"<dt>{_e(label)}</dt><dd>"
                 + (_html_value(value.value) if isinstance(value, Value) else _html_inline(value)) + "</dd>"
                 for label, value in b.items]
        return ['<dl class="kv">'] + items + ["</dl>"]
    if isinstance(b, Bullets):
        items = [f"<li>{_html_figure(base_dir, item.path, item.title)}</li>" if isinstance(item, Image)
                 else f"<li>{_html_inline(item)}</li>" for item in b.items]
        return ["<ul>"] + items + ["</ul>"]
    if isinstance(b, Details):
        return [f"<details><summary>{_e(b.summary)}</summary>"] + [ln for x in b.body
                                                                   for ln in _html_block(x, base_dir)] + ["</details>"]
    if isinstance(b, Figure):
        caption = _e(b.caption)
        if b.svg:
            caption += (f' <span class="muted">(vector version: <a href="{_e(quote(b.svg, safe="/-_.~"))}">'
                        f'{_e(b.svg)}</a>, next to this file)</span>')
        return [f'<figure id="{b.anchor}">', f"<h{b.level}>{_e(b.title)}</h{b.level}>", _html_figure(base_dir, b.png, b.title),
                f"<figcaption>{caption}</figcaption>", "</figure>"]
    if isinstance(b, Section):
        return [f'<section class="claim {_e(b.status)}" id="{b.anchor}">'] + [
            ln for x in b.body for ln in _html_block(x, base_dir)] + ["</section>"]
    raise TypeError(f"no HTML for block {b!r}")


def render_html(report: dict, base_dir, run: dict | None = None) -> str:
    """The report as one self-contained HTML page (validates ``report`` first).

    PNG figures are read from ``base_dir / path`` and embedded as base64 data
    URIs; a missing or unreadable figure is shown as a visible note.
    """
    validate_report(report)
    base_dir = Path(base_dir)
    head = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{_e(report_title(report, run))}</title>", f"<style>\n{_CSS}\n</style>", "</head>", "<body>",
            "<main>"]
    body = [ln for block in build_sections(report, run) for ln in _html_block(block, base_dir)]
    return "\n".join(head + body + ["</main>", "</body>", "</html>"]) + "\n"


# --------------------------------------------------------------------------------------------
# files
# --------------------------------------------------------------------------------------------

def _render_all(report: dict, out_dir: Path, run: dict | None = None) -> tuple[bytes, bytes]:
    return (render_markdown(report, run).encode("utf-8"), render_html(report, out_dir, run).encode("utf-8"))


def _run_record(out_dir: Path) -> dict | None:
    """The run record (``timing.json``) beside a report, if any and readable."""
    try:
        record = json.loads((Path(out_dir) / "timing.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return record if isinstance(record, dict) else None


def write_report(report: dict, out_dir, run: dict | None = None) -> dict:
    """Validate ``report`` and write ``report.json``, ``report.md`` and ``report.html`` into ``out_dir``.

    The JSON is normalised first (tuples to lists, NumPy values to Python,
    non-finite floats to null) and the Markdown and HTML are rendered from that
    normalised JSON, so :func:`rerender` reproduces them byte for byte.  Each
    file is written to a temporary file in ``out_dir`` and moved into place;
    nothing is written when the report is invalid.  Returns
    ``{"json": path, "md": path, "html": path}`` (strings).
    """
    out_dir = Path(out_dir)
    data = jsonable(report)
    validate_report(data)
    text = dumps(data)
    data = json.loads(text)  # render exactly what is written
    md, page = _render_all(data, out_dir, run)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"json": out_dir / "report.json", "md": out_dir / "report.md", "html": out_dir / "report.html"}
    atomic_write(paths["json"], text.encode("utf-8"))
    atomic_write(paths["md"], md)
    atomic_write(paths["html"], page)
    return {k: str(v) for k, v in paths.items()}


#: the largest report.json ``report`` reads (the committed ones are below 2 MB)
REPORT_MAX_BYTES = 64 * 2**20
#: the deepest nesting of arrays and objects in a report.json (the schema needs about 12)
REPORT_MAX_DEPTH = 64


def _nesting_depth(text: str) -> int:
    """The deepest nesting of ``[``/``{`` in JSON ``text`` (outside strings), found without recursion."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def _read_report_json(path: Path) -> dict:
    """``path`` parsed, as untrusted input: a regular file below :data:`REPORT_MAX_BYTES`, nested at most
    :data:`REPORT_MAX_DEPTH` deep, numbers of at most 4300 digits; each failure one :class:`InputError`."""
    fix = "restore report.json from the run, or rerun 'python -m verify all'"
    try:
        info = path.lstat()
    except OSError as exc:
        raise InputError(str(path), str(path), f"cannot be read ({exc.strerror or exc})",
                         "check the file's permissions") from None
    if not stat.S_ISREG(info.st_mode):
        raise InputError(str(path), str(path), "is not a regular file (a link, a FIFO or a device)",
                         "give the folder of a run whose report.json is a plain file")
    if info.st_size > REPORT_MAX_BYTES:
        raise InputError(str(path), f"{info.st_size} bytes", f"is larger than {REPORT_MAX_BYTES // 2**20} MiB",
                         fix)
    try:
        with path.open("rb") as fh:
            text = fh.read(REPORT_MAX_BYTES + 1).decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(str(path), str(path), f"cannot be read ({exc})",
                         "check the file's permissions and that it is UTF-8 JSON") from None
    if _nesting_depth(text) > REPORT_MAX_DEPTH:
        raise InputError(str(path), f"nesting deeper than {REPORT_MAX_DEPTH}", "is not a report (too deeply nested)",
                         fix)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(str(path), f"line {exc.lineno} column {exc.colno}", f"is not valid JSON ({exc.msg})",
                         fix) from None
    except (ValueError, RecursionError) as exc:      # e.g. an integer of more than 4300 digits
        raise InputError(str(path), str(exc)[:80], "is not a report (a value JSON cannot hold here)", fix) from None


def rerender(out_dir) -> dict:
    """Read ``out_dir/report.json`` (or ``out_dir`` itself when it names a ``report.json``), validate it and rewrite
    ``report.md`` and ``report.html`` beside it.

    Backs ``python -m verify report DIR``.  An absent, unreadable, oversized, malformed or invalid
    ``report.json`` raises :class:`InputError` naming its path (and the key, for an invalid one).  Returns
    ``{"md": path, "html": path}``.
    """
    out_dir = Path(out_dir)
    if out_dir.name == "report.json" and not out_dir.is_dir():
        out_dir = out_dir.parent
    path = out_dir / "report.json"
    if not path.is_file():
        where = "the folder does not exist" if not out_dir.exists() else (
            "it is not a folder" if not out_dir.is_dir() else "the folder holds no report.json")
        raise InputError(str(path), str(out_dir), f"is absent ({where})",
                         "give the folder of a run, e.g. reports/<paper>/<run-id>, written by 'python -m verify all'")
    data = _read_report_json(path)
    try:
        validate_report(data)
    except InputError as exc:
        raise InputError(f"{path}: {exc.field}", exc.value, exc.problem, exc.fix) from None
    md, page = _render_all(data, out_dir, _run_record(out_dir))
    paths = {"md": out_dir / "report.md", "html": out_dir / "report.html"}
    atomic_write(paths["md"], md)
    atomic_write(paths["html"], page)
    return {k: str(v) for k, v in paths.items()}
