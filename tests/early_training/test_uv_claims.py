"""E1 claims at the quick profile: all pass, every negative control fails, the report is complete and reproducible."""
from __future__ import annotations

import json

import pytest

from verify.early_training.context import Context
from verify.registry import REGISTRY, claims_of
from verify.report import validate_report
from verify.runner import run_paper

from key_rules import assert_report_keys

CLAIMS = claims_of("early-training")
E1_CLAIMS = [cid for cid in CLAIMS if cid.startswith("E1-")]


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("quick")
    report, paths = run_paper("early-training", E1_CLAIMS, profile="quick", seed=0, workers=1, out_dir=out,
                              progress=lambda *_: None)
    return report, out


def test_the_e1_claims_are_registered_under_the_paper_key():
    assert set(E1_CLAIMS) >= {"E1-uv-map", "E1-uv-regimes", "E1-c-loss-finite-width"}
    assert all(REGISTRY[cid].paper == "early-training" and REGISTRY[cid].derivation == "E1" for cid in E1_CLAIMS)


def test_every_claim_passes_with_a_statement_and_a_justified_tolerance(quick_report):
    report, out = quick_report
    validate_report(json.loads((out / "report.json").read_text()))
    assert report["paper"]["key"] == "early-training"
    for claim in report["claims"]:
        assert claim["status"] == "passed", (claim["claim"], claim["details"])
        assert claim["statement"] and claim["latex"]
        assert claim["tolerance"]["justification"]
        assert claim["details"]["derivation_identities_verified"] is True


@pytest.mark.parametrize("claim_id", E1_CLAIMS)
def test_negative_and_calibrated_controls_fail_and_the_resolution_is_stated(quick_report, claim_id):
    report, _ = quick_report
    claim = next(c for c in report["claims"] if c["claim"] == claim_id)
    assert claim["negative_control"]["status"] == "failed", claim["negative_control"]
    assert claim["calibrated_control"]["status"] == "failed", claim["calibrated_control"]
    assert claim["calibrated_control"]["key"]["margin"] > 1
    assert claim["resolution"]["detects"] and claim["resolution"]["value"] > 0


def test_c_loss_residual_exponent_is_2_and_the_control_gives_1():
    ctx = Context.make("quick", seed=0)
    claim = REGISTRY["E1-c-loss-finite-width"]
    good, bad = claim.check(ctx), claim.negative_control(ctx)
    assert abs(good.measured["residual_exponent"] - 2) < 0.05
    assert abs(bad.measured["residual_exponent"] - 1) < 0.05
    assert good.measured["max_abs_c_loss_minus_exact_step1_root"] < 1e-11


def test_regime_control_misclassifies_between_3_and_4():
    ctx = Context.make("quick", seed=0)
    bad = REGISTRY["E1-uv-regimes"].negative_control(ctx)
    assert bad.predicted["c_max_wide"] == 3.0
    wrong = {r["c"] for r in bad.measured["runs"] if r["expected"] != r["measured"]}
    assert wrong and all(3 < cv < 4 for cv in wrong)


def test_every_key_agrees_with_its_status_and_each_controls_key_too(quick_report):
    """Margin below 1 exactly when passed, above 1 (or none, with why) otherwise, for claims and controls."""
    report, _ = quick_report
    assert_report_keys(report)
    regimes = next(c for c in report["claims"] if c["claim"] == "E1-uv-regimes")
    counts = regimes["key"]["counts"]
    assert counts["total"] == len(regimes["measured"]["runs"]) and counts["allowed"] == 0
    assert counts["met"] == sum(r["measured"] == r["expected"] for r in regimes["measured"]["runs"])


def test_figures_are_written(quick_report):
    report, out = quick_report
    names = {f["name"] for f in report["figures"]}
    assert names == {"uv_regimes", "uv_c_loss"}
    for f in report["figures"]:
        assert (out / f["png"]).stat().st_size > 1000 and (out / f["svg"]).is_file()


def test_same_seed_same_json(quick_report, tmp_path):
    report, out = quick_report
    again, _ = run_paper("early-training", E1_CLAIMS, profile="quick", seed=0, workers=1, out_dir=tmp_path,
                         figures=False, progress=lambda *_: None)
    assert json.dumps(again["claims"], sort_keys=True) == json.dumps(report["claims"], sort_keys=True)
    assert again["config"] == report["config"]
