"""The uv numerics: the derived map against GD on the vectors, the scan-and-bisection, the regimes."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st

from theory.bridge import numeric
from theory.early_training import uv_model as m
from theory.errors import InputError
from verify.early_training import uv as _uv
from verify.early_training.claims.uv_model import MAP_TOL, _drop_eta_squared


def _one_step_error(init, c, y, f_next=m.F_NEXT, lam_next=m.LAM_NEXT) -> float:
    """Largest relative one-step error of the map against GD over 5 steps, relative to |u'||v'| / sqrt(w) + 1."""
    traj, states = _uv.gd(init, c, y, 5, states=True)
    step = _uv.map_step(f_next, lam_next)
    f_map, l_map = (np.asarray(x, float) for x in step(traj.f[:-1], traj.lam[:-1], traj.eta, init.width, y))
    scale = np.array([np.linalg.norm(u) * np.linalg.norm(v) for u, v in states[1:]]) / math.sqrt(init.width)
    return float(max(np.max(np.abs(f_map - traj.f[1:]) / (scale + np.abs(traj.f[:-1]) + 1)),
                     np.max(np.abs(l_map - traj.lam[1:]) / traj.lam[1:])))


@settings(deadline=None, max_examples=40)
@given(width=st.integers(1, 2048), seed=st.integers(0, 2**31), c=st.floats(0.05, 3.9),
       y=st.floats(-2.0, 2.0))
def test_the_derived_map_equals_gd_on_the_vectors(width, seed, c, y):
    err = _one_step_error(_uv.initialise(width, seed), c, y)
    note(f"relative error {err:.3g}")
    assert err <= MAP_TOL.value


def test_the_map_without_its_eta2_term_is_caught():
    """Negative control: at width 16 the dropped term is O(1/w) of f', far above the tolerance."""
    init = _uv.initialise(16, 3)
    assert _one_step_error(init, 1.5, 0.5, f_next=_drop_eta_squared(m.F_NEXT)) > 1e-4


def test_initialisation_is_seeded_per_width_and_validated():
    a, b = _uv.initialise(64, 5), _uv.initialise(64, 5)
    assert np.array_equal(a.u, b.u) and np.array_equal(a.v, b.v) and a.seed == 5
    assert not np.array_equal(_uv.initialise(64, 6).u, a.u)
    assert abs(a.f0 - a.u @ a.v / 8) < 1e-15 and a.lam0 > 0
    for width in (0, -3, 2.5, True):
        with pytest.raises(InputError, match="width"):
            _uv.initialise(width, 0)
    with pytest.raises(InputError, match="seed"):
        _uv.initialise(8, -1)
    with pytest.raises(InputError, match="steps"):
        _uv.gd(a, 1.0, 0.0, -1)
    with pytest.raises(InputError, match="c = "):
        _uv.gd(a, -1.0)


def test_scan_and_bisection_on_known_events():
    step = _uv.critical_constant("x", lambda c: c > math.pi)
    assert step.monotone and abs(step.value - math.pi) <= 4e-16 * math.pi and not step.below_bracket
    last = _uv.critical_constant("x", lambda c: c > math.pi, last_without=True)
    assert last.value <= math.pi < step.value
    below = _uv.critical_constant("x", lambda c: True)
    assert below.below_bracket and below.value == _uv.BRACKET[0]
    assert _uv.critical_constant("x", lambda c: False).value is None
    # a non-monotone event is reported, and the first change bisected
    window = _uv.critical_constant("x", lambda c: 1.0 < c < 2.0)
    assert not window.monotone and len(window.flips) == 2 and abs(window.value - 1.0) < 1e-12


@pytest.mark.parametrize("width", [64, 256, 1024, 4096])
def test_bisected_c_loss_is_the_exact_root_and_the_first_order_form_is_off_by_O_1_over_w2(width):
    exact = numeric(m.C_LOSS_STEP1_EXACT, (m.f0, m.lam0, m.w))
    first = numeric(m.C_LOSS_FIRST_ORDER, (m.f0, m.lam0, m.w))
    for seed in (1, 2, 3):
        init = _uv.initialise(width, seed)
        crit = _uv.critical_constants(init)["c_loss"]
        delta = init.f0**2 / (width * init.lam0**2)
        assert crit.monotone
        assert abs(crit.value - exact(init.f0, init.lam0, width)) < 1e-11
        residual = crit.value - first(init.f0, init.lam0, width)
        assert -1e-12 < residual <= 16 * delta**2 * (1 + 10 * delta) + 1e-12
        # negative control: without the correction the miss is 4 delta, first order in 1/w
        assert crit.value - 2 > 3.9 * delta


def test_c_sharp_is_4_at_y_0_and_below_the_bracket_when_e0_f0_is_negative():
    init = _uv.initialise(512, 4)
    consts = _uv.critical_constants(init, 0.0)
    assert abs(consts["c_sharp"].value - 4) < 1e-8
    y = 3.0 * math.copysign(1, init.f0)          # e0 f0 = (f0 - y) f0 < 0
    assert (init.f0 - y) * init.f0 < 0
    assert _uv.critical_constants(init, y)["c_sharp"].below_bracket


@pytest.mark.parametrize("c,regime", [(1.0, "monotone"), (1.9, "monotone"), (2.5, "catapult"), (3.5, "catapult"),
                                      (4.5, "divergent"), (6.0, "divergent")])
def test_wide_runs_show_the_derived_regimes(c, regime):
    traj = _uv.gd(_uv.initialise(4096, 1), c, 0.0, 300)
    assert _uv.classify(traj) == regime


def test_iterated_map_tracks_gd_where_the_dynamics_contract():
    init = _uv.initialise(256, 2)
    gd, it = _uv.gd(init, 1.2, 0.3, 10), _uv.iterate_map(init.f0, init.lam0, 1.2, 0.3, 256, 10)
    assert np.allclose(gd.f, it.f, rtol=0, atol=1e-13) and np.allclose(gd.lam, it.lam, rtol=1e-13)


def _with_losses(traj, losses):
    """``traj`` with its loss replaced by ``losses`` (f = sqrt(2 loss), y = 0), lambda kept."""
    from dataclasses import replace

    n = len(losses)
    return replace(traj, f=np.sqrt(2 * np.asarray(losses, float)), lam=traj.lam[:n].copy())


def test_a_monotone_run_whose_loss_reaches_round_off_stays_monotone():
    """The case a fresh machine failed on (w = 4096, seed 2, c = 1.5): the loss falls to about 1e-34, where the
    computed loss, a square of a dot product's round-off, moved from 9.6e-35 to 8.7e-34 on one CPU.  The run is
    monotone; so is the same run with that round-off rise put in by hand, which the exact rule
    ``all(diff(loss) <= 0)`` called not monotone.  Negative control: a rise of 1e-3 of a loss of 1e-2, far above
    the band, is not monotone."""
    traj = _uv.gd(_uv.initialise(4096, 2), 1.5, 0.0, 300)
    assert _uv.classify(traj) == "monotone"
    losses = np.concatenate([traj.loss[:90], [9.6e-35, 8.7e-34], np.full(10, 5e-34)])
    noisy = _with_losses(traj, losses)
    assert not np.all(np.diff(noisy.loss) <= 0)            # the exact rule fails here
    assert _uv.classify(noisy) == "monotone"
    band = _uv.loss_band(noisy)
    assert band[91] > 8.7e-34 and band[0] < 1e-10 * noisy.loss[0]    # the band: round-off, not a tolerance
    rising = _with_losses(traj, np.concatenate([traj.loss[:20], [1e-2, 1.001e-2], traj.loss[22:40]]))
    assert _uv.classify(rising) != "monotone"


def test_uv_runs_are_the_same_bits_whatever_the_blas_kernel():
    """The dot products are accumulated in long double in one order, so a run does not depend on the BLAS
    kernel: equal to a plain sequential sum in long double (no BLAS) to the last bit."""
    init = _uv.initialise(1024, 3)
    u, v = init.u.astype(np.longdouble), init.v.astype(np.longdouble)
    acc = np.longdouble(0)
    for a, b in zip(u, v):
        acc += a * b
    assert _uv.dot(init.u, init.v) == float(acc)
    assert _uv.dot(init.u, init.v) != 0.0
