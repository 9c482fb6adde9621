"""Checks shared by the multistage symbolic tests: derivation records and really-non-zero residuals.

Two kinds of symbolic test, following STYLE.md item 2:

* every ``derive()`` reports all its identities as established (difference
  simplified to zero);
* structural checks written in the object modules, independently of the identities a
  module checks for itself: a closed form solves its differential equation, an
  eigenvector satisfies its eigen-equation, a minimiser is stationary with
  positive curvature, a time solves the equation that defines it.

Each structural check has a negative control: the same check applied to a
deliberately wrong object (a rate off by 5 %, a flipped sign, a wrong factor)
must fail.  ``is_zero`` returning False can also mean "simplify gave up", so
every negative control also evaluates the wrong residual at an exact
rational point and shows that it is really non-zero there.
"""
from __future__ import annotations

import json

import sympy as sp

import theory.multistage as paper_theory
from theory.derivation import Derivation, is_zero
from theory.multistage.finite_model import FiniteModel

#: A residual that is "really non-zero" at the spot-check point must exceed this in magnitude.
#: The wrong objects of the object modules are off by O(1) factors or 5 % rates, so their
#: residuals at the chosen rational points are O(1e-2) or larger; 1e-6 is far above 30-digit round-off.
NONZERO_FLOOR = 1e-6


def value_at(expr, point: dict) -> float:
    """Largest absolute value of ``expr`` (scalar or Matrix) at an exact point, with 30 digits."""
    if isinstance(expr, sp.MatrixBase):
        return max(value_at(e, point) for e in expr)
    return abs(complex(sp.N(sp.sympify(expr).subs(point), 30)))


def assert_really_nonzero(expr, point: dict, simplify: bool = True) -> None:
    """``is_zero`` says no, and the value at ``point`` proves it (a non-zero value settles it alone,
    which is all that is used where ``simplify`` stalls on the wrong expression)."""
    if simplify:
        assert not is_zero(expr)
    assert value_at(expr, point) > NONZERO_FLOOR


def rational_data_point(model: FiniteModel) -> dict:
    vals = {}
    for i, sym in enumerate(list(model.X) + list(model.y) + list(model.p)):
        vals[sym] = sp.Rational(i + 2, 7) * (-1) ** i
    return vals


def assert_every_identity_holds(d: Derivation, key: str) -> None:
    """The derivation ``d`` of ``key`` establishes identities, and all of them are verified."""
    assert d.key == key
    assert d.name == paper_theory.DERIVATIONS[key]
    assert d.identities, f"{key} establishes no identity"
    failed = [name for name, ok in d.identities.items() if ok is not True]
    assert not failed, f"{key}: identities not verified: {failed}"


def assert_records_statement_and_serialises(d: Derivation, key: str) -> None:
    """The derivation ``d`` of ``key`` has every docstring section and a JSON record."""
    for section in ("statement", "assumptions", "derivation", "references"):
        assert d.text.get(section), f"{key} docstring lacks a {section} section"
    record = json.loads(json.dumps(d.as_json()))
    assert record["label"].startswith("reconstruction")
    assert set(record["identities"]) == set(d.identities)
    assert "NOT verified" not in d.latex()
