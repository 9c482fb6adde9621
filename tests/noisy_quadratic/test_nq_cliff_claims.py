"""Q3's post-cut claims (Q3-lambda-max-rise, Q3-loss-cliff, Q3-loss-drop) on a small cliff set-up, and the
measurement helpers of _cuts.py on data with known answers."""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from theory.bridge import numeric
from theory.errors import InputError
from theory.noisy_quadratic import momentum as q2
from verify.noisy_quadratic import cuts as cuts
from verify.noisy_quadratic.claims import spectrum as q3
from verify.noisy_quadratic.context import Context
from verify.noisy_quadratic.spectrum_setup import CliffSetup, SpectrumSetup
from verify.registry import REGISTRY, Status, load_papers

from key_rules import assert_key_consistent

load_papers()
#: a narrow network (682 parameters) through one cut: 400 steps a phase, the ends measured every 10 steps
SMALL = CliffSetup(width=8, lrs=(0.1, 0.01), steps=(400, 400), every=100, end_every=10, after=(30,))
IDS = ("Q3-lambda-max-rise", "Q3-loss-cliff", "Q3-loss-drop")


@pytest.fixture(scope="module")
def ctx():
    c = Context.make("quick")
    c.profile = dataclasses.replace(
        c.profile, cliff=SMALL, drop_cuts=None,
        spectrum=SpectrumSetup(width=8, steps=100, drops=(50, 75), checkpoints=(50, 100), k=3),
        edge=SpectrumSetup(width=8, lr=0.2, batch_size=1797, steps=60, drops=(20, 40), checkpoints=(60,)))
    return c


# ---------------------------------------------------------------------------------------------- the helpers


def test_welch_rise_of_two_known_windows():
    before, after = np.array([1.0, 2.0, 3.0]), np.array([5.0, 6.0, 7.0, 8.0])
    w = cuts.welch_rise(before, after)
    assert w["rise"] == pytest.approx(6.5 - 2.0, rel=1e-15)
    se2 = 1.0 / 3 + (5.0 / 3) / 4                 # sample variances 1 and 5/3 over their counts
    lo, hi = w["interval"]
    assert (hi - lo) / 2 > 2 * math.sqrt(se2) and lo > 0          # t quantile above 2 at a few degrees of freedom
    flat = cuts.welch_rise([1.0, 1.0], [2.0, 2.0])
    assert flat["interval"] == [1.0, 1.0]
    with pytest.raises(InputError):
        cuts.window([1.0])


def test_trend_recovers_a_line_and_its_prediction():
    x = np.arange(10.0)
    y = 3.0 - 0.5 * x + np.array([0.1, -0.1] * 5)
    line = cuts.trend(x, y, 20.0)
    assert line["slope"] == pytest.approx(-0.5, abs=0.05)
    assert line["prediction_interval"][0] < line["value"] < line["prediction_interval"][1]
    assert line["value_se"] < (line["prediction_interval"][1] - line["value"])


def test_fall_below_trend_corrects_a_resolved_drift_only():
    steps = np.array([60, 70, 80, 90, 100, 110, 120, 130], float)
    drifting = np.array([1.0, 0.99, 0.98, 0.97, 0.96, 0.95, 0.94, 0.93]) + np.array([1, -1] * 4) * 1e-4
    f = cuts.fall_below_trend(steps, drifting, 0, 100, [110, 120, 130])
    assert f["trend_model"] == "line" and abs(f["fall"]) < 1e-3          # the drift continued: no fall
    noisy = np.array([1.0, 1.1, 0.9, 1.05, 0.95, 0.5, 0.5, 0.5])
    g = cuts.fall_below_trend(steps, noisy, 0, 100, [110, 120, 130])
    # the plateau is the last quarter (steps 80, 90, 100): mean (0.9 + 1.05 + 0.95) / 3
    assert g["trend_model"] == "mean" and g["fall"] == pytest.approx(2.9 / 3 - 0.5, abs=1e-12) and g["interval"][0] > 0


def test_preconditions_name_the_failing_one():
    steps = np.arange(0, 101, 10.0)
    plateau = cuts.preconditions(steps, 0.7 + 0.01 * (-1) ** np.arange(11), 0, 100)
    assert plateau["holds"] and plateau["reason"] is None
    low = cuts.preconditions(steps, np.full(11, 0.03) + 1e-4 * (-1) ** np.arange(11), 0, 100, accuracy=0.995)
    assert not low["holds"] and "below" in low["reason"] and "memorised" in low["reason"]
    falling = cuts.preconditions(steps, 1.0 - 0.01 * steps, 0, 100)
    assert not falling["stationary"] and "not stationary" in falling["reason"]


def test_floor_is_linear_in_the_noise_variance():
    """check_drop scales the floor at sigma = 1 by sigma^2: the exact floor is proportional to sigma^2."""
    assert q2.STATIONARY_LOSS.subs(q2.sigma, 3) / q2.STATIONARY_LOSS.subs(q2.sigma, 1) == 9
    floor = numeric(q2.STATIONARY_LOSS, (q2.alpha, q2.lam, q2.sigma, q2.gamma))
    assert float(floor(0.1, 1.0, 0.5, 0.9)) == pytest.approx(0.25 * float(floor(0.1, 1.0, 1.0, 0.9)), rel=1e-14)


# ----------------------------------------------------------------------------------------------- the claims


@pytest.mark.parametrize("cid", IDS)
def test_claim_and_controls(ctx, cid):
    claim = REGISTRY[cid]
    assert claim.heuristic and claim.calibrated_control is not None
    v, bad = claim.check(ctx), claim.negative_control(ctx)
    assert v.status in (Status.PASSED, Status.FAILED, Status.INCONCLUSIVE)
    assert bad.status is Status.FAILED
    assert_key_consistent(v.key, v.status, cid)
    assert_key_consistent(bad.key, bad.status, f"{cid} (negative control)")
    assert v.resolution["value"] > 0 and v.range["seeds"] == ["0:0", "0:1", "0:2"]
    rows = v.measured["cuts"]
    assert len(rows) == 3 and all(r["cut"] == 400 for r in rows)
    assert v.details["other_setups"] and len(v.details["preconditions"]) == 3


def test_rise_rows_are_the_end_windows(ctx):
    v = REGISTRY["Q3-lambda-max-rise"].check(ctx)
    run = ctx.cliff_run(0)
    row = next(r for r in v.measured["cuts"] if r["seed"] == 0)
    assert row["before"]["mean"] == pytest.approx(run.lambda_max[run.in_phase(0)].mean(), rel=1e-15)
    assert row["after"]["mean"] == pytest.approx(run.lambda_max[run.in_phase(1)].mean(), rel=1e-15)
    thr = numeric(q3.theory.SHARPNESS_THRESHOLD, (q3.theory.alpha, q3.theory.gamma))
    phase = v.measured["phases"][0]
    assert phase["threshold"] == pytest.approx(float(thr(0.1, 0.9)), rel=1e-15)


def test_drop_sums_the_floors_of_every_positive_direction(ctx):
    v = REGISTRY["Q3-loss-drop"].check(ctx)
    row = v.measured["cuts"][0]
    run = ctx.cliff_run(0)
    spec = run.spectrum(400)
    positive = int((spec.values > q3.POSITIVE_ROUNDOFF * abs(spec.values).max()).sum())
    assert row["positive_directions"] == positive and row["positive_directions"] + row["nonpositive_directions"] == 682
    assert row["predicted_drop"] == pytest.approx(row["predicted_drop_relaxing"] + row["predicted_drop_not_relaxing"],
                                                  rel=1e-12)
    assert 0 < row["predicted_drop"] < row["floor_sum"]           # floors fall with the learning rate
    lo, hi = row["floor_sum_interval_95"]
    assert lo <= row["floor_sum"] * 1.5 and hi >= row["floor_sum"] * 0.5


def test_not_applicable_when_the_loss_is_not_stationary(ctx):
    """The same runs with the loss of seed 1 replaced by one that still falls 40 % over each phase's last quarter:
    the post-cut claims do not apply, with the measured reason."""
    c = dataclasses.replace(ctx)
    c._runs = dict(ctx._runs)
    run = ctx.cliff_run(1)
    falling = dataclasses.replace(run, loss=2.0 * np.exp(-run.steps / 200.0))
    c._runs[("cliff", SMALL, 1)] = falling
    for cid in IDS:
        v = REGISTRY[cid].check(c)
        assert v.status is Status.NOT_APPLICABLE and "seed 1" in v.key["why"] and "not stationary" in v.key["why"]
        assert_key_consistent(v.key, v.status, f"{cid} (not applicable)")


def test_expectations_are_recorded_for_the_measured_findings():
    assert REGISTRY["Q3-loss-drop"].expected("quick")["status"] == "failed"
    assert REGISTRY["Q3-loss-cliff"].expected("default")["status"] == "failed"
    assert REGISTRY["Q3-lambda-max-rise"].expected("quick")["status"] == "passed"


def test_the_cliff_group_is_submitted_first(tmp_path):
    """The q3-cliff group (three trainings and nine dense spectra, by far the paper's heaviest) goes to the pool
    before the light groups, the derivation texts and the figures."""
    import shutil

    from verify.registry import claims_of
    from verify.runner import _group, _PaperRun, _submit_longest_first, group_cost, groups_of

    ids = claims_of("noisy-quadratic")
    run = _PaperRun("noisy-quadratic", ids, profile="quick", seed=0, backend="auto", device="cpu",
                    out_dir=tmp_path / "out", figures=True, progress=lambda *_: None)

    class Pool:
        def __init__(self):
            self.submitted = []

        def submit(self, fn, *args):
            self.submitted.append((fn, args))

    pool = Pool()
    try:
        _submit_longest_first(pool, [run], 1)
    finally:
        shutil.rmtree(run.staging, ignore_errors=True)
    groups = [args[0][0] for fn, args in pool.submitted if fn is _group]
    assert "Q3-lambda-max-rise" in groups[0] and group_cost(groups[0]) > 0
    assert sorted(groups[1:]) == sorted(g for g in groups_of(ids) if "Q3-lambda-max-rise" not in g)
    assert all(group_cost(g) == 0 for g in groups[1:]) and len(pool.submitted) == len(groups) + 2
