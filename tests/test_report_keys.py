"""Every claim's key number: present, consistent with its verdict, and shown in the report's summary table.

A few fast claims of each paper run at the quick profile; their key numbers must name a quantity, carry a
finite measured value and a margin (the used fraction of the tolerance) that is below 1 exactly when the claim
passed, say why when it did not, and appear in the summary table of the rendered Markdown.  The negative
controls construct their verdicts through the same code and must show a margin of at least 1 and a reason.
"""
from __future__ import annotations

import copy
import math

import pytest
from markdown_it import MarkdownIt

from verify.registry import REGISTRY, Status, load_papers
from verify.report import render_markdown, validate_report
from verify.runner import run_paper
from verify.stats import band_margin, fraction_key, fraction_status

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
    """The key's margin is below 1 exactly when the verdict passed; a verdict that did not pass says why."""
    assert isinstance(key["quantity"], str) and key["quantity"].strip(), key
    if key["margin"] is not None:
        assert math.isfinite(key["margin"]) and key["margin"] >= 0, key
        assert (key["margin"] <= 1) == (status == Status.PASSED), (status, key)
    if status == Status.PASSED:
        assert key["why"] is None, key
    else:
        assert isinstance(key["why"], str) and key["why"].strip(), key


def test_every_fast_claim_has_a_key_number_consistent_with_its_status(reports):
    claims = _claims(reports)
    assert set(claims) == set(ALL_FAST)
    for cid, claim in claims.items():
        key = claim.get("key")
        assert key is not None, f"{cid} has no key number"
        assert key["measured"] is not None and math.isfinite(key["measured"]), (cid, key)
        assert key["margin"] is not None, (cid, key)      # each of these claims is judged by a margin rule
        _consistent(key, claim["status"])


def _summary_rows(markdown: str) -> dict:
    """The summary table of a rendered report: claim id -> its cells' text, read with markdown-it."""
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
    return rows


def test_the_summary_table_shows_each_key_number(reports):
    for paper, report in reports.items():
        rows = _summary_rows(render_markdown(report))
        assert rows.pop("claim")[2:6] == ["key quantity", "measured", "predicted", "margin"]
        for claim in report["claims"]:
            cells, key = rows[claim["claim"]], claim["key"]
            assert cells[2] == " ".join(key["quantity"].split()), cells
            assert cells[5] == format(key["margin"], ".3g"), cells
            assert cells[6].startswith(claim["status"]), cells


@pytest.mark.parametrize("paper", list(FAST))
def test_negative_controls_give_a_failing_key_and_the_summary_says_why(reports, paper):
    """The controls' verdicts (same code, wrong prediction) come out failed with margin >= 1 and a reason,
    and a report whose claim is such a verdict shows that reason in its summary row."""
    papers = load_papers()
    ctx = papers[paper].make_context("quick", seed=0, backend="auto", device="cpu")
    report = copy.deepcopy(reports[paper])
    for i, cid in enumerate(FAST[paper]):
        control = REGISTRY[cid].negative_control(ctx).as_dict()
        assert control["status"] == Status.FAILED, (cid, control["key"])
        _consistent(control["key"], control["status"])
        assert control["key"]["margin"] is not None and control["key"]["margin"] > 1, (cid, control["key"])
        report["claims"][i] = {**report["claims"][i], **control}
    report["summary"] = {s: sum(c["status"] == s for c in report["claims"]) for s in report["summary"]}
    validate_report(report)
    rows = _summary_rows(render_markdown(report))
    for claim in report["claims"]:
        status_cell = rows[claim["claim"]][6]
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
