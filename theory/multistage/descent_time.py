"""D9. The descent time T_d and the half-way time t_half.

Statement
---------
With the logistic law of D8 and growth rate ``r`` (``r = 2|z|`` for the
gradient flow, ``r = 2 log(1 + eta |z|) / eta`` for gradient descent with
step ``eta`` at matched time ``t = n eta``), ``K`` reaches ``1 - delta`` at

    T_d = log( (1 - K0)(1 - delta) / (K0 delta) ) / r,

and ``K = 1/2`` at ``t_half = log(1/K0 - 1) / r``.  Over the Gaussian
initialisation, ``2 |z| K0 m^(2 alpha)`` is chi-squared with ``m`` degrees
of freedom, so ``E log K0 = -2 alpha log m + psi(m/2) + log 2 - log(2|z|)``
and, up to ``O(K0)``,

    E T_d = ( log((1 - delta)/delta) - E log K0 ) / r
          ~ ( (2 alpha - 1) log m + log(2|z|) + log((1 - delta)/delta) ) / r,

so ``dT_d/d alpha = 2 log m / r`` (``log m / |z|`` for the flow) and
``dT_d/d log m = (2 alpha - 1) / r``.

Assumptions
-----------
``alpha > 1/2``, ``z != 0``, ``0 < K0 < 1``, ``0 < delta < 1``; whitened
inputs (D8); for gradient descent ``0 < eta |z| < 1``.

Derivation
----------
Solve ``K(T) = 1 - delta`` (and ``= 1/2``) with the closed form of D8
(``solve``, checked by substitution).  ``E log chi2_m = psi(m/2) + log 2``;
``psi(m/2) + log 2 = log m - 1/m + O(m^-2)`` gives the asymptotic form, whose
derivatives in ``alpha`` and ``log m`` are the slopes.  For gradient descent
the growing mode multiplies by ``(1 + eta|z|)`` per step (D4), i.e. grows at
rate ``log(1 + eta|z|)/eta`` per unit time, and ``K`` at twice that.

References
----------
Theorem 2 and Figure 2 of Chen, Luo, Wang, arXiv:2410.20119 (our
reconstruction).
"""
from __future__ import annotations

import mpmath
import sympy as sp

from .._derivation import Derivation, derivation_text, is_zero
from ..bridge import numeric
from .reduced_dynamics import K_closed
from .symbols import K0, alpha, delta, eta, m, t, z_norm

KEY, TITLE = "D9", "Descent time T_d and t_half"

r = sp.Symbol("r", positive=True)  # growth rate of K
rate_flow = 2 * z_norm
rate_gd = 2 * sp.log(1 + eta * z_norm) / eta
T_d = sp.log((1 - K0) * (1 - delta) / (K0 * delta)) / r
t_half = sp.log(1 / K0 - 1) / r
E_log_K0 = -2 * alpha * sp.log(m) + sp.polygamma(0, m / 2) + sp.log(2) - sp.log(2 * z_norm)
E_T_d = (sp.log((1 - delta) / delta) - E_log_K0) / r
E_T_d_asymptotic = ((2 * alpha - 1) * sp.log(m) + sp.log(2 * z_norm) + sp.log((1 - delta) / delta)) / r
slope_alpha = sp.diff(E_T_d_asymptotic, alpha)
_L = sp.Symbol("L", real=True)
slope_log_m = sp.diff(E_T_d_asymptotic.subs(m, sp.exp(_L)), _L)


def _digamma_gap_shrinks() -> bool:
    """``|psi(m/2) + log 2 - log m + 1/m| <= 1/m^2`` at 50 digits for m = 1e8 and 1e12.

    (SymPy's ``limit`` of this difference is unreliable, so the known
    expansion ``psi(x) = log x - 1/(2x) + O(x^-2)`` is checked numerically.)
    """
    gap = numeric(sp.polygamma(0, m / 2) + sp.log(2) - sp.log(m), (m,), "mpmath")
    with mpmath.workdps(50):
        return all(abs(gap(mpmath.mpf(10) ** k) + mpmath.mpf(10) ** -k) <= mpmath.mpf(10) ** (-2 * k)
                   for k in (8, 12))


def derive() -> Derivation:
    K_rate = K_closed.subs(2 * z_norm, r).subs(z_norm, r / 2)
    Tsym = sp.Symbol("T", positive=True)
    solved = sp.solve(sp.Eq(K_rate.subs(t, Tsym), 1 - delta), Tsym)
    identities = {
        "K(T_d) = 1 - delta": is_zero(K_rate.subs(t, T_d) - (1 - delta)),
        "K(t_half) = 1/2": is_zero(K_rate.subs(t, t_half) - sp.Rational(1, 2)),
        "solve gives T_d": len(solved) == 1 and is_zero(sp.exp(r * solved[0]) - sp.exp(r * T_d)),
        "psi(m/2) + log 2 - log m = -1/m + O(1/m^2) (at m = 1e8, 1e12)": _digamma_gap_shrinks(),
        "E T_d - asymptotic form = (psi(m/2) + log 2 - log m)/r": is_zero(
            (E_T_d - E_T_d_asymptotic) * r + sp.polygamma(0, m / 2) + sp.log(2) - sp.log(m)),
        "dT_d/d alpha = log m / |z| for the flow": is_zero(slope_alpha.subs(r, rate_flow) - sp.log(m) / z_norm),
        "dT_d/d log m = (2 alpha - 1)/(2|z|) for the flow": is_zero(
            slope_log_m.subs(r, rate_flow) - (2 * alpha - 1) / (2 * z_norm)),
        "GD rate -> flow rate as eta -> 0": sp.limit(rate_gd, eta, 0) == rate_flow,
    }
    results = {
        "rate (flow)": sp.Eq(r, rate_flow),
        "rate (GD)": sp.Eq(r, rate_gd),
        "T_d": sp.Eq(sp.Symbol("T_d"), T_d),
        "t_half": sp.Eq(sp.Symbol("t_half"), t_half),
        "E log K0": sp.Eq(sp.Symbol("E log K_0"), E_log_K0),
        "E T_d": sp.Eq(sp.Symbol("E T_d"), E_T_d),
        "E T_d asymptotic": sp.Eq(sp.Symbol("E T_d"), E_T_d_asymptotic),
        "dT_d/dalpha": sp.Eq(sp.Symbol("dT_d/dalpha"), slope_alpha),
        "dT_d/dlog m": sp.Eq(sp.Symbol("dT_d/dlog m"), slope_log_m),
    }
    return Derivation(KEY, __name__.rsplit(".", 1)[-1], TITLE, derivation_text(__name__), results, identities)
