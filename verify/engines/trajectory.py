"""A simulated trajectory: times, parameters, events, observables, and how the run ended."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from theory.errors import InputError

from ..output import atomic_write, dumps

__all__ = ["Trajectory", "Diverged", "GENERIC_MISSING", "NPZ_DTYPES"]


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

    def save(self, directory: str | Path, stem: str, observables: dict | None = None,
             missing: dict | None = None, *, dtype: str = "float64", compress: bool = False,
             storage: dict | None = None) -> dict:
        """Write ``stem.npz`` (everything), ``stem.csv`` (scalar series) and ``stem.columns.json`` (the CSV's
        columns and what its empty cells mean); return their paths (keys ``npz``, ``csv``, ``columns``).

        ``missing`` maps an observable's name to what NaN means in it (``"linear_deviation": "Q_lin
        overflows here"``).  Each file says, per series that holds a value that is not a finite number, how
        many it holds and what they mean (a series without an entry in ``missing`` gets a generic
        sentence): the NPZ in its entry ``missing`` (a JSON object keyed by the NPZ's array names, stored as
        a string: ``json.loads(str(npz["missing"]))``), the CSV, whose cell is then empty, in
        ``stem.columns.json`` (keyed by column).  Files are written to a temporary name first and renamed,
        so an interrupted write never leaves a half file behind.

        ``dtype`` (:data:`NPZ_DTYPES`): ``"float32"`` stores the states, the losses and the observables in single
        precision (the times and event times stay in double; the CSV keeps every digit of the double values);
        ``compress`` writes the NPZ with ``zlib`` (float64 states barely compress, and compressing cost 1.5 s at
        m = 800).  The choice is recorded in the NPZ itself, in its entry ``storage`` (a JSON object stored as a
        string: ``json.loads(str(npz["storage"]))``, with ``dtype``, ``compressed``, the arrays stored in single
        precision, ``field_dtype`` (the precision the field was computed in: ``info["dtype"]``, ``--dtype``) and
        the caller's ``storage`` entries, e.g. which outputs a size rule left out).
        """
        if dtype not in NPZ_DTYPES:
            raise InputError("npz_dtype", dtype, "unknown storage precision", f"use one of {', '.join(NPZ_DTYPES)}")
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        obs = observables or {}
        missing = missing or {}
        arrays = {"t": self.t, "theta": self.theta, "loss": self.loss}
        arrays.update({f"obs_{k}": np.asarray(v) for k, v in obs.items()})
        for name, hits in self.events.items():
            arrays[f"event_{name}"] = np.array([h[0] for h in hits], dtype=float)
        single = [k for k, v in arrays.items() if dtype == "float32" and not _kept_double(k)
                  and np.asarray(v).dtype.kind == "f"]
        for key in single:
            with np.errstate(over="ignore"):     # a double beyond float32's range is stored as inf (counted below)
                arrays[key] = np.asarray(arrays[key]).astype(np.float32)
        series_of = {f"obs_{k}": k for k in obs}           # the NPZ's array name -> the observable's name
        gaps = {key: _gap(value, missing.get(series_of.get(key, key))) for key, value in arrays.items()}
        paths = {"npz": directory / f"{stem}.npz", "csv": directory / f"{stem}.csv",
                 "columns": directory / f"{stem}.columns.json"}
        recorded = {"dtype": dtype, "compressed": bool(compress), "single_precision": single,
                    "field_dtype": str(self.info.get("dtype", "float64")), **(storage or {})}
        buf = io.BytesIO()
        # uncompressed by default: float64 states barely compress, and compressing cost 1.5 s
        (np.savez_compressed if compress else np.savez)(
            buf, **arrays, missing=np.array(dumps({k: g for k, g in gaps.items() if g}, indent=None).strip()),
            storage=np.array(dumps(recorded, indent=None).strip()))
        atomic_write(paths["npz"], buf.getvalue())
        del buf
        scalars = {k: np.asarray(v) for k, v in obs.items() if np.ndim(v) == 1 and len(v) == len(self.t)}
        text = io.StringIO()
        writer = csv.writer(text)
        columns = ["t", "loss"] + [k for k in scalars if k != "loss"]
        writer.writerow(columns)
        values = [self.t, self.loss] + [scalars[k] for k in columns[2:]]
        for row in zip(*values):
            writer.writerow([repr(float(x)) if np.isfinite(x) else "" for x in row])
        atomic_write(paths["csv"], text.getvalue().encode())
        column_gaps = {c: _gap(v, missing.get(c)) for c, v in zip(columns, values)}
        atomic_write(paths["columns"], dumps({
            "file": paths["csv"].name, "columns": columns,
            "empty_cell": "a value that is not a finite number (NaN: not defined or not evaluated there; see "
                          "missing for what it means in each column)",
            "missing": {c: g for c, g in column_gaps.items() if g}}))
        return {k: str(v) for k, v in paths.items()}


#: the precisions :meth:`Trajectory.save` writes the NPZ's states and series in
NPZ_DTYPES = ("float64", "float32")


def _kept_double(name: str) -> bool:
    """The NPZ's arrays that stay in double precision under ``dtype="float32"``: the times and event times."""
    return name == "t" or name.startswith("event_")


#: what a value that is not a finite number means in a series without its own entry in ``missing``
GENERIC_MISSING = "not a finite number: the state or the quantity overflowed there"


def _gap(values, means: str | None) -> dict | None:
    """``{"count": n, "means": ...}`` for a series holding ``n`` values that are not finite numbers, else None."""
    values = np.asarray(values, dtype=float)
    count = int(values.size - np.count_nonzero(np.isfinite(values)))
    return {"count": count, "means": means or GENERIC_MISSING} if count else None
