"""D8. The reduced dynamics of the descent: the quantity K and its logistic law.

Statement
---------
Let ``K(t) = beta(t) . z / (z^T Sigma^-1 z)`` with ``beta = sum_k a_k w_k``.
``K = 0`` at the start and ``K = 1`` at the least-squares linear fit.  For a
condensed, balanced network (``w_k = a_k v`` with ``|v| = 1``) in the linear
regime the reduced flow is that of a rank-one two-layer linear network,

    d beta/dt = -(|beta| I + beta beta^T / |beta|) (Sigma beta - z),

and for whitened inputs (``Sigma = I``, ``beta`` along ``z``) it is the
logistic equation

    dK/dt = 2 |z| K (1 - K),   K(t) = K0 e^{2|z|t} / (1 - K0 + K0 e^{2|z|t}),

with the per-seed initial value ``K0 = sum_k u_k(0)^2 / (2 |z|)`` (the
growing-mode content of the initialisation, ``u_k`` as in D7) and expected
value ``E K0 = m^(1 - 2 alpha) / (2 |z|)``.

Assumptions
-----------
``alpha > 1/2`` (small, condensing initialisation), ``z != 0``; whitened
inputs for the logistic law (otherwise the general reduced flow above).

Derivation
----------
With ``sigma(s) = s`` the D1 field is ``da_k/dt = -w_k . g``,
``dw_k/dt = -a_k g`` with ``g = Sigma beta - z``.  Substituting the
condensed, balanced form ``w_k = a_k v`` and ``beta = (sum a_k^2) v`` gives
the reduced flow (checked with SymPy for two neurons in two dimensions).
For ``Sigma = I`` and ``beta = K z`` it reduces to the logistic equation,
whose solution is found with ``dsolve`` and checked by substitution.
After the decaying modes die out, ``beta . zhat = sum_k u_k^2 / 2``
grows like ``e^{2|z|t}`` from ``sum_k u_k(0)^2 / 2``, which fixes ``K0``;
``u_k(0) ~ N(0, m^(-2 alpha))`` gives its mean.

References
----------
Section 4.2 of Chen, Luo, Wang, arXiv:2410.20119 (our reconstruction);
Saxe, McClelland, Ganguli, ICLR 2014 (rank-one linear networks).
"""
from __future__ import annotations

import sympy as sp

from ..derivation import Derivation, derivation_of, is_zero
from .finite_model import FiniteModel
from .symbols import K, K0, alpha, m, t, z_norm

KEY, TITLE = "D8", "Reduced dynamics of the descent: K(t)"

logistic_rhs = 2 * z_norm * K(t) * (1 - K(t))
K_closed = K0 * sp.exp(2 * z_norm * t) / (1 - K0 + K0 * sp.exp(2 * z_norm * t))
K0_expected = m ** (1 - 2 * alpha) / (2 * z_norm)


def derive() -> Derivation:
    model = FiniteModel(activation=lambda s: s)
    field = model.field()
    M, d = model.neurons, model.dim
    v = sp.Matrix(sp.symbols(f"v1:{d + 1}", real=True))
    ansatz = {model.W[k, j]: model.a[k] * v[j] for k in range(M) for j in range(d)}
    S_a = sum(model.a[k] ** 2 for k in range(M))
    beta = S_a * v
    beta_dot = sp.Matrix([sum(field[model.a[k]] * model.W[k, j] + model.a[k] * field[model.W[k, j]]
                              for k in range(M)) for j in range(d)]).subs(ansatz)
    g = model.Sigma * beta - model.z
    nb = sp.sqrt(S_a**2)  # |beta| with |v| = 1
    reduced = -(nb * sp.eye(d) + beta * beta.T / nb) * g
    unit = {v[1]: sp.sqrt(1 - v[0] ** 2)}
    sol = sp.dsolve(sp.Eq(K(t).diff(t), logistic_rhs), K(t), ics={K(0): K0})
    zs = sp.Matrix(sp.symbols("z1:3", real=True))
    Kt = sp.Symbol("K", positive=True)
    zn = sp.sqrt((zs.T * zs)[0])
    beta_w = Kt * zs  # whitened, beta along z
    reduced_white = -(Kt * zn * sp.eye(2) + beta_w * beta_w.T / (Kt * zn)) * (beta_w - zs)
    identities = {
        "condensed balanced D1 flow gives the rank-one reduced flow":
            is_zero((beta_dot - reduced).subs(unit)),
        "whitened reduced flow along z is dK/dt = 2|z| K (1 - K)":
            is_zero(reduced_white - 2 * zn * Kt * (1 - Kt) * zs),
        "closed-form K(t) solves the logistic equation": is_zero(
            sp.diff(K_closed, t) - logistic_rhs.subs(K(t), K_closed)),
        "closed-form K(0) = K0": is_zero(K_closed.subs(t, 0) - K0),
        "dsolve agrees with the closed form": is_zero(sol.rhs - K_closed),
        "K = 1 is the fixed point (least-squares fit)": is_zero(logistic_rhs.subs(K(t), 1)),
    }
    results = {
        "K": sp.Eq(sp.Symbol("K"), sp.Symbol("beta . z") / sp.Symbol("z^T Sigma^-1 z")),
        "reduced flow": sp.Eq(sp.Symbol("\\dot beta"), -(sp.Symbol("|beta|") * sp.Symbol("I") + sp.Symbol(
            "beta beta^T") / sp.Symbol("|beta|")) * (sp.Symbol("Sigma") * sp.Symbol("beta") - sp.Symbol("z"))),
        "logistic law": sp.Eq(K(t).diff(t), logistic_rhs),
        "K(t)": sp.Eq(K(t), K_closed),
        "K0": sp.Eq(K0, sp.Symbol("sum_k u_k(0)^2") / (2 * z_norm)),
        "E K0": sp.Eq(sp.Symbol("E K_0"), K0_expected),
    }
    return derivation_of(__name__, results, identities)
