"""Q1. Gradient descent on a noisy quadratic: stationary loss, stability, relaxation, learning-rate cuts.

Statement
---------
Gradient descent with step ``alpha`` on ``f(x) = lambda (x + eps)^2``, with
``eps ~ N(0, sigma^2)`` drawn afresh at every step, is the linear recursion
``x' = (1 - 2 alpha lambda) x - 2 alpha lambda eps``.  Its stationary
variance and loss are

    Var x = alpha lambda sigma^2 / (1 - alpha lambda),
    E[lambda x^2] = alpha lambda^2 sigma^2 / (1 - alpha lambda),

and it is stable (has a stationary law) exactly for ``0 < alpha lambda < 1``.
From ``x_0`` the mean relaxes like ``(1 - 2 alpha lambda)^n`` and the
variance like ``(1 - 2 alpha lambda)^(2n)``:
``Var x_n = V + (Var x_0 - V) (1 - 2 alpha lambda)^(2n)`` with ``V`` the
stationary variance.  Cutting the step to ``alpha / k`` from the old
stationary law lowers the floor by the factor
``k (1 - alpha lambda / k) / (1 - alpha lambda)`` (``k`` for small
``alpha lambda``, more above: the talk's "cliff"), reached like
``(1 - 2 alpha lambda / k)^(2n)``.  A quadratic with Hessian eigenvalues
``2 lambda_i`` and independent noise ``sigma_i`` along its eigenvectors is a
sum of independent copies: the floor is the sum of the per-direction floors.

Assumptions
-----------
``lambda > 0``, ``alpha > 0``, ``sigma >= 0``; the shifts ``eps`` are
independent across steps and of the iterate; the "loss" is the talk's
``E[lambda x^2]`` (the expected loss ``E[f]`` adds ``lambda sigma^2``).
Multivariate: the directions' noises are independent.

Derivation
----------
The gradient ``df/dx`` (``diff``) gives the update; its coefficients of ``x``
and ``eps`` (``r`` and ``b``) are read off by differentiation and the update
is checked to be exactly ``r x + b eps``.  The variance obeys
``p' = r^2 p + b^2 sigma^2`` (the scalar Lyapunov recursion); its fixed point
is solved for (``solve``), its transient solved as a recurrence
(``rsolve``), the mean's recurrence likewise.  Stability is
``solveset(|r| < 1)`` in ``c = alpha lambda``.  The cut substitutes
``alpha / k`` into the stationary variance and starts the transient from the
old stationary variance.

References
----------
R. Ciuca, talk "Neural Network Training Dynamics: Towards Making Sense of a
Confusing Mess" (Universite de Montreal; repository
RazCiuca/MAIS_project_2024_nn_loss_landscape), the slide "A Quadratic
Stochastic Model"; the scalar AR(1) process and its discrete Lyapunov
equation are standard (e.g. Hamilton, *Time Series Analysis*, ch. 3).
"""
from __future__ import annotations

import sympy as sp

from ..derivation import Derivation, derivation_of, is_zero

KEY, TITLE = "Q1", "Gradient descent on a noisy quadratic: floor, stability, relaxation, learning-rate cut"

__all__ = ["KEY", "TITLE", "alpha", "lam", "sigma", "x", "eps", "n", "k", "c", "p0", "m0", "LOSS_FUNCTION",
           "X_NEXT", "R", "B", "VARIANCE", "STATIONARY_LOSS", "STABLE_INTERVAL", "MEAN_TRANSIENT",
           "VARIANCE_TRANSIENT", "MEAN_FACTOR", "VARIANCE_FACTOR", "CUT_VARIANCE", "CUT_LOSS", "CUT_TRANSIENT",
           "CUT_LOSS_TRANSIENT", "CLIFF_RATIO", "SPECTRUM_LOSS", "d", "i", "lam_i", "sigma_i", "derive"]

alpha, lam = sp.symbols("alpha lambda", positive=True)
sigma = sp.Symbol("sigma", nonnegative=True)
x, eps = sp.symbols("x epsilon", real=True)
n = sp.Symbol("n", integer=True, nonnegative=True)
k = sp.Symbol("k", positive=True)                    # the learning-rate cut alpha -> alpha / k
c = sp.Symbol("c", positive=True)                    # alpha lambda
p0, m0 = sp.Symbol("p_0", nonnegative=True), sp.Symbol("m_0", real=True)
d = sp.Symbol("d", integer=True, positive=True)       # number of directions
i = sp.Symbol("i", integer=True, positive=True)
lam_i, sigma_i = sp.IndexedBase("lambda", positive=True), sp.IndexedBase("sigma", nonnegative=True)

LOSS_FUNCTION = lam * (x + eps) ** 2
#: one gradient-descent step, from the gradient
X_NEXT = sp.expand(x - alpha * sp.diff(LOSS_FUNCTION, x))
#: coefficients of x and eps in the (linear) update
R, B = sp.diff(X_NEXT, x), sp.diff(X_NEXT, eps)
_LINEAR = is_zero(X_NEXT - (R * x + B * eps))

_p = sp.Symbol("p")
#: the stationary variance: fixed point of the scalar Lyapunov recursion p' = r^2 p + b^2 sigma^2
VARIANCE = sp.factor(sp.solve(sp.Eq(_p, R**2 * _p + B**2 * sigma**2), _p)[0])
STATIONARY_LOSS = sp.factor(lam * VARIANCE)
#: the stable set of c = alpha lambda: |r| < 1
STABLE_INTERVAL = sp.solveset(sp.Abs(R.subs(alpha, c / lam)) < 1, c, sp.Interval.open(0, sp.oo))
#: per-step factors of the mean and of the variance's distance to its floor
MEAN_FACTOR, VARIANCE_FACTOR = R, R**2

_m = sp.Function("m")
MEAN_TRANSIENT = sp.rsolve(_m(n + 1) - R * _m(n), _m(n), {_m(0): m0})
VARIANCE_TRANSIENT = sp.rsolve(_m(n + 1) - R**2 * _m(n) - B**2 * sigma**2, _m(n), {_m(0): p0})

#: the floor after the cut alpha -> alpha / k, and the variance's transient from the old floor
CUT_VARIANCE = sp.factor(VARIANCE.subs(alpha, alpha / k))
CUT_LOSS = sp.factor(lam * CUT_VARIANCE)
CUT_TRANSIENT = VARIANCE_TRANSIENT.subs(alpha, alpha / k).subs(p0, VARIANCE)
CUT_LOSS_TRANSIENT = lam * CUT_TRANSIENT
#: old floor over new floor
CLIFF_RATIO = sp.factor(STATIONARY_LOSS / CUT_LOSS)

#: the floor of a quadratic with per-direction curvature lambda_i and noise sigma_i
SPECTRUM_LOSS = sp.Sum(STATIONARY_LOSS.subs({lam: lam_i[i], sigma: sigma_i[i]}), (i, 1, d))


def _even_powers(expr: sp.Expr) -> sp.Expr:
    """``b^(2n)`` written ``(b^2)^n`` with ``b^2`` expanded, so that ``(2 a - 1)^(2n)`` and ``(1 - 2 a)^(2n)`` meet."""
    return expr.replace(lambda e: e.is_Pow and sp.simplify(e.exp - 2 * n) == 0,
                        lambda e: sp.expand(e.base**2) ** n)


def derive() -> Derivation:
    V = VARIANCE
    identities = {
        "the update is x' = (1 - 2 alpha lambda) x - 2 alpha lambda eps":
            is_zero(X_NEXT - ((1 - 2 * alpha * lam) * x - 2 * alpha * lam * eps)),
        "the update is linear in (x, eps)": _LINEAR,
        "stationary variance satisfies p = r^2 p + b^2 sigma^2": is_zero(V - (R**2 * V + B**2 * sigma**2)),
        "E[lambda x^2] = alpha lambda^2 sigma^2 / (1 - alpha lambda)":
            is_zero(STATIONARY_LOSS - alpha * lam**2 * sigma**2 / (1 - alpha * lam)),
        "stable exactly for 0 < alpha lambda < 1": STABLE_INTERVAL == sp.Interval.open(0, 1),
        "mean: m_n = m_0 (1 - 2 alpha lambda)^n": is_zero(MEAN_TRANSIENT - m0 * R**n),
        "variance: p_n = V + (p_0 - V)(1 - 2 alpha lambda)^(2n)":
            is_zero(_even_powers(VARIANCE_TRANSIENT) - (V + (p0 - V) * sp.expand(R**2) ** n)),
        "the variance transient solves the recursion":
            is_zero(VARIANCE_TRANSIENT.subs(n, n + 1) - R**2 * VARIANCE_TRANSIENT - B**2 * sigma**2),
        "the variance transient starts at p_0": is_zero(VARIANCE_TRANSIENT.subs(n, 0) - p0),
        "cut floor ratio = k (1 - alpha lambda / k) / (1 - alpha lambda)":
            is_zero(CLIFF_RATIO - k * (1 - alpha * lam / k) / (1 - alpha * lam)),
        "cut floor ratio -> k as alpha -> 0": sp.limit(CLIFF_RATIO, alpha, 0) == k,
        "the cut transient starts at the old floor and ends at the new one":
            is_zero(CUT_TRANSIENT.subs(n, 0) - V) and
            is_zero(sp.limit(CUT_TRANSIENT.subs({alpha: c / lam, k: 10}).subs(c, sp.Rational(1, 2)), n, sp.oo)
                    - CUT_VARIANCE.subs({alpha: sp.Rational(1, 2) / lam, k: 10})),
        "one direction of the spectrum sum is Q1": is_zero(SPECTRUM_LOSS.subs(d, 1).doit().subs(
            {lam_i[1]: lam, sigma_i[1]: sigma}) - STATIONARY_LOSS),
    }
    results = {
        "update": sp.Eq(sp.Symbol("x'"), X_NEXT),
        "stationary variance": sp.Eq(sp.Symbol("Var x"), VARIANCE),
        "stationary loss": sp.Eq(sp.Symbol("E[lambda x^2]"), STATIONARY_LOSS),
        "stability": sp.Contains(c, STABLE_INTERVAL),
        "mean transient": sp.Eq(sp.Symbol("E x_n"), MEAN_TRANSIENT),
        "variance transient": sp.Eq(sp.Symbol("Var x_n"), VARIANCE_TRANSIENT),
        "floor after a cut alpha -> alpha/k": sp.Eq(sp.Symbol("E[lambda x^2]_k"), CUT_LOSS),
        "cliff (old floor / new floor)": sp.Eq(sp.Symbol("ratio"), CLIFF_RATIO),
        "spectrum floor": sp.Eq(sp.Symbol("E[sum lambda_i x_i^2]"), SPECTRUM_LOSS),
    }
    return derivation_of(__name__, results, identities)
