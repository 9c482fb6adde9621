"""The report schema file (``verify/report/report.schema.json``) and its validator (``verify/report/schema.py``):
the file is a valid draft 2020-12 JSON Schema that names the project's own words (statuses, profiles,
quantifiers, versions), it ships as package data, and every kind of failure (a missing key, a wrong type, a word
that is not allowed, a path outside the report folder, a broken margin rule) is one line naming the key path, the
value and a fix; a valid report, an older (schema 3) one and the committed reports pass."""
from __future__ import annotations

import json
import re
from importlib.resources import files
from pathlib import Path, PurePosixPath

import pytest
from jsonschema import Draft202012Validator

from test_report import make_report
from theory.errors import InputError
from verify.registry import PROFILE_NAMES, QUANTIFIERS, STATUSES, key_number
from verify.report.schema import SCHEMA, SCHEMA_FILE, SCHEMAS, VERSION_KEYS, schema_document, validate_claim, \
    validate_report

ROOT = Path(__file__).resolve().parents[1]


def test_the_schema_file_is_a_draft_2020_12_schema_naming_the_report_schema():
    doc = json.loads(files("verify.report").joinpath(SCHEMA_FILE).read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(doc)
    assert doc["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert doc["$id"].endswith(SCHEMA) and doc["title"] == SCHEMA
    assert doc == schema_document()
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(rf'^verify = \[[^\]]*"report/{re.escape(SCHEMA_FILE)}"', pyproject, re.M)
    assert re.search(r'^\s*"jsonschema>=4\.18,<5",', pyproject, re.M)


def test_the_schema_names_the_projects_own_words():
    """The enums of the file are the registry's: a status, profile or quantifier added in code and not in the file
    (or the other way round) fails here."""
    doc = schema_document()
    assert doc["$defs"]["status"]["enum"] == list(STATUSES)
    assert doc["properties"]["profile"]["enum"] == list(PROFILE_NAMES)
    assert doc["properties"]["schema"]["enum"] == list(SCHEMAS)
    assert set(doc["$defs"]["key"]["properties"]["quantifier"]["enum"]) == set(QUANTIFIERS) | {None}
    assert doc["properties"]["versions"]["required"] == list(VERSION_KEYS)
    assert set(doc["properties"]["summary"]["properties"]) == set(STATUSES)


def _reject(report) -> InputError:
    with pytest.raises(InputError) as info:
        validate_report(report)
    text = str(info.value)
    assert "\n" not in text and text.startswith(f"{info.value.field} = ") and "; fix: " in text
    return info.value


@pytest.mark.parametrize("mutate, field, words", [
    # a missing key names the key and its type
    (lambda r: r["claims"][0].pop("seeds"), "claims[0].seeds", ("is missing", "add 'seeds' (array)")),
    (lambda r: r["versions"].pop("torch"), "versions.torch", ("is missing", "'torch' (string or null)")),
    (lambda r: r["claims"][0]["key"].pop("quantity"), "claims[0].key.quantity", ("is missing", "(string)")),
    # a wrong type names the type found and the one expected
    (lambda r: r.update(config=[]), "config", ("has type array, expected object",)),
    (lambda r: r.update(seed=1.0), "seed", ("has type number, expected integer",)),
    (lambda r: r["claims"][0]["seeds"].append("4"), "claims[0].seeds[3]",
     ("has type string, expected integer", "every entry of claims[0].seeds")),
    (lambda r: r["claims"][0]["tolerance"].update(value="5 %"), "claims[0].tolerance.value",
     ("expected number or null",)),
    (lambda r: r["figures"].append("descent.png"), "figures[1]", ("expected object", "name, title, caption")),
    # a word that is not allowed names the allowed ones
    (lambda r: r.update(profile="fast"), "profile", ("is not one of quick, default, full",)),
    (lambda r: r["claims"][0]["negative_control"].update(status="ok"), "claims[0].negative_control.status",
     ("is not one of passed, failed",)),
    (lambda r: r["claims"][0]["key"].update(quantifier="all"), "claims[0].key.quantifier", ("every", "most")),
    # what the schema's patterns and bounds say
    (lambda r: r.update(run_id="  "), "run_id", ("is empty",)),
    (lambda r: r["summary"].update(failed=-1), "summary.failed", ("is negative",)),
    (lambda r: r["claims"][0].update(figures=["C:/loss.png"]), "claims[0].figures[0]", ("relative path",)),
    (lambda r: r["figures"][0].update(svg="/tmp/x.svg"), "figures[0].svg", ("relative path",)),
    (lambda r: r["claims"][0]["key"].update(band=[0, 1, 2]), "claims[0].key.band", ("pair [lo, hi]",)),
    (lambda r: r["claims"][0]["key"].update(interval=["a", 2.0]), "claims[0].key.interval", ("pair [lo, hi]",)),
    # what stays in code: the margin rule of a claim's key (below 1 passes, above 1 does not)
    (lambda r: r["claims"][0]["key"].update(margin=1.5), "claims[0].key", ("margin rule", "passed", "1.5")),
    (lambda r: r["claims"][0]["key"].update(margin=1.0), "claims[0].key", ("margin rule", "exactly 1")),
    (lambda r: r["claims"][0]["key"].update(why="no reason"), "claims[0].key", ("margin rule", "says why")),
    (lambda r: r["claims"][1].update(key=key_number("x", 1.7, 1.0, 0.5, "did not hold")), "claims[1].key",
     ("margin rule", "failed", "0.5")),
    (lambda r: r["claims"][1].update(key=key_number("x", 1.7, 1.0, 2.0)), "claims[1].key", ("margin rule", "failed")),
    (lambda r: r["claims"][2].update(key=key_number("x", None, None, 0.3, "no plateau")), "claims[2].key",
     ("margin rule", "not-applicable")),
    # and each control's key under the control's own status (a failed control: margin above 1 or none, a why)
    (lambda r: r["claims"][0].update(calibrated_control={"description": "1.5 x", "status": "failed",
                                                          "key": key_number("x", 1.0, 1.0, 0.5, "within")}),
     "claims[0].calibrated_control.key", ("margin rule", "failed", "0.5")),
    (lambda r: r["claims"][0].update(negative_control={"description": "sign", "status": "failed",
                                                        "key": key_number("x", 2.0, 1.0, 3.0)}),
     "claims[0].negative_control.key", ("margin rule", "failed")),
    (lambda r: r["claims"][0].update(calibrated_control={"description": "1.5 x", "status": "failed",
                                                          "key": key_number("x", 1.5, 1.0, 1.5, "beyond")}), None, None),
    (lambda r: r["claims"][2].update(created="2025"), None, None),        # keys the schema does not name are allowed
])
def test_each_kind_of_failure_is_one_line_naming_the_path(mutate, field, words):
    report = make_report()
    report["claims"][0]["key"] = key_number("|t_half / derived - 1|", 3.1502, 3.1416, 0.055)
    validate_report(report)                                               # control: the report itself is valid
    mutate(report)
    if field is None:
        validate_report(report)
        return
    err = _reject(report)
    assert err.field == field
    for w in words:
        assert w in str(err), (w, str(err))


def test_the_older_schemas_differ_by_summary_error_and_known_failures():
    """Schema 3 has no count of errors and lists the accepted failures; schema 4 the other way round."""
    old = make_report()
    old["schema"] = "verify-report/3"
    del old["summary"]["error"]
    old["known_failures"] = ["H1-heuristic-width"]
    validate_report(old)
    del old["known_failures"]
    assert _reject(old).field == "known_failures"
    new = make_report()
    assert "known_failures" not in new
    del new["summary"]["error"]
    assert _reject(new).field == "summary.error"


def test_validate_claim_prefixes_the_path_it_is_given():
    claim = make_report()["claims"][0]
    validate_claim(claim, "claims[7]")
    claim["status"] = "fine"
    with pytest.raises(InputError) as info:
        validate_claim(claim, "D9-descent-time")
    assert info.value.field == "D9-descent-time.status"
    with pytest.raises(InputError) as info:
        validate_claim([], "claim")
    assert info.value.field == "claim" and "expected object" in str(info.value)


def _inside(value: str) -> bool:
    """The rule the schema's relpath pattern states, as the hand-written validator checked it."""
    p = PurePosixPath(value)
    return bool(value) and "\\" not in value and not p.is_absolute() and ".." not in p.parts \
        and not re.match(r"^[A-Za-z]:", value)


@pytest.mark.parametrize("path", [
    "figures/loss.png", "loss.png", "./loss.png", "a/b/c.svg", "...", "a..b/c", "..a", "a/...", "x\ny.png",
    "", "/abs.png", "//abs.png", "../up.png", "a/../b.png", "a/..", "..", "./..", "x\n/../y", "a\\b.png",
    "C:/x.png", "c:x.png", "a/./../b",
])
def test_the_relative_path_pattern_is_the_old_rule(path):
    report = make_report()
    report["figures"][0]["png"] = path
    if _inside(path):
        validate_report(report)
    else:
        assert _reject(report).field == "figures[0].png"


@pytest.mark.parametrize("paper", ["multistage", "early-training", "noisy-quadratic"])
def test_the_committed_reports_validate(paper):
    for path in sorted((ROOT / "reports" / paper).glob("*/report.json")):
        validate_report(json.loads(path.read_text(encoding="utf-8")))
