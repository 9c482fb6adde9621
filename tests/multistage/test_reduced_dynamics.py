"""D8, the reduced dynamics of the descent: derivation identities and symbolic checks of the logistic law of K."""
from __future__ import annotations

import sympy as sp

from theory.derivation import is_zero
from theory.multistage import reduced_dynamics
from theory.multistage.symbols import K, K0, alpha, m, t, z_norm

from symbolic_checks import assert_every_identity_holds, assert_really_nonzero, assert_records_statement_and_serialises


# ---------------------------------------------------------------------------
# the derivation: all identities verified


def test_every_identity_of_the_derivation_holds(derivations):
    assert_every_identity_holds(derivations(reduced_dynamics.KEY), reduced_dynamics.KEY)


def test_derivation_records_statement_and_serialises(derivations):
    assert_records_statement_and_serialises(derivations(reduced_dynamics.KEY), reduced_dynamics.KEY)


# ---------------------------------------------------------------------------
# D8: the logistic law of K


def test_D8_K_closed_solves_logistic_equation():
    K_c = reduced_dynamics.K_closed
    assert is_zero(sp.diff(K_c, t) - reduced_dynamics.logistic_rhs.subs(K(t), K_c))
    assert is_zero(K_c.subs(t, 0) - K0)
    assert sp.limit(K_c, t, sp.oo) == 1


def test_D8_negative_control_logistic_with_wrong_sign():
    wrong = K0 * sp.exp(-2 * z_norm * t) / (1 - K0 + K0 * sp.exp(-2 * z_norm * t))
    residual = sp.diff(wrong, t) - reduced_dynamics.logistic_rhs.subs(K(t), wrong)
    assert_really_nonzero(residual, {K0: sp.Rational(1, 100), z_norm: 1, t: 2})


def test_D8_negative_control_logistic_with_rate_off_by_5_percent():
    wrong = reduced_dynamics.K_closed.subs(t, sp.Rational(105, 100) * t)
    residual = sp.diff(wrong, t) - reduced_dynamics.logistic_rhs.subs(K(t), wrong)
    assert_really_nonzero(residual, {K0: sp.Rational(1, 100), z_norm: 1, t: 2})


def test_D8_expected_K0_is_the_mean_of_the_growing_mode_content():
    # u_k(0) ~ N(0, m^(-2 alpha)): E sum u_k^2 / (2|z|) = m * m^(-2 alpha) / (2|z|)
    assert is_zero(reduced_dynamics.K0_expected - m * m ** (-2 * alpha) / (2 * z_norm))
