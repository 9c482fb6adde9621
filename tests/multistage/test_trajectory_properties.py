"""Property tests along simulated trajectories: the lemma bounds hold on every drawn configuration.

For each configuration drawn by :mod:`trajectory_strategies` (tanh-like activation, width,
``alpha``, input dimension, target with a linear part, sample size, flow or gradient descent)
a short trajectory is simulated with :func:`verify.multistage.simulation.simulate` and the
bounds are evaluated at the recorded states:

* D3  ``|N_k| <= C_1 (m q_max^2 + q_max^2) |q_k|`` (``remainder_bound``), at every recorded state:
  the lemma assumes only a tanh-like ``sigma`` and finite moments, nothing about the state;
* D5  ``q_max(t) <= q_max(0) exp((|z| + eps) t)`` while ``C_1 (m + 1) q_max^2 <= eps`` on ``[0, t]``,
  with ``eps`` chosen from the recorded states (see :func:`growth_ratios`);
* D2  ``|sigma(s) - s| <= C_L |s|^3 / 6`` and ``|sigma'(s) - 1| <= C_L s^2 / 2`` at the visited
  pre-activations ``s = w_k . x_i``, with ``sigma`` evaluated through :func:`theory.bridge.numeric`;
* D8  ``|K(t) - K_closed(t)| <= LOGISTIC_TOL(K0, m)`` for gradient flow on whitened inputs while
  ``K0`` is small.

Each property climbs toward its worst ratio measured / bound with ``target()`` (one label per
bound) and ``note()``-s the configuration, the time and the ratio.  Each bound has a negative
control: a deterministic test on a fixed configuration where a deliberately wrong version of the
bound is violated, so that every check is shown able to fail.  The bounds that are tight somewhere
(D2 at small s, D5 on a long window of the lemma, D8) also have a control perturbed by less than
their slack (C_L lowered by 1 %, |z| lowered by 5 % in D5's rate, the logistic rate raised by 2 %),
violated on a configuration where the bound is tight.

Tightness: the largest ratio measured / bound each property reaches over its drawn examples (the
``target()`` phase included) is recorded per bound and, when the module ends, printed and written
to pytest's cache (``.pytest_cache/v/multistage/trajectory_tightness``)::

    python -m pytest tests/multistage/test_trajectory_properties.py -q -s

prints the table (under the default, derandomised profile the same figures on every run).
"""
from __future__ import annotations

import functools
import json
import math
import os

import numpy as np
import pytest
import hypothesis
from hypothesis import assume, given, settings

from theory.multistage.activation import S, activation_from_spec
from theory.bridge import numeric
from theory.multistage import growth, higher_order, reduced_dynamics
from theory.multistage.symbols import K0 as K0_sym, eps as eps_sym, q0, t as t_sym, z_norm
from verify.multistage import field
from verify.multistage.config import config_from_dict
from verify.multistage.simulation import measure, simulate
from trajectory_strategies import (ACTIVATIONS, expected_K0, t_half_estimate,
                                   trajectory_configs)

EPS = np.finfo(float).eps

# --- tolerances (each named and justified here) -----------------------------------------------------

#: RK45 local tolerance of the simulations.  Every bound below is an inequality on the state; the
#: integrator's error enters only through GROWTH_RTOL.
SOLVER_RTOL = 1e-6
#: Recording times per trajectory (a coarse grid keeps each example well under a second).
GRID = 25

#: D3: ``N_k = dq_k/dt - A q_k`` is a difference of two float64 quantities, each a weighted sum over
#: the n <= 200 data points; its round-off is at most ~ n eps (|dq_k/dt| + |A q_k|) (summation bound).
#: The bound itself is >= 1e-8 |q_k| on every drawn configuration, so this allowance is invisible
#: except where the bound is genuinely tiny.
def remainder_roundoff(n: int, field_norm: np.ndarray, linear_norm: np.ndarray) -> np.ndarray:
    return 4 * n * EPS * (field_norm + linear_norm)


#: D5: the lemma is an exact inequality for the exact flow; the recorded states carry the
#: integrator's relative error, which for RK45 at rtol 1e-6 over these short horizons stays below
#: 100 rtol (gradient descent: round-off only).
GROWTH_RTOL = 100 * SOLVER_RTOL
#: D5 is checked while the chosen ``eps`` stays below ``EPS_MAX_FACTOR * |z|``: past that the
#: condition of the lemma only holds with a slack as large as the linear rate itself, and the
#: trajectory has left the initial (linear) regime the lemma describes.
EPS_MAX_FACTOR = 1.0

#: D2: NumPy/SciPy evaluate tanh, sin, erf, atan, sqrt to within 1-2 ulp; the activations drawn
#: are at most four such operations, and ``sigma(s) - s`` (|sigma(s)| ~ |s|) and ``sigma'(s) - 1``
#: (|sigma'| <= 1) are then wrong by at most ~8 ulp of |s| and of 1.  Without this allowance the
#: bound C_L |s|^3 / 6 (below eps |s| once |s| < 1e-8) is "violated" by round-off alone.
TAYLOR_ULPS = 16

#: D8: the logistic law is the reduced flow of a condensed, balanced network with a linear
#: activation.  Along a real trajectory it is off by (i) the decaying modes and the imbalance,
#: both of the size of the initial content ``K0 + V0`` (``V0 = sum_k v_k(0)^2 / (2|z|)``, the
#: decaying-mode content, equal in law to K0; at t = 0 the deviation is exactly V0, since
#: ``K(0) = K0 - V0``), and (ii) the cubic terms of sigma and the nonlinear part of the target,
#: O(1/m): the descent stops at ``K_eq = 1 + kappa / m`` (D10 measured ``kappa ~ 3`` for tanh,
#: C_L = 2), and a relative error O(C_L / m) of the effective K0 built up during the growth is an
#: absolute error of up to a quarter of it in K at mid-descent.  Tolerance:
#: ``LOGISTIC_K0 (K0 + V0) + LOGISTIC_M C_L / m``.  Calibration on 40 drawn configurations and
#: the control: |K - K_closed| / (K0 + V0) = 0.50-0.58 where (i) dominates; m |K - K_closed| / C_L
#: up to 1.04 during the descent and 1.53 on the secondary plateau (the control, tanh, m = 200:
#: 3.06 / m = K_eq - 1 as in D10).  LOGISTIC_K0 = 1 and LOGISTIC_M = 4: worst deviation / tolerance
#: 0.30 under the ci profile (25 examples), 0.78 under thorough (250, climbing with target()).
#: kappa is not derived yet (D10 "to derive"), so LOGISTIC_M is an empirical constant.
LOGISTIC_K0 = 1.0
LOGISTIC_M = 4.0
#: D8 is checked only while K0 is small (the logistic law's assumption; D10 regime flags).
LOGISTIC_K0_MAX = 0.02


# --- simulation and the measured quantities ---------------------------------------------------------


def run(config, grid: int = GRID):
    traj, obs, kernel = simulate(config, rtol=SOLVER_RTOL, grid=grid, progress=False, notify=None, remainder=False)
    assert traj.status == "completed", f"{traj.status}: {traj.message}"
    return traj, obs, kernel


def describe(config) -> str:
    mo, tr = config.model, config.train
    d = config.data
    return (f"sigma = {mo.activation}, m = {mo.width}, alpha = {mo.alpha:.4g}, d = {d.dim}, n = {d.samples}, "
            f"whiten = {d.whiten}, f* = {config.target.expr}, {tr.method}"
            + (f" (eta |z| = {tr.lr * config.dataset.z_norm:.3g})" if tr.method == "gd" else "")
            + f", t_max = {tr.t_max:.4g}, seeds (data, init) = ({d.seed}, {tr.seed})")


def constant_C1(config) -> float:
    act = config.activation
    return field.constant_C1(act.C_L.upper, act.C0.upper, config.dataset.moments)


def _A(z: np.ndarray) -> np.ndarray:
    d = len(z)
    A = np.zeros((d + 1, d + 1))
    A[0, 1:] = z
    A[1:, 0] = z
    return A


def remainder_ratios(config, traj, kernel, bound=field.remainder_bound) -> np.ndarray:
    """``|N_k| / (bound_k + round-off)`` at every recorded state: a ``(T, m)`` array.

    ``N_k = dq_k/dt - A q_k`` with ``dq_k/dt`` the simulator's field (minus the gradient).
    """
    m, d = traj.width, traj.dim
    A = _A(config.dataset.z)
    C1 = constant_C1(config)
    n = config.dataset.size
    out = np.empty((len(traj.t), m))
    for i, th in enumerate(traj.theta):
        a, W = traj.split(th)
        Q = np.column_stack([a, W])
        field = kernel.field(th)
        dQ = np.column_stack([field[:m], field[m:].reshape(m, d)])
        lin = Q @ A.T
        N = np.linalg.norm(dQ - lin, axis=1)
        allowance = remainder_roundoff(n, np.linalg.norm(dQ, axis=1), np.linalg.norm(lin, axis=1))
        out[i] = N / (bound(C1, m, Q) + allowance)
    return out


def growth_ratios(config, traj, obs, rate_factor: float = 1.0, with_eps: bool = True):
    """``q_max(t_i) / bound_i`` of D5 at the recorded times where the lemma applies, with the ``eps_i`` used.

    Choice of eps: with ``Q_i = max_{j <= i} q_max(t_j)`` and ``h`` the largest recording step,
    ``eps_i`` is the smallest solution of ``eps = C_1 (m + 1) (Q_i e^{(|z| + eps) h})^2``
    (fixed-point iteration).  Then the lemma's condition holds on all of ``[0, t_i]``, not only at
    the recordings: were ``q_max`` to reach ``Q_eps = sqrt(eps / (C_1 (m + 1)))`` first at some
    ``tau`` in ``[t_j, t_(j+1)]``, the lemma on ``[0, tau]`` would give
    ``q_max(tau) <= q_max(t_j) e^{(|z| + eps) h} < Q_eps``; for gradient descent the same argument
    runs step by step with ``1 + eta r <= e^{eta r}``.  Times where the iteration does not settle
    below ``EPS_MAX_FACTOR |z|`` (the trajectory has left the lemma's regime) are not checked.
    """
    zn = config.dataset.z_norm
    C1, m = constant_C1(config), config.model.width
    t, qmax = traj.t, obs["q_max"]
    h = float(np.max(np.diff(t)))
    bound_fn = numeric(growth.bound_expr, (q0, z_norm, eps_sym, t_sym))
    ratios, eps_used = [], []
    running = qmax[0]
    for i in range(1, len(t)):
        running = max(running, qmax[i])
        e = 0.0
        for _ in range(60):
            new = C1 * (m + 1) * (running * math.exp((zn + e) * h)) ** 2
            if new > EPS_MAX_FACTOR * zn or abs(new - e) <= 1e-12 * new:
                e = new
                break
            e = new
        if e > EPS_MAX_FACTOR * zn:
            break
        slack = e if with_eps else 0.0
        ratios.append(qmax[i] / float(bound_fn(qmax[0], rate_factor * zn, slack, t[i])))
        eps_used.append(e)
    return np.array(ratios), np.array(eps_used), t[1:1 + len(ratios)]


def taylor_ratios(config, traj, C_L: float, every: int = 3) -> tuple[float, float, float, float]:
    """Worst ``|sigma(s) - s| / bound`` and ``|sigma'(s) - 1| / bound`` over the visited pre-activations.

    Returns ``(ratio_sigma, s_at_worst, ratio_dsigma, s_at_worst)``, each ratio taken against the
    bound plus the round-off allowance ``TAYLOR_ULPS`` ulp.
    """
    act = config.activation
    sig = numeric(act.expr, (S,))
    dsig = numeric(act.derivative(1), (S,))
    X = config.dataset.X
    worst = [0.0, 0.0, 0.0, 0.0]
    for th in traj.theta[::every]:
        _, W = traj.split(th)
        s = (X @ W.T).ravel()
        r0 = np.abs(sig(s) - s) / (C_L * np.abs(s) ** 3 / 6 + TAYLOR_ULPS * EPS * np.abs(s) + 1e-300)
        r1 = np.abs(dsig(s) - 1) / (C_L * s**2 / 2 + TAYLOR_ULPS * EPS)
        i0, i1 = int(np.argmax(r0)), int(np.argmax(r1))
        if r0[i0] > worst[0]:
            worst[0], worst[1] = float(r0[i0]), float(s[i0])
        if r1[i1] > worst[2]:
            worst[2], worst[3] = float(r1[i1]), float(s[i1])
    return tuple(worst)


K_CLOSED = numeric(reduced_dynamics.K_closed, (K0_sym, z_norm, t_sym))


def logistic_deviation(config, traj, obs, kernel, rate_factor: float = 1.0):
    """``(max_t |K(t) - K_closed(t)|, time of the max, K0, V0)``; ``rate_factor`` scales |z| in the law."""
    meas = measure(config, traj, obs, kernel)
    k0 = meas["K0"]
    zn = config.dataset.z_norm
    a0, W0 = traj.split(traj.theta[0])
    v = (a0 - W0 @ (config.dataset.z / zn)) / math.sqrt(2)
    v0 = float(np.sum(v**2) / (2 * zn))
    dev = np.abs(obs["K"] - K_CLOSED(k0, rate_factor * zn, traj.t))
    i = int(np.argmax(dev))
    return float(dev[i]), float(traj.t[i]), k0, v0


def logistic_tolerance(k0: float, v0: float, width: int, C_L: float) -> float:
    return LOGISTIC_K0 * (k0 + v0) + LOGISTIC_M * C_L / width


# --- tightness: the worst ratio measured / bound over the drawn examples -------------------------------

#: label -> {"max_ratio", "at", "examples"}: filled by :func:`target` as the properties run
TIGHTNESS: dict = {}
#: where the figures are kept in pytest's cache (``.pytest_cache/v/<key>``)
TIGHTNESS_CACHE_KEY = "multistage/trajectory_tightness"
#: the last note() of the running example: where its ratio was measured
_LAST_NOTE = [""]


# The properties call these two as they would Hypothesis's own: wrapping them here, not editing the tests' bodies,
# keeps the examples drawn (the derandomised profile seeds each test from a digest of its source).
def note(text: str) -> None:
    _LAST_NOTE[0] = str(text)
    hypothesis.note(text)


def target(observation: float, *, label: str) -> None:
    """``hypothesis.target``, and count the example of the bound ``label``, keeping its ratio measured / bound and
    the configuration (the example's last note) if it is the largest so far."""
    row = TIGHTNESS.setdefault(label, {"max_ratio": -math.inf, "at": None, "examples": 0})
    row["examples"] += 1
    if observation > row["max_ratio"]:
        row["max_ratio"], row["at"] = float(observation), _LAST_NOTE[0]
    hypothesis.target(observation, label=label)


@pytest.fixture(scope="module", autouse=True)
def tightness_report(request):
    """When the module ends: print the tightness each bound reached and keep it in pytest's cache."""
    TIGHTNESS.clear()
    yield
    if not TIGHTNESS:
        return
    kept = {"hypothesis_profile": os.environ.get("HYPOTHESIS_PROFILE") or "derandomized",
            "bounds": {k: dict(v) for k, v in sorted(TIGHTNESS.items())}}
    cache = getattr(request.config, "cache", None)
    if cache is not None:
        cache.set(TIGHTNESS_CACHE_KEY, json.loads(json.dumps(kept)))
    print(f"\ntightness of the trajectory bounds (max measured / bound over the drawn examples; "
          f"profile {kept['hypothesis_profile']}):")
    for label, row in kept["bounds"].items():
        print(f"  {label}: {row['max_ratio']:.8g} over {row['examples']} examples ({row['at']})")


# --- properties -------------------------------------------------------------------------------------


@settings(deadline=None)
@given(trajectory_configs())
def test_D3_remainder_bound_along_trajectories(config):
    traj, obs, kernel = run(config)
    ratios = remainder_ratios(config, traj, kernel)
    i, k = np.unravel_index(int(np.argmax(ratios)), ratios.shape)
    worst = float(ratios[i, k])
    note(f"{describe(config)}; C_1 = {constant_C1(config):.4g}; worst |N_k| / bound_k = {worst:.4g} "
         f"at t = {traj.t[i]:.4g}, neuron {k}")
    target(worst, label="D3 |N_k| / bound_k")
    assert worst <= 1.0


@settings(deadline=None)
@given(trajectory_configs())
def test_D5_growth_bound_while_the_condition_holds(config):
    traj, obs, _ = run(config)
    ratios, eps_used, times = growth_ratios(config, traj, obs)
    if len(ratios) == 0:        # already outside the lemma's regime at the first recording
        note(f"{describe(config)}: no time in the regime C_1 (m+1) q_max^2 <= |z|")
        return
    i = int(np.argmax(ratios))
    note(f"{describe(config)}; worst q_max / (q_max(0) e^((|z|+eps) t)) = {ratios[i]:.6g} at t = {times[i]:.4g} "
         f"with eps = {eps_used[i]:.3g} (|z| = {config.dataset.z_norm:.3g}); {len(ratios)} times checked")
    target(float(ratios[i]), label="D5 q_max(t) / growth bound")
    assert ratios[i] <= 1 + GROWTH_RTOL


@settings(deadline=None)
@given(trajectory_configs())
def test_D2_taylor_bounds_at_visited_preactivations(config):
    traj, _, _ = run(config)
    C_L = config.activation.C_L.upper
    r0, s0, r1, s1 = taylor_ratios(config, traj, C_L)
    note(f"{describe(config)}; C_L = {C_L:.6g}; |sigma(s) - s| / bound = {r0:.6g} at s = {s0:.3g}; "
         f"|sigma'(s) - 1| / bound = {r1:.6g} at s = {s1:.3g}")
    target(r0, label="D2 |sigma(s) - s| / (C_L |s|^3 / 6)")
    target(r1, label="D2 |sigma'(s) - 1| / (C_L s^2 / 2)")
    assert r0 <= 1.0 and r1 <= 1.0


@settings(deadline=None)
@given(trajectory_configs(methods=("flow",), whiten=True, horizon=(0.8, 2.0), width=(50, 400), alpha=(0.9, 2.0)))
def test_D8_logistic_law_while_K0_is_small(config):
    m, a, zn = config.model.width, config.model.alpha, config.dataset.z_norm
    assume(expected_K0(m, a, zn) <= LOGISTIC_K0_MAX)     # the logistic law assumes K0 small (D10 regime flags)
    traj, obs, kernel = run(config)
    dev, t_dev, k0, v0 = logistic_deviation(config, traj, obs, kernel)
    tol = logistic_tolerance(k0, v0, m, config.activation.C_L.upper)
    note(f"{describe(config)}; K0 = {k0:.3g}, V0 = {v0:.3g}; max |K - K_closed| = {dev:.3g} at t = {t_dev:.4g} "
         f"(t_half ~ {t_half_estimate(m, a, zn):.4g}); tolerance {tol:.3g}; ratio {dev / tol:.3g}")
    target(dev / tol, label="D8 |K - K_closed| / tolerance")
    assert dev <= tol


# --- negative controls: a wrong bound is violated on a fixed configuration -------------------------


CONTROL = {
    "model": {"activation": "tanh", "width": 200, "alpha": 1.5},
    "data": {"dim": 2, "samples": 100, "seed": 7, "whiten": True},
    "target": {"expr": "0.8*x0 - 0.5*x1 + 0.1*tanh(2*x0)"},
    "train": {"method": "flow", "t_max": 1.0, "seed": 11},
}


@functools.lru_cache(maxsize=None)
def _control():
    config = config_from_dict(CONTROL)
    zn = config.dataset.z_norm
    t_max = 1.5 * t_half_estimate(config.model.width, config.model.alpha, zn)
    config = config_from_dict({**CONTROL, "train": {**CONTROL["train"], "t_max": t_max}})
    return (config, *run(config, grid=41))


def test_D3_control_a_bound_cubic_in_the_own_neuron_is_violated():
    """Wrong bound: ``C_1 (|q_k|^2 + |q_k|^2) |q_k|``, forgetting the coupling of neuron k to the
    others through the network output (the ``m q_max^2`` term)."""
    config, traj, obs, kernel = _control()
    own = lambda C1, m, Q: 2 * C1 * np.linalg.norm(Q, axis=1) ** 3     # noqa: E731
    right = remainder_ratios(config, traj, kernel)
    wrong = remainder_ratios(config, traj, kernel, bound=own)
    assert right.max() <= 1.0 < wrong.max()


def test_D5_control_growth_without_eps_at_0_9_z_is_violated():
    config, traj, obs, _ = _control()
    right, _, _ = growth_ratios(config, traj, obs)
    wrong, _, _ = growth_ratios(config, traj, obs, rate_factor=0.9, with_eps=False)
    assert right.max() <= 1 + GROWTH_RTOL < wrong.max()


#: D5 is tight only where the lemma's window spans many e-folds: a smaller initialisation than CONTROL's
#: (alpha = 2.5: q_max(0) ~ 1e-6, the condition C_1 (m + 1) q_max^2 <= |z| holds for about 9 e-folds)
TIGHT_GROWTH = {**CONTROL, "model": {**CONTROL["model"], "alpha": 2.5}, "train": {**CONTROL["train"], "t_max": 6.0}}


def test_D5_control_rate_lowered_by_5_percent_is_violated_where_the_window_is_long():
    """|z| lowered by 5 % in the bound's rate, eps kept: less than the slack the lemma leaves on CONTROL (its worst
    ratio there is 0.87 with or without the lowering), but violated on a long window (measured: 0.879 with the
    derived rate, 1.04 with the lowered one)."""
    config = config_from_dict(TIGHT_GROWTH)
    traj, obs, _ = run(config, grid=41)
    right, _, _ = growth_ratios(config, traj, obs)
    lowered, _, _ = growth_ratios(config, traj, obs, rate_factor=0.95)
    assert right.max() <= 1 + GROWTH_RTOL < lowered.max()


@pytest.mark.parametrize("factor", [0.99, 0.5])
def test_D2_control_C_L_lowered_is_violated(factor):
    """The Taylor bounds are tight as s -> 0 (the third derivative of tanh at 0 is C_L in size): C_L lowered by
    1 % (or halved) is violated at the smallest visited pre-activations (measured: ratio 0.9999999 with C_L,
    1.0101 with 0.99 C_L)."""
    config, traj, _, _ = _control()
    C_L = config.activation.C_L.upper
    right = taylor_ratios(config, traj, C_L)
    wrong = taylor_ratios(config, traj, factor * C_L)
    assert max(right[0], right[2]) <= 1.0
    assert wrong[0] > 1.0 and wrong[2] > 1.0


def test_D8_control_logistic_rate_times_1_1_is_violated():
    config, traj, obs, kernel = _control()
    dev, _, k0, v0 = logistic_deviation(config, traj, obs, kernel)
    tol = logistic_tolerance(k0, v0, config.model.width, config.activation.C_L.upper)
    wrong, _, _, _ = logistic_deviation(config, traj, obs, kernel, rate_factor=1.1)
    assert k0 < LOGISTIC_K0_MAX
    assert dev <= tol < wrong


def test_D8_control_logistic_rate_times_1_02_is_violated():
    """The logistic rate raised by 2 %: the deviation uses 0.38 of the tolerance with the derived rate and 1.5 x
    the tolerance with the raised one (the law is tight in its rate)."""
    config, traj, obs, kernel = _control()
    dev, _, k0, v0 = logistic_deviation(config, traj, obs, kernel)
    tol = logistic_tolerance(k0, v0, config.model.width, config.activation.C_L.upper)
    wrong, _, _, _ = logistic_deviation(config, traj, obs, kernel, rate_factor=1.02)
    assert dev <= tol < wrong


# --- the activation pool -----------------------------------------------------------------------------


@pytest.mark.parametrize("spec", ACTIVATIONS)
def test_activation_pool_is_tanh_like(spec):
    activation_from_spec(spec).require_tanh_like()


@pytest.mark.parametrize("spec", ACTIVATIONS)
def test_certified_suprema_bracket_the_sampled_maximum(spec):
    """The certified C_L and C_0 of the pool lie above |sigma'''| and |sigma'| on a fine grid of [-30, 30],
    and the grid maximum reaches their lower ends (up to the grid step): an independent check of the
    constants every bound here uses."""
    act = activation_from_spec(spec)
    grid = np.linspace(-30, 30, 600_001)
    for order, sup in ((3, act.C_L), (1, act.C0)):
        values = np.abs(numeric(act.derivative(order), (S,))(grid))
        assert sup.lower - 1e-6 <= values.max() <= sup.upper * (1 + 1e-12)
