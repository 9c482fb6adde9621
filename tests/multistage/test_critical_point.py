"""D10, the critical point K = 1 and R*: derivation identities and symbolic checks of the minimum of R(K)."""
from __future__ import annotations

import sympy as sp

from theory.derivation import is_zero
from theory.multistage import critical_point
from theory.multistage.symbols import z_norm

from symbolic_checks import assert_every_identity_holds, assert_really_nonzero, assert_records_statement_and_serialises


# ---------------------------------------------------------------------------
# the derivation: all identities verified


def test_every_identity_of_the_derivation_holds(derivations):
    assert_every_identity_holds(derivations(critical_point.KEY), critical_point.KEY)


def test_derivation_records_statement_and_serialises(derivations):
    assert_records_statement_and_serialises(derivations(critical_point.KEY), critical_point.KEY)


# ---------------------------------------------------------------------------
# D10: R(K) is minimal at K = 1, where it equals R*


def test_D10_R_of_K_minimal_at_one():
    Kv = critical_point.Kv
    R = critical_point.R_of_K
    assert is_zero(sp.diff(R, Kv).subs(Kv, 1))
    assert sp.simplify(sp.diff(R, Kv, 2)).is_positive
    assert sp.solve(sp.diff(R, Kv), Kv) == [1]
    assert is_zero(R.subs(Kv, 1) - critical_point.R_star.subs(critical_point.z_Sinv_z, z_norm**2))
    assert is_zero(R.subs(Kv, 0) - critical_point.E_f2 / 2)        # K = 0: the zero network


def test_D10_negative_control_wrong_factor():
    Kv = critical_point.Kv
    wrong = critical_point.E_f2 / 2 - z_norm**2 * (1 - (1 - sp.Rational(9, 10) * Kv) ** 2) / 2
    assert_really_nonzero(sp.diff(wrong, Kv).subs(Kv, 1), {z_norm: 1})
