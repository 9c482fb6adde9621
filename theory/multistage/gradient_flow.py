"""D1. The gradient flow of the two-layer network.

Statement
---------
For ``f(x) = sum_k a_k sigma(w_k . x)`` and the risk
``R = 1/2 E[(f(x) - f*(x))^2]``, the gradient flow ``d theta/dt = -grad R`` is

    da_k/dt = -E[e sigma(w_k . x)],     dw_k/dt = -a_k E[e sigma'(w_k . x) x],

with the residual ``e = f - f*``.

Assumptions
-----------
``sigma`` differentiable; the expectation is over a distribution for which
differentiation under ``E`` is allowed (always true for the quadrature
nodes or the finite samples used numerically).

Derivation
----------
Differentiate ``1/2 (f - f*)^2`` with respect to ``a_k`` and ``w_k`` under the
expectation (chain rule).  Proved symbolically on a network with free
parameters, a generic activation and a free finite data set: the closed form
above minus ``-grad R`` simplifies to zero.

References
----------
Reconstruction of the dynamics (10) of Chen, Luo, Wang, arXiv:2410.20119.
"""
from __future__ import annotations

import sympy as sp

from ..derivation import Derivation, derivation_of, is_zero
from .finite_model import FiniteModel
from .activation import S

KEY, TITLE = "D1", "Gradient flow"

_E = sp.Function("E")
_a, _e = sp.symbols("a_k e", real=True)
_w, _x = sp.symbols("w_k x", real=True)  # displayed as vectors
_sig = sp.Function("sigma")


def derive() -> Derivation:
    model = FiniteModel()
    field = model.field()
    identities = {
        "-dR/d theta equals the closed-form field": all(
            is_zero(field[p] + sp.diff(model.risk, p)) for p in model.params()),
    }
    s_k = sp.Symbol("s_k")  # s_k = w_k . x
    results = {
        "da_k/dt": sp.Eq(sp.Symbol("\\dot a_k"), -_E(_e * _sig(s_k))),
        "dw_k/dt": sp.Eq(sp.Symbol("\\dot w_k"), -_a * _E(_e * sp.Subs(sp.Derivative(_sig(S), S), S, s_k) * _x)),
        "risk": sp.Eq(sp.Symbol("R"), sp.Rational(1, 2) * _E(_e**2)),
        "pre-activation": sp.Eq(s_k, sp.Symbol("w_k") * _x),
    }
    return derivation_of(__name__, results, identities)

