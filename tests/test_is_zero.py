"""theory.derivation.is_zero: the cheap rewritings tried before simplify prove only true identities, and
simplify still decides what they cannot."""
import sympy as sp

from theory.derivation import is_zero

x, y = sp.symbols("x y", positive=True)


def test_identities_settled_by_expand_cancel_or_simplify():
    assert is_zero((x + y) ** 2 - x**2 - 2 * x * y - y**2)           # expand
    assert is_zero(1 / (x + 1) - x / (x**2 + x))                       # cancel
    assert is_zero(sp.sin(x) ** 2 + sp.cos(x) ** 2 - 1)               # simplify only
    assert is_zero(sp.Matrix([[x - x, sp.exp(x) * sp.exp(-x) - 1]]))
    assert is_zero(0) and is_zero(sp.Integer(0))


def test_differences_that_are_not_zero_are_not_called_zero():
    assert not is_zero((x + y) ** 2 - x**2 - y**2)
    assert not is_zero(1 / (x + 1) - 1 / x)
    assert not is_zero(sp.sin(x) ** 2 - sp.cos(x) ** 2)
    assert not is_zero(sp.Matrix([[0, x - y]]))
    assert not is_zero(sp.Function("f")(x) - sp.Function("f")(y))
