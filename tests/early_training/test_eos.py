"""E2-edge-of-stability at the quick profile: the check on the run, its failing controls, the inconclusive case."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from theory.early_training import critical_constants as theory
from theory.errors import InputError
from verify.early_training.claims import critical_constants as claims
from verify.early_training.context import Context
from verify.early_training.eos import EoSSetup
from verify.registry import REGISTRY

from key_rules import assert_key_consistent


@pytest.fixture(scope="module")
def ctx():
    return Context.make("quick", seed=0)


@pytest.fixture(scope="module")
def verdict(ctx):
    return REGISTRY["E2-edge-of-stability"].check(ctx)


def test_the_claim_passes_or_reports_its_measurement(verdict, ctx):
    # a measurement: at quick the measured run reaches the threshold and stays in the band (passed); any other
    # outcome must still report every seed's ratios
    assert verdict.status in ("passed", "inconclusive", "failed")
    row = verdict.measured["rows"][0]
    assert len(row["ratio"]) == ctx.profile.eos_steps // ctx.profile.eos_every + 1
    assert row["initial_ratio"] == pytest.approx(ctx.profile.eos_c / 2, rel=1e-9)
    assert verdict.status == "passed", verdict.measured
    assert row["first_reached_step"] > 0 and row["max_ratio"] >= claims.EOS_REACH_FRACTION
    assert verdict.tolerance.justification and verdict.seeds == ctx.seeds("eos", 1)
    assert_key_consistent(verdict.key, verdict.status, "E2-edge-of-stability")
    assert verdict.key["counts"] == {"met": 1, "total": 1, "unit": "seeds", "allowed": 0,
                                     "worst": pytest.approx(row["used_fraction"])}
    assert row["used_fraction"] <= 1


def test_the_registered_control_fails(ctx):
    bad = REGISTRY["E2-edge-of-stability"].negative_control(ctx)
    assert bad.status == "failed", bad.measured
    assert bad.predicted["gamma"] == 0.5
    # the same run: the threshold 3/eta is 1.5 x the derived one
    good = REGISTRY["E2-edge-of-stability"].check(ctx)
    assert bad.predicted["thresholds"][0] == pytest.approx(1.5 * good.predicted["thresholds"][0], rel=1e-12)


def test_a_threshold_half_as_large_fails_by_the_band(ctx):
    bad = claims.check_eos(ctx, theory.SHARPNESS_EOS / 2)
    # the run starts at 1.8 x this threshold, beyond the band: judged (failed), not inconclusive
    assert bad.status == "failed"
    assert bad.measured["rows"][0]["starts_at_edge"] is False
    assert_key_consistent(bad.key, bad.status, "E2-edge-of-stability (threshold / 2)")
    assert bad.measured["rows"][0]["used_fraction"] > 1
    assert bad.measured["rows"][0]["last_part_min_ratio"] > 1 + claims.EOS_BAND


def test_a_run_that_starts_at_the_threshold_is_inconclusive():
    p = dataclasses.replace(Context.make("quick").profile, eos_c=1.95, eos_steps=10, eos_every=5)
    short = Context(p)
    v = claims.check_eos(short)
    assert v.status == "inconclusive"
    assert v.measured["rows"][0]["starts_at_edge"] is True
    # the verdict rests on the start, not on the count: a margin above 1 or none, and why says the run starts there
    assert_key_consistent(v.key, v.status, "E2-edge-of-stability (short run)")
    assert "starts within the band" in v.key["why"]


def test_the_first_sample_is_lambda0_and_sharpness_is_finite(ctx):
    run = ctx.eos_run(ctx.eos_setups()[0])
    assert run.sharpness[0] == run.lambda0 and run.steps_measured[0] == 0
    assert np.all(np.isfinite(run.sharpness)) and run.converged and not run.diverged
    assert run.eta == pytest.approx(ctx.profile.eos_c / run.lambda0)


@pytest.mark.parametrize("field,value", [("c", 0.0), ("every", 0), ("steps", -1), ("gamma", 1.0), ("width", 0)])
def test_bad_settings_raise_one_line_input_errors(field, value):
    kw = {"depth": 3, "width": 64, field: value}
    with pytest.raises(InputError) as err:
        EoSSetup(**kw)
    assert field in str(err.value) and "\n" not in str(err.value)


_CLOCK_WORDS = ("second", "wall", "elapsed", "duration", "timestamp", "date")


def _clock_keys(value, path=""):
    if isinstance(value, dict):
        return [f"{path}.{k}" for k in value if any(w in str(k).lower() for w in _CLOCK_WORDS)] + [
            p for k, v in value.items() for p in _clock_keys(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _clock_keys(v, f"{path}[{i}]")]
    return []


def test_the_verdict_holds_no_clock_reading(verdict):
    # the same seed must give the same report.json: seconds spent belong in timing.json
    from verify.output import jsonable

    assert _clock_keys(jsonable(verdict.as_dict())) == []
    assert _clock_keys({"rows": [{"seconds": 1.0}]}) == [".rows[0].seconds"]      # control: a clock key is seen
