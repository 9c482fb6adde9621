"""D6, the initial plateau: derivation identities, symbolic check of the exit time T_p and properties."""
from __future__ import annotations

import math

import numpy as np
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from theory.multistage import initial_plateau
from theory.multistage.symbols import alpha, alpha_1, m, q0, z_norm

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
