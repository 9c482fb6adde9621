"""E2 numerics on a tiny net: the derivation, lambda_0, events against direct runs, determinism, bad set-ups."""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
import sympy as sp

import theory.early_training as paper_theory
from theory.early_training import critical_constants as theory
from theory.errors import InputError
from verify.early_training._critical import (Problem, Search, Setup, divergence_event, loss_event,
                                             sharpness_event)
from verify.hessian import full_spectrum, torch_dense_hessian

TINY = Setup(depth=2, width=8, seed=3, measure_size=64)


@pytest.fixture(scope="module")
def tiny():
    return Problem(TINY, notify=None)


def test_derivation_identities_hold_and_a_wrong_threshold_is_not_zero():
    d = paper_theory.derive("E2")
    assert all(d.identities.values()), d.identities
    assert sp.simplify(theory.SHARPNESS_EOS - 2 / theory.eta) != 0          # momentum moves the threshold
    assert sp.simplify(theory.SHARPNESS_EOS.subs(theory.gamma, sp.Rational(9, 10)) * theory.eta - sp.Rational(19, 5)) == 0


def test_heavy_ball_on_a_quadratic_is_marginal_at_the_derived_threshold():
    lam_eos = float((theory.SHARPNESS_EOS).subs({theory.eta: 0.1, theory.gamma: 0.5}))
    for lam, grows in ((0.99 * lam_eos, False), (1.01 * lam_eos, True)):
        M = np.array(theory.COMPANION.subs({theory.eta: 0.1, theory.gamma: 0.5, theory.lam: lam}), float)
        assert (max(abs(np.linalg.eigvals(M))) > 1) == grows


def test_lambda0_is_the_top_eigenvalue_of_the_dense_hessian(tiny):
    # oracle: eigh of the dense float64 Hessian of the same net on the whole training set (296 parameters)
    float64 = Problem(replace(TINY, width=4, dtype="float64"), notify=None)
    float32 = Problem(replace(TINY, width=4), notify=None)
    theta = float64.net.flatten(float64.params0)
    top = full_spectrum(torch_dense_hessian(float64.net.flat_loss(float64.data), theta), vectors=False).values.max()
    assert abs(float32.lambda0 - top) <= 1e-4 * top          # float32 products, ARPACK tol 1e-5
    assert abs(float64.lambda0 - top) <= 1e-8 * top and float64.top0.converged


def test_events_follow_their_rules(tiny):
    small, huge = tiny.loss_runs([0.5, 2000.0])
    assert not loss_event(small) and not divergence_event(small)
    assert np.all(np.diff(small.losses) < 0) or not np.any(small.losses[1:] > small.losses[0])
    assert loss_event(huge)        # (a ReLU net may blow up once, then die: not necessarily divergent)
    run = tiny.run(0.5)
    assert len(run.sharpness) == TINY.steps + 1 and run.sharpness[0] == 1.0
    assert sharpness_event(run) == bool(np.any(run.sharpness[1:] > 1))
    assert np.allclose(run.losses, small.losses, rtol=1e-5)       # train and train_many agree


def test_constants_are_ordered_consistently_with_direct_runs(tiny):
    search = Search(coarse_step=1.0, resolution=0.05, per_pass=3)
    c_loss = tiny.constant("c_loss", search)
    lo, hi = c_loss.interval
    assert not loss_event(tiny.loss_runs([lo])[0]) and loss_event(tiny.loss_runs([hi])[0])
    c_max = tiny.constant("c_max", search)
    if c_max.value is not None:
        assert not divergence_event(tiny.loss_runs([c_max.value])[0])
        assert divergence_event(tiny.loss_runs([c_max.interval[1]])[0])
    assert math.log2(hi / lo) <= 0.05 + 1e-12


def test_same_seed_same_constants():
    search = Search(coarse_step=1.0, resolution=0.1, per_pass=3)
    a = Problem(TINY, notify=None).constant("c_loss", search)
    b = Problem(TINY, notify=None).constant("c_loss", search)
    assert a == b


@pytest.mark.parametrize("kw,field", [({"width": 0}, "width"), ({"depth": 0}, "depth"), ({"steps": -1}, "steps"),
                                      ({"data": "cifar"}, "data"), ({"seed": -1}, "seed")])
def test_bad_setup_names_the_field(kw, field):
    with pytest.raises(InputError) as err:
        Setup(**{"depth": 2, "width": 8, **kw})
    assert field in str(err.value)


def test_events_compare_against_round_off_not_the_last_bit(tiny):
    """A loss or sharpness ratio that exceeds its start by less than its stated error bound is no event; by more,
    it is (the control).  The bounds: gamma_k of float32 for the loss, the Lanczos residuals for the ratio."""
    from verify.early_training._critical import Run

    band = tiny.loss_roundoff()
    assert 1e-5 < band < 1e-3                    # float32, k = 1797 samples + fan-ins: about 1e-4
    flat = np.array([1.0, 0.9, 1.0 + band / 4])
    assert not loss_event(Run(1.0, flat, flat[1:], loss_band=band))
    assert loss_event(Run(1.0, flat + [0, 0, 3 * band], flat[1:], loss_band=band))
    assert loss_event(Run(1.0, flat, flat[1:], loss_band=0.0))          # the exact rule would call it a rise
    ratios, bands = np.array([1.0, 1.0 + 1e-6]), np.array([2e-6, 2e-6])
    assert not sharpness_event(Run(1.0, flat, flat[1:], ratios, sharpness_band=bands))
    assert sharpness_event(Run(1.0, flat, flat[1:], ratios + [0, 1e-5], sharpness_band=bands))
    run = tiny.run(1.0)                          # a real run records its bands with its ratios
    assert len(run.sharpness_band) == len(run.sharpness) and np.all(run.sharpness_band[1:] > 0)
    assert np.all(run.sharpness_band[1:] < 1e-3)
