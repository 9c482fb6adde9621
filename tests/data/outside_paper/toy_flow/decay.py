"""T1. The linear flow x' = -k x decays at the rate k.

Statement
---------
The solution of ``x' = -k x``, ``x(0) = x0 > 0``, is ``x0 exp(-k t)``: ``d log x / dt = -k``.

Assumptions
-----------
``k > 0``, ``x0 > 0``.

Derivation
----------
``dsolve`` solves the equation; the logarithmic derivative of the solution is ``-k``.

References
----------
A test fixture of the verifier's plug-in mechanism.
"""
from __future__ import annotations

import sympy as sp

from theory import Derivation, derivation_of, is_zero

KEY = "T1"
TITLE = "The linear flow x' = -k x decays at the rate k"

t = sp.Symbol("t", real=True)
k, x0 = sp.symbols("k x0", positive=True)
rate = -k


def derive() -> Derivation:
    x = sp.Function("x")
    sol = sp.dsolve(sp.Eq(x(t).diff(t), -k * x(t)), x(t), ics={x(0): x0}).rhs
    identities = {"the solution is x0 exp(-k t)": is_zero(sol - x0 * sp.exp(-k * t)),
                  "d log x / dt = -k": is_zero(sp.diff(sp.log(sol), t) - rate)}
    results = {"x(t)": sp.Eq(sp.Symbol("x(t)"), sol), "rate": sp.Eq(sp.Symbol("rate"), rate)}
    return derivation_of(__name__, results, identities)
