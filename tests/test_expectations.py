"""Expected findings and errors: a claim records the verdict it is expected to reach (passed unless it records a
documented finding, with the reason), the command exits 0 exactly when every verdict equals its expectation, and
a check that raises is an ``error`` with its traceback, never folded into another status.

The claims here are synthetic (registered for the test only, in the multistage paper, with D1's derivation)."""
from __future__ import annotations

import json

import pytest

from verify import cache
from verify.cli import main
from verify.registry import (EXPECT_PASSED, REGISTRY, Claim, Expectation, Status, Tolerance, Verdict, check_key,
                             key_number, load_papers, meets_expectation)
from verify.report import render_markdown, validate_report
from verify.report.sections import expectation_of, unexpected

load_papers()

TOL = Tolerance("synthetic", 0.1, "a synthetic tolerance")
FINDING = "a documented finding of the synthetic set-up"


def failing(cid: str):
    def check(ctx):
        return Verdict(Status.FAILED, predicted=1.0, measured=2.0, tolerance=TOL,
                       key=key_number("x", 2.0, 1.0, 10.0, "the measurement is 10 tolerances away"))
    return check


def passing(cid: str):
    def check(ctx):
        return Verdict(Status.PASSED, predicted=1.0, measured=1.01, tolerance=TOL,
                       key=key_number("x", 1.01, 1.0, 0.1))
    return check


def raising(ctx):
    raise ZeroDivisionError("a bug in the check")


def add(monkeypatch, cid: str, check, control=None, expect=()) -> None:
    control = control if control is not None else failing(cid)
    monkeypatch.setitem(REGISTRY, cid, Claim(cid, f"synthetic {cid}", "multistage", "D1", check, control,
                                             "a synthetic control", expect=expect))


def run(tmp_path, *ids, extra=()) -> tuple[int, dict]:
    """``verify run IDS --quick --json``: the exit status and the JSON summary."""
    out = tmp_path / "rep"
    code = main(["run", *ids, "--quick", "--no-figures", "--workers", "1", "--json", "--out", str(out), *extra])
    return code, out


def summary_of(capsys) -> tuple[dict, str]:
    captured = capsys.readouterr()
    return json.loads(captured.out), captured.err


def report_of(out) -> dict:
    return json.loads((out / "multistage" / "quick-seed0" / "report.json").read_text())


# ------------------------------------------------------------------------------ the records

def test_an_expectation_holds_at_its_profiles_and_a_claim_without_one_expects_passed():
    every = Expectation("failed", FINDING)
    assert every.profiles == ("quick", "default", "full")
    claim = Claim("X", "x", "multistage", "D1", None, None, "", expect=every)
    assert claim.expect == (every,)
    assert all(claim.expected(p) == {"status": "failed", "reason": FINDING} for p in every.profiles)
    some = Claim("Y", "y", "multistage", "D1", None, None, "",
                 expect=(Expectation("failed", FINDING, profiles=("default",)),
                         Expectation("inconclusive", "too few points at the quick profile", profiles="quick")))
    assert some.expected("default")["status"] == "failed" and some.expected("quick")["status"] == "inconclusive"
    assert some.expected("full") == EXPECT_PASSED
    assert Claim("Z", "z", "multistage", "D1", None, None, "").expected("default") == EXPECT_PASSED


@pytest.mark.parametrize("args, words", [
    (("passed", FINDING), "says nothing"),             # passed is the default
    (("error", FINDING), "never expected"),             # a crash is never a finding
    (("wrong", FINDING), "not in"),
    (("failed", " "), "why"),
    (("failed", FINDING, ("nightly",)), "profiles"),
    (("failed", FINDING, ()), "profiles"),
])
def test_an_expectation_that_says_nothing_or_names_no_profile_is_refused(args, words):
    with pytest.raises(ValueError, match=words):
        Expectation(*args)


def test_two_expectations_for_one_profile_are_refused():
    with pytest.raises(ValueError, match="two expectations"):
        Claim("X", "x", "multistage", "D1", None, None, "",
              expect=(Expectation("failed", FINDING), Expectation("inconclusive", FINDING, profiles=("quick",))))
    with pytest.raises(ValueError, match="Expectation"):
        Claim("X", "x", "multistage", "D1", None, None, "", expect="failed")


def test_meets_expectation_in_each_direction():
    assert meets_expectation("failed", "failed") and meets_expectation("passed", "passed")
    assert meets_expectation("not-applicable", "passed")          # nothing checked: as before, not a change
    assert not meets_expectation("passed", "failed")              # an expected failure that now passes
    assert not meets_expectation("failed", "passed") and not meets_expectation("inconclusive", "failed")
    assert not meets_expectation("error", "passed") and not meets_expectation("error", "failed")


def test_the_key_rule_accepts_an_error_without_a_margin_and_refuses_one_with():
    check_key("X", "error", None)
    check_key("X", "error", key_number("x", None, 1.0, None, "the negative control raised"))
    for margin, why in ((0.5, "raised"), (2.0, "raised"), (None, None)):
        with pytest.raises(ValueError, match="X"):
            check_key("X", "error", key_number("x", 1.0, 1.0, margin, why))


def test_a_check_cannot_return_error_itself():
    with pytest.raises(ValueError, match="runner"):
        Verdict("error", None, None, None)


def test_a_verdict_is_frozen_and_a_change_is_a_new_verdict():
    from dataclasses import FrozenInstanceError, replace

    v = passing("D0-frozen")(None)
    with pytest.raises(FrozenInstanceError):
        v.status = Status.FAILED
    moved = replace(v, status=Status.FAILED, key=key_number("x", 2.0, 1.0, 10.0, "ten tolerances away"))
    assert moved.status is Status.FAILED and v.status is Status.PASSED     # the original is unchanged
    with pytest.raises(ValueError, match="D0-frozen"):                     # a new verdict is checked like any
        replace(v, claim="D0-frozen", status=Status.FAILED)


def test_a_claims_id_and_title_come_from_its_registration_and_a_check_cannot_name_another(tmp_path, monkeypatch,
                                                                                          capsys):
    """The check returns what it found; the registry writes the claim's id and title (once, from the declaration).
    A check whose verdict names a claim (here another claim's id) is an error with its traceback, as is one that
    returns something other than a verdict.  Control: the same check without the name passes, under the
    registered id and title."""
    from dataclasses import replace

    def names_another(ctx):
        return replace(passing("D0-named")(ctx), claim="D1-gradient-flow")

    add(monkeypatch, "D0-named", names_another)
    add(monkeypatch, "D0-not-a-verdict", lambda ctx: {"status": "passed"})
    add(monkeypatch, "D0-plain", passing("D0-plain"))
    code, out = run(tmp_path, "D0-named", "D0-not-a-verdict", "D0-plain")
    assert code == 1
    claims = {c["claim"]: c for c in report_of(out)["claims"]}
    assert sorted(claims) == ["D0-named", "D0-not-a-verdict", "D0-plain"]           # no verdict of D1-gradient-flow
    named = claims["D0-named"]
    assert named["status"] == "error" and "D1-gradient-flow" in named["details"]["error"]
    assert "written once, by its registration" in named["traceback"] and named["title"] == "synthetic D0-named"
    assert claims["D0-not-a-verdict"]["status"] == "error" and "not a Verdict" in claims["D0-not-a-verdict"]["traceback"]
    plain = claims["D0-plain"]
    assert plain["status"] == "passed" and plain["title"] == "synthetic D0-plain"


def test_the_q3_loss_drop_finding_is_recorded_at_every_profile():
    claim = REGISTRY["Q3-loss-drop"]
    for profile in ("quick", "default", "full"):
        expected = claim.expected(profile)
        assert expected["status"] == "failed" and "write-up" in expected["reason"]
    # the control: the claims of the paper without a finding expect to pass
    assert REGISTRY["Q3-lanczos-vs-dense"].expected("default") == EXPECT_PASSED


# ------------------------------------------------------------------------------ the exit status

def test_an_expected_failure_that_fails_exits_0(tmp_path, monkeypatch, capsys):
    add(monkeypatch, "D0-expected-fail", failing("D0-expected-fail"), expect=Expectation("failed", FINDING))
    code, out = run(tmp_path, "D0-expected-fail")
    summary, err = summary_of(capsys)
    assert code == 0 and summary["exit_status"] == 0 and summary["unexpected"] == []
    assert summary["papers"][0]["expected"] == {"D0-expected-fail": "failed"}
    assert "failed: D0-expected-fail (as expected: a documented finding)" in err
    assert "every verdict equals its expectation" in err
    claim = report_of(out)["claims"][0]
    assert claim["status"] == "failed" and claim["expected"] == {"status": "failed", "reason": FINDING}


def test_an_expected_failure_that_passes_exits_1_naming_it(tmp_path, monkeypatch, capsys):
    add(monkeypatch, "D0-now-passes", passing("D0-now-passes"), expect=Expectation("failed", FINDING))
    add(monkeypatch, "D0-passes", passing("D0-passes"))
    code, out = run(tmp_path, "D0-now-passes", "D0-passes")
    summary, err = summary_of(capsys)
    assert code == 1 and summary["exit_status"] == 1 and summary["unexpected"] == ["D0-now-passes"]
    assert "passed: D0-now-passes (differs from the expected failed)" in err
    assert "1 verdict differs from its expectation: D0-now-passes (passed, expected failed)" in err
    report = report_of(out)
    assert unexpected(report) == ["D0-now-passes"]
    md = (out / "multistage" / "quick-seed0" / "report.md").read_text()
    assert "**Verdicts that differ from their expectation:** `D0-now-passes` (passed, expected failed)" in md
    # the summary row marks it (the reason stands in the claim's section)
    assert "**differs: expected failed**, a finding: the claim's section says why" in md
    assert "**Expected verdict:** failed: " + FINDING in md
    index = (out / "index.md").read_text()
    assert "`D0-now-passes`" in index and "differ from the expectation" in index


def test_a_claim_without_an_expectation_that_fails_exits_1(tmp_path, monkeypatch, capsys):
    add(monkeypatch, "D0-fails", failing("D0-fails"))
    code, _ = run(tmp_path, "D0-fails")
    summary, err = summary_of(capsys)
    assert code == 1 and summary["unexpected"] == ["D0-fails"]
    assert "failed: D0-fails (differs from the expected passed): the measurement is 10 tolerances away" in err


def test_an_expectation_of_another_profile_does_not_apply(tmp_path, monkeypatch, capsys):
    """A finding recorded for the default profile only: at the quick profile the claim expects to pass."""
    add(monkeypatch, "D0-default-only", failing("D0-default-only"),
        expect=Expectation("failed", FINDING, profiles=("default",)))
    code, out = run(tmp_path, "D0-default-only")
    summary, _ = summary_of(capsys)
    assert code == 1 and summary["unexpected"] == ["D0-default-only"]
    assert report_of(out)["claims"][0]["expected"] == EXPECT_PASSED


def test_accept_failure_is_removed_with_one_line(tmp_path, monkeypatch, capsys):
    add(monkeypatch, "D0-fails", failing("D0-fails"))
    code = main(["run", "D0-fails", "--quick", "--no-figures", "--accept-failure", "D0-fails",
                 "--out", str(tmp_path / "rep")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "--accept-failure" in err and "expect=" in err and not (tmp_path / "rep" / "multistage").exists()


# ------------------------------------------------------------------------------ errors

def test_a_raising_check_is_an_error_with_its_traceback_and_exits_1(tmp_path, monkeypatch, capsys):
    add(monkeypatch, "D0-raises", raising)
    add(monkeypatch, "D0-passes", passing("D0-passes"))
    code, out = run(tmp_path, "D0-raises", "D0-passes")
    summary, err = summary_of(capsys)
    assert code == 1 and summary["unexpected"] == ["D0-raises"]
    assert summary["papers"][0]["summary"]["error"] == 1 and summary["papers"][0]["summary"]["inconclusive"] == 0
    assert "error: D0-raises (differs from the expected passed): ZeroDivisionError: a bug in the check" in err
    report = report_of(out)
    claim = report["claims"][0]
    assert claim["status"] == "error" and report["summary"]["error"] == 1
    assert claim["traceback"].startswith("The check raised:\nTraceback (most recent call last):")
    assert "in raising" in claim["traceback"] and "raise ZeroDivisionError" in claim["traceback"]
    assert claim["traceback"].endswith("ZeroDivisionError: a bug in the check")
    # file names relative to the project, no folder of this machine (control: the test file's own absolute path
    # is what the traceback would have held)
    from pathlib import Path
    here = str(Path(__file__).resolve())
    assert here not in claim["traceback"] and '"tests/test_expectations.py"' in claim["traceback"]
    assert claim["negative_control"]["status"] == "failed"          # the control still ran
    assert report["claims"][1]["status"] == "passed"                 # and so did the other claims
    md = (out / "multistage" / "quick-seed0" / "report.md").read_text()
    row = next(ln for ln in md.splitlines() if ln.startswith("| [`D0-raises`]"))
    assert "| error | synthetic D0-raises | no key number: the check raised ZeroDivisionError: a bug in the check |" \
        in row
    assert "### Error" in md and "raise ZeroDivisionError" in md
    html = (out / "multistage" / "quick-seed0" / "report.html").read_text()
    assert 'class="status status-error">error</span>' in html and '<section class="claim error"' in html
    assert "1 error" in (out / "index.md").read_text()


def test_a_raising_control_makes_the_claim_an_error(tmp_path, monkeypatch, capsys):
    """The check passed but its negative control raised: the check cannot be trusted, the claim is an error
    (its key keeps the quantity, drops the margin and says why), never inconclusive."""
    add(monkeypatch, "D0-control-raises", passing("D0-control-raises"), control=raising)
    code, out = run(tmp_path, "D0-control-raises")
    summary, _ = summary_of(capsys)
    assert code == 1 and summary["unexpected"] == ["D0-control-raises"]
    claim = report_of(out)["claims"][0]
    assert claim["status"] == "error" and claim["details"]["check_status"] == "passed"
    assert claim["negative_control"]["status"] == "error"
    assert claim["key"]["margin"] is None and "negative control raised ZeroDivisionError" in claim["key"]["why"]
    assert claim["traceback"].startswith("The negative control raised:\n")


def test_a_raising_calibrated_control_makes_the_claim_an_error(tmp_path, monkeypatch, capsys):
    """The same for the calibrated control: the claim is an error with the control's traceback.  Control: a
    calibrated control that fails leaves the passed claim passed."""
    cid = "D0-calibrated-raises"
    monkeypatch.setitem(REGISTRY, cid, Claim(cid, f"synthetic {cid}", "multistage", "D1", passing(cid), failing(cid),
                                             "a synthetic control", calibrated_control=raising,
                                             calibrated_description="a synthetic calibrated control"))
    code, out = run(tmp_path, cid)
    claim = report_of(out)["claims"][0]
    assert code == 1 and claim["status"] == "error" and claim["details"]["check_status"] == "passed"
    assert claim["calibrated_control"]["status"] == "error"
    assert "calibrated control raised ZeroDivisionError" in claim["key"]["why"]
    assert claim["traceback"].startswith("The calibrated control raised:\n")
    good = "D0-calibrated-fails"
    monkeypatch.setitem(REGISTRY, good, Claim(good, f"synthetic {good}", "multistage", "D1", passing(good),
                                              failing(good), "a synthetic control", calibrated_control=failing(good),
                                              calibrated_description="a synthetic calibrated control"))
    code, out = run(tmp_path / "good", good)
    assert code == 0 and report_of(out)["claims"][0]["status"] == "passed"


def test_an_expected_failure_that_raises_is_an_error_and_exits_1(tmp_path, monkeypatch, capsys):
    add(monkeypatch, "D0-expected-fail", raising, expect=Expectation("failed", FINDING))
    code, _ = run(tmp_path, "D0-expected-fail")
    summary, _ = summary_of(capsys)
    assert code == 1 and summary["unexpected"] == ["D0-expected-fail"]


def test_a_context_that_cannot_be_made_makes_every_claim_of_its_group_an_error(tmp_path, monkeypatch, capsys):
    from verify.registry import PAPER_REGISTRY

    paper = PAPER_REGISTRY["multistage"]

    def broken(*args, **kw):
        raise RuntimeError("no context today")

    monkeypatch.setitem(PAPER_REGISTRY, "multistage", type(paper)(**{**paper.__dict__, "make_context": broken}))
    code, out = run(tmp_path, "D1-gradient-flow")
    assert code == 1
    claim = report_of(out)["claims"][0]
    assert claim["status"] == "error"
    assert claim["traceback"].startswith("Making the claim's context raised:")
    assert "no context today" in claim["traceback"]


def test_an_error_is_never_cached_and_a_cached_error_or_unknown_status_is_a_miss(tmp_path, monkeypatch, capsys):
    """Cached verdicts are untrusted input: an entry with the status error, or one no report knows, is not
    taken (the group runs again); a run that raised is not stored."""
    from verify import runner

    monkeypatch.setenv("VERIFY_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("VERIFY_NO_CACHE", raising=False)
    add(monkeypatch, "D0-raises", raising)
    verdicts = runner._group((("D0-raises",), "quick", 0, "auto", "cpu", None, None))
    assert verdicts[0][0]["status"] == "error" and not verdicts[0][2]
    assert "runs" not in cache.info()                                 # not stored
    add(monkeypatch, "D0-passes", passing("D0-passes"))
    ids = ("D0-passes",)
    first = runner._group((ids, "quick", 0, "auto", "cpu", None, None))
    assert first[0][0]["status"] == "passed" and cache.info()["runs"]["entries"] == 1
    again = runner._group((ids, "quick", 0, "auto", "cpu", None, None))
    assert again[0][2]                                                # from the cache
    key = runner._run_key("claims", claims=list(ids), profile="quick", seed=0, backend="auto", device="cpu",
                          user=None)
    stored = cache.get("runs", key)
    for status in ("error", "great", "inconclusive"):                 # inconclusive with margin 0.1 breaks the rule
        forged = json.loads(json.dumps(stored))
        forged[0][0]["status"] = status
        cache.put("runs", key, forged)
        assert not runner._cached_verdicts(forged, list(ids))
        rerun = runner._group((ids, "quick", 0, "auto", "cpu", None, None))
        assert rerun[0][0]["status"] == "passed" and not rerun[0][2]  # run again, not taken from the entry
    assert runner._cached_verdicts(stored, list(ids))                 # the control: the real entry is taken


# ------------------------------------------------------------------------------ reports

def _report(claims: list[dict], schema: str = "verify-report/4", **extra) -> dict:
    statuses = [c["status"] for c in claims]
    from verify.registry import STATUSES

    summary = {s: statuses.count(s) for s in STATUSES}
    if schema != "verify-report/4":
        summary.pop("error")
    return {"schema": schema, "run_id": "quick-seed0", "paper": {"key": "demo", "title": "Demo", "arxiv": "x"},
            "profile": "quick", "created": "2025-01-01T00:00:00+00:00", "seed": 0, "wall_time_s": None,
            "git_revision": None, "backend": "numpy", "device": "cpu",
            "versions": {k: "1" for k in ("python", "numpy", "scipy", "sympy", "matplotlib", "torch")},
            "config": {}, "summary": summary, "claims": claims, "figures": [], **extra}


def _claim(cid: str, status: str, **extra) -> dict:
    return {"claim": cid, "title": cid, "derivation": "D1", "label": "check", "status": status, "predicted": 1.0,
            "measured": 1.0, "tolerance": None, "seeds": [], "fits": {}, "figures": [], **extra}


def test_an_older_report_reads_its_known_failures_as_expected_and_names_the_rest():
    """Schema 3: no expectations recorded, no error count; the failures accepted on its command line
    (known_failures) are read as expected, any other claim that did not pass differs."""
    report = _report([_claim("A", "failed"), _claim("B", "failed"), _claim("C", "passed")],
                     schema="verify-report/3", known_failures=["A"])
    validate_report(report)
    assert expectation_of(report["claims"][0], report)["status"] == "failed"
    assert unexpected(report) == ["B"]
    md = render_markdown(report)
    assert "`B` (failed, expected passed)" in md and "`A` (failed" not in md
    del report["known_failures"]
    with pytest.raises(Exception, match="known_failures"):              # still required up to schema 3
        validate_report(report)


def test_a_report_without_expectations_expects_every_claim_to_pass():
    report = _report([_claim("A", "passed"), _claim("B", "not-applicable")])
    validate_report(report)
    assert unexpected(report) == []
    assert "Every verdict equals its expectation." in render_markdown(report)
    report["claims"][0]["status"] = "inconclusive"
    assert unexpected(report) == ["A"]


def test_deciding_whether_a_claim_applies_that_raises_makes_it_an_error(tmp_path, monkeypatch, capsys):
    """The context's ``not_applicable`` raised (a researcher's configuration the regime analysis cannot read):
    that claim is an error with its traceback, the run goes on and the other claims still run.  Control: the
    same claims with a ``not_applicable`` that answers run normally."""
    from verify.multistage.context import Context

    add(monkeypatch, "D0-passes", passing("D0-passes"))
    original = Context.not_applicable

    def broken(self, claim_id):
        if claim_id == "D1-gradient-flow":
            raise RuntimeError("cannot read the regime")
        return original(self, claim_id)

    monkeypatch.setattr(Context, "not_applicable", broken)
    code, out = run(tmp_path, "D1-gradient-flow", "D0-passes")
    assert code == 1
    claims = {c["claim"]: c for c in report_of(out)["claims"]}
    assert claims["D1-gradient-flow"]["status"] == "error"
    assert claims["D1-gradient-flow"]["traceback"].startswith("Deciding whether the claim applies raised:")
    assert "cannot read the regime" in claims["D1-gradient-flow"]["traceback"]
    assert claims["D0-passes"]["status"] == "passed"
    monkeypatch.setattr(Context, "not_applicable", original)
    code, out = run(tmp_path / "control", "D1-gradient-flow", "D0-passes")
    assert code == 0 and {c["status"] for c in report_of(out)["claims"]} == {"passed"}
