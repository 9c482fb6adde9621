"""D4, the linearized flow: derivation identities, symbolic checks of exp(tA) and numeric oracles (mpmath, expm).

Oracles, and why they are trusted:

* mpmath at 40 significant digits: the closed form evaluated with 25 more digits than float64 has;
* ``scipy.linalg.expm``: Padé approximation with scaling and squaring, an algorithm unrelated
  to the closed form;
* ``numpy.linalg.matrix_power`` (the gradient-descent map).

Every check is paired with a negative control that must fail.
"""
from __future__ import annotations

import mpmath
import numpy as np
import pytest
import scipy.linalg
import sympy as sp

from theory.derivation import is_zero
from theory.bridge import numeric
from theory.multistage import higher_order, linearized_flow
from theory.multistage.symbols import t
from verify.multistage import linear_stage

from symbolic_checks import assert_every_identity_holds, assert_really_nonzero, assert_records_statement_and_serialises

EPS = np.finfo(float).eps

#: The closed form of exp(tA) evaluated in float64 is a handful of roundings of cosh, sinh
#: and a rank-two projector: observed <= 7 eps relative (Frobenius) against 40 digits.
CLOSED_FORM_ULPS = 32

#: scipy.linalg.expm (scaling and squaring, Higham 2005) loses accuracy with each squaring;
#: observed up to ~2.5e3 eps relative at |tA| ~ 4-10 against a 40-digit reference; the
#: allowance scales with the number of squarings ~ |tA|.
EXPM_ULPS_PER_UNIT_NORM = 2000

#: Matrix powers of a 4x4 matrix with n <= 200 factors: round-off grows at most linearly in n.
MATRIX_POWER_ULPS_PER_STEP = 16


# ---------------------------------------------------------------------------
# the derivation: all identities verified


def test_every_identity_of_the_derivation_holds(derivations):
    assert_every_identity_holds(derivations(linearized_flow.KEY), linearized_flow.KEY)


def test_derivation_records_statement_and_serialises(derivations):
    assert_records_statement_and_serialises(derivations(linearized_flow.KEY), linearized_flow.KEY)


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
    assert_really_nonzero(sp.diff(wrong, t) - A * wrong, point)
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
    assert_really_nonzero(A * v_minus - r * v_minus, point)


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
    assert_really_nonzero(wrong.subs(n, n + 1) - (sp.eye(3) + eta * A) * wrong,
                          {n: 3, eta: sp.Rational(1, 10), z[0]: 1, z[1]: 2})


# ---------------------------------------------------------------------------
# D4: exp(tA) and the gradient-descent map


def _A(z: np.ndarray) -> np.ndarray:
    d = len(z)
    A = np.zeros((d + 1, d + 1))
    A[0, 1:], A[1:, 0] = z, z
    return A


def _random_cases(seed: int, count: int = 6):
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    for dim in (2, 3, 4):
        for _ in range(count):
            yield dim, rng.normal(size=dim) * rng.uniform(0.2, 2.0), float(rng.uniform(0.0, 5.0))


def _rel(X, Y) -> float:
    return float(np.linalg.norm(X - Y) / np.linalg.norm(Y))


def test_D4_closed_form_matches_40_digit_reference():
    for dim, z, tv in _random_cases(11, count=3):
        zs, X = linearized_flow.closed_form(dim)
        ref_fn = numeric(X, (t, *zs), "mpmath")
        with mpmath.workdps(40):
            ref = np.array(ref_fn(mpmath.mpf(tv), *map(mpmath.mpf, z)).tolist(), dtype=float)
        got = linear_stage.expm_closed_form(tv, z)
        assert _rel(got, ref) <= CLOSED_FORM_ULPS * EPS * (1 + tv * np.linalg.norm(z))


def test_D4_closed_form_matches_scipy_expm():
    for dim, z, tv in _random_cases(12):
        got = linear_stage.expm_closed_form(tv, z)
        ref = scipy.linalg.expm(tv * _A(z))
        assert _rel(got, ref) <= EXPM_ULPS_PER_UNIT_NORM * EPS * (1 + tv * np.linalg.norm(z))


def test_D4_negative_control_rate_off_by_5_percent_differs_from_expm():
    for dim, z, tv in _random_cases(13):
        tv = max(tv, 1.0) / np.linalg.norm(z)                 # t |z| >= 1 so the rate matters
        wrong = linear_stage.expm_closed_form(1.05 * tv, z)  # cosh(1.05 |z| t) ... with A unchanged
        ref = scipy.linalg.expm(tv * _A(z))
        assert _rel(wrong, ref) > 1e3 * EXPM_ULPS_PER_UNIT_NORM * EPS * (1 + tv * np.linalg.norm(z))


def _projectors(z: np.ndarray):
    r = np.linalg.norm(z)
    d = len(z)
    P = np.zeros((d + 1, d + 1))
    P[0, 0] = 1.0
    P[1:, 1:] = np.outer(z, z) / r**2
    A = _A(z)
    return (P + A / r) / 2, (P - A / r) / 2, np.eye(d + 1) - P


@pytest.mark.parametrize("eta_z", [0.01, 0.1, 0.5])
def test_D4_gd_map_and_effective_rate(eta_z):
    rng = np.random.default_rng(np.random.SeedSequence([14, int(1000 * eta_z)]))
    z = rng.normal(size=3)
    r = np.linalg.norm(z)
    eta = eta_z / r
    Pp, Pm, P0 = _projectors(z)
    for n in (1, 7, 40, 200):
        M = np.linalg.matrix_power(np.eye(4) + eta * _A(z), n)
        spectral = (1 + eta * r) ** n * Pp + (1 - eta * r) ** n * Pm + P0
        assert _rel(spectral, M) <= MATRIX_POWER_ULPS_PER_STEP * EPS * n
        top = np.max(np.linalg.eigvalsh(M))
        assert np.log(top) / (n * eta) == pytest.approx(linear_stage.gd_rate(eta, r), rel=1e-12)
    # the effective rate is below the flow rate |z| and not equal to it (negative control)
    rate = linear_stage.gd_rate(eta, r)
    assert rate < r
    assert r - rate > 0.25 * eta * r**2            # log(1+x) <= x - x^2/2 + x^3/3
    flow_growth = np.exp(r * 200 * eta)
    M = np.linalg.matrix_power(np.eye(4) + eta * _A(z), 200)
    assert abs(np.max(np.linalg.eigvalsh(M)) / flow_growth - 1) > 1e3 * MATRIX_POWER_ULPS_PER_STEP * EPS * 200
