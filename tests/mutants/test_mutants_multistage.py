"""Mutation tests of the multistage claims: a plausible bug in the measurement must turn a passing claim to failed.

Each test first checks that the unmutated claim passes in the quick run (the module's :class:`Baseline`), then
writes one bug into the measurement path (the simulation, the event location, the observables, the check's
windows and fits: never the derived prediction) and runs the claim again.  Mutants that change only what is
computed from the simulations reuse the baseline's runs (:meth:`Baseline.derive`); those that change a simulation
run on a fresh context.  See README.md for the table and the findings.
"""
from __future__ import annotations

import pytest

import verify.engines.descent as descent
import verify.multistage.engine.events as events
import verify.engines.flow as flow
import verify.multistage.engine.kernels as kernels
import verify.multistage.initialisation as initialisation
import verify.multistage.observables as observables
import verify.multistage.simulation as simulate_module
import verify.multistage.claims.balance as balance
import verify.multistage.claims.critical_point as critical_point
import verify.multistage.claims.descent_time as descent_time
import verify.multistage.claims.gradient_flow as gradient_flow
import verify.multistage.claims.higher_order as higher_order
import verify.multistage.claims.initial_plateau as initial_plateau
import verify.multistage.claims.linearized_flow as linearized_flow
import verify.multistage.claims.secondary_plateau as secondary_plateau
import verify.multistage.claims.taylor as taylor

from verify.registry import REGISTRY, Status

from mutation import Baseline, MutantSurvived, assert_baseline, assert_caught, context, mutate

PAPER = "multistage"

#: the event time of the flow: the root of the event function on the solver's dense output
BRENTQ = ("root = brentq(lambda s: ev.fn(s, dense(s)), t_old, t_new, xtol=1e-14 * max(1.0, t_new),\n"
          "                                  rtol=4 * np.finfo(float).eps)")


@pytest.fixture(scope="module")
def base():
    return Baseline(PAPER)


def test_D1_catches_a_forward_difference_for_the_central_one(base, monkeypatch):
    """The finite-difference gradient taken one-sided: O(h) truncation error instead of O(h^2)."""
    assert_baseline(base, "D1-gradient-flow")
    mutate(monkeypatch, gradient_flow._check,
           "-(kernel.loss(theta + h * e) - kernel.loss(theta - h * e)) / (2 * h)",
           "-(kernel.loss(theta + h * e) - kernel.loss(theta)) / h")
    assert_caught(base.derive("D1-gradient-flow"), "D1-gradient-flow")


def test_D2_catches_remainders_evaluated_at_float64_precision(base, monkeypatch):
    """The remainders sigma(s) - s evaluated at 15 digits instead of 50: cancellation near s = 0."""
    assert_baseline(base, "D2-taylor-remainder")
    mutate(monkeypatch, taylor._check, "mpmath.workdps(50)", "mpmath.workdps(15)")
    assert_caught(base.derive("D2-taylor-remainder"), "D2-taylor-remainder")


def test_D3_catches_a_transposed_reshape_of_the_w_field(base, monkeypatch):
    """The W part of the field reshaped (d, m) and transposed instead of (m, d): rows of different neurons mixed."""
    assert_baseline(base, "D3-higher-order-bound")
    mutate(monkeypatch, higher_order._check, "f[m:].reshape(m, d)", "f[m:].reshape(d, m).T")
    assert_caught(base.derive("D3-higher-order-bound"), "D3-higher-order-bound")


def test_D3_catches_A_built_from_the_unit_vector_of_z(base, monkeypatch):
    """The linear part A q_k subtracted with z / |z| in place of z: a linear term (|z| - 1) q_k is left in N_k,
    which stays within the loose bound (a ratio of 0.35 at t = 0, where q_max is smallest) but is not of the
    bound's order: the ratio falls like q_max^-2 as q_max grows, and the order check sees it."""
    assert_baseline(base, "D3-higher-order-bound")
    mutate(monkeypatch, higher_order._check, "z = config.dataset.z\n", "z = config.dataset.z / config.dataset.z_norm\n")
    ctx = base.derive("D3-higher-order-bound")
    verdict = REGISTRY["D3-higher-order-bound"].check(ctx)
    # the bound itself still holds under the bug: only the order resolves it
    assert verdict.measured["max_ratio"] < 1, verdict.measured
    assert_caught(ctx, "D3-higher-order-bound")


def test_D4_catches_the_end_state_read_one_recording_early(base, monkeypatch):
    """The simulated state compared with the linear map at t = 1 is the recording before the last (t = 0.9)."""
    assert_baseline(base, "D4-linearized-flow")
    mutate(monkeypatch, linearized_flow._sweep, "traj.split(traj.theta[-1])", "traj.split(traj.theta[-2])")
    assert_caught(base.derive("D4-linearized-flow"), "D4-linearized-flow")


def test_D5_catches_a_gradient_field_twice_too_large(monkeypatch, base):
    """The kernel's field returned doubled (the risk without its 1/2): the flow runs at twice the speed and q_max
    grows at 2|z|, above the bound's rate |z| + eps (eps = 5 % of |z| on the lemma's window).  Before D5 fixed eps
    first and tested every stretch, its eps came out at about 100 |z| and this bug passed."""
    assert_baseline(base, "D5-growth-lemma")
    mutate(monkeypatch, kernels.NumpyKernel.loss_and_field, "return self._run(theta, True)",
           "loss, field = self._run(theta, True)\n    return loss, 2 * field")
    ctx = context(PAPER)
    # the bug is real: the higher-order bound sees it (a plain assertion, not the xfail's MutantSurvived)
    assert REGISTRY["D3-higher-order-bound"].check(ctx).status is Status.FAILED
    assert_caught(ctx, "D5-growth-lemma")


def test_D6_catches_the_plateau_window_reversed(base, monkeypatch):
    """sup |R - R(0)| taken over t >= T_p (the descent) instead of t <= T_p."""
    # the check passes at quick (interval below -0.8); the claim is inconclusive by its unrefuted calibrated
    # control (a recorded finding about its resolution), so the baseline is the check's own verdict
    assert_baseline(base, "D6-initial-plateau", Status.PASSED)
    mutate(monkeypatch, initial_plateau._check, "sel = traj.t <= T_p", "sel = traj.t >= T_p")
    assert_caught(base.derive("D6-initial-plateau"), "D6-initial-plateau")


def test_D6_T_p_catches_q_max_without_the_output_weights(base, monkeypatch):
    """q_max read from the input weights alone (|w_k| instead of |q_k| = |(a_k, w_k)|): q_max comes out about
    1/sqrt(2) too small on the plateau, so it reaches m^(-alpha_1) later than the linear flow of q says."""
    assert_baseline(base, "D6-T-p")
    mutate(monkeypatch, observables._record, "out[\"q_max\"][i] = norms.max()", "out[\"q_max\"][i] = wn.max()")
    assert_caught(context(PAPER), "D6-T-p")


def test_D7_linear_law_catches_the_plateau_window_running_to_t_half(base, monkeypatch):
    """The plateau window ends where K reaches 1/2 instead of 2 %: the window runs into the nonlinear descent."""
    assert_baseline(base, "D7-w2rel-linear-law")
    mutate(monkeypatch, balance._plateau_window, "K >= K_LINEAR", "K >= 0.5", count=2)
    assert_caught(base.derive("D7-w2rel-linear-law"), "D7-w2rel-linear-law")


def test_D7_population_catches_tau_measured_without_the_factor_z(base, monkeypatch):
    """tau = |z| t taken as t: the simulated W2rel compared with the law at the wrong tau."""
    assert_baseline(base, "D7-w2rel-population")
    mutate(monkeypatch, balance._population_check, "taus, sim = zn * traj.t[sel]", "taus, sim = traj.t[sel]")
    assert_caught(base.derive("D7-w2rel-population"), "D7-w2rel-population")


def test_D7_asymptotic_rate_catches_the_slope_fitted_against_tau(base, monkeypatch):
    """log W2rel fitted against tau = |z| t while the derived log-slope is per unit time."""
    assert_baseline(base, "D7-w2rel-asymptotic-rate")
    mutate(monkeypatch, balance._rate_check, 'fit = fit_slope(t[sel], np.log(obs["W2rel"][sel]))',
           'fit = fit_slope(zn * t[sel], np.log(obs["W2rel"][sel]))')
    assert_caught(base.derive("D7-w2rel-asymptotic-rate"), "D7-w2rel-asymptotic-rate")


def test_D7_amplitudes_similar_catches_the_window_starting_at_0_not_T_p(base, monkeypatch):
    """max W2rel taken on [0, T_d] instead of [T_p, T_d]: the unbalanced initialisation enters."""
    assert_baseline(base, "D7-amplitudes-similar")
    mutate(monkeypatch, balance._similar_check, "sel = (traj.t >= T_p) & (traj.t <= T_d)", "sel = traj.t <= T_d")
    assert_caught(base.derive("D7-amplitudes-similar"), "D7-amplitudes-similar")


def test_D7_amplitudes_similar_catches_the_law_read_at_tau_equal_to_t(base, monkeypatch):
    """The law compared with the maximum at tau = t instead of tau = |z| t (|z| = 0.78): the maxima stay far
    below the threshold 0.1, so only the law's part of the claim can see the bug."""
    assert_baseline(base, "D7-amplitudes-similar")
    mutate(monkeypatch, balance._similar_check, "np.array([zn * traj.t[i]])", "np.array([traj.t[i]])")
    ctx = base.derive("D7-amplitudes-similar")
    verdict = REGISTRY["D7-amplitudes-similar"].check(ctx)
    assert max(verdict.measured["max_W2rel_per_seed"]) < 0.1, verdict.measured
    assert_caught(ctx, "D7-amplitudes-similar")


def test_D8_D9_D10_catch_K_normalised_by_z_instead_of_z_Sigma_inv_z(base, monkeypatch):
    """K = beta.z / sqrt(z^T Sigma^-1 z) (|z| on whitened data) instead of beta.z / z^T Sigma^-1 z, in the
    observable and in the events alike: K is off by 1/|z|, so the logistic curve, t_half, the plateau K and the
    loss along R(K) all move.  One simulation of the five seeds serves the four claims."""
    claims = ["D8-logistic-K", "D9-t-half", "D10-plateau-loss", "D10-plateau-shift"]
    assert_baseline(base, claims)
    mutate(monkeypatch, events.k_of_theta, "return float(a @ (W @ z)) / zSz",
           "return float(a @ (W @ z)) / np.sqrt(zSz)")
    assert_caught(context(PAPER), claims)


def test_D9_t_half_catches_a_half_step_late_crossing(base, monkeypatch):
    """The K = 1/2 crossing stamped half a solver step after the root of the event function."""
    assert_baseline(base, "D9-t-half")
    mutate(monkeypatch, flow.integrate_flow, BRENTQ, BRENTQ + " + (t_new - t_old) / 2")
    assert_caught(context(PAPER), "D9-t-half")


def test_D9_slopes_catch_the_mean_T_d_summed_over_seeds(base, monkeypatch):
    """The mean T_d of each sweep point accumulated without dividing by the number of seeds (2 at the quick
    profile): every slope doubles."""
    claims = ["D9-slope-alpha", "D9-slope-log-m"]
    assert_baseline(base, claims)
    mutate(monkeypatch, descent_time._mean_T_d, "return float(np.mean(values)), pred, seeds",
           "return float(np.sum(values)), pred, seeds")
    for cid in claims:
        assert_caught(base.derive(cid), cid)


def test_D9_slopes_catch_the_initial_variance_passed_as_the_standard_deviation(base, monkeypatch):
    """The initialisation drawn with standard deviation m^(-2 alpha), its variance, instead of m^(-alpha): K0
    scales like m^(1 - 4 alpha) and both slopes of T_d double (the predictions of D8 and D9-t-half, made from the
    same initial parameters, follow the bug; the slopes, derived in closed form, do not)."""
    claims = ["D9-slope-alpha", "D9-slope-log-m"]
    assert_baseline(base, claims)
    mutate(monkeypatch, initialisation.initial_parameters, "scale = float(width) ** (-alpha)",
           "scale = float(width) ** (-2 * alpha)")
    assert_caught(context(PAPER), claims)


@pytest.mark.xfail(strict=True, raises=MutantSurvived,
                   reason="finding: under the interval rule (issue 19) the mutant's slope 0.862 has the 95 % interval "
                          "[0.702, 1.023], which straddles the band's upper edge 0.730 at the quick profile: "
                          "inconclusive, not failed (README.md)")
def test_D9_slope_log_m_catches_T_d_read_at_delta_001_not_01(base, monkeypatch):
    """The run of each sweep point rebuilt without the sweep's delta = 0.1: T_d is read at K = 0.99, where the
    O(1/m) shift of the plateau biases it by a width-dependent amount."""
    assert_baseline(base, "D9-slope-log-m")
    mutate(monkeypatch, descent_time._mean_T_d,
           'config = ctx.config(train={"seed": seed, "t_max": horizon}, model=over.get("model", {}), analysis=analysis)',
           'config = ctx.config(train={"seed": seed, "t_max": horizon}, model=over.get("model", {}))')
    assert_caught(base.derive("D9-slope-log-m"), "D9-slope-log-m")


def test_D9_gd_rate_catches_the_crossing_stamped_at_the_next_iterate(base, monkeypatch):
    """Under gradient descent the crossing of K = 1/2 stamped at the iterate after it, without interpolation."""
    assert_baseline(base, "D9-gd-rate")
    mutate(monkeypatch, descent.run_descent, "hits[ev.name].append((t + w * eta, (1 - w) * theta + w * new_theta))",
           "hits[ev.name].append((t + eta, new_theta))")
    assert_caught(context(PAPER), "D9-gd-rate")


def test_D10_plateau_loss_catches_losses_recorded_one_state_behind(base, monkeypatch):
    """Each recorded loss evaluated at the previous recording's state: R(t) lags K(t) by one recording."""
    assert_baseline(base, "D10-plateau-loss")
    mutate(monkeypatch, flow.integrate_flow, "losses.append(side.submit(twin.loss, states[-1]))",
           "losses.append(side.submit(twin.loss, states[-2]))")
    assert_caught(context(PAPER), "D10-plateau-loss")


def test_D10_plateau_shift_catches_the_plateau_K_read_at_the_steepest_point(base, monkeypatch):
    """The plateau K read where |dK/dt| is largest (argmax for argmin): at T_d, K = 1 - delta."""
    assert_baseline(base, "D10-plateau-shift")
    mutate(monkeypatch, critical_point.plateau_K, "int(np.argmin(slope))", "int(np.argmax(slope))")
    assert_caught(base.derive("D10-plateau-shift"), "D10-plateau-shift")


def test_D10_descent_time_catches_the_event_level_1_minus_2_delta(base, monkeypatch):
    """The simulator records (and the summary reads) the crossing of K = 1 - 2 delta as T_d: the descent time is
    read about log(2) / (2|z|) early (6 % at delta = 0.01)."""
    assert_baseline(base, "D10-descent-time")
    mutate(monkeypatch, simulate_module.integrate, "delta = config.analysis.delta", "delta = 2 * config.analysis.delta")
    mutate(monkeypatch, simulate_module.measure, "delta = config.analysis.delta", "delta = 2 * config.analysis.delta")
    assert_caught(context(PAPER), "D10-descent-time")


def test_D11_catches_the_escape_read_at_the_last_recording_below_the_level(base, monkeypatch):
    """The escape taken as the last recording at least 5 % below the plateau (flatnonzero(...)[-1]) instead of
    the first: every escaped run's duration becomes t_max - T_d, which shrinks as m grows."""
    assert_baseline(base, "D11-secondary-plateau")
    mutate(monkeypatch, secondary_plateau.escape_index, "return int(np.argmax(after)) if np.any(after) else None",
           "return int(np.flatnonzero(after)[-1]) if np.any(after) else None")
    assert_caught(base.derive("D11-secondary-plateau"), "D11-secondary-plateau")


def test_D11_catches_the_escape_level_taken_from_the_initial_loss(base, monkeypatch):
    """The escape level taken 5 % below the initial loss instead of the plateau loss: the 'escape' is then the
    first recording after T_d and every duration lies in (0, 0.32], the recording interval.  Before D11 required
    every plateau to outlast its own descent (T_d - t_half, about 2 to 2.6 here), the exponent of these
    grid-phase durations came out 0.37 with a 95 % interval [0.04, 0.70] and the claim passed (a strict xfail)."""
    assert_baseline(base, "D11-secondary-plateau")
    mutate(monkeypatch, secondary_plateau.escape_index, 'T_d, P = meas["T_d"]["value"], meas["plateau_loss"]',
           'T_d, P = meas["T_d"]["value"], float(traj.loss[0])')
    assert_caught(base.derive("D11-secondary-plateau"), "D11-secondary-plateau")
