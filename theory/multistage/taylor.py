"""D2. Taylor expansion of a tanh-like activation with Lagrange remainder bounds.

Statement
---------
For a tanh-like ``sigma`` (``sigma(0)=0, sigma'(0)=1, sigma''(0)=0``) with
``C_L = sup |sigma'''|``, for every real ``s``

    sigma(s) = s + sigma'''(0) s^3 / 6 + O(s^5)   (odd sigma; O(s^4) otherwise),
    |sigma(s) - s|   <= C_L |s|^3 / 6,
    |sigma'(s) - 1|  <= C_L s^2 / 2.

Assumptions
-----------
``sigma`` tanh-like and three times continuously differentiable on the real
line, with ``C_L`` finite.

Derivation
----------
Taylor's theorem with Lagrange remainder at order 2 about 0:
``sigma(s) = sigma(0) + sigma'(0) s + sigma''(0) s^2/2 + sigma'''(xi) s^3/6``
for some ``xi`` between 0 and ``s``; with the tanh-like values this is
``s + sigma'''(xi) s^3/6``, and ``|sigma'''(xi)| <= C_L``.  The same theorem
applied to ``sigma'`` at order 1 gives ``sigma'(s) = 1 + sigma'''(xi) s^2/2``.
The series coefficients come from :func:`sympy.series`; ``C_L`` is exact when
SymPy finds the critical points of ``sigma'''``, and otherwise certified by
interval arithmetic (see ``theory.multistage.supremum``).

References
----------
Assumption of tanh-like activations in Chen, Luo, Wang, arXiv:2410.20119
(our reconstruction).
"""
from __future__ import annotations

import sympy as sp

from ..derivation import Derivation, derivation_of, is_zero
from .activation import S, Activation, activation_from_spec
from .symbols import C_L

KEY, TITLE = "D2", "Taylor expansion with Lagrange remainder bounds"

xi = sp.Symbol("xi", real=True)


def derive(activation: Activation | None = None) -> Derivation:
    act = activation or activation_from_spec("tanh")
    act.require_tanh_like()
    d3 = act.derivative(3)
    c3 = d3.subs(S, 0)
    series = sp.series(act.expr, S, 0, 6)
    lagrange_sigma = S + d3.subs(S, xi) * S**3 / 6
    lagrange_dsigma = 1 + d3.subs(S, xi) * S**2 / 2
    cubic = S + c3 * S**3 / 6
    identities = {
        "series starts s + sigma'''(0) s^3/6": is_zero(series.removeO().coeff(S, 1) - 1)
        and is_zero(series.removeO().coeff(S, 2)) and is_zero(series.removeO().coeff(S, 3) - c3 / 6),
        "Lagrange form reduces to the series at xi = 0": is_zero(lagrange_sigma.subs(xi, 0) - cubic),
        "Lagrange form of sigma' reduces to d/ds of the cubic at xi = 0":
            is_zero(lagrange_dsigma.subs(xi, 0) - sp.diff(cubic, S)),
    }
    sup = act.C_L
    results = {
        "series": sp.Eq(sp.Function("sigma")(S), series),
        "remainder sigma": sp.Eq(sp.Function("sigma")(S) - S, d3.subs(S, xi) * S**3 / 6),
        "remainder sigma'": sp.Eq(sp.Derivative(sp.Function("sigma")(S), S) - 1, d3.subs(S, xi) * S**2 / 2),
        "bound sigma": sp.Le(sp.Abs(sp.Function("sigma")(S) - S), C_L * sp.Abs(S) ** 3 / 6),
        "bound sigma'": sp.Le(sp.Abs(sp.Derivative(sp.Function("sigma")(S), S) - 1), C_L * S**2 / 2),
        "C_L": sp.Eq(C_L, sup.exact if sup.exact is not None else sp.Float(sup.upper, 15)),
    }
    return derivation_of(__name__, results, identities)


def bounds(activation: Activation) -> dict[str, sp.Expr]:
    """The two remainder bounds as expressions in ``s`` with ``C_L`` substituted."""
    sup = activation.C_L
    c = sup.exact if sup.exact is not None else sp.Rational(sup.upper)   # exact: no rounding below the bound
    return {"sigma": c * sp.Abs(S) ** 3 / 6, "dsigma": c * S**2 / 2}
