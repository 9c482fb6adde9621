"""Activation functions and the tanh-like assumption.

Statement
---------
An activation ``sigma`` is *tanh-like* when ``sigma(0) = 0``,
``sigma'(0) = 1``, ``sigma''(0) = 0`` and ``C_L = sup_s |sigma'''(s)|`` is
finite.  Then ``sigma(s) = s + sigma'''(0) s^3 / 6 + O(s^5)`` near 0 and the
two-layer network behaves like a linear one while its weights are small.
``C_L`` and ``C_0 = sup_s |sigma'(s)|`` are the suprema themselves (exact, or
certified to 1e-6 relative), not loose bounds; see :mod:`theory.multistage.supremum`.

Assumptions
-----------
``sigma`` is a SymPy expression in the real symbol ``s``, three times
differentiable on the whole real line (no ``Abs``, ``Max``, ``sign``...).

References
----------
Chen, Luo, Wang, "On multi-stage loss dynamics in neural networks",
arXiv:2410.20119 (tanh-like activations; our reconstruction).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache

import sympy as sp

from .supremum import Supremum, sup_abs
from ..errors import InputError, NotTanhLike
from ..expressions import parse_expression

__all__ = ["S", "Activation", "BUILTIN", "activation_from_spec"]

#: The activation's argument.
S = sp.Symbol("s", real=True)

#: Built-in tanh-like activations.
BUILTIN = {
    "tanh": sp.tanh(S),
    "sin": sp.sin(S),
    "erf": sp.erf(sp.sqrt(sp.pi) * S / 2),
}
#: Common activations that are *not* tanh-like; built so they can be refused with a reason.
KNOWN_OTHERS = {
    "relu": sp.Max(0, S),
    "sigmoid": 1 / (1 + sp.exp(-S)),
    "softplus": sp.log(1 + sp.exp(S)),
    "gelu": S * (1 + sp.erf(S / sp.sqrt(2))) / 2,
    "silu": S / (1 + sp.exp(-S)),
}
#: deepest composition of functions accepted in an activation: the size of sigma''' grows about fourfold with each
#: level (2,431 nodes at eight nested tanh, whose derivative alone takes SymPy 13 s), and the certified
#: supremum's time with it
MAX_FUNCTION_NESTING = 5
_NON_SMOOTH = (sp.Abs, sp.Max, sp.Min, sp.sign, sp.Heaviside, sp.Piecewise)


@dataclass(frozen=True)
class Activation:
    """An activation ``sigma(s)`` given by a SymPy expression in :data:`S`."""

    name: str
    expr: sp.Expr

    def derivative(self, order: int) -> sp.Expr:
        """The ``order``-th derivative of ``sigma`` as a SymPy expression."""
        return sp.diff(self.expr, S, order) if order else self.expr

    def taylor_coefficients(self, order: int = 5) -> list[sp.Expr]:
        """Exact derivatives ``sigma^(k)(0)`` for ``k = 0..order``."""
        series = sp.series(self.expr, S, 0, order + 1).removeO()
        return [sp.simplify(series.coeff(S, k) * sp.factorial(k)) for k in range(order + 1)]

    def violations(self) -> list[str]:
        """Which tanh-like conditions fail (empty when the activation is tanh-like)."""
        if self.expr.has(*_NON_SMOOTH):
            return ["sigma is not three times differentiable at every point (uses Abs/Max/sign or a piecewise form)"]
        out = []
        for k, want in ((0, 0), (1, 1), (2, 0)):
            got = sp.simplify(self.derivative(k).subs(S, 0))
            if got != want:
                out.append(f"sigma{chr(39) * k}(0) = {got}, not {want}")
        return out

    @property
    def is_tanh_like(self) -> bool:
        return not self.violations()

    def require_tanh_like(self, field: str = "[model] activation") -> "Activation":
        """Return ``self``, or raise :class:`NotTanhLike` naming the failed condition."""
        bad = self.violations()
        if bad:
            raise NotTanhLike(field, self.name, "; ".join(bad) + " (the theory needs a tanh-like activation)",
                              "use tanh, sin, erf, or an expression in s with sigma(0)=0, sigma'(0)=1, sigma''(0)=0")
        return self

    @cached_property
    def C_L(self) -> Supremum:
        """``sup |sigma'''|``: exact where SymPy can, else a certified bracket narrower than 1e-6 relative.

        Where the work budget of the branch and bound runs out, the wider bracket is
        reported (``method = "interval bracket"``, ``note`` says why) and ``upper`` is
        still a true upper bound.  ``upper = inf`` with ``infinite`` true means the
        supremum is proven infinite (the remainder bounds do not apply).  Records are
        cached in memory and on disk by the expression (see :mod:`theory.multistage.supremum`).
        """
        return sup_abs(self.derivative(3), S)

    @cached_property
    def C0(self) -> Supremum:
        """``sup |sigma'|``, used to bound ``|sigma(s)| <= C0 |s|`` (same routes and cache as :attr:`C_L`)."""
        return sup_abs(self.derivative(1), S)

    def derivative_as_polynomial_of_sigma(self, order: int) -> list[sp.Expr] | None:
        """Coefficients ``c_j`` with ``sigma^(order)(s) = sum_j c_j sigma(s)^j``, or None.

        For tanh, ``sigma' = 1 - sigma^2`` and ``sigma'' = -2 sigma + 2 sigma^3``:
        the simulator then evaluates one transcendental function per entry
        instead of two.  Found by substituting ``sigma(s) -> Y`` in the
        derivative and checking that ``s`` is gone and the result is a
        polynomial in ``Y``.
        """
        Y = sp.Symbol("Y")
        if not self.expr.is_Function or self.expr.args != (S,):
            return None
        replaced = sp.expand(self.derivative(order).subs(self.expr, Y))
        if replaced.has(S) or not replaced.is_polynomial(Y):
            return None
        poly = sp.Poly(replaced, Y)
        return [poly.coeff_monomial(Y**j) for j in range(poly.degree() + 1)]

    def latex(self) -> str:
        return sp.latex(self.expr)


def activation_from_spec(spec: object, field: str = "[model] activation") -> Activation:
    """Build an activation from a built-in name or a SymPy expression in ``s``.

    Built-in names: ``tanh``, ``sin``, ``erf`` (meaning ``erf(sqrt(pi) s / 2)``);
    ``relu``, ``sigmoid``, ``softplus``, ``gelu`` and ``silu`` are recognised
    so that they can be refused with the condition they violate.  Results are
    cached, so the constants ``C_L`` and ``C_0`` are derived once per activation.
    """
    if isinstance(spec, str):
        return _activation_from_text(spec.strip(), field)
    raise InputError(field, spec, "expected a string", 'write e.g. activation = "tanh"')


@lru_cache(maxsize=64)
def _activation_from_text(spec: str, field: str) -> Activation:
    key = spec
    if key in BUILTIN:
        return Activation(key, BUILTIN[key])
    if key.lower() in KNOWN_OTHERS:
        return Activation(key.lower(), KNOWN_OTHERS[key.lower()])
    expr = parse_expression(key, [S], field)
    nesting = _function_nesting(expr)
    if nesting > MAX_FUNCTION_NESTING:
        raise InputError(field, spec[:60], f"composes {nesting} functions, more than {MAX_FUNCTION_NESTING}: "
                         "sigma''' and the time of its certified supremum grow about fourfold with each level",
                         f"use at most {MAX_FUNCTION_NESTING} nested functions (e.g. tanh(tanh(s)))")
    return Activation(key, expr)


def _function_nesting(expr: sp.Expr) -> int:
    """Deepest chain of functions applied to functions in ``expr`` (``tanh(tanh(s))``: 2), without recursion."""
    deepest, stack = 0, [(expr, 0)]
    while stack:
        node, level = stack.pop()
        level += 1 if isinstance(node, sp.Function) else 0
        deepest = max(deepest, level)
        stack.extend((arg, level) for arg in node.args)
    return deepest
