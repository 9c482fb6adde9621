"""Numeric tests of the derived formulas against independent oracles.

Oracles, and why they are trusted:

* central finite differences of the risk (D1): the definition of a gradient,
  with an error of ``O(h^2)`` truncation plus ``O(eps/h)`` round-off;
* mpmath at 50 significant digits (D2, D4): the same functions evaluated with
  35 more digits than float64 has;
* ``scipy.linalg.expm`` (D4): Padé approximation with scaling and squaring, an
  algorithm unrelated to the closed form;
* ``numpy.linalg.matrix_power`` (the gradient-descent map of D4);
* exact quadrature of polynomials by the Gauss-Hermite rule (data moments);
* the logistic closed form of D8/D9 for the reduced flow of D8 when ``z`` is
  an eigenvector of ``Sigma`` (then ``beta`` stays along ``z`` and
  ``K' = 2|z| K (1 - K)`` whatever the eigenvalue: derived in the test below).

Every check is paired with a negative control that must fail.
"""
from __future__ import annotations

import mpmath
import numpy as np
import pytest
import scipy.linalg
import sympy as sp

from theory import _supremum
from theory.multistage import critical_point, descent_time, gradient_flow, linearized_flow, taylor
from theory.activation import BUILTIN, Activation, S, activation_from_spec
from theory.bridge import numeric
from theory.multistage.data import input_symbols, make_data
from theory.errors import InputError, NotTanhLike
from theory.expressions import parse_expression
from theory.multistage.symbols import E_f2, K0 as K0_sym, delta as delta_sym, t as t_sym, z_Sinv_z
from verify.multistage._config import ModelConfig, config_from_dict
from verify.multistage._initialisation import growing_mode, initial_parameters
from verify.multistage._predict import predict, reduced_flow_times
from finite_differences import central_gradient

EPS = np.finfo(float).eps

#: Central differences at the step h = eps^(1/3) (scaled by max(1, |theta|)) have error
#: ~ h^2 |R'''| / 6 + eps |R| / h ~ 4e-11 relative for O(1) derivatives (observed ~1e-10);
#: 1e-7 leaves three decades for larger third derivatives and still catches any wrong term.
FD_RTOL = 1e-7

#: The closed form of exp(tA) evaluated in float64 is a handful of roundings of cosh, sinh
#: and a rank-two projector: observed <= 7 eps relative (Frobenius) against 40 digits.
CLOSED_FORM_ULPS = 32

#: scipy.linalg.expm (scaling and squaring, Higham 2005) loses accuracy with each squaring;
#: observed up to ~2.5e3 eps relative at |tA| ~ 4-10 against a 40-digit reference; the
#: allowance scales with the number of squarings ~ |tA|.
EXPM_ULPS_PER_UNIT_NORM = 2000

#: Matrix powers of a 4x4 matrix with n <= 200 factors: round-off grows at most linearly in n.
MATRIX_POWER_ULPS_PER_STEP = 16

#: Gauss-Hermite sums over at most 12^3 nodes of values bounded by |x| <= 6.5: round-off is a
#: few hundred ulps of the moments (observed <= 2e-14 for polynomial targets).
QUADRATURE_ROUNDOFF = 1e-12

#: The D8 reduced flow is integrated by LSODA at rtol 1e-10; event times carry that error
#: amplified by ~10 e-folds of growth (observed 1e-9 relative).
REDUCED_FLOW_RTOL = 1e-7

#: mpmath working precision for the D2 checks, and a second, higher one to confirm the first.
DPS, DPS_CHECK = 50, 80

#: sigma(s) - s is computed by cancellation: at DPS digits its absolute round-off is about
#: 10^-DPS |s| (and 10^-DPS for sigma'(s) - 1).  The D2 bounds are tight as s -> 0 for tanh,
#: sin and erf (all three have sup |sigma'''| = |sigma'''(0)|), with slack ~ |s|^5, so below
#: |s| ~ 1e-12 the slack is smaller than the round-off; this allowance (100x the round-off)
#: is what the comparison may lose.  It stays ~1e-20 below the cubic term over the grid.
MP_ROUNDOFF = mpmath.mpf(10) ** (-DPS + 2)

ACTIVATIONS = ["tanh", "sin", "erf"]


@pytest.fixture(scope="module")
def activations():
    return {name: activation_from_spec(name) for name in ACTIVATIONS}


# ---------------------------------------------------------------------------
# D1: the vector field is minus the gradient of the risk


def _d1_setup(activation, data, m: int, rng: np.random.Generator):
    d = data.dim
    a, W = rng.normal(0.0, 0.5, m), rng.normal(0.0, 0.5, (m, d))

    def risk(th):
        return gradient_flow.risk(th[:m], th[m:].reshape(m, d), activation, data.X, data.p, data.y)

    da, dW = gradient_flow.vector_field(a, W, activation, data.X, data.p, data.y)
    theta = np.concatenate([a, W.ravel()])
    return np.concatenate([da, dW.ravel()]), central_gradient(risk, theta), a


def _relative_error(field: np.ndarray, minus_grad: np.ndarray) -> float:
    return float(np.max(np.abs(field - minus_grad)) / np.max(np.abs(minus_grad)))


@pytest.fixture(scope="module")
def d1_data():
    target = parse_expression("tanh(2*x0) + 0.5*x1**2 + 0.4*x2 - 0.3", input_symbols(3), "target")
    return {"quadrature": make_data(3, target, quadrature=5),
            "sample": make_data(3, target, samples=64, seed=7, whiten=False)}


@pytest.mark.parametrize("kind", ["quadrature", "sample"])
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_D1_field_is_minus_finite_difference_gradient(activations, d1_data, name, kind):
    rng = np.random.default_rng(np.random.SeedSequence([2024, ACTIVATIONS.index(name), len(kind)]))
    field, grad, _ = _d1_setup(activations[name], d1_data[kind], m=4, rng=rng)
    assert _relative_error(field, -grad) < FD_RTOL


def test_D1_negative_controls_fail_the_finite_difference_check(activations, d1_data):
    rng = np.random.default_rng(np.random.SeedSequence(31))
    field, grad, a = _d1_setup(activations["tanh"], d1_data["quadrature"], m=4, rng=rng)
    assert _relative_error(field, -grad) < FD_RTOL
    assert _relative_error(-field, -grad) > 1.0                     # flipped sign
    assert _relative_error(1.05 * field, -grad) > 1e3 * FD_RTOL     # 5 % too large
    m, d = 4, 3
    no_a_factor = field.copy()                                      # dW without the factor a_k
    no_a_factor[m:] = (field[m:].reshape(m, d) / a[:, None]).ravel()
    assert _relative_error(no_a_factor, -grad) > 1e3 * FD_RTOL


# ---------------------------------------------------------------------------
# D2: Taylor remainder bounds at high precision


S_GRID = [mpmath.mpf(10) ** k for k in np.linspace(-14, 1.5, 63)]    # |s| from 1e-14 to ~32


def _mp(expr):
    return numeric(expr, (S,), "mpmath")


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_D2_remainder_bounds_hold_at_50_digits(activations, name):
    act = activations[name]
    sig, dsig = _mp(act.expr), _mp(act.derivative(1))
    with mpmath.workdps(DPS):
        C_L = mpmath.mpf(sp.N(act.C_L.exact, DPS))     # the exact supremum, not its float
        for s in S_GRID + [-s for s in S_GRID]:
            assert abs(sig(s) - s) <= C_L * abs(s) ** 3 / 6 + MP_ROUNDOFF * abs(s)
            assert abs(dsig(s) - 1) <= C_L * s**2 / 2 + MP_ROUNDOFF


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_D2_negative_control_bound_with_C_L_too_small_fails(activations, name):
    act = activations[name]
    sig = _mp(act.expr)
    with mpmath.workdps(DPS):
        C_small = mpmath.mpf(sp.N(act.C_L.exact, DPS)) * mpmath.mpf("0.95")
        s = mpmath.mpf("1e-3")     # near 0 the remainder is ~ |sigma'''(0)| |s|^3 / 6 = C_L |s|^3 / 6
        assert abs(sig(s) - s) > C_small * abs(s) ** 3 / 6


@pytest.mark.parametrize("name", [
    "tanh", "sin", "erf"])
def test_C_L_upper_is_not_below_the_supremum(activations, name):
    """``Supremum.upper`` is documented as a certified upper bound: it may not round below the exact value."""
    sup = activations[name].C_L
    assert sp.Rational(sup.upper) >= sup.exact      # exact rational comparison of the float with the exact value


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_D2_bounds_with_the_package_constant_hold_at_50_digits(activations, name):
    """``taylor.bounds`` substitutes ``C_L.upper``; the bounds it returns must hold at high precision too."""
    act = activations[name]
    b = taylor.bounds(act)
    sig, bound_sig = _mp(act.expr), _mp(b["sigma"])
    dsig, bound_dsig = _mp(act.derivative(1)), _mp(b["dsigma"])
    with mpmath.workdps(DPS):
        for s in S_GRID:
            assert abs(sig(s) - s) <= bound_sig(s) + MP_ROUNDOFF * abs(s)
            assert abs(dsig(s) - 1) <= bound_dsig(s) + MP_ROUNDOFF


def test_D2_package_bounds_hold_where_float_rounding_is_irrelevant(activations):
    """Away from the tight limit s -> 0 the slack dwarfs the 1e-16 rounding: there the package bounds hold."""
    for name in ACTIVATIONS:
        act = activations[name]
        b = taylor.bounds(act)
        sig, bound_sig = _mp(act.expr), _mp(b["sigma"])
        with mpmath.workdps(DPS):
            for s in [x for x in S_GRID if x > mpmath.mpf("1e-3")]:
                assert abs(sig(s) - s) <= bound_sig(s)
                assert abs(sig(-s) + s) <= bound_sig(-s)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_D2_float64_loses_the_cubic_term_but_mpmath_keeps_it(activations, name):
    act = activations[name]
    c3 = act.taylor_coefficients(3)[3]
    s_float = 1e-9                      # cubic ~ 1e-27, below the 2e-25 resolution of s in float64
    f64 = numeric(act.expr, (S,))
    cubic_f64 = float(c3) * s_float**3 / 6
    lost = abs((float(f64(s_float)) - s_float) - cubic_f64) / abs(cubic_f64)
    assert lost > 0.5, "float64 unexpectedly resolves the cubic term"
    sig = _mp(act.expr)
    with mpmath.workdps(DPS):
        s = mpmath.mpf(s_float)
        cubic = mpmath.mpf(sp.N(c3, DPS)) * s**3 / 6
        kept = abs((sig(s) - s) - cubic) / abs(cubic)
    assert kept < 1e-15                 # the next term is O(s^2) relative
    with mpmath.workdps(DPS_CHECK):     # and 50 digits agree with 80
        s80 = mpmath.mpf(s_float)
        assert abs((sig(s80) - s80) - (sig(s) - s)) <= mpmath.mpf(10) ** (-DPS + 10) * abs(cubic)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_D2_series_coefficient_is_sigma_triple_prime_over_6(activations, name):
    act = activations[name]
    c3 = act.derivative(3).subs(S, 0)
    sig = _mp(act.expr)
    with mpmath.workdps(DPS):
        target = mpmath.mpf(sp.N(c3 / 6, DPS))
        errors = []
        for k in (3, 6, 9, 12):
            s = mpmath.mpf(10) ** -k
            errors.append(abs((sig(s) - s) / s**3 - target))
        # truncation |sigma^(5)(0)| s^2 / 120 plus round-off 10^-DPS / s^2: ~1e-25 at s = 1e-12
        assert errors[-1] < mpmath.mpf(10) ** -23
        assert all(e2 < e1 for e1, e2 in zip(errors, errors[1:]))
        s = mpmath.mpf(10) ** -12
        wrong = mpmath.mpf(sp.N(c3 / 3, DPS))              # negative control: the factor 1/3
        assert abs((sig(s) - s) / s**3 - wrong) > 0.1


# ---------------------------------------------------------------------------
# D4: exp(tA) and the gradient-descent map


def _A(z: np.ndarray) -> np.ndarray:
    d = len(z)
    A = np.zeros((d + 1, d + 1))
    A[0, 1:], A[1:, 0] = z, z
    return A


def _random_cases(seed: int, count: int = 6):
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    for dim in (2, 3, 4):
        for _ in range(count):
            yield dim, rng.normal(size=dim) * rng.uniform(0.2, 2.0), float(rng.uniform(0.0, 5.0))


def _rel(X, Y) -> float:
    return float(np.linalg.norm(X - Y) / np.linalg.norm(Y))


def test_D4_closed_form_matches_40_digit_reference():
    for dim, z, tv in _random_cases(11, count=3):
        zs, X = linearized_flow.closed_form(dim)
        ref_fn = numeric(X, (t_sym, *zs), "mpmath")
        with mpmath.workdps(40):
            ref = np.array(ref_fn(mpmath.mpf(tv), *map(mpmath.mpf, z)).tolist(), dtype=float)
        got = linearized_flow.expm_closed_form(tv, z)
        assert _rel(got, ref) <= CLOSED_FORM_ULPS * EPS * (1 + tv * np.linalg.norm(z))


def test_D4_closed_form_matches_scipy_expm():
    for dim, z, tv in _random_cases(12):
        got = linearized_flow.expm_closed_form(tv, z)
        ref = scipy.linalg.expm(tv * _A(z))
        assert _rel(got, ref) <= EXPM_ULPS_PER_UNIT_NORM * EPS * (1 + tv * np.linalg.norm(z))


def test_D4_negative_control_rate_off_by_5_percent_differs_from_expm():
    for dim, z, tv in _random_cases(13):
        tv = max(tv, 1.0) / np.linalg.norm(z)                 # t |z| >= 1 so the rate matters
        wrong = linearized_flow.expm_closed_form(1.05 * tv, z)  # cosh(1.05 |z| t) ... with A unchanged
        ref = scipy.linalg.expm(tv * _A(z))
        assert _rel(wrong, ref) > 1e3 * EXPM_ULPS_PER_UNIT_NORM * EPS * (1 + tv * np.linalg.norm(z))


def _projectors(z: np.ndarray):
    r = np.linalg.norm(z)
    d = len(z)
    P = np.zeros((d + 1, d + 1))
    P[0, 0] = 1.0
    P[1:, 1:] = np.outer(z, z) / r**2
    A = _A(z)
    return (P + A / r) / 2, (P - A / r) / 2, np.eye(d + 1) - P


@pytest.mark.parametrize("eta_z", [0.01, 0.1, 0.5])
def test_D4_gd_map_and_effective_rate(eta_z):
    rng = np.random.default_rng(np.random.SeedSequence([14, int(1000 * eta_z)]))
    z = rng.normal(size=3)
    r = np.linalg.norm(z)
    eta = eta_z / r
    Pp, Pm, P0 = _projectors(z)
    for n in (1, 7, 40, 200):
        M = np.linalg.matrix_power(np.eye(4) + eta * _A(z), n)
        spectral = (1 + eta * r) ** n * Pp + (1 - eta * r) ** n * Pm + P0
        assert _rel(spectral, M) <= MATRIX_POWER_ULPS_PER_STEP * EPS * n
        top = np.max(np.linalg.eigvalsh(M))
        assert np.log(top) / (n * eta) == pytest.approx(linearized_flow.gd_rate(eta, r), rel=1e-12)
    # the effective rate is below the flow rate |z| and not equal to it (negative control)
    rate = linearized_flow.gd_rate(eta, r)
    assert rate < r
    assert r - rate > 0.25 * eta * r**2            # log(1+x) <= x - x^2/2 + x^3/3
    flow_growth = np.exp(r * 200 * eta)
    M = np.linalg.matrix_power(np.eye(4) + eta * _A(z), 200)
    assert abs(np.max(np.linalg.eigvalsh(M)) / flow_growth - 1) > 1e3 * MATRIX_POWER_ULPS_PER_STEP * EPS * 200


# ---------------------------------------------------------------------------
# activations: C_L exact vs certified interval route, Taylor coefficients, refusals


def _fresh(name: str) -> Activation:
    """A new Activation object: ``C_L`` is cached per object, and ``activation_from_spec`` may cache objects."""
    return Activation(name, BUILTIN[name])


EXACT_C_L = {"tanh": sp.Integer(2), "sin": sp.Integer(1), "erf": sp.pi / 2}


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_C_L_exact_route(activations, name):
    sup = activations[name].C_L
    assert sup.method == "exact" and sup.certified
    assert sp.simplify(sup.exact - EXACT_C_L[name]) == 0
    assert activations[name].C0.exact == 1      # sup |sigma'| = sigma'(0) = 1 for all three


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_C_L_interval_route_encloses_the_exact_value(monkeypatch, name):
    monkeypatch.setattr(_supremum, "_exact_sup", lambda g, s: None)
    sup = _fresh(name).C_L
    assert sup.method == "interval" and sup.exact is None
    assert sup.certified, sup.tail
    with mpmath.workdps(30):
        exact = mpmath.mpf(sp.N(EXACT_C_L[name], 30))
        assert mpmath.mpf(sup.lower) <= exact <= mpmath.mpf(sup.upper)
        assert mpmath.mpf(sup.upper) - mpmath.mpf(sup.lower) <= 1e-6 * exact + 1e-6   # the default rtol


def test_C_L_interval_route_negative_control(monkeypatch):
    """The enclosure is of sup|sigma'''|: it must exclude the value of a different activation."""
    monkeypatch.setattr(_supremum, "_exact_sup", lambda g, s: None)
    sup = _fresh("sin").C_L
    assert sup.method == "interval"
    assert not (sup.lower <= float(sp.pi / 2) <= sup.upper)


@pytest.mark.parametrize("name, coefficients", [
    ("tanh", [0, 1, 0, -2, 0, 16]),
    ("sin", [0, 1, 0, -1, 0, 1]),
    ("erf", [0, 1, 0, -sp.pi / 2, 0, 3 * sp.pi**2 / 4]),
])
def test_taylor_coefficients(activations, name, coefficients):
    got = activations[name].taylor_coefficients(5)
    assert all(sp.simplify(g - c) == 0 for g, c in zip(got, coefficients)) and len(got) == 6
    assert activations[name].is_tanh_like


@pytest.mark.parametrize("spec, condition", [
    ("relu", "differentiable"),
    ("sigmoid", "sigma(0) = 1/2"),
    ("softplus", "sigma(0) = log(2)"),
    ("gelu", "sigma'(0) = 1/2"),
    ("silu", "sigma'(0) = 1/2"),
    ("s + s**2", "sigma''(0) = 2"),
    ("Abs(s)", "differentiable"),
])
def test_non_tanh_like_activations_are_refused(spec, condition):
    act = activation_from_spec(spec)
    assert not act.is_tanh_like
    with pytest.raises(NotTanhLike, match="tanh-like") as info:
        act.require_tanh_like()
    assert condition in str(info.value)
    with pytest.raises(NotTanhLike):
        ModelConfig(activation=spec)


def test_a_user_tanh_like_activation_is_accepted():
    act = activation_from_spec("atan(s)")        # atan(0) = 0, atan'(0) = 1, atan''(0) = 0
    assert act.require_tanh_like() is act
    assert act.taylor_coefficients(3) == [0, 1, 0, -2]


# ---------------------------------------------------------------------------
# data moments


X3 = input_symbols(3)


def _target(text: str):
    return parse_expression(text, X3, "[target] expr")


@pytest.mark.parametrize("whiten", [True, False])
@pytest.mark.parametrize("nodes", [4, 12])
def test_linear_target_gives_z_equal_c_and_zero_R_star(whiten, nodes):
    c = np.array([0.7, -1.3, 0.4])
    data = make_data(3, _target("0.7*x0 - 1.3*x1 + 0.4*x2"), quadrature=nodes, whiten=whiten)
    mo = data.moments
    np.testing.assert_allclose(mo["z"], c, rtol=0, atol=QUADRATURE_ROUNDOFF)
    R_star = numeric(critical_point.R_star, (E_f2, z_Sinv_z))(mo["E_f2"], mo["z_Sinv_z"])
    assert abs(R_star) <= QUADRATURE_ROUNDOFF
    assert not data.z_is_zero
    # negative control: a target with a nonlinear part has R* > 0 (the residual of the best linear fit)
    bent = make_data(3, _target("0.7*x0 - 1.3*x1 + 0.4*x2 + x0*x1"), quadrature=nodes, whiten=whiten).moments
    R_bent = numeric(critical_point.R_star, (E_f2, z_Sinv_z))(bent["E_f2"], bent["z_Sinv_z"])
    assert R_bent == pytest.approx(0.5, abs=QUADRATURE_ROUNDOFF)     # 1/2 E[(x0 x1)^2] = 1/2


def test_polynomial_targets_are_integrated_exactly():
    keys = ("z", "E_f2", "E_x2", "z_Sinv_z")     # moments of polynomials (not those of |f*|)
    data = make_data(3, _target("x0**3 - 2*x0*x1**2 + x2 + 1"), quadrature=8)
    assert data.kind == "quadrature"
    assert max(data.quadrature_error[k] for k in keys) <= QUADRATURE_ROUNDOFF
    # E[x0^3 x0] = 3, E[x0 * (-2 x0 x1^2)] = -2: z = (1, 0, 1); E f*^2 = 15 + 4*3 - 4*3 + 1 + 1 = 17
    np.testing.assert_allclose(data.z, [1.0, 0.0, 1.0], atol=QUADRATURE_ROUNDOFF)
    assert data.moments["E_f2"] == pytest.approx(17.0, abs=QUADRATURE_ROUNDOFF)
    # negative control: tanh(2 x0) has poles at +-i pi/4 and converges slowly
    slow = make_data(3, _target("tanh(2*x0) + x1"), quadrature=8)
    assert slow.quadrature_error["z"] > 1e6 * QUADRATURE_ROUNDOFF


@pytest.mark.parametrize("text", ["x0**2 + cos(x1) - x2**4", "x0*x1*x2", "exp(-x0**2) * x1**2"])
def test_even_targets_have_z_zero(text):
    data = make_data(3, _target(text), quadrature=9)
    assert data.z_is_zero


def test_z_is_zero_negative_control():
    assert not make_data(3, _target("x0**2 + 1e-3*x1"), quadrature=9).z_is_zero


def test_whitening_gives_identity_second_moment_for_samples():
    target = _target("tanh(x0) + x1*x2")
    white = make_data(3, target, samples=200, seed=5, whiten=True)
    np.testing.assert_allclose(white.moments["Sigma"], np.eye(3), rtol=0, atol=QUADRATURE_ROUNDOFF)
    raw = make_data(3, target, samples=200, seed=5, whiten=False)
    # negative control: a raw sample of 200 has Sigma - I of order 1/sqrt(200) ~ 0.07
    assert np.max(np.abs(raw.moments["Sigma"] - np.eye(3))) > 0.01
    again = make_data(3, target, samples=200, seed=5, whiten=False)
    np.testing.assert_array_equal(raw.X, again.X)      # the seed fixes the sample
    assert not np.array_equal(raw.X, make_data(3, target, samples=200, seed=6, whiten=False).X)


def test_data_refuses_bad_input():
    with pytest.raises(InputError, match="exactly one"):
        make_data(3, _target("x0"), quadrature=4, samples=10)
    with pytest.raises(InputError, match="singular"):
        make_data(3, _target("x0"), samples=2, whiten=True)


# ---------------------------------------------------------------------------
# predictions


def _config(**tables):
    base = {"model": {"activation": "sin", "width": 800, "alpha": 1.0},
            "data": {"dim": 3, "quadrature": 8},
            "target": {"expr": "tanh(2*x0) + 0.5*x1**2 + 0.4*x2 - 0.3"},
            "train": {"method": "flow", "seed": 3}}
    for name, table in tables.items():
        base[name] = {**base.get(name, {}), **table}
    return config_from_dict(base)


def test_predict_flow_whitened_matches_the_closed_form():
    config = _config(model={"activation": "tanh"})
    p = predict(config)
    assert p["applicable"] is True
    zn = p["z_norm"]
    assert p["growth_rate"] == pytest.approx(2 * zn, rel=1e-14)
    # K0 recomputed here from the same seeded initialisation (whitened: z^T Sigma^-1 z = |z|^2)
    a, W = initial_parameters(800, 3, 1.0, 3)
    u = growing_mode(a, W, config.dataset.z)
    K0 = np.sum(u**2) / (2 * zn)
    assert p["K0"] == pytest.approx(K0, rel=1e-12)
    assert p["t_half"] == pytest.approx(np.log(1 / K0 - 1) / p["growth_rate"], rel=1e-12)
    delta = p["T_d"]["delta"]
    # D9's T_d without the O(1/m) plateau shift; the reported T_d has D10's carrying capacity K_eq > 1 (tanh)
    assert p["T_d"]["without_shift"] == pytest.approx(np.log((1 - K0) * (1 - delta) / (K0 * delta)) / (2 * zn),
                                                      rel=1e-12)
    K_eq = p["K_eq"]
    assert K_eq > 1 and p["T_d"]["value"] == pytest.approx(
        np.log((1 - delta) * (K_eq - K0) / (K0 * (K_eq - 1 + delta))) / (2 * zn), rel=1e-12)
    assert "closed form" in p["times_from"]
    assert 0 < p["K0"] < 1
    assert p["plateau_loss"] == pytest.approx(0.5 * (config.dataset.moments["E_f2"]
                                                     - config.dataset.moments["z_Sinv_z"]), rel=1e-12)
    # negative control: the GD rate would give a different half-way time
    assert abs(np.log(1 / K0 - 1) / (2 * np.log1p(0.5 * zn) / 0.5) - p["t_half"]) > 1e-3 * p["t_half"]


@pytest.mark.parametrize("lr", [0.01, 0.2])
def test_predict_gd_rate(lr):
    p = predict(_config(train={"method": "gd", "lr": lr}))
    zn = p["z_norm"]
    assert p["growth_rate"] == pytest.approx(2 * np.log1p(lr * zn) / lr, rel=1e-13)
    assert p["growth_rate"] < 2 * zn
    # under GD t_half is D9's map iterated from K0 (not the logistic law with the GD rate, which is the control)
    k, n = p["K0"], 0
    while k < 0.5:
        k_prev, k = k, k * (1 + lr * zn * (1 - k / p["K_eq"])) ** 2
        n += 1
    assert p["t_half"] == pytest.approx((n - 1 + (0.5 - k_prev) / (k - k_prev)) * lr, rel=1e-12)
    logistic = np.log(1 / p["K0"] - 1) / p["growth_rate"]
    assert (p["t_half"] == pytest.approx(logistic, rel=2e-3)) == (lr * zn < 0.05)


def test_predict_flags_inapplicable_configurations():
    big_step = predict(_config(train={"method": "gd", "lr": 5.0}))
    assert isinstance(big_step["applicable"], str) and "eta |z|" in big_step["applicable"]
    assert big_step["t_half"] is None
    even = predict(_config(target={"expr": "x0**2 + x1*x2"}))
    assert isinstance(even["applicable"], str) and "z = 0" in even["applicable"]
    assert even["growth_rate"] is None and even["K0"] is None


def test_predict_non_whitened_samples_use_the_reduced_flow():
    config = _config(data={"quadrature": None, "samples": 300, "whiten": False, "seed": 2})
    p = predict(config)
    assert p["times_from"].startswith("reduced flow")
    mo = config.dataset.moments
    Sigma, z = mo["Sigma"], mo["z"]
    assert np.max(np.abs(Sigma - np.eye(3))) > 0.01            # really not whitened
    # independent integrator (DOP853) of the same reduced flow: K(t_half) = 1/2
    from scipy.integrate import solve_ivp
    zn = np.linalg.norm(z)
    beta0 = p["K0"] * mo["z_Sinv_z"] / zn * z / zn               # K0 = beta0 . z / z^T Sigma^-1 z

    def rhs(_t, b):
        g = Sigma @ b - z
        nb = np.linalg.norm(b)
        return -(nb * g + b * (b @ g) / nb)

    sol = solve_ivp(rhs, (0, p["t_half"]), beta0, method="DOP853", rtol=1e-11, atol=1e-16)
    K_end = sol.y[:, -1] @ z / mo["z_Sinv_z"]
    assert K_end == pytest.approx(0.5, rel=REDUCED_FLOW_RTOL * 10)
    assert p["T_d"]["value"] > p["t_half"]


def _reduced_times_for_eigen_direction(lams, K0, zn=0.8, delta=0.01):
    """z = zn e1 is an eigenvector of Sigma = diag(lams): beta = b e1 stays on it and
    b' = -2 b (lam1 b - zn); with K = lam1 b / zn this is K' = 2 zn K (1 - K) for every lam1."""
    Sigma = np.diag(lams)
    z = np.zeros(len(lams))
    z[0] = zn
    b0 = K0 * zn / lams[0]
    return reduced_flow_times(Sigma, z, b0 * z / zn, [0.5, 1 - delta])


@pytest.mark.parametrize("lams", [[1.0, 1.0, 1.0], [2.0, 0.5, 3.0], [0.3, 1.0]])
@pytest.mark.parametrize("K0", [1e-2, 1e-4])
def test_reduced_flow_reproduces_the_closed_form(lams, K0):
    zn, delta = 0.8, 0.01
    t_half, T_d = _reduced_times_for_eigen_direction(lams, K0, zn, delta)
    r = 2 * zn
    expected_half = float(numeric(descent_time.t_half, (K0_sym, descent_time.r))(K0, r))
    expected_T_d = float(numeric(descent_time.T_d, (K0_sym, delta_sym, descent_time.r))(K0, delta, r))
    assert t_half == pytest.approx(expected_half, rel=REDUCED_FLOW_RTOL)
    assert T_d == pytest.approx(expected_T_d, rel=REDUCED_FLOW_RTOL)
    # negative control: a rate 5 % off is far outside the tolerance
    assert abs(t_half - expected_half / 1.05) > 1e3 * REDUCED_FLOW_RTOL * expected_half


def test_predicted_plateau_length_is_positive_or_flagged():
    p = predict(_config(model={"alpha": 0.75, "width": 1000}))
    T_p = p["T_p"]
    flagged = p["applicable"] is not True or T_p.get("applicable", True) is not True
    assert flagged or T_p["value"] > 0
    assert flagged and T_p["value"] is None     # this configuration has q_max(0) > m^-alpha_1
