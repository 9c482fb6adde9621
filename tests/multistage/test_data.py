"""The data set and its moments (verify/multistage/data.py): numeric oracles (exact quadrature) and refusals.

Oracle: exact quadrature of polynomials by the Gauss-Hermite rule.  Every check is paired with a
negative control that must fail.
"""
from __future__ import annotations

import numpy as np
import pytest

from theory.bridge import numeric
from theory.errors import InputError
from theory.expressions import parse_expression
from theory.multistage import critical_point
from theory.multistage.symbols import E_f2, input_symbols, z_Sinv_z
from verify.multistage.data import make_data

#: Gauss-Hermite sums over at most 12^3 nodes of values bounded by |x| <= 6.5: round-off is a
#: few hundred ulps of the moments (observed <= 2e-14 for polynomial targets).
QUADRATURE_ROUNDOFF = 1e-12


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
