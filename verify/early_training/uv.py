"""Numerics of the uv model: gradient descent on the vectors, the derived map, the 10-step critical constants.

Gradient descent runs on ``u, v`` in float64 (the measurement); the derived
map of :mod:`theory.early_training.uv_model` is iterated on ``(f, lambda)``
through :func:`theory.bridge.numeric` (the prediction).  The critical
constants follow the rules of the authors' public code over the first
``steps`` (10) steps with ``eta = c / lambda_0``:

* ``c_loss``: smallest ``c`` at which the loss exceeds its initial value at
  some step ``1..steps``;
* ``c_sharp``: smallest ``c`` at which ``lambda_t / lambda_0 > 1`` at some
  step ``1..steps``;
* ``c_max``: largest ``c`` at which the run does not diverge, divergence
  being a loss above :data:`DIVERGENCE_LOSS` (``1e5``) or not finite.

Dot products are accumulated in extended precision (:func:`dot`, NumPy's
``longdouble``, one fixed order) and rounded to float64, and the updates of
``u, v`` are elementwise float64 operations, so a run is the same to the last
bit on every x86-64 CPU, whatever BLAS kernel it would pick; every rule that
compares computed losses or sharpnesses does so against the round-off band of
:func:`loss_band` and :func:`sharpness_band` (:mod:`verify.roundoff`).

Each is found by scanning ``c = 2^x`` over the bracket with ``x`` in steps of
0.1 (the authors' grid), which also checks that the event is monotone in
``c`` there, and then bisecting in float64 between the last grid point
without the event and the first with it until the two ends are adjacent
floats (at most :data:`MAX_BISECTIONS` halvings).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from theory.bridge import numeric
from theory.early_training import uv_model
from theory.errors import InputError

from ..roundoff import dot_band, never_rises, rises, unit_roundoff

__all__ = ["DIVERGENCE_LOSS", "BRACKET", "GRID_STEP", "MAX_BISECTIONS", "UVInit", "Trajectory", "Critical",
           "initialise", "gd", "iterate_map", "map_step", "loss_rises", "sharpness_rises", "diverges",
           "critical_constant", "critical_constants", "classify", "REGIMES", "dot", "f_band", "loss_band",
           "sharpness_band"]

#: the divergence rule of the authors' code: a loss above this
DIVERGENCE_LOSS = 1e5
#: the bracket of c scanned for the critical constants (2^-3 ... 2^6)
BRACKET = (0.125, 64.0)
#: the scan's step in log2 c (the authors' grid)
GRID_STEP = 0.1
#: bisection halvings at most (from a grid cell 2^0.1 wide, adjacent floats are reached in about 50)
MAX_BISECTIONS = 80
#: the regimes of the wide model (y = 0), as :func:`classify` names them
REGIMES = ("monotone", "catapult", "divergent")


@dataclass(frozen=True)
class UVInit:
    """An initialisation ``u, v ~ N(0, 1)^w`` and the seed that drew it."""

    u: np.ndarray
    v: np.ndarray
    seed: int

    @property
    def width(self) -> int:
        return len(self.u)

    @property
    def f0(self) -> float:
        return dot(self.u, self.v) / math.sqrt(self.width)

    @property
    def lam0(self) -> float:
        return (dot(self.u, self.u) + dot(self.v, self.v)) / self.width


#: the dtype :func:`dot` accumulates in
ACCUMULATOR = np.longdouble


def dot(a: np.ndarray, b: np.ndarray) -> float:
    """``a . b`` accumulated in extended precision (``np.longdouble``: NumPy's plain loop, one fixed order, no
    BLAS) and rounded to float64: the same bits on every x86-64 CPU.  Its error is at most
    ``gamma_n(longdouble) sum |a_i b_i| + u |a . b|`` (:func:`f_band`)."""
    return float(np.dot(a.astype(ACCUMULATOR), b.astype(ACCUMULATOR)))


def initialise(width: int, seed: int) -> UVInit:
    """``u, v ~ N(0, 1)^width`` from the stream ``SeedSequence(seed, spawn_key=(width,))`` (u first, then v)."""
    if not isinstance(width, (int, np.integer)) or isinstance(width, bool) or width < 1:
        raise InputError("width", width, "must be a positive integer", "use e.g. width=1024")
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise InputError("seed", seed, "must be a non-negative integer", "use e.g. seed=0")
    rng = np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(int(width),)))
    u = rng.standard_normal(int(width))
    v = rng.standard_normal(int(width))
    return UVInit(u, v, int(seed))


@dataclass(frozen=True)
class Trajectory:
    """``f_t`` and ``lambda_t`` for ``t = 0 .. len - 1`` of one run at ``c`` (``eta = c / lambda_0``)."""

    f: np.ndarray
    lam: np.ndarray
    c: float
    y: float
    width: int
    diverged: bool = False

    @property
    def eta(self) -> float:
        return self.c / float(self.lam[0])

    @property
    def loss(self) -> np.ndarray:
        return (self.f - self.y) ** 2 / 2


def _check_run(c: float, steps: int) -> None:
    if not (isinstance(c, (int, float, np.floating)) and math.isfinite(c) and c > 0):
        raise InputError("c", c, "must be a positive finite number", "use e.g. c = 2.5")
    if not isinstance(steps, (int, np.integer)) or isinstance(steps, bool) or steps < 0:
        raise InputError("steps", steps, "must be a non-negative integer", "use e.g. steps=10")


def gd(init: UVInit, c: float, y: float = 0.0, steps: int = 10, *, states: bool = False):
    """Gradient descent on ``u, v`` with ``eta = c / lambda_0``; stops after a step that diverges.

    Returns the :class:`Trajectory`; with ``states``, also the list of ``(u_t, v_t)``.
    """
    _check_run(c, steps)
    u, v = init.u.copy(), init.v.copy()
    root = math.sqrt(init.width)
    eta = c / init.lam0
    fs, lams, kept = [init.f0], [init.lam0], [(u, v)]
    diverged = False
    for _ in range(steps):
        e = fs[-1] - y
        u, v = u - (eta * e / root) * v, v - (eta * e / root) * u
        ft, lt = dot(u, v) / root, (dot(u, u) + dot(v, v)) / init.width
        fs.append(ft)
        lams.append(lt)
        if states:
            kept.append((u, v))
        if not (math.isfinite(ft) and math.isfinite(lt)) or (ft - y) ** 2 / 2 > DIVERGENCE_LOSS:
            diverged = True
            break
    traj = Trajectory(np.array(fs), np.array(lams), float(c), float(y), init.width, diverged)
    return (traj, kept) if states else traj


def map_step(f_next=uv_model.F_NEXT, lam_next=uv_model.LAM_NEXT) -> Callable:
    """The derived map as a numeric function ``(f, lambda, eta, w, y) -> (f', lambda')``."""
    s = uv_model
    return numeric((f_next, lam_next), (s.f, s.lam, s.eta, s.w, s.y))


def iterate_map(f0: float, lam0: float, c: float, y: float, width: int, steps: int = 10, *,
                f_next=uv_model.F_NEXT, lam_next=uv_model.LAM_NEXT) -> Trajectory:
    """The derived map iterated from ``(f_0, lambda_0)`` with ``eta = c / lambda_0`` (same stopping rule as :func:`gd`)."""
    _check_run(c, steps)
    step = map_step(f_next, lam_next)
    eta = c / lam0
    fs, lams, diverged = [float(f0)], [float(lam0)], False
    for _ in range(steps):
        ft, lt = (float(x) for x in step(fs[-1], lams[-1], eta, width, y))
        fs.append(ft)
        lams.append(lt)
        if not (math.isfinite(ft) and math.isfinite(lt)) or (ft - y) ** 2 / 2 > DIVERGENCE_LOSS:
            diverged = True
            break
    return Trajectory(np.array(fs), np.array(lams), float(c), float(y), int(width), diverged)


def f_band(traj: Trajectory) -> np.ndarray:
    """Round-off bound of each computed ``f_t = u_t . v_t / sqrt(w)``: the dot product's
    ``gamma_w sum |u_i v_i|`` in the accumulator (Higham, eq. 3.5; ``sum |u_i v_i| <= (|u|^2 + |v|^2) / 2 =
    w lambda_t / 2``) over ``sqrt(w)``, and two float64 roundings of ``f_t`` (the cast and the division)."""
    w = traj.width
    u64 = unit_roundoff(np.float64)
    return dot_band(w, w * np.abs(traj.lam) / 2, ACCUMULATOR) / math.sqrt(w) + 2 * u64 * np.abs(traj.f)


def loss_band(traj: Trajectory) -> np.ndarray:
    """Round-off bound of each computed loss ``(f_t - y)^2 / 2``: the propagated :func:`f_band`
    (``|f_t - y| df + df^2 / 2``) and four float64 roundings of the loss itself (difference, square, half)."""
    df = f_band(traj)
    return (np.abs(traj.f - traj.y) + df / 2) * df + 4 * unit_roundoff(np.float64) * traj.loss


def sharpness_band(traj: Trajectory) -> np.ndarray:
    """Round-off bound of each computed ``lambda_t = (|u|^2 + |v|^2) / w``: a sum of ``2 w`` non-negative terms
    (relative error ``gamma_2w`` in the accumulator) and three float64 roundings (casts, sum, division)."""
    return (dot_band(2 * traj.width, 1.0, ACCUMULATOR) + 3 * unit_roundoff(np.float64)) * np.abs(traj.lam)


def loss_rises(traj: Trajectory) -> bool:
    """The loss exceeds its initial value by more than round-off (:func:`loss_band` at both steps) at some step
    1 .. (a diverged run counts)."""
    loss, band = traj.loss, loss_band(traj)
    return bool(traj.diverged or rises(loss[1:], loss[0], band[1:], band[0]))


def sharpness_rises(traj: Trajectory) -> bool:
    """``lambda_t`` exceeds ``lambda_0`` by more than round-off (:func:`sharpness_band`) at some step 1 .. (a
    diverged run counts)."""
    band = sharpness_band(traj)
    return bool(traj.diverged or rises(traj.lam[1:], traj.lam[0], band[1:], band[0]))


def diverges(traj: Trajectory) -> bool:
    return bool(traj.diverged)


@dataclass(frozen=True)
class Critical:
    """A critical constant found by scan and bisection.

    ``value`` is the boundary (the first ``c`` with the event for ``c_loss`` and ``c_sharp``, the last without
    it for ``c_max``), or None when the event never happens in the bracket; ``below_bracket`` when it already
    happens at the bracket's lower end (``value`` is then that end); ``monotone`` whether the event is monotone
    in ``c`` over the scan grid; ``flips`` the grid values of ``c`` after which the event changes.
    """

    name: str
    value: float | None
    monotone: bool
    flips: list = field(default_factory=list)
    below_bracket: bool = False
    bisections: int = 0

    def as_dict(self) -> dict:
        return {"value": self.value, "monotone": self.monotone, "flips": list(self.flips),
                "below_bracket": self.below_bracket, "bisections": self.bisections}


def critical_constant(name: str, event: Callable[[float], bool], *, last_without: bool = False,
                      bracket: tuple = BRACKET, grid_step: float = GRID_STEP) -> Critical:
    """Scan ``c = 2^x`` over ``bracket`` and bisect the first change of ``event(c)`` to adjacent floats.

    ``last_without`` returns the last ``c`` without the event (``c_max``) instead of the first with it.
    """
    lo_x, hi_x = math.log2(bracket[0]), math.log2(bracket[1])
    n = int(round((hi_x - lo_x) / grid_step))
    grid = [2.0 ** (lo_x + k * grid_step) for k in range(n + 1)]
    happens = [event(cv) for cv in grid]
    flips = [grid[k] for k in range(n) if happens[k] != happens[k + 1]]
    monotone = len(flips) <= 1 and not (flips and happens[0])
    if not any(happens):
        return Critical(name, None, monotone, flips)
    first = happens.index(True)
    if first == 0:
        return Critical(name, None if last_without else grid[0], monotone, flips, below_bracket=True)
    lo, hi, halvings = grid[first - 1], grid[first], 0
    while halvings < MAX_BISECTIONS:
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        lo, hi = (lo, mid) if event(mid) else (mid, hi)
        halvings += 1
    return Critical(name, lo if last_without else hi, monotone, flips, bisections=halvings)


def critical_constants(init: UVInit, y: float = 0.0, steps: int = 10, *, bracket: tuple = BRACKET,
                       progress: Callable[[str, Callable[[], int]], object] | None = None) -> dict:
    """``{"c_loss", "c_sharp", "c_max"}`` (:class:`Critical`) of one initialisation by gradient descent.

    ``progress(name, runs)`` hears as the search of each constant begins; ``runs()`` gives the gradient-descent
    runs so far (the command line's progress lines)."""
    _check_run(1.0, steps)
    count = [0]

    def run(cv):
        count[0] += 1
        return gd(init, cv, y, steps)

    rules = (("c_loss", loss_rises, False), ("c_sharp", sharpness_rises, False), ("c_max", diverges, True))
    out = {}
    for name, event, last_without in rules:
        if progress is not None:
            progress(name, lambda: count[0])
        out[name] = critical_constant(name, lambda cv, event=event: event(run(cv)), last_without=last_without,
                                      bracket=bracket)
    return out


def classify(traj: Trajectory) -> str:
    """The regime a run shows: ``"divergent"`` (diverged), ``"monotone"`` (the loss never rises by more than
    round-off), ``"catapult"`` (it rises above its start, then ends below its start with the sharpness below its
    start, each by more than round-off), or ``"other"``.  The round-off bands are :func:`loss_band` and
    :func:`sharpness_band`: a loss of 1e-34 followed by one of 1e-33 is round-off, not a rise."""
    loss, band = traj.loss, loss_band(traj)
    if traj.diverged:
        return "divergent"
    if never_rises(loss, band):
        return "monotone"
    lam_band = sharpness_band(traj)
    if (rises(loss, loss[0], band, band[0]) and rises([loss[0]], loss[-1], band[0], band[-1])
            and rises([traj.lam[0]], traj.lam[-1], lam_band[0], lam_band[-1])):
        return "catapult"
    return "other"
