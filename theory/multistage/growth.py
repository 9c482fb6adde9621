"""D5. Growth lemma: how fast the largest neuron can grow.

Statement
---------
While ``C_1 (m q_max^2 + q_max^2) <= eps`` on ``[0, t]``,

    q_max(t) <= q_max(0) exp((|z| + eps) t).

The condition holds as long as ``q_max <= Q_eps = sqrt(eps / (C_1 (m + 1)))``,
hence at least up to ``T_eps = log(Q_eps / q_max(0)) / (|z| + eps)``.

Assumptions
-----------
Those of D3 (tanh-like ``sigma``, finite moments).

Derivation
----------
From D3, ``d|q_k|/dt <= |A q_k| + |N_k| <= (|z| + eps) |q_k|`` because the
operator norm of ``A`` is ``|z|``; the largest ``|q_k|`` is absolutely
continuous with the same bound almost everywhere; Gronwall's inequality
(the solution of ``y' = (|z| + eps) y``, found with ``dsolve``) gives the
claim.  ``T_eps`` solves ``q_max(0) exp((|z| + eps) T) = Q_eps``.

References
----------
Lemma 2 (growth lemma) of Chen, Luo, Wang, arXiv:2410.20119 (our reconstruction).
"""
from __future__ import annotations

import sympy as sp

from ..derivation import Derivation, derivation_of, is_zero
from .symbols import C_1, eps, m, q0, t, z_norm

KEY, TITLE = "D5", "Growth lemma (Lemma 2)"

bound_expr = q0 * sp.exp((z_norm + eps) * t)
Q_eps = sp.sqrt(eps / (C_1 * (m + 1)))
T_eps = sp.log(Q_eps / q0) / (z_norm + eps)


def derive() -> Derivation:
    y = sp.Function("y")
    sol = sp.dsolve(sp.Eq(y(t).diff(t), (z_norm + eps) * y(t)), y(t), ics={y(0): q0})
    identities = {
        "Gronwall: y' = (|z|+eps) y, y(0) = q0 solves to the bound": is_zero(sol.rhs - bound_expr),
        "the condition holds with equality at Q_eps": is_zero(C_1 * (m * Q_eps**2 + Q_eps**2) - eps),
        "the bound reaches Q_eps at T_eps": is_zero(sp.expand_log(sp.log(bound_expr.subs(t, T_eps)) - sp.log(Q_eps),
                                                                  force=True)),
    }
    results = {
        "bound": sp.Le(sp.Symbol("q_max(t)"), bound_expr),
        "condition": sp.Le(C_1 * (m * sp.Symbol("q_max") ** 2 + sp.Symbol("q_max") ** 2), eps),
        "Q_eps": sp.Eq(sp.Symbol("Q_epsilon"), Q_eps),
        "T_eps": sp.Eq(sp.Symbol("T_epsilon"), T_eps),
    }
    return derivation_of(__name__, results, identities)
