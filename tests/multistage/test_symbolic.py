"""Symbolic tests of the derivations D1-D10.

Two kinds of test, following STYLE.md item 2:

* every ``derive()`` reports all its identities as established (difference
  simplified to zero);
* structural checks written here, independently of the identities a module
  checks for itself: a closed form solves its differential equation, an
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

import pytest
import sympy as sp

import theory.multistage as paper_theory
from theory.multistage import (balance, critical_point, descent_time, growth, higher_order, initial_plateau, linearized_flow,
                    reduced_dynamics, taylor)
from theory._derivation import is_zero
from theory.multistage._finite_model import FiniteModel
from theory.activation import S, activation_from_spec
from theory.errors import NotTanhLike
from theory.multistage.symbols import K, K0, C_1, alpha, alpha_1, delta, eps, m, q0, t, z_norm

#: A residual that is "really non-zero" at the spot-check point must exceed this in magnitude.
#: The wrong objects below are off by O(1) factors or 5 % rates, so their residuals at the
#: chosen rational points are O(1e-2) or larger; 1e-6 is far above 30-digit round-off.
NONZERO_FLOOR = 1e-6


def _value_at(expr, point: dict) -> float:
    """Largest absolute value of ``expr`` (scalar or Matrix) at an exact point, with 30 digits."""
    if isinstance(expr, sp.MatrixBase):
        return max(_value_at(e, point) for e in expr)
    return abs(complex(sp.N(sp.sympify(expr).subs(point), 30)))


def _assert_really_nonzero(expr, point: dict, simplify: bool = True) -> None:
    """``is_zero`` says no, and the value at ``point`` proves it (a non-zero value settles it alone,
    which is all that is used where ``simplify`` stalls on the wrong expression)."""
    if simplify:
        assert not is_zero(expr)
    assert _value_at(expr, point) > NONZERO_FLOOR


# ---------------------------------------------------------------------------
# every derivation: all identities verified


@pytest.fixture(scope="module")
def derivations():
    """Each derivation is run once per test session (they take about a second each)."""
    cache = {}

    def get(key):
        if key not in cache:
            cache[key] = paper_theory.derive(key)
        return cache[key]

    return get


@pytest.mark.parametrize("key", list(paper_theory.DERIVATIONS))
def test_every_identity_of_every_derivation_holds(derivations, key):
    d = derivations(key)
    assert d.key == key
    assert d.name == paper_theory.DERIVATIONS[key]
    assert d.identities, f"{key} establishes no identity"
    failed = [name for name, ok in d.identities.items() if ok is not True]
    assert not failed, f"{key}: identities not verified: {failed}"


@pytest.mark.parametrize("key", list(paper_theory.DERIVATIONS))
def test_derivation_records_statement_and_serialises(derivations, key):
    d = derivations(key)
    for section in ("statement", "assumptions", "derivation", "references"):
        assert d.text.get(section), f"{key} docstring lacks a {section} section"
    record = json.loads(json.dumps(d.as_json()))
    assert record["label"].startswith("reconstruction")
    assert set(record["identities"]) == set(d.identities)
    assert "NOT verified" not in d.latex()


@pytest.mark.parametrize("name", ["sin", "erf"])
def test_activation_dependent_derivations_hold_for_other_activations(name):
    act = activation_from_spec(name)
    for module in (taylor, balance):
        d = module.derive(act)
        failed = [k for k, ok in d.identities.items() if ok is not True]
        assert not failed, f"{module.KEY} with {name}: {failed}"


def test_taylor_derivation_refuses_relu():
    with pytest.raises(NotTanhLike):
        taylor.derive(activation_from_spec("relu"))


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


def _rational_data_point(model: FiniteModel) -> dict:
    vals = {}
    for i, sym in enumerate(list(model.X) + list(model.y) + list(model.p)):
        vals[sym] = sp.Rational(i + 2, 7) * (-1) ** i
    return vals


def test_D3_jacobian_is_A_on_each_neuron(tanh_model_jacobian):
    model, J = tanh_model_jacobian
    assert is_zero(J - _block_A(model, model.z))


def test_D3_negative_control_A_from_minus_z(tanh_model_jacobian):
    model, J = tanh_model_jacobian
    _assert_really_nonzero(J - _block_A(model, -model.z), _rational_data_point(model))


def test_D3_negative_control_non_tanh_like_activation():
    # sigmoid has sigma(0) = 1/2, sigma'(0) = 1/4: its linearisation is not A
    model = FiniteModel(activation=lambda u: 1 / (1 + sp.exp(-u)))
    _assert_really_nonzero(_jacobian_at_zero(model) - _block_A(model, model.z), _rational_data_point(model))


# ---------------------------------------------------------------------------
# D4: closed form of exp(tA), spectrum, eigenvectors


@pytest.mark.parametrize("dim", [2, 3])
def test_D4_closed_form_solves_linear_flow(dim):
    z, X = linearized_flow.closed_form(dim)
    A = higher_order.A_matrix(z)
    assert is_zero(sp.diff(X, t) - A * X)
    assert is_zero(X.subs(t, 0) - sp.eye(dim + 1))


@pytest.mark.parametrize("dim", [2, 3])
def test_D4_negative_control_wrong_rate_does_not_solve(dim):
    z, X = linearized_flow.closed_form(dim)
    A = higher_order.A_matrix(z)
    wrong = X.subs(t, sp.Rational(105, 100) * t)        # |z| replaced by 1.05 |z|
    point = {t: sp.Rational(3, 2), **{zj: sp.Rational(j + 1, 3) for j, zj in enumerate(z)}}
    _assert_really_nonzero(sp.diff(wrong, t) - A * wrong, point)
    assert is_zero(wrong.subs(t, 0) - sp.eye(dim + 1))  # the initial condition cannot catch it


@pytest.mark.parametrize("dim", [2, 3])
def test_D4_spectrum_and_eigenvectors(dim):
    z = sp.Matrix(sp.symbols(f"z1:{dim + 1}", real=True))
    r = sp.sqrt((z.T * z)[0])
    A = higher_order.A_matrix(z)
    lam = sp.Symbol("lambda")
    assert is_zero((lam * sp.eye(dim + 1) - A).det() - lam ** (dim - 1) * (lam**2 - r**2))
    v_plus = sp.Matrix([1, *(z / r)]) / sp.sqrt(2)
    v_minus = sp.Matrix([1, *(-z / r)]) / sp.sqrt(2)
    assert is_zero(A * v_plus - r * v_plus)
    assert is_zero(A * v_minus + r * v_minus)
    assert is_zero((v_plus.T * v_plus)[0] - 1)
    for j in range(1, dim):                     # (0, w) with w orthogonal to z: the null space
        w = sp.zeros(dim + 1, 1)
        w[1], w[j + 1] = -z[j], z[0]
        assert is_zero(A * w)


def test_D4_negative_control_decaying_vector_is_not_growing():
    z = sp.Matrix(sp.symbols("z1:4", real=True))
    r = sp.sqrt((z.T * z)[0])
    A = higher_order.A_matrix(z)
    v_minus = sp.Matrix([1, *(-z / r)]) / sp.sqrt(2)
    point = {z[0]: 1, z[1]: 2, z[2]: -2}
    _assert_really_nonzero(A * v_minus - r * v_minus, point)


def test_D4_gd_map_recursion_for_two_dimensions():
    """(I + eta A)^n = (1 + eta r)^n P+ + (1 - eta r)^n P- + P0 satisfies M(n+1) = (I + eta A) M(n), M(0) = I."""
    from theory.multistage.symbols import eta, n
    z = sp.Matrix(sp.symbols("z1:3", real=True))
    r = sp.sqrt((z.T * z)[0])
    A = higher_order.A_matrix(z)
    P = sp.zeros(3, 3)
    P[0, 0] = 1
    P[1:, 1:] = z * z.T / r**2
    Pp, Pm, P0 = (P + A / r) / 2, (P - A / r) / 2, sp.eye(3) - P
    gd = (1 + eta * r) ** n * Pp + (1 - eta * r) ** n * Pm + P0
    assert is_zero(gd.subs(n, n + 1) - (sp.eye(3) + eta * A) * gd)
    assert is_zero(gd.subs(n, 0) - sp.eye(3))
    wrong = sp.exp(eta * r * n) * Pp + sp.exp(-eta * r * n) * Pm + P0   # the flow rate |z|, not log(1+eta|z|)/eta
    _assert_really_nonzero(wrong.subs(n, n + 1) - (sp.eye(3) + eta * A) * wrong,
                           {n: 3, eta: sp.Rational(1, 10), z[0]: 1, z[1]: 2})


# ---------------------------------------------------------------------------
# D5, D6: growth lemma and plateau length


def test_D5_bound_solves_gronwall_equation_and_reaches_Q_eps():
    assert is_zero(sp.diff(growth.bound_expr, t) - (z_norm + eps) * growth.bound_expr)
    assert is_zero(growth.bound_expr.subs(t, 0) - q0)
    point = {q0: sp.Rational(1, 1000), eps: sp.Rational(1, 10), C_1: 3, m: 100, z_norm: sp.Rational(7, 5)}
    assert _value_at(growth.bound_expr.subs(t, growth.T_eps) - growth.Q_eps, point) < 1e-25
    # negative control: the growth rate |z| alone (without eps) does not reach Q_eps at T_eps
    wrong = q0 * sp.exp(z_norm * growth.T_eps)
    assert _value_at(wrong - growth.Q_eps, point) > NONZERO_FLOOR


def test_D6_T_p_is_the_exit_time():
    point = {m: 1000, alpha: 1, alpha_1: sp.Rational(3, 4), q0: sp.Rational(1, 250), z_norm: sp.Rational(6, 5)}
    exit_level = q0 * sp.exp(z_norm * initial_plateau.T_p)
    assert _value_at(exit_level - m ** (-alpha_1), point) < 1e-25
    wrong = q0 * sp.exp(2 * z_norm * initial_plateau.T_p)   # the K-rate 2|z| instead of the q-rate |z|
    assert _value_at(wrong - m ** (-alpha_1), point) > NONZERO_FLOOR


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
    point = {**_rational_data_point(model), model.a[0]: sp.Rational(1, 2),
             **{c: sp.Rational(j + 1, 3) for j, c in enumerate(model.W)}}
    _assert_really_nonzero(drift, point, simplify=False)   # simplify stalls on nested tanh sums


def test_D7_gap_series_coefficient():
    for name in ("tanh", "sin", "erf"):
        act = activation_from_spec(name)
        gap = act.expr - S * act.derivative(1)
        c3 = act.taylor_coefficients(3)[3]
        assert is_zero(sp.series(gap, S, 0, 4).removeO() + c3 * S**3 / 3)
        assert not is_zero(sp.series(gap, S, 0, 4).removeO() - c3 * S**3 / 3)  # the sign matters


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
    _assert_really_nonzero(residual, {K0: sp.Rational(1, 100), z_norm: 1, t: 2})


def test_D8_negative_control_logistic_with_rate_off_by_5_percent():
    wrong = reduced_dynamics.K_closed.subs(t, sp.Rational(105, 100) * t)
    residual = sp.diff(wrong, t) - reduced_dynamics.logistic_rhs.subs(K(t), wrong)
    _assert_really_nonzero(residual, {K0: sp.Rational(1, 100), z_norm: 1, t: 2})


def test_D8_expected_K0_is_the_mean_of_the_growing_mode_content():
    # u_k(0) ~ N(0, m^(-2 alpha)): E sum u_k^2 / (2|z|) = m * m^(-2 alpha) / (2|z|)
    assert is_zero(reduced_dynamics.K0_expected - m * m ** (-2 * alpha) / (2 * z_norm))


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
    from theory.multistage.symbols import eta
    K_gd = _K_with_rate(descent_time.rate_gd)
    T_d = descent_time.T_d.subs(descent_time.r, descent_time.rate_gd)
    point = {K0: sp.Rational(1, 500), delta: sp.Rational(1, 100), eta: sp.Rational(1, 10), z_norm: 2}
    assert _value_at(K_gd.subs(t, T_d) - (1 - delta), point) < 1e-25
    wrong = descent_time.T_d.subs(descent_time.r, descent_time.rate_flow)   # flow time used for GD
    assert _value_at(K_gd.subs(t, wrong) - (1 - delta), point) > NONZERO_FLOOR


def test_D9_negative_control_half_rate():
    K_flow = _K_with_rate(descent_time.rate_flow)
    wrong = descent_time.t_half.subs(descent_time.r, z_norm)   # factor 2 dropped
    _assert_really_nonzero(K_flow.subs(t, wrong) - sp.Rational(1, 2), {K0: sp.Rational(1, 100), z_norm: 1})


def test_D9_alpha_slope_is_exact_for_the_full_expectation():
    # E T_d is linear in alpha, so its alpha-derivative equals the asymptotic slope exactly
    assert is_zero(sp.diff(descent_time.E_T_d, alpha) - descent_time.slope_alpha)
    assert is_zero(descent_time.slope_alpha - 2 * sp.log(m) / descent_time.r)
    assert not is_zero(descent_time.slope_alpha - sp.log(m) / descent_time.r)


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
    _assert_really_nonzero(sp.diff(wrong, Kv).subs(Kv, 1), {z_norm: 1})
