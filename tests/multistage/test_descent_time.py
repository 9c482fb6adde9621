"""D9, the descent time T_d and t_half: derivation identities, symbolic checks of the times and properties."""
from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, note, target
from hypothesis import strategies as st

from theory.derivation import is_zero
from theory.bridge import numeric
from theory.multistage import descent_time, linearized_flow, reduced_dynamics
from theory.multistage.symbols import K0, alpha, delta, eta, m, t, z_norm
from verify.multistage import linear_stage

from strategies import float_function
from symbolic_checks import (NONZERO_FLOOR, assert_every_identity_holds, assert_really_nonzero,
                             assert_records_statement_and_serialises, value_at)

EPS = np.finfo(float).eps

#: Step of the finite differences of E T_d in alpha and log m.  E T_d is exactly linear in
#: alpha, and its third derivative in log m is O(1/m), so the truncation error is far below the
#: round-off eps |E T_d| / h ~ 1e-10.
SLOPE_STEP = 1e-4
SLOPE_ATOL = 1e-8


# ---------------------------------------------------------------------------
# the derivation: all identities verified


def test_every_identity_of_the_derivation_holds(derivations):
    assert_every_identity_holds(derivations(descent_time.KEY), descent_time.KEY)


def test_derivation_records_statement_and_serialises(derivations):
    assert_records_statement_and_serialises(derivations(descent_time.KEY), descent_time.KEY)


# ---------------------------------------------------------------------------
# D9: descent times solve their defining equations


def _K_with_rate(rate):
    return reduced_dynamics.K_closed.subs(z_norm, rate / 2)


def test_D9_T_d_and_t_half_solve_their_equations():
    K_flow = _K_with_rate(descent_time.rate_flow)
    T_d = descent_time.T_d.subs(descent_time.r, descent_time.rate_flow)
    t_half = descent_time.t_half.subs(descent_time.r, descent_time.rate_flow)
    assert is_zero(K_flow.subs(t, T_d) - (1 - delta))
    assert is_zero(K_flow.subs(t, t_half) - sp.Rational(1, 2))


def test_D9_T_d_for_gradient_descent_uses_the_gd_rate():
    K_gd = _K_with_rate(descent_time.rate_gd)
    T_d = descent_time.T_d.subs(descent_time.r, descent_time.rate_gd)
    point = {K0: sp.Rational(1, 500), delta: sp.Rational(1, 100), eta: sp.Rational(1, 10), z_norm: 2}
    assert value_at(K_gd.subs(t, T_d) - (1 - delta), point) < 1e-25
    wrong = descent_time.T_d.subs(descent_time.r, descent_time.rate_flow)   # flow time used for GD
    assert value_at(K_gd.subs(t, wrong) - (1 - delta), point) > NONZERO_FLOOR


def test_D9_negative_control_half_rate():
    K_flow = _K_with_rate(descent_time.rate_flow)
    wrong = descent_time.t_half.subs(descent_time.r, z_norm)   # factor 2 dropped
    assert_really_nonzero(K_flow.subs(t, wrong) - sp.Rational(1, 2), {K0: sp.Rational(1, 100), z_norm: 1})


def test_D9_alpha_slope_is_exact_for_the_full_expectation():
    # E T_d is linear in alpha, so its alpha-derivative equals the asymptotic slope exactly
    assert is_zero(sp.diff(descent_time.E_T_d, alpha) - descent_time.slope_alpha)
    assert is_zero(descent_time.slope_alpha - 2 * sp.log(m) / descent_time.r)
    assert not is_zero(descent_time.slope_alpha - sp.log(m) / descent_time.r)


# ---------------------------------------------------------------------------
# property: slopes of E T_d against finite differences


@st.composite
def descent_parameters(draw):
    return (draw(st.floats(0.55, 3.0)), draw(st.floats(10.0, 1e6)), draw(st.floats(0.05, 5.0)),
            draw(st.floats(1e-4, 0.4)))


E_T_D = float_function(descent_time.E_T_d, delta, alpha, m, z_norm, descent_time.r)
E_T_D_ASYMPTOTIC = float_function(descent_time.E_T_d_asymptotic, delta, alpha, m, z_norm, descent_time.r)
SLOPE_ALPHA = float_function(descent_time.slope_alpha, m, descent_time.r)
SLOPE_LOG_M = float_function(descent_time.slope_log_m, alpha, descent_time.r)


@given(descent_parameters(), st.sampled_from(["flow", "gd"]), st.floats(0.01, 0.9))
def test_E_T_d_slopes_equal_finite_differences(params, method, eta_z):
    a, width, zn, dlt = params
    r = 2 * zn if method == "flow" else 2 * math.log1p(eta_z) / (eta_z / zn)
    h = SLOPE_STEP
    fd_alpha = (E_T_D(dlt, a + h, width, zn, r) - E_T_D(dlt, a - h, width, zn, r)) / (2 * h)
    assert abs(fd_alpha - SLOPE_ALPHA(width, r)) <= SLOPE_ATOL * (1 + abs(fd_alpha))
    fd_L = (E_T_D(dlt, a, width * math.exp(h), zn, r) - E_T_D(dlt, a, width * math.exp(-h), zn, r)) / (2 * h)
    fd_L_asym = (E_T_D_ASYMPTOTIC(dlt, a, width * math.exp(h), zn, r)
                 - E_T_D_ASYMPTOTIC(dlt, a, width * math.exp(-h), zn, r)) / (2 * h)
    slope = SLOPE_LOG_M(a, r)
    assert abs(fd_L_asym - slope) <= SLOPE_ATOL * (1 + abs(slope))
    # the exact expectation has slope (2 alpha - (m/2) psi'(m/2)) / r = slope - (1/m + O(m^-2)) / r
    gap = (slope - fd_L) * r * width
    note(f"m (slope - FD) r = {gap}")
    assert 0.5 <= gap <= 2.0
    # negative control: the slope without the -1 of (2 alpha - 1) is off by 1/r
    assert abs(fd_L_asym - 2 * a / r) >= 0.99 / r


# ---------------------------------------------------------------------------
# property: the gradient-descent rate is below the flow rate and tends to it


RATE_GD = float_function(descent_time.rate_gd, z_norm, eta)


@given(st.floats(0.05, 5.0), st.floats(1e-4, 0.99))
def test_gd_rate_below_flow_rate_and_converges(zn, eta_z):
    lr = eta_z / zn
    rate = RATE_GD(zn, lr)
    gap = 2 * zn - rate
    # 2|z| - 2 log(1+x)/eta = (2/eta)(x - log(1+x)) with x = eta|z| in (0, 1): between eta|z|^2/3 and eta|z|^2
    allowance = 4 * EPS / lr                       # log(1 + x) in float64 without log1p
    assert lr * zn**2 / 3 - allowance <= gap <= lr * zn**2 + allowance
    assert rate == pytest.approx(2 * linear_stage.gd_rate(lr, zn), rel=0, abs=allowance)
    gaps = [2 * zn - RATE_GD(zn, lr / 10**k) for k in range(3)]
    assert gaps[0] > gaps[1] > gaps[2] > 0          # tends to the flow rate as eta -> 0
    assert gaps[2] <= gaps[0] / 50                  # linearly in eta
    target(gap / (lr * zn**2), label="gap / (eta |z|^2), must stay <= 1")


# ---------------------------------------------------------------------------
# the decaying modes' effect on t_half (the regime flag's estimate)

@pytest.mark.parametrize("K0_value, V0_value", [(0.01, 0.012), (0.065, 0.06), (0.2, 0.25), (0.3, 0.33)])
def test_t_half_with_decaying_modes_matches_the_integrated_reduced_dynamics(K0_value, V0_value):
    """Oracle: the system K = U - V, U' = 2|z|(1 - K) U, V' = -2|z|(1 - K) V integrated with DOP853 at rtol 1e-11
    (not its conserved product) to K = 1/2."""
    from scipy.integrate import solve_ivp

    zn = 0.8
    rhs = lambda _t, y: [2 * zn * (1 - y[0] + y[1]) * y[0], -2 * zn * (1 - y[0] + y[1]) * y[1]]  # noqa: E731
    event = lambda _t, y: y[0] - y[1] - 0.5  # noqa: E731
    event.terminal = True
    sol = solve_ivp(rhs, (0, 100), [K0_value, V0_value], method="DOP853", rtol=1e-11, atol=1e-14, events=event)
    t_ref = sol.t_events[0][0]
    f = numeric(descent_time.t_half_with_decaying, (K0, descent_time.V0, z_norm))
    assert f(K0_value, V0_value, zn) == pytest.approx(t_ref, rel=1e-8)
    err = numeric(descent_time.t_half_decaying_error, (K0, descent_time.V0, z_norm))(K0_value, V0_value, zn)
    logistic = numeric(descent_time.t_half.subs(descent_time.r, descent_time.rate_flow), (K0, z_norm))(K0_value, zn)
    assert err == pytest.approx(logistic / t_ref - 1, rel=1e-7, abs=1e-10)
    # negative control: without the decaying modes (V0 = 0) the reference is missed by the estimated error
    assert abs(logistic / t_ref - 1) > 1e3 * 1e-8


def test_t_half_error_changes_sign_with_K0():
    """Small K0: the logistic law is late (positive error); K0 = 0.3 with V0 = K0: early (negative)."""
    f = numeric(descent_time.t_half_decaying_error, (K0, descent_time.V0, z_norm))
    assert f(0.065, 0.065, 0.8) > 0 > f(0.3, 0.3, 0.8)
