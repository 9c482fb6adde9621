"""Q3e. Reference values for the eigenbasis of a trained network's Hessian: random subspaces, Gaussian vectors,
round-off.

Statement
---------
1. A unit vector ``u`` drawn uniformly from the sphere in ``R^n`` puts the
   expected fraction ``m / n`` of its squared norm in any fixed
   ``m``-dimensional subspace; so the squared overlap of a ``k``-dimensional
   eigen-band at one checkpoint with an ``m``-dimensional band at another,
   per vector, is ``m / n`` for a random rotation (the random-subspace
   reference of the overlap matrix), and a random displacement puts ``m / n``
   of its squared norm in an ``m``-dimensional subspace.
2. A Gaussian vector ``z`` of ``n`` i.i.d. ``N(0, 1)`` coordinates has the
   participation ratio ``(sum z_i^2)^2 / sum z_i^4 -> n E[z^2]^2 / E[z^4] =
   n / 3``; a vector on ``p`` coordinates has ``p``.  Its largest 5 % of
   coordinates carry ``2 (q phi(q) + 1 - Phi(q)) = 0.2791`` of its squared
   norm (:mod:`theory.noisy_quadratic.spectrum`).
3. The midpoint rule for "mostly normally distributed, high-lambda vectors
   much more concentrated": a low band's mean mass ``m_low`` lies nearer the
   Gaussian value ``g`` than the high band's ``m_high`` when
   ``D = (m_high + g) / 2 - m_low > 0``.
4. Round-off: eigenvalues of a symmetric float64 matrix computed by a
   backward-stable solver (LAPACK ``syevr``) are exact for a matrix within
   ``c n eps |H|`` of it (``c`` of order one), so an eigenvalue below
   ``-tau |lambda_max|`` with ``tau = C n eps`` (``C = 1000``, covering the
   solver's constant and the rounding of the autograd Hessian itself) is
   negative beyond round-off.

Assumptions
-----------
Uniform measure on the sphere (the Haar measure for subspaces); i.i.d.
coordinates for the Gaussian reference (the finite-``n`` spread is measured by
the claims on seeded draws); ``|H|`` the spectral norm, ``|lambda_max|`` for a
Hessian whose largest eigenvalue has the largest modulus.

Derivation
----------
1. By symmetry ``E[u_i^2]`` is the same for every coordinate and the ``n``
   of them sum to ``E|u|^2 = 1``, so ``E[u_i^2] = 1 / n``; an orthonormal
   basis of the subspace rotated onto ``m`` coordinates gives ``m / n``.
2. ``E[z^2] = 1`` and ``E[z^4] = 3`` (SymPy integrates the normal density);
   the ratio of sums tends to the ratio of expectations.
3. ``|m_low - g| < |m_high - m_low|`` with ``g <= m_low <= m_high`` reads
   ``m_low - g < m_high - m_low``, i.e. ``D > 0``.
4. Weyl's inequality: a perturbation ``E`` moves each eigenvalue by at most
   ``|E|_2``.

References
----------
R. Ciuca, talk and repository (``step2e_plot_eigenvec_power.py``: the top
2000 of 26,000 eigenvectors' cumulative power against a Gaussian vector's;
``step2f_eigvec_similarity.py``: squared overlaps between checkpoints by
eigenvalue; ``step2g_eigvec_cliffdrop_sim.py``: the cliff's displacement in
the eigenbasis before the cut); G. W. Stewart and J. Sun, *Matrix
Perturbation Theory* (Weyl); N. J. Higham, *Accuracy and Stability of
Numerical Algorithms* (backward stability of symmetric eigensolvers).
"""
from __future__ import annotations

import sympy as sp

from ..derivation import Derivation, derivation_of, is_zero

KEY, TITLE = "Q3e", "The Hessian's eigenbasis: random-subspace overlaps, Gaussian vectors, round-off"

__all__ = ["KEY", "TITLE", "n", "m", "eps", "C", "m_high", "m_low", "g", "RANDOM_OVERLAP", "GAUSSIAN_PR",
           "MIDPOINT", "ROUNDOFF", "ROUNDOFF_FACTOR", "TALK_WINDOW_FRACTION", "derive"]

n, m = sp.symbols("n m", positive=True, integer=True)     # dimension, subspace dimension
eps = sp.Symbol("epsilon", positive=True)                 # the unit round-off of float64
C = sp.Symbol("C", positive=True)
m_high, m_low, g = sp.symbols("m_high m_low g", positive=True)
_z = sp.Symbol("z", real=True)
_e = sp.Symbol("e", positive=True)                        # E[u_i^2]

_PHI = sp.exp(-_z ** 2 / 2) / sp.sqrt(2 * sp.pi)
_EU2 = sp.solve(sp.Eq(n * _e, 1), _e)[0]
#: the expected squared norm of a uniform unit vector in an m-dimensional subspace: m / n
RANDOM_OVERLAP = m * _EU2
#: participation ratio of a Gaussian vector over n: E[z^2]^2 / E[z^4]
GAUSSIAN_PR = sp.integrate(_z ** 2 * _PHI, (_z, -sp.oo, sp.oo)) ** 2 / sp.integrate(_z ** 4 * _PHI, (_z, -sp.oo, sp.oo))
#: positive when the low band is nearer the Gaussian value than the high band
MIDPOINT = (m_high + g) / 2 - m_low
#: the round-off threshold (relative to |lambda_max|) and its safety factor
ROUNDOFF_FACTOR = sp.Integer(1000)
ROUNDOFF = C * n * eps
#: the talk's eigenvector window: its top 2000 eigenvectors of 26,000 parameters
TALK_WINDOW_FRACTION = sp.Rational(2000, 26000)


def derive() -> Derivation:
    identities = {
        "E[u_i^2] = 1 / n": is_zero(_EU2 - 1 / n),
        "random overlap of an m-dimensional subspace = m / n": is_zero(RANDOM_OVERLAP - m / n),
        "the whole space holds all of it (m = n)": is_zero(RANDOM_OVERLAP.subs(m, n) - 1),
        "Gaussian participation ratio / n = 1 / 3": is_zero(GAUSSIAN_PR - sp.Rational(1, 3)),
        "midpoint rule: D > 0 <=> m_low - g < m_high - m_low":
            is_zero(2 * MIDPOINT - ((m_high - m_low) - (m_low - g))),
        "round-off threshold at n = 1482, C = 1000: 3.3e-10":
            abs(float(ROUNDOFF.subs({C: ROUNDOFF_FACTOR, n: 1482, eps: sp.Float(2.0) ** -52})) - 3.29e-10) < 1e-12,
        "the talk's window: 7.7 % of the parameters": abs(float(TALK_WINDOW_FRACTION) - 0.0769) < 1e-4,
    }
    results = {
        "random-subspace overlap": sp.Eq(sp.Symbol("E|P_m u|^2"), RANDOM_OVERLAP),
        "Gaussian participation ratio / n": sp.Eq(sp.Symbol("PR/n"), GAUSSIAN_PR),
        "midpoint rule": sp.Eq(sp.Symbol("D"), MIDPOINT),
        "round-off threshold": sp.Eq(sp.Symbol("tau"), ROUNDOFF),
        "talk's window": sp.Eq(sp.Symbol("k/n"), TALK_WINDOW_FRACTION),
    }
    return derivation_of(__name__, results, identities)
