"""A simulated trajectory: times, parameters, events, observables, and how the run ended."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._io import atomic_write

__all__ = ["Trajectory", "Diverged"]


class Diverged(Exception):
    """Raised inside a right-hand side when the state stops being finite or the loss explodes."""

    def __init__(self, time: float, reason: str):
        self.time, self.reason = float(time), reason
        super().__init__(f"diverged at t = {time:g}: {reason}")


@dataclass
class Trajectory:
    """What a simulation returns.

    Attributes
    ----------
    t : (T,) array
        Recording times (the flow's time, or ``n eta`` for gradient descent).
    theta : (T, m (d + 1)) array
        Parameters ``[a, W]`` at those times.
    loss : (T,) array
    events : dict
        ``name -> list of (time, theta)`` crossings (``K=0.5``, ``loss=0.3``...).
    status : str
        ``completed``, ``diverged``, ``failed`` (solver failure) or ``interrupted``.
    message : str
        The solver's message or the divergence reason.
    diverged : float or None
        Time of divergence.
    info : dict
        Method, backend, tolerances, evaluation counts, wall time, seeds.
    """

    width: int
    dim: int
    t: np.ndarray
    theta: np.ndarray
    loss: np.ndarray
    events: dict = field(default_factory=dict)
    status: str = "completed"
    message: str = ""
    diverged: float | None = None
    info: dict = field(default_factory=dict)

    def split(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        theta = np.asarray(theta)
        return theta[..., : self.width], theta[..., self.width:].reshape(theta.shape[:-1] + (self.width, self.dim))

    def first_event(self, name: str) -> float | None:
        hits = self.events.get(name, [])
        return float(hits[0][0]) if hits else None

    def save(self, directory: str | Path, stem: str, observables: dict | None = None) -> dict:
        """Write ``stem.npz`` (everything) and ``stem.csv`` (scalar series); return their paths.

        Files are written to a temporary name first and renamed, so an
        interrupted write never leaves a half file behind.
        """
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        obs = observables or {}
        arrays = {"t": self.t, "theta": self.theta, "loss": self.loss}
        arrays.update({f"obs_{k}": np.asarray(v) for k, v in obs.items()})
        for name, hits in self.events.items():
            arrays[f"event_{name}"] = np.array([h[0] for h in hits], dtype=float)
        paths = {"npz": directory / f"{stem}.npz", "csv": directory / f"{stem}.csv"}
        buf = io.BytesIO()
        np.savez(buf, **arrays)   # uncompressed: float64 states barely compress, and compressing cost 1.5 s
        atomic_write(paths["npz"], buf.getvalue())
        scalars = {k: np.asarray(v) for k, v in obs.items() if np.ndim(v) == 1 and len(v) == len(self.t)}
        text = io.StringIO()
        writer = csv.writer(text)
        columns = ["t", "loss"] + [k for k in scalars if k != "loss"]
        writer.writerow(columns)
        series = [self.t, self.loss] + [scalars[k] for k in columns[2:]]
        for row in zip(*series):
            writer.writerow([repr(float(x)) if np.isfinite(x) else "" for x in row])
        atomic_write(paths["csv"], text.getvalue().encode())
        return {k: str(v) for k, v in paths.items()}
