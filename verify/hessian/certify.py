"""Deciding whether the top Hessian eigenvalue lies above or below a level, from a few Lanczos steps.

:func:`decide_top` runs plain Lanczos with full reorthogonalisation from a
start vector and, after every product, asks a caller's rule whether the top
Ritz pair and an upper bound already settle a question such as "is
``lambda_max`` above ``lambda_0``?".  It stops at the first answer; where none
comes within ``max_steps`` products it says so (the caller then converges the
eigenvalue as before, e.g. with :func:`~verify.hessian.top_eigenpair` warm-
started from the top Ritz vector).

What each answer rests on (``H`` symmetric, ``Q = [q_1 .. q_k]`` the
orthonormal Lanczos vectors, ``T`` the k x k tridiagonal matrix with Ritz
values ``theta_1 >= ... >= theta_k`` and off-diagonals ``beta_1 .. beta_k``,
``beta_k`` the norm of the last, unused vector):

**Above (rigorous).**  ``theta_1`` is the Rayleigh quotient of the unit vector
``y = Q s``, so ``theta_1 <= lambda_max``: a level below ``theta_1`` lies below
``lambda_max``.  The residual ``r = |H y - theta_1 y|`` is bounded from the
recurrence by ``beta_k |s_k| + |C|_F``, where ``C`` collects the
reorthogonalisation coefficients (zero in exact arithmetic: the relation
``A Q = Q T + beta_k q_{k+1} e_k^T + Q C`` then holds exactly for the products
``A`` as computed); ``r`` bounds the distance of ``theta_1`` to *some*
eigenvalue only, so it serves the symmetric error band the callers report
(``sharpness_band``), not an upper bound of ``lambda_max``.

**Below (an upper bound that holds under a stated premise).**  No product-only
method can bound ``lambda_max`` from above without an assumption: an
eigenvector orthogonal to the Krylov space is invisible (the converged ARPACK
value rests on the same premise).  The assumption made here is explicit: the
start vector ``q_1`` has an overlap of at least ``delta`` (default 1e-3) with
the top eigenvector (for a warm start, the previous step's top eigenvector:
the top eigenvector turns by less than ``arccos(1e-3)`` in one step).  Given
that, for an eigenpair ``H u = lambda u`` with ``lambda > theta_1``, with
``z = Q^T u``, the Lanczos relation gives
``(lambda I - T) z = beta_k (q_{k+1}.u) e_k + C^T z - E^T u``, ``E = A Q - H Q``
the products' round-off, and since ``(lambda I - T)^{-1}_{1k} =
beta_1 ... beta_{k-1} / prod_i (lambda - theta_i)``,

    |q_1 . u| <= prod_i beta_i / prod_i (lambda - theta_i) + (|C|_F + |E|_F) / (lambda - theta_1) =: g(lambda),

decreasing in ``lambda``.  So ``lambda_max <= U``, ``U`` the root of
``g(U) = delta`` (or ``lambda_max <= theta_1 <= U``).  ``|E|_F`` is taken as
``sqrt(k) * product_rtol * scale``, ``product_rtol`` the relative accuracy of
one product (1e-5 in float32, the tolerance :func:`~verify.hessian.lanczos.default_tol`
gives float32 products; 1e-10 in float64) and ``scale`` the largest ``|theta_i|``
or the caller's reference value.  The first term is the classical Lanczos
convergence bound read a posteriori: an eigenvalue above ``U`` would have been
amplified into the Krylov space within ``k`` steps had the start vector held
the overlap ``delta`` of it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy.linalg import eigh_tridiagonal
from scipy.optimize import brentq

from theory.errors import InputError

from .lanczos import default_tol
from .operator import as_operator

__all__ = ["TopDecision", "decide_top", "upper_bound", "DEFAULT_OVERLAP"]

#: the premise of the upper bound: the start vector's overlap with the top eigenvector is at least this
DEFAULT_OVERLAP = 1e-3


@dataclass(frozen=True)
class TopDecision:
    """The answer of :func:`decide_top`: ``decision`` (the rule's answer, None where none came), the top Ritz pair
    after the last step (``value``, unit ``vector``, ``residual`` bound), the upper bound ``upper`` of
    ``lambda_max`` under the overlap premise ``overlap``, the Lanczos ``steps`` and ``products`` spent."""

    decision: object
    value: float
    vector: np.ndarray
    residual: float
    upper: float
    overlap: float
    steps: int
    products: int


def upper_bound(thetas: np.ndarray, betas: np.ndarray, extra: float, delta: float) -> float:
    """The root ``U > theta_1`` of ``prod beta_i / prod (U - theta_i) + extra / (U - theta_1) = delta`` (module
    docstring); ``thetas`` the Ritz values, ``betas`` the k off-diagonals including the last."""
    top = float(np.max(thetas))
    logb = float(np.sum(np.log(np.maximum(betas, 1e-300))))

    def g(u):
        d = u - thetas
        return math.exp(min(logb - float(np.sum(np.log(d))), 700.0)) + extra / (u - top) - delta

    span = max(float(np.max(np.abs(thetas))), float(np.max(betas, initial=0.0)), extra, 1e-300)
    lo, hi = top + 1e-12 * span, top + span
    while g(hi) > 0:
        hi = top + 2 * (hi - top)
        if hi - top > 1e12 * span:
            return math.inf
    if g(lo) <= 0:
        return lo
    return float(brentq(g, lo, hi, xtol=1e-12 * span, rtol=1e-12))


def decide_top(hessian, rule: Callable[[float, float, float], object], *, v0: np.ndarray | None = None, seed: int = 0,
               max_steps: int = 16, delta: float = DEFAULT_OVERLAP, product_rtol: float | None = None,
               scale: float = 0.0) -> TopDecision:
    """Lanczos from ``v0`` (or a seeded Gaussian start) until ``rule(theta_1, residual, upper)`` returns something
    other than None, or ``max_steps`` products (module docstring for what ``residual`` and ``upper`` bound).

    ``product_rtol`` defaults to :func:`~verify.hessian.lanczos.default_tol` of ``hessian``; ``scale``: a
    reference magnitude of the spectrum (e.g. ``lambda_0``) for the products' error.
    """
    if not 0 < delta < 1:
        raise InputError("delta", delta, "must lie in (0, 1)", "use e.g. 1e-3")
    if max_steps < 1:
        raise InputError("max_steps", max_steps, "must be at least 1", "use e.g. 16")
    op = as_operator(hessian)
    n = op.shape[0]
    start = np.random.default_rng(np.random.SeedSequence(seed)).standard_normal(n) if v0 is None else np.array(v0, float)
    if start.shape != (n,) or not np.linalg.norm(start) > 0 or not np.all(np.isfinite(start)):
        raise InputError("v0", start.shape, f"must be a finite non-zero vector of length {n}", "pass a previous eigenvector")
    rtol = default_tol(hessian) if product_rtol is None else product_rtol
    steps = min(max_steps, n)
    Q = np.empty((steps + 1, n))
    Q[0] = start / np.linalg.norm(start)
    alphas, betas = [], []
    c2 = 0.0                                       # |C|_F^2: the reorthogonalisation coefficients
    decision, value, vector, residual, upper = None, math.nan, Q[0], math.inf, math.inf
    for k in range(steps):
        w = op.matvec(Q[k])
        if not np.all(np.isfinite(w)):
            raise FloatingPointError("a Hessian-vector product is not finite")
        alpha = float(Q[k] @ w)
        w -= alpha * Q[k]
        if k:
            w -= betas[-1] * Q[k - 1]
        for _ in range(2):                          # full reorthogonalisation, twice ("twice is enough")
            coef = Q[:k + 1] @ w
            w -= coef @ Q[:k + 1]
            c2 += float(coef @ coef)
        beta = float(np.linalg.norm(w))
        alphas.append(alpha)
        betas.append(beta)
        thetas, S = eigh_tridiagonal(np.array(alphas), np.array(betas[:-1])) if k else (np.array(alphas),
                                                                                         np.ones((1, 1)))
        s = S[:, -1]
        value = float(thetas[-1])
        c_norm = math.sqrt(c2)
        residual = beta * abs(float(s[-1])) + c_norm
        extra = c_norm + math.sqrt(k + 1) * rtol * max(float(np.max(np.abs(thetas))), abs(scale))
        upper = upper_bound(thetas, np.array(betas), extra, delta)
        vector = s @ Q[:k + 1]
        decision = rule(value, residual, upper)
        if decision is not None or beta == 0.0 or k + 1 == steps:
            break
        Q[k + 1] = w / beta
    vector = vector / np.linalg.norm(vector)
    return TopDecision(decision, value, vector, residual, upper, delta, len(alphas), op.products)
