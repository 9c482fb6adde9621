"""E2 claims at the quick profile on one shared context: every claim passes and every negative control fails."""
from __future__ import annotations

import pytest

from verify.early_training._context import Context
from verify.registry import REGISTRY, claims_of

from key_rules import assert_key_consistent

E2_CLAIMS = [cid for cid in claims_of("early-training") if cid.startswith("E2-")]


@pytest.fixture(scope="module")
def ctx():
    return Context.make("quick", seed=0)


def test_the_e2_claims_are_registered():
    assert set(E2_CLAIMS) == {"E2-ordering", "E2-c-loss-tends-to-2", "E2-zero-last-layer", "E2-c-max",
                              "E2-edge-of-stability"}
    assert all(REGISTRY[c].derivation == "E2" for c in E2_CLAIMS)
    assert {REGISTRY[c].group for c in E2_CLAIMS} == {"deep", "eos"}


@pytest.mark.parametrize("claim_id", E2_CLAIMS)
def test_claim_passes_and_its_control_fails(ctx, claim_id):
    claim = REGISTRY[claim_id]
    good, bad = claim.check(ctx), claim.negative_control(ctx)
    assert good.status == "passed", good.measured
    assert bad.status == "failed", bad.measured
    assert good.tolerance.justification and good.seeds
    assert good.key is not None and bad.key is not None, claim_id
    assert_key_consistent(good.key, good.status, claim_id)
    assert_key_consistent(bad.key, bad.status, f"{claim_id} (negative control)")
    assert bad.key["margin"] is None or bad.key["margin"] > 1


def test_measured_rows_report_runs_and_monotonicity(ctx):
    rows = REGISTRY["E2-ordering"].check(ctx).measured["rows"]
    assert len(rows) == len(ctx.deep_setups())
    for r in rows:
        assert r["training_runs"] > 0 and r["lambda0"] > 0
        assert all(r[f"{n}_flags"]["runs"] > 0 for n in ("c_loss", "c_sharp", "c_max"))


def test_the_fit_of_c_loss_minus_2_has_a_positive_exponent(ctx):
    v = REGISTRY["E2-c-loss-tends-to-2"].check(ctx)
    assert v.predicted["limit"] == 2.0
    assert v.measured["c_loss"]["exponent_interval"][0] > 0
