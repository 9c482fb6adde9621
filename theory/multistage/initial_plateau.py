"""D6. The initial plateau: its length T_p and how little the loss moves on it.

Statement
---------
For ``1/2 < alpha_1 < alpha``, ``T_p`` is the first time at which
``q_max(t) = max_k |q_k(t)|`` under the exact linear flow
``q_k(t) = exp(tA) q_k(0)`` (D4) reaches ``m^(-alpha_1)``.  In each neuron's
mode coordinates -- ``u_k = (a_k + zhat.w_k)/sqrt 2`` on the growing
eigenvector, ``v_k = (a_k - zhat.w_k)/sqrt 2`` on the decaying one, and
``p_k = |w_k - (zhat.w_k) zhat|`` on the null space of ``A`` --

    |q_k(t)|^2 = u_k^2 e^{2|z|t} + v_k^2 e^{-2|z|t} + p_k^2,

and for gradient descent with step ``eta`` at matched time ``t = n eta``
(the map ``(I + eta A)^n`` of D4)

    |q_k(n)|^2 = u_k^2 (1 + eta|z|)^(2n) + v_k^2 (1 - eta|z|)^(2n) + p_k^2.

Each is a sum of exponentials in ``t`` with non-negative weights, so convex,
and so is their maximum over ``k``: starting below ``Q^2 = m^(-2 alpha_1)``
it crosses ``Q^2`` exactly once, and ``T_p`` is that root (found with
``brentq`` on the lambdified maximum).  For the flow each neuron's crossing
is also explicit, ``X = e^{2|z|T}`` solving ``u^2 X^2 - (Q^2 - p^2) X + v^2 = 0``:

    T_k = log( (Q^2 - p_k^2 + sqrt((Q^2 - p_k^2)^2 - 4 u_k^2 v_k^2)) / (2 u_k^2) ) / (2|z|),

and ``T_p = min_k T_k``.  There is no initial plateau (no ``T_p``) when
``q_max(0) >= m^(-alpha_1)``.

The earlier estimate lets all of ``q_max(0)`` grow at ``|z|`` from ``t = 0``,

    T_p^grow = log(m^(-alpha_1) / q_max(0)) / |z|,

which ignores that only the ``u_k`` part grows (the ``v_k`` part decays and
the ``p_k`` part stays): it comes out early.

With Gaussian initialisation ``q_max(0) ~ m^(-alpha) sqrt(2 log m)``, so
``T_p^grow`` (a lower estimate of ``T_p``) is about

    E T_p^grow ~ ((alpha - alpha_1) log m - log(2 log m)/2) / |z|.

The linear flow neglects D3's remainder ``N_k``: by variation of constants
the passage moves by at most, to first order,

    |Delta T_p| <= C_1 (m + 1) I_3 / (Q S_T),   I_3 = int_0^T e^{|z|(T - s)} q_max(s)^3 ds,

with ``S_T = d log q_max / dt`` at ``T_p`` (``verify.multistage.linear_stage.remainder_shift``); about
``C_1 (m + 1) Q^2 / (2|z|^2)``, ``O(m^(1 - 2 alpha_1))``.

While ``q_max <= Q`` the loss moves by at most

    |R(t) - R(0)| <= C_0 m Q^2 E[|f*||x|] + C_0^2 m^2 Q^4 E|x|^2 / 2,

which at ``Q = m^(-alpha_1)`` is ``O(m^(1 - 2 alpha_1))``: it vanishes as
``m`` grows (log-log slope ``1 - 2 alpha_1``), the plateau.

Assumptions
-----------
``alpha > 1/2`` and ``1/2 < alpha_1 < alpha``; ``z != 0``; tanh-like
``sigma``.

Derivation
----------
With ``z = |z| e_1`` (rotation invariance) and ``q = u v_+ + v v_- + p e_perp``,
``|exp(tA) q|^2`` from D4's closed form equals the sum above (zero
difference); for GD, ``q_n = (1 + eta|z|)^n u v_+ + (1 - eta|z|)^n v v_- +
p e_perp`` satisfies ``q_(n+1) = (I + eta A) q_n`` and ``|q_n|^2`` is the sum
above.  The second ``t``-derivative of the flow's sum is
``4|z|^2 (u^2 e^{2|z|t} + v^2 e^{-2|z|t}) >= 0``; the explicit ``T_k``
satisfies ``|q_k(T_k)|^2 = Q^2`` (substitution).  For ``|Delta T_p|``:
``|exp(tau A)| = e^{|z| tau}`` and ``|N_k| <= C_1 (m + 1) q_max^3`` (D3).
``R(t) - R(0) = E[(f_t - f_0)(f_t + f_0 - 2 f*)] / 2`` and
``|f(x)| <= C_0 m Q^2 |x| / 2`` (D3) bound the change.  ``T_p^grow`` solves
``q_max(0) e^{|z| T} = m^(-alpha_1)``; the log-log slope of the loss bound is
the limit of ``d log B / d log m`` as ``m -> oo``, computed with SymPy.

References
----------
Theorem 1 (initial plateau) of Chen, Luo, Wang, arXiv:2410.20119 (our
reconstruction).
"""
from __future__ import annotations

import sympy as sp

from ..derivation import Derivation, derivation_of, is_zero
from .higher_order import A_matrix
from .symbols import C_0, C_1, M_fx1, M_x2, Q, alpha, alpha_1, eta, m, n, q0, t, z_norm

KEY, TITLE = "D6", "Initial plateau (Theorem 1)"

#: a neuron's coordinates on the growing (u) and decaying (v) eigenvectors of A and the norm of its part in A's
#: null space (p)
u_k, v_k = sp.symbols("u_k v_k", real=True)
p_k = sp.Symbol("p_k", nonnegative=True)
#: |q_k(t)|^2 under the exact linear flow exp(tA) (D4)
q_sq_flow = u_k**2 * sp.exp(2 * z_norm * t) + v_k**2 * sp.exp(-2 * z_norm * t) + p_k**2
#: |q_k|^2 after n = t / eta steps of the GD linear map (I + eta A)^n (D4); the decaying factor is written
#: ((1 - eta|z|)^2)^n so that it is real at non-integer n (equal to (1 - eta|z|)^(2n) at integer n)
q_sq_gd = (u_k**2 * (1 + eta * z_norm) ** (2 * t / eta) + v_k**2 * ((1 - eta * z_norm) ** 2) ** (t / eta)
           + p_k**2)
_X = sp.Symbol("X", positive=True)     # e^{2|z|t}
_Y = sp.Symbol("y", positive=True)     # 1 - eta|z|, in one identity
#: the flow's per-neuron first passage through Q (explicit root of u^2 X^2 - (Q^2 - p^2) X + v^2 = 0)
T_k_flow = sp.log((Q**2 - p_k**2 + sp.sqrt((Q**2 - p_k**2) ** 2 - 4 * u_k**2 * v_k**2)) / (2 * u_k**2)) \
    / (2 * z_norm)
#: the earlier estimate: all of q_max(0) grows at |z| from t = 0 (kept: T_p_expected is its expectation)
T_p_growth_only = sp.log(m ** (-alpha_1) / q0) / z_norm
T_p = T_p_growth_only
q0_expected = m ** (-alpha) * sp.sqrt(2 * sp.log(m))
T_p_expected = ((alpha - alpha_1) * sp.log(m) - sp.log(2 * sp.log(m)) / 2) / z_norm
loss_bound = C_0 * m * Q**2 * M_fx1 + C_0**2 * m**2 * Q**4 * M_x2 / 2
loss_bound_at_exit = loss_bound.subs(Q, m ** (-alpha_1))
#: the log-log slope in m of the loss bound at the plateau exit (verified by derive())
loss_slope = 1 - 2 * alpha_1


def derive() -> Derivation:
    L = sp.Symbol("L", real=True)  # log m
    slope = sp.limit(sp.diff(sp.log(loss_bound_at_exit.subs(m, sp.exp(L))), L).subs(alpha_1, sp.Rational(3, 4)),
                     L, sp.oo)
    general_slope = sp.limit(
        sp.diff(sp.log(loss_bound_at_exit.subs(m, sp.exp(L))), L).subs(alpha_1, sp.Rational(1, 2) + sp.Symbol(
            "kappa", positive=True)), L, sp.oo)
    kappa = sp.Symbol("kappa", positive=True)
    identities = {
        **_linear_flow_identities(),
        "q_max(0) e^{|z| T_p} = m^(-alpha_1)": is_zero(sp.powsimp(sp.expand_log(
            sp.log(q0 * sp.exp(z_norm * T_p)) + alpha_1 * sp.log(m), force=True))),
        "T_p at the expected q_max(0) is the expansion": is_zero(sp.expand_log(
            T_p.subs(q0, q0_expected) - T_p_expected, force=True)),
        "log-log slope of the loss bound at alpha_1 = 3/4 is -1/2": slope == sp.Rational(-1, 2),
        "log-log slope is 1 - 2 alpha_1 for every alpha_1 > 1/2":
            is_zero(general_slope - loss_slope.subs(alpha_1, sp.Rational(1, 2) + kappa)),
    }
    results = {
        "|q_k(t)|^2 (flow)": sp.Eq(sp.Symbol("|q_k(t)|^2"), q_sq_flow),
        "|q_k(t)|^2 (GD)": sp.Eq(sp.Symbol("|q_k(n)|^2"), q_sq_gd.subs(t, n * eta)),
        "T_p (linear flow)": sp.Eq(sp.Symbol("T_p"), sp.Min(sp.Symbol("T_k"))),
        "T_k (flow)": sp.Eq(sp.Symbol("T_k"), T_k_flow),
        "passage shift from D3's remainder (first order)": sp.Le(sp.Symbol("|Delta T_p|"), passage_shift),
        "T_p (growth only)": sp.Eq(sp.Symbol("T_p^grow"), T_p),
        "T_p expected (growth only)": sp.Eq(sp.Symbol("E T_p^grow"), T_p_expected),
        "q_max(0) expected": sp.Eq(sp.Symbol("q_max(0)"), q0_expected),
        "loss bound": sp.Le(sp.Symbol("|R(t) - R(0)|"), loss_bound),
        "loss bound at exit": sp.Le(sp.Symbol("|R(t) - R(0)|"), loss_bound_at_exit),
        "log-log slope": sp.Eq(sp.Symbol("slope"), loss_slope),
    }
    return derivation_of(__name__, results, identities)


def _linear_flow_identities() -> dict:
    """|q_k|^2 under the flow and the GD map in mode coordinates (z = |z| e_1, d = 2), convexity, the root."""
    from .linearized_flow import closed_form

    zs, X = closed_form(2)
    Xz = X.subs({zs[0]: z_norm, zs[1]: 0})
    vp, vm, e_perp = sp.Matrix([1, 1, 0]) / sp.sqrt(2), sp.Matrix([1, -1, 0]) / sp.sqrt(2), sp.Matrix([0, 0, 1])
    q = u_k * vp + v_k * vm + p_k * e_perp
    qt = Xz * q
    qn = (1 + eta * z_norm) ** n * u_k * vp + (1 - eta * z_norm) ** n * v_k * vm + p_k * e_perp
    M = sp.eye(3) + eta * A_matrix(sp.Matrix([z_norm, 0]))
    gd_at_n = u_k**2 * (1 + eta * z_norm) ** (2 * n) + v_k**2 * (1 - eta * z_norm) ** (2 * n) + p_k**2
    quad = u_k**2 * _X**2 - (Q**2 - p_k**2) * _X + v_k**2
    X_root = sp.exp(2 * z_norm * T_k_flow)
    return {
        "u, v, p are the coordinates of (a, zhat.w, w_perp)": is_zero(
            q - sp.Matrix([(u_k + v_k) / sp.sqrt(2), (u_k - v_k) / sp.sqrt(2), p_k])),
        "|exp(tA) q|^2 = u^2 e^{2|z|t} + v^2 e^{-2|z|t} + p^2": is_zero(
            ((qt.T * qt)[0] - q_sq_flow).rewrite(sp.exp)),
        "(I + eta A) q_n = q_(n+1)": is_zero(M * qn - qn.subs(n, n + 1)),
        "|q_n|^2 = u^2 (1 + eta|z|)^(2n) + v^2 (1 - eta|z|)^(2n) + p^2": is_zero((qn.T * qn)[0] - gd_at_n),
        # with 1 - eta|z| = y (SymPy writes ((1 - eta|z|)^2)^n as (eta|z| - 1)^(2n), equal at integer n)
        "the GD sum at t = n eta is |q_n|^2": is_zero(
            (q_sq_gd.subs(t, n * eta) - gd_at_n).subs(eta, (1 - _Y) / z_norm)),
        "d^2/dt^2 |q_k|^2 = 4|z|^2 (u^2 e^{2|z|t} + v^2 e^{-2|z|t}) >= 0 (convex)": is_zero(
            sp.diff(q_sq_flow, t, 2) - 4 * z_norm**2 * (q_sq_flow - p_k**2)),
        "|q_k|^2 = Q^2 at X = e^{2|z|t} is u^2 X^2 - (Q^2 - p^2) X + v^2 = 0": is_zero(
            (q_sq_flow - Q**2).subs(t, sp.log(_X) / (2 * z_norm)) * _X - quad),
        "T_k solves it (substitution)": is_zero(sp.expand(quad.subs(_X, X_root))),
        "the GD sum tends to the flow's as eta -> 0": is_zero(
            sp.limit(q_sq_gd.subs({u_k: 1, v_k: 1, p_k: 0}), eta, 0) - q_sq_flow.subs({u_k: 1, v_k: 1, p_k: 0})),
    }


#: the rate of log q_k along the flow (and along the GD map at fractional steps), d log |q_k| / dt
dlog_q_flow = sp.diff(q_sq_flow, t) / (2 * q_sq_flow)
dlog_q_gd = sp.diff(q_sq_gd, t) / (2 * q_sq_gd)
#: first-order bound on how far D3's remainder moves the passage (evaluated by
#: verify.multistage.linear_stage.remainder_shift): I_3 = int_0^T e^{|z|(T - s)} q_max(s)^3 ds, S_T = d log q_max / dt
I_3, S_T = sp.Symbol("I_3", nonnegative=True), sp.Symbol("S_T", positive=True)
passage_shift = C_1 * (m + 1) * I_3 / (Q * S_T)


def applicable(alpha_value: float, alpha_1_value: float) -> bool | str:
    """True, or the assumption that fails."""
    if alpha_value <= 0.5:
        return f"alpha = {alpha_value} <= 1/2: not the condensed regime"
    if not 0.5 < alpha_1_value < alpha_value:
        return f"alpha_1 = {alpha_1_value} is not in (1/2, alpha = {alpha_value})"
    return True
