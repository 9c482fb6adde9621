"""Q3b. Per-batch quadratics along a Hessian eigenvector: the mean fitted curvature and the fit's window.

Statement
---------
Along a unit eigenvector ``v`` of the full-data Hessian ``H`` (eigenvalue
``h``), the loss of a batch ``B`` drawn uniformly from the ``N`` samples is
``f_B(t) = f_B(theta + t v)``.  (1) The mean over batches of the exact
curvatures ``f_B''(0) = v^T H_B v`` is ``h``: the talk's quadratic model gives
every batch the curvature of the full data.  (2) A least-squares quadratic
fitted to ``f(t) = c0 + g t + (h / 2) t^2 + (d3 / 6) t^3 + (d4 / 24) t^4`` on
``[-w, w]`` has the curvature ``h + d4 w^2 / 14``: the odd term does not move
it, the quartic term biases it by ``d4 w^2 / 14``.  (3) The talk's window
(its repository's ``step4e_pos_eigen_line_search.py``: 80 grid points, the
scale adapted until the per-batch minima have a standard deviation of 10
grid steps) has the half-width ``w = 4 sigma``, four standard deviations of
the per-batch minima.

Assumptions
-----------
(1) Each batch is a uniform random subset (sampled without replacement
within the batch, batches independent: "overlap allowed"), so ``E[H_B] = H``
by linearity; the mean over ``K`` independent batches has the standard error
``sd(v^T H_B v) / sqrt(K)``.  (2) ``f`` is smooth and its Taylor polynomial of
degree 4 represents it on the window; the grid is dense enough that the
continuous least-squares projection stands for the discrete one.

Derivation
----------
(1) ``E[H_B] = (1/|B|) sum_{i in B} E[H_i] = H`` for a uniform subset, and
``v^T H v = h``.  (2) On ``[-w, w]`` with uniform weight, ``t^3`` is odd and
projects onto ``t`` only; ``t^4`` projects onto ``{1, t^2}`` with the
coefficient ``(E t^6 - E t^4 E t^2) / (E t^4 - (E t^2)^2) = 6 w^2 / 7`` on
``t^2`` (SymPy integrates the moments), so the fitted ``t^2`` coefficient is
``h / 2 + (d4 / 24)(6 w^2 / 7)`` and the curvature, twice it, ``h + d4 w^2 /
14``.  (3) 80 points over ``[-w, w]`` are ``2 w / 80`` apart; a standard
deviation of 10 of them is ``sigma = w / 4``.

References
----------
R. Ciuca, talk "Neural Network Training Dynamics" and its repository
``RazCiuca/MAIS_project_2024_nn_loss_landscape`` (README section 4, "Testing
the quadratic approximation", batches of 512 at iteration 10000, the end of
its first phase; ``step4e_pos_eigen_line_search.py``, the window).
"""
from __future__ import annotations

import sympy as sp

from ..derivation import Derivation, derivation_of, is_zero

KEY, TITLE = "Q3b", "Per-batch quadratics along a Hessian eigenvector: mean curvature, fit bias, window"

__all__ = ["KEY", "TITLE", "h", "w", "d3", "d4", "sigma", "QUARTIC_PROJECTION", "FITTED_CURVATURE",
           "CURVATURE_BIAS", "TALK_POINTS", "TALK_SPREAD_STEPS", "TALK_WINDOW", "derive"]

h = sp.Symbol("h", real=True)                    # the eigenvalue (the full-data curvature along v)
w = sp.Symbol("w", positive=True)                # the window's half-width
d3, d4 = sp.symbols("d3 d4", real=True)          # third and fourth derivatives of the loss along v
sigma = sp.Symbol("sigma", positive=True)        # the standard deviation of the per-batch minima
_t = sp.Symbol("t", real=True)


def _moment(k):
    return sp.integrate(_t ** k, (_t, -w, w)) / (2 * w)


#: the coefficient of t^2 in the least-squares projection of t^4 onto {1, t, t^2} over [-w, w]
QUARTIC_PROJECTION = sp.simplify((_moment(6) - _moment(4) * _moment(2)) / (_moment(4) - _moment(2) ** 2))
#: the curvature (twice the t^2 coefficient) of the least-squares quadratic of the quartic Taylor polynomial
FITTED_CURVATURE = sp.simplify(2 * (h / 2 + d4 / 24 * QUARTIC_PROJECTION))
#: its bias against the eigenvalue h
CURVATURE_BIAS = sp.simplify(FITTED_CURVATURE - h)
#: the talk's grid (points) and the spread of the minima it aims for (grid steps)
TALK_POINTS, TALK_SPREAD_STEPS = sp.Integer(80), sp.Integer(10)
#: the half-width of the talk's window in units of the minima's standard deviation: w = 4 sigma
TALK_WINDOW = sp.solve(sp.Eq(TALK_SPREAD_STEPS * 2 * w / TALK_POINTS, sigma), w)[0]


def derive() -> Derivation:
    """The three results, with zero-difference identities."""
    # the odd term: t^3 has no component on t^2 (its projection onto {1, t^2} vanishes: odd moments are zero)
    odd = sp.simplify((_moment(5) - _moment(3) * _moment(2)) / (_moment(4) - _moment(2) ** 2))
    # a direct least-squares solve of the normal equations for {1, t, t^2} against the quartic Taylor polynomial
    a0, a1, a2 = sp.symbols("a0 a1 a2")
    g = sp.Symbol("g", real=True)
    poly = g * _t + h / 2 * _t ** 2 + d3 / 6 * _t ** 3 + d4 / 24 * _t ** 4
    resid = poly - (a0 + a1 * _t + a2 * _t ** 2)
    normal = [sp.integrate(resid * b, (_t, -w, w)) for b in (1, _t, _t ** 2)]
    sol = sp.solve(normal, (a0, a1, a2), dict=True)[0]
    identities = {
        "projection of t^4 onto t^2 over [-w, w]: 6 w^2 / 7": is_zero(QUARTIC_PROJECTION - sp.Rational(6, 7) * w ** 2),
        "t^3 does not move the t^2 coefficient": is_zero(odd),
        "normal equations: curvature 2 a2 = h + d4 w^2 / 14": is_zero(2 * sol[a2] - FITTED_CURVATURE),
        "curvature bias = d4 w^2 / 14": is_zero(CURVATURE_BIAS - d4 * w ** 2 / 14),
        "no quartic term: the fit recovers h": is_zero(FITTED_CURVATURE.subs(d4, 0) - h),
        "the talk's window: w = 4 sigma": is_zero(TALK_WINDOW - 4 * sigma),
    }
    results = {
        "fitted curvature": sp.Eq(sp.Symbol("c_fit"), FITTED_CURVATURE),
        "curvature bias": sp.Eq(sp.Symbol("c_fit - h"), CURVATURE_BIAS),
        "talk's window": sp.Eq(w, TALK_WINDOW),
    }
    return derivation_of(__name__, results, identities)
