"""The expression parser (theory/expressions.py): properties (Hypothesis) of its whitelist and robustness."""
from __future__ import annotations

import builtins
import subprocess
import sys
import textwrap

import pytest
import sympy as sp
from hypothesis import assume, given, note, settings
from hypothesis import strategies as st

from theory.errors import ExpressionError
from theory.expressions import FUNCTIONS, parse_expression
from theory.multistage.data import input_symbols


# ---------------------------------------------------------------------------
# the whitelist parser


VARS = input_symbols(2)

HOSTILE = [
    "__import__('os').system('true')",
    "__import__",
    "().__class__.__bases__[0].__subclasses__()",
    "x0.__class__",
    "sin.__globals__",
    "(lambda: 0)()",
    "lambda x0: x0",
    "[x0 for x0 in (1, 2)]",
    "{x0 for x0 in (1,)}",
    "(x0 for x0 in (1,))",
    "{'a': x0}",
    "exec('1')",
    "eval('1')",
    "open('/etc/passwd')",
    "getattr(x0, 'real')",
    "globals()",
    "sympify('x0')",
    "x0 if x0 else 1",
    "f'{x0}'",
    "'x0'",
    "b'x0'",
    "x0[0]",
    "x0 < 1",
    "x0 and x1",
    "not x0",
    "~x0",
    "x0 // 2",
    "x0 % 2",
    "x0 @ x1",
    "x0 := 1",
    "(x0 := 1)",
    "x0; x1",
    "import os",
    "sin(x=x0)",
    "sin(*[x0])",
    "sin()",
    "exp(x0)(x1)",
    "True",
    "None",
    "1j",
    "...",
    "x2",
    "I",
    "oo",
    "nan",
    "S",
    "Symbol('y')",
    "1/0",
    "log(0)",
    "x0**65",
    "2**10**3",
    "",
    "   ",
]


@given(st.sampled_from(HOSTILE), st.sampled_from(["{}", "x0 + ({})", "sin({})", "({}) * x1", "-({})"]))
def test_parser_refuses_hostile_strings(hostile, context):
    text = context.format(hostile)
    with pytest.raises(ExpressionError) as info:
        parse_expression(text, VARS, "[target] expr")
    assert "[target] expr" in str(info.value) and "fix:" in str(info.value)


@st.composite
def attribute_and_call_chains(draw):
    """Random dunder/attribute chains and calls of names outside the whitelist."""
    name = draw(st.from_regex(r"[a-z_][a-z0-9_]{0,10}", fullmatch=True))
    assume(name not in FUNCTIONS and name not in ("pi", "E", "x0", "x1"))
    attr = draw(st.from_regex(r"_{0,2}[a-z]{1,8}_{0,2}", fullmatch=True))
    form = draw(st.sampled_from(["{n}", "{n}()", "{n}(x0)", "x0.{a}", "{n}.{a}", "sin(x0).{a}", "{n}.{a}(x0)",
                                 "(1).{a}"]))
    return form.format(n=name, a=attr)


@given(attribute_and_call_chains())
def test_parser_refuses_unknown_names_attributes_and_calls(text):
    try:
        compile(text, "<test>", "eval")
    except SyntaxError:
        assume(False)                      # e.g. a generated keyword such as "if": not interesting
    with pytest.raises(ExpressionError):
        parse_expression(text, VARS, "[target] expr")


def test_parser_never_calls_eval_exec_or_sympify(monkeypatch, tmp_path):
    canary = tmp_path / "canary"

    def forbidden(*args, **kwargs):
        raise AssertionError("the parser evaluated its input")

    for owner, name in ((builtins, "eval"), (builtins, "exec"), (sp, "sympify"), (sp, "parse_expr")):
        monkeypatch.setattr(owner, name, forbidden)
    assert parse_expression("sin(x0)**2 + 0.5*x1 - pi", VARS, "f") == sp.sin(VARS[0]) ** 2 + VARS[1] / 2 - sp.pi
    with pytest.raises(ExpressionError):
        parse_expression(f"open({str(canary)!r}, 'w')", VARS, "f")
    with pytest.raises(ExpressionError):
        parse_expression(f"__import__('pathlib').Path({str(canary)!r}).touch()", VARS, "f")
    assert not canary.exists()


# random arithmetic expressions: (text, SymPy expression built with the same operations)

_LEAVES = st.one_of(
    st.sampled_from([("x0", VARS[0]), ("x1", VARS[1]), ("pi", sp.pi), ("E", sp.E)]),
    st.integers(0, 30).map(lambda k: (str(k), sp.Integer(k))),
    st.tuples(st.integers(0, 9), st.integers(0, 99)).map(
        lambda ab: (f"{ab[0]}.{ab[1]:02d}", sp.Rational(f"{ab[0]}.{ab[1]:02d}"))),
)
_UNARY_FUNCTIONS = ["sin", "cos", "exp", "tanh", "atan", "erf", "sqrt", "sinh", "abs"]
_BINARY = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b, "/": lambda a, b: a / b}


def _small_base(child) -> bool:
    """Keep integer towers such as ((30**4)**4)**4... from growing without bound."""
    e = child[1]
    return not e.is_Rational or (abs(e.p) < 10**6 and e.q < 10**6)


def _extend(children):
    binary = st.tuples(st.sampled_from(sorted(_BINARY)), children, children).map(
        lambda t: (f"({t[1][0]}) {t[0]} ({t[2][0]})", _BINARY[t[0]](t[1][1], t[2][1])))
    unary = st.tuples(st.sampled_from(_UNARY_FUNCTIONS), children).map(
        lambda t: (f"{t[0]}({t[1][0]})", FUNCTIONS[t[0]](t[1][1])))
    power = st.tuples(children.filter(_small_base), st.integers(-3, 4)).map(
        lambda t: (f"({t[0][0]})**{t[1]}", t[0][1] ** t[1]))
    negation = children.map(lambda c: (f"-({c[0]})", -c[1]))
    return st.one_of(binary, unary, power, negation)


@st.composite
def expressions(draw):
    text, expr = draw(st.recursive(_LEAVES, _extend, max_leaves=10))
    assume(not expr.has(sp.zoo, sp.nan, sp.oo, -sp.oo))
    return text, expr


@settings(deadline=None)
@given(expressions())
def test_parser_round_trips_random_expressions(pair):
    text, built = pair
    note(text)
    parsed = parse_expression(text, VARS, "[target] expr")
    assert parsed == built or sp.simplify(parsed - built) == 0
    # the comparison discriminates: a changed string gives a different expression
    assert parse_expression(f"({text}) + 1", VARS, "[target] expr") != built


# -- parser robustness (each was a bug found by these tests, now fixed) ------------------------


@pytest.mark.parametrize("text", ["sin(x0, x1)", "erf(x0, 1)", "tanh(x0, x1, 2)"])
def test_parser_wrong_arity_is_an_expression_error(text):
    with pytest.raises(ExpressionError):
        parse_expression(text, VARS, "[target] expr")


def test_parser_overflowing_literal_is_an_expression_error():
    with pytest.raises(ExpressionError):
        parse_expression("1e400 * x0", VARS, "[target] expr")


def test_parser_deep_nesting_is_an_expression_error():
    with pytest.raises(ExpressionError):
        parse_expression("-" * 1990 + "x0", VARS, "[target] expr")


def test_parser_refuses_power_towers_quickly():
    code = textwrap.dedent("""
        import sympy as sp
        from theory.expressions import parse_expression
        from theory.errors import ExpressionError
        try:
            parse_expression("((((2**64)**64)**64)**64)**64", [sp.Symbol("x0")], "f")
        except ExpressionError:
            pass
    """)
    try:
        subprocess.run([sys.executable, "-c", code], timeout=5, check=True, capture_output=True)
    except subprocess.TimeoutExpired:
        pytest.fail("parsing a 38-character power tower did not finish in 5 s")


@pytest.mark.parametrize("text", ["sqrt(-1)*x0 + x0", "log(-1) + x0", "(-1)**0.5 * x1"])
def test_parser_refuses_complex_constants(text):
    with pytest.raises(ExpressionError):
        parse_expression(text, VARS, "[target] expr")


def test_parser_refuses_sqrt_with_two_arguments():
    with pytest.raises(ExpressionError):
        parse_expression("sqrt(x0, 3)", VARS, "[target] expr")


def test_the_readme_lists_exactly_the_parser_whitelist():
    """The README's list of allowed functions is the parser's: a function added to one and not the other fails."""
    import re
    from pathlib import Path

    from theory.expressions import FUNCTIONS

    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    listed = re.search(r"and the functions `([^`]*)`", text.replace("\n", " "))
    assert listed is not None
    assert set(listed.group(1).split()) == set(FUNCTIONS)
