"""D7, balance: derivation identities and symbolic checks of the conserved balance and its drift."""
from __future__ import annotations

import sympy as sp

from theory.derivation import is_zero
from theory.multistage.activation import S, activation_from_spec
from theory.multistage import balance
from theory.multistage.finite_model import FiniteModel

from symbolic_checks import (assert_every_identity_holds, assert_really_nonzero,
                             assert_records_statement_and_serialises, rational_data_point)


# ---------------------------------------------------------------------------
# the derivation: all identities verified


def test_every_identity_of_the_derivation_holds(derivations):
    assert_every_identity_holds(derivations(balance.KEY), balance.KEY)


def test_derivation_records_statement_and_serialises(derivations):
    assert_records_statement_and_serialises(derivations(balance.KEY), balance.KEY)


# ---------------------------------------------------------------------------
# D7: balance


def _balance_drift(activation) -> sp.Expr:
    model = FiniteModel(neurons=1, activation=activation)
    field = model.field()
    a, w = model.a[0], list(model.W.row(0))
    return 2 * a * field[a] - sum(2 * c * field[c] for c in w), model


def test_D7_balance_is_exactly_conserved_for_linear_sigma():
    drift, _ = _balance_drift(lambda u: u)
    assert is_zero(drift)


def test_D7_negative_control_balance_drifts_for_tanh():
    drift, model = _balance_drift(sp.tanh)
    point = {**rational_data_point(model), model.a[0]: sp.Rational(1, 2),
             **{c: sp.Rational(j + 1, 3) for j, c in enumerate(model.W)}}
    assert_really_nonzero(drift, point, simplify=False)   # simplify stalls on nested tanh sums


def test_D7_gap_series_coefficient():
    for name in ("tanh", "sin", "erf"):
        act = activation_from_spec(name)
        gap = act.expr - S * act.derivative(1)
        c3 = act.taylor_coefficients(3)[3]
        assert is_zero(sp.series(gap, S, 0, 4).removeO() + c3 * S**3 / 3)
        assert not is_zero(sp.series(gap, S, 0, 4).removeO() - c3 * S**3 / 3)  # the sign matters
