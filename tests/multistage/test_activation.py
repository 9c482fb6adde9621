"""Activations and suprema (theory/multistage/activation.py, theory/multistage/supremum.py): C_L routes, Taylor coefficients, refusals."""
from __future__ import annotations

import mpmath
import pytest
import sympy as sp

from theory.multistage import supremum as _supremum
from theory.multistage.activation import BUILTIN, Activation, activation_from_spec
from theory.errors import NotTanhLike
from verify.multistage.config import ModelConfig

ACTIVATIONS = ["tanh", "sin", "erf"]


@pytest.fixture(scope="module")
def activations():
    return {name: activation_from_spec(name) for name in ACTIVATIONS}


@pytest.mark.parametrize("name", [
    "tanh", "sin", "erf"])
def test_C_L_upper_is_not_below_the_supremum(activations, name):
    """``Supremum.upper`` is documented as a certified upper bound: it may not round below the exact value."""
    sup = activations[name].C_L
    assert sp.Rational(sup.upper) >= sup.exact      # exact rational comparison of the float with the exact value


# ---------------------------------------------------------------------------
# activations: C_L exact vs certified interval route, Taylor coefficients, refusals


def _fresh(name: str) -> Activation:
    """A new Activation object: ``C_L`` is cached per object, and ``activation_from_spec`` may cache objects."""
    return Activation(name, BUILTIN[name])


def _interval_route_only(monkeypatch):
    """Skip SymPy's exact route, and the supremum caches, which would hand back the exact record."""
    monkeypatch.setattr(_supremum, "_exact_sup", lambda g, s: None)
    monkeypatch.setattr(_supremum, "_MEMORY", {})
    monkeypatch.setenv("VERIFY_NO_CACHE", "1")


EXACT_C_L = {"tanh": sp.Integer(2), "sin": sp.Integer(1), "erf": sp.pi / 2}


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_C_L_exact_route(activations, name):
    sup = activations[name].C_L
    assert sup.method == "exact" and sup.certified
    assert sp.simplify(sup.exact - EXACT_C_L[name]) == 0
    assert activations[name].C0.exact == 1      # sup |sigma'| = sigma'(0) = 1 for all three


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_C_L_interval_route_encloses_the_exact_value(monkeypatch, name):
    _interval_route_only(monkeypatch)
    sup = _fresh(name).C_L
    assert sup.method == "interval" and sup.exact is None
    assert sup.certified, sup.tail
    with mpmath.workdps(30):
        exact = mpmath.mpf(sp.N(EXACT_C_L[name], 30))
        assert mpmath.mpf(sup.lower) <= exact <= mpmath.mpf(sup.upper)
        assert mpmath.mpf(sup.upper) - mpmath.mpf(sup.lower) <= 1e-6 * exact + 1e-6   # the default rtol


def test_C_L_interval_route_negative_control(monkeypatch):
    """The enclosure is of sup|sigma'''|: it must exclude the value of a different activation."""
    _interval_route_only(monkeypatch)
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
