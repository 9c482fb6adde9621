"""E1. The uv model: its exact one-step map, its wide-limit regimes and the finite-width shift of c_loss.

Statement
---------
The uv model ``f = v.u x / sqrt(w)`` with ``u, v`` in ``R^w``, one example
``x = 1`` with target ``y``, loss ``L = e^2 / 2`` with ``e = f - y``, and
``lambda = (|u|^2 + |v|^2) / w`` (its NTK, and its sharpness at a critical
point).  One gradient-descent step with learning rate ``eta`` maps
``(f, lambda)`` to

    f' = f - eta e lambda + eta^2 e^2 f / w,
    lambda' = lambda - 4 eta e f / w + eta^2 e^2 lambda / w,

whatever ``w`` and whatever the vectors: ``(f, lambda)`` is a closed
two-dimensional system.  With ``eta = c / lambda_0``:

* ``y = 0``, first step: ``lambda_1 - lambda_0 = (eta f_0^2 / w)(c - 4)``,
  and for every step ``lambda_{t+1} - lambda_t = (eta f_t^2 / w)(eta lambda_t - 4)``.
* ``y = 0``, ``w -> oo``: the first multiplier ``f_1 / f_0`` tends to
  ``1 - c``, of modulus below 1 exactly for ``0 < c < 2`` (monotone
  decrease); for ``2 < c < 4`` the loss first grows, but ``lambda`` falls
  while ``eta lambda < 4`` until ``eta lambda < 2`` (the catapult); for
  ``c > 4`` ``lambda`` grows with ``f`` and the run diverges.  The boundaries
  ``c_loss = 2`` and ``c_max = 4`` are computed from these expressions by
  :func:`regime_boundaries`.
* ``y = 0``, finite ``w``: with ``delta = f_0^2 / (w lambda_0^2)`` the first
  multiplier is ``1 - c + delta c^2``; the loss exceeds its initial value at
  step 1 from the root of ``f_1 = -f_0``,
  ``c_1 = (1 - sqrt(1 - 8 delta)) / (2 delta) = 4 / (1 + sqrt(1 - 8 delta))``,
  on, and, because the later multipliers are smaller in modulus
  (the step-2 multiplier at ``c_1`` is ``-1 + 8 delta + O(delta^2)``), the
  10-step ``c_loss`` is that root:

      c_loss = 2 + 4 f_0^2 / (w lambda_0^2) + O(1/w^2)
             = 2 + 4 delta + 16 delta^2 + O(delta^3).

* ``y = 0``: ``lambda`` never rises for ``c < 4`` (``eta lambda_t`` only
  falls), and rises at the first step for ``c > 4``, so the 10-step
  ``c_sharp`` is exactly 4 at every width.
* ``y != 0``: ``lambda' - lambda = -4 eta e f / w + O(eta^2)`` (small ``c``):
  the sharpness rises at every ``c > 0`` when ``e_0 f_0 < 0`` (the first step
  changes it by ``(eta e_0 / w)(c e_0 - 4 f_0)``), so ``c_sharp`` can lie far
  below ``c_loss``, which stays near ``2 + 4 e_0 f_0 / (w lambda_0^2)`` (the
  step-1 root, derived the same way).

Assumptions
-----------
One training example with ``x = 1``; full-batch gradient descent;
``w >= 1``; ``lambda_0 > 0``; ``c > 0``.  The wide-limit regimes hold as
``w -> oo`` at fixed ``f_0`` and ``lambda_0`` (``u, v ~ N(0, 1)`` gives
``f_0 = O(1)``, ``lambda_0 -> 2``).  The finite-width expansion is in
``delta = f_0^2 / (w lambda_0^2) = O(1/w)``.

Derivation
----------
The gradients of ``L`` (computed with ``diff`` on component vectors) are
``e v / sqrt(w)`` and ``e u / sqrt(w)``, so ``u'`` and ``v'`` are linear
combinations of ``u`` and ``v`` with scalar coefficients, and ``u'.v'`` and
``|u'|^2 + |v'|^2`` are polynomials in the Gram entries ``|u|^2``,
``|v|^2``, ``u.v`` in every dimension.  The coefficients are identified on
symbolic vectors of dimension 2 (where the three Gram entries are
algebraically independent, so the identification is unique): a general
polynomial of degree 3 in them is matched monomial by monomial.
Substituting ``u.v = sqrt(w) f`` and ``|u|^2 = w lambda - |v|^2`` leaves
no ``|v|^2``: the map closes on ``(f, lambda)``.  The regimes follow from
the wide limit of the first multiplier (``limit``) and from the sign of
the one-step sharpness change (``solveset``).  The finite-width threshold
solves ``f_1 = -f_0``; ``c = 2 + k/w`` is expanded to first order in
``1/w`` (``series``) and solved for ``k``; the exact root's series and the
step-2 multiplier at the root are expanded the same way.

References
----------
Section 3 (the uv model) of Kalra & Barkeshli, arXiv:2302.12250, and
Lewkowycz et al., arXiv:2003.02218 (the catapult mechanism); this is our
reconstruction of E1 of arXiv:2302.12250.
"""
from __future__ import annotations

import sympy as sp

from ..derivation import Derivation, derivation_of, is_zero

KEY, TITLE = "E1", "The uv model: exact map, regimes and the finite-width c_loss"

__all__ = ["KEY", "TITLE", "f", "lam", "eta", "w", "y", "c", "f0", "lam0", "delta", "e0", "VECTOR_DIM",
           "gd_step_invariants", "derive_map", "F_NEXT", "LAM_NEXT", "SHARPNESS_CHANGE_Y0",
           "MULTIPLIER_WIDE_Y0", "MULTIPLIER_Y0", "C_LOSS_FIRST_ORDER", "C_LOSS_STEP1_FIRST_ORDER",
           "C_LOSS_STEP1_EXACT", "SHARPNESS_CHANGE_SMALL_ETA", "regime_boundaries", "first_order_threshold",
           "derive"]

# scalars of the reduced map: current state (f, lambda), learning rate, width, target, c = eta lambda_0
f, y = sp.symbols("f y", real=True)
lam, eta, w, c = sp.symbols("lambda eta w c", positive=True)
f0 = sp.Symbol("f_0", real=True)
lam0 = sp.Symbol("lambda_0", positive=True)
delta = sp.Symbol("delta", positive=True)          # f_0^2 / (w lambda_0^2)
e0 = sp.Symbol("e_0", real=True)                   # f_0 - y
_eps = sp.Symbol("epsilon", positive=True)         # 1 / w in the expansions

#: dimension of the symbolic vectors on which the map is identified
VECTOR_DIM = 2

# Gram entries |u|^2, |v|^2, u.v of the symbolic vectors
_p, _q, _a = sp.symbols("p q a", real=True)


def _identify(expr: sp.Expr, gram: dict, components: list, degree: int = 3) -> sp.Expr:
    """Write the polynomial ``expr`` in the vector components as a polynomial in the Gram entries.

    ``gram`` maps ``p, q, a`` to ``|u|^2, |v|^2, u.v``.  A general polynomial of ``degree`` in them is
    matched monomial by monomial; raises ``ValueError`` when no polynomial or more than one matches.
    """
    monomials = [_p**i * _q**j * _a**k for i in range(degree + 1) for j in range(degree + 1)
                 for k in range(degree + 1) if i + j + k <= degree]
    coeffs = sp.symbols(f"k0:{len(monomials)}")
    ansatz = sum(k * m for k, m in zip(coeffs, monomials))
    equations = sp.Poly(sp.expand(expr - ansatz.subs(gram)), *components).coeffs()
    solutions = sp.solve(equations, coeffs, dict=True)
    if len(solutions) != 1 or set(solutions[0]) != set(coeffs):
        raise ValueError("the expression is not a unique polynomial in the Gram entries")
    return sp.expand(ansatz.subs(solutions[0]))


def gd_step_invariants(dim: int = VECTOR_DIM) -> tuple[sp.Expr, sp.Expr, dict]:
    """One gradient-descent step of the uv model on symbolic vectors of dimension ``dim``.

    Returns ``(a', s', checks)``: ``u'.v'`` and ``|u'|^2 + |v'|^2`` as polynomials in ``p = |u|^2``,
    ``q = |v|^2``, ``a = u.v`` (and ``eta, w, y``), and ``checks``, the gradient identities
    (``dL/du = e v / sqrt(w)``, ``dL/dv = e u / sqrt(w)``) as booleans.
    """
    u = sp.Matrix(sp.symbols(f"u1:{dim + 1}", real=True))
    v = sp.Matrix(sp.symbols(f"v1:{dim + 1}", real=True))
    f_uv = u.dot(v) / sp.sqrt(w)
    loss = (f_uv - y) ** 2 / 2
    grad_u = sp.Matrix([sp.diff(loss, ui) for ui in u])
    grad_v = sp.Matrix([sp.diff(loss, vi) for vi in v])
    checks = {"dL/du = e v / sqrt(w)": is_zero(grad_u - (f_uv - y) * v / sp.sqrt(w)),
              "dL/dv = e u / sqrt(w)": is_zero(grad_v - (f_uv - y) * u / sp.sqrt(w))}
    u1, v1 = u - eta * grad_u, v - eta * grad_v
    gram = {_p: u.dot(u), _q: v.dot(v), _a: u.dot(v)}
    components = list(u) + list(v)
    a_next = _identify(sp.expand(u1.dot(v1)), gram, components)
    s_next = _identify(sp.expand(u1.dot(u1) + v1.dot(v1)), gram, components)
    return a_next, s_next, checks


def derive_map(dim: int = VECTOR_DIM) -> tuple[sp.Expr, sp.Expr, dict]:
    """The map ``(f, lambda) -> (f', lambda')`` derived from the update of ``u`` and ``v``.

    Returns ``(f', lambda', checks)``; ``checks`` holds the gradient identities and whether the map
    closes on ``(f, lambda)`` (no ``|v|^2`` left after ``|u|^2 = w lambda - |v|^2``).
    """
    a_next, s_next, checks = gd_step_invariants(dim)
    reduce = {_a: sp.sqrt(w) * f, _p: w * lam - _q}
    f_next = sp.expand(a_next.subs(reduce) / sp.sqrt(w))
    lam_next = sp.expand(s_next.subs(reduce) / w)
    checks["the map closes on (f, lambda)"] = not (f_next.has(_q) or lam_next.has(_q))
    return f_next, lam_next, checks


F_NEXT, LAM_NEXT, _MAP_CHECKS = derive_map()

_STEP0 = {f: f0, lam: lam0, eta: c / lam0}

#: lambda_1 - lambda_0 at y = 0 as a function of c = eta lambda_0 (and f_0, lambda_0, w)
SHARPNESS_CHANGE_Y0 = sp.factor((LAM_NEXT - lam).subs(y, 0).subs(_STEP0))
#: f_1 / f_0 at y = 0 (first step)
MULTIPLIER_Y0 = sp.expand((F_NEXT / f).subs(y, 0).subs(_STEP0))
#: its limit as w -> oo
MULTIPLIER_WIDE_Y0 = sp.limit(MULTIPLIER_Y0, w, sp.oo)
#: the first-step change of lambda over eta as eta -> 0 (any y): the small-c sharpness change per unit eta
SHARPNESS_CHANGE_SMALL_ETA = sp.limit(sp.expand((LAM_NEXT - lam) / eta), eta, 0)


def first_order_threshold(multiplier: sp.Expr, target: sp.Expr = sp.Integer(-1), base: sp.Expr = sp.Integer(2)) -> sp.Expr:
    """The root ``c = base + k / w`` of ``multiplier(c) = target``, to first order in ``1/w``.

    ``multiplier`` is a first-step multiplier in ``c`` and ``w`` whose wide limit equals ``target`` at
    ``c = base``; the ``O(1/w)`` coefficient of ``multiplier(base + k/w) - target`` is solved for ``k``.
    """
    k = sp.Symbol("k")
    residual = (multiplier - target).subs(c, base + k * _eps).subs(w, 1 / _eps)
    series = sp.series(residual, _eps, 0, 2).removeO()
    if not is_zero(series.subs(_eps, 0)):
        raise ValueError(f"the wide limit of the multiplier is not {target} at c = {base}")
    solutions = sp.solve(sp.expand(series).coeff(_eps, 1), k)
    if len(solutions) != 1:
        raise ValueError(f"the first-order coefficient does not fix the threshold: {solutions}")
    return base + solutions[0] / w


#: the 10-step c_loss at y = 0, to first order in 1/w
C_LOSS_FIRST_ORDER = first_order_threshold(MULTIPLIER_Y0)
#: the step-1 threshold |e_1| = |e_0| for any y (e_0 = f_0 - y), to first order in 1/w
_MULTIPLIER_E = sp.expand(((F_NEXT - y) / (f - y)).subs(_STEP0).subs(y, f0 - e0))
C_LOSS_STEP1_FIRST_ORDER = first_order_threshold(sp.simplify(_MULTIPLIER_E))


def _exact_step1_root() -> sp.Expr:
    """The root of ``f_1 = -f_0`` (y = 0) that tends to 2 as ``w -> oo``, as ``solve`` gives it."""
    roots = sp.solve(MULTIPLIER_Y0 + 1, c)
    near_two = [r for r in roots if sp.limit(r, w, sp.oo) == 2]
    if len(near_two) != 1:
        raise ValueError(f"expected one root tending to 2, got {roots}")
    return near_two[0]


_ROOT_SOLVED = _exact_step1_root()
#: the exact step-1 threshold at y = 0 (the 10-step c_loss, see the statement), rationalised to
#: ``4 / (1 + sqrt(1 - 8 delta))``: the solved form ``(1 - sqrt(1 - 8 delta)) / (2 delta)`` loses about
#: ``u / delta`` to cancellation in floating point; :func:`derive` checks that the two agree
C_LOSS_STEP1_EXACT = 4 / (1 + sp.sqrt(1 - 8 * f0**2 / (w * lam0**2)))


def regime_boundaries(multiplier_wide: sp.Expr = MULTIPLIER_WIDE_Y0,
                      sharpness_change: sp.Expr = SHARPNESS_CHANGE_Y0) -> tuple[sp.Expr, sp.Expr]:
    """``(c_loss, c_max)`` of the wide uv model at ``y = 0`` from the derived expressions.

    ``c_loss`` is the upper end of ``{c > 0 : |multiplier_wide(c)| < 1}`` (monotone decrease below it);
    ``c_max`` is the upper end of ``{c > 0 : sharpness_change(c) < 0}`` (the sharpness falls, so a run that
    grows at first is caught, below it; above it the sharpness grows with the loss and the run diverges).
    The sharpness change is divided by its positive factors (``f_0^2``, ``lambda_0``, ``w``) before its sign
    is solved.
    """
    positive = sp.Interval.open(0, sp.oo)
    stable = sp.solveset(sp.Abs(multiplier_wide) < 1, c, positive)
    sign = sp.simplify(sharpness_change * lam0 * w / f0**2)
    if sign.free_symbols - {c}:
        raise ValueError(f"the sign of the sharpness change depends on more than c: {sign}")
    falling = sp.solveset(sign < 0, c, positive)
    return sp.sympify(stable.sup), sp.sympify(falling.sup)


def _series_in_inverse_width(expr: sp.Expr, order: int) -> sp.Expr:
    return sp.series(expr.subs(w, 1 / _eps), _eps, 0, order).removeO().subs(_eps, 1 / w)


def derive() -> Derivation:
    e = f - y
    f_stated = f - eta * e * lam + eta**2 * e**2 * f / w
    lam_stated = lam - 4 * eta * e * f / w + eta**2 * e**2 * lam / w
    c_loss_inf, c_max_inf = regime_boundaries()
    stable = sp.solveset(sp.Abs(MULTIPLIER_WIDE_Y0) < 1, c, sp.Reals)
    delta_of = f0**2 / (w * lam0**2)
    # at the step-1 threshold (f_1 = -f_0): the step-2 multiplier 1 - eta lambda_1 + eta^2 f_1^2 / w
    lam1 = lam0 + SHARPNESS_CHANGE_Y0
    step2 = (1 - c * lam1 / lam0 + (c / lam0) ** 2 * f0**2 / w).subs(c, C_LOSS_STEP1_EXACT)
    identities = dict(_MAP_CHECKS)
    identities.update({
        "f' equals f - eta e lambda + eta^2 e^2 f / w": is_zero(F_NEXT - f_stated),
        "lambda' equals lambda - 4 eta e f / w + eta^2 e^2 lambda / w": is_zero(LAM_NEXT - lam_stated),
        "y = 0, step 0: lambda_1 - lambda_0 = (eta f_0^2 / w)(c - 4)":
            is_zero(SHARPNESS_CHANGE_Y0 - (c / lam0) * f0**2 / w * (c - 4)),
        "y = 0: lambda' - lambda = (eta f^2 / w)(eta lambda - 4) at every step":
            is_zero((LAM_NEXT - lam).subs(y, 0) - eta * f**2 / w * (eta * lam - 4)),
        "wide limit of the first multiplier is 1 - c": is_zero(MULTIPLIER_WIDE_Y0 - (1 - c)),
        "|1 - c| < 1 exactly on 0 < c < 2": stable == sp.Interval.open(0, 2),
        "wide-limit boundaries c_loss = 2, c_max = 4": (c_loss_inf, c_max_inf) == (2, 4),
        "c_loss = 2 + 4 f_0^2 / (w lambda_0^2) + O(1/w^2)":
            is_zero(C_LOSS_FIRST_ORDER - (2 + 4 * f0**2 / (w * lam0**2))),
        "the rationalised step-1 root equals the solved root of f_1 = -f_0": is_zero(C_LOSS_STEP1_EXACT - _ROOT_SOLVED),
        "the exact step-1 root expands to 2 + 4 delta + 16 delta^2":
            is_zero(_series_in_inverse_width(C_LOSS_STEP1_EXACT, 3) - (2 + 4 * delta_of + 16 * delta_of**2)),
        "the step-2 multiplier at the step-1 root is -1 + 8 delta + O(delta^2)":
            is_zero(_series_in_inverse_width(step2, 2) - (-1 + 8 * delta_of)),
        "step-1 threshold for any y: 2 + 4 e_0 f_0 / (w lambda_0^2)":
            is_zero(C_LOSS_STEP1_FIRST_ORDER - (2 + 4 * e0 * f0 / (w * lam0**2))),
        "small c: lambda' - lambda = -4 eta e f / w + O(eta^2)": is_zero(SHARPNESS_CHANGE_SMALL_ETA + 4 * e * f / w),
        "first step, any y: lambda_1 - lambda_0 = (eta e_0 / w)(c e_0 - 4 f_0)":
            is_zero((LAM_NEXT - lam).subs(_STEP0).subs(y, f0 - e0) - (c / lam0) * e0 / w * (c * e0 - 4 * f0)),
    })
    results = {
        "f'": sp.Eq(sp.Symbol("f'"), F_NEXT),
        "lambda'": sp.Eq(sp.Symbol("lambda'"), LAM_NEXT),
        "sharpness change, y = 0, step 0": sp.Eq(sp.Symbol("lambda_1 - lambda_0"), SHARPNESS_CHANGE_Y0),
        "first multiplier, y = 0": sp.Eq(sp.Symbol("f_1/f_0"), MULTIPLIER_Y0),
        "wide-limit multiplier": sp.Eq(sp.Symbol("f_1/f_0 (w -> oo)"), MULTIPLIER_WIDE_Y0),
        "monotone decrease": sp.Contains(c, stable),
        "catapult": sp.Contains(c, sp.Interval.open(c_loss_inf, c_max_inf)),
        "divergence": sp.Contains(c, sp.Interval.open(c_max_inf, sp.oo)),
        "c_loss (first order in 1/w)": sp.Eq(sp.Symbol("c_loss"), C_LOSS_FIRST_ORDER),
        "c_loss (exact step-1 root)": sp.Eq(sp.Symbol("c_1"), C_LOSS_STEP1_EXACT),
        "step-1 threshold, any y": sp.Eq(sp.Symbol("c_1"), C_LOSS_STEP1_FIRST_ORDER),
        "small-c sharpness change per unit eta": sp.Eq(sp.Symbol("(lambda' - lambda)/eta"),
                                                         SHARPNESS_CHANGE_SMALL_ETA),
    }
    return derivation_of(__name__, results, identities)
