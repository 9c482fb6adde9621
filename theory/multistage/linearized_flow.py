"""D4. The linearized flow: spectrum of A, exp(tA) in closed form, and its GD analogue.

Statement
---------
``A = [[0, z^T], [z, 0]]`` has eigenvalues ``+|z|``, ``-|z|`` and 0 (with
multiplicity ``d - 1``); the growing eigenvector is ``(1, z/|z|)/sqrt(2)``.
With ``P`` the orthogonal projector onto ``span{(1, 0), (0, z)}`` and
``P0 = I - P``,

    exp(tA) = cosh(|z| t) P + sinh(|z| t) A / |z| + P0.

For gradient descent with step ``eta`` the linear map is
``(I + eta A)^n = (1 + eta|z|)^n P+ + (1 - eta|z|)^n P- + P0`` with
``P+- = (P +- A/|z|)/2``; its growing mode has the effective rate
``log(1 + eta |z|) / eta`` per unit of time ``t = n eta``, not ``|z|``.

Assumptions
-----------
``z != 0`` (for ``z = 0``, ``A = 0`` and nothing grows).

Derivation
----------
``A^2 = |z|^2 P`` and ``A P = P A = A``, so the exponential series splits
into even and odd powers: ``exp(tA) = P0 + sum_k (t|z|)^(2k)/(2k)! P +
sum_k (t|z|)^(2k+1)/(2k+1)! A/|z|``.  Verified with SymPy: the closed form
satisfies ``X' = AX`` and ``X(0) = I``; ``P+-`` are idempotent and
``A P+- = +-|z| P+-``; the eigenvectors satisfy their equations.

References
----------
Linearized flow (15) of Chen, Luo, Wang, arXiv:2410.20119 (our reconstruction).
"""
from __future__ import annotations

from functools import lru_cache

import sympy as sp

from ..derivation import Derivation, derivation_of, is_zero
from .higher_order import A_matrix
from .symbols import eta, n, t, z_norm

KEY, TITLE = "D4", "Linearized flow and its closed-form solution"

_DIM = 3

#: the effective growth rate of gradient descent per unit of time ``t = n eta``
gd_effective_rate = sp.log(1 + eta * z_norm) / eta


def _pieces(dim: int = _DIM):
    z = sp.Matrix(sp.symbols(f"z1:{dim + 1}", real=True))
    r = sp.sqrt((z.T * z)[0])
    A = A_matrix(z)
    P = sp.zeros(dim + 1, dim + 1)
    P[0, 0] = 1
    P[1:, 1:] = z * z.T / r**2
    P0 = sp.eye(dim + 1) - P
    return z, r, A, P, P0


@lru_cache(maxsize=16)
def closed_form(dim: int = _DIM):
    """``(z, exp(tA))`` as SymPy objects for symbolic ``z`` in ``R^dim``."""
    z, r, A, P, P0 = _pieces(dim)
    return z, sp.cosh(r * t) * P + sp.sinh(r * t) * A / r + P0


def derive() -> Derivation:
    z, r, A, P, P0 = _pieces()
    X = sp.cosh(r * t) * P + sp.sinh(r * t) * A / r + P0
    Pp, Pm = (P + A / r) / 2, (P - A / r) / 2
    v_grow = sp.Matrix([1] + list(z / r)) / sp.sqrt(2)
    v_decay = sp.Matrix([1] + list(-z / r)) / sp.sqrt(2)
    null = [sp.Matrix([0, -z[1], z[0], 0]), sp.Matrix([0, -z[2], 0, z[0]])]
    gd = (1 + eta * r) ** n * Pp + (1 - eta * r) ** n * Pm + P0
    identities = {
        "A^2 = |z|^2 P": is_zero(A * A - r**2 * P),
        "d/dt exp(tA) = A exp(tA)": is_zero(sp.diff(X, t) - A * X),
        "exp(0 A) = I": is_zero(X.subs(t, 0) - sp.eye(4)),
        "A v+ = |z| v+": is_zero(A * v_grow - r * v_grow),
        "A v- = -|z| v-": is_zero(A * v_decay + r * v_decay),
        "A v0 = 0 on the orthogonal complement": all(is_zero(A * v) for v in null),
        "P+ and P- idempotent": is_zero(Pp * Pp - Pp) and is_zero(Pm * Pm - Pm),
        "(I + eta A)^(n+1) = (I + eta A)(I + eta A)^n":
            is_zero(gd.subs(n, n + 1) - (sp.eye(4) + eta * A) * gd),
        "(I + eta A)^0 = I": is_zero(gd.subs(n, 0) - sp.eye(4)),
    }
    lam = sp.Symbol("lambda")
    results = {
        "eigenvalues": sp.Eq(sp.Symbol("spec(A)"), sp.FiniteSet(r, -r, 0), evaluate=False),
        "characteristic polynomial": sp.Eq(sp.factor((A - lam * sp.eye(4)).det()), 0),
        "growing eigenvector": sp.Eq(sp.Symbol("v_+"), v_grow, evaluate=False),
        "exp(tA)": sp.Eq(sp.Symbol("e^{tA}"), sp.cosh(sp.Symbol("|z|") * t) * sp.Symbol("P")
                         + sp.sinh(sp.Symbol("|z|") * t) * sp.Symbol("A") / sp.Symbol("|z|") + sp.Symbol("P_0")),
        "GD map": sp.Eq(sp.Symbol("(I + eta A)^n"), (1 + eta * sp.Symbol("|z|")) ** n * sp.Symbol("P_+")
                        + (1 - eta * sp.Symbol("|z|")) ** n * sp.Symbol("P_-") + sp.Symbol("P_0")),
        "GD effective rate": sp.Eq(sp.Symbol("r_GD"), gd_effective_rate),
    }
    return derivation_of(__name__, results, identities)

