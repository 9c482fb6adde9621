"""Gradient flow by SciPy's adaptive Runge-Kutta (or stiff) solvers.

The loop drives a :class:`scipy.integrate.OdeSolver` step by step, as
:func:`scipy.integrate.solve_ivp` does internally, so that a run can be
watched (progress bar), stopped (Ctrl-C keeps what was computed) and
diagnosed (a divergence is reported with its time).  Recordings on the time
grid and event times use the solver's dense output; event times are found
with :func:`scipy.optimize.brentq` on it, as ``solve_ivp`` does.
"""
from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from scipy.integrate import BDF, DOP853, LSODA, RK23, RK45, Radau
from scipy.optimize import brentq

from theory.errors import InputError

from .._interrupt import HeldInterrupt
from .events import Event, Progress
from .trajectory import Diverged, Trajectory

__all__ = ["FlowOptions", "integrate_flow", "SOLVERS"]

SOLVERS = {"RK45": RK45, "DOP853": DOP853, "RK23": RK23, "LSODA": LSODA, "Radau": Radau, "BDF": BDF}


@dataclass(frozen=True)
class FlowOptions:
    """Solver settings.

    ``atol`` is ``rtol * atol_scale * scale`` where ``scale`` is the size of the
    initial parameters (``m^-alpha``): the parameters start tiny, and an
    absolute tolerance on the order of ``rtol`` would let the solver ignore
    them altogether.
    """

    solver: str = "RK45"
    rtol: float = 1e-8
    atol_scale: float = 1e-3
    grid: int = 601
    loss_ceiling: float = 1e8
    #: the flow diverges when its loss exceeds this multiple of the initial loss (the flow never raises it)
    divergence_factor: float = 10.0

    def __post_init__(self):
        if self.solver not in SOLVERS:
            raise InputError("solver", self.solver, "unknown solver", f"use one of {', '.join(SOLVERS)}")
        if not 0 < self.rtol < 1:
            raise InputError("rtol", self.rtol, "must lie in (0, 1)", "use e.g. rtol=1e-8")
        if self.grid < 2:
            raise InputError("grid", self.grid, "needs at least 2 recording times", "use e.g. grid=601")


def _cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def integrate_flow(kernel, theta0: np.ndarray, t_max: float, *, scale: float, events: list[Event] = (),
                   options: FlowOptions = FlowOptions(), progress: Progress | None = None) -> Trajectory:
    """Integrate ``theta' = -grad R(theta)`` from 0 to ``t_max``.

    The run is reported ``diverged`` when the loss or the field is not finite, or the loss exceeds
    ``loss_ceiling`` or ``divergence_factor`` times the initial loss (the exact flow never raises its loss).

    The losses at the recording times are evaluated while the integration goes on, in a second thread on a
    copy of the kernel with its own work arrays (``kernel.concurrent_copy()``, where the kernel has one and
    its evaluations release the GIL): the same numbers as evaluating them afterwards, on a core the kernel's
    threads leave free (without one they are evaluated afterwards).
    """
    grid = np.linspace(0.0, t_max, options.grid)
    ceiling = [options.loss_ceiling]

    def fun(t, theta):
        loss, field = kernel.loss_and_field(theta)
        if not np.isfinite(loss) or loss > ceiling[0] or not np.all(np.isfinite(field)):
            raise Diverged(t, "loss is not finite" if not np.isfinite(loss) else
                           f"loss {loss:.3g} above {ceiling[0]:.3g}" + (
                               f" ({options.divergence_factor:g} times the initial loss)"
                               if ceiling[0] < options.loss_ceiling else " (the ceiling)") if loss > ceiling[0]
                           else "the gradient is not finite")
        return field

    start = time.perf_counter()
    evals0 = kernel.evaluations
    times, states = [0.0], [np.array(theta0, dtype=float)]
    # on one core the second thread only competes with the integration (GIL hand-offs and context switches:
    # benchmarks/bench_flow_vs_jax.py's workload A pinned to one core took 0.27 s with it, 0.19 s without):
    # there the losses are evaluated after the integration, the same numbers
    # the same when the kernel's own threads take every core: the side thread would take a core from a kernel
    # thread at every recording time; the losses after the integration use the kernel's threads
    spare = _cores() > max(1, int(getattr(kernel, "threads", 1)))
    twin = kernel.concurrent_copy() if hasattr(kernel, "concurrent_copy") and spare else None
    side = ThreadPoolExecutor(1, thread_name_prefix="recorded-losses") if twin is not None else None
    losses = [side.submit(twin.loss, states[0])] if side is not None else []
    hits = {ev.name: [] for ev in events}
    status, message, diverged = "completed", "", None
    try:
        loss0 = kernel.loss(np.asarray(theta0, dtype=float))
        if np.isfinite(loss0) and loss0 > 0:
            ceiling[0] = min(options.loss_ceiling, options.divergence_factor * loss0)
        fun(0.0, theta0)
        solver = SOLVERS[options.solver](fun, 0.0, np.array(theta0, dtype=float), t_max, rtol=options.rtol,
                                         atol=options.rtol * options.atol_scale * scale)
        gi = 1
        old_values = [ev.fn(0.0, theta0) for ev in events]
        while solver.status == "running":
            msg = solver.step()
            if solver.status == "failed":
                status, message = "failed", f"solver failure: {msg}"
                break
            t_old, t_new = solver.t_old, solver.t
            dense = solver.dense_output()
            while gi < len(grid) and grid[gi] <= t_new:
                times.append(grid[gi])
                states.append(dense(grid[gi]))
                if side is not None:
                    losses.append(side.submit(twin.loss, states[-1]))
                gi += 1
            new_values = [ev.fn(t_new, solver.y) for ev in events]
            for ev, g0, g1 in zip(events, old_values, new_values):
                crossed = (g0 < 0 <= g1) if ev.direction > 0 else (g0 > 0 >= g1) if ev.direction < 0 \
                    else (np.sign(g0) != np.sign(g1))
                if crossed:
                    root = brentq(lambda s: ev.fn(s, dense(s)), t_old, t_new, xtol=1e-14 * max(1.0, t_new),
                                  rtol=4 * np.finfo(float).eps)
                    hits[ev.name].append((root, dense(root)))
            old_values = new_values
            if progress:
                progress.update(t_new)
        else:
            message = "reached t_max"
    except Diverged as exc:
        status, message, diverged = "diverged", str(exc), exc.time
    except KeyboardInterrupt:
        status, message = "interrupted", "interrupted by the user"
    finally:
        if progress:
            progress.close()
    with HeldInterrupt() as held:       # the losses of the states: a Ctrl-C here must not lose the trajectory
        # a Ctrl-C between the appends of one recording time leaves the lists of unequal length: whole records only
        kept = min(len(times), len(states), len(losses) if side is not None else len(states))
        del times[kept:], states[kept:], losses[kept:]
        theta = np.array(states)
        if side is not None:
            side.shutdown(wait=True)
            loss = np.array([f.result() for f in losses])
        else:
            loss = np.array([kernel.loss(th) for th in theta])
    if held.caught and status == "completed":
        status, message = "interrupted", "interrupted by the user as the integration finished (at t_max)"
    info = {"integrator": "flow", "solver": options.solver, "rtol": options.rtol,
            "atol": options.rtol * options.atol_scale * scale, "field_evaluations": kernel.evaluations - evals0,
            "wall_time_s": time.perf_counter() - start, "backend": kernel.name, "device": kernel.device,
            "kernel": kernel.variant, "dtype": str(getattr(kernel, "dtype", "float64")).replace("torch.", "")}
    width = kernel.m
    return Trajectory(width, kernel.d, np.array(times), theta, loss, hits, status, message, diverged, info)
