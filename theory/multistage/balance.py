"""D7. Balance of the two layers and the Wasserstein distance between them.

Statement
---------
For every neuron, with ``s = w_k . x``,

    d/dt (a_k^2 - |w_k|^2) = -2 a_k E[e (sigma(s) - s sigma'(s))],

exactly conserved for linear ``sigma``; for tanh-like ``sigma``,
``sigma(s) - s sigma'(s) = -sigma'''(0) s^3 / 3 + O(s^4)`` so the drift is of
higher order.  Under the linearized flow, with
``u_k = (a_k + zhat . w_k)/sqrt 2`` and ``v_k = (a_k - zhat . w_k)/sqrt 2``:
``u_k = u_k(0) e^{|z| t}``, ``v_k = v_k(0) e^{-|z| t}``, ``u_k v_k`` and the
components of ``w_k`` orthogonal to ``z`` are constant.  Hence neurons align
with ``+-z/|z|`` (condensation) and

    W2rel = W2(rho_|a|, rho_|w|) / (mean a_k^2)^(1/2)  decays like  e^{-2 |z| t}.

Assumptions
-----------
Tanh-like ``sigma``; ``z != 0``; the linear regime (``q_max`` small, D5).

Derivation
----------
The drift follows from the D1 field by the chain rule (checked with a
generic ``sigma`` on a free finite data set).  The series of
``sigma - s sigma'`` uses ``sigma(0) = sigma''(0) = 0``, ``sigma'(0) = 1``.
The linear flow in ``(u, v)`` is diagonal (D4); the balance gap
``a_k^2 - |w_k|^2 = 2 u_k v_k - |w_perp|^2`` is constant, so
``| |a_k| - |w_k| | = |2 u_k v_k - |w_perp|^2| / (|a_k| + |w_k|) = O(e^{-|z| t})``
while ``(mean a_k^2)^(1/2) = O(e^{|z| t})``; W2 between sorted samples is at
most the root-mean-square of these differences.

References
----------
Theorem 4* and Figure 1(c) of Chen, Luo, Wang, arXiv:2410.20119 (our
reconstruction); condensation orientations: Zhou et al., NeurIPS 2022.
"""
from __future__ import annotations

import numpy as np
import sympy as sp

from .._derivation import Derivation, derivation_text, is_zero
from ._finite_model import FiniteModel, sigma
from ..activation import S, Activation, activation_from_spec
from .symbols import t, z_norm

KEY, TITLE = "D7", "Balance and the Wasserstein distance (Theorem 4*)"

W2REL_RATE = 2 * z_norm


def derive(activation: Activation | None = None) -> Derivation:
    act = activation or activation_from_spec("tanh")
    model = FiniteModel(neurons=1)
    field = model.field()
    a, w = model.a[0], list(model.W.row(0))
    drift = sp.diff(a**2 - sum(c**2 for c in w), a) * field[a] + sum(
        sp.diff(-(c**2), c) * field[c] for c in w)
    claimed = -2 * a * model.E([model.e(i) * (sigma(model.pre(0, i)) - model.pre(0, i) * model.dsigma(model.pre(0, i)))
                                for i in range(model.points)])
    gap = act.expr - S * act.derivative(1)
    c3 = act.derivative(3).subs(S, 0)
    gap_series = sp.series(gap, S, 0, 4).removeO()
    u0, v0, wp = sp.symbols("u_0 v_0 w_perp", real=True)
    u, v = u0 * sp.exp(z_norm * t), v0 * sp.exp(-z_norm * t)
    a_t, w_par = (u + v) / sp.sqrt(2), (u - v) / sp.sqrt(2)
    linear = sp.Matrix([[0, z_norm], [z_norm, 0]])  # A restricted to span{(1,0),(0,zhat)}
    identities = {
        "drift of a^2 - |w|^2 from the D1 field": is_zero(drift - claimed),
        "sigma - s sigma' = -sigma'''(0) s^3/3 + O(s^4)": is_zero(gap_series + c3 * S**3 / 3),
        "(u e^{|z|t}, v e^{-|z|t}) solves the linear flow": is_zero(
            sp.diff(sp.Matrix([a_t, w_par]), t) - linear * sp.Matrix([a_t, w_par])),
        "u v is constant": is_zero(sp.diff(u * v, t)),
        "a^2 - |w|^2 = 2 u v - |w_perp|^2": is_zero(a_t**2 - (w_par**2 + wp**2) - (2 * u * v - wp**2)),
    }
    results = {
        "balance drift": sp.Eq(sp.Symbol("d/dt (a_k^2 - |w_k|^2)"),
                               -2 * sp.Symbol("a_k") * sp.Function("E")(sp.Symbol("e") * (
                                   sp.Function("sigma")(S) - S * sp.Derivative(sp.Function("sigma")(S), S)))),
        "sigma - s sigma' series": sp.Eq(sp.Symbol("sigma(s) - s sigma'(s)"), sp.series(gap, S, 0, 6)),
        "u(t)": sp.Eq(sp.Symbol("u_k(t)"), u),
        "v(t)": sp.Eq(sp.Symbol("v_k(t)"), v),
        "W2rel decay rate": sp.Eq(sp.Symbol("r_W2rel"), W2REL_RATE),
    }
    return Derivation(KEY, __name__.rsplit(".", 1)[-1], TITLE, derivation_text(__name__), results, identities)


def w2_relative(a: np.ndarray, W: np.ndarray) -> float:
    """``W2(rho_|a|, rho_|w|) / (mean a^2)^(1/2)`` for one set of neurons (rows of ``W``)."""
    amp_a = np.sort(np.abs(a))
    amp_w = np.sort(np.linalg.norm(W, axis=1))
    return float(np.sqrt(np.mean((amp_a - amp_w) ** 2)) / np.sqrt(np.mean(a**2)))
