"""D3, the linear part and higher-order terms: derivation identities and symbolic checks of the Jacobian."""
from __future__ import annotations

import pytest
import sympy as sp

from theory.derivation import is_zero
from theory.multistage import higher_order
from theory.multistage.finite_model import FiniteModel

from symbolic_checks import (assert_every_identity_holds, assert_really_nonzero,
                             assert_records_statement_and_serialises, rational_data_point)


# ---------------------------------------------------------------------------
# the derivation: all identities verified


def test_every_identity_of_the_derivation_holds(derivations):
    assert_every_identity_holds(derivations(higher_order.KEY), higher_order.KEY)


def test_derivation_records_statement_and_serialises(derivations):
    assert_records_statement_and_serialises(derivations(higher_order.KEY), higher_order.KEY)


# ---------------------------------------------------------------------------
# D3: the Jacobian of the D1 field at theta = 0 is A on every neuron


def _jacobian_at_zero(model: FiniteModel) -> sp.Matrix:
    field, params = model.field(), model.params()
    return sp.Matrix([[sp.diff(field[p], q) for q in params] for p in params]).subs({p: 0 for p in params})


def _block_A(model: FiniteModel, z: sp.Matrix) -> sp.Matrix:
    """``A(z)`` placed on each neuron's coordinates (a_k, w_k1..w_kd) in the model's parameter order."""
    A = higher_order.A_matrix(z)
    M, d = model.neurons, model.dim
    out = sp.zeros(M * (d + 1), M * (d + 1))
    for k in range(M):
        idx = [k] + [M + k * d + j for j in range(d)]
        for r, i in enumerate(idx):
            for c, j in enumerate(idx):
                out[i, j] = A[r, c]
    return out


@pytest.fixture(scope="module")
def tanh_model_jacobian():
    # a concrete tanh-like activation: independent of the module's sigma(0)/sigma'(0) substitution
    model = FiniteModel(activation=sp.tanh)
    return model, _jacobian_at_zero(model)


def test_D3_jacobian_is_A_on_each_neuron(tanh_model_jacobian):
    model, J = tanh_model_jacobian
    assert is_zero(J - _block_A(model, model.z))


def test_D3_negative_control_A_from_minus_z(tanh_model_jacobian):
    model, J = tanh_model_jacobian
    assert_really_nonzero(J - _block_A(model, -model.z), rational_data_point(model))


def test_D3_negative_control_non_tanh_like_activation():
    # sigmoid has sigma(0) = 1/2, sigma'(0) = 1/4: its linearisation is not A
    model = FiniteModel(activation=lambda u: 1 / (1 + sp.exp(-u)))
    assert_really_nonzero(_jacobian_at_zero(model) - _block_A(model, model.z), rational_data_point(model))


# ---------------------------------------------------------------------------
# the claim: the bound's order in q_max, and a window too short to fit it


def test_D3_order_of_the_bound_factor_is_2_and_a_raised_exponent_is_seen():
    from theory.multistage.symbols import Q
    assert is_zero(higher_order.order_in_q(higher_order.bound_factor) - 2)
    assert is_zero(higher_order.order_in_q(higher_order.bound_factor * Q ** sp.Rational(3, 20)) - sp.Rational(43, 20))


def test_D3_is_inconclusive_without_a_margin_when_q_max_does_not_grow_by_an_e_fold(monkeypatch):
    """A window in which q_max never grows by MIN_EFOLDS e-folds cannot fit the order: inconclusive, no margin, and
    why (the key's rule refuses an inconclusive verdict with a margin below 1).  Control: the ordinary window
    passes with a margin."""
    from verify.multistage.claims import higher_order as claim_module
    from verify.multistage.context import Context

    ctx = Context.make("quick")
    assert claim_module._check(ctx).status.value == "passed"
    monkeypatch.setattr(claim_module, "MIN_EFOLDS", 50.0)
    verdict = claim_module._check(ctx)
    assert verdict.status.value == "inconclusive" and verdict.key["margin"] is None
    assert "cannot be fitted" in verdict.key["why"]


# ---------------------------------------------------------------------------
# the numbers: C_1 and the bound through the bridge (verify/multistage/field.py)


@pytest.mark.parametrize("moments,branch", [({"E_abs_f_x3": 0.7, "E_x2": 3.0}, "C_0^2 E|x|^2"),
                                            ({"E_abs_f_x3": 9.0, "E_x2": 3.0}, "2 C_L E[|f*||x|^3] / 3")])
def test_constant_C1_and_the_bound_evaluate_the_derived_expressions(moments, branch):
    """Oracle: D3's statement written out, ``C_1 = max(2 C_L E[|f*||x|^3] / 3, C_0^2 E|x|^2)`` (each branch wins
    once) and ``|N_k| <= C_1 (m q_max^2 + q_max^2) |q_k|``; round-off of a few operations, 8 eps.  Control: the
    other branch of the max is missed."""
    import numpy as np

    from verify.multistage.field import constant_C1, remainder_bound

    eps = 8 * np.finfo(float).eps
    first, second = 2 * 2.0 * moments["E_abs_f_x3"] / 3, 1.5**2 * moments["E_x2"]
    C1 = constant_C1(2.0, 1.5, moments)
    assert C1 == pytest.approx(max(first, second), rel=eps), branch
    assert C1 != pytest.approx(min(first, second), rel=0.01)          # control: not the other branch
    q = np.array([[0.1, -0.2, 0.05], [0.3, 0.0, -0.1]])
    norms = np.linalg.norm(q, axis=1)
    expected = C1 * (7 * norms.max() ** 2 + norms.max() ** 2) * norms
    np.testing.assert_allclose(remainder_bound(C1, 7, q), expected, rtol=eps, atol=0)
    assert not np.allclose(remainder_bound(C1, 7, q), C1 * 7 * norms.max() ** 2 * norms, rtol=0.01)   # without q^2
