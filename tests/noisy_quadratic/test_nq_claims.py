"""Q1/Q2 claims at the quick profile pass, their negative controls fail, and the same seed gives the same JSON."""
from __future__ import annotations

import json

import numpy as np
import pytest

from verify.noisy_quadratic.context import Context
from verify.noisy_quadratic.simulation import simulate
from verify.registry import REGISTRY, claims_of
from verify.runner import run_paper

from key_rules import assert_report_keys

IDS = [c for c in claims_of("noisy-quadratic") if c[:2] in ("Q1", "Q2")]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("nq")
    rep, _ = run_paper("noisy-quadratic", IDS, profile="quick", seed=0, workers=1, out_dir=out,
                       progress=lambda *_: None)
    return rep


def test_claims_registered():
    assert set(IDS) == {"Q1-stationary-loss", "Q1-relaxation", "Q1-lr-cut", "Q2-stationary-loss",
                        "Q2-approximation-error", "Q2-stability-region", "Q2-relaxation"}


def test_claims_pass_and_controls_fail(report):
    """Every claim reaches its expected quick verdict (passed, or Q1-relaxation's recorded inconclusive: its
    intervals are wider than its band); the negative control of each claim that passed fails."""
    for c in report["claims"]:
        assert c["status"] == REGISTRY[c["claim"]].expected("quick")["status"], (c["claim"], c["details"])
        if c["status"] == "passed":
            assert c["negative_control"]["status"] == "failed", c["claim"]
        assert c["tolerance"]["justification"]
    assert [c["claim"] for c in report["claims"] if c["status"] != "passed"] == ["Q1-relaxation"]
    # the earlier (memorising) set-up's figures are drawn at the default profile only (_figures.NO_MEMORISING_FIGURES)
    assert {f["name"] for f in report["figures"] if not f.get("claim")} == {"nq_floor_vs_lr", "nq_floor_vs_momentum",
                                                                          "nq_lr_cut"}


def test_every_key_agrees_with_its_status_and_each_controls_key_too(report):
    assert_report_keys(report)


def test_same_seed_same_json(report, tmp_path):
    again, _ = run_paper("noisy-quadratic", IDS, profile="quick", seed=0, workers=1, out_dir=tmp_path,
                         figures=False, progress=lambda *_: None)
    # the figures list differs only because this run draws none (a claim that did not pass gets a verdict figure)
    strip = lambda claims: [{k: v for k, v in c.items() if k != "figures"} for c in claims]  # noqa: E731
    assert json.dumps(strip(again["claims"]), sort_keys=True) == json.dumps(strip(report["claims"]), sort_keys=True)


def test_simulation_gd_equals_heavy_ball_at_zero_momentum_and_is_seeded():
    a = simulate(0.1, 1.0, 1.0, 0.0, chains=64, steps=50, seed=3)
    b = simulate(0.1, 1.0, 1.0, 0.0, chains=64, steps=50, seed=3)
    c = simulate(0.1, 1.0, 1.0, 0.0, chains=64, steps=50, seed=4)
    assert np.array_equal(a.loss, b.loss) and not np.array_equal(a.loss, c.loss)


def test_the_interval_is_wider_than_the_naive_one_where_iterates_correlate():
    ctx = Context.make("quick", seed=0)
    rows = REGISTRY["Q1-stationary-loss"].check(ctx).measured["points"]
    slow = rows[0]                                         # alpha lambda = 0.01: autocorrelation time ~ 50
    assert slow["stderr"] > 5 * slow["naive_stderr"]
    assert 30 < slow["autocorrelation_time"] < 80           # derived (1 + r^2) / (1 - r^2) = 49.5


def test_every_claim_has_a_calibrated_control_that_fails_and_a_resolution(report):
    """Issue 21: each Q1/Q2 claim's calibrated control (the derived prediction moved by at most twice its
    tolerance) comes out failed wherever the claim passed; Q1-relaxation, inconclusive by its recorded finding
    (intervals wider than the band), cannot resolve its 2 % control either (inconclusive, not passed)."""
    for c in report["claims"]:
        cal = c["calibrated_control"]
        assert cal is not None and cal["description"], c["claim"]
        assert c["resolution"] and c["resolution"]["value"] > 0 and c["resolution"]["unit"] == "relative", c["claim"]
        assert c["resolution"]["value"] <= 0.2, (c["claim"], c["resolution"])
        if c["status"] == "passed":
            assert cal["status"] == "failed", (c["claim"], cal)
        else:
            assert c["claim"] == "Q1-relaxation" and cal["status"] == "inconclusive", (c["claim"], cal)


def test_the_prony_interval_matches_the_scatter_of_rho_over_seeds():
    """Q2-relaxation's standard error of rho (least-squares covariance carried by the delta method) against the
    scatter of the fitted rho over 24 independent seeds, at a real and a complex point, with the noise raised to
    1e-4 so that the scatter is measurable: the ratio lies in [0.6, 1.6] (24 seeds estimate a standard deviation to
    about 15 %).  Control: the same comparison with the standard error divided by 3 falls outside."""
    from verify.noisy_quadratic.claims.momentum import _prony_radius

    for g, c in ((0.5, 0.01), (0.5, 0.3)):
        rhos, ses = [], []
        for seed in range(24):
            run = simulate(c, 1.0, 1e-4, g, chains=256, steps=400, seed=seed, x0=1.0)
            rho, _, se, _ = _prony_radius(run.mean_x[0])
            rhos.append(rho)
            ses.append(se)
        ratio = np.std(rhos, ddof=1) / np.median(ses)
        assert 0.6 <= ratio <= 1.6, (g, c, ratio)
        assert not 0.6 <= np.std(rhos, ddof=1) / (np.median(ses) / 3) <= 1.6
