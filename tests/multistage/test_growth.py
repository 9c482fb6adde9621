"""D5, the growth lemma: derivation identities and symbolic checks of the Gronwall bound."""
from __future__ import annotations

import sympy as sp

from theory._derivation import is_zero
from theory.multistage import growth
from theory.multistage.symbols import C_1, eps, m, q0, t, z_norm

from symbolic_checks import (NONZERO_FLOOR, assert_every_identity_holds, assert_records_statement_and_serialises,
                             value_at)


# ---------------------------------------------------------------------------
# the derivation: all identities verified


def test_every_identity_of_the_derivation_holds(derivations):
    assert_every_identity_holds(derivations(growth.KEY), growth.KEY)


def test_derivation_records_statement_and_serialises(derivations):
    assert_records_statement_and_serialises(derivations(growth.KEY), growth.KEY)


# ---------------------------------------------------------------------------
# D5: growth lemma


def test_D5_bound_solves_gronwall_equation_and_reaches_Q_eps():
    assert is_zero(sp.diff(growth.bound_expr, t) - (z_norm + eps) * growth.bound_expr)
    assert is_zero(growth.bound_expr.subs(t, 0) - q0)
    point = {q0: sp.Rational(1, 1000), eps: sp.Rational(1, 10), C_1: 3, m: 100, z_norm: sp.Rational(7, 5)}
    assert value_at(growth.bound_expr.subs(t, growth.T_eps) - growth.Q_eps, point) < 1e-25
    # negative control: the growth rate |z| alone (without eps) does not reach Q_eps at T_eps
    wrong = q0 * sp.exp(z_norm * growth.T_eps)
    assert value_at(wrong - growth.Q_eps, point) > NONZERO_FLOOR
