"""D10. The critical point K = 1 and the level of the secondary plateau.

Statement
---------
At ``K = 1`` (``beta = Sigma^-1 z``) the linear part of the residual
vanishes, ``E[(f - f*) x] = Sigma beta - z = 0``, so the leading (linear)
term of the flow vanishes and the network sits near a critical point.  The
loss there is that of the best linear fit,

    R* = E[f*^2]/2 - z^T Sigma^-1 z / 2,

up to ``O(1/m)`` corrections from the cubic terms of ``sigma``.  Along the
descent (whitened inputs, ``beta = K z``)

    R(K) = E[f*^2]/2 - |z|^2 (1 - (1 - K)^2)/2,

decreasing in ``K`` on ``[0, 1]`` with its minimum ``R*`` at ``K = 1``.

The O(1/m) shift.  With the cubic term of ``sigma`` (``g3 = sigma'''(0)``,
``-2`` for tanh) the descent stops not at ``K = 1`` but at

    K_eq = 1 + rho (g3 F3 / 3 - g3 |z| M4 / 2) + O(rho^2),
    kappa = m (K_eq - 1) = m rho g3 (F3 / 3 - |z| M4 / 2),

with ``s = zhat . x``, ``M4 = E[s^4]``, ``F3 = E[f* s^3]`` (whitened
inputs) and ``rho = sum_k u_k(0)^4 / (sum_k u_k(0)^2)^2`` the per-seed
fourth-to-squared-second moment ratio of the growing modes (``E[m rho] ->
3`` for Gaussian initialisation, so ``kappa ~ g3 (F3 - 3 |z| M4 / 2)``).
``sigma(s) = s`` gives ``kappa = 0``.  The plateau loss moves to

    R_eq = R* + rho g3 |z|^2 (|z| M4 - F3) / 6 + O(rho^2).

The descent with this fixed point is the logistic law with carrying
capacity ``K_eq``, ``dK/dt = 2 |z| K (1 - K / K_eq)`` (same linear rate at
``K = 0``, same fixed point), so

    K(t) = K_eq K0 e^{2|z|t} / (K_eq - K0 + K0 e^{2|z|t}),
    T_d = log( (1 - delta)(K_eq - K0) / (K0 (K_eq - 1 + delta)) ) / (2|z|),

which is D9's ``T_d`` minus ``log(1 + (K_eq - 1)/delta) / (2|z|)`` up to
``O(K0 (K_eq - 1))``; ``t_half`` moves by ``O(K_eq - 1)`` only.
Under gradient descent the same per-neuron rate ``|z| (1 - K/K_eq)`` over
one step gives D9's map with the shifted fixed point,
``K_(n+1) = K_n (1 + eta |z| (1 - K_n / K_eq))^2``.

The approach to ``K_eq`` (the T_d of the carrying-capacity law is biased).
The carrying-capacity law has the right fixed point but not the right
shape: the reduced flow of the cubic condensed model, to first order in
``rho``, is

    dK/dt = 2 |z| K q(K),  q(K) = 1 - K + rho K (g3 F3 / 3 - g3 |z| M4 K / 2),

whose slope at ``K_eq`` is ``-2 |z| (1 + rho g3 |z| M4 / 2) + O(rho^2)``, not
the capacity law's ``-2 |z|``: it differs from ``2 |z| K (1 - K / K_eq)`` by
``rho g3 |z|^2 M4 K^2 (1 - K) + O(rho^2)``, a change of the rate all along the
descent.  To first order in ``rho`` (at fixed ``delta >> rho``) the capacity
law's ``T_d`` is therefore off by

    Delta T_d = -rho g3 M4 log((1 - K0) / delta) / 4,

which for tanh (``g3 = -2``), ``E[m rho] = 3`` and ``M4 ~ 3`` is about
``+4.5 log(1/delta) / m``: ``+20.7/m`` at ``delta = 0.01``, the ``-20/m``
bias measured for the capacity law's T_d (its next order is ``O(rho^2 /
(delta + K_eq - 1))``).  The predicted ``T_d`` is the
time the cubic model's law (``q`` with every order of ``rho`` the cubic
model carries, ``E[s^6] = M6`` entering at ``rho^2``) takes from ``K0`` to
``1 - delta``,

    T_d = int_{log K0}^{log(1 - delta)} du / (2 |z| q(e^u)),

and its error is of the next order, ``rho^2``: the cubic model carries only
part of it (the fifth-order term of ``sigma``, the ``O(c^3)`` imbalance
``a_k - w_k . zhat`` and the drift of ``rho`` along the descent enter at the
same order).  The size of the next order is estimated as twice the part
the cubic model carries, ``2 |T_d(cubic law) - T_d(first-order law)|``
(the carried part plus as much again for the terms not derived); a ``T_d``
whose estimated error exceeds the tolerance of its check is flagged, not
judged.  Under gradient descent the same ``q`` gives the map
``K_(n+1) = K_n (1 + eta |z| q(K_n))^2`` (equal to the per-neuron GD step to
first order in ``rho``).

General input covariance.  With ``Sigma != I`` the condensed direction at
the fixed point is ``v = Sigma^-1 z / b``, ``b = |Sigma^-1 z|``; with
``s = v . x`` (now ``E[s^2] = S2 = v^T Sigma v``, not 1), ``M4 = E[s^4]`` and
``F3 = E[f* s^3]`` along ``v``, the same stationarity, solved for the vector
``beta`` (not only its length),

    K_eq = 1 + rho g3 (F3 / 3 - b M4 / 2) / S2 + O(rho^2),

which is the whitened ``K_eq`` at ``S2 = 1``, ``b = |z|``.  The approach to
it is the condensed network's flow of ``beta = P2 v``,

    dbeta/dt = -v (P2 E[e s] + g3 P4 E[e s^3] / 6) - (P2 E[e x] + g3 P4 E[e s^2 x] / 2),
    e = beta . x + g3 P4 s^3 / 6 - f*,  s = v . x,  P4 = rho P2^2,

(D8's reduced flow at ``g3 = 0``), integrated numerically on the data; its
first order in ``rho`` drops the product of the cubic parts of ``e`` and of
the projection, as ``q_first`` does for whitened inputs.

Assumptions
-----------
The network acts as the linear map ``x -> beta . x`` (condensed, small
neurons: ``sigma(s) ~ s``); ``Sigma`` invertible.
For the shift: whitened inputs (``E[s^2] = 1``), the condensed, balanced
state ``a_k = c_k``, ``w_k = c_k zhat`` (decaying modes, orthogonal
components and the O(c^2) imbalance, which enters ``a_k w_k`` only at
second order, neglected), ``sigma`` expanded to third order (the
fifth-order term enters at ``O(rho^2)``), and ``c_k`` proportional to
``u_k(0)`` (the linear stage scales all growing modes alike), so that
``P4 = rho P2^2``.

Derivation
----------
For ``f = beta . x``, ``R(beta) = E[f*^2]/2 - beta . z + beta^T Sigma beta / 2``;
its gradient ``Sigma beta - z`` vanishes at ``beta = Sigma^-1 z``, where
``R = R*``.  With ``Sigma = I`` and ``beta = K z`` this is the quadratic
``R(K)``, stationary and minimal at ``K = 1`` (second derivative
``|z|^2 > 0``).  Checked with SymPy for a symbolic positive-definite
``Sigma`` in two dimensions.

The shift: in the condensed state ``f = sum_k c_k sigma(c_k s) = P2 s +
g3 P4 s^3 / 6`` with ``P2 = sum c_k^2``, ``P4 = sum c_k^4``, and ``K = P2 /
|z|``.  From D1, ``d(a_k)/dt = -E[e sigma(c_k s)]`` and ``d(w_k . zhat)/dt
= -c_k E[e sigma'(c_k s) s]``, so ``dP2/dt = d/dt sum a_k (w_k . zhat) =
-E[e (2 P2 s + 2 g3 P4 s^3 / 3)]`` to fourth order in ``c`` (half the flow
of ``sum a_k^2 + (w_k . zhat)^2``; checked for three neurons).  The
expectations use ``E[s^2] = 1``, ``E[f* s] = |z|``, ``E[s^4] = M4``,
``E[s^6] = M6``, ``E[f* s^3] = F3``, ``E[f*^2]``.  With ``P4 = rho P2^2``
and ``P2 = |z| (1 + rho lambda)`` the ``rho^0`` coefficient of ``dP2/dt``
vanishes and the ``rho^1`` coefficient vanishes only at the ``lambda``
above (``solve``; checked by substitution and series in ``rho``), and so
does the plateau loss ``E[e^2]/2`` to first order.  General ``Sigma``:
``dbeta/dt`` above is ``sum_k (a_k' w_k + a_k w_k')`` in the condensed state
``a_k = c_k``, ``w_k = c_k v`` with ``sigma`` to third order; with ``beta =
Sigma^-1 z + delta_beta`` and ``y = Sigma delta_beta``, the ``v`` component of
the stationarity fixes ``v . y`` and ``K - 1 = b (v . y) / (b^2 S2)``
(``z^T Sigma^-1 z = b^2 S2``); the general ``K_eq`` reduces to the whitened
one (checked), and its stationarity is checked numerically in the tests.
The approach: the same
``dP2/dt`` with ``P2 = |z| K`` divided by ``|z|`` is the cubic model's law;
its series to first order in ``rho`` is ``2|z| K q(K)`` (checked), ``q``
vanishes at ``K_eq`` to ``O(rho^2)``, its slope there is by ``diff`` and
``series``, and ``Delta T_d`` is ``-int (q1 - q1_cap) / (2 |z| K (1 - K)^2) dK``
over ``[K0, 1 - delta]`` (``q = 1 - K + rho q1``), checked by differentiating
in the end point and at ``delta = 1 - K0``.  The carrying-capacity
law is solved by ``dsolve`` and checked by substitution; ``K_eq = 1`` gives
D8 back.

References
----------
Section 4.2.1 of Chen, Luo, Wang, arXiv:2410.20119 (our reconstruction).
"""
from __future__ import annotations

import sympy as sp

from ..derivation import Derivation, derivation_of, is_zero
from . import descent_time
from .reduced_dynamics import K_closed
from .symbols import E_f2, K, K0, delta, eta, m, t, z_Sinv_z, z_norm

KEY, TITLE = "D10", "Critical point K = 1, the secondary-plateau loss R* and its O(1/m) shift"

Kv = sp.Symbol("K", real=True)
R_star = E_f2 / 2 - z_Sinv_z / 2
R_of_K = E_f2 / 2 - z_norm**2 * (1 - (1 - Kv) ** 2) / 2

# ---- the O(1/m) shift of the plateau ------------------------------------------------------------------
g3 = sp.Symbol("sigma'''(0)", real=True)            # third derivative of the activation at 0
rho = sp.Symbol("rho", positive=True)              # sum u_k(0)^4 / (sum u_k(0)^2)^2, about 3/m
M4 = sp.Symbol("E[s^4]", positive=True)            # s = zhat . x
M6 = sp.Symbol("E[s^6]", positive=True)
F3 = sp.Symbol("E[f* s^3]", real=True)
P2, P4 = sp.symbols("P_2 P_4", positive=True)
_s, _F = sp.symbols("s F*", real=True)             # zhat . x and f*(x) inside an expectation
K_eq_coefficient = g3 * F3 / 3 - g3 * z_norm * M4 / 2     # lambda: K_eq = 1 + rho lambda
K_eq = 1 + rho * K_eq_coefficient
kappa = m * rho * K_eq_coefficient                 # m (K_eq - 1)
R_eq = R_star + rho * g3 * z_norm**2 * (z_norm * M4 - F3) / 6
K_eq_sym = sp.Symbol("K_eq", positive=True)
K_capacity = K_eq_sym * K0 * sp.exp(2 * z_norm * t) / (K_eq_sym - K0 + K0 * sp.exp(2 * z_norm * t))
capacity_rhs = 2 * z_norm * K(t) * (1 - K(t) / K_eq_sym)
T_d_shifted = sp.log((1 - delta) * (K_eq_sym - K0) / (K0 * (K_eq_sym - 1 + delta))) / (2 * z_norm)
t_half_shifted = sp.log((K_eq_sym - K0) / (K0 * (2 * K_eq_sym - 1))) / (2 * z_norm)
gd_map_shifted = descent_time.K_n * (1 + eta * z_norm * (1 - descent_time.K_n / K_eq_sym)) ** 2
# ---- general input covariance: moments along v = Sigma^-1 z / |Sigma^-1 z| ------------------------------
b_v = sp.Symbol("|Sigma^-1 z|", positive=True)
S2_v = sp.Symbol("E[s_v^2]", positive=True)
M4_v = sp.Symbol("E[s_v^4]", positive=True)
F3_v = sp.Symbol("E[f* s_v^3]", real=True)
K_eq_general = 1 + rho * g3 * (F3_v / 3 - b_v * M4_v / 2) / S2_v

# ---- the approach to K_eq: the cubic model's reduced law and its first order in rho -------------------
#: dK/dt = 2|z| K q(K), q to first order in rho (the capacity law has 1 - K/K_eq instead)
q_first = 1 - Kv + rho * Kv * (g3 * F3 / 3 - g3 * z_norm * M4 * Kv / 2)
approach_rhs = 2 * z_norm * Kv * q_first
#: the rate of approach at K_eq, -(slope of dK/dt at K_eq), to first order in rho
approach_rate = 2 * z_norm * (1 + rho * g3 * z_norm * M4 / 2)
#: first-order-in-rho error of the capacity law's T_d: T_d(q_first) - T_d(capacity law)
T_d_capacity_bias = -rho * g3 * M4 * (sp.log(1 - K0) - sp.log(delta)) / 4
_MOMENTS = {(0, 0): 1, (2, 0): 1, (4, 0): M4, (6, 0): M6, (1, 1): z_norm, (3, 1): F3, (0, 2): E_f2}


def _expect(expr: sp.Expr) -> sp.Expr:
    """``E[.]`` of a polynomial in ``s`` and ``f*`` with the whitened moments of the Derivation."""
    poly = sp.Poly(sp.expand(expr), _s, _F)
    total = sp.Integer(0)
    for (i, j), coeff in poly.terms():
        if (i, j) not in _MOMENTS:
            raise ValueError(f"moment E[s^{i} f*^{j}] is not among the data moments used here")
        total += coeff * _MOMENTS[(i, j)]
    return total


def _cubic_law() -> sp.Expr:
    """``dK/dt`` of the cubic condensed model (``P2 = |z| K``, ``P4 = rho P2^2``), every order of rho it carries."""
    P2K = z_norm * Kv
    e = P2K * _s + g3 * rho * P2K**2 * _s**3 / 6 - _F
    return sp.expand(_expect(-e * (2 * P2K * _s + 2 * g3 * rho * P2K**2 * _s**3 / 3)) / z_norm)


def _cubic(u):
    return u + g3 * u**3 / 6


cubic_rhs = _cubic_law()
#: q of the cubic model's law (dK/dt = 2|z| K q)
q_cubic = sp.expand(cubic_rhs / (2 * z_norm * Kv))
#: gradient descent: each neuron's amplitude multiplied by 1 + eta |z| q(K) per step (first order in rho)
gd_map_law = descent_time.K_n * (1 + eta * z_norm * q_cubic.subs(Kv, descent_time.K_n)) ** 2
gd_map_law_first = descent_time.K_n * (1 + eta * z_norm * q_first.subs(Kv, descent_time.K_n)) ** 2


def _truncate(expr, c, order):
    """``expr`` with every monomial of total degree above ``order`` in the ``c`` dropped."""
    eps = sp.Symbol("epsilon", positive=True)
    return sp.series(sp.expand(expr.subs({ck: eps * ck for ck in c}, simultaneous=True)), eps, 0,
                     order + 1).removeO().subs(eps, 1)


def _shift_flow() -> dict:
    """``dP2/dt`` in the condensed, balanced state (three neurons), to fourth order in ``c``."""
    c = sp.symbols("c1:4", real=True)
    P2c, P4c = sum(ck**2 for ck in c), sum(ck**4 for ck in c)
    f = sum(ck * _cubic(ck * _s) for ck in c)
    e = f - _F
    dsig = sp.diff(_cubic(_s), _s)
    da = [-e * _cubic(ck * _s) for ck in c]                    # integrands of d a_k/dt
    dw = [-ck * e * dsig.subs(_s, ck * _s) * _s for ck in c]    # of d (w_k . zhat)/dt
    dP2 = sum(da[k] * c[k] + c[k] * dw[k] for k in range(3))    # d/dt sum a_k (w_k . zhat)
    dsq = sum(2 * c[k] * da[k] + 2 * c[k] * dw[k] for k in range(3))   # d/dt sum a_k^2 + (w_k . zhat)^2
    target = -e * (2 * P2c * _s + 2 * g3 * P4c * _s**3 / 3)
    return {
        "f = P2 s + g3 P4 s^3 / 6 in the condensed state": is_zero(f - (P2c * _s + g3 * P4c * _s**3 / 6)),
        "dP2/dt = -E[e (2 P2 s + 2 g3 P4 s^3 / 3)] to fourth order in c": is_zero(
            _truncate(dP2, c, 4) - _truncate(target, c, 4)),
        "d/dt sum(a^2 + (w.zhat)^2) = 2 dP2/dt": is_zero(dsq - 2 * dP2),
    }


def _approach_identities() -> dict:
    """The cubic model's law, its first order in rho, the rate at K_eq and the capacity law's T_d bias."""
    first = sp.expand(sp.series(cubic_rhs, rho, 0, 2).removeO())
    cap = capacity_rhs.subs(K(t), Kv).subs(K_eq_sym, K_eq)
    slope = sp.series(sp.diff(approach_rhs, Kv).subs(Kv, K_eq), rho, 0, 2).removeO()
    q1 = sp.expand((q_first - (1 - Kv)) / rho)
    q1_cap = sp.expand(sp.series((1 - Kv / K_eq - (1 - Kv)) / rho, rho, 0, 1).removeO())
    Kend = sp.Symbol("K_end", positive=True)
    bias = T_d_capacity_bias.subs(delta, 1 - Kend)
    integrand = -(q1 - q1_cap) / (2 * z_norm * Kv * (1 - Kv) ** 2)
    return {
        "cubic model's law to first order in rho is 2|z| K q(K)": is_zero(first - approach_rhs),
        "cubic model's law: rho = 0 gives the logistic law": is_zero(cubic_rhs.subs(rho, 0)
                                                                   - 2 * z_norm * Kv * (1 - Kv)),
        "q(K_eq) = O(rho^2)": is_zero(sp.series(q_first.subs(Kv, K_eq), rho, 0, 2).removeO()),
        "first-order law - capacity law = rho g3 |z|^2 M4 K^2 (1 - K) + O(rho^2)": is_zero(
            sp.series(approach_rhs - cap, rho, 0, 2).removeO()
            - rho * g3 * z_norm**2 * M4 * Kv**2 * (1 - Kv)),
        "slope of dK/dt at K_eq is -approach_rate + O(rho^2)": is_zero(slope + approach_rate),
        "capacity law's slope at K_eq is -2|z|": is_zero(
            sp.diff(capacity_rhs.subs(K(t), Kv), Kv).subs(Kv, K_eq_sym) + 2 * z_norm),
        "T_d bias: d/dK_end = -rho (q1 - q1_cap) / (2|z| K (1 - K)^2) at K_end": is_zero(
            sp.diff(bias, Kend) - rho * integrand.subs(Kv, Kend)),
        "T_d bias vanishes at K_end = K0": is_zero(bias.subs(Kend, K0)),
        "T_d bias vanishes for sigma(s) = s": is_zero(T_d_capacity_bias.subs(g3, 0)),
        "general-Sigma K_eq is the whitened K_eq at S2 = 1, b = |z|": is_zero(
            K_eq_general.subs({S2_v: 1, b_v: z_norm, M4_v: M4, F3_v: F3}) - K_eq),
        "GD map with q: (map - K)/eta -> the cubic model's law as eta -> 0": is_zero(
            sp.limit((gd_map_law - descent_time.K_n) / eta, eta, 0) - cubic_rhs.subs(Kv, descent_time.K_n)),
        "GD map with q: rho = 0 gives D9's map": is_zero(gd_map_law.subs(rho, 0) - descent_time.gd_map),
    }


def _shift_identities() -> dict:
    """The O(1/m) shift: the stationary condition, the limits and the carrying-capacity law."""
    out = _shift_flow()
    e = P2 * _s + g3 * P4 * _s**3 / 6 - _F
    dP2 = _expect(-e * (2 * P2 * _s + 2 * g3 * P4 * _s**3 / 3)).subs(P4, rho * P2**2)
    lam = sp.Symbol("lambda", real=True)
    series = sp.expand(sp.series(dP2.subs(P2, z_norm * (1 + rho * lam)), rho, 0, 2).removeO())
    solved = sp.solve(series.coeff(rho, 1), lam)
    at_eq = sp.series(dP2.subs(P2, z_norm * K_eq), rho, 0, 2).removeO()
    e_eq = (P2 * _s + g3 * rho * P2**2 * _s**3 / 6 - _F).subs(P2, z_norm * K_eq)
    R_at = sp.series(_expect(e_eq**2) / 2, rho, 0, 2).removeO()
    sol = sp.dsolve(sp.Eq(K(t).diff(t), capacity_rhs), K(t), ics={K(0): K0})
    out.update({
        "dP2/dt vanishes at P2 = |z| to order rho^0": is_zero(series.coeff(rho, 0)),
        "order-rho coefficient vanishes only at lambda = (K_eq - 1)/rho": len(solved) == 1
            and is_zero(solved[0] - K_eq_coefficient),
        "dP2/dt(P2 = |z| K_eq) = O(rho^2)": is_zero(at_eq),
        "sigma(s) = s (g3 = 0) gives kappa = 0": is_zero(kappa.subs(g3, 0)),
        "plateau loss E[e^2]/2 at K_eq = R_eq + O(rho^2) (whitened)": is_zero(
            R_at - R_eq.subs(z_Sinv_z, z_norm**2)),
        "carrying-capacity K(t) solves its law": is_zero(
            sp.diff(K_capacity, t) - capacity_rhs.subs(K(t), K_capacity)),
        "carrying-capacity K(0) = K0, fixed point K_eq": is_zero(K_capacity.subs(t, 0) - K0)
            and is_zero(capacity_rhs.subs(K(t), K_eq_sym)),
        "dsolve agrees with the carrying-capacity K(t)": is_zero(sol.rhs - K_capacity),
        "K(T_d shifted) = 1 - delta, K(t_half shifted) = 1/2": is_zero(
            K_capacity.subs(t, T_d_shifted) - (1 - delta)) and is_zero(
            K_capacity.subs(t, t_half_shifted) - sp.Rational(1, 2)),
        "K_eq = 1 gives D8's K(t)": is_zero(K_capacity.subs(K_eq_sym, 1) - K_closed),
        "shifted GD map: K_eq = 1 gives D9's map, K_eq is a fixed point": is_zero(
            gd_map_shifted.subs(K_eq_sym, 1) - descent_time.gd_map) and is_zero(
            gd_map_shifted.subs(descent_time.K_n, K_eq_sym) - K_eq_sym),
        "shifted GD map: (map - K)/eta -> the carrying-capacity law as eta -> 0": is_zero(
            sp.limit((gd_map_shifted - descent_time.K_n) / eta, eta, 0)
            - capacity_rhs.subs(K(t), descent_time.K_n)),
    })
    return out


def derive() -> Derivation:
    s11, s22 = sp.symbols("S11 S22", positive=True)
    s12 = sp.Symbol("S12", real=True)
    Sigma = sp.Matrix([[s11, s12], [s12, s22]])
    z = sp.Matrix(sp.symbols("z1:3", real=True))
    beta = sp.Matrix(sp.symbols("b1:3", real=True))
    R = E_f2 / 2 - (beta.T * z)[0] + (beta.T * Sigma * beta)[0] / 2
    grad = sp.Matrix([sp.diff(R, b) for b in beta])
    beta_star = Sigma.inv() * z
    zSz = (z.T * Sigma.inv() * z)[0]
    K_of_beta = (beta.T * z)[0] / zSz
    identities = {
        "grad R = Sigma beta - z = E[(f - f*) x]": is_zero(grad - (Sigma * beta - z)),
        "grad R vanishes at beta = Sigma^-1 z": is_zero(grad.subs(dict(zip(beta, beta_star)))),
        "K = 1 at beta = Sigma^-1 z": is_zero(K_of_beta.subs(dict(zip(beta, beta_star))) - 1),
        "R(Sigma^-1 z) = R*": is_zero(R.subs(dict(zip(beta, beta_star))) - R_star.subs(z_Sinv_z, zSz)),
        "whitened R(beta = K z) = R(K)": is_zero(
            R.subs({s11: 1, s22: 1, s12: 0}).subs(dict(zip(beta, Kv * z)))
            - R_of_K.subs(z_norm, sp.sqrt((z.T * z)[0]))),
        "dR/dK = 0 at K = 1": is_zero(sp.diff(R_of_K, Kv).subs(Kv, 1)),
        "d2R/dK2 = |z|^2 > 0": is_zero(sp.diff(R_of_K, Kv, 2) - z_norm**2),
        "R(1) = R* (whitened)": is_zero(R_of_K.subs(Kv, 1) - R_star.subs(z_Sinv_z, z_norm**2)),
        **_shift_identities(),
        **_approach_identities(),
    }
    results = {
        "critical-point condition": sp.Eq(sp.Symbol("E[(f - f*) x]"), sp.Symbol("Sigma beta - z")),
        "R*": sp.Eq(sp.Symbol("R^*"), R_star),
        "R(K)": sp.Eq(sp.Function("R")(Kv), R_of_K),
        "K_eq": sp.Eq(sp.Symbol("K_eq"), K_eq),
        "kappa = m (K_eq - 1)": sp.Eq(sp.Symbol("kappa"), kappa),
        "plateau loss with the shift": sp.Eq(sp.Symbol("R_eq"), R_eq),
        "carrying-capacity law": sp.Eq(K(t).diff(t), capacity_rhs),
        "K(t) with the shift": sp.Eq(K(t), K_capacity),
        "T_d with the shift": sp.Eq(sp.Symbol("T_d"), T_d_shifted),
        "t_half with the shift": sp.Eq(sp.Symbol("t_half"), t_half_shifted),
        "GD map with the shift": sp.Eq(sp.Symbol("K_(n+1)"), gd_map_shifted),
        "K_eq for a general input covariance": sp.Eq(sp.Symbol("K_eq"), K_eq_general),
        "approach law, first order in rho": sp.Eq(K(t).diff(t), approach_rhs.subs(Kv, K(t))),
        "approach law, cubic model": sp.Eq(K(t).diff(t), cubic_rhs.subs(Kv, K(t))),
        "rate of approach at K_eq": sp.Eq(sp.Symbol("-dK'/dK at K_eq"), approach_rate),
        "T_d bias of the capacity law": sp.Eq(sp.Symbol("T_d(law) - T_d(capacity)"), T_d_capacity_bias),
        "T_d from the law": sp.Eq(sp.Symbol("T_d"), sp.Integral(
            1 / (2 * z_norm * sp.Function("q")(sp.exp(sp.Symbol("u")))),
            (sp.Symbol("u"), sp.log(K0), sp.log(1 - delta)))),
    }
    return derivation_of(__name__, results, identities)
