"""Where a monotone event in the learning-rate constant c switches on: a coarse grid, then multi-section on log c.

Used for the critical constants of :mod:`verify.early_training.critical` (and
free of PyTorch, so that the run profiles can name a :class:`Search`).  The
event is evaluated on a coarse grid ``c = 2^(x_0 + k h)`` over the bracket;
the coarse grid also checks that it switches on once and stays on
(monotone).  The first switching cell is then refined by evaluating
``per_pass`` values of ``c`` equally spaced in ``log c`` per call (1 is
bisection) until the cell is narrower than the resolution in ``log2 c``.
Where the coarse grid shows a non-monotone event, the authors' grid
``2^(0.1 k)`` over the bracket is evaluated instead and the first switch on
it is reported, flagged ``fallback``.

``within=(lo, hi)`` starts the coarse grid at ``lo`` instead of the bracket's
low end and stops it at the first point at or above ``hi`` (c_sharp's search
starts from the measured c_loss and c_max).  A hint may be wrong: where the
event already holds at ``lo`` the grid is extended downward by the coarse step
until a point without it (or the bracket's low end), flagged
``extended_below``, so a switch below ``lo`` (c_sharp < c_loss) is still found;
where it never holds up to ``hi`` it is extended upward to the bracket's high
end, flagged ``extended_above``.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Callable, Sequence

import numpy as np

from theory.errors import InputError

__all__ = ["Search", "Boundary", "boundary", "AUTHORS_GRID_STEP"]

#: the step in log2 c of the authors' scan
AUTHORS_GRID_STEP = 0.1


def _positive_int(name: str, value, example: str, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise InputError(name, value, f"must be an integer >= {low}", f"use e.g. {name} {example}")
    return int(value)


@dataclass(frozen=True)
class Search:
    """How a constant is searched: bracket in c, coarse grid step in log2 c, resolution in log2 c,
    values of c per refining pass (loss-only events), and the fallback grid step (the authors' 0.1)."""

    bracket: tuple = (0.5, 256.0)
    coarse_step: float = 0.5
    resolution: float = 0.01
    per_pass: int = 7
    fallback_step: float = AUTHORS_GRID_STEP

    def __post_init__(self):
        lo, hi = self.bracket
        if not 0 < lo < hi:
            raise InputError("bracket", self.bracket, "must be 0 < low < high", "use e.g. (0.5, 256)")
        for name in ("coarse_step", "resolution", "fallback_step"):
            if not getattr(self, name) > 0:
                raise InputError(name, getattr(self, name), "must be > 0", "use a positive step in log2 c")
        _positive_int("per_pass", self.per_pass, "7")

    def grid(self, step: float) -> list[float]:
        """``2^(x_0 + k step)`` from the bracket's low end to its high end (inclusive)."""
        lo, hi = (math.log2(b) for b in self.bracket)
        n = int(math.floor((hi - lo) / step + 1e-9))
        return [2.0 ** (lo + k * step) for k in range(n + 1)]


@dataclass(frozen=True)
class Boundary:
    """A constant found by :func:`boundary`.

    ``value``: the first ``c`` with the event (``c_loss``, ``c_sharp``) or the last without it (``c_max``),
    None when the bracket does not contain it; ``interval``: the cell ``(lo, hi)`` that holds the switch (an
    end is None where the bracket does not bound it);
    ``monotone``: whether the coarse grid (and every refining pass) saw a single switch; ``fallback``: the
    authors' grid was used instead of refining; ``below_bracket`` / ``above_bracket``: the event already
    holds at the low end / never holds; ``runs``: training runs used; ``passes``: calls of the event;
    ``within``: the hinted start of the coarse grid (None: the whole bracket); ``extended_below`` /
    ``extended_above``: the event already held at the hint's low end / never held up to its high end, and the
    grid was extended beyond the hint.
    """

    name: str
    value: float | None
    interval: tuple | None
    monotone: bool
    fallback: bool
    flips: list
    runs: int
    passes: int
    below_bracket: bool = False
    above_bracket: bool = False
    within: tuple | None = None
    extended_below: bool = False
    extended_above: bool = False

    def as_dict(self) -> dict:
        out = asdict(self)
        out["interval"] = None if self.interval is None else list(self.interval)
        out["within"] = None if self.within is None else list(self.within)
        return out


def _hinted_grid(search: Search, within) -> list[float]:
    """The coarse grid ``lo 2^(k step)`` from the hint's low end (clipped to the bracket) to the first point at or
    above its high end (at most the bracket's high end)."""
    b_lo, b_hi = search.bracket
    lo = min(max(float(within[0]), b_lo), b_hi)
    hi = b_hi if within[1] is None else min(max(float(within[1]), lo), b_hi)
    grid = [lo]
    while grid[-1] < hi * (1 - 1e-12):
        grid.append(min(grid[-1] * 2.0 ** search.coarse_step, b_hi))
    return grid


def boundary(name: str, events: Callable[[Sequence[float]], list], search: Search = Search(), *,
             last_without: bool = False, per_pass: int | None = None, within: tuple | None = None) -> Boundary:
    """Where ``events`` (a list of values of c -> a list of booleans) first switches on, in ``search.bracket``.

    Coarse grid, then multi-section of the first switching cell on ``log c`` with ``per_pass`` points per call
    (1: bisection) until the cell is narrower than ``search.resolution`` in ``log2 c``; a coarse grid with an
    event that switches off again falls back to the grid ``2^(fallback_step k)`` (first switch on it).
    ``within=(lo, hi)`` (``hi`` may be None): a hint where the switch lies; the coarse grid starts at ``lo`` and is
    extended below ``lo`` (or above ``hi``) where the event says the switch is not inside (module docstring).
    """
    m = search.per_pass if per_pass is None else per_pass
    runs = passes = 0
    extended_below = extended_above = False

    def call(cs):
        nonlocal runs, passes
        runs, passes = runs + len(cs), passes + 1
        out = [bool(e) for e in events(list(cs))]
        if len(out) != len(cs):
            raise ValueError(f"events returned {len(out)} values for {len(cs)} values of c")
        return out

    hint = None if within is None or within[0] is None else (float(within[0]),
                                                            None if within[1] is None else float(within[1]))

    def result(lo, hi, **kw):
        return Boundary(name, lo if last_without else hi, (lo, hi), runs=runs, passes=passes, within=hint,
                        extended_below=extended_below, extended_above=extended_above, **kw)

    if hint is None:
        grid = search.grid(search.coarse_step)
        happens = call(grid)
    else:
        grid = _hinted_grid(search, hint)
        happens = call(grid)
        # the hint is a measurement, not a bound: step down while the event holds at the grid's low end ...
        while happens[0] and grid[0] > search.bracket[0] * (1 + 1e-12):
            extended_below = True
            c = max(grid[0] / 2.0 ** search.coarse_step, search.bracket[0])
            grid, happens = [c] + grid, call([c]) + happens
        # ... and up while it never holds
        while not any(happens) and grid[-1] < search.bracket[1] * (1 - 1e-12):
            extended_above = True
            c = min(grid[-1] * 2.0 ** search.coarse_step, search.bracket[1])
            grid, happens = grid + [c], happens + call([c])
    flips = [grid[k] for k in range(len(grid) - 1) if happens[k] != happens[k + 1]]
    monotone = not any(happens[k] and not happens[k + 1] for k in range(len(grid) - 1))
    fallback = False
    if not monotone:
        grid, fallback = search.grid(search.fallback_step), True
        happens = call(grid)
    if not any(happens):
        return Boundary(name, None, (grid[-1], None), monotone, fallback, flips, runs, passes, above_bracket=True,
                        within=hint, extended_below=extended_below, extended_above=extended_above)
    first = happens.index(True)
    if first == 0:
        return result(None, grid[0], monotone=monotone, fallback=fallback, flips=flips, below_bracket=True)
    lo, hi = grid[first - 1], grid[first]
    while not fallback and math.log2(hi / lo) > search.resolution:
        pts = [lo * (hi / lo) ** (j / (m + 1)) for j in range(1, m + 1)]
        got = call(pts)
        if any(got[j] and not got[j + 1] for j in range(m - 1)):
            monotone = False
        if any(got):
            j = got.index(True)
            lo, hi = (pts[j - 1] if j else lo), pts[j]
        else:
            lo = pts[-1]
    return result(lo, hi, monotone=monotone, fallback=fallback, flips=flips)
