"""Mutation tests of the early-training claims: a plausible bug in the measurement must turn a passing claim to
failed (see tests/mutants/README.md and the module docstring of test_mutants_multistage.py)."""
from __future__ import annotations

import pytest

import verify.early_training.critical as critical
import verify.early_training.claims.critical_constants as constants
from verify.registry import REGISTRY, Status
import verify.early_training.eos as eos
import verify.early_training.uv as uv
import verify.early_training.claims.uv_model as uv_model

from mutation import Baseline, MutantSurvived, assert_baseline, assert_caught, context, mutate

PAPER = "early-training"


@pytest.fixture(scope="module")
def base():
    return Baseline(PAPER)


#: E2-ordering and E2-zero-last-layer do not pass at quick by a recorded finding about the paper (issue 20); their mutants
#: are judged where the paper's statement holds on the same data (the claims' tests show the check passes there and
#: its controls fail), or by whether the finding survives them
WHERE_IT_HOLDS = {"E2-ordering": lambda s: s.depth_over_width <= 1 / 16,
                  "E2-zero-last-layer": lambda s: s.depth_over_width <= 1 / 64}


def _holds(ctx, claim_id):
    """``ctx`` restricted to the set-ups where ``claim_id``'s statement holds at quick."""
    return ctx.restricted(WHERE_IT_HOLDS[claim_id])


def assert_finding_lost(ctx, claim_id) -> None:
    """The mutant hides a recorded finding: the claim's check no longer reaches its expected verdict at quick, so the
    runner reports it against its expectation (the command's exit status is non-zero, CI red)."""
    want = Status(REGISTRY[claim_id].expected("quick")["status"])
    got = REGISTRY[claim_id].check(ctx)
    if got.status is want:
        raise MutantSurvived(f"mutant not caught: {claim_id} still {got.status.value} ({(got.key or {}).get('why')})")


def _constants(*names):
    """Cache keys of the deep set-ups' critical constants ``names`` (recomputed by a mutant of their events)."""
    return lambda key: isinstance(key, tuple) and len(key) == 3 and key[0] == "constant" and key[2] in names


def test_E1_catches_u_and_v_updated_one_after_the_other(base, monkeypatch):
    """Gradient descent on the uv model with v updated from the already updated u (a sequential update instead of
    the simultaneous one): the map's one-step error, the regimes and the c_loss residual all move."""
    claims = ["E1-uv-map", "E1-uv-regimes", "E1-c-loss-finite-width"]
    assert_baseline(base, claims)
    mutate(monkeypatch, uv.gd, "u, v = u - (eta * e / root) * v, v - (eta * e / root) * u",
           "u = u - (eta * e / root) * v\n        v = v - (eta * e / root) * u")
    assert_caught(context(PAPER), claims)


def test_E1_uv_regimes_catches_the_runs_cut_at_the_10_step_horizon(base, monkeypatch):
    """The regime runs made with the default 10 steps instead of the profile's regime_steps: a catapult has not
    come down by then."""
    assert_baseline(base, "E1-uv-regimes")
    mutate(monkeypatch, uv_model.check_regimes, "traj = ctx.run(p.regime_width, seed, cv, 0.0, p.regime_steps)",
           "traj = ctx.run(p.regime_width, seed, cv, 0.0)")
    assert_caught(base.derive("E1-uv-regimes"), "E1-uv-regimes")


def test_E1_c_loss_catches_the_rise_judged_at_the_last_step_only(base, monkeypatch):
    """c_loss found with 'the loss after 10 steps exceeds the initial loss' instead of 'at some step 1..10'."""
    assert_baseline(base, "E1-c-loss-finite-width")
    mutate(monkeypatch, uv.loss_rises, "rises(loss[1:], loss[0], band[1:], band[0])",
           "rises(loss[-1:], loss[0], band[-1:], band[0])")
    ctx = base.derive("E1-c-loss-finite-width", drop=lambda key: isinstance(key, tuple) and key[0] == "c_loss")
    assert_caught(ctx, "E1-c-loss-finite-width")


def test_E2_ordering_catches_the_loss_event_judged_at_the_last_step_only(base, monkeypatch):
    """The deep nets' loss event 'the loss after 10 steps exceeds the initial loss' instead of 'at some step':
    c_loss moves up past c_sharp."""
    assert_baseline(base, "E2-ordering")
    assert_caught(_holds(base.derive("E2-ordering"), "E2-ordering"), "E2-ordering", Status.PASSED)
    mutate(monkeypatch, critical.loss_event, "later = run.losses[1:]", "later = run.losses[-1:]")
    assert_caught(_holds(base.derive("E2-ordering", drop=_constants("c_loss")), "E2-ordering"), "E2-ordering")


def test_E2_ordering_catches_the_sharpness_event_at_ratio_1_25(base, monkeypatch):
    """The sharpness event 'lambda_t / lambda_0 > 1.25' in place of '> 1' (issue 20: it passed every critical-lr
    test and every E2 claim): c_sharp moves up by 20 to 60 %, and the runs at the lower end of its new cell show
    the sharpness above lambda_0, which E2-ordering reads against the paper's event."""
    assert_baseline(base, "E2-ordering")
    mutate(monkeypatch, critical.sharpness_event, "rises(run.sharpness[1:], 1.0, band)",
           "rises(run.sharpness[1:], 1.25, band)")
    assert_caught(_holds(base.derive("E2-ordering", drop=_constants("c_sharp")), "E2-ordering"), "E2-ordering")


def test_E2_ordering_catches_the_grid_factor_put_back(base, monkeypatch):
    """The later constant's cell widened by the old allowed factor 2^(0.1 + resolutions) = 2^0.25 (the rule issue 20
    removed): the reversals c_loss > c_sharp at depth 4, width 32 (factors 1.06 and 1.02) are no longer seen, the
    check passes on the whole quick range, and the recorded finding (expected failed) is lost."""
    assert_baseline(base, "E2-ordering")
    mutate(monkeypatch, constants.pair_order, "b_lo, b_hi = _cell(row, b)",
           "b_lo, b_hi = (x * 2 ** 0.25 for x in _cell(row, b))")
    assert_finding_lost(base.derive("E2-ordering"), "E2-ordering")


def test_E2_c_loss_tends_to_2_catches_d_over_w_computed_as_w_over_d(base, monkeypatch):
    """The abscissa d/w of the fit computed as w/d: the fitted exponent changes sign."""
    # the check passes; the runner reports the claim inconclusive at quick (its calibrated control, the limit
    # raised to 2.46, is not refuted: a recorded finding), so its baseline is the check's own verdict
    assert_baseline(base, "E2-c-loss-tends-to-2", Status.PASSED)
    mutate(monkeypatch, critical.Setup.depth_over_width, "return self.depth / self.width",
           "return self.width / self.depth")
    assert_caught(base.derive("E2-c-loss-tends-to-2"), "E2-c-loss-tends-to-2")


def test_E2_zero_last_layer_catches_the_flag_not_passed_to_the_network(base, monkeypatch):
    """The set-up's zero_last_layer not passed on to the network: the last layer keeps its N(0, 1/fan_in) draw."""
    assert_baseline(base, "E2-zero-last-layer")
    assert_caught(_holds(base.derive("E2-zero-last-layer"), "E2-zero-last-layer"), "E2-zero-last-layer",
                  Status.PASSED)
    mutate(monkeypatch, critical.Problem.__init__,
           "10, s.depth, s.width, zero_last_layer=s.zero_last_layer, dtype=_DTYPES[s.dtype],",
           "10, s.depth, s.width, dtype=_DTYPES[s.dtype],")
    # judged on the whole quick range (expected inconclusive: the departure is unresolved by three seeds): the
    # mutant's departures are resolved beyond the paper's cell there.  At d/w = 1/64 alone its 95 % interval
    # [0.0999, 0.385] only just reaches the cell 0.1 with the shared seed scheme: inconclusive, not failed
    assert_caught(context(PAPER), "E2-zero-last-layer")


def test_E2_zero_last_layer_catches_the_departure_taken_against_ln_of_the_limit(base, monkeypatch):
    """The departure log2(c_loss) - ln(2) (a natural log mixed into the base-2 departure): at d/w = 1/64, where
    c_loss = 2 holds at the paper's resolution (departure 0.06), it reads 0.37, beyond the grid cell 0.1."""
    assert_baseline(base, "E2-zero-last-layer")
    mutate(monkeypatch, constants._departure_points, "- math.log2(limit))", "- math.log(limit))")
    assert_caught(_holds(base.derive("E2-zero-last-layer"), "E2-zero-last-layer"), "E2-zero-last-layer")


@pytest.mark.xfail(strict=True, reason="with the shared seed scheme the lowest deep c_loss at quick (depth 4) lies "
                   "above the uv bound 4 x the resolution, so the pasted event (c_max read as c_loss) still clears "
                   "this lower bound: a validity-only check cannot catch it at quick (it did with the seeds root + 1, "
                   "2, 3, whose lowest deep c_loss lay below)")
def test_E2_c_max_catches_the_c_loss_event_pasted_into_the_c_max_search(base, monkeypatch):
    """The c_max search given the loss event of the line above it (a copy-paste) instead of the divergence
    event: c_max becomes the last c without a loss rise."""
    # the check passes; its controls are not refuted (a bound the data clear by far: a recorded finding)
    assert_baseline(base, "E2-c-max", Status.PASSED)
    mutate(monkeypatch, critical.Problem.constant,
           "boundary(name, told(lambda cs: [divergence_event(r) for r in self.loss_runs(cs)]), search,",
           "boundary(name, told(lambda cs: [loss_event(r) for r in self.loss_runs(cs)]), search,")
    assert_caught(base.derive("E2-c-max", drop=_constants("c_max")), "E2-c-max")


def test_E2_c_max_catches_the_learning_rate_not_divided_by_lambda0(base, monkeypatch):
    """The runs made at eta = c, the division by lambda^H_0 forgotten (the paper's eta = c / lambda^H_0): with
    lambda^H_0 between 8 and 19 for the quick deep set-ups, every c_max reads lambda^H_0 times too low (1.1 to
    3.7), below the uv model's 4."""
    assert_baseline(base, "E2-c-max", Status.PASSED)
    mutate(monkeypatch, critical.Problem.lr, "return float(c) / self.lambda0", "return float(c)")
    # new Problems (their run caches were made at the right rate; the base's must not see the mutant's runs)
    ctx = base.derive("E2-c-max", drop=lambda key: isinstance(key, critical.Setup) or _constants("c_max")(key))
    assert_caught(ctx, "E2-c-max")


def test_E2_edge_of_stability_catches_the_sharpness_taken_at_the_initial_parameters(base, monkeypatch):
    """Every sharpness measurement made on the Hessian at the initial parameters (a stale variable) instead of
    the current ones: the ratio stays at c / 2 = 0.9 of the threshold."""
    assert_baseline(base, "E2-edge-of-stability")
    mutate(monkeypatch, eos.sharpness_run,
           "h = TorchHessian(prob.net.flat_loss(prob.data), prob.net.flatten(params))",
           "h = TorchHessian(prob.net.flat_loss(prob.data), prob.net.flatten(prob.params0))")
    ctx = base.derive("E2-edge-of-stability", drop=lambda key: isinstance(key, tuple) and key[0] == "eos")
    assert_caught(ctx, "E2-edge-of-stability")
