"""Claims: every negative control fails, the report is complete, statistics are right, exit statuses."""
from __future__ import annotations

import json

import numpy as np
import pytest

from verify.cli import main
from verify.registry import REGISTRY, claims_of
from verify.report import validate_report
from verify.runner import run_paper
from verify.stats import fit_slope, wilson_interval

from key_rules import assert_report_keys

CLAIMS = claims_of("multistage")

FIGURES = {"figure1", "figure2", "figure3", "figure4", "logistic", "linear_deviation", "w2rel"}


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("quick")
    report, paths = run_paper("multistage", CLAIMS, profile="quick", seed=0, workers=2, out_dir=out,
                               progress=lambda *_: None)
    return report, out


def test_every_claim_is_reported_with_a_statement_and_a_tolerance(quick_report):
    report, out = quick_report
    validate_report(json.loads((out / "report.json").read_text()))
    assert [c["claim"] for c in report["claims"]] == CLAIMS
    derivations = {c["derivation"] for c in report["claims"]}
    assert derivations == {f"D{i}" for i in range(1, 12)}
    for claim in report["claims"]:
        assert claim["statement"] and claim["latex"], claim["claim"]
        assert claim["tolerance"] and claim["tolerance"]["justification"], claim["claim"]


#: claims whose documented finding at the quick profile is inconclusive (their fitted interval straddles a band
#: edge, issue 19): the data cannot resolve the prediction there, so neither can they resolve its controls, which
#: must then not pass (failed or inconclusive)
UNRESOLVED_AT_QUICK = {cid for cid in CLAIMS if REGISTRY[cid].expected("quick")["status"] == "inconclusive"}


def _control_status_ok(claim_id: str, status: str) -> bool:
    return status == "failed" or (claim_id in UNRESOLVED_AT_QUICK and status == "inconclusive")


def test_the_claims_unresolved_at_quick_are_the_documented_ones():
    assert UNRESOLVED_AT_QUICK == {"D6-initial-plateau", "D9-slope-log-m"}


@pytest.mark.parametrize("claim_id", CLAIMS)
def test_negative_control_fails(quick_report, claim_id):
    report, _ = quick_report
    claim = next(c for c in report["claims"] if c["claim"] == claim_id)
    assert _control_status_ok(claim_id, claim["negative_control"]["status"]), claim["negative_control"]


#: claims whose calibrated control does not fail on the quick set-up, a recorded finding (their expectation says
#: inconclusive): D6's band lowered by twice its width puts the edge where the measured exponent lies
CALIBRATION_FINDINGS = {"D6-initial-plateau"}


@pytest.mark.parametrize("claim_id", CLAIMS)
def test_calibrated_control_fails_and_every_claim_records_its_resolution(quick_report, claim_id):
    """At the quick profile every claim has a calibrated control (the prediction perturbed by at most twice its
    tolerance) and it fails, except where that is a recorded finding: then the claim is inconclusive, as its
    expectation says; every verdict says what it resolves (validity only, with the measured tightness, for a
    bound)."""
    report, _ = quick_report
    claim = next(c for c in report["claims"] if c["claim"] == claim_id)
    assert claim["resolution"] and claim["resolution"]["detects"], claim_id
    calibrated = claim["calibrated_control"]
    assert REGISTRY[claim_id].calibrated_control is not None and calibrated is not None, claim_id
    assert calibrated["description"] == REGISTRY[claim_id].calibrated_description
    if claim_id in CALIBRATION_FINDINGS | UNRESOLVED_AT_QUICK:
        # recorded findings: the claim is inconclusive at quick, as its expectation says, and its calibrated
        # control did not pass (it cannot, where the check itself is unresolved)
        assert _control_status_ok(claim_id, calibrated["status"]), calibrated
        assert claim["status"] == "inconclusive" == REGISTRY[claim_id].expected("quick")["status"], claim
        return
    assert calibrated["status"] == "failed", calibrated
    assert calibrated["key"] is not None and (calibrated["key"]["margin"] is None or calibrated["key"]["margin"] > 1)
    value = claim["resolution"]["value"]
    assert value is not None and value > 0, claim["resolution"]


def test_validity_only_claims_report_their_tightness(quick_report):
    report, out = quick_report
    d3 = next(c for c in report["claims"] if c["claim"] == "D3-higher-order-bound")
    assert d3["resolution"]["validity_only"] and d3["resolution"]["tightness"] == d3["measured"]["max_ratio"]
    assert d3["resolution"]["detects"].startswith("validity only; tightness measured: max ratio")
    md = (out / "report.md").read_text()
    assert "| resolution |" in md.splitlines()[[i for i, ln in enumerate(md.splitlines())
                                                  if ln.startswith("| claim |")][0]]


def test_a_calibrated_control_that_passes_makes_the_claim_inconclusive(tmp_path, monkeypatch):
    """A synthetic claim that passes, whose negative control fails but whose calibrated control passes: the runner
    records the calibrated control and reports the claim inconclusive (it cannot resolve its own tolerance)."""
    from verify.registry import Claim, Tolerance, Verdict, key_number, resolution

    tol = Tolerance("synthetic", 0.1, "synthetic")

    def verdict(status, margin, why=None):
        return Verdict(status, predicted=1.0, measured=1.0, tolerance=tol,
                       key=key_number("x", 1.0, 1.0, margin, why),
                       resolution=resolution("x off by >= 0.15", 0.15, "absolute"))

    passes = lambda ctx: verdict("passed", 0.5)                                      # noqa: E731
    fails = lambda ctx: verdict("failed", 2.0, "the wrong prediction is refuted")    # noqa: E731
    monkeypatch.setitem(REGISTRY, "D0-loose",
                        Claim("D0-loose", "a loose claim", "multistage", "D1", passes, fails, "a wrong prediction",
                              calibrated_control=passes, calibrated_description="x perturbed by 0.15"))
    args = ["run", "D0-loose", "--quick", "--no-figures", "--no-cache", "--workers", "1", "--out", str(tmp_path)]
    assert main(args) == 1
    report = json.loads(next(tmp_path.rglob("report.json")).read_text())
    claim = report["claims"][0]
    assert claim["status"] == "inconclusive" and claim["key"]["margin"] is None
    assert "cannot resolve its own tolerance" in claim["key"]["why"]
    assert claim["calibrated_control"] == {"description": "x perturbed by 0.15", "status": "passed",
                                           "key": {"quantity": "x", "measured": 1.0, "predicted": 1.0, "margin": 0.5,
                                                   "why": None}}
    assert claim["resolution"]["value"] == 0.15
    # the same claim with a calibrated control that fails passes
    monkeypatch.setitem(REGISTRY, "D0-loose",
                        Claim("D0-loose", "a loose claim", "multistage", "D1", passes, fails, "a wrong prediction",
                              calibrated_control=fails, calibrated_description="x perturbed by 0.15"))
    assert main(args) == 0
    with pytest.raises(ValueError, match="calibrated_description"):
        Claim("D0-x", "x", "multistage", "D1", passes, fails, "c", calibrated_control=fails)


def test_every_key_agrees_with_its_status_and_each_controls_key_too(quick_report):
    """Margin below 1 exactly when passed, above 1 (or none, with why) otherwise, for claims and controls; the
    claims judged by a fraction of seeds show the counts and the worst seed's used fraction."""
    report, _ = quick_report
    assert_report_keys(report)
    for claim in report["claims"]:
        counts = claim["key"].get("counts")
        if counts is not None:
            assert counts["total"] == len(claim["seeds"]) and counts["unit"] == "seeds", claim["claim"]
            assert counts["met"] == round(claim["key"]["measured"] * counts["total"]), claim["claim"]
    growth = next(c for c in report["claims"] if c["claim"] == "D5-growth-lemma")
    assert growth["key"]["measured"] == growth["measured"]["worst_rate_ratio"] < 1


def test_heuristic_claims_are_labelled_as_measurements(quick_report):
    report, _ = quick_report
    labels = {c["claim"]: c["label"] for c in report["claims"]}
    assert "heuristic" in labels["D11-secondary-plateau"]
    assert all("reconstruction" in v for k, v in labels.items() if k != "D11-secondary-plateau")


def test_every_figure_is_written_as_png_and_svg(quick_report):
    report, out = quick_report
    assert {f["name"] for f in report["figures"] if not f.get("claim")} == FIGURES
    # and a verdict figure for each claim that did not pass (the recorded findings at quick)
    assert {f["claim"] for f in report["figures"] if f.get("claim")} == {
        c["claim"] for c in report["claims"] if c["status"] != "passed"}
    for f in report["figures"]:
        assert (out / f["png"]).stat().st_size > 1000 and (out / f["svg"]).is_file()
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64") >= len(FIGURES)


def test_at_least_one_claim_runs_on_gradient_descent(quick_report):
    report, _ = quick_report
    gd = next(c for c in report["claims"] if c["claim"] == "D9-gd-rate")
    assert gd["details"]["eta"] > 0
    assert "gd" in next(c for c in report["claims"] if c["claim"] == "D4-linearized-flow")["measured"]


def test_same_seed_gives_the_same_json(tmp_path):
    texts = []
    for name in ("a", "b"):
        run_paper("multistage", ["D1-gradient-flow", "D2-taylor-remainder"], profile="quick", seed=3, out_dir=tmp_path / name,
                   figures=False, progress=lambda *_: None)
        texts.append((tmp_path / name / "report.json").read_text())
    assert texts[0] == texts[1]


def test_wilson_interval_matches_the_closed_form():
    lo, hi = wilson_interval(5, 5)
    z = 1.959963984540054
    assert lo == pytest.approx(1 / (1 + z**2 / 5), rel=1e-12) and hi == 1.0
    lo, hi = wilson_interval(0, 10)
    assert lo == 0.0 and hi == pytest.approx((z**2 / 10) / (1 + z**2 / 10), rel=1e-12)
    assert not wilson_interval(5, 10)[0] <= 0.1   # negative control: the interval excludes 0.1 at 5/10


def test_fit_slope_interval_covers_the_true_slope():
    rng = np.random.default_rng(0)
    x = np.linspace(0, 1, 30)
    covered = 0
    for _ in range(200):
        fit = fit_slope(x, 2.0 * x + 0.1 * rng.standard_normal(30))
        covered += fit["interval"][0] <= 2.0 <= fit["interval"][1]
    assert 0.9 <= covered / 200 <= 0.99
    assert not fit_slope(x, 2.1 * x)["interval"][0] <= 2.0   # negative control: a wrong slope is excluded


def test_a_failing_claim_sets_exit_status_1_unless_it_expects_to_fail(tmp_path, monkeypatch):
    """A synthetic claim whose check fails (and whose control fails too) drives the exit status, unless the claim
    records that failure as its expected verdict (tests/test_expectations.py has the other cases)."""
    from verify.registry import Claim, Expectation, Tolerance, Verdict

    def failing(ctx):
        return Verdict("failed", predicted=1.0, measured=2.0,
                       tolerance=Tolerance("none", 0.0, "synthetic"))

    def register(**kw):
        monkeypatch.setitem(REGISTRY, "D0-always-fails",
                            Claim("D0-always-fails", "a claim that fails", "multistage", "D1", failing, failing,
                                  "the same failing check", **kw))

    register()
    args = ["run", "D0-always-fails", "--quick", "--no-figures", "--workers", "1", "--out", str(tmp_path / "r")]
    assert main(args) == 1
    register(expect=Expectation("failed", "a synthetic finding"))
    assert main(args) == 0


