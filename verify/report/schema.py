"""The report schema (``verify-report/4``; ``/2`` and ``/3`` are still read) and its validator.

The structure of ``report.json`` (keys, types, the status, profile and quantifier words, the shapes of key, rows,
range, controls, figures, versions and summary) is the draft 2020-12 JSON Schema ``report.schema.json`` beside
this module (package data; the older schemas differ by an ``if``/``then`` on ``schema`` in that file).  Kept in
code is what JSON Schema cannot say well: an ISO-8601 ``created``, distinct claim ids and figure names, a claim's
``range`` and ``rows`` (:func:`verify.registry.check_range`, ``check_rows``) and the margin rule of its ``key``
(:func:`verify.registry.check_key`).  Every failure is one :class:`theory.errors.InputError` naming the key path
(e.g. ``claims[2].status``), the expected type or words and a fix (the schema's ``x-problem``, ``x-fix``).
"""
from __future__ import annotations

import json
from datetime import datetime
from functools import lru_cache
from importlib.resources import files

from theory.errors import InputError

from ..registry import PROFILE_NAMES as PROFILES
from ..registry import STATUSES, check_key, check_range, check_rows

__all__ = ["SCHEMA", "SCHEMAS", "VERSION_KEYS", "STATUSES", "PROFILES", "SCHEMA_FILE", "schema_document",
           "validate_report", "validate_claim"]

SCHEMA = "verify-report/4"
#: schemas this renderer reads: 3 adds a claim's ``key`` (summary number) and ``results`` (label, LaTeX, MathML);
#: 4 adds the status ``error`` (counted in ``summary``), a claim's ``expected`` verdict and, for an error, its
#: ``traceback``, and drops ``known_failures`` (the accepted failures of the command line)
SCHEMAS = ("verify-report/2", "verify-report/3", SCHEMA)
VERSION_KEYS = ("python", "numpy", "scipy", "sympy", "matplotlib", "torch")
#: the schema file, package data of :mod:`verify.report`
SCHEMA_FILE = "report.schema.json"

@lru_cache(maxsize=1)
def schema_document() -> dict:
    """The JSON Schema of a report (``report.schema.json``), read once."""
    return json.loads(files(__package__).joinpath(SCHEMA_FILE).read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def _validator_class():
    """Draft 2020-12 with JSON Schema's integer narrowed to Python's ``int`` (it counts 1.0 as an integer; a
    report's integers, seeds and counts, are written as integers).  ``jsonschema`` is imported here, on the first
    validation, not with this module: the section model imports this module, and every command's parser the
    section model (``jsonschema`` took about 0.05 s of each start-up)."""
    from jsonschema import Draft202012Validator, validators

    return validators.extend(Draft202012Validator, type_checker=Draft202012Validator.TYPE_CHECKER.redefine(
        "integer", lambda checker, v: isinstance(v, int) and not isinstance(v, bool)))


@lru_cache(maxsize=2)
def _validator(part: str | None):
    doc = schema_document()
    return _validator_class()(doc if part is None else {"$defs": doc["$defs"], "$ref": f"#/$defs/{part}"})


def _tname(value) -> str:
    if value is None:
        return "null"
    return {bool: "boolean", int: "integer", float: "number", str: "string", list: "array",
            dict: "object"}.get(type(value), type(value).__name__)


def _kind(sub: dict) -> str:
    """The expected type a (sub)schema names, in words (``string or null``)."""
    if "$ref" in sub and "type" not in sub:
        sub = schema_document()["$defs"][sub["$ref"].rsplit("/", 1)[-1]]
    kinds = sub.get("type", "any")
    return " or ".join(kinds) if isinstance(kinds, list) else kinds


def _field(prefix: str, parts) -> str:
    out = prefix
    for p in parts:
        out = f"{out}[{p}]" if isinstance(p, int) else (f"{out}.{p}" if out else p)
    return out or "report"


def _raise_first(validator, instance, prefix: str) -> None:
    """Raise the schema's best-matching error on ``instance`` as one :class:`InputError`; nothing when valid."""
    from jsonschema.exceptions import best_match

    err = best_match(validator.iter_errors(instance))
    if err is None:
        return
    field, sub, what = _field(prefix, err.absolute_path), err.schema, err.validator
    name = field.rsplit(".", 1)[-1]
    if what == "required":
        key = next(k for k in err.validator_value if k not in err.instance)
        kind = _kind(sub.get("properties", {}).get(key, {}))
        problem = "is missing from the report"
        fix = f"add {key!r} ({kind}); see the schema in verify/report/{SCHEMA_FILE}"
        if "x-problem" in sub:                                      # a key required on a condition says why
            problem, fix = sub["x-problem"], sub["x-fix"]
        raise InputError(_field(prefix, [*err.absolute_path, key]), None, problem, fix)
    if what == "type":
        kind = " or ".join(err.validator_value) if isinstance(err.validator_value, list) else err.validator_value
        an = "an" if kind[0] in "aeiou" else "a"
        fix = (f"make every entry of {field.rsplit('[', 1)[0]} {an} {kind}" if field.endswith("]") else
               f"write {name!r} as {an} {kind}")
        raise InputError(field, err.instance, f"has type {_tname(err.instance)}, expected {kind}",
                         sub.get("x-fix", fix))
    if what == "enum":
        words = ", ".join("null" if v is None else str(v) for v in err.validator_value)
        raise InputError(field, err.instance, f"is not one of {words}", sub.get("x-fix", "use one of these values"))
    raise InputError(field, err.instance, sub.get("x-problem", err.message),
                     sub.get("x-fix", f"see the schema in verify/report/{SCHEMA_FILE}"))


def _check_claim_rules(claim: dict, path: str) -> None:
    """What the schema leaves to code: a claim's range and rows, and the margin rule of its key."""
    for name, check in (("range", check_range), ("rows", check_rows)):
        try:
            check(claim["claim"], claim.get(name))
        except ValueError as exc:
            raise InputError(f"{path}.{name}", claim.get(name), f"is malformed: {exc}",
                             "write range as {name: values} and rows as verify.registry.rows_of makes them") from None
    # the claim's key, and each control's key under the control's own status (a calibrated control that failed
    # has a margin above 1 or none, and a why, like a failed claim)
    keyed = [("", claim.get("status"), claim.get("key"))]
    for control in ("negative_control", "calibrated_control"):
        record = claim.get(control)
        if isinstance(record, dict) and record.get("key") is not None:
            keyed.append((f".{control}", record.get("status"), record["key"]))
    for where, status, key in keyed:
        try:
            check_key(claim["claim"], status, key)
        except ValueError as exc:
            raise InputError(f"{path}{where}.key", {"margin": key.get("margin"), "why": key.get("why")},
                             f"breaks the margin rule: {str(exc).split(' (key ', 1)[0]}",
                             "a passed claim has a margin below 1 and no why; a failed or inconclusive one a margin "
                             "above 1 or none, and a why; a not-applicable or error one no margin, and a why") from None


def validate_report(report: dict) -> None:
    """Check ``report`` against schema ``verify-report/4`` (or ``/3``, which lacks the status ``error`` in its
    summary, each claim's ``expected`` and ``traceback`` and has ``known_failures``; or ``/2``, which also lacks
    ``key`` and ``results``); keys the schema does not name are allowed.  Raises :class:`InputError` naming the key
    path (e.g. ``claims[2].status``) of the first thing wrong.
    """
    _raise_first(_validator(None), report, "")
    if _parse_created(report["created"]) is None:
        raise InputError("created", report["created"], "is not an ISO-8601 date and time",
                         "write it like '2025-01-31T12:00:00+00:00'")
    for items, key, what in (("claims", "claim", "id"), ("figures", "name", "name")):
        seen: dict[str, int] = {}
        for i, item in enumerate(report[items]):
            if item[key] in seen:
                raise InputError(f"{items}[{i}].{key}", item[key], f"repeats the {what} of {items}[{seen[item[key]]}]",
                                 f"give every {items[:-1]} a distinct {what}")
            seen[item[key]] = i
    for i, claim in enumerate(report["claims"]):
        _check_claim_rules(claim, f"claims[{i}]")


def validate_claim(claim, path: str = "claim") -> None:
    """Check one claim of a report (``path``: where it is, for the messages, e.g. ``claims[2]``); raises
    :class:`InputError` like :func:`validate_report`.  The runner also checks cached verdicts with it."""
    _raise_first(_validator("claim"), claim, path)
    _check_claim_rules(claim, path)


def _parse_created(text: str):
    try:
        return datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    except ValueError:
        return None
