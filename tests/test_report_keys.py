"""Every claim's key number: present, consistent with its verdict, and shown in the report's summary table.

A few fast claims of each paper run at the quick profile; their key numbers must name a quantity, carry a
finite measured value and a margin (the used fraction of the tolerance) that is below 1 when the claim passed
and above 1 (or none, with why) when it did not, never exactly 1, say why when it did not pass, and appear in the
summary table of the rendered Markdown.  The negative controls construct their verdicts through the same code
and must show a margin above 1 and a reason.  The rule itself (:func:`verify.registry.check_key`, enforced when a
verdict is made) and the shared margins of :mod:`verify.stats` are checked on synthetic verdicts; every claim's
key, negative controls included, is checked on the per-paper quick reports (tests/<paper>/, ``key_rules``).
"""
from __future__ import annotations

import copy
import math

import pytest
from markdown_it import MarkdownIt

from verify.registry import REGISTRY, Status, Tolerance, Verdict, check_key, key_number, load_papers
from verify.report import render_markdown, validate_report
from verify.report.sections import SUMMARY_COLUMNS, counts_text, format_margin
from verify.runner import run_paper
from verify.stats import (band_margin, count_key, count_margin, exceed_margin, fraction_key, fraction_margin,
                          fraction_status, margin_as_judged, ratio_margin)

from key_rules import assert_key_consistent, assert_report_keys

#: claims that run in a few seconds at the quick profile, per paper
FAST = {"multistage": ["D1-gradient-flow", "D2-taylor-remainder", "D4-linearized-flow"],
        "early-training": ["E1-uv-map", "E1-uv-regimes", "E1-c-loss-finite-width"],
        "noisy-quadratic": ["Q1-relaxation", "Q2-stability-region", "Q2-relaxation"]}
ALL_FAST = [cid for ids in FAST.values() for cid in ids]


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    out = {}
    for paper, ids in FAST.items():
        report, _ = run_paper(paper, ids, profile="quick", seed=0, out_dir=tmp_path_factory.mktemp(paper),
                              figures=False, progress=lambda *_: None)
        out[paper] = report
    return out


def _claims(reports):
    return {c["claim"]: c for report in reports.values() for c in report["claims"]}


def _consistent(key: dict, status: str) -> None:
    """The strict rule (tests/key_rules.py): below 1 passed, above 1 (or none, with why) did not, never 1."""
    assert_key_consistent(key, status)


def test_every_fast_claim_has_a_key_number_consistent_with_its_status(reports):
    claims = _claims(reports)
    assert set(claims) == set(ALL_FAST)
    for cid, claim in claims.items():
        key = claim.get("key")
        assert key is not None, f"{cid} has no key number"
        assert key["measured"] is not None and math.isfinite(key["measured"]), (cid, key)
        assert key["margin"] is not None, (cid, key)      # each of these claims is judged by a margin rule
        _consistent(key, claim["status"])
    for report in reports.values():
        assert_report_keys(report)


def _summary_rows(markdown: str) -> dict:
    """The summary table of a rendered report: claim id -> {column: its cell's text}, read with markdown-it."""
    tokens = MarkdownIt("commonmark").enable("table").parse(markdown)
    rows, row, in_cell, table_seen = {}, None, False, False
    for tok in tokens:
        if tok.type == "table_open":
            if table_seen:
                break                                   # the summary is the first table
            table_seen = True
        elif tok.type == "tr_open":
            row = []
        elif tok.type in ("td_open", "th_open"):
            in_cell = True
        elif tok.type == "inline" and in_cell:
            row.append("".join(child.content for child in tok.children if child.type in ("text", "code_inline")))
        elif tok.type in ("td_close", "th_close"):
            in_cell = False
        elif tok.type == "tr_close" and row:
            rows[row[0]] = row
    head = rows.pop("claim")
    assert head == list(SUMMARY_COLUMNS), head
    return {cid: dict(zip(head, cells)) for cid, cells in rows.items()}


def test_the_summary_table_shows_each_key_number(reports):
    for paper, report in reports.items():
        rows = _summary_rows(render_markdown(report))
        for claim in report["claims"]:
            cells, key = rows[claim["claim"]], claim["key"]
            assert cells["key quantity"] == " ".join(key["quantity"].split()), cells
            assert cells["margin"] == (format_margin(key["margin"]) if key["margin"] is not None else "\u2014"), cells
            assert cells["status"].startswith(claim["status"]), cells
            if key.get("counts"):
                assert [cells["measured"], cells["predicted"]] == list(counts_text(key["counts"],
                                                                                   key.get("quantifier"))), cells


@pytest.mark.parametrize("paper", list(FAST))
def test_negative_controls_give_a_failing_key_and_the_summary_says_why(reports, paper):
    """The controls' verdicts (same code, wrong prediction) come out failed with margin >= 1 and a reason,
    and a report whose claim is such a verdict shows that reason in its summary row."""
    papers = load_papers()
    ctx = papers[paper].make_context("quick", seed=0, backend="auto", device="cpu")
    report = copy.deepcopy(reports[paper])
    for i, cid in enumerate(FAST[paper]):
        control = REGISTRY[cid].judge(REGISTRY[cid].negative_control, ctx).as_dict()   # as the runner runs it
        assert control["status"] == Status.FAILED, (cid, control["key"])
        _consistent(control["key"], control["status"])
        assert control["key"]["margin"] is not None and control["key"]["margin"] > 1, (cid, control["key"])
        report["claims"][i] = {**report["claims"][i], **control}
    report["summary"] = {s: sum(c["status"] == s for c in report["claims"]) for s in report["summary"]}
    validate_report(report)
    rows = _summary_rows(render_markdown(report))
    for claim in report["claims"]:
        status_cell = rows[claim["claim"]]["status"]
        assert status_cell.startswith("failed"), status_cell
        assert " ".join(claim["key"]["why"].split()) in status_cell, (status_cell, claim["key"]["why"])


@pytest.mark.parametrize("trials", range(1, 21))
def test_fraction_key_margin_is_below_one_exactly_when_the_fraction_passes(trials):
    for ok in range(trials + 1):
        status, interval = fraction_status(ok, trials)
        key = fraction_key("a criterion", ok, trials, interval, status, "worst seed: 1")
        _consistent(key, status)
        assert key["measured"] == ok / trials
        if status != Status.PASSED:
            assert key["why"].endswith("worst seed: 1")


def test_band_margin_is_below_one_inside_the_band():
    band = [1.8, 2.2]
    assert band_margin(2.0, band) == 0
    assert band_margin(2.1, band) == pytest.approx(0.5)
    assert band_margin(1.79, band) > 1 and band_margin(2.21, band) > 1


def test_a_fraction_key_carries_its_counts_and_the_worst_seeds_used_fraction():
    status, interval = fraction_status(8, 8)
    key = fraction_key("|x| <= 1", 8, 8, interval, status, worst_margin=0.65)
    assert key["counts"] == {"met": 8, "total": 8, "unit": "seeds", "allowed": None, "worst": 0.65}
    assert counts_text(key["counts"]) == ("8/8 seeds within tolerance, worst seed at 0.65 of it",
                                          "most seeds (95 % Wilson interval above 1/2)")
    status, interval = fraction_status(1, 4)
    key = fraction_key("|x| <= 1", 1, 4, interval, status, "worst: 7", worst_margin=float("inf"), unit="set-ups")
    assert key["counts"]["worst"] is None and key["quantity"] == "fraction of set-ups with |x| <= 1"
    assert counts_text(key["counts"])[0] == "1/4 set-ups within tolerance"
    _consistent(key, status)


@pytest.mark.parametrize("allowed", [0, 1, 3])
def test_a_count_key_is_below_one_exactly_when_at_most_the_allowed_rows_fail(allowed):
    for total in range(0, 9):
        for met in range(total + 1):
            bad = total - met
            status = Status.PASSED if total and bad <= allowed else Status.FAILED
            key = count_key("fraction of runs in their regime", met, total,
                            None if status is Status.PASSED else f"{bad} run(s) out", allowed=allowed)
            _consistent(key, status)
            check_key("X-count", status, key)
            assert key["counts"]["allowed"] == allowed and key["counts"]["met"] == met
            if total:
                assert key["margin"] == count_margin(bad, allowed)
                assert key["predicted"] == (total - allowed) / total
            else:
                assert key["margin"] is None and key["measured"] is None
    assert counts_text({"met": 17, "total": 18, "unit": "runs", "allowed": 0, "worst": None}) == \
        ("17/18 runs within tolerance", "18/18 runs")
    assert counts_text({"met": 7, "total": 9, "unit": "runs", "allowed": 2, "worst": 1.234})[1] == "at least 7/9 runs"


def test_count_margin_is_never_one_and_crosses_it_between_allowed_and_one_more():
    for allowed in range(5):
        for bad in range(12):
            m = count_margin(bad, allowed)
            assert m != 1 and (m < 1) == (bad <= allowed)
    assert count_margin(0) == 0 and count_margin(1) == 2 and count_margin(2, 2) == pytest.approx(0.8)


def test_ratio_margin_at_its_edge_is_on_the_side_the_rule_puts_it():
    assert ratio_margin(0.5, 2.0) == 0.25
    assert ratio_margin(1.0, 1.0) < 1                               # x <= tol passes at the edge ...
    assert ratio_margin(1e-12, 1e-12) < 1
    assert ratio_margin(math.nextafter(1e-12, 1), 1e-12) > 1        # ... and fails an ulp above it
    assert ratio_margin(3.0, 1.0) == 3.0
    assert ratio_margin(float("inf"), 1.0) is None and ratio_margin(float("nan"), 1.0) is None
    # among many quotients that round to 1, every margin agrees with the rule it reports
    for limit in (0.1, 0.3, 1 / 3, 1e-8, 7.0):
        for k in range(-4, 5):
            x = limit
            for _ in range(abs(k)):
                x = math.nextafter(x, math.inf if k > 0 else 0.0)
            m = ratio_margin(x, limit)
            assert m != 1 and (m < 1) == (x <= limit), (x, limit, m)


def test_band_margin_at_the_band_ends():
    band = [1.8, 2.2]
    assert band_margin(1.8, band) < 1 and band_margin(2.2, band) < 1        # the ends belong to the band
    assert band_margin(math.nextafter(2.2, 3), band) > 1 and band_margin(math.nextafter(1.8, 0), band) > 1
    for lo, hi in ((0.1, 0.7), (-1.5, -0.5), (1 / 3, 3.0)):
        for x in (lo, hi, math.nextafter(lo, -9), math.nextafter(hi, 9)):
            m = band_margin(x, [lo, hi])
            assert m != 1 and (m < 1) == (lo <= x <= hi), (x, lo, hi, m)


def test_exceed_margin_is_continuous_decreasing_and_strict_at_its_edge():
    assert exceed_margin(2.0, 1.0) == 0.5 and exceed_margin(4.0, 2.0) == 0.5
    assert exceed_margin(0.0, 1.0) == 2.0 and exceed_margin(-1.0, 1.0) == 3.0
    assert exceed_margin(1.0, 1.0) > 1                                     # value > limit fails at the edge
    assert exceed_margin(1.0, 1.0, strict=False) < 1                       # value >= limit passes there
    assert exceed_margin(float("inf"), 1.0) == 0.0 and exceed_margin(float("-inf"), 1.0) is None
    values = [-3.0, -0.5, 0.0, 0.5, 0.999, 1.001, 2.0, 10.0]
    margins = [exceed_margin(v, 1.0) for v in values]
    assert margins == sorted(margins, reverse=True) and all(m >= 0 for m in margins)
    # the claim's own outcome decides an edge that rounding blurs
    assert exceed_margin(1.0, 1.0, passed=True) < 1
    assert exceed_margin(math.nextafter(1.0, 2), 1.0, passed=False) > 1


def test_fraction_margin_at_a_wilson_lower_end_of_exactly_one_half_passes():
    assert fraction_margin([0.5, 0.9]) < 1 and fraction_margin([math.nextafter(0.5, 0), 0.9]) > 1
    assert fraction_margin([1.0, 1.0]) == 0


def test_margin_as_judged_moves_only_a_margin_that_rounding_left_at_the_edge():
    assert margin_as_judged(1.0, True) < 1 and margin_as_judged(1.0, False) > 1
    assert margin_as_judged(math.nextafter(1.0, 2), True) < 1
    assert margin_as_judged(math.nextafter(1.0, 0), False) > 1
    # a margin far on the wrong side is a contradiction, left for the verdict to refuse
    assert margin_as_judged(1.5, True) == 1.5 and margin_as_judged(0.5, False) == 0.5
    assert margin_as_judged(None, True) is None and margin_as_judged(float("inf"), False) is None


def _verdict(status, margin, why="a sentence on why", claim="X-synthetic"):
    """A synthetic verdict; ``claim=None`` as a check returns it (the registration writes the id)."""
    return Verdict(status, 1.0, 2.0, Tolerance("t", 1.0, "synthetic"),
                   key=key_number("a quantity", 2.0, 1.0, margin, why), claim=claim)


#: (status, margin, why) a verdict accepts
ACCEPTED = [("passed", 0.0, None), ("passed", 0.999, None), ("passed", math.nextafter(1.0, 0), None),
            ("failed", 1.001, "why"), ("failed", 40.0, "why"), ("failed", None, "no finite value"),
            ("inconclusive", 1.5, "why"), ("inconclusive", None, "too few points"),
            ("not-applicable", None, "does not apply")]
#: (status, margin, why) a verdict refuses, each the failure of one accepted case
REFUSED = [("passed", 1.0, None), ("passed", 1.2, None), ("passed", None, None), ("passed", 0.5, "why"),
           ("failed", 1.0, "why"), ("failed", 0.5, "why"), ("failed", 2.0, None), ("failed", 2.0, "  "),
           ("inconclusive", 1.0, "why"), ("inconclusive", 0.9, "why"), ("inconclusive", None, None),
           ("not-applicable", 0.5, "does not apply"), ("not-applicable", None, None)]


@pytest.mark.parametrize("status,margin,why", ACCEPTED)
def test_a_verdict_accepts_a_key_that_agrees_with_its_status(status, margin, why):
    v = _verdict(status, margin, why)
    _consistent(v.key, v.status)
    _consistent(v.as_dict()["key"], v.as_dict()["status"])


@pytest.mark.parametrize("status,margin,why", REFUSED)
def test_a_verdict_refuses_a_key_that_contradicts_its_status_and_names_the_claim(status, margin, why):
    with pytest.raises(ValueError, match="X-synthetic"):
        _verdict(status, margin, why)
    with pytest.raises(AssertionError):
        _consistent(key_number("a quantity", 2.0, 1.0, margin, why), status)


@pytest.mark.parametrize("margin", [-0.1, float("inf"), float("nan"), True, "0.5"])
def test_a_verdict_refuses_a_margin_that_is_not_a_finite_number(margin):
    key = {"quantity": "q", "measured": 1.0, "predicted": None, "margin": margin, "why": "why"}
    with pytest.raises(ValueError, match="X-odd"):
        Verdict("failed", None, None, None, key=key, claim="X-odd")


def test_key_number_reports_a_margin_that_is_not_finite_as_none_and_a_verdict_without_key_is_unchecked():
    assert key_number("q", 1.0, None, float("inf"), "why")["margin"] is None
    assert key_number("q", 1.0, None, float("nan"), "why")["margin"] is None
    assert _verdict("failed", float("inf")).key["margin"] is None
    Verdict("passed", None, None, None)


def test_a_check_that_passes_while_its_control_does_not_fail_is_inconclusive_with_no_margin():
    """The runner turns such a verdict inconclusive; its key then drops the margin (the verdict rests on the
    control, which the margin does not measure) and says why."""
    from types import SimpleNamespace

    from verify.registry import Claim
    from verify.runner import _one

    passing = lambda ctx: _verdict("passed", 0.25, None, None)    # noqa: E731 - a one-line synthetic check
    claim = Claim("X-synthetic", "a synthetic claim", "multistage", "D1", passing, passing, "the same check")
    paper = SimpleNamespace(label="check", heuristic_label="measurement")
    saved = REGISTRY.get("X-synthetic")
    REGISTRY["X-synthetic"] = claim
    try:
        verdict, _ = _one(paper, object(), "X-synthetic")
    finally:
        del REGISTRY["X-synthetic"]
        if saved is not None:
            REGISTRY["X-synthetic"] = saved
    assert verdict["status"] == Status.INCONCLUSIVE
    assert verdict["key"]["margin"] is None and "negative control did not fail" in verdict["key"]["why"]
    _consistent(verdict["key"], verdict["status"])


@pytest.mark.parametrize("margin,text", [(0.5, "0.5"), (2.0, "2"), (1.0, "1"), (0.123456, "0.123"),
                                          (0.9996, "0.9996"), (1.0004, "1.0004"), (0.999996, "0.999996"),
                                          (math.nextafter(1.0, 0), "< 1"), (math.nextafter(1.0, 2), "> 1"),
                                          (1e-7, "1e-07"), (2e6, "2e+06")])
def test_the_summary_shows_a_margin_that_is_not_1_as_not_1(margin, text):
    assert format_margin(margin) == text
