"""E1, the uv model: the derivation's identities, structural checks of the derived map, and wrong maps failing."""
from __future__ import annotations

import json

import pytest
import sympy as sp

import theory
from theory.derivation import is_zero
from theory.early_training import uv_model as m

#: a point with exact rationals at which wrong expressions are shown really non-zero
POINT = {m.f: sp.Rational(3, 7), m.lam: sp.Rational(9, 5), m.eta: sp.Rational(1, 3), m.w: 11, m.y: sp.Rational(-2, 5)}


def test_every_identity_of_the_derivation_holds(uv_derivation):
    assert uv_derivation.key == "E1" and uv_derivation.name == "uv_model"
    failed = [k for k, ok in uv_derivation.identities.items() if ok is not True]
    assert uv_derivation.identities and not failed, failed


def test_derivation_records_statement_and_serialises(uv_derivation):
    for section in ("statement", "assumptions", "derivation", "references"):
        assert uv_derivation.text.get(section), section
    assert "our reconstruction of E1 of arXiv:2302.12250" in " ".join(uv_derivation.text["references"].split())
    record = json.loads(json.dumps(uv_derivation.as_json()))
    assert record["label"].startswith("reconstruction") and "arXiv:2302.12250" in record["label"]
    assert "NOT verified" not in uv_derivation.latex()


def test_paper_is_reachable_by_its_key():
    assert theory.PAPERS["early-training"] == "early_training"
    assert theory.paper("early-training").module("E1") is m
    assert theory.derive("early-training", "uv_model").key == "E1"
    with pytest.raises(KeyError):
        theory.paper("early-training").module("E9")


def test_the_map_does_not_depend_on_the_dimension_used_to_identify_it():
    f3, l3, checks = m.derive_map(3)
    assert all(checks.values())
    assert is_zero(f3 - m.F_NEXT) and is_zero(l3 - m.LAM_NEXT)


def test_the_map_is_one_gd_step_on_explicit_vectors():
    """Independent oracle: exact rational vectors of dimension 4 stepped by hand-free SymPy arithmetic."""
    u = sp.Matrix([1, -2, sp.Rational(1, 2), 3])
    v = sp.Matrix([sp.Rational(2, 3), 1, -1, sp.Rational(1, 4)])
    w, eta, y = 4, sp.Rational(1, 5), sp.Rational(1, 3)
    fv = u.dot(v) / sp.sqrt(w)
    e = fv - y
    u1, v1 = u - eta * e * v / sp.sqrt(w), v - eta * e * u / sp.sqrt(w)
    at = {m.f: fv, m.lam: (u.dot(u) + v.dot(v)) / w, m.eta: eta, m.w: w, m.y: y}
    assert m.F_NEXT.subs(at) == u1.dot(v1) / sp.sqrt(w)
    assert m.LAM_NEXT.subs(at) == (u1.dot(u1) + v1.dot(v1)) / w


@pytest.mark.parametrize("wrong", [
    lambda fn: fn - m.eta**2 * (m.f - m.y) ** 2 * m.f / m.w,         # the eta^2 term dropped
    lambda fn: fn + m.eta * (m.f - m.y) * m.lam,                      # the sign of the linear term flipped (x2)
    lambda fn: fn.subs(m.w, 2 * m.w),                                 # the width off by a factor 2
])
def test_a_wrong_map_fails_the_identity_check(wrong):
    """Negative control of the identity 'f' equals the stated form': a wrong f' is really non-zero off it."""
    e = m.f - m.y
    stated = m.f - m.eta * e * m.lam + m.eta**2 * e**2 * m.f / m.w
    bad = wrong(m.F_NEXT)
    assert not is_zero(bad - stated)
    assert abs(float((bad - stated).subs(POINT))) > 1e-6


def test_a_polynomial_outside_the_gram_entries_is_refused():
    u = sp.Matrix(sp.symbols("u1:3", real=True))
    v = sp.Matrix(sp.symbols("v1:3", real=True))
    gram = {m._p: u.dot(u), m._q: v.dot(v), m._a: u.dot(v)}
    with pytest.raises(ValueError):
        m._identify(u[0] ** 2, gram, list(u) + list(v))            # not rotation invariant


def test_regime_boundaries_follow_the_expressions():
    assert m.regime_boundaries() == (2, 4)
    # moved boundaries come out of moved expressions
    assert m.regime_boundaries(sharpness_change=m.SHARPNESS_CHANGE_Y0.subs(m.c, m.c * 4 / 3)) == (2, 3)
    assert m.regime_boundaries(multiplier_wide=1 - m.c / 2) == (4, 4)
    with pytest.raises(ValueError):
        m.regime_boundaries(sharpness_change=m.SHARPNESS_CHANGE_Y0 + m.y)


def test_the_exact_threshold_is_a_root_and_the_first_order_form_its_expansion():
    residual = (m.MULTIPLIER_Y0 + 1).subs(m.c, m.C_LOSS_STEP1_EXACT)
    at = {m.f0: sp.Rational(7, 10), m.lam0: 2, m.w: 64}
    assert abs(sp.N(residual.subs(at), 40)) < sp.Float(10) ** -35
    # the first-order form misses the root by O(1/w^2): the gap times w^2 tends to 16 f0^4 / lambda0^4
    gap = (m.C_LOSS_STEP1_EXACT - m.C_LOSS_FIRST_ORDER).subs({m.f0: 1, m.lam0: 2})
    assert sp.limit(gap * m.w**2, m.w, sp.oo) == 1
    # negative control: the uncorrected c = 2 misses it by O(1/w)
    assert sp.limit((m.C_LOSS_STEP1_EXACT - 2).subs({m.f0: 1, m.lam0: 2}) * m.w**2, m.w, sp.oo) == sp.oo


def test_first_order_threshold_refuses_a_wrong_base():
    with pytest.raises(ValueError):
        m.first_order_threshold(m.MULTIPLIER_Y0, base=sp.Integer(3))


def test_sharpness_falls_below_c_4_and_rises_above_at_y_0():
    for cv, sign in ((sp.Rational(39, 10), -1), (sp.Rational(41, 10), 1)):
        value = m.SHARPNESS_CHANGE_Y0.subs({m.c: cv, m.f0: 1, m.lam0: 2, m.w: 100})
        assert sp.sign(value) == sign
