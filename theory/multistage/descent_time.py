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

Gradient descent with step ``eta`` is a discrete map, not the logistic law
with the GD rate.  For the condensed, balanced network with whitened inputs
(``a_k = c_k``, ``w_k = c_k zhat``, ``K = sum_k c_k^2 / |z|``) one step
multiplies every neuron's amplitude by ``1 + eta |z| (1 - K)``, so

    K_(n+1) = K_n (1 + eta |z| (1 - K_n))^2.

Its fixed points are ``K = 0``, ``K = 1`` and ``K = 1 + 2/(eta |z|)``; its
slope at ``K = 0`` is the linear-stage multiplier ``(1 + eta |z|)^2`` (the
rate ``r_GD`` above is ``log`` of it over ``eta``); ``(K_(n+1) - K_n)/eta``
tends to ``2 |z| K (1 - K)`` as ``eta -> 0`` (the logistic law).  Its slope
at ``K = 1`` is ``1 - 2 eta |z|``: ``K = 1`` attracts only for
``0 < eta |z| < 1`` (the iterates approach it monotonically for
``eta |z| <= 1/2`` and with a decaying overshoot for ``1/2 < eta|z| < 1``);
past ``eta |z| = 1`` it repels and the analysis stops (reference runs saw
bounded oscillation for ``1 < eta |z| <= 2`` and divergence from about
``2.25``).  ``t_half`` and ``T_d`` under GD are ``eta`` times the (linearly
interpolated) number of steps the map takes from ``K0`` to ``1/2`` and to
``1 - delta``.

The logistic law neglects the decaying modes ``v_k`` (D7) (CORRECTED: an
earlier estimate, ``4 K0^2 / ((1 - K0) log((1 - K0)/K0))``, had the wrong
size and, for large ``K0``, the wrong sign).  For the linear network with
whitened inputs and ``beta`` along ``z``, each neuron's growing and decaying
coordinates obey ``u_k' = |z|(1 - K) u_k`` and ``v_k' = -|z|(1 - K) v_k``, so
with ``U = sum u_k^2 / (2|z|)`` (``U(0) = K0``) and ``V = sum v_k^2 / (2|z|)``
(``V(0) = V0``, about ``K0`` for Gaussian initialisation):

    K = U - V,   U' = 2|z| (1 - K) U,   V' = -2|z| (1 - K) V,

and ``U V = K0 V0 = c`` is conserved.  Then ``U' = -2|z| (U - U+)(U - U-)``,
``U+- = (1 +- sqrt(1 + 4c)) / 2``, ``K = 1/2`` at ``U_h = (1/2 + sqrt(1/4 +
4c)) / 2``, and

    t_half* = ( log((U+ - K0)/(K0 - U-)) - log((U+ - U_h)/(U_h - U-)) ) / (2|z| sqrt(1 + 4c)).

The logistic ``t_half`` (``c = 0``) is off by ``t_half / t_half* - 1``: with
``V0 = K0``, +0.7 % at ``K0 = 0.035``, +1.8 % at ``0.065``, +3.9 % at ``0.1``
(the logistic law is late: the decaying modes hold ``K`` back at first, but
``(1 - K)`` stays larger, and the growing modes gain more).  Predictions are
flagged where this signed estimate exceeds D9's ``t_half`` tolerance.

Assumptions
-----------
``alpha > 1/2``, ``z != 0``, ``0 < K0 < 1``, ``0 < delta < 1``; whitened
inputs (D8); for gradient descent ``0 < eta |z| < 1`` (``K = 1`` attracting).

Derivation
----------
Solve ``K(T) = 1 - delta`` (and ``= 1/2``) with the closed form of D8
(``solve``, checked by substitution).  ``E log chi2_m = psi(m/2) + log 2``;
``psi(m/2) + log 2 = log m - 1/m + O(m^-2)`` gives the asymptotic form, whose
derivatives in ``alpha`` and ``log m`` are the slopes.  For gradient descent
the growing mode multiplies by ``(1 + eta|z|)`` per step (D4), i.e. grows at
rate ``log(1 + eta|z|)/eta`` per unit time, and ``K`` at twice that.
The map: with ``sigma(s) = s`` the D1 field is ``da_k/dt = -w_k . g``,
``dw_k/dt = -a_k g``, ``g = Sigma beta - z`` (checked on the finite symbolic
model); one step ``theta + eta * field`` from the condensed, balanced state
with ``Sigma = I`` and ``beta = K z`` (checked for two neurons in two
dimensions) keeps the state condensed and balanced and multiplies each
``c_k`` by ``1 + eta |z| (1 - K)``; ``K`` is quadratic in the ``c_k``.
Fixed points by ``solve``; the limits by ``limit``.

References
----------
Theorem 2 and Figure 2 of Chen, Luo, Wang, arXiv:2410.20119 (our
reconstruction).
"""
from __future__ import annotations

import mpmath
import sympy as sp

from ..derivation import Derivation, derivation_of, is_zero
from ..bridge import numeric
from .finite_model import FiniteModel
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
#: the decaying modes' initial content V0 = sum v_k^2 / (2|z|) and the conserved product c = U V = K0 V0
V0 = sp.Symbol("V_0", nonnegative=True)
_c = K0 * V0
U_plus = (1 + sp.sqrt(1 + 4 * _c)) / 2
U_minus = (1 - sp.sqrt(1 + 4 * _c)) / 2
U_half = (sp.Rational(1, 2) + sp.sqrt(sp.Rational(1, 4) + 4 * _c)) / 2
#: t_half of the reduced dynamics with the decaying modes (flow, whitened), see the Statement
t_half_with_decaying = (sp.log((U_plus - K0) / (K0 - U_minus)) - sp.log((U_plus - U_half) / (U_half - U_minus))) \
    / (2 * z_norm * sp.sqrt(1 + 4 * _c))
#: relative error of the logistic t_half (flow) from the neglected decaying modes, with its sign (positive: the
#: logistic law is late)
t_half_decaying_error = t_half.subs(r, rate_flow) / t_half_with_decaying - 1
_L = sp.Symbol("L", real=True)
slope_log_m = sp.diff(E_T_d_asymptotic.subs(m, sp.exp(_L)), _L)


#: gradient descent: the map of K over one step (condensed, balanced, whitened)
K_n = sp.Symbol("K_n", nonnegative=True)
gd_multiplier = 1 + eta * z_norm * (1 - K_n)      # each neuron's amplitude, per step
gd_map = K_n * gd_multiplier**2
gd_map_slope_at_1 = sp.diff(gd_map, K_n).subs(K_n, 1)


def _gd_step_identities() -> dict:
    """The per-neuron GD step on the linear network, from the D1 field (see Derivation)."""
    model = FiniteModel(activation=lambda s: s)
    field = model.field()
    M, d = model.neurons, model.dim
    beta = sp.Matrix([sum(model.a[k] * model.W[k, j] for k in range(M)) for j in range(d)])
    g = model.Sigma * beta - model.z
    linear_field = all(
        is_zero(field[model.a[k]] + (model.W.row(k) * g)[0])
        and all(is_zero(field[model.W[k, j]] + model.a[k] * g[j]) for j in range(d)) for k in range(M))
    # the condensed, balanced, whitened state: a_k = c_k, w_k = c_k zhat, beta = (sum c^2) zhat = K z
    c = sp.symbols("c1:3", real=True)
    zv = sp.Matrix(sp.symbols("z1:3", positive=True))
    zn = sp.sqrt((zv.T * zv)[0])
    zhat = zv / zn
    P2 = sum(ck**2 for ck in c)
    Kc = P2 / zn
    g_white = P2 * zhat - zv                        # Sigma = I
    a_new = [ck - eta * ((ck * zhat).T * g_white)[0] for ck in c]
    w_new = [ck * zhat - eta * ck * g_white for ck in c]
    mult = gd_multiplier.subs({K_n: Kc, z_norm: zn})
    K_new = sum(a_new[k] * (w_new[k].T * zv)[0] for k in range(2)) / zn**2
    return {
        "linear D1 field: da_k = -w_k.g, dw_k = -a_k g, g = Sigma beta - z": linear_field,
        "GD step multiplies a_k by 1 + eta|z|(1 - K)": all(is_zero(a_new[k] - c[k] * mult) for k in range(2)),
        "GD step keeps w_k = a_k zhat (condensed, balanced)": all(
            is_zero(w_new[k] - a_new[k] * zhat) for k in range(2)),
        "K_(n+1) = K_n (1 + eta|z|(1 - K_n))^2": is_zero(K_new - gd_map.subs({K_n: Kc, z_norm: zn})),
    }


def _decaying_mode_identities() -> dict:
    """The reduced dynamics with the decaying modes (see the Statement) and its t_half."""
    U, V = sp.symbols("U V", positive=True)
    Kuv = U - V
    dU, dV = 2 * z_norm * (1 - Kuv) * U, -2 * z_norm * (1 - Kuv) * V
    # the per-neuron flow of the linear network (Sigma = I, beta = K z): a' = |z|(1 - K) zhat.w, zhat.w' = |z|(1 - K) a
    a_, w_, Ks = sp.symbols("a w K", real=True)
    da, dw = z_norm * (1 - Ks) * w_, z_norm * (1 - Ks) * a_
    u_, v_ = (a_ + w_) / sp.sqrt(2), (a_ - w_) / sp.sqrt(2)
    c = sp.Symbol("c", positive=True)
    Up, Um = (1 + sp.sqrt(1 + 4 * c)) / 2, (1 - sp.sqrt(1 + 4 * c)) / 2
    phase = sp.log((Up - U) / (U - Um))
    Uh = U_half.subs(K0 * V0, c)
    return {
        "u' = |z|(1 - K) u and v' = -|z|(1 - K) v for the linear network": is_zero(
            (da + dw) / sp.sqrt(2) - z_norm * (1 - Ks) * u_) and is_zero((da - dw) / sp.sqrt(2) + z_norm * (1 - Ks) * v_),
        "U V is conserved": is_zero(dU * V + U * dV),
        "with V = c/U, U' = -2|z| (U - U+)(U - U-)": is_zero(
            dU.subs(V, c / U) + 2 * z_norm * (U - Up) * (U - Um)),
        "d/dt log((U+ - U)/(U - U-)) = -2|z| sqrt(1 + 4c)": is_zero(
            sp.diff(phase, U) * dU.subs(V, c / U) + 2 * z_norm * sp.sqrt(1 + 4 * c)),
        "K = 1/2 at U_h": is_zero(Uh - c / Uh - sp.Rational(1, 2)),
        "t_half* at V0 = 0 is the logistic t_half": is_zero(
            t_half_with_decaying.subs(V0, 0) - t_half.subs(r, rate_flow)),
    }


def _same_roots(found, expected) -> bool:
    """``found`` and ``expected`` hold the same values (each pair compared by zero difference)."""
    return len(found) == len(expected) and all(any(is_zero(f - e) for f in found) for e in expected)


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
        **_gd_step_identities(),
        **_decaying_mode_identities(),
        "GD map fixed points are K = 0, 1, 1 + 2/(eta|z|)": _same_roots(
            sp.solve(gd_map - K_n, K_n), [0, 1, 1 + 2 / (eta * z_norm)]),
        "GD map slope at K = 0 is (1 + eta|z|)^2 (the linear-stage multiplier)": is_zero(
            sp.diff(gd_map, K_n).subs(K_n, 0) - (1 + eta * z_norm) ** 2),
        "log of that multiplier / eta is the GD rate": is_zero(
            sp.expand_log(sp.log((1 + eta * z_norm) ** 2) / eta - rate_gd, force=True)),
        "(map - K)/eta -> 2|z| K (1 - K) as eta -> 0 (the logistic law)": is_zero(
            sp.limit((gd_map - K_n) / eta, eta, 0) - 2 * z_norm * K_n * (1 - K_n)),
        "GD map slope at K = 1 is 1 - 2 eta|z| (K = 1 attracts iff eta|z| < 1)": is_zero(
            gd_map_slope_at_1 - (1 - 2 * eta * z_norm)),
    }
    results = {
        "t_half with the decaying modes": sp.Eq(sp.Symbol("t_half*"), t_half_with_decaying),
        "relative error of the logistic t_half": sp.Eq(sp.Symbol("t_half / t_half* - 1"), t_half_decaying_error),
        "rate (flow)": sp.Eq(r, rate_flow),
        "rate (GD)": sp.Eq(r, rate_gd),
        "T_d": sp.Eq(sp.Symbol("T_d"), T_d),
        "t_half": sp.Eq(sp.Symbol("t_half"), t_half),
        "E log K0": sp.Eq(sp.Symbol("E log K_0"), E_log_K0),
        "E T_d": sp.Eq(sp.Symbol("E T_d"), E_T_d),
        "E T_d asymptotic": sp.Eq(sp.Symbol("E T_d"), E_T_d_asymptotic),
        "dT_d/dalpha": sp.Eq(sp.Symbol("dT_d/dalpha"), slope_alpha),
        "dT_d/dlog m": sp.Eq(sp.Symbol("dT_d/dlog m"), slope_log_m),
        "GD map": sp.Eq(sp.Symbol("K_(n+1)"), gd_map),
        "GD map slope at K = 1": sp.Eq(sp.Symbol("dK_(n+1)/dK_n at K = 1"), gd_map_slope_at_1),
    }
    return derivation_of(__name__, results, identities)
