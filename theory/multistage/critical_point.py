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

Assumptions
-----------
The network acts as the linear map ``x -> beta . x`` (condensed, small
neurons: ``sigma(s) ~ s``); ``Sigma`` invertible.

Derivation
----------
For ``f = beta . x``, ``R(beta) = E[f*^2]/2 - beta . z + beta^T Sigma beta / 2``;
its gradient ``Sigma beta - z`` vanishes at ``beta = Sigma^-1 z``, where
``R = R*``.  With ``Sigma = I`` and ``beta = K z`` this is the quadratic
``R(K)``, stationary and minimal at ``K = 1`` (second derivative
``|z|^2 > 0``).  Checked with SymPy for a symbolic positive-definite
``Sigma`` in two dimensions.

References
----------
Section 4.2.1 of Chen, Luo, Wang, arXiv:2410.20119 (our reconstruction).
"""
from __future__ import annotations

import sympy as sp

from .._derivation import Derivation, derivation_text, is_zero
from .symbols import E_f2, z_Sinv_z, z_norm

KEY, TITLE = "D10", "Critical point K = 1 and the secondary-plateau loss R*"

Kv = sp.Symbol("K", real=True)
R_star = E_f2 / 2 - z_Sinv_z / 2
R_of_K = E_f2 / 2 - z_norm**2 * (1 - (1 - Kv) ** 2) / 2


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
    }
    results = {
        "critical-point condition": sp.Eq(sp.Symbol("E[(f - f*) x]"), sp.Symbol("Sigma beta - z")),
        "R*": sp.Eq(sp.Symbol("R^*"), R_star),
        "R(K)": sp.Eq(sp.Function("R")(Kv), R_of_K),
    }
    return Derivation(KEY, __name__.rsplit(".", 1)[-1], TITLE, derivation_text(__name__), results, identities)
