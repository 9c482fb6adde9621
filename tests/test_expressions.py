"""The expression parser (theory/expressions.py): properties (Hypothesis) of its whitelist and robustness."""
from __future__ import annotations

import builtins
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import sympy as sp
from hypothesis import assume, given, note, settings
from hypothesis import strategies as st

from theory.errors import ExpressionError
from theory.expressions import FUNCTIONS, parse_expression
from theory.multistage.symbols import input_symbols
from waiting import HANG_S


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
#
# What the parser accepts (theory/expressions.py): an expression that is finite (no zoo, nan or oo), real (no I, and
# no number SymPy can show is not real) and whose numbers - literals, and constant powers and function values - all
# lie in the double range (|x| <= 1.7e308, and no power of numbers over 4096 bits); plus limits on the text (length,
# nesting, exponents above 64) that these small expressions never reach.  So:
#   sqrt(sin(4)), sqrt(-(pi))   a square root of a negative constant is not real (sqrt(-(pi)) = I*sqrt(pi));
#                               SymPy also pulls I out of roots of expressions it can show are negative:
#                               sqrt(-(x0**2)) = I*Abs(x0)
#   sinh((6)**4)                sinh(1296) ~ 1e562 overflows a double
#   1/(x0 - x0), (sin(0))**-2   zoo
# The generator builds only accepted expressions: a square root takes the absolute value of an argument SymPy does
# not know to be nonnegative, and any other operation whose result would break a rule above (judged by
# _within_the_rules, a margin inside the parser's limits) is left out - the node is its first operand - so no
# example is ever discarded.

_LEAVES = st.one_of(
    st.sampled_from([("x0", VARS[0]), ("x1", VARS[1]), ("pi", sp.pi), ("E", sp.E)]),
    st.integers(0, 30).map(lambda k: (str(k), sp.Integer(k))),
    st.tuples(st.integers(0, 9), st.integers(0, 99)).map(
        lambda ab: (f"{ab[0]}.{ab[1]:02d}", sp.Rational(f"{ab[0]}.{ab[1]:02d}"))),
)
_UNARY_FUNCTIONS = ["sin", "cos", "exp", "tanh", "atan", "erf", "sqrt", "sinh", "abs"]
_BINARY = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b, "/": lambda a, b: a / b}
#: largest magnitude of a number in a generated expression: well inside the parser's 1.7e308
_RANGE = 1e300


def _within_the_rules(expr: sp.Expr) -> bool:
    """Finite, real, and every number in it (every constant subexpression) at most _RANGE in magnitude."""
    if expr.has(sp.zoo, sp.nan, sp.oo, -sp.oo, sp.AccumBounds, sp.I):
        return False
    for sub in sp.preorder_traversal(expr):
        if sub.is_number:
            if sub.is_real is False:
                return False
            try:
                size = abs(float(sub))
            except (TypeError, ValueError, OverflowError):
                return False
            if not size <= _RANGE:
                return False
    return True


def _or_first(candidate, first):
    """``candidate`` if the parser must accept it, else the operand ``first`` (accepted already)."""
    return candidate if _within_the_rules(candidate[1]) else first


def _apply(name: str, child):
    text, expr = child
    if name == "sqrt" and not expr.is_nonnegative:
        text, expr = f"abs({text})", sp.Abs(expr)
    return _or_first((f"{name}({text})", FUNCTIONS[name](expr)), child)


def _extend(children):
    binary = st.tuples(st.sampled_from(sorted(_BINARY)), children, children).map(
        lambda t: _or_first((f"({t[1][0]}) {t[0]} ({t[2][0]})", _BINARY[t[0]](t[1][1], t[2][1])), t[1]))
    unary = st.tuples(st.sampled_from(_UNARY_FUNCTIONS), children).map(lambda t: _apply(*t))
    power = st.tuples(children, st.integers(-3, 4)).map(
        lambda t: _or_first((f"({t[0][0]})**{t[1]}", t[0][1] ** t[1]), t[0]))
    negation = children.map(lambda c: (f"-({c[0]})", -c[1]))
    return st.one_of(binary, unary, power, negation)


def expressions():
    return st.recursive(_LEAVES, _extend, max_leaves=10)


@settings(deadline=None)
@given(expressions())
def test_parser_round_trips_random_expressions(pair):
    text, built = pair
    note(text)
    parsed = parse_expression(text, VARS, "[target] expr")
    assert parsed == built or sp.simplify(parsed - built) == 0
    # the comparison discriminates: a changed string gives a different expression
    assert parse_expression(f"({text}) + 1", VARS, "[target] expr") != built


# expressions the parser must refuse: one bad constant (or exponent) inside an otherwise accepted expression

#: positive constants (SymPy can tell their sign), far from overflow: sums, products, quotients and small powers of
#: at most four leaves up to 30, and functions of atan(c) in (0, pi/2), where each function is positive and small
_POSITIVE = st.recursive(
    st.one_of(st.integers(1, 30).map(str), st.sampled_from(["pi", "E", "0.5", "2.25", "exp(1)", "atan(3)"])),
    lambda c: st.one_of(
        st.tuples(c, st.sampled_from(["+", "*", "/"]), c).map(lambda t: f"({t[0]}) {t[1]} ({t[2]})"),
        st.tuples(st.sampled_from(["sqrt", "atan", "tanh", "erf", "abs", "exp"]), c).map(
            lambda t: f"{t[0]}(atan({t[1]}))"),
        st.tuples(c, st.integers(1, 3)).map(lambda t: f"({t[0]})**{t[1]}")),
    max_leaves=4)
#: constants that are zero
_ZERO = st.one_of(st.sampled_from(["0", "0.00", "sin(0)", "sin(pi)", "tanh(0)", "atan(0)", "erf(0)", "abs(0)"]),
                  _POSITIVE.map(lambda c: f"({c}) - ({c})"), _POSITIVE.map(lambda c: f"0*({c})"))
_NOT_REAL = st.one_of(
    _POSITIVE.map(lambda c: f"sqrt(-({c}))"),                         # sqrt(-(pi)) = I*sqrt(pi)
    st.sampled_from(["sqrt(sin(4))", "sqrt(cos(3))", "sqrt(tanh(-2))", "sqrt(atan(-1))", "sqrt(1 - pi)",
                     "sqrt(-(x0**2))", "sqrt(-(exp(x0)))", "log(-1)", "log(-(pi))", "(-8)**(1/3)", "acos(2)"]),
    st.integers(2, 30).map(lambda k: f"sqrt(-{k})"))
_OUT_OF_RANGE = st.one_of(
    st.tuples(st.sampled_from(["sinh", "exp"]), st.integers(6, 30)).map(lambda t: f"{t[0]}(({t[1]})**4)"),
    st.tuples(st.sampled_from(["sinh", "exp"]), st.integers(7, 30)).map(lambda t: f"{t[0]}(exp({t[1]}))"),
    st.integers(710, 10**6).map(lambda k: f"exp({k})"),
    st.integers(309, 400).map(lambda k: "1" + "0" * k),               # a literal above 1.7e308
    st.integers(309, 400).map(lambda k: f"1e{k}"),                      # overflows to inf as a float
    st.integers(2, 64).map(lambda k: f"(((2)**64)**64)**{k}"),          # more than 4096 bits
    st.integers(65, 10**4).map(lambda k: f"(x0)**{k}"),                 # an exponent above 64
    st.integers(65, 10**4).map(lambda k: f"(x0)**-{k}"))
_NOT_FINITE = st.one_of(
    _ZERO.map(lambda z: f"1/({z})"), st.tuples(_ZERO, st.integers(-3, -1)).map(lambda t: f"({t[0]})**{t[1]}"),
    st.sampled_from(["log(0)", "x0/(x1 - x1)", "atanh(1)"]))
_CONTEXTS = ["{bad}", "x0 + ({bad})", "({bad}) * x1", "sin({bad})", "({bad}) / (1 + (x0)**2)", "({ok}) + ({bad})",
             "({ok}) - ({bad})"]


@st.composite
def refused_expressions(draw):
    bad = draw(st.one_of(_NOT_REAL, _OUT_OF_RANGE, _NOT_FINITE))
    return draw(st.sampled_from(_CONTEXTS)).format(bad=bad, ok=draw(expressions())[0])


def _assert_refused_in_one_line(text: str) -> str:
    with pytest.raises(ExpressionError) as info:
        parse_expression(text, VARS, "[target] expr")
    message = str(info.value)
    assert "\n" not in message and message.startswith("[target] expr = ") and "; fix: " in message, message
    assert text[:30] in message, message                    # names the value (long ones cut after 40 characters)
    return message


@pytest.mark.parametrize("text, problem", [("sqrt(sin(4))", "non-real constant"), ("sqrt(-(pi))", "non-real constant"),
                                           ("sinh((6)**4)", "double-precision range"),
                                           ("sin(atanh(1))", "finite expression")])
def test_parser_refuses_constants_out_of_domain_or_range_in_one_line(text, problem):
    """The examples a former generator produced: not real (sin(4) < 0), overflowing (sinh(1296) ~ 1e562); and
    sin(atanh(1)) = sin(oo), which SymPy makes the range AccumBounds(-1, 1)."""
    assert problem in _assert_refused_in_one_line(text)


@settings(deadline=None)
@given(refused_expressions())
def test_parser_refuses_bad_constants_anywhere_in_one_line(text):
    note(text)
    _assert_refused_in_one_line(text)


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


@pytest.mark.parametrize("text", ["((((2**64)**64)**64)**64)**64",    # refused from the numbers' sizes
                                  "sin(exp(exp(30)))"])              # the argument refused before sin is evaluated
def test_parser_refuses_huge_constants_quickly(text):
    """Refused in a few CPU seconds at most: without the checks SymPy would compute a 2**(64**5)-bit integer, or
    reduce e^(1e13) modulo pi, and never finish.  Measured in a child process, as CPU time (neither the
    interpreter's start nor the load of other processes counts); HANG_S stops the child if it hangs."""
    code = textwrap.dedent(f"""
        import time
        import sympy as sp
        from theory.expressions import parse_expression
        from theory.errors import ExpressionError
        start = time.process_time()
        try:
            parse_expression({text!r}, [sp.Symbol("x0")], "f")
        except ExpressionError:
            print(time.process_time() - start)
    """)
    try:
        done = subprocess.run([sys.executable, "-c", code], timeout=HANG_S, capture_output=True, text=True,
                              cwd=Path(__file__).resolve().parents[1])
    except subprocess.TimeoutExpired:
        pytest.fail(f"parsing {text!r} did not finish in {HANG_S:g} s")
    assert done.returncode == 0 and done.stdout.strip(), done.stderr     # refused (nothing printed if accepted)
    assert float(done.stdout) < 5


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
