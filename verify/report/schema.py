"""The report schema (``verify-report/4``; ``/2`` and ``/3`` are still read) and its validator.

A run's ``report.json`` is checked here before anything renders it: :func:`validate_report` walks the whole
report, :func:`validate_claim` one claim (the runner also checks cached verdicts with it).  Every failure is one
:class:`theory.errors.InputError` naming the key path (e.g. ``claims[2].status``).  The schema is written as
code, not as a JSON Schema file: ``jsonschema`` is not a dependency, and the messages (the key path, the
expected type, a fix) are part of the command line's behaviour.
"""
from __future__ import annotations

import re
from datetime import datetime
from pathlib import PurePosixPath

from theory.errors import InputError

from ..registry import PROFILE_NAMES as PROFILES
from ..registry import QUANTIFIERS, STATUSES, Status, check_range, check_rows

__all__ = ["SCHEMA", "SCHEMAS", "VERSION_KEYS", "STATUSES", "PROFILES", "validate_report", "validate_claim"]

SCHEMA = "verify-report/4"
#: schemas this renderer reads: 3 adds a claim's ``key`` (summary number) and ``results`` (label, LaTeX, MathML);
#: 4 adds the status ``error`` (counted in ``summary``), a claim's ``expected`` verdict and, for an error, its
#: ``traceback``, and drops ``known_failures`` (the accepted failures of the command line)
SCHEMAS = ("verify-report/2", "verify-report/3", SCHEMA)
VERSION_KEYS = ("python", "numpy", "scipy", "sympy", "matplotlib", "torch")


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
                         f"add {key!r} ({kind}); see the schema in verify/report/schema.py")
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
