"""D3. The flow of one neuron splits into a linear part and higher-order terms.

Statement
---------
With ``q_k = (a_k, w_k)`` in ``R^(d+1)``, ``z = E[f* x]`` and
``A = [[0, z^T], [z, 0]]``,

    dq_k/dt = A q_k + N_k(theta),

and with ``q_max = max_k |q_k|`` the higher-order terms obey

    |N_k| <= C_1 (m q_max^2 + q_max^2) |q_k|,
    C_1 = max( 2 C_L E[|f*| |x|^3] / 3,  C_0^2 E|x|^2 ),

where ``C_L = sup |sigma'''|`` and ``C_0 = sup |sigma'|``.

Assumptions
-----------
``sigma`` tanh-like with finite ``C_L`` and ``C_0``; the moments
``E|x|^2`` and ``E[|f*| |x|^3]`` finite.

Derivation
----------
Write ``e = f - f*`` and ``s = w_k . x``.  Then
``N_k^a = E[f* (sigma(s) - s)] - E[f sigma(s)]`` and
``N_k^w = a_k E[f* (sigma'(s) - 1) x] - a_k E[f sigma'(s) x]``.
D2 bounds ``|sigma(s) - s| <= C_L |w_k|^3 |x|^3 / 6`` and
``|sigma'(s) - 1| <= C_L |w_k|^2 |x|^2 / 2``; ``|sigma(s)| <= C_0 |s|`` and
``|a_j| |w_j| <= |q_j|^2 / 2`` give ``|f(x)| <= C_0 m q_max^2 |x| / 2``.
Adding the pieces, with ``|a_k|, |w_k| <= |q_k| <= q_max``:
``|N_k| <= |N_k^a| + |N_k^w| <= (2 C_L E[|f*||x|^3]/3) q_max^2 |q_k| +
C_0^2 E|x|^2 m q_max^2 |q_k|``.  The symbolic part checked here: the
Jacobian of the D1 field at ``theta = 0`` is ``A`` on every neuron (so
``N_k`` has no linear part), proved on a free finite data set.

References
----------
Lemma 1 (estimate of higher-order terms) of Chen, Luo, Wang,
arXiv:2410.20119 (our reconstruction, with our explicit constant).
"""
from __future__ import annotations

import sympy as sp

from ..derivation import Derivation, derivation_of, is_zero
from .finite_model import FiniteModel, sigma
from .symbols import C_0, C_1, C_L, M_fx3, M_x2, Q, m

KEY, TITLE = "D3", "Linear part and higher-order terms (Lemma 1)"

#: the bound's factor: ``|N_k| <= bound_factor |q_k|`` with ``Q = q_max``
bound_factor = C_1 * (m * Q**2 + Q**2)
#: ``C_1`` from the activation's constants and the data moments
C_1_closed = sp.Max(2 * C_L * M_fx3 / 3, C_0**2 * M_x2)


def order_in_q(expr) -> sp.Expr:
    """The order of ``expr`` in ``Q``: ``d log expr / d log Q`` (2 for :data:`bound_factor`: the higher-order terms
    are cubic in the parameters, quadratic in ``q_max`` relative to ``|q_k|``)."""
    return sp.simplify(Q * sp.diff(expr, Q) / expr)


def A_matrix(z: sp.Matrix) -> sp.Matrix:
    """``[[0, z^T], [z, 0]]`` for a column vector ``z``."""
    d = z.shape[0]
    A = sp.zeros(d + 1, d + 1)
    A[0, 1:] = z.T
    A[1:, 0] = z
    return A


def tanh_like_at_zero(expr):
    """Replace ``sigma(0), sigma'(0), sigma''(0)`` by ``0, 1, 0`` in ``expr``."""
    values = {0: sp.Integer(0), 1: sp.Integer(1), 2: sp.Integer(0)}

    def at_zero(e):
        return isinstance(e, sp.Subs) and e.point == (0,) and isinstance(e.expr, sp.Derivative) \
            and e.expr.expr.func == sigma and e.expr.derivative_count in values

    expr = expr.doit() if hasattr(expr, "doit") else expr
    expr = expr.replace(at_zero, lambda e: values[e.expr.derivative_count])
    return expr.replace(lambda e: isinstance(e, sp.Function) and e.func == sigma and e.args == (0,),
                        lambda e: values[0])


def derive() -> Derivation:
    model = FiniteModel()
    field = model.field()
    params = model.params()
    at_zero = {p: 0 for p in params}
    jac = tanh_like_at_zero(sp.Matrix([[sp.diff(field[p], r) for r in params] for p in params]).subs(at_zero))
    A = A_matrix(model.z)
    # reorder: parameters are (a_1..a_M, w_11..w_1d, w_21..); neuron k uses a_k and row k of W
    M, d = model.neurons, model.dim
    expected = sp.zeros(len(params), len(params))
    for k in range(M):
        idx = [k] + [M + k * d + j for j in range(d)]
        for r, i in enumerate(idx):
            for c, j in enumerate(idx):
                expected[i, j] = A[r, c]
    identities = {"Jacobian of the D1 field at theta = 0 is A on each neuron (sigma(0)=0, sigma'(0)=1)":
                  is_zero(jac - expected),
                  "the bound's factor C_1 (m Q^2 + Q^2) is of order 2 in q_max": is_zero(order_in_q(bound_factor) - 2)}
    zsym = sp.Matrix(sp.symbols("z1:4", real=True))
    qmax = sp.Symbol("q_max", positive=True)
    results = {
        "A": sp.Eq(sp.Symbol("A"), A_matrix(zsym), evaluate=False),
        "split": sp.Eq(sp.Symbol("\\dot q_k"), sp.Symbol("A") * sp.Symbol("q_k") + sp.Symbol("N_k")),
        "C_1": sp.Eq(C_1, C_1_closed),
        "bound": sp.Le(sp.Symbol("|N_k|"), C_1 * (m * qmax**2 + qmax**2) * sp.Symbol("|q_k|")),
        "rate factor": bound_factor,
    }
    return derivation_of(__name__, results, identities)

