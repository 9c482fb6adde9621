"""D6. The initial plateau: its length T_p and how little the loss moves on it.

Statement
---------
For ``1/2 < alpha_1 < alpha``, let ``T_p`` be the time at which the
linear-flow growth ``q_max(0) e^{|z| t}`` reaches ``m^(-alpha_1)``:

    T_p = log(m^(-alpha_1) / q_max(0)) / |z|.

With Gaussian initialisation ``q_max(0) ~ m^(-alpha) sqrt(2 log m)``, so

    T_p ~ ((alpha - alpha_1) log m - log(2 log m)/2) / |z|.

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
``R(t) - R(0) = E[(f_t - f_0)(f_t + f_0 - 2 f*)] / 2`` and
``|f(x)| <= C_0 m Q^2 |x| / 2`` (D3) bound the change.  ``T_p`` solves
``q_max(0) e^{|z| T} = m^(-alpha_1)``; the log-log slope of the loss bound is
the limit of ``d log B / d log m`` as ``m -> oo``, computed with SymPy.

References
----------
Theorem 1 (initial plateau) of Chen, Luo, Wang, arXiv:2410.20119 (our
reconstruction).
"""
from __future__ import annotations

import sympy as sp

from .._derivation import Derivation, derivation_text, is_zero
from .symbols import C_0, M_fx1, M_x2, Q, alpha, alpha_1, m, q0, z_norm

KEY, TITLE = "D6", "Initial plateau (Theorem 1)"

T_p = sp.log(m ** (-alpha_1) / q0) / z_norm
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
        "q_max(0) e^{|z| T_p} = m^(-alpha_1)": is_zero(sp.powsimp(sp.expand_log(
            sp.log(q0 * sp.exp(z_norm * T_p)) + alpha_1 * sp.log(m), force=True))),
        "T_p at the expected q_max(0) is the expansion": is_zero(sp.expand_log(
            T_p.subs(q0, q0_expected) - T_p_expected, force=True)),
        "log-log slope of the loss bound at alpha_1 = 3/4 is -1/2": slope == sp.Rational(-1, 2),
        "log-log slope is 1 - 2 alpha_1 for every alpha_1 > 1/2":
            is_zero(general_slope - loss_slope.subs(alpha_1, sp.Rational(1, 2) + kappa)),
    }
    results = {
        "T_p": sp.Eq(sp.Symbol("T_p"), T_p),
        "T_p expected": sp.Eq(sp.Symbol("E T_p"), T_p_expected),
        "q_max(0) expected": sp.Eq(sp.Symbol("q_max(0)"), q0_expected),
        "loss bound": sp.Le(sp.Symbol("|R(t) - R(0)|"), loss_bound),
        "loss bound at exit": sp.Le(sp.Symbol("|R(t) - R(0)|"), loss_bound_at_exit),
        "log-log slope": sp.Eq(sp.Symbol("slope"), loss_slope),
    }
    return Derivation(KEY, __name__.rsplit(".", 1)[-1], TITLE, derivation_text(__name__), results, identities)


def applicable(alpha_value: float, alpha_1_value: float) -> bool | str:
    """True, or the assumption that fails."""
    if alpha_value <= 0.5:
        return f"alpha = {alpha_value} <= 1/2: not the condensed regime"
    if not 0.5 < alpha_1_value < alpha_value:
        return f"alpha_1 = {alpha_1_value} is not in (1/2, alpha = {alpha_value})"
    return True
