"""D1, the gradient flow: derivation identities, numeric oracles (finite differences) and properties.

Oracle: central finite differences of the risk, the definition of a gradient, with an error of
``O(h^2)`` truncation plus ``O(eps/h)`` round-off.  Every check is paired with a negative
control that must fail.
"""
from __future__ import annotations

import functools

import numpy as np
import pytest
from hypothesis import given, settings, target
from hypothesis import strategies as st

from theory.multistage.activation import activation_from_spec
from theory.expressions import parse_expression
from theory.multistage import gradient_flow
from theory.multistage.symbols import input_symbols
from verify.multistage import field as d1
from verify.multistage.data import make_data

from finite_differences import central_gradient
from strategies import ACTIVATIONS
from symbolic_checks import assert_every_identity_holds, assert_records_statement_and_serialises

#: Central differences at the step h = eps^(1/3) (scaled by max(1, |theta|)) have error
#: ~ h^2 |R'''| / 6 + eps |R| / h ~ 4e-11 relative for O(1) derivatives (observed ~1e-10);
#: 1e-7 leaves three decades for larger third derivatives and still catches any wrong term.
FD_RTOL = 1e-7


# ---------------------------------------------------------------------------
# the derivation: all identities verified


def test_every_identity_of_the_derivation_holds(derivations):
    assert_every_identity_holds(derivations(gradient_flow.KEY), gradient_flow.KEY)


def test_derivation_records_statement_and_serialises(derivations):
    assert_records_statement_and_serialises(derivations(gradient_flow.KEY), gradient_flow.KEY)


# ---------------------------------------------------------------------------
# D1: the vector field is minus the gradient of the risk


def _d1_setup(activation, data, m: int, rng: np.random.Generator):
    d = data.dim
    a, W = rng.normal(0.0, 0.5, m), rng.normal(0.0, 0.5, (m, d))

    def risk(th):
        return d1.risk(th[:m], th[m:].reshape(m, d), activation, data.X, data.p, data.y)

    da, dW = d1.vector_field(a, W, activation, data.X, data.p, data.y)
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
# property: the D1 field is minus the gradient for random small networks


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


@pytest.mark.usefixtures("memoised_suprema")
@settings(deadline=None)
@given(small_networks())
def test_D1_field_is_minus_gradient_for_random_networks(net):
    width, dim, seed, scale, name = net
    act = activation_from_spec(name)
    data = _small_data(dim)
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    a, W = rng.normal(0, scale, width), rng.normal(0, scale, (width, dim))

    def risk(th):
        return d1.risk(th[:width], th[width:].reshape(width, dim), act, data.X, data.p, data.y)

    da, dW = d1.vector_field(a, W, act, data.X, data.p, data.y)
    field = np.concatenate([da, dW.ravel()])
    grad = central_gradient(risk, np.concatenate([a, W.ravel()]))
    err = np.max(np.abs(field + grad)) / max(np.max(np.abs(grad)), 1e-300)
    target(float(err), label="relative error of the D1 field")
    assert err < FD_RTOL
    assert np.max(np.abs(-field + grad)) / np.max(np.abs(grad)) > 1.0     # negative control: flipped sign
