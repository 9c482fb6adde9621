"""Property tests (Hypothesis) over widths, exponents, activations and targets.

No ``derive()`` runs inside a property: the module-level SymPy expressions
of the derivations are evaluated through the one bridge
(:func:`theory.bridge.numeric`).  Strategies are ``@st.composite``; the
number of examples comes from the profile chosen in ``conftest.py``.
"""
from __future__ import annotations

import builtins
import functools
import math
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import sympy as sp
from hypothesis import assume, given, note, settings, target
from hypothesis import strategies as st

import theory.activation as activation_module
from theory.multistage import descent_time, gradient_flow, initial_plateau, linearized_flow
from theory.activation import activation_from_spec
from theory.bridge import numeric
from theory.multistage.data import input_symbols, make_data
from theory.errors import ExpressionError
from theory.expressions import FUNCTIONS, parse_expression
from theory.multistage.symbols import C_0, M_fx1, M_x2, Q, alpha, alpha_1, delta, eta, m, q0, z_norm
from verify.multistage._config import config_from_dict
from verify.multistage._initialisation import initial_parameters
from verify.multistage._predict import predict
from finite_differences import central_gradient

EPS = np.finfo(float).eps

#: Closed-form expressions of a few logs evaluated in float64: a few ulps of the largest term.
#: 64 ulps covers the lambdified evaluation order (cse) and the log of products.
ROUNDOFF_ULPS = 64

#: Central differences (step h = eps^(1/3), scaled) of the risk: ~1e-10 relative observed,
#: see tests/test_numeric.py; same allowance.
FD_RTOL = 1e-7

#: Step of the finite differences of E T_d in alpha and log m.  E T_d is exactly linear in
#: alpha, and its third derivative in log m is O(1/m), so the truncation error is far below the
#: round-off eps |E T_d| / h ~ 1e-10.
SLOPE_STEP = 1e-4
SLOPE_ATOL = 1e-8

#: The bound sum of moments over the same point set that the risk uses: round-off only.
RISK_ROUNDOFF = 1e-12

ACTIVATIONS = ("tanh", "sin", "erf")


@pytest.fixture(scope="module", autouse=True)
def _memoised_suprema():
    """Compute each sup |sigma'''| and sup |sigma'| once for the whole module.

    ``Activation.C_L`` is cached per object and every new configuration builds a new
    object, which would redo the (deterministic) SymPy search, ~3 s for tanh, in every
    example.  Memoising ``sup_abs`` on its (hashable) arguments changes nothing else.
    """
    cached = functools.lru_cache(maxsize=None)(activation_module.sup_abs)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(activation_module, "sup_abs", cached)
        yield


def _fn(expr, *args):
    return numeric(expr, args)


def _log_uniform_int(draw, lo: int, hi: int) -> int:
    return int(round(math.exp(draw(st.floats(math.log(lo), math.log(hi))))))


# ---------------------------------------------------------------------------
# (1) T_p at the expected q_max(0) is the stated expansion


@st.composite
def plateau_parameters(draw):
    a = draw(st.floats(0.55, 3.0))
    frac = draw(st.floats(0.01, 0.99))
    a1 = 0.5 + frac * (a - 0.5)                      # 1/2 < alpha_1 < alpha
    width = _log_uniform_int(draw, 10, 10**6)
    zn = draw(st.floats(0.05, 5.0))
    return a, a1, width, zn


T_P = _fn(initial_plateau.T_p, m, alpha_1, q0, z_norm)
T_P_EXPECTED = _fn(initial_plateau.T_p_expected, m, alpha, alpha_1, z_norm)
Q0_EXPECTED = _fn(initial_plateau.q0_expected, m, alpha)


@given(plateau_parameters())
def test_T_p_at_expected_q0_is_T_p_expected(params):
    a, a1, width, zn = params
    got = T_P(width, a1, Q0_EXPECTED(width, a), zn)
    want = T_P_EXPECTED(width, a, a1, zn)
    scale = (a * math.log(width) + abs(math.log(2 * math.log(width)))) / zn
    assert abs(got - want) <= ROUNDOFF_ULPS * EPS * scale
    # negative control: forgetting the sqrt(2 log m) of the Gaussian maximum shifts T_p by log(2 log m)/(2|z|)
    naive = T_P(width, a1, width ** (-a), zn)
    assert abs(naive - want) >= 0.99 * math.log(2 * math.log(width)) / (2 * zn)


# ---------------------------------------------------------------------------
# (2) slopes of E T_d against finite differences


@st.composite
def descent_parameters(draw):
    return (draw(st.floats(0.55, 3.0)), draw(st.floats(10.0, 1e6)), draw(st.floats(0.05, 5.0)),
            draw(st.floats(1e-4, 0.4)))


E_T_D = _fn(descent_time.E_T_d, delta, alpha, m, z_norm, descent_time.r)
E_T_D_ASYMPTOTIC = _fn(descent_time.E_T_d_asymptotic, delta, alpha, m, z_norm, descent_time.r)
SLOPE_ALPHA = _fn(descent_time.slope_alpha, m, descent_time.r)
SLOPE_LOG_M = _fn(descent_time.slope_log_m, alpha, descent_time.r)


@given(descent_parameters(), st.sampled_from(["flow", "gd"]), st.floats(0.01, 0.9))
def test_E_T_d_slopes_equal_finite_differences(params, method, eta_z):
    a, width, zn, dlt = params
    r = 2 * zn if method == "flow" else 2 * math.log1p(eta_z) / (eta_z / zn)
    h = SLOPE_STEP
    fd_alpha = (E_T_D(dlt, a + h, width, zn, r) - E_T_D(dlt, a - h, width, zn, r)) / (2 * h)
    assert abs(fd_alpha - SLOPE_ALPHA(width, r)) <= SLOPE_ATOL * (1 + abs(fd_alpha))
    fd_L = (E_T_D(dlt, a, width * math.exp(h), zn, r) - E_T_D(dlt, a, width * math.exp(-h), zn, r)) / (2 * h)
    fd_L_asym = (E_T_D_ASYMPTOTIC(dlt, a, width * math.exp(h), zn, r)
                 - E_T_D_ASYMPTOTIC(dlt, a, width * math.exp(-h), zn, r)) / (2 * h)
    slope = SLOPE_LOG_M(a, r)
    assert abs(fd_L_asym - slope) <= SLOPE_ATOL * (1 + abs(slope))
    # the exact expectation has slope (2 alpha - (m/2) psi'(m/2)) / r = slope - (1/m + O(m^-2)) / r
    gap = (slope - fd_L) * r * width
    note(f"m (slope - FD) r = {gap}")
    assert 0.5 <= gap <= 2.0
    # negative control: the slope without the -1 of (2 alpha - 1) is off by 1/r
    assert abs(fd_L_asym - 2 * a / r) >= 0.99 / r


# ---------------------------------------------------------------------------
# (3) the gradient-descent rate is below the flow rate and tends to it


RATE_GD = _fn(descent_time.rate_gd, z_norm, eta)


@given(st.floats(0.05, 5.0), st.floats(1e-4, 0.99))
def test_gd_rate_below_flow_rate_and_converges(zn, eta_z):
    lr = eta_z / zn
    rate = RATE_GD(zn, lr)
    gap = 2 * zn - rate
    # 2|z| - 2 log(1+x)/eta = (2/eta)(x - log(1+x)) with x = eta|z| in (0, 1): between eta|z|^2/3 and eta|z|^2
    allowance = 4 * EPS / lr                       # log(1 + x) in float64 without log1p
    assert lr * zn**2 / 3 - allowance <= gap <= lr * zn**2 + allowance
    assert rate == pytest.approx(2 * linearized_flow.gd_rate(lr, zn), rel=0, abs=allowance)
    gaps = [2 * zn - RATE_GD(zn, lr / 10**k) for k in range(3)]
    assert gaps[0] > gaps[1] > gaps[2] > 0          # tends to the flow rate as eta -> 0
    assert gaps[2] <= gaps[0] / 50                  # linearly in eta
    target(gap / (lr * zn**2), label="gap / (eta |z|^2), must stay <= 1")


# ---------------------------------------------------------------------------
# (4) predictions for random targets and widths


def _decimal(draw, lo: int, hi: int) -> str:
    return f"{draw(st.integers(lo, hi)) / 10:.1f}"


@st.composite
def prediction_configs(draw):
    c0, c1 = _decimal(draw, -15, 15), _decimal(draw, -15, 15)
    c, k, b, e0 = _decimal(draw, -10, 10), _decimal(draw, 5, 25), _decimal(draw, -5, 5), _decimal(draw, -5, 5)
    expr = f"{c0}*x0 + {c1}*x1 + {c}*tanh({k}*x0) + {b}*x1**2 + {e0}"
    rule = draw(st.sampled_from([{"quadrature": 6}, {"quadrature": 9}, {"samples": 150}]))
    method = draw(st.sampled_from(["flow", "gd"]))
    raw = {
        "model": {"activation": draw(st.sampled_from(ACTIVATIONS)), "width": _log_uniform_int(draw, 200, 20000),
                  "alpha": draw(st.floats(0.75, 2.0))},
        "data": {"dim": 2, "whiten": True, "seed": draw(st.integers(0, 1000)), **rule},
        "target": {"expr": expr},
        "train": {"method": method, "lr": draw(st.floats(0.001, 0.3)), "seed": draw(st.integers(0, 10**6))},
        "analysis": {"delta": draw(st.floats(0.001, 0.2))},
    }
    return config_from_dict(raw)


@settings(deadline=None, max_examples=max(5, settings().max_examples // 2))
@given(prediction_configs())
def test_predictions_are_consistent(config):
    p = predict(config)
    note(f"{config.target.expr} {config.model} {config.train.method}")
    data = config.dataset
    mo = data.moments
    # the secondary-plateau level: 0 <= R* = 1/2 E f*^2 - 1/2 z^T Sigma^-1 z <= 1/2 E f*^2
    assert -RISK_ROUNDOFF <= p["plateau_loss"] <= 0.5 * mo["E_f2"] + RISK_ROUNDOFF
    # the initial loss is 1/2 E f*^2 up to the D6 bound at Q = q_max(0) (|f_0| <= C_0 m Q^2 |x| / 2)
    a, W = initial_parameters(config.model.width, 2, config.model.alpha, config.train.seed)
    qmax0 = float(np.max(np.hypot(a, np.linalg.norm(W, axis=1))))
    bound = _fn(initial_plateau.loss_bound, C_0, m, Q, M_fx1, M_x2)(
        config.activation.C0.upper, config.model.width, qmax0, mo["E_abs_f_x"], mo["E_x2"])
    assert abs(p["initial_loss"] - 0.5 * mo["E_f2"]) <= bound + RISK_ROUNDOFF
    if p["applicable"] is not True:
        assert data.z_is_zero or (config.train.method == "gd" and config.train.lr * data.z_norm >= 1)
        assert p["t_half"] is None
        return
    zn, lr = p["z_norm"], config.train.lr
    want_rate = 2 * zn if config.train.method == "flow" else 2 * math.log1p(lr * zn) / lr
    assert p["growth_rate"] == pytest.approx(want_rate, rel=1e-12)
    K0_expected = config.model.width ** (1 - 2 * config.model.alpha) / (2 * zn)
    assert p["K0_expected"] == pytest.approx(K0_expected, rel=1e-12)
    assume(K0_expected < 0.05)     # "m large": the chi-square factor K0 / E K0 stays far below 20
    assert 0 < p["K0"] < 1
    assert p["t_half"] == pytest.approx(math.log(1 / p["K0"] - 1) / p["growth_rate"], rel=1e-12)
    assert p["T_d"]["value"] > p["t_half"] > 0
    assert p["dT_d_dalpha"] == pytest.approx(2 * math.log(config.model.width) / p["growth_rate"], rel=1e-12)
    assert p["T_p"]["q_max0"] == pytest.approx(qmax0, rel=1e-14)
    T_p = math.log(config.model.width ** (-config.alpha_1) / qmax0) / zn
    if T_p > 0:
        assert p["T_p"]["value"] == pytest.approx(T_p, rel=1e-12, abs=1e-12) and p["T_p"]["applicable"] is True
    else:   # no initial plateau left to predict: flagged, no number
        assert p["T_p"]["value"] is None and "no initial plateau" in p["T_p"]["applicable"]


# ---------------------------------------------------------------------------
# (5) the D1 field is minus the gradient for random small networks


@st.composite
def small_networks(draw):
    width, dim = draw(st.integers(1, 5)), draw(st.integers(1, 3))
    seed = draw(st.integers(0, 2**32 - 1))
    scale = draw(st.floats(0.05, 1.5))
    name = draw(st.sampled_from(ACTIVATIONS))
    return width, dim, seed, scale, name


_TARGETS = {1: "tanh(x0) - 0.3*x0**2", 2: "0.5*x0 - x1 + sin(x0*x1)", 3: "x0 - 0.2*x2**3 + tanh(2*x1)"}


@functools.lru_cache(maxsize=None)
def _small_data(dim: int):
    return make_data(dim, parse_expression(_TARGETS[dim], input_symbols(dim), "target"), samples=24, seed=dim,
                     whiten=False)


@settings(deadline=None)
@given(small_networks())
def test_D1_field_is_minus_gradient_for_random_networks(net):
    width, dim, seed, scale, name = net
    act = activation_from_spec(name)
    data = _small_data(dim)
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    a, W = rng.normal(0, scale, width), rng.normal(0, scale, (width, dim))

    def risk(th):
        return gradient_flow.risk(th[:width], th[width:].reshape(width, dim), act, data.X, data.p, data.y)

    da, dW = gradient_flow.vector_field(a, W, act, data.X, data.p, data.y)
    field = np.concatenate([da, dW.ravel()])
    grad = central_gradient(risk, np.concatenate([a, W.ravel()]))
    err = np.max(np.abs(field + grad)) / max(np.max(np.abs(grad)), 1e-300)
    target(float(err), label="relative error of the D1 field")
    assert err < FD_RTOL
    assert np.max(np.abs(-field + grad)) / np.max(np.abs(grad)) > 1.0     # negative control: flipped sign


# ---------------------------------------------------------------------------
# (6) the whitelist parser


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
