"""D11. Leaving the secondary plateau (a heuristic of the paper, measured, not proved).

Statement
---------
At ``K = 1`` the linear part of the residual vanishes (D10), so only terms
proportional to ``sigma'''(0)`` and to the nonlinear residual
``r = f* - x . Sigma^-1 z`` drive the flow.  The neurons are then small
(``u_k^2 ~ |z| / m``), so these terms are weak and the escape is slow: the
secondary plateau lengthens as ``m`` grows.  The escape goes along weight
components orthogonal to the condensed direction, and ``W2rel`` rises again
as the neurons leave the balanced, condensed state.

Assumptions
-----------
Those of D8-D10; the paper argues this part with experiments and heuristics,
so the verifier reports measurements (plateau length against ``m`` with a
fitted exponent, the escape direction, ``W2rel`` at the escape), labelled as
measurements of a heuristic claim.

Derivation
----------
Expanding the D1 field at a condensed, balanced state with ``K = 1``:
``da_k/dt = -E[e sigma(s)]`` with ``e = -r + O(sigma''' s^3)``, so the
leading drive is ``E[r sigma(s)] = sigma'''(0) E[r s^3] / 6 + ...`` (the
linear term ``E[r s]`` vanishes because ``r`` is orthogonal to linear
functions).  With ``|w_k|^2 ~ |z| / m`` the drive of each neuron is of
order ``m^(-3/2)``: the time to escape grows with ``m``.  Checked with SymPy:
``E[r x] = 0`` for the least-squares residual, and the series of
``sigma(s)`` leaves ``sigma'''(0) s^3 / 6`` as the first term beyond the linear one.

References
----------
Section 4.3 of Chen, Luo, Wang, arXiv:2410.20119 (heuristic; our reconstruction).
"""
from __future__ import annotations

import sympy as sp

from ..derivation import Derivation, derivation_of, is_zero
from .activation import S, activation_from_spec

KEY, TITLE = "D11", "Leaving the secondary plateau (heuristic)"


def derive(activation=None) -> Derivation:
    act = activation or activation_from_spec("tanh")
    s11, s22 = sp.symbols("S11 S22", positive=True)
    s12 = sp.Symbol("S12", real=True)
    Sigma = sp.Matrix([[s11, s12], [s12, s22]])
    z = sp.Matrix(sp.symbols("z1:3", real=True))
    beta_star = Sigma.inv() * z
    # E[r x] = E[f* x] - E[x x^T] Sigma^-1 z = z - Sigma Sigma^-1 z
    c3 = act.derivative(3).subs(S, 0)
    drive = sp.series(act.expr - S, S, 0, 5).removeO()
    identities = {
        "E[r x] = z - Sigma Sigma^-1 z = 0 (the residual has no linear part)": is_zero(z - Sigma * beta_star),
        "first drive beyond the linear term is sigma'''(0) s^3 / 6": is_zero(drive.coeff(S, 3) - c3 / 6)
        and is_zero(drive.coeff(S, 1)) and is_zero(drive.coeff(S, 2)),
    }
    results = {
        "residual": sp.Eq(sp.Symbol("r"), sp.Symbol("f^*") - sp.Symbol("x^T Sigma^-1 z")),
        "drive at K = 1": sp.Eq(sp.Symbol("E[r sigma(s)]"), c3 * sp.Symbol("E[r s^3]") / 6),
    }
    return derivation_of(__name__, results, identities)
