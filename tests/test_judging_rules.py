"""The judging rules of issue 19, on synthetic fits, seeds and verdicts (no claim runs).

* A fitted quantity passes only when its whole 95 % interval lies in its band (a one-sided band: on its open
  side); an interval that straddles an edge is inconclusive, and says which edge and by how much; one that lies
  wholly outside fails.  The margin follows the same rule: below 1 exactly when the claim passes.
* A claim judged over seeds reads the quantifier of its statement: "for every seed" fails on one resolved
  counterexample, named in the why; the Wilson "most seeds" rule only for "typically", and the key says which.
* Every verdict can list its rows (failed or held only within tolerance) and the range it was tested on, and the
  report states that range in the claim's heading line.
"""
from __future__ import annotations

import math

import pytest

from verify.registry import Status, Verdict, check_key, check_range, check_rows, rows_of
from verify.stats import (QUANTIFIERS, every_key, fit_key, fit_slope, fraction_key, fraction_status, interval_margin,
                          judge, judge_interval)

from key_rules import assert_key_consistent

BAND = [0.5, 1.5]           # centre 1, half-width 0.5


def _fit(lo, hi):
    return {"slope": (lo + hi) / 2, "interval": [lo, hi]}


# ---- the interval rule, two-sided band ----------------------------------------------------------------

@pytest.mark.parametrize("interval, status", [
    ([0.8, 1.2], Status.PASSED),            # wholly inside
    ([0.5, 1.5], Status.PASSED),            # exactly the band: its ends belong to it
    ([0.4, 1.2], Status.INCONCLUSIVE),      # straddles the lower edge
    ([0.9, 1.6], Status.INCONCLUSIVE),      # straddles the upper edge
    ([0.3, 1.7], Status.INCONCLUSIVE),      # wider than the band, point estimate at the centre
    ([1.6, 2.0], Status.FAILED),            # wholly above
    ([-1.0, 0.4], Status.FAILED),           # wholly below
])
def test_a_two_sided_band_passes_only_an_interval_inside_it(interval, status):
    got, margin, why = judge_interval(interval, BAND)
    assert got is status and judge(_fit(*interval), BAND) is status
    assert (margin < 1) == (status is Status.PASSED) and margin != 1
    assert (why is None) == (status is Status.PASSED)


def test_a_point_estimate_inside_the_band_with_an_interval_across_its_edge_is_inconclusive():
    """The old rule passed it (the estimate 1.4 lies in the band); the interval reaches 0.2 above 1.5."""
    status, margin, why = judge_interval([1.2, 1.6], BAND)
    assert status is Status.INCONCLUSIVE and margin > 1
    assert "upper edge 1.5" in why and "0.1 above" in why and "lower edge" not in why


def test_an_interval_across_both_edges_names_both():
    status, _, why = judge_interval([0.3, 1.8], BAND)
    assert status is Status.INCONCLUSIVE
    assert "lower edge 0.5 (reaching 0.2 below it)" in why and "upper edge 1.5 (reaching 0.3 above it)" in why


def test_the_two_sided_margin_is_the_farther_end_over_the_half_width():
    assert interval_margin([0.8, 1.3], BAND) == pytest.approx(0.6, rel=1e-12)
    assert interval_margin([0.9, 1.7], BAND) == pytest.approx(1.4, rel=1e-12)
    assert interval_margin([1.6, 2.0], BAND) == pytest.approx(2.0, rel=1e-12)


@pytest.mark.parametrize("eps", [1e-9, 1e-6, 1e-3])
def test_the_rule_and_its_margin_agree_at_an_edge(eps):
    """Just inside passes below 1; just outside does not, above 1 (never exactly 1)."""
    for inside, interval in ((True, [0.5 + eps, 1.5 - eps]), (False, [0.5 - eps, 1.2]), (False, [0.8, 1.5 + eps])):
        status, margin, _ = judge_interval(interval, BAND)
        assert (status is Status.PASSED) is inside
        assert (margin < 1) is inside and margin != 1


def test_the_reference_cases_of_issue_19():
    """E2-c-loss-tends-to-2 once passed with the interval [-3.46, 6.43] against [0, open); D9-slope-log-m's
    quick interval [0.501, 0.793] straddles both edges of [0.556, 0.730]."""
    assert judge_interval([-3.46, 6.43], [0.0, None])[0] is Status.INCONCLUSIVE
    status, _, why = judge_interval([0.501, 0.793], [0.556, 0.730])
    assert status is Status.INCONCLUSIVE and "lower edge" in why and "upper edge" in why


# ---- the interval rule, one-sided bands -------------------------------------------------------------------

@pytest.mark.parametrize("band, interval, status", [
    ([0.0, None], [0.2, 0.8], Status.PASSED),
    ([0.0, None], [0.0, 0.8], Status.PASSED),          # the edge belongs to the band
    ([0.0, None], [-0.1, 0.8], Status.INCONCLUSIVE),
    ([0.0, None], [-0.8, 0.1], Status.INCONCLUSIVE),   # point estimate outside, interval reaching in
    ([0.0, None], [-0.8, -0.1], Status.FAILED),
    ([None, -0.8], [-1.6, -0.9], Status.PASSED),
    ([None, -0.8], [-1.66, -0.71], Status.INCONCLUSIVE),
    ([None, -0.8], [-0.7, -0.1], Status.FAILED),
])
def test_a_one_sided_band_passes_only_an_interval_on_its_open_side(band, interval, status):
    got, margin, why = judge_interval(interval, band)
    assert got is status
    assert (margin < 1) == (status is Status.PASSED) and margin != 1
    if status is Status.INCONCLUSIVE:
        assert 1 < margin <= 3 and ("lower edge" in why) == (band[0] is not None)
    if status is Status.FAILED:
        assert margin > 3 and "wholly" in why


def test_the_one_sided_margin_is_the_half_width_over_the_distance_from_the_edge():
    """h / d with d the interval centre's distance from the edge, h its half-width: [0.2, 0.8] vs [0, open)."""
    assert interval_margin([0.2, 0.8], [0.0, None]) == pytest.approx(0.3 / 0.5, rel=1e-12)
    assert interval_margin([-0.8, 0.2], [0.0, None]) == pytest.approx(2 + 0.3 / 0.5, rel=1e-12)


def test_an_unbounded_interval_is_inconclusive_with_no_margin():
    """Two points leave no degrees of freedom: fit_slope's interval is infinite."""
    fit = fit_slope([0.0, 1.0], [0.0, 1.0])
    status, margin, why = judge_interval(fit["interval"], BAND)
    assert status is Status.INCONCLUSIVE and margin is None and "unbounded" in why


def test_fit_key_carries_the_interval_rule_into_a_consistent_key():
    for interval in ([0.8, 1.2], [0.4, 1.2], [1.6, 2.0], [0.0, 1.0]):
        status, key = fit_key("a slope", _fit(*interval), BAND, predicted=1.0)
        assert_key_consistent(key, status.value)
        check_key("synthetic", status, key)
        assert key["interval"] == interval and key["band"] == BAND


def test_a_seeded_noisy_fit_straddles_when_its_noise_reaches_the_edge():
    """A real fit: slope 1 + noise; a band just wider than the interval passes, one just narrower straddles."""
    import numpy as np

    rng = np.random.default_rng(19)
    x = np.linspace(0, 1, 12)
    fit = fit_slope(x, x + rng.normal(0, 0.05, x.size))
    lo, hi = fit["interval"]
    scale = hi - lo
    assert judge(fit, [lo - 0.01 * scale, hi + 0.01 * scale]) is Status.PASSED
    assert judge(fit, [lo + 0.01 * scale, hi + 0.01 * scale]) is Status.INCONCLUSIVE


# ---- quantifiers --------------------------------------------------------------------------------------------

def test_every_seed_passes_when_each_seed_is_within_its_tolerance():
    status, key, rows = every_key("|e| <= 0.1", [({"seed": s}, u) for s, u in enumerate([0.2, 0.9, 0.0])])
    assert status is Status.PASSED and key["quantifier"] == "every"
    assert key["margin"] == pytest.approx(0.9, rel=1e-12) and key["counts"]["allowed"] == 0
    assert_key_consistent(key, status.value)
    # seed 2 holds exactly and is left out; the others held only within tolerance, worst first
    assert [r["row"] for r in rows] == [{"seed": 1}, {"seed": 0}]
    assert all(r["outcome"] == "within tolerance" for r in rows)


def test_every_seed_fails_on_one_resolved_counterexample_and_names_it():
    """Seven seeds well inside and one 30 % beyond: the Wilson rule (7 of 8) passes, the every-seed rule fails."""
    used = [0.1] * 7 + [1.3]
    status, key, rows = every_key("|e| <= 0.1", [({"seed": s}, u) for s, u in enumerate(used)])
    assert status is Status.FAILED and "seed 7" in key["why"] and "1.3" in key["why"]
    assert key["margin"] == pytest.approx(1.3, rel=1e-12)
    assert_key_consistent(key, status.value)
    assert rows[0] == {"row": {"seed": 7}, "outcome": "failed", "margin": pytest.approx(1.3, rel=1e-12)}
    assert fraction_status(7, 8)[0] is Status.PASSED


def test_every_seed_fails_on_a_seed_that_could_not_be_measured():
    status, key, rows = every_key("|e| <= 0.1", [({"seed": 0}, 0.5), ({"seed": 1}, float("inf"))])
    assert status is Status.FAILED and key["margin"] is None and "seed 1 could not be measured" in key["why"]
    assert_key_consistent(key, status.value)
    assert rows[0]["row"] == {"seed": 1} and rows[0]["margin"] is None


def test_every_seed_at_the_tolerance_passes_just_below_one():
    status, key, _ = every_key("|e| <= 0.1", [({"seed": 0}, 1.0)])
    assert status is Status.PASSED and key["margin"] < 1


@pytest.mark.parametrize("ok, trials, status", [(8, 8, Status.PASSED), (7, 8, Status.PASSED),
                                                (4, 8, Status.INCONCLUSIVE), (0, 8, Status.FAILED)])
def test_the_wilson_rule_is_marked_as_most_seeds(ok, trials, status):
    got, interval = fraction_status(ok, trials)
    assert got is status
    key = fraction_key("|e| <= 0.1", ok, trials, interval, got, "worst seed: 2")
    assert key["quantifier"] == "most" and set(QUANTIFIERS) == {"every", "most"}
    assert_key_consistent(key, got.value)


# ---- rows and range ---------------------------------------------------------------------------------------

def test_rows_of_keeps_failed_and_within_tolerance_rows_worst_first():
    rows = rows_of([({"width": 100}, 0.0, True), ({"width": 200}, 0.7, True), ({"width": 400}, 2.0, False),
                    ({"width": 800}, None, "inconclusive")])
    assert [r["row"]["width"] for r in rows] == [400, 800, 200]
    assert [r["outcome"] for r in rows] == ["failed", "inconclusive", "within tolerance"]
    check_rows("synthetic", rows)


@pytest.mark.parametrize("bad", [{}, {"seeds": []}, {"seeds": [True]}, {"m": float("nan")}, {"": 3}, [1, 2]])
def test_a_malformed_range_is_refused(bad):
    with pytest.raises(ValueError, match="range"):
        check_range("synthetic", bad)


@pytest.mark.parametrize("bad", [{"seed": 1}, [{"row": 1, "outcome": "failed"}],
                                 [{"row": {"seed": 1}, "outcome": "lost", "margin": 1.0}],
                                 [{"row": {"seed": 1}, "outcome": "failed", "margin": -1.0}]])
def test_malformed_rows_are_refused(bad):
    with pytest.raises(ValueError, match="row"):
        check_rows("synthetic", bad)


def test_a_verdict_records_its_range_and_rows():
    status, key, rows = every_key("|e| <= 0.1", [({"seed": 0}, 0.5), ({"seed": 1}, 2.0)])
    v = Verdict(status, None, None, None, seeds=[0, 1], key=key, range={"seeds": [0, 1], "m": 1000}, rows=rows,
                claim="X-synthetic", title="a synthetic claim")
    d = v.as_dict()
    assert d["range"] == {"seeds": [0, 1], "m": 1000} and d["rows"][0]["row"] == {"seed": 1}
    with pytest.raises(ValueError, match="range"):
        Verdict(status, None, None, None, key=key, range={"m": []}, claim="X-synthetic")
    assert math.isfinite(d["key"]["margin"])


# ---- the report: the range in the heading line, the quantifier and the rows in the section, validation ------

def _report_with_range():
    from test_report import make_report

    report = make_report()
    claim = report["claims"][0]
    status, key, rows = every_key("|t_half / derived - 1| <= 0.05", [({"seed": s}, u) for s, u in
                                                                       zip(claim["seeds"], [0.2, 0.7, 0.0])])
    claim.update(range={"seeds": [0, 1, 2], "m": 400, "d/w": [0.03125, 0.25]}, rows=rows, key=key,
                 status=status.value)
    return report


def test_the_report_states_the_range_in_the_claims_heading_line():
    from verify.report import render_markdown, validate_report

    report = _report_with_range()
    validate_report(report)
    md = render_markdown(report)
    heading = next(line for line in md.splitlines() if line.startswith("## ") and "D9-descent-time" in line)
    assert "(tested on seeds 0\u20132; m 400; d/w 0.03125, 0.25)" in heading
    assert "**Seeds:** 0, 1, 2 (for every seed)" in md                 # the compact Markdown names the quantifier
    # the rows that held only within tolerance, worst first; seed 2 (exact) is not listed (the HTML shows every
    # row; the compact Markdown counts them)
    from verify.report import render_html

    page = render_html(report, ".")
    assert "<strong>Quantifier:</strong> for every seed" in page
    section = page[page.index("Rows that failed or held only within tolerance"):]
    section = section[:section.index("</table>")]
    assert section.index("seed 1") < section.index("seed 0") and "seed 2" not in section
    assert "2 rows failed or held only within tolerance; all of them are in report.html and report.json." in md
    # the summary's predicted cell names the quantifier
    assert "every seed (3/3 seeds; one counterexample fails)" in md


def test_a_claim_without_a_range_has_a_plain_heading():
    from test_report import make_report
    from verify.report import render_markdown

    md = render_markdown(make_report())
    assert "tested on" not in md


@pytest.mark.parametrize("mutate, field", [
    (lambda c: c.update(range=[1, 2]), "range"),
    (lambda c: c.update(range={"seeds": []}), "range"),
    (lambda c: c.update(rows={"seed": 1}), "rows"),
    (lambda c: c.update(rows=[{"row": {"seed": 1}, "outcome": "lost", "margin": 1.0}]), "rows"),
    (lambda c: c["key"].update(quantifier="some"), "key.quantifier"),
])
def test_the_schema_names_a_malformed_range_rows_or_quantifier(mutate, field):
    from theory.errors import InputError
    from verify.report import validate_report

    report = _report_with_range()
    mutate(report["claims"][0])
    with pytest.raises(InputError) as info:
        validate_report(report)
    assert info.value.field == f"claims[0].{field}"


def test_a_cached_verdict_without_range_or_rows_is_a_miss():
    """Entries written before ranges and rows were recorded run again (verify.runner._cached_verdicts)."""
    from verify.registry import REGISTRY, load_papers
    from verify.runner import _cached_verdicts

    load_papers()
    cid = "D1-gradient-flow"
    status, key, rows = every_key("x", [({"seed": 0}, 0.5)])
    verdict = {"claim": cid, "title": "t", "status": "passed", "predicted": None, "measured": None,
               "tolerance": None, "seeds": [0], "fits": {}, "figures": [], "derivation": "D1", "label": "l",
               "key": key, "negative_control": {"description": "c", "status": "failed"},
               "calibrated_control": None if REGISTRY[cid].calibrated_control is None else
               {"description": "c", "status": "failed", "key": None},
               "resolution": None, "range": {"seeds": [0]}, "rows": rows}
    assert _cached_verdicts([[verdict, 1.0]], [cid])
    for name in ("range", "rows"):
        stale = {k: v for k, v in verdict.items() if k != name}
        assert not _cached_verdicts([[stale, 1.0]], [cid])
