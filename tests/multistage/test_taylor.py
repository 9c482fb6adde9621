"""D2, the Taylor expansion with remainder bounds: derivation identities and numeric oracles (mpmath).

Oracle: mpmath at 50 significant digits, the same functions evaluated with 35 more digits than
float64 has.  Every check is paired with a negative control that must fail.
"""
from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp

from theory.multistage.activation import S, activation_from_spec
from theory.bridge import numeric
from theory.errors import NotTanhLike
from theory.multistage import balance, taylor

from strategies import ACTIVATIONS
from symbolic_checks import assert_every_identity_holds, assert_records_statement_and_serialises

#: mpmath working precision for the D2 checks, and a second, higher one to confirm the first.
DPS, DPS_CHECK = 50, 80

#: sigma(s) - s is computed by cancellation: at DPS digits its absolute round-off is about
#: 10^-DPS |s| (and 10^-DPS for sigma'(s) - 1).  The D2 bounds are tight as s -> 0 for tanh,
#: sin and erf (all three have sup |sigma'''| = |sigma'''(0)|), with slack ~ |s|^5, so below
#: |s| ~ 1e-12 the slack is smaller than the round-off; this allowance (100x the round-off)
#: is what the comparison may lose.  It stays ~1e-20 below the cubic term over the grid.
MP_ROUNDOFF = mpmath.mpf(10) ** (-DPS + 2)


# ---------------------------------------------------------------------------
# the derivation: all identities verified, also for other activations


def test_every_identity_of_the_derivation_holds(derivations):
    assert_every_identity_holds(derivations(taylor.KEY), taylor.KEY)


def test_derivation_records_statement_and_serialises(derivations):
    assert_records_statement_and_serialises(derivations(taylor.KEY), taylor.KEY)


@pytest.mark.parametrize("name", ["sin", "erf"])
def test_activation_dependent_derivations_hold_for_other_activations(name):
    act = activation_from_spec(name)
    for module in (taylor, balance):
        d = module.derive(act)
        failed = [k for k, ok in d.identities.items() if ok is not True]
        assert not failed, f"{module.KEY} with {name}: {failed}"


def test_taylor_derivation_refuses_relu():
    with pytest.raises(NotTanhLike):
        taylor.derive(activation_from_spec("relu"))


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
