"""Q1 and Q2: every identity holds, and wrong formulas fail the same zero-difference checks."""
from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import theory
from theory.derivation import is_zero
from theory.noisy_quadratic import momentum as q2
from theory.noisy_quadratic import quadratic as q1


@pytest.mark.parametrize("key", ["Q1", "Q2"])
def test_every_identity_holds(key):
    d = theory.derive("noisy-quadratic", key)
    assert d.identities and all(v is True for v in d.identities.values()), d.identities
    for section in ("statement", "assumptions", "derivation", "references"):
        assert d.text.get(section), section


def test_wrong_floors_fail_the_lyapunov_check():
    V = q1.VARIANCE
    assert is_zero(V - (q1.R**2 * V + q1.B**2 * q1.sigma**2))
    wrong = q1.alpha * q1.lam * q1.sigma**2                 # the floor without its 1 / (1 - alpha lambda)
    assert not is_zero(wrong - (q1.R**2 * wrong + q1.B**2 * q1.sigma**2))
    P = q2.COVARIANCE
    assert is_zero(P - q2.A * P * q2.A.T - q2.b * q2.b.T * q2.sigma**2)
    bad = P.subs(q2.gamma, q2.gamma**2)
    assert not is_zero(bad - q2.A * bad * q2.A.T - q2.b * q2.b.T * q2.sigma**2)


def test_the_approximation_is_not_the_exact_floor():
    assert not is_zero(q2.APPROXIMATION - q2.STATIONARY_LOSS)
    at = {q2.alpha: sp.Rational(1, 100), q2.lam: 1, q2.sigma: 1, q2.gamma: sp.Rational(9, 10)}
    assert float((q2.APPROXIMATION / q2.STATIONARY_LOSS).subs(at)) < 0.6


def test_the_lyapunov_solution_matches_scipy():
    """Independent oracle: scipy's discrete Lyapunov solver on the numeric A and b."""
    from scipy.linalg import solve_discrete_lyapunov

    for a, lam, s, g in [(0.1, 2.0, 0.7, 0.5), (0.01, 1.0, 1.0, 0.99), (0.3, 3.0, 0.2, 0.0)]:
        at = {q2.alpha: a, q2.lam: lam, q2.sigma: s, q2.gamma: g}
        A = np.array(q2.A.subs(at), float)
        b = np.array(q2.b.subs(at), float)
        P = solve_discrete_lyapunov(A, b @ b.T * s**2)
        assert np.allclose(P, np.array(q2.COVARIANCE.subs(at), float), rtol=1e-10)


def test_spectral_radius_is_the_largest_eigenvalue_modulus():
    for a, g in [(0.01, 0.5), (0.3, 0.5), (1.48, 0.5), (0.2, 0.0), (1.2, 0.9)]:
        A = np.array(q2.A.subs({q2.alpha: a, q2.lam: 1, q2.gamma: g}), float)
        rho = float(q2.SPECTRAL_RADIUS.subs({q2.alpha: a, q2.lam: 1, q2.gamma: g}))
        assert rho == pytest.approx(max(abs(np.linalg.eigvals(A))), rel=1e-12)


def test_stability_bound_and_q1_interval():
    assert q1.STABLE_INTERVAL == sp.Interval.open(0, 1)
    assert is_zero(q2.STABLE_UPPER - (1 + q2.gamma))
