"""Q2. Heavy-ball momentum on a noisy quadratic, exactly: Lyapunov solution, stability region, relaxation.

Statement
---------
Heavy ball as PyTorch's SGD does it, ``v' = gamma v + grad``,
``x' = x - alpha v'``, on ``f(x) = lambda (x + eps)^2`` with
``eps ~ N(0, sigma^2)`` fresh each step, is the linear state-space process
``s' = A s + b eps`` in ``s = (x, v)`` with

    A = [[1 - 2 alpha lambda, -alpha gamma], [2 lambda, gamma]],
    b = (-2 alpha lambda, 2 lambda).

Its stationary covariance solves the discrete Lyapunov equation
``P = A P A^T + b b^T sigma^2``; the exact stationary loss is

    E[lambda x^2] = alpha lambda^2 sigma^2 (1 + gamma) / ((1 - gamma)(1 + gamma - alpha lambda)).

The characteristic polynomial is ``z^2 - (1 + gamma - 2 alpha lambda) z +
gamma``; by the Jury conditions the process is stable exactly for
``0 < alpha lambda < 1 + gamma`` and ``|gamma| < 1``.  Deviations relax at
the spectral radius ``rho`` of ``A``: with ``T = 1 + gamma - 2 alpha lambda``
and ``D = T^2 - 4 gamma``, ``rho = (|T| + sqrt(D)) / 2`` when ``D >= 0``
(real eigenvalues) and ``rho = sqrt(gamma)`` when ``D < 0`` (complex
eigenvalues, whose product is ``det A = gamma``); the mean relaxes like
``rho^n`` and the covariance like ``rho^(2n)``.

The approximation ``alpha lambda^2 sigma^2 / (1 - gamma^2 - alpha lambda)``
is derived here too: it follows from the stationary second moments of the
step ``u_n = x_{n+1} - x_n = gamma u_{n-1} - alpha grad_n`` and of ``x``
*when successive iterates are taken as independent*, i.e. when the
correlations ``E[u_{n-1} grad_n]`` and ``E[x_n u_{n-1}]`` are dropped.  It is
exact at ``gamma = 0``; as ``alpha -> 0`` it is too small by the factor
``1 + gamma`` (relative error ``-gamma / (1 + gamma)``, -49.7 % at
``gamma = 0.99``), and it diverges at ``alpha lambda = 1 - gamma^2``, where
the process is still stable (up to ``1 + gamma``).

Assumptions
-----------
``lambda > 0``, ``alpha > 0``, ``0 <= gamma < 1``, ``sigma >= 0``; the shifts
``eps`` are independent across steps and of the state; ``v_0`` is
arbitrary (PyTorch starts it at the first gradient; the stationary law does
not depend on it).

Derivation
----------
The gradient (``diff``) gives the update of ``(x, v)``; ``A`` and ``b`` are
its Jacobians in ``(x, v)`` and ``eps``, and the update is checked to be
exactly ``A s + b eps``.  The symmetric ``P`` has three unknowns; the
Lyapunov equation is linear in them and is solved (``solve``).  The Jury
conditions of ``p(z) = det(z I - A)`` (``p(1) > 0``, ``p(-1) > 0``,
``|p(0)| < 1``) are solved for ``c = alpha lambda``.  The eigenvalues are
``A``'s (``eigenvals``) and are checked against the closed forms; in the
complex case ``|z|^2 = z conj(z) = det A``.  The approximation solves the
two stationary equations ``U = gamma^2 U + alpha^2 E[grad^2]`` and
``0 = U + 2 E[x u]`` with the dropped correlations set to zero.

References
----------
R. Ciuca, talk "Neural Network Training Dynamics: Towards Making Sense of a
Confusing Mess" (the approximation circulated with it); B. T. Polyak,
"Some methods of speeding up the convergence of iteration methods" (1964)
for heavy ball; E. I. Jury, *Theory and Application of the z-Transform
Method* (1964) for the stability conditions; PyTorch's ``torch.optim.SGD``
documentation for the form of the update.
"""
from __future__ import annotations

import sympy as sp

from ..derivation import Derivation, derivation_of, is_zero
from . import quadratic as q1

KEY, TITLE = "Q2", "Heavy-ball momentum on a noisy quadratic: exact floor, stability region, relaxation rate"

__all__ = ["KEY", "TITLE", "alpha", "lam", "sigma", "gamma", "c", "x", "v", "eps", "z", "X_NEXT", "V_NEXT", "A",
           "b", "COVARIANCE", "STATIONARY_LOSS", "CHAR_POLY", "JURY", "STABLE_UPPER", "stable", "TRACE",
           "DISCRIMINANT", "STABLE_LOWER", "SPECTRAL_RADIUS", "APPROXIMATION", "RELATIVE_ERROR", "APPROX_POLE", "derive"]

alpha, lam, sigma, x, eps, c = q1.alpha, q1.lam, q1.sigma, q1.x, q1.eps, q1.c
gamma = sp.Symbol("gamma", nonnegative=True)
v = sp.Symbol("v", real=True)
z = sp.Symbol("z")

_grad = sp.diff(q1.LOSS_FUNCTION, x)
V_NEXT = sp.expand(gamma * v + _grad)
X_NEXT = sp.expand(x - alpha * V_NEXT)
_STATE, _NEXT = sp.Matrix([x, v]), sp.Matrix([X_NEXT, V_NEXT])
A = _NEXT.jacobian(_STATE)
b = _NEXT.jacobian([eps])
_LINEAR = is_zero(_NEXT - (A * _STATE + b * eps))

_p11, _p12, _p22 = sp.symbols("p11 p12 p22")
_P = sp.Matrix([[_p11, _p12], [_p12, _p22]])
_LYAP = _P - A * _P * A.T - b * b.T * sigma**2
_SOL = sp.solve([_LYAP[0, 0], _LYAP[0, 1], _LYAP[1, 1]], [_p11, _p12, _p22], dict=True)
#: the stationary covariance of (x, v)
COVARIANCE = sp.Matrix([[sp.factor(_SOL[0][_p11]), sp.factor(_SOL[0][_p12])],
                        [sp.factor(_SOL[0][_p12]), sp.factor(_SOL[0][_p22])]])
STATIONARY_LOSS = sp.factor(lam * COVARIANCE[0, 0])

CHAR_POLY = sp.expand((z * sp.eye(2) - A).det())
#: the Jury conditions of the second-order characteristic polynomial, each "expression > 0"
JURY = (sp.expand(CHAR_POLY.subs(z, 1)), sp.expand(CHAR_POLY.subs(z, -1)), 1 - sp.Abs(CHAR_POLY.subs(z, 0)))


def _c_boundary(condition: sp.Expr) -> tuple[sp.Expr, int]:
    """The root in ``c = alpha lambda`` of a Jury condition linear in ``c``, and the sign of its slope in ``c``."""
    expr = sp.expand(condition.subs(alpha, c / lam))
    if sp.degree(expr, c) != 1:
        raise ValueError(f"the Jury condition {expr} is not linear in c")
    slope = expr.coeff(c, 1)
    if not (slope.is_positive or slope.is_negative):
        raise ValueError(f"the sign of the slope {slope} is not determined")
    free = sp.Symbol("c_free", real=True)                # c itself is positive, so that c = 0 is no solution
    return sp.solve(expr.subs(c, free), free)[0], 1 if slope.is_positive else -1


_BOUNDS = [_c_boundary(cond) for cond in JURY[:2]]
#: the smallest and largest stable alpha lambda at momentum gamma (p(1) > 0 above the lower, p(-1) > 0 below
#: the upper); the region is STABLE_LOWER < alpha lambda < STABLE_UPPER with |gamma| < 1
STABLE_LOWER = next(root for root, sign in _BOUNDS if sign > 0)
STABLE_UPPER = next(root for root, sign in _BOUNDS if sign < 0)
_C_REGION = sp.Interval.open(STABLE_LOWER, STABLE_UPPER)
TRACE = sp.expand(A.trace())
DISCRIMINANT = sp.expand(TRACE**2 - 4 * A.det())
SPECTRAL_RADIUS = sp.Piecewise(((sp.Abs(TRACE) + sp.sqrt(DISCRIMINANT)) / 2, DISCRIMINANT >= 0),
                               (sp.sqrt(A.det()), True))


def stable(alpha_lambda: float, momentum: float) -> bool:
    """Whether (alpha lambda, gamma) lies in the derived stability region (Jury conditions)."""
    upper = float(STABLE_UPPER.subs(gamma, momentum))
    return 0 < alpha_lambda < upper and float(JURY[2].subs(gamma, momentum)) > 0


def _approximation() -> sp.Expr:
    """The loss under independence of successive iterates (the dropped correlations set to zero)."""
    P, U = sp.symbols("P U", positive=True)
    grad_sq = sp.expand(sp.diff(q1.LOSS_FUNCTION, x) ** 2)          # E[grad^2] with E x eps = 0, E eps = 0
    e_grad_sq = grad_sq.subs({x**2: P, eps**2: sigma**2}).subs({x: 0, eps: 0})
    # u_n = gamma u_{n-1} - alpha grad_n, dropping E[u_{n-1} grad_n]
    eq_u = sp.Eq(U, gamma**2 * U + alpha**2 * e_grad_sq)
    # x_{n+1} = x_n + u_n, E[x_n u_n] = gamma E[x_n u_{n-1}] - alpha E[x_n grad_n], dropping E[x_n u_{n-1}]
    e_x_grad = sp.expand(x * sp.diff(q1.LOSS_FUNCTION, x)).subs({x**2: P}).subs({x: 0, eps: 0})
    eq_x = sp.Eq(0, U + 2 * (-alpha * e_x_grad))
    sol = sp.solve([eq_u, eq_x], [P, U], dict=True)
    return sp.factor(lam * sol[0][P])


APPROXIMATION = _approximation()
#: (approximation - exact) / exact
RELATIVE_ERROR = sp.factor(APPROXIMATION / STATIONARY_LOSS - 1)
#: where the approximation's denominator vanishes (it predicts instability there), in c = alpha lambda
APPROX_POLE = sp.solve(sp.denom(sp.together(APPROXIMATION.subs(alpha, c / lam))), c)[0]


def derive() -> Derivation:
    exact_stated = alpha * lam**2 * sigma**2 * (1 + gamma) / ((1 - gamma) * (1 + gamma - alpha * lam))
    eig = list(A.eigenvals())
    zp = (TRACE + sp.sqrt(DISCRIMINANT)) / 2
    zm = (TRACE - sp.sqrt(DISCRIMINANT)) / 2
    # a complex-case point: gamma = 1/2, alpha lambda = 1/2 (T = 1/2, D = 1/4 - 2 < 0)
    at_complex = {gamma: sp.Rational(1, 2), alpha: sp.Rational(1, 2) / lam}
    zc = zp.subs(at_complex)
    identities = {
        "the update is linear: s' = A s + b eps": _LINEAR,
        "A = [[1 - 2 alpha lambda, -alpha gamma], [2 lambda, gamma]], b = (-2 alpha lambda, 2 lambda)":
            is_zero(A - sp.Matrix([[1 - 2 * alpha * lam, -alpha * gamma], [2 * lam, gamma]])) and
            is_zero(b - sp.Matrix([-2 * alpha * lam, 2 * lam])),
        "the covariance satisfies P = A P A^T + b b^T sigma^2":
            is_zero(COVARIANCE - A * COVARIANCE * A.T - b * b.T * sigma**2),
        "exact loss = alpha lambda^2 sigma^2 (1 + gamma) / ((1 - gamma)(1 + gamma - alpha lambda))":
            is_zero(STATIONARY_LOSS - exact_stated),
        "gamma = 0 reduces to Q1": is_zero(STATIONARY_LOSS.subs(gamma, 0) - q1.STATIONARY_LOSS),
        "characteristic polynomial z^2 - (1 + gamma - 2 alpha lambda) z + gamma":
            is_zero(CHAR_POLY - (z**2 - (1 + gamma - 2 * alpha * lam) * z + gamma)),
        "Jury: stable for 0 < alpha lambda < 1 + gamma": is_zero(STABLE_UPPER - (1 + gamma)) and
            STABLE_LOWER == 0,
        "gamma = 0: the region is Q1's": _C_REGION.subs(gamma, 0) == q1.STABLE_INTERVAL,
        "the eigenvalues of A are (T +- sqrt(D)) / 2": len(eig) == 2 and
            all(any(is_zero(e - f) for f in (zp, zm)) for e in eig),
        "complex case: |z|^2 = z conj(z) = det A = gamma":
            is_zero(sp.expand(zc * sp.conjugate(zc)) - sp.Rational(1, 2)) and is_zero(A.det() - gamma),
        "gamma = 0: D = T^2 >= 0 and the real branch is Q1's |1 - 2 alpha lambda|":
            is_zero(DISCRIMINANT.subs(gamma, 0) - TRACE.subs(gamma, 0) ** 2) and
            is_zero(SPECTRAL_RADIUS.args[0][0].subs(gamma, 0).subs(DISCRIMINANT.subs(gamma, 0),
                                                                    sp.factor(DISCRIMINANT.subs(gamma, 0)))
                    - sp.Abs(1 - 2 * alpha * lam)),
        "approximation = alpha lambda^2 sigma^2 / (1 - gamma^2 - alpha lambda)":
            is_zero(APPROXIMATION - alpha * lam**2 * sigma**2 / (1 - gamma**2 - alpha * lam)),
        "the approximation is exact at gamma = 0": is_zero((APPROXIMATION - STATIONARY_LOSS).subs(gamma, 0)),
        "alpha -> 0: relative error of the approximation -> -gamma / (1 + gamma)":
            is_zero(sp.limit(RELATIVE_ERROR, alpha, 0) + gamma / (1 + gamma)),
        "the approximation's pole alpha lambda = 1 - gamma^2 lies inside the stable region":
            is_zero(APPROX_POLE - (1 - gamma**2)) and is_zero(sp.factor(STABLE_UPPER - APPROX_POLE) - gamma * (1 + gamma)),
    }
    results = {
        "update (x', v')": _NEXT,
        "companion matrix A": A,
        "noise vector b": b,
        "stationary covariance P of (x, v)": COVARIANCE,
        "stationary loss (exact)": sp.Eq(sp.Symbol("E[lambda x^2]"), STATIONARY_LOSS),
        "characteristic polynomial": sp.Eq(sp.Symbol("p(z)"), CHAR_POLY),
        "stability region": sp.And(sp.Contains(c, _C_REGION), sp.Lt(gamma, 1)),
        "spectral radius": sp.Eq(sp.Symbol("rho"), SPECTRAL_RADIUS),
        "approximation (independent iterates)": sp.Eq(sp.Symbol("E[lambda x^2]_approx"), APPROXIMATION),
        "relative error of the approximation": sp.Eq(sp.Symbol("approx/exact - 1"), RELATIVE_ERROR),
        "approximation's pole": sp.Eq(sp.Symbol("c_pole"), APPROX_POLE),
    }
    return derivation_of(__name__, results, identities)
