"""D6, the initial plateau: derivation identities, symbolic check of the exit time T_p and properties."""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from theory.multistage import initial_plateau
from theory.multistage.symbols import alpha, alpha_1, m, q0, z_norm
from verify.multistage import linear_stage

from strategies import float_function, log_uniform_int
from symbolic_checks import (NONZERO_FLOOR, assert_every_identity_holds, assert_records_statement_and_serialises,
                             value_at)

EPS = np.finfo(float).eps

#: Closed-form expressions of a few logs evaluated in float64: a few ulps of the largest term.
#: 64 ulps covers the lambdified evaluation order (cse) and the log of products.
ROUNDOFF_ULPS = 64


# ---------------------------------------------------------------------------
# the derivation: all identities verified


def test_every_identity_of_the_derivation_holds(derivations):
    assert_every_identity_holds(derivations(initial_plateau.KEY), initial_plateau.KEY)


def test_derivation_records_statement_and_serialises(derivations):
    assert_records_statement_and_serialises(derivations(initial_plateau.KEY), initial_plateau.KEY)


# ---------------------------------------------------------------------------
# D6: plateau length


def test_D6_T_p_is_the_exit_time():
    point = {m: 1000, alpha: 1, alpha_1: sp.Rational(3, 4), q0: sp.Rational(1, 250), z_norm: sp.Rational(6, 5)}
    exit_level = q0 * sp.exp(z_norm * initial_plateau.T_p)
    assert value_at(exit_level - m ** (-alpha_1), point) < 1e-25
    wrong = q0 * sp.exp(2 * z_norm * initial_plateau.T_p)   # the K-rate 2|z| instead of the q-rate |z|
    assert value_at(wrong - m ** (-alpha_1), point) > NONZERO_FLOOR


# ---------------------------------------------------------------------------
# property: T_p at the expected q_max(0) is the stated expansion


@st.composite
def plateau_parameters(draw):
    a = draw(st.floats(0.55, 3.0))
    frac = draw(st.floats(0.01, 0.99))
    a1 = 0.5 + frac * (a - 0.5)                      # 1/2 < alpha_1 < alpha
    width = log_uniform_int(draw, 10, 10**6)
    zn = draw(st.floats(0.05, 5.0))
    return a, a1, width, zn


T_P = float_function(initial_plateau.T_p, m, alpha_1, q0, z_norm)
T_P_EXPECTED = float_function(initial_plateau.T_p_expected, m, alpha, alpha_1, z_norm)
Q0_EXPECTED = float_function(initial_plateau.q0_expected, m, alpha)


@given(plateau_parameters())
def test_T_p_at_expected_q0_is_T_p_expected(params):
    a, a1, width, zn = params
    got = T_P(width, a1, Q0_EXPECTED(width, a), zn)
    want = T_P_EXPECTED(width, a, a1, zn)
    scale = (a * math.log(width) + abs(math.log(2 * math.log(width)))) / zn
    assert abs(got - want) <= ROUNDOFF_ULPS * EPS * scale
    # negative control: forgetting the sqrt(2 log m) of the Gaussian maximum shifts T_p by log(2 log m)/(2|z|)
    naive = T_P(width, a1, width ** (-a), zn)
    assert abs(naive - want) >= 0.99 * math.log(2 * math.log(width)) / (2 * zn)


# ---------------------------------------------------------------------------
# T_p from the exact linear flow: the first passage of max_k |q_k(t)|

def _neurons(seed: int, width: int, dim: int = 3, alpha_value: float = 1.5):
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    s = width ** -alpha_value
    a, W = rng.normal(0, s, width), rng.normal(0, s, (width, dim))
    z = np.array([0.6, -0.3, 0.5])
    return a, W, z


@given(st.integers(0, 10**6), st.integers(20, 2000))
def test_linear_flow_T_p_is_the_first_passage_of_exp_tA(seed, width):
    """brentq's T_p against an independent oracle: D4's closed-form exp(tA) applied to every q_k(0) (not the mode
    sum) is at the level at T_p, below it on a grid before; and the explicit per-neuron root, min over k."""
    from verify.multistage.linear_stage import expm_closed_form

    a, W, z = _neurons(seed, width)
    zn = float(np.linalg.norm(z))
    level = width ** -1.0
    u, v, p = linear_stage.modes(a, W, z)
    T = linear_stage.first_passage(level, u, v, p, zn)
    Q0 = np.column_stack([a, W])
    qmax = lambda tv: float(np.max(np.linalg.norm(Q0 @ expm_closed_form(tv, z).T, axis=1)))  # noqa: E731
    assert math.isclose(qmax(T), level, rel_tol=1e-9)
    assert all(qmax(tv) < level for tv in np.linspace(0, T, 50)[:-1])
    T_k = float_function(initial_plateau.T_k_flow, initial_plateau.u_k, initial_plateau.v_k, initial_plateau.p_k,
                         initial_plateau.Q, z_norm)(u, v, p, level, zn)
    assert math.isclose(T, float(np.min(T_k)), rel_tol=1e-9)
    # negative control: the growth-only estimate (all of q_max(0) at rate |z|) is earlier by far more than round-off
    grow = math.log(level / float(np.max(np.linalg.norm(Q0, axis=1)))) / zn
    assert T - grow > 1e3 * 1e-9 * T


def test_gd_linear_map_T_p_is_the_first_passage_of_the_iterated_map():
    """Under GD the passage is that of (I + eta A)^n q(0), iterated as matrices (independent of the mode sum):
    the iterates just before and after n = T_p / eta bracket the level."""
    a, W, z = _neurons(3, 500)
    zn, lr, level = float(np.linalg.norm(z)), 0.4, 500 ** -1.0
    u, v, p = linear_stage.modes(a, W, z)
    T = linear_stage.first_passage(level, u, v, p, zn, "gd", lr)
    A = np.zeros((4, 4))
    A[0, 1:], A[1:, 0] = z, z
    Q = np.column_stack([a, W])
    n_before = int(np.floor(T / lr))
    Qn = Q @ np.linalg.matrix_power(np.eye(4) + lr * A, n_before).T
    before = np.max(np.linalg.norm(Qn, axis=1))
    after = np.max(np.linalg.norm(Qn @ (np.eye(4) + lr * A).T, axis=1))
    assert before < level <= after
    # control: the flow's passage from the same q(0) is not bracketed by these iterates (the GD rate is slower)
    T_flow = linear_stage.first_passage(level, u, v, p, zn)
    assert int(np.floor(T_flow / lr)) < n_before


def test_first_passage_is_none_when_q_max_starts_past_the_level():
    a, W, z = _neurons(1, 100)
    u, v, p = linear_stage.modes(a, W, z)
    q0_max = float(np.max(np.linalg.norm(np.column_stack([a, W]), axis=1)))
    assert linear_stage.first_passage(q0_max, u, v, p, float(np.linalg.norm(z))) is None
    # control: just above q_max(0) there is a passage, after 0
    assert linear_stage.first_passage(q0_max * 1.01, u, v, p, float(np.linalg.norm(z))) > 0


def test_remainder_shift_vanishes_with_width_like_the_remainder():
    """The tolerance of D6-T-p, C_1 (m + 1) int e^{|z|(T - s)} q_max^3 ds / (Q S_T), is about C_1 (m + 1) Q^2 /
    (2 |z|^2) once the growing mode dominates: it falls like m^(1 - 2 alpha_1) at alpha_1 = 1 (slope -1)."""
    shifts, widths = [], [250, 1000, 4000]
    for w in widths:
        a, W, z = _neurons(5, w)
        zn = float(np.linalg.norm(z))
        u, v, p = linear_stage.modes(a, W, z)
        T = linear_stage.first_passage(w ** -1.0, u, v, p, zn)
        shifts.append(linear_stage.remainder_shift(1.0, w, T, u, v, p, zn))
    slope = np.polyfit(np.log(widths), np.log(shifts), 1)[0]
    assert -1.15 < slope < -0.85, slope
    # control: the same quantity at alpha_1 = 3/4 (level m^-0.75) falls like m^-0.5, outside that band
    a, W, z = _neurons(5, 4000)
    u, v, p = linear_stage.modes(a, W, z)
    zn = float(np.linalg.norm(z))
    s_4000 = linear_stage.remainder_shift(1.0, 4000, linear_stage.first_passage(4000 ** -0.75, u, v, p, zn),
                                             u, v, p, zn)
    assert s_4000 > 4 * shifts[-1]


# ---------------------------------------------------------------------------
# the claim D6-T-p: every seed is judged

@pytest.fixture(scope="module")
def quick_context():
    from verify.multistage.context import Context

    return Context.make("quick")


def test_D6_T_p_passes_on_every_seed_and_one_resolved_counterexample_fails_it(quick_context):
    from verify.multistage.claims.initial_plateau import _check_T_p

    verdict = _check_T_p(quick_context)
    assert verdict.status == "passed" and verdict.key["margin"] < 1
    rows = verdict.measured["seeds"]
    assert len(rows) == quick_context.profile.seeds and all(r["ratio"] < 1 for r in rows)
    calls = []

    def one_seed_late(pred, exact, u, v, p, level):       # 5 % late on the first seed only
        calls.append(exact)
        return exact * (1.05 if len(calls) == 1 else 1.0)

    bad = _check_T_p(quick_context, one_seed_late, what="one seed 5 % late")
    assert bad.status == "failed" and bad.key["why"].startswith("1 of"), bad.key


def test_D6_T_p_judges_gradient_descent_with_the_map(tmp_path):
    """On a researcher's GD configuration the prediction is the GD linear map's passage (not the flow's)."""
    from verify.multistage.context import Context
    from verify.multistage.profiles import PROFILES
    from verify.multistage.claims.initial_plateau import _check_T_p

    user = {"model": {"activation": "tanh", "width": 200, "alpha": 1.0},
            "data": {"dim": 3, "samples": 100, "whiten": True},
            "target": {"expr": "tanh(2*x0) + 0.5*x1**2 + 0.4*x2 - 0.3"},
            "train": {"method": "gd", "lr": 0.6, "t_max": 10.0, "seed": 1}}
    ctx = Context(replace(PROFILES["quick"], seeds=2), user=user)
    verdict = _check_T_p(ctx)
    assert verdict.status == "passed", verdict.key
    # control: the flow's passage from the same q(0) is judged wrong on the GD runs
    flow = _check_T_p(ctx, lambda pred, exact, u, v, p, level: linear_stage.first_passage(level, u, v, p,
                                                                                              pred["z_norm"]))
    assert flow.status == "failed", flow.key
