"""D7 in numbers: W2rel of a set of neurons, the population law ``F_d`` and ``c_d`` by quadrature, and the exact
linear law at finite width by Monte Carlo.

The derivation (the law's statement, ``r(tau)``, the small-``r`` scaling and
the asymptotic rate) is :mod:`theory.multistage.balance`; ``r(tau)`` and
``exp(tA)`` reach NumPy through the lambdify bridge.  ``F_d`` is evaluated by
quadrature: the survival function of ``Y = sqrt(N^2 + r^2 chi^2_(d-1))`` is
``chi.sf(y/r) + int_0^(y/r) 2 Phi_c(sqrt(y^2 - r^2 q^2)) chi_(d-1)(q) dq``
(Gauss-Legendre after ``q = (y/r) sin theta``), the transport map ``T(x)``
solves ``P(Y > T) = P(|N| > x)``, and ``F_d^2 = int_0^oo (T(x) - x)^2 2 phi(x)
dx`` (``scipy.integrate.quad``).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import integrate, optimize, special

from theory.bridge import numeric
from theory.multistage.balance import R_OF_TAU, tau

from .linear_stage import expm_closed_form

__all__ = ["w2_relative", "population_w2rel", "c_coefficient", "linear_law_w2rel", "linear_law_samples",
           "finite_m_constant", "r_of_tau"]


def w2_relative(a: np.ndarray, W: np.ndarray) -> float:
    """``W2(rho_|a|, rho_|w|) / (mean a^2)^(1/2)`` for one set of neurons (rows of ``W``)."""
    amp_a = np.sort(np.abs(a))
    amp_w = np.sort(np.linalg.norm(W, axis=1))
    return float(np.sqrt(np.mean((amp_a - amp_w) ** 2)) / np.sqrt(np.mean(a**2)))


def r_of_tau(tau_value):
    """``r = (cosh 2 tau)^(-1/2)`` through the bridge."""
    return numeric(R_OF_TAU, (tau,))(np.asarray(tau_value, float))


_GL_X, _GL_W = np.polynomial.legendre.leggauss(64)
_TH = (_GL_X + 1) * np.pi / 4                  # theta in (0, pi/2)
_THW = _GL_W * np.pi / 4
_SIN, _COS = np.sin(_TH), np.cos(_TH)


def _chi_pdf(q: np.ndarray, k: int) -> np.ndarray:
    return np.exp((k - 1) * np.log(q) - q * q / 2 - (k / 2 - 1) * np.log(2.0) - special.gammaln(k / 2))


def _sf_Y(y: float, r: float, k: int) -> float:
    """``P(sqrt(N^2 + r^2 chi_k^2) > y)`` (``q = (y/r) sin theta`` makes the integrand smooth)."""
    b = y / r
    inner = 2 * special.ndtr(-y * _COS) * _chi_pdf(b * _SIN, k) * b * _COS
    return float(inner @ _THW + special.gammaincc(k / 2, b * b / 2))


def _transport(x: float, r: float, k: int) -> float:
    """The monotone map ``T`` with ``P(Y > T(x)) = P(|N| > x)`` (``T(x) >= x``: Y dominates |N|)."""
    target = 2 * special.ndtr(-x)
    if _sf_Y(x, r, k) <= target:            # far tail: T(x) = x to working precision
        return x
    hi = x + r * (np.sqrt(k) + 1)
    while _sf_Y(hi, r, k) > target:
        hi *= 2
    return optimize.brentq(lambda y: _sf_Y(y, r, k) - target, x, hi, xtol=1e-15, rtol=1e-14)


@lru_cache(maxsize=4096)
def _population(r: float, d: int) -> float:
    if d == 1 or r == 0:
        return 0.0
    k = d - 1
    f = lambda x: (_transport(x, r, k) - x) ** 2 * 2 * np.exp(-x * x / 2) / np.sqrt(2 * np.pi)
    value, _ = integrate.quad(f, 0, 10, points=[r, 3 * r, 10 * r], limit=200, epsabs=1e-14, epsrel=1e-9)
    return float(np.sqrt(value))


def population_w2rel(r, d: int) -> np.ndarray:
    """``F_d(r) = W2(|N(0,1)|, sqrt(N(0,1)^2 + r^2 chi^2_(d-1)))`` by quadrature of the quantile functions."""
    if d < 1:
        raise ValueError(f"d = {d}: the input dimension must be >= 1")
    r = np.asarray(r, float)
    if np.any((r < 0) | (r > 1)):
        raise ValueError(f"r = {r}: r = (cosh 2 tau)^(-1/2) lies in [0, 1]")
    return np.vectorize(lambda rv: _population(float(rv), int(d)))(r)


def _eta(xi: float, k: int) -> float:
    """Solve ``E sqrt((eta^2 - Q)_+) = xi``, ``Q ~ chi^2_k`` (``q = eta sin theta``)."""
    g = lambda e: float((e * _COS) ** 2 * _chi_pdf(e * _SIN, k) @ _THW)
    return optimize.brentq(lambda e: g(e) - xi, xi, xi + 1 + np.sqrt(k), xtol=1e-15, rtol=1e-14) if xi > 0 else 0.0


@lru_cache(maxsize=64)
def c_coefficient(d: int) -> float:
    """``c_d = sqrt(2/pi) int_0^oo (eta(xi) - xi)^2 dxi``; the tail beyond ``X`` from ``eta - xi ~ (d-1)/(2 xi)``."""
    if d == 1:
        return 0.0
    k, X = d - 1, 50.0
    value, _ = integrate.quad(lambda xi: (_eta(xi, k) - xi) ** 2, 0, X, points=[1, 3, 10], limit=200,
                              epsabs=1e-13, epsrel=1e-10)
    return float(np.sqrt(2 / np.pi) * (value + k**2 / (4 * X)))


# ---------------------------------------------------------------------------
# the exact linear law at finite m

def linear_law_w2rel(Q0: np.ndarray, z: np.ndarray, times, rate_factor: float = 1.0) -> np.ndarray:
    """W2rel of ``exp(tA) q(0)`` (rows of ``Q0`` are ``q_k(0) = (a_k, w_k)``) at each time.

    ``rate_factor`` builds the map with ``z`` scaled (a deliberately wrong rate, for negative controls).
    """
    zz = rate_factor * np.asarray(z, float)
    out = []
    for tv in np.atleast_1d(times):
        Q = Q0 @ expm_closed_form(float(tv), zz).T
        out.append(w2_relative(Q[:, 0], Q[:, 1:]))
    return np.asarray(out)


def linear_law_samples(m: int, d: int, taus, reps: int, rng: np.random.Generator) -> np.ndarray:
    """``reps x len(taus)`` draws of W2rel of ``m`` neurons under the exact linear flow.

    The law depends only on ``tau = |z| t`` (rotate ``z`` onto ``e_1``, scale ``s`` out), so each draw is moved
    by D4's closed form ``exp(tau A)`` at ``z = e_1`` (through the bridge, :func:`expm_closed_form`):
    ``a = cosh tau a0 + sinh tau p0``, ``zhat.w = sinh tau a0 + cosh tau p0``, ``w_perp`` fixed.
    """
    taus = np.asarray(taus, float)
    e1 = np.zeros(d)
    e1[0] = 1.0
    maps = [expm_closed_form(float(tv), e1).T for tv in taus]
    out = np.empty((reps, len(taus)))
    for i in range(reps):
        q = rng.standard_normal((m, d + 1))
        for j, M in enumerate(maps):
            Q = q @ M
            out[i, j] = w2_relative(Q[:, 0], Q[:, 1:])
    return out


def finite_m_constant(m: int, d: int, taus, reps: int, rng: np.random.Generator) -> dict:
    """Measure ``C_m`` in ``E W2rel^2 = F_d^2 + C_m^2 e^{-2 tau} / m`` by Monte Carlo of the linear law.

    Weighted least squares (weights: inverse Monte Carlo variance) of ``E W2rel^2 - F_d^2`` on
    ``e^{-2 tau}/m`` over ``taus``; returns the constant, the
    samples and ``F_d`` at ``taus``.  This is a measurement: no closed form of ``C_m`` is derived.
    """
    taus = np.asarray(taus, float)
    samples = linear_law_samples(m, d, taus, reps, rng)
    F = population_w2rel(r_of_tau(taus), d)
    excess = np.mean(samples**2, axis=0) - F**2
    weight = reps / np.maximum(np.var(samples**2, axis=0), np.finfo(float).tiny)   # 1 / Var(mean W2rel^2)
    basis = np.exp(-2 * taus) / m
    C2 = float(np.sum(weight * excess * basis) / np.sum(weight * basis**2))
    return {"C": float(np.sqrt(max(C2, 0.0))), "samples": samples, "F": F, "taus": taus}
