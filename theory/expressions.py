"""Whitelist parser for user-supplied expressions.

User text is parsed with :mod:`ast` and translated node by node into SymPy;
it is never passed to ``eval``, ``exec`` or ``sympify``.  Only numbers, the
named variables, the constants ``pi`` and ``E``, the four arithmetic
operators, powers and the functions in :data:`FUNCTIONS` are accepted.
Decimal literals become exact rationals (``0.3 -> 3/10``) so that symbolic
results stay exact.
"""
from __future__ import annotations

import ast
import math
from typing import Iterable

import sympy as sp

from .errors import ExpressionError

__all__ = ["FUNCTIONS", "parse_expression"]

FUNCTIONS = {
    "sin": sp.sin, "cos": sp.cos, "tan": sp.tan,
    "sinh": sp.sinh, "cosh": sp.cosh, "tanh": sp.tanh,
    "asin": sp.asin, "acos": sp.acos, "atan": sp.atan,
    "asinh": sp.asinh, "atanh": sp.atanh,
    "exp": sp.exp, "log": sp.log, "sqrt": sp.sqrt,
    "erf": sp.erf, "abs": sp.Abs, "Abs": sp.Abs,
    "sign": sp.sign, "Max": sp.Max, "Min": sp.Min,
}
CONSTANTS = {"pi": sp.pi, "E": sp.E}
_BINARY = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.Pow: lambda a, b: a**b,
}
_MAX_LENGTH = 2000
_MAX_EXPONENT = 64
_MAX_BITS = 4096
#: deepest nesting of operations and calls accepted (200 nested calls overflow SymPy's recursive printers)
MAX_DEPTH = 40
#: magnitude above which a number is refused: it would overflow to infinity in double precision
_FLOAT_MAX = 1.7e308
#: number of arguments: an int, or (minimum,) for variadic functions
_ARITY = {"Max": (2,), "Min": (2,)}


def parse_expression(text: object, variables: Iterable[sp.Symbol], field: str) -> sp.Expr:
    """Parse ``text`` into a SymPy expression in ``variables``.

    Parameters
    ----------
    text : str
        The expression, in Python syntax (``**`` for powers).
    variables : iterable of sympy.Symbol
        The only names, besides constants and functions, the text may use.
    field : str
        The configuration field the text came from; named in errors.

    Raises
    ------
    ExpressionError
        If the text is not a string, does not parse, or uses anything outside
        the whitelist.
    """
    names = {v.name: v for v in variables}
    allowed = ", ".join(sorted(names)) or "none"
    fix = (f"write an expression in {allowed} using + - * / **, numbers, pi, E "
           f"and the functions {', '.join(sorted(FUNCTIONS))}")
    if not isinstance(text, str) or not text.strip():
        raise ExpressionError(field, text, "expected a non-empty expression string", fix)
    if len(text) > _MAX_LENGTH:
        raise ExpressionError(field, text[:40] + "...", f"longer than {_MAX_LENGTH} characters", fix)
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(field, text, f"not valid expression syntax ({exc.msg})", fix) from None
    except (RecursionError, MemoryError):
        raise ExpressionError(field, text[:40] + "...", "is nested too deeply", fix) from None
    depth = _depth(tree)
    if depth > MAX_DEPTH:
        raise ExpressionError(field, text[:40] + "...", f"is nested {depth} levels deep, more than {MAX_DEPTH}",
                              fix + f" with at most {MAX_DEPTH} nested operations")

    def build(node: ast.AST) -> sp.Expr:
        if isinstance(node, ast.Expression):
            return build(node.body)
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            if isinstance(node.value, float) and not math.isfinite(node.value):
                raise ExpressionError(field, text, "a number overflows to infinity", fix)
            if isinstance(node.value, float):
                segment = ast.get_source_segment(text.strip(), node) or repr(node.value)
                return sp.Rational(segment) if "e" not in segment.lower() else sp.Rational(repr(node.value))
            return sp.Integer(node.value)
        if isinstance(node, ast.Name):
            if node.id in names:
                return names[node.id]
            if node.id in CONSTANTS:
                return CONSTANTS[node.id]
            raise ExpressionError(field, text, f"unknown name {node.id!r}", fix)
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            left, right = build(node.left), build(node.right)
            if isinstance(node.op, ast.Pow) and right.is_number and abs(right) > _MAX_EXPONENT:
                raise ExpressionError(field, text, f"exponent {right} exceeds {_MAX_EXPONENT} in magnitude", fix)
            if isinstance(node.op, ast.Pow) and left.is_number and right.is_number and _too_large(left, right):
                raise ExpressionError(field, text[:60], "a power of numbers has more than 4096 bits", fix)
            return _BINARY[type(node.op)](left, right)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            operand = build(node.operand)
            return -operand if isinstance(node.op, ast.USub) else operand
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
                shown = repr(node.func.id) if isinstance(node.func, ast.Name) else "an attribute or expression"
                raise ExpressionError(field, text, f"calling {shown} is not allowed", fix)
            if node.keywords or not node.args:
                raise ExpressionError(field, text, f"bad call of {node.func.id!r}", fix)
            args = [build(a) for a in node.args]
            arity = _ARITY.get(node.func.id, 1)
            if len(args) < arity[0] if isinstance(arity, tuple) else len(args) != arity:
                want = f"{arity[0]} or more" if isinstance(arity, tuple) else str(arity)
                raise ExpressionError(field, text, f"{node.func.id} takes {want} argument(s), got {len(args)}", fix)
            return FUNCTIONS[node.func.id](*args)
        raise ExpressionError(field, text, f"{type(node).__name__} is not allowed in an expression", fix)

    try:
        expr = build(tree)
    except RecursionError:
        raise ExpressionError(field, text[:40] + "...", "is nested too deeply", fix) from None
    # sin(atanh(1)) = sin(oo) is AccumBounds(-1, 1): a range, not a value
    if not isinstance(expr, sp.Expr) or expr.has(sp.zoo, sp.nan, sp.oo, -sp.oo, sp.AccumBounds):
        raise ExpressionError(field, text, "does not define a finite expression", fix)
    if expr.has(sp.I) or any(a.is_real is False for a in expr.atoms(sp.Number, sp.NumberSymbol)):
        raise ExpressionError(field, text, "has a non-real constant", fix)
    for number in expr.atoms(sp.Number):
        _check_magnitude(number, field, text, fix)
    # innermost first: an overflowing argument is refused before the function of it is evaluated (sin(exp(exp(30)))
    # would need SymPy to reduce e^(1e13) modulo pi, a computation that never ends)
    for sub in sp.postorder_traversal(expr):
        if sub.is_number and not sub.is_Atom:
            if sub.is_real is False:
                raise ExpressionError(field, text, f"has a non-real constant ({sub} is complex)", fix)
            if sub.is_Pow or sub.is_Function:
                _check_magnitude(sub, field, text, fix)
    return expr


def _depth(tree: ast.AST) -> int:
    """Nesting depth of the operations and calls in ``tree``, walked without recursion.

    A chain of sums (``a + b - c + ...``) or of products counts as one level: SymPy flattens it.
    """
    family = {ast.Add: "+", ast.Sub: "+", ast.Mult: "*", ast.Div: "*"}
    deepest, stack = 0, [(tree, 0, None)]
    while stack:
        node, level, parent = stack.pop()
        kind = family.get(type(node.op), type(node.op)) if isinstance(node, ast.BinOp) else None
        if isinstance(node, (ast.Call, ast.UnaryOp)) or (isinstance(node, ast.BinOp) and kind != parent):
            level += 1
        deepest = max(deepest, level)
        stack.extend((child, level, kind) for child in ast.iter_child_nodes(node))
    return deepest


def _check_magnitude(number: sp.Expr, field: str, text: str, fix: str) -> None:
    """Refuse a constant whose magnitude overflows a double (it would become infinity in every computation)."""
    try:
        size = abs(float(number))
    except (OverflowError, TypeError, ValueError):
        size = math.inf
    if not size <= _FLOAT_MAX:
        shown = str(number) if len(str(number)) <= 40 else str(number)[:37] + "..."
        raise ExpressionError(field, text[:60], f"the constant {shown} exceeds the double-precision range "
                              f"(about {_FLOAT_MAX:.3g})", fix)


def _too_large(base: sp.Expr, exponent: sp.Expr) -> bool:
    """Whether ``base**exponent`` with numbers would have more than ``_MAX_BITS`` bits."""
    try:
        size = abs(float(exponent)) * math.log2(max(2.0, abs(float(base))))
    except (OverflowError, TypeError, ValueError):
        return True
    return size > _MAX_BITS
