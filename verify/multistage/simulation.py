"""One simulated trajectory for a configuration, with its measured summary and files.

Measured quantities (the same names as the predictions):

* ``t_half`` and ``T_d``: first times ``K`` crosses ``1/2`` and ``1 - delta``
  (event times on the solver's dense output);
* ``initial_loss``: the loss at ``t = 0``;
* ``plateau_loss``: the loss where the descent ends and the secondary
  plateau begins, taken as the loss at ``T_d`` (under D10's ``R(K)`` this is
  ``R* + |z|^2 delta^2 / 2``: ``3.5e-5`` above ``R*`` for the example);
* ``T_p``: the first time ``q_max`` reaches ``m^(-alpha_1)`` (D6's
  definition); ``None`` with a reason when ``q_max(0)`` is already there (no
  initial plateau: never 0.0);
* ``stages``: the stages of the loss curve as :func:`verify.stages.detect_stages`
  finds them (``{name: [start, end]}``; later plateaus and descents included, so
  an escape from the secondary plateau is a stage of its own);
* ``stages_theory``: the theory's stage bounds beside them (:func:`stage_bounds`):
  initial plateau ``[0, T_p]``, descent ``[T_p, T_d]``, secondary plateau from
  ``T_d`` to the end;
* ``reasons``: for each quantity that is ``None`` (not reached before the
  run ended, undefined for ``z = 0``, not finite), its dotted path and why.
"""
from __future__ import annotations

import numpy as np

from ..output import finite_or_none, null_paths
from ..engines import DescentOptions, FlowOptions, Trajectory, integrate_flow, run_descent
from ..engines.events import Progress
from .engine.events import make_events
from .engine import pack, select_kernel
from ..stages import detect_stages
from .config import Config
from .field import constant_C1
from .initialisation import growing_mode, initial_parameters
from .observables import missing_meanings, observables

__all__ = ["simulate", "integrate", "observe", "missing", "measure", "stage_bounds", "first_crossing"]


def first_crossing(t: np.ndarray, y: np.ndarray, level: float) -> float | None:
    """First time the series ``y`` reaches ``level`` from below (linear interpolation in log y)."""
    above = np.nonzero(y >= level)[0]
    if len(above) == 0:
        return None
    i = above[0]
    if i == 0:
        return float(t[0])
    y0, y1 = np.log(y[i - 1]), np.log(y[i])
    w = (np.log(level) - y0) / (y1 - y0)
    return float(t[i - 1] + w * (t[i] - t[i - 1]))


def stage_bounds(t: np.ndarray, q_max: np.ndarray, width: int, alpha_1: float, T_d: float | None) -> dict:
    """The theory's stages ``{"initial plateau": (0, T_p), "descent": (T_p, T_d), "secondary plateau": (T_d,
    t_end)}`` (T_p: D6's first time ``q_max`` reaches ``m^(-alpha_1)``; the secondary plateau runs to the end even
    when the loss escapes it: :func:`measure` puts the detected stages beside these)."""
    level = width ** (-alpha_1)
    T_p = first_crossing(t, q_max, level)
    end = float(t[-1]) if len(t) else 0.0
    if len(q_max) and q_max[0] >= level:      # already past the threshold: no initial plateau, descent from 0
        stages = {"descent": (0.0, T_d if T_d is not None else end)}
    else:
        stages = {"initial plateau": (0.0, T_p if T_p is not None else end)}
        if T_p is not None:
            stages["descent"] = (T_p, T_d if T_d is not None else end)
    if T_d is not None and T_d < end:
        stages["secondary plateau"] = (T_d, end)
    return stages


def simulate(config: Config, *, backend: str = "auto", device: str = "cpu", solver: str = "RK45",
             rtol: float = 1e-8, grid: int = 601, batch: int | None = None, K_levels=(), loss_levels=(),
             progress: bool | None = None, notify=print, threads: int = 1,
             remainder: bool = True, per_neuron: bool = True,
             dtype: str = "float64") -> tuple[Trajectory, dict, object]:
    """Run the configuration's trajectory; return ``(trajectory, observables, kernel)``."""
    traj, kernel = integrate(config, backend=backend, device=device, solver=solver, rtol=rtol, grid=grid,
                             batch=batch, K_levels=K_levels, loss_levels=loss_levels, progress=progress,
                             notify=notify, threads=threads, dtype=dtype)
    return traj, observe(config, traj, kernel, remainder=remainder, per_neuron=per_neuron), kernel


def integrate(config: Config, *, backend: str = "auto", device: str = "cpu", solver: str = "RK45",
              rtol: float = 1e-8, grid: int = 601, batch: int | None = None, K_levels=(), loss_levels=(),
              progress: "bool | Progress | None" = None, notify=print, threads: int = 1,
              dtype: str = "float64") -> tuple[Trajectory, object]:
    """The first half of :func:`simulate`: the trajectory and the kernel, without the observables (a Ctrl-C
    here ends the run early with status ``interrupted``)."""
    data = config.dataset
    m, d = config.model.width, data.dim
    kernel, _ = select_kernel(config.activation, data.X, data.p, data.y, m, backend, device, threads=threads,
                              notify=notify, dtype=dtype)
    a0, W0 = initial_parameters(m, d, float(config.model.alpha), config.train.seed)
    theta0 = pack(a0, W0)
    delta = config.analysis.delta
    zSz = data.moments["z_Sinv_z"]
    levels = tuple(dict.fromkeys((0.5, 1 - delta, *K_levels))) if not data.z_is_zero else ()
    events = make_events(kernel, m, data.z, zSz if zSz > 0 else 1.0, K_levels=levels, loss_levels=loss_levels)
    # a Progress of the caller's (the command line reads its time reached), or a bar shown as ``progress`` says
    bar = progress if isinstance(progress, Progress) else Progress(config.train.t_max, enabled=progress)
    if config.train.method == "flow" and batch is None:
        traj = integrate_flow(kernel, theta0, config.train.t_max, scale=float(m) ** (-config.model.alpha),
                              events=events, options=FlowOptions(solver=solver, rtol=rtol, grid=grid),
                              progress=bar)
    else:
        rng = np.random.default_rng(np.random.SeedSequence([config.train.seed, 1]))
        traj = run_descent(kernel, theta0, config.train.t_max, events=events,
                           options=DescentOptions(lr=config.train.lr, batch=batch, grid=grid), rng=rng,
                           progress=bar)
    return traj, kernel


def _C1(config: Config) -> float:
    return constant_C1(config.activation.C_L.upper, config.activation.C0.upper,
                                    config.dataset.moments)


def observe(config: Config, traj: Trajectory, kernel, *, remainder: bool = True, per_neuron: bool = True) -> dict:
    """The second half of :func:`simulate`: the observables along ``traj`` (``{}`` for an empty one;
    ``per_neuron`` false leaves out the ``time x m`` series)."""
    if not len(traj.t):
        return {}
    return observables(traj, kernel, config.dataset, C1=_C1(config),
                       method="flow" if traj.info["integrator"] == "flow" else "gd", lr=config.train.lr,
                       remainder=remainder, per_neuron=per_neuron)


def missing(config: Config, *, remainder: bool = True) -> dict:
    """What NaN means in each observable of :func:`observe` (for :meth:`Trajectory.save`)."""
    return missing_meanings(C1=_C1(config), remainder=remainder)


def _end_of_run(traj: Trajectory) -> str:
    """How the run ended, for a reason: ``"before t_max = 60"`` or ``"before the run stopped (interrupted) at
    t = 3.2"``."""
    end = float(traj.t[-1]) if len(traj.t) else 0.0
    if traj.status == "completed":
        return f"before t_max = {end:g}"
    return f"before the run stopped ({traj.status}) at t = {end:g}"


def measure(config: Config, traj: Trajectory, obs: dict, kernel) -> dict:
    """The measured summary (JSON-ready).

    A quantity that was not measured is ``None``, and ``reasons[path]`` says why (``path``: its dotted path,
    e.g. ``t_half`` or ``T_d.value``); a number that is not finite (the loss of a diverging run) is ``None``
    with a reason too, so the summary never holds NaN or infinities.
    """
    data = config.dataset
    delta = config.analysis.delta
    why = {}
    t_half = traj.first_event("K=0.5")
    td_hits = traj.events.get(f"K={1 - delta:g}", [])
    T_d = float(td_hits[0][0]) if td_hits else None
    plateau_loss = float(kernel.loss(td_hits[0][1])) if td_hits else None
    stages = stage_bounds(traj.t, obs.get("q_max", np.array([])), config.model.width, config.alpha_1, T_d)
    detected = {}
    if len(traj.t) >= 2 and np.all(np.isfinite(traj.loss)) and np.all(traj.loss > 0):
        detected = {s.name: [s.start, s.end] for s in detect_stages(traj.t, traj.loss)}
    a0, W0 = traj.split(traj.theta[0])
    k0 = None
    if not data.z_is_zero:
        u = growing_mode(a0, W0, data.z)
        k0 = float(np.sum(u**2) / 2 * data.z_norm / data.moments["z_Sinv_z"])
    T_p = stages["initial plateau"][1] if "descent" in stages and "initial plateau" in stages else None
    ended = _end_of_run(traj)
    if data.z_is_zero:
        no_k = (f"z = 0 (|z| = {data.z_norm:.3g}): K = beta.z / z^T Sigma^-1 z is undefined, so no level of K is "
                "tracked")
        why["K0"] = f"z = 0 (|z| = {data.z_norm:.3g}): there is no growing linear mode whose share K0 would be"
        why["t_half"] = why["T_d.value"] = no_k
    else:
        why["t_half"] = f"K never reached 1/2 {ended}"
        why["T_d.value"] = f"K never reached 1 - delta = {1 - delta:g} {ended}"
    why["plateau_loss"] = f"the loss at T_d, and T_d was not measured: {why['T_d.value']}"
    if "q_max" not in obs:
        why["T_p.value"] = "the observables (q_max among them) were not computed: the run was interrupted first"
    elif "initial plateau" not in stages:
        why["T_p.value"] = (f"q_max(0) = {float(obs['q_max'][0]):.3g} is already at or above m^(-alpha_1) = "
                            f"{config.model.width ** -config.alpha_1:.3g}: there is no initial plateau")
    else:
        why["T_p.value"] = f"q_max never reached m^(-alpha_1) = {config.model.width ** -config.alpha_1:.3g} {ended}"
    for key in ("initial_loss", "final_loss"):
        why[key] = "the trajectory holds no recorded state"
    summary = {
        "z_norm": data.z_norm,
        "K0": k0,
        "t_half": t_half,
        "T_d": {"value": T_d, "delta": delta},
        "T_p": {"value": T_p, "alpha_1": config.alpha_1},
        "initial_loss": float(traj.loss[0]) if len(traj.loss) else None,
        "plateau_loss": plateau_loss,
        "final_loss": float(traj.loss[-1]) if len(traj.loss) else None,
        "diverged": False if traj.diverged is None else traj.diverged,
        "status": traj.status,
        "message": traj.message,
        "stages": detected,
        "stages_theory": {k: list(v) for k, v in stages.items()},
        "events": {name: [float(h[0]) for h in hits] for name, hits in traj.events.items()},
        "run": traj.info,
    }
    reasons = {}
    summary = finite_or_none(summary, reasons, "not a finite number ({value!r}): the run overflowed there")
    for path in null_paths(summary):
        if path not in reasons and path in why:
            reasons[path] = why[path]
    summary["reasons"] = reasons
    return summary
