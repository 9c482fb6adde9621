"""Gradient descent (full batch or mini-batch SGD) at matched time ``t = n eta``."""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from theory.errors import InputError

from .events import Event, Progress
from .trajectory import Trajectory

__all__ = ["DescentOptions", "run_descent"]


@dataclass(frozen=True)
class DescentOptions:
    lr: float = 0.01
    batch: int | None = None        # None: full batch; otherwise SGD with this many points a step
    grid: int = 601
    loss_ceiling: float = 1e8
    #: a run diverges when its (full-batch) loss exceeds this multiple of the initial loss
    divergence_factor: float = 10.0

    def __post_init__(self):
        if not self.lr > 0:
            raise InputError("[train] lr", self.lr, "the step must be positive", "set lr = 0.01")
        if self.batch is not None and self.batch < 1:
            raise InputError("batch", self.batch, "must be at least 1", "omit it for full-batch descent")
        if not self.divergence_factor > 1:
            raise InputError("divergence_factor", self.divergence_factor, "must exceed 1", "use e.g. 10")


def run_descent(kernel, theta0: np.ndarray, t_max: float, *, events: list[Event] = (),
                options: DescentOptions = DescentOptions(), rng: np.random.Generator | None = None,
                progress: Progress | None = None) -> Trajectory:
    """``theta_{n+1} = theta_n - eta grad R(theta_n)`` for ``n eta <= t_max``.

    Recordings are taken at the steps nearest the grid ``linspace(0, t_max, grid)``
    and stamped with their own times ``n eta``.  Event times are located by linear
    interpolation between the two steps that bracket the crossing (an
    ``O(eta^2)`` error on top of the ``O(eta)`` difference from the flow).
    With ``batch`` set, each step uses ``batch`` points drawn with replacement
    with probabilities ``p`` from ``rng``.

    The run is reported ``diverged`` (with its time) when the loss or the gradient is not finite, the loss is
    above ``loss_ceiling``, or the full-batch loss exceeds ``divergence_factor`` times the initial loss.
    """
    eta = options.lr
    steps = int(np.floor(t_max / eta + 1e-9))
    record_at = np.unique(np.rint(np.linspace(0, steps, options.grid)).astype(int))
    theta = np.array(theta0, dtype=float)
    start = time.perf_counter()
    times, states, losses = [], [], []
    hits = {ev.name: [] for ev in events}
    cheap = [ev for ev in events if not ev.costly]
    status, message, diverged = "completed", "reached t_max", None
    ri, n = 0, 0
    ceiling = options.loss_ceiling
    old = [ev.fn(0.0, theta) for ev in cheap]
    full = kernel
    probabilities = None if options.batch is None else np.asarray(
        full.p.cpu().numpy() if hasattr(full.p, "cpu") else full.p, dtype=float)
    try:
        for n in range(steps + 1):
            t = n * eta
            if options.batch is None:
                loss, field = kernel.loss_and_field(theta)
            else:
                loss = full.loss(theta) if ri < len(record_at) and record_at[ri] == n else np.nan
                idx = rng.choice(full.n, size=options.batch, p=probabilities)
                loss_b, field = full.on_rows(idx).loss_and_field(theta)
                if not np.isfinite(loss_b) or loss_b > options.loss_ceiling:
                    loss = loss_b
            if n == 0 and np.isfinite(loss) and loss > 0:
                ceiling = min(options.loss_ceiling, options.divergence_factor * loss)
            if (np.isfinite(loss) and loss > ceiling) or (options.batch is None and not np.isfinite(loss)) \
                    or not np.all(np.isfinite(field)):
                status, diverged = "diverged", t
                message = (f"diverged at t = {t:g}: loss is not finite" if not np.isfinite(loss) else
                           f"diverged at t = {t:g}: the gradient is not finite" if loss <= ceiling else
                           f"diverged at t = {t:g}: loss {loss:.3g} above {ceiling:.3g} ("
                           + (f"{options.divergence_factor:g} times the initial loss)"
                              if ceiling < options.loss_ceiling else "the ceiling)"))
                break
            if ri < len(record_at) and record_at[ri] == n:
                times.append(t)
                states.append(theta.copy())
                losses.append(loss)
                ri += 1
            if n == steps:
                break
            new_theta = theta + eta * field
            new = [ev.fn(t + eta, new_theta) for ev in cheap]
            for ev, g0, g1 in zip(cheap, old, new):
                crossed = (g0 < 0 <= g1) if ev.direction > 0 else (g0 > 0 >= g1) if ev.direction < 0 \
                    else (np.sign(g0) != np.sign(g1))
                if crossed:
                    w = g0 / (g0 - g1)
                    hits[ev.name].append((t + w * eta, (1 - w) * theta + w * new_theta))
            theta, old = new_theta, new
            if progress and n % 256 == 0:
                progress.update(t)
    except KeyboardInterrupt:
        status, message = "interrupted", "interrupted by the user"
    finally:
        if progress:
            progress.close()
    # a Ctrl-C between the appends of one recording time leaves the lists of unequal length: whole records only
    kept = min(len(times), len(states), len(losses))
    del times[kept:], states[kept:], losses[kept:]
    info = {"integrator": "sgd" if options.batch else "gd", "lr": eta, "batch": options.batch,
            "dtype": str(getattr(kernel, "dtype", "float64")).replace("torch.", ""),
            "steps": n, "field_evaluations": n + 1,
            "wall_time_s": time.perf_counter() - start, "backend": kernel.name, "device": kernel.device,
            "kernel": kernel.variant}
    theta_arr = np.array(states) if states else np.empty((0, kernel.size))
    return Trajectory(kernel.m, kernel.d, np.array(times), theta_arr, np.array(losses, dtype=float), hits, status,
                      message, diverged, info)
