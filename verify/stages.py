"""Split a loss curve into plateaus and descents: ``python -m verify stages FILE.csv``.

Loss curves of small-initialisation networks (the multistage paper) show an
initial plateau, a fast descent, a secondary plateau and sometimes further
descents and plateaus. :func:`detect_stages` finds those stages in any curve
``(t, loss)`` -- the project's own trajectories or a user's training log -- so
that measured stage times can be set beside the predicted ones.

Definition of a stage
---------------------
Everything is computed on ``y = log(loss)`` against ``t`` (time is taken as
linear; a geometric grid is averaged into a uniform one). ``y`` is first
passed through a running median of 5 points (from 10 points on), which removes
isolated upward or downward spikes of one or two points and leaves monotone
stretches unchanged, then smoothed by a Gaussian in time (scale below); the
*descent rate* is ``r(t) = -dy_smooth/dt``, the relative speed at which the
loss falls.

* A **descent** grows from a local maximum ``t_peak`` of ``r`` (the highest
  rate within one smoothing scale), outward on each side, while
  ``r(t) > rate_fraction * r(t_peak)`` (default 10 % of its own peak rate). A
  side also stops at the bottom of a valley of ``r`` once ``r`` climbs again by
  a quarter of ``r(t_peak)`` (the flank of another descent), and where it
  meets a descent already accepted; peaks are taken from the highest down.
  The interval counts as a descent when
  (i) the smoothed ``y`` at its end lies at least
  ``d_min = max(min_drop * (max y_smooth - min y_smooth), log(min_factor))``
  (default: 5 % of the curve's whole log-range, and at least a 5 % fall of the
  loss) below the lowest ``y`` before its start -- so the recovery from an
  upward spike or bump is not a descent -- after subtracting, for a side that
  ended in a valley or at another descent, the fall that the valley's rate
  alone would give over the interval, and (ii) ``r(t_peak)`` is at least twice
  that valley's rate. So a steady slow decline with no peak of its own (a
  drift on a plateau) is never a descent, whatever its length, unless it is
  the whole curve. The drop must also exceed 5 standard deviations of the
  noise left on ``y`` (larger near the two ends, see below).
* **Boundary of a descent.** Its start (end) is the last time before (first
  time after) its peak at which the descent rate, smoothed at the descent's
  boundary scale ``s`` (below), is down to ``rate_fraction`` = 10 % of the
  descent's peak rate, located between grid points by linear interpolation,
  and then moved towards the peak time by the widening that the smoothing
  alone causes: a crossing at distance ``d`` from the peak is reported at
  distance ``sqrt(d^2 - 2 ln(1/rate_fraction) s^2)`` (exact for a
  Gaussian-shaped rate pulse; never moved closer than one grid step). So, up
  to the noise, the boundary is **where the descent rate of the underlying
  clean curve falls to 10 % of the descent's peak rate**; for a logistic drop
  ``D / (1 + exp((t - c)/w))`` in ``log(loss)`` that is ``c -+ 3.64 w``. On a
  clean curve ``s`` is about one grid step and the correction is negligible.
  A side that stopped at a valley or at another descent ends at that grid
  point, uncorrected -- except on a noisy curve, where a side that stops
  short of a neighbouring descent from which a valley of the rate separates
  it (the valley at most half the lower of the two peaks), or that runs to an
  end of the curve, is located again at finer scales (each 0.7 of the last, at
  most 8 times, not below the floor) and takes the coarsest scale at which its
  rate crosses the threshold: a scale of the order of the plateau beside a
  descent blurs two descents into one, and at an end the straight-line fit
  the smoothing rests on reaches back into the descent and keeps its rate up
  to the end. A side stopped short of a neighbour without such a valley (one
  descent that the change-point fit below cut in two) is left, and the two are
  joined. A descent still under way at the first (last) time
  starts (ends) there. Two descents that touch (no time between them) are
  reported as one.
* A **plateau** is each gap between descents (and before the first and after
  the last): slow drifts, noise, spikes and bumps where the loss rises all
  belong to plateaus. A plateau of zero length -- a curve that starts or ends inside a
  descent -- is left out.
* Names, in time order: ``"initial plateau"``, ``"descent"``, ``"secondary
  plateau"``, then ``"descent 2"``, ``"plateau 3"``, ``"descent 3"``,
  ``"plateau 4"``, ... (descent *k* is followed by plateau *k + 1*). A curve
  without a descent, and any curve of fewer than five points, is a single
  ``"initial plateau"``.
* ``loss_start`` and ``loss_end`` are the smoothed loss at the two boundaries
  (smoothed just enough that about 1 % noise is left; equal to the loss itself
  for a clean curve away from a jump).

Smoothing scales
----------------
The noise ``nu`` of ``y`` is estimated from how far each point lies from the
straight line through its two neighbours (the lower quartile, so drops and
jumps do not count; a curve of fewer than 10 points is taken as clean). With
``rho`` points per unit time, a Gaussian of width ``s`` leaves a noise of
``nu / sqrt(4 sqrt(pi) rho s^3)`` on the rate and ``nu / sqrt(2 sqrt(pi) rho
s)`` on ``y``. Descents are *found* twice: first at the cautious scale where
the rate noise is a fifth of the mean rate of the smallest drop that counts
spread over a quarter of the curve (at most 1/20 of the curve), then again at
the scale where it is 3 % of the lowest peak rate found (never coarser),
keeping only descents that overlap one found at the cautious scale. At a
finding scale a peak must exceed 3 standard deviations of the rate noise
(larger near the ends of a noisy curve, measured as for the edge rule below)
and stand as far above a valley its descent ends in, and a
drop 5 standard deviations of the noise on the difference of its two end
values (near the ends of the curve the smoothing rests on a straight-line fit
over two scales, whose end value has variance ``4 nu^2 / N`` for ``N`` points).
Each descent's *boundaries* are then located at the scale where the rate noise
is 1.5 % of that descent's own peak rate (never below one grid step or half the
median point spacing, never coarser than the cautious scale), growing the
interval from the highest rate inside the found one, within the gap to the
neighbouring descents. A clean curve is therefore hardly smoothed at all, and
on a noisy one a sharp descent keeps sharp boundaries. ``smooth=`` fixes one
scale (time units) for everything instead; use it for strongly correlated
noise (an exponential moving average of SGD losses, say), which the
white-noise estimate underrates.

Change points (noisy curves)
----------------------------
A rate finder at one smoothing scale cannot see a short plateau beside a long
noisy one: on a mini-batch SGD log the first plateau lasts a few dozen steps,
the secondary one thousands, and a scale that quiets the noise swallows the
first plateau into the descent. So on every noisy curve (``smooth=None``) the
descents are also found by **PELT** (``ruptures.Pelt``, exact penalised
segmentation) as a piecewise-linear fit of ``y``: the samples are averaged into at most 300 blocks, the noise ``sigma_b`` of a block mean is ``1.4826 MAD /
sqrt(2)`` of the first differences of the block means (robust to the descents;
it also counts correlated noise), and each change point costs ``penalty *
sigma_b^2 * log(n_b)`` (default ``penalty = 1``; ``--penalty``). A descent
grows from the steepest segment over neighbours falling at least a quarter as
fast, and over a segment that does not but is followed by one that does unless
its slope is two standard errors below a quarter of the peak (a fit of a few
blocks to a cluster of noise inside a descent does not split it). Two descents
are one unless the blocks between them fall, by two standard errors, slower
than a quarter of the lower one. A descent counts when its fall exceeds
``d_min`` and ``6 sigma_b`` -- the smaller of the fitted fall over its segments
and the fall between the lines of the plateau segments beside it (the fit may
jump at a change point, so a bump of noise fitted by two short segments falls
across them but not between the plateaus) --, it is twice as steep as the
segments beside it and ten times the typical segment rate (the length-weighted
median of the segments' rates less twice their standard errors: a drift of
the plateaus, with the scatter of the plateau slopes taken out). Where PELT finds at least as many descents as the
rate finder, its descents are used, and their boundaries are located as above
(10 % of the peak rate, at the descent's own scale), with every scale kept
under half the shortest plateau PELT found. On a clean curve the rate finder
alone is used. ``log=False`` (``--no-log``) runs everything on the loss itself
(in units of its largest value) instead of ``log(loss)``; the descent rate is
then ``-d loss/dt`` and ``min_factor`` a fall of ``1 - 1/min_factor`` of the
lowest loss.

Time is linear: a curve sampled on a geometric grid is averaged into a uniform
grid of at most 16384 points, so structure much shorter than 1/16384 of the
whole time span is not resolved.
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import re
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from theory.errors import InputError

__all__ = ["Stage", "detect_stages", "read_curve", "add_parser", "cmd_stages", "MIN_POINTS"]

MIN_POINTS = 5          # fewer points than this: one stage, nothing is detected
_NOISE_POINTS = 10      # fewer points than this: no noise estimate or spike removal, the curve is taken as clean
_SPIKE_WINDOW = 5       # running median over this many points before anything else
_MIN_GRID = 1024        # the uniform grid has at least this many points ...
_MAX_GRID = 16384       # ... and at most this many (longer curves are averaged into it)
_FIND_NOISE = 0.2       # rate noise at the finding scale, as a fraction of the reference rate
_REFIND_NOISE = 0.03    # rate noise at the second finding scale, as a fraction of the lowest peak rate found
_BOUNDARY_NOISE = 0.015  # rate noise at the boundary scale, as a fraction of the descent's peak rate
_VALUE_NOISE = 0.01     # noise left on log(loss) for loss_start / loss_end and the log-range
_CLIMB = 0.25           # a descent also ends at a valley of the rate once it climbs this fraction of its peak again
_PROMINENCE = 2.0       # ... and must rise at least this factor above such a valley to count as a descent
_SIGNIFICANCE = 3.0     # a peak rate must exceed this many standard deviations of the rate noise ...
_EDGE_SIGNIFICANCE = 2.0  # a descent reaches an end of the curve only with a rate this many sigma above threshold
_DROP_SIGNIFICANCE = 5.0  # ... and a drop this many standard deviations of the difference of two smoothed values
_SQRT_PI = math.sqrt(math.pi)
_PELT_POINTS = 300      # PELT runs on block means of the uniform grid, at most this many
_PELT_MIN_SIZE = 3      # fewest block means in a PELT segment
_PELT_PENALTY = 1.0     # default penalty per change point, in units of sigma_b^2 log(n_b)
_PELT_NOISE = 1e-4      # PELT runs only on curves noisier than this (in log loss): a solver's curve (about 1e-8)
                        # is segmented by the rate finder alone, and skips ruptures' import (about 1 s)
_DRIFT = 10.0           # a PELT descent falls at least this many times faster than the typical segment
_RETRY_SCALE = 0.7      # a side that does not cross its threshold is located again at scales smaller by this factor,
_RETRY_STEPS = 8        # ... at most this many times (down to 0.7^8 = 6 % of the scale, never below the floor)
_PELT_FLANK = 0.25      # a descent takes in neighbouring segments whose rate is at least this fraction of its peak


@dataclass(frozen=True)
class Stage:
    """One stage of a loss curve: ``kind`` is ``"plateau"`` or ``"descent"``; times and smoothed losses at both ends."""

    name: str
    kind: str
    start: float
    end: float
    loss_start: float
    loss_end: float

    @property
    def duration(self) -> float:
        return self.end - self.start

    def as_json(self) -> dict:
        return asdict(self)


# ---------------------------------------------------------------------------------------------- validation

def _as_series(values, field: str) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InputError(field, _short(values), f"not a sequence of numbers ({exc})",
                         "pass a one-dimensional array of numbers") from None
    if arr.ndim != 1:
        raise InputError(field, f"array of shape {arr.shape}", "not one-dimensional",
                         "pass a one-dimensional array (one value per time)")
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        i = int(bad[0])
        raise InputError(f"{field}[{i}]", float(arr[i]), f"not finite ({bad.size} such value(s))",
                         "remove the rows where the value is nan or infinite (e.g. after a divergence)")
    return arr


def _short(values) -> object:
    text = repr(values)
    return text if len(text) <= 60 else text[:57] + "..."


#: accepted span of the times: the bandwidth rules square and cube ratios of it, which overflow beyond
_MIN_SPAN, _MAX_SPAN = 1e-60, 1e60
#: largest curve file read, in rows and bytes (a recorded curve has hundreds to tens of thousands of rows)
MAX_ROWS = 1_000_000
#: columns a loss curve may have (each row is held as strings: 100,000 columns of 1e6 rows would not fit)
MAX_COLUMNS = 1000
MAX_FILE_BYTES = 256 * 2**20


def _validate(t, loss) -> tuple[np.ndarray, np.ndarray]:
    t = _as_series(t, "t")
    loss = _as_series(loss, "loss")
    if t.size != loss.size:
        raise InputError("t, loss", (t.size, loss.size), "the two series have different lengths",
                         "pass one loss value per time")
    if t.size < 2:
        raise InputError("loss", loss.tolist(), f"{t.size} point(s): a curve needs at least 2",
                         "pass the whole loss curve")
    step = np.diff(t)
    bad = np.flatnonzero(step <= 0)
    if bad.size:
        i = int(bad[0]) + 1
        raise InputError(f"t[{i}]", float(t[i]), f"time does not increase (the time before it is {float(t[i - 1])!r})",
                         "sort the curve by time and drop repeated times")
    span = float(t[-1] - t[0])
    if not _MIN_SPAN <= span <= _MAX_SPAN:
        raise InputError("t", f"{float(t[0])!r} .. {float(t[-1])!r}", f"the times span {span!r}; the detection's "
                         f"smoothing scales need a span between {_MIN_SPAN:g} and {_MAX_SPAN:g}",
                         "rescale the time column (e.g. to steps or seconds)")
    bad = np.flatnonzero(loss <= 0)
    if bad.size:
        i = int(bad[0])
        raise InputError(f"loss[{i}]", float(loss[i]), "not positive; stages are measured on log(loss)",
                         "pass a positive loss (shift a signed objective by a constant so that it stays above 0)")
    return t, loss


def _check_option(name: str, value, ok: Callable[[float], bool], fix: str) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise InputError(name, value, "not a number", fix) from None
    if not (math.isfinite(value) and ok(value)):
        raise InputError(name, value, "out of range", fix)
    return value


# ---------------------------------------------------------------------------------------------- numerics

def _noise(t: np.ndarray, y: np.ndarray) -> float:
    """Robust standard deviation of white noise on ``y``, from each point's distance to its neighbours' chord."""
    if t.size < _NOISE_POINTS:      # too few residuals to tell noise from the drops: treat the curve as clean
        return 0.0
    d1, d2 = t[1:-1] - t[:-2], t[2:] - t[1:-1]
    a, b = d2 / (d1 + d2), d1 / (d1 + d2)
    resid = (y[1:-1] - a * y[:-2] - b * y[2:]) / np.sqrt(1.0 + a * a + b * b)
    # the lower quartile of |N(0, 1)| is 0.3186: tolerant of drops and jumps in up to 3/4 of the residuals
    return float(np.quantile(np.abs(resid), 0.25) / 0.3186)


def _grid(t: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Uniform grid over ``[t0, tN]``: bin means (time and value) where points crowd, linear interpolation between."""
    tg, idx, count, keep, tb = _grid_bins(t)
    yb = np.bincount(idx, weights=y, minlength=tg.size)[keep] / count[keep]
    return tg, np.interp(tg, tb, yb)


def _grid_bins(t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The uniform grid of :func:`_grid` and its bins: ``(tg, bin of each sample, count per bin, bins with a
    sample, mean time of each such bin)``."""
    span = t[-1] - t[0]
    natural = int(round(span / float(np.median(np.diff(t))))) + 1
    m = int(min(max(t.size, _MIN_GRID, natural), _MAX_GRID))
    tg = np.linspace(t[0], t[-1], m)
    h = span / (m - 1)
    idx = np.minimum(((t - t[0]) / h + 0.5).astype(np.int64), m - 1)
    count = np.bincount(idx, minlength=m)
    keep = count > 0
    tb = np.bincount(idx, weights=t, minlength=m)[keep] / count[keep]
    return tg, idx, count, keep, tb


def _grid_rows(t: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """:func:`_grid` applied to each row of ``rows`` (one value per sample time in each row) at once."""
    tg, idx, count, keep, tb = _grid_bins(t)
    first = np.flatnonzero(np.diff(idx, prepend=-1))        # t increases, so each bin's samples are consecutive
    yb = np.add.reduceat(rows, first, axis=1) / count[keep]
    # np.interp's linear interpolation between the bin means, held constant outside them
    j = np.clip(np.searchsorted(tb, tg, side="right") - 1, 0, max(tb.size - 2, 0))
    if tb.size < 2:
        return np.repeat(yb[:, :1], tg.size, axis=1)
    w = np.clip((tg - tb[j]) / (tb[j + 1] - tb[j]), 0.0, 1.0)
    return yb[:, j] + (yb[:, j + 1] - yb[:, j]) * w


def _smooth(y: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian smoothing (``sigma`` in grid steps) with odd reflection about a local straight-line fit at each end,
    so that a curve that is falling at an end keeps its slope there. ``y`` is one curve, or one per row."""
    from scipy.ndimage import gaussian_filter1d     # here, not at the top: importing this module costs only numpy

    m = y.shape[-1]
    if sigma < 0.2 or m < 3:
        return y.copy()
    pad = min(int(4 * sigma) + 2, m - 1)
    fit = min(_fit_length(sigma), max(m // 4, 3))
    x = np.arange(fit, dtype=float)
    if y.ndim == 1:
        left = np.polyval(np.polyfit(x, y[:fit], 1), 0.0)
        right = np.polyval(np.polyfit(x, y[-fit:], 1), fit - 1.0)
        padded = np.concatenate([2 * left - y[pad:0:-1], y, 2 * right - y[-2:-pad - 2:-1]])
        return gaussian_filter1d(padded, sigma, mode="nearest", truncate=4.0)[pad:pad + m]
    left = np.polyval(np.polyfit(x, y[:, :fit].T, 1), 0.0)[:, None]
    right = np.polyval(np.polyfit(x, y[:, -fit:].T, 1), fit - 1.0)[:, None]
    padded = np.concatenate([2 * left - y[:, pad:0:-1], y, 2 * right - y[:, -2:-pad - 2:-1]], axis=1)
    return _gaussian_rows(padded, sigma)[:, pad:pad + m]


def _gaussian_rows(y: np.ndarray, sigma: float) -> np.ndarray:
    """``gaussian_filter1d(y, sigma, axis=-1, mode="nearest", truncate=4.0)``, by FFT once the kernel is long (the
    same weights; the two agree to rounding)."""
    from scipy import fft
    from scipy.ndimage import gaussian_filter1d

    radius = int(4.0 * sigma + 0.5)
    if radius < 32:
        return gaussian_filter1d(y, sigma, axis=-1, mode="nearest", truncate=4.0)
    x = np.arange(-radius, radius + 1, dtype=float)
    kernel = np.exp(-0.5 / (sigma * sigma) * x * x)
    kernel /= kernel.sum()
    padded = np.concatenate([np.repeat(y[:, :1], radius, axis=1), y, np.repeat(y[:, -1:], radius, axis=1)], axis=1)
    size = fft.next_fast_len(padded.shape[1] + kernel.size - 1, real=True)
    full = fft.irfft(fft.rfft(padded, size, axis=1) * fft.rfft(kernel, size), size, axis=1)
    return full[:, 2 * radius:2 * radius + y.shape[1]]


def _fit_length(sigma: float) -> int:
    """Grid points of the straight-line fit at each end of :func:`_smooth` at ``sigma`` grid steps."""
    return max(int(2 * sigma) + 2, 3)


def _value_noise_profile(m: int, nu: float, rho: float, s: float, h: float) -> np.ndarray:
    """Noise left on ``y`` at each grid point after :func:`_smooth` at scale ``s`` (time): larger at the ends, which
    rest on a straight-line fit (its end value has variance ``4 nu^2 / N`` for ``N`` points)."""
    noise = np.full(m, _value_noise(nu, rho, s))
    fit = min(_fit_length(s / h), max(m // 4, 3))
    edge = 2 * nu / math.sqrt(max(rho * fit * h, 1.0))
    noise[:fit] = np.maximum(noise[:fit], edge)
    noise[-fit:] = np.maximum(noise[-fit:], edge)
    return noise


def _edge_rate_excess(t: np.ndarray, nu: float, s: float, h: float, draws: int = 32) -> np.ndarray:
    """How much noisier the smoothed rate is at each grid point than inside the curve (standard deviations).

    At the ends :func:`_smooth` rests on straight-line fits, so the rate there is the slope of a fit to a few
    points, far noisier than inside. The profile is measured on ``draws`` realisations of white noise ``nu`` at the
    curve's own sample times, taken through the same gridding, smoothing and differencing (a fixed seed: the same
    curve gives the same stages); returned is the excess over the median rate noise, zero inside the curve.
    """
    rng = np.random.default_rng(0)
    rates = -np.gradient(_smooth(_grid_rows(t, nu * rng.standard_normal((draws, t.size))), s / h), h, axis=1)
    sd = np.std(rates, axis=0)
    return np.maximum(sd - float(np.median(sd)), 0.0)


def _rate_noise(nu: float, rho: float, s: float) -> float:
    """Standard deviation of the rate left by a Gaussian of width ``s`` (time) on white noise ``nu`` at density
    ``rho``."""
    return nu / math.sqrt(rho * 4 * _SQRT_PI * s ** 3)


def _value_noise(nu: float, rho: float, s: float) -> float:
    """Standard deviation of ``y`` left by a Gaussian of width ``s`` (time) on white noise ``nu`` at density ``rho``."""
    return nu / math.sqrt(rho * 2 * _SQRT_PI * s)


def _scale_for_rate(nu: float, rho: float, target: float) -> float:
    if nu == 0 or target <= 0:
        return 0.0
    return (nu * nu / (rho * 4 * _SQRT_PI * target * target)) ** (1.0 / 3.0)


def _scale_for_value(nu: float, rho: float, target: float) -> float:
    return nu * nu / (rho * 2 * _SQRT_PI * target * target)


def _side(seq: np.ndarray, thr: float, climb: float, blocked: np.ndarray | None) -> tuple[int, bool, float]:
    """Grow along ``seq`` (the rate from the peak outward, ``seq[0]`` the peak).

    Growth stops before a point at or below ``thr`` (a crossing) or ``blocked``, and at the bottom of a valley once
    the rate climbs ``climb`` above its lowest value so far (the flank of another descent). Returns the steps taken,
    whether the end is a crossing, and the lowest rate on the way if the end is neither a crossing nor the last
    point (else 0).
    """
    n, start, size, low = seq.size, 0, 64, math.inf
    while start < n:        # in growing chunks: most growths stop close to their peak
        chunk = seq[start:start + size]
        runmin = np.minimum.accumulate(np.concatenate([[low], chunk]))[1:]
        level = thr if np.ndim(thr) == 0 else thr[start:start + size]
        stop = (chunk <= level) | (chunk > runmin + climb)
        if blocked is not None:
            stop |= blocked[start:start + size]
        if start == 0:
            stop[0] = False
        hit = np.flatnonzero(stop)
        if hit.size:
            k = int(hit[0])
            j = start + k
            low = float(runmin[k - 1]) if k else low
            if seq[j] <= (thr if np.ndim(thr) == 0 else thr[j]):
                return j - 1, True, 0.0
            if blocked is not None and blocked[j]:
                return j - 1, False, low
            return int(np.argmin(seq[:j])), False, low
        low = float(runmin[-1])
        start += chunk.size
        size *= 4
    return n - 1, False, 0.0


def _grow(seg: np.ndarray, i: int, thr: float, climb: float,
          taken: np.ndarray | None = None) -> tuple[int, int, bool, bool, float]:
    """The descent interval ``a..b`` (indices into ``seg``) around the peak ``i``: ``(a, b, left end is a crossing,
    right end is a crossing, highest valley)``, the last the larger lowest rate of a side that ended at a valley or
    at another descent (0 if none did)."""
    arr = np.ndim(thr) != 0
    left, left_cross, left_low = _side(seg[i::-1], thr[i::-1] if arr else thr, climb,
                                       None if taken is None else taken[i::-1])
    right, right_cross, right_low = _side(seg[i:], thr[i:] if arr else thr, climb,
                                          None if taken is None else taken[i:])
    return i - left, i + right, left_cross, right_cross, max(left_low, right_low)


def _find(r: np.ndarray, y: np.ndarray, lo: int, hi: int, fraction: float, d_min: float, noise: np.ndarray,
          p_noise: np.ndarray, h: float, reach: int) -> list[tuple[int, int, float]]:
    """Descents in ``[lo, hi]`` (grid indices): ``(a, b, peak)``, grown by :func:`_grow` from the highest peaks down.

    Peaks are the points of ``r`` highest within ``reach`` grid steps (the smoothing scale: closer maxima are
    wiggles of one feature) and above ``_SIGNIFICANCE`` standard deviations ``p_noise`` of the rate noise there, by
    as much above a valley the descent ends in. A drop must exceed ``d_min`` and ``hypot(noise[a], noise[b])``.
    """
    from scipy.ndimage import maximum_filter1d

    seg = r[lo:hi + 1]
    n = seg.size
    if n < 3:
        return []
    p_min = _SIGNIFICANCE * p_noise[lo:hi + 1]
    is_max = (seg >= maximum_filter1d(seg, 2 * max(reach, 1) + 1, mode="nearest")) & (seg > p_min)
    cand = np.flatnonzero(is_max)
    cand = cand[np.argsort(-seg[cand], kind="stable")]
    taken = np.zeros(n, dtype=bool)
    shadow = np.zeros(n)                # half the peak of a rejected interval: similar peaks inside are skipped
    lowest = np.minimum.accumulate(y)   # the lowest loss so far
    length = (n - 1) * h
    found = []
    for i in cand:
        peak = float(seg[i])
        if taken[i] or 0 < shadow[i] <= peak:
            continue
        if peak * length < d_min:        # no interval around a lower peak can drop enough
            break
        a, b, _, _, valley = _grow(seg, int(i), fraction * peak, _CLIMB * peak, taken)
        # the loss must end d_min below its lowest value so far (a recovery from a spike does not count), more
        # than the rate of a valley it ends in would give, and the rate must rise well above that valley
        need = max(d_min, math.hypot(noise[lo + a], noise[lo + b]))
        if (lowest[lo + a] - y[lo + b] - valley * (b - a) * h >= need and peak >= _PROMINENCE * valley
                and peak - valley > p_min[i]):
            taken[a:b + 1] = True
            found.append((lo + a, lo + b, peak))
        else:
            shadow[a:b + 1] = np.maximum(shadow[a:b + 1], 0.5 * peak)
    return sorted(found)


def _edges(r: np.ndarray, tg: np.ndarray, a: int, b: int, lo: int, hi: int, thr: float) -> tuple[float, float]:
    """Sub-grid crossing times of ``r = thr`` just outside ``a..b`` (or the grid time where the interval was cut)."""
    start, end = tg[a], tg[b]
    if a > lo and r[a - 1] <= thr < r[a]:
        start = tg[a - 1] + (tg[a] - tg[a - 1]) * (thr - r[a - 1]) / (r[a] - r[a - 1])
    if b < hi and r[b + 1] <= thr < r[b]:
        end = tg[b] + (tg[b + 1] - tg[b]) * (r[b] - thr) / (r[b] - r[b + 1])
    return float(start), float(end)


def _narrow(d: float, widen: float, h: float) -> float:
    """Distance from the peak to a crossing once the smoothing's share ``widen`` (a variance) is taken out."""
    return max(math.sqrt(max(d * d - widen, 0.0)), min(d, h))


def _merge(descents: list[tuple[float, float]], h: float) -> list[tuple[float, float]]:
    out: list[list[float]] = []
    for s, e in sorted(descents):
        if out and s <= out[-1][1] + 1.01 * h:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return [(s, e) for s, e in out]


def _plateau_name(k: int) -> str:
    return {0: "initial plateau", 1: "secondary plateau"}.get(k, f"plateau {k + 1}")


def _descent_name(k: int) -> str:
    return "descent" if k == 1 else f"descent {k}"


def _pelt_find(t: np.ndarray, y: np.ndarray, tg: np.ndarray, penalty: float, d_min: float) -> tuple[list, float]:
    """Descents found by PELT (ruptures) as a piecewise-linear fit of the samples ``(t, y)``.

    The samples are averaged into at most ``_PELT_POINTS`` blocks of consecutive points; the noise ``sigma_b`` of a block mean is the MAD of
    the first differences of the block means (``1.4826 MAD / sqrt(2)``: robust to the descents, and it counts
    correlated noise as it is); PELT's cost is the residual sum of squares of a straight line per segment and
    its penalty per change point ``penalty * sigma_b^2 * log(n_b)``. A descent is grown from the steepest
    segment over neighbours falling at least ``_PELT_FLANK`` of its rate (and over a segment between two such that
    is not significantly slower); it counts when its fall (the smaller of the fitted fall over its segments and
    the fall between the plateau lines beside it) exceeds ``d_min`` and 6 ``sigma_b``, its rate is ``_PROMINENCE``
    times that of the segments beside it and ``_DRIFT`` times the typical rate of all segments (length-weighted
    median, less twice each slope's standard error), a drift of the plateaus. Descents without a significant
    plateau between them are joined. Returns
    ``([(a, b, peak rate), ...] in indices of the uniform grid tg, sigma_b)``; ``[]`` when there are too few blocks.
    """
    import ruptures

    n = t.size
    k = max(1, math.ceil(n / _PELT_POINTS))
    nb = n // k
    if nb < 4 * _PELT_MIN_SIZE:
        return [], 0.0
    yb = y[:nb * k].reshape(nb, k).mean(axis=1)
    tb = t[:nb * k].reshape(nb, k).mean(axis=1)
    diff = np.diff(yb)
    sigma = 1.4826 * float(np.median(np.abs(diff - np.median(diff)))) / math.sqrt(2)
    span = float(tb[-1] - tb[0])
    sigma = max(sigma, 1e-6 * max(float(np.ptp(yb)), 1e-12))      # a clean curve: still a finite penalty
    x = (tb - tb[0]) / span
    signal = np.column_stack([yb, np.ones(nb), x])
    ends = ruptures.Pelt(model="linear", min_size=_PELT_MIN_SIZE, jump=1).fit(signal).predict(
        pen=penalty * sigma * sigma * math.log(nb))
    segs = []       # (first block, last block, rate, fitted start value, fitted end value, rate's standard error)
    start = 0
    for end in ends:
        slope, icpt = np.polyfit(tb[start:end], yb[start:end], 1)
        spread = float(np.sum((tb[start:end] - tb[start:end].mean()) ** 2))
        segs.append((start, end - 1, -float(slope), float(icpt + slope * tb[start]),
                     float(icpt + slope * tb[end - 1]), sigma / math.sqrt(spread) if spread > 0 else math.inf))
        start = end
    taken = [False] * len(segs)
    found = []
    # the typical rate (length-weighted median over the segments of each rate less twice its standard error): a
    # slow drift on the plateaus; a descent must fall _DRIFT times faster, so that segments of a drifting plateau
    # are not taken for one. The noise is taken out first: on a noisy curve the slopes of plateau segments scatter
    # by their standard errors, and their raw median would count that scatter as a drift
    rates = np.array([max(abs(r) - 2 * se, 0.0) for _, _, r, _, _, se in segs])
    lengths = np.array([e - s0 + 1 for s0, e, _, _, _, _ in segs], dtype=float)
    order = np.argsort(rates)
    typical = float(rates[order][np.searchsorted(np.cumsum(lengths[order]), 0.5 * lengths.sum())])

    def reach(j: int, step: int, peak: float) -> int:
        # how far a descent at segment j grows in direction step: over neighbours falling at least _PELT_FLANK of
        # its peak rate, and over a segment that does not but is followed by one that does, unless that segment's
        # rate is significantly (two standard errors) below _PELT_FLANK of the peak: a short segment of a few
        # blocks inside a descent (the piecewise-linear fit's answer to a cluster of noise) is too uncertain to
        # split the descent there
        def free(i: int) -> bool:
            return 0 <= i < len(segs) and not taken[i]
        level = _PELT_FLANK * peak
        while True:
            if free(j + step) and segs[j + step][2] >= level:
                j += step
            elif (free(j + step) and free(j + 2 * step) and segs[j + step][2] + 2 * segs[j + step][5] >= level
                  and segs[j + 2 * step][2] >= level):
                j += 2 * step
            else:
                return j

    for i in sorted(range(len(segs)), key=lambda j: -segs[j][2]):
        peak = segs[i][2]
        if taken[i] or peak <= 0:
            continue
        lo, hi = reach(i, -1, peak), reach(i, 1, peak)
        beside = max([segs[j][2] for j in (lo - 1, hi + 1) if 0 <= j < len(segs)] + [0.0])
        # the fall over the descent, and the fall between the plateau lines beside it (a piecewise-linear fit may
        # jump at a change point: a bump of noise fitted by two short segments falls across them, not between the
        # plateaus)
        drop = segs[lo][3] - segs[hi][4]
        drop = min(drop, (segs[lo - 1][4] if lo > 0 else segs[lo][3]) - (segs[hi + 1][3] if hi + 1 < len(segs)
                                                                          else segs[hi][4]))
        if drop >= max(d_min, 6 * sigma) and peak >= _PROMINENCE * beside and peak >= _DRIFT * typical:
            for j in range(lo, hi + 1):
                taken[j] = True
            found.append([lo, hi, peak])
    def plateau_between(first: int, last: int, peak: float) -> bool:
        # the blocks of segments first..last fall significantly (two standard errors) slower than _PELT_FLANK of
        # the lower of the two descents beside them: a plateau that separates them
        lo_b, hi_b = segs[first][0], segs[last][1] + 1
        if hi_b - lo_b < 2:
            return False
        x_b = tb[lo_b:hi_b]
        spread = float(np.sum((x_b - x_b.mean()) ** 2))
        rate = -float(np.polyfit(x_b, yb[lo_b:hi_b], 1)[0])
        return rate + 2 * sigma / math.sqrt(spread) < _PELT_FLANK * peak

    # descents not separated by a plateau (adjacent segments, or only a short segment between them whose slope is
    # too uncertain to tell it from the descents) are one descent
    merged: list[list] = []
    for lo, hi, peak in sorted(found):
        if merged and (lo == merged[-1][1] + 1 or not plateau_between(merged[-1][1] + 1, lo - 1,
                                                                       min(peak, merged[-1][2]))):
            merged[-1][1], merged[-1][2] = hi, max(merged[-1][2], peak)
        else:
            merged.append([lo, hi, peak])
    found = []
    for lo, hi, peak in merged:
        first, last = t[segs[lo][0] * k], t[min(segs[hi][1] * k + k - 1, n - 1)]
        a = int(np.searchsorted(tg, first))
        b = max(int(np.searchsorted(tg, last, side="right")) - 1, a)
        found.append((a, b, peak))
    return sorted(found), sigma


# ---------------------------------------------------------------------------------------------- public API

def detect_stages(t, loss, *, min_drop: float = 0.05, min_factor: float = 1.05, rate_fraction: float = 0.1,
                  smooth: float | None = None, penalty: float = _PELT_PENALTY, log: bool = True) -> list[Stage]:
    """Split the loss curve ``(t, loss)`` into alternating plateaus and descents.

    Parameters
    ----------
    t, loss : sequences of floats
        Strictly increasing times (any spacing) and positive losses, finite, of equal length >= 2.
    min_drop : float
        A descent must lower ``log(loss)`` by at least this fraction of the curve's whole (smoothed) log-range;
        in ``[0, 1)``.
    min_factor : float
        ... and lower the loss by at least this factor (>= 1; the default 1.05 is a 5 % fall). It keeps noise on
        a flat curve from counting as a descent.
    rate_fraction : float
        A descent lasts while its descent rate exceeds this fraction of its own peak rate; in ``(0, 1)``.
    smooth : float or None
        Gaussian smoothing scale in units of ``t`` for everything; ``None`` chooses it from the noise.
    penalty : float
        PELT's penalty per change point in units of ``sigma_b^2 log(n_b)`` (> 0; larger finds fewer descents).
    log : bool
        Segment ``log(loss)`` (default) or, when False, the loss itself.

    Returns
    -------
    list of Stage
        In time order, contiguous (each stage starts where the previous ends), covering ``[t[0], t[-1]]``.

    The boundaries are exactly those of the module docstring: **a descent starts (ends) where the descent rate
    ``-d log(loss)/dt``, smoothed and corrected for the widening by the smoothing, crosses ``rate_fraction``
    (10 %) of that descent's peak rate**; plateaus are the gaps.

    Raises
    ------
    InputError
        For non-finite values, times that do not increase, a non-positive loss, unequal lengths, fewer than 2
        points or an option out of range.
    """
    t, loss = _validate(t, loss)
    min_drop = _check_option("min_drop", min_drop, lambda v: 0 <= v < 1, "pass a fraction in [0, 1), e.g. 0.05")
    min_factor = _check_option("min_factor", min_factor, lambda v: v >= 1, "pass a factor >= 1, e.g. 1.05")
    rate_fraction = _check_option("rate_fraction", rate_fraction, lambda v: 0 < v < 1,
                                  "pass a fraction in (0, 1), e.g. 0.1")
    if smooth is not None:
        smooth = _check_option("smooth", smooth, lambda v: v >= 0, "pass a time scale >= 0, or None for automatic")
    penalty = _check_option("penalty", penalty, lambda v: v > 0, f"pass a number > 0, e.g. {_PELT_PENALTY:g}")
    if not isinstance(log, (bool, np.bool_)):
        raise InputError("log", log, "not a boolean", "pass True (segment log(loss)) or False (the loss itself)")

    t0, t_end = float(t[0]), float(t[-1])
    if t.size < MIN_POINTS:
        return [Stage("initial plateau", "plateau", t0, t_end, float(loss[0]), float(loss[-1]))]

    from scipy.ndimage import median_filter

    scale = 1.0 if log else float(loss.max())
    y = np.log(loss) if log else loss / scale      # --no-log: the loss itself, in units of its largest value
    # a running median of 5 points removes isolated spikes (one or two points) and leaves monotone stretches as
    # they are, so a clean curve is unchanged except at its turning points
    tg, yg = _grid(t, median_filter(y, _SPIKE_WINDOW, mode="nearest") if t.size >= _NOISE_POINTS else y)
    h = float(tg[1] - tg[0])
    span = t_end - t0
    rho = t.size / span
    nu = _noise(t, y)
    floor = max(h, 0.5 * float(np.median(np.diff(t))))
    cap = max(floor, span / 20)

    def clamp(s: float, hi: float = cap) -> float:
        return min(max(s, floor), hi)

    if smooth is not None:
        if not smooth <= span:
            raise InputError("smooth", smooth, f"is longer than the curve's whole time span {span:.6g}",
                             f"pass a scale below the span (e.g. smooth = {span / 20:.3g}), or leave it out to choose "
                             "it from the noise")
        s_value = s_find = max(smooth, h)
    else:
        s_value = clamp(_scale_for_value(nu, rho, _VALUE_NOISE), cap / 2)
    y_value = _smooth(yg, s_value / h)
    fall = math.log(min_factor) if log else (1 - 1 / min_factor) * max(float(y_value.min()), 0.0)
    d_min = max(min_drop * float(y_value.max() - y_value.min()), fall)
    if smooth is None:
        s_find = clamp(_scale_for_rate(nu, rho, _FIND_NOISE * 4 * d_min / span))

    m = tg.size
    excess_at: dict[float, np.ndarray] = {}

    def edge_excess(scale: float) -> np.ndarray:
        # the extra rate noise near the ends at this scale: measured once per scale (the finder and every location
        # of a side that runs to an end ask for it)
        if scale not in excess_at:
            excess_at[scale] = _edge_rate_excess(t, nu, scale, h)
        return excess_at[scale]

    def find_at(scale: float):
        y_s = _smooth(yg, scale / h)
        r_s = -np.gradient(y_s, h)
        noise = _DROP_SIGNIFICANCE * _value_noise_profile(m, nu, rho, scale, h)
        # the rate noise: larger near the ends of a noisy curve, where the rate is the slope of a line fit
        p_noise = np.full(m, _rate_noise(nu, rho, scale))
        if nu > _PELT_NOISE:
            p_noise += edge_excess(scale)
        return y_s, r_s, _find(r_s, y_s, 0, m - 1, rate_fraction, d_min, noise, p_noise, h, int(round(scale / h)))

    # 1. find the descents: first at the cautious scale, then again at the scale their lowest peak rate allows
    s_cautious = s_find
    y_find, r_find, found = find_at(s_find)
    if smooth is None and found:
        s_again = clamp(_scale_for_rate(nu, rho, _REFIND_NOISE * min(peak for _, _, peak in found)), s_find)
        if s_again < 0.9 * s_find:
            # the finer scale may split what the cautious one merged, not add descents where it found none
            first = found
            s_find = s_again
            y_find, r_find, found = find_at(s_find)
            found = [f for f in found if any(f[0] <= b and a <= f[1] for a, b, _ in first)]
    coarse = found      # disjoint, in time order
    # 1b. the change-point finder: PELT on log(loss) with a noise-calibrated penalty. A rate finder at one scale
    # cannot see a short plateau beside a long noisy one (SGD: a brief initial plateau, a long secondary one);
    # where PELT finds descents (at least as many), they are taken and the boundary scale is kept below half
    # of the shortest plateau it found
    if smooth is None and nu > _PELT_NOISE:
        pelt, _ = _pelt_find(t, y, tg, penalty, d_min)
        if pelt and len(pelt) >= len(coarse):
            coarse = pelt
            edges = [0] + [x for a, b, _ in pelt for x in (a, b)] + [m - 1]
            # a gap at an end shorter than PELT's shortest segment is no plateau the fit found there (the curve
            # ends inside the descent, or noise at the end was taken into it): it sets no scale
            shortest = _PELT_MIN_SIZE * max(1, math.ceil(t.size / _PELT_POINTS)) * span / t.size
            gaps = [(edges[j + 1] - edges[j]) * h for j in range(0, len(edges), 2)
                    if edges[j + 1] > edges[j] and ((0 < j < len(edges) - 2) or (edges[j + 1] - edges[j]) * h
                                                    >= shortest)]
            if gaps:
                s_cautious = max(min(s_cautious, min(gaps) / 2), floor)
                y_find = _smooth(yg, s_cautious / h)
                r_find = -np.gradient(y_find, h)
                s_find = s_cautious

    def locate(r_k: np.ndarray, s_k: float, a: int, b: int, lo: int, hi: int) -> tuple[float, float, bool, bool]:
        """Boundaries of the descent found in ``a..b`` from the rate ``r_k`` at scale ``s_k``, within ``lo..hi``:
        ``(start, end, start is a crossing, end is a crossing)``."""
        i = a + int(np.argmax(r_k[a:b + 1]))
        thr = rate_fraction * float(r_k[i])
        fa, fb, left_cross, right_cross, _ = _grow(r_k[lo:hi + 1], i - lo, thr, _CLIMB * float(r_k[i]))
        # at the ends of the curve the rate is the slope of a line fit, far noisier than inside: a descent that
        # grew to an end of a noisy curve reaches it only where its rate is significantly above the threshold
        # there (else the end is a plateau the noise hid); that side is grown again against the raised level
        at_start = fa == 0 and lo == 0 and not left_cross
        at_end = fb == hi - lo and hi == m - 1 and not right_cross
        if nu > _PELT_NOISE and (at_start or at_end):
            level = thr + _EDGE_SIGNIFICANCE * edge_excess(s_k)[lo:hi + 1]
            ga, gb, g_left, g_right, _ = _grow(r_k[lo:hi + 1], i - lo, level, _CLIMB * float(r_k[i]))
            if at_start:
                fa, left_cross = ga, g_left
            if at_end:
                fb, right_cross = gb, g_right
        fa, fb = fa + lo, fb + lo
        start, end = _edges(r_k, tg, fa, fb, lo, hi, thr)
        # undo the widening by the smoothing itself (exact for a Gaussian-shaped rate pulse)
        widen = 2 * math.log(1 / rate_fraction) * s_k * s_k
        tp = float(tg[i])
        if left_cross:
            start = tp - _narrow(tp - start, widen, h)
        if right_cross:
            end = tp + _narrow(end - tp, widen, h)
        # a crossing within the reach of the straight-line fit at an end of the curve (on a noisy curve) is not
        # trusted for a retry: there the smoothing reflects the curve about a line that may reach back into the
        # descent, and the crossing moves with it
        zone = _fit_length(s_k / h) if nu > _PELT_NOISE else 0
        return start, end, left_cross and fa - 1 >= zone, right_cross and fb + 1 <= m - 1 - zone

    # 2. locate each descent's boundaries at its own scale, inside the gap to its neighbours
    intervals: list[tuple[float, float]] = []
    for k, (a, b, peak) in enumerate(coarse):
        lo = 0 if k == 0 else (coarse[k - 1][1] + a + 1) // 2
        hi = m - 1 if k == len(coarse) - 1 else (b + coarse[k + 1][0] + 1) // 2 - 1
        s_k, y_k, r_k = s_find, y_find, r_find
        if smooth is None:
            for _ in range(3):      # the peak changes with the scale: iterate to the scale it allows
                s_new = clamp(_scale_for_rate(nu, rho, _BOUNDARY_NOISE * peak), s_cautious)
                if abs(s_new - s_k) <= 0.1 * s_k:
                    break
                s_k = s_new
                y_k = _smooth(yg, s_k / h)
                r_k = -np.gradient(y_k, h)
                peak = float(r_k[a:b + 1].max())
        start, end, left_cross, right_cross = locate(r_k, s_k, a, b, lo, hi)
        # a side that ended without its rate falling to the threshold, on a noisy curve, either at an end of the
        # curve or short of a neighbouring descent from which a valley of the rate (by _PROMINENCE below the lower
        # of the two peaks) separates it: the scale is too coarse for the plateau beside it (two descents a few
        # scales apart blur into one; a line fit at an end that reaches back into the descent keeps its rate up
        # to the end). That side is located again at finer scales, down to the floor, and takes the coarsest at
        # which it crosses the threshold; if none does, it stays as is. A side that stops short of a neighbour
        # without such a valley (a descent that the change-point fit cut in two) stays, and the two are joined
        def separate(j: int) -> bool:
            if not 0 <= j < len(coarse):
                return True     # the end of the curve
            i = a + int(np.argmax(r_k[a:b + 1]))
            a2, b2, _ = coarse[j]
            other = float(r_k[a2:b2 + 1].max())
            between = r_k[b2:i + 1] if j < k else r_k[i:a2 + 1]
            return float(between.min()) * _PROMINENCE < min(other, float(r_k[i]))

        retry_left, retry_right = not left_cross and separate(k - 1), not right_cross and separate(k + 1)
        s_try = s_k
        for _ in range(_RETRY_STEPS if smooth is None and nu > _PELT_NOISE else 0):
            if not (retry_left or retry_right) or s_try <= floor:
                break
            s_try = max(_RETRY_SCALE * s_try, floor)
            start_t, end_t, left_t, right_t = locate(-np.gradient(_smooth(yg, s_try / h), h), s_try, a, b, lo, hi)
            if retry_left and left_t:
                start, retry_left = start_t, False
            if retry_right and right_t:
                end, retry_right = end_t, False
        intervals.append((start, end))
    intervals = [(s, e) for s, e in _merge(intervals, h) if e > s]

    def value(x: float) -> float:
        v = float(np.interp(x, tg, y_value))
        return float(np.exp(v)) if log else v * scale

    stages: list[Stage] = []
    cursor = t0
    for k, (s, e) in enumerate(intervals):
        s, e = max(s, cursor), min(max(e, s), t_end)
        if s > cursor:
            stages.append(Stage(_plateau_name(k), "plateau", cursor, s, value(cursor), value(s)))
        stages.append(Stage(_descent_name(k + 1), "descent", s, e, value(s), value(e)))
        cursor = e
    if cursor < t_end or not stages:
        stages.append(Stage(_plateau_name(len(intervals)), "plateau", cursor, t_end, value(cursor), value(t_end)))
    return stages


def read_curve(path, column: str = "loss", time: str = "t", notify: Callable[[str], None] | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
    """Read ``(t, loss)`` from a CSV file with a header row (as ``python -m verify simulate`` writes).

    ``column`` names the loss column. ``time`` names the time column; ``"step"``, when the file has no column of
    that name, means the row index ``0, 1, ..., N-1``. Blank lines are skipped. A loss that is not a finite number
    from some row to the end (a run that diverged; ``simulate`` writes nan as an empty cell) ends the curve at the
    last finite row, and ``notify`` is told so; any other cell of the two columns that is not a finite number is
    an :class:`InputError` naming its line, as is a missing column (the message lists the available ones).
    """
    t, loss, _ = _read(Path(path), column, time, notify)
    return t, loss


def _read(path: Path, column: str, time: str, notify: Callable[[str], None] | None = None
          ) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """:func:`read_curve`, also returning the file line of each point."""
    try:
        info = path.stat()
        if path.exists() and not path.is_dir() and not path.is_file():
            raise InputError("FILE", str(path), "not a regular file (a device, pipe or socket)", "pass a CSV file")
        if info.st_size > MAX_FILE_BYTES:
            raise InputError("FILE", str(path), f"{info.st_size / 2**20:.0f} MiB, more than the "
                             f"{MAX_FILE_BYTES // 2**20} MiB a loss curve is read up to",
                             f"thin the curve (e.g. every 10th row) to under {MAX_ROWS} rows")
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = []
            for i, row in enumerate(csv.reader(fh), start=1):
                if len(row) > MAX_COLUMNS:
                    raise InputError("FILE", str(path), f"line {i} has {len(row)} columns, more than {MAX_COLUMNS}",
                                     "keep the time and loss columns (e.g. cut -d, -f1,2)")
                if any(c.strip() for c in row):
                    rows.append((i, row))
                    if len(rows) > MAX_ROWS + 1:
                        raise InputError("FILE", str(path), f"more than {MAX_ROWS} rows",
                                         f"thin the curve (e.g. every 10th row) to under {MAX_ROWS} rows")
    except FileNotFoundError:
        raise InputError("FILE", str(path), "no such file", "pass the path of a CSV file") from None
    except IsADirectoryError:
        raise InputError("FILE", str(path), "a directory, not a file", "pass the path of a CSV file") from None
    except UnicodeDecodeError:
        raise InputError("FILE", str(path), "not a text (UTF-8) file", "pass a CSV file") from None
    except (OSError, csv.Error) as exc:
        raise InputError("FILE", str(path), f"cannot be read ({exc})", "pass a readable CSV file") from None
    if not rows:
        raise InputError("FILE", str(path), "empty", "pass a CSV file with a header row and one row per time")
    header = [c.strip() for c in rows[0][1]]
    data = rows[1:]
    listed = ", ".join(header)
    hint = ""
    if all(_is_number(c) for c in header):
        hint = " (the first row is numbers: the file needs a header row naming the columns)"
    elif len(header) == 1 and ("\t" in header[0] or ";" in header[0]):
        sep, char = ("tabs", "\\t") if "\t" in header[0] else ("semicolons", ";")
        hint = (f" (the header is one cell holding {sep}: the columns must be separated by commas; convert the "
                f"file, e.g. with tr '{char}' ',' < {path.name} > {path.stem}.comma.csv)")
    if column not in header:
        raise InputError("--column", column, f"no such column in {path}{hint}", f"choose one of: {listed}")
    if time not in header and time != "step":
        raise InputError("--time", time, f"no such column in {path}{hint}",
                         f"choose one of: {listed}; or 'step' for the row index")
    if not data:
        raise InputError("FILE", str(path), "has a header but no data rows", "pass the whole loss curve")

    def cells(name: str) -> tuple[np.ndarray, list[str]]:
        j = header.index(name)
        out, raw = np.empty(len(data)), []
        for k, (line, row) in enumerate(data):
            cell = row[j].strip() if j < len(row) else None      # None: the row has no such cell at all
            raw.append(cell)
            cell = cell or ""
            try:
                out[k] = float(cell)
            except ValueError:
                out[k] = math.nan
        return out, raw

    def refuse(values: np.ndarray, raw: list[str], name: str) -> None:
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            k = int(bad[0])
            raise InputError(f"{path} line {data[k][0]}, column {name!r}", raw[k] if raw[k] is not None else "",
                             "not a finite number",
                             "fill in or delete that row (an empty cell is a nan written by simulate)")

    loss, raw_loss = cells(column)
    finite = np.isfinite(loss)
    # a missing value (an empty cell, nan, inf) from some row to the end, with at least two points before it: a
    # run that stopped there (text that is not a number, or a row without the cell, stays an error)
    missing = ~finite & np.array([c is not None and (c == "" or _is_number(c)) for c in raw_loss])
    keep = len(data)
    if not finite.all():
        first = int(np.argmin(finite))
        if first >= 2 and missing[first:].all():
            keep = first
            if notify is not None:
                notify(f"note: the curve ends at line {data[first - 1][0]}: from line {data[first][0]} on, "
                       f"column {column!r} is not a finite number ({len(data) - first} rows, a diverged run?)")
    data, loss, raw_loss = data[:keep], loss[:keep], raw_loss[:keep]
    refuse(loss, raw_loss, column)
    if time in header:
        t, raw_t = cells(time)
        refuse(t, raw_t, time)
    else:
        t = np.arange(len(data), dtype=float)
    return t, loss, [line for line, _ in data]


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


# ---------------------------------------------------------------------------------------------- command line

def add_parser(subparsers):
    """Add the ``stages`` subcommand to ``subparsers`` (from ``ArgumentParser.add_subparsers``); return it."""
    p = subparsers.add_parser("stages", help="split a loss curve (CSV) into plateaus and descents",
                              description="Split a loss curve into plateaus and descents. A descent starts (ends) "
                                          "where the descent rate -d log(loss)/dt (smoothed, corrected for the "
                                          "smoothing) falls to 10 percent of its peak rate; plateaus are the gaps.")
    p.add_argument("file", metavar="FILE", help="CSV file with a header row (e.g. trajectory.csv from simulate)")
    p.add_argument("--column", default="loss", help="loss column (default loss)")
    p.add_argument("--time", default="t",
                   help="time column (default t); 'step' means the row index when there is no such column")
    p.add_argument("--out", help="directory for <stem>_stages.png (default: no plot is written)")
    p.add_argument("--smooth", default=None, metavar="S",
                   help="one Gaussian smoothing scale in time units for everything (default: chosen from the noise)")
    p.add_argument("--penalty", default=None, metavar="C",
                   help=f"PELT penalty per change point in units of sigma^2 log(n) (default {_PELT_PENALTY:g}; "
                        "larger finds fewer descents)")
    p.add_argument("--log", action=argparse.BooleanOptionalAction, default=True,
                   help="segment log(loss) (default); --no-log segments the loss itself")
    p.add_argument("--json", action="store_true", help="machine-readable JSON on standard output")
    p.set_defaults(func=cmd_stages)
    return p


def _format_table(stages: list[Stage]) -> str:
    lines = [f"  {'stage':<18} {'kind':<8} {'start':>12} {'end':>12} {'loss start':>12} {'loss end':>12}"]
    for s in stages:
        lines.append(f"  {s.name:<18} {s.kind:<8} {s.start:>12.6g} {s.end:>12.6g} "
                     f"{s.loss_start:>12.6g} {s.loss_end:>12.6g}")
    return "\n".join(lines)


def cmd_stages(args) -> int:
    """``python -m verify stages FILE``: print the stages (table or JSON), write ``<stem>_stages.png``; return 0."""
    from .report.figures import loss_figure

    path = Path(args.file)
    options = {"log": bool(getattr(args, "log", True))}
    if getattr(args, "smooth", None) is not None:
        options["smooth"] = _check_option("--smooth", args.smooth, lambda v: v > 0,
                                          "pass a time scale > 0 in the units of the time column, e.g. --smooth 50")
    if getattr(args, "penalty", None) is not None:
        options["penalty"] = _check_option("--penalty", args.penalty, lambda v: v > 0,
                                           f"pass a number > 0, e.g. --penalty {_PELT_PENALTY:g} (larger: fewer "
                                           "descents)")
    t, loss, lines = _read(path, args.column, args.time, notify=lambda msg: print(msg, file=sys.stderr))
    try:
        stages = detect_stages(t, loss, **options)
    except InputError as exc:       # name the file line rather than the array index
        match = re.fullmatch(r"(t|loss)\[(\d+)\]", exc.field)
        if not match:
            raise
        column = args.column if match.group(1) == "loss" else args.time
        field = f"{path} line {lines[int(match.group(2))]}, column {column!r}"
        raise InputError(field, exc.value, exc.problem, exc.fix) from None
    written = None
    if getattr(args, "out", None):          # the plot only where asked: never a file beside the user's data
        out_dir = Path(args.out)
        png = out_dir / f"{path.stem}_stages.png"
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
            written = loss_figure(t, loss, {s.name: (s.start, s.end) for s in stages}, png,
                                  title=f"{path.name}: {args.column} against {args.time}, {len(stages)} stage(s)",
                                  xlabel=args.time, ylabel=args.column)
        except OSError as exc:
            raise InputError("--out", str(out_dir), f"cannot write the plot there ({exc.strerror or exc})",
                             "pass a writable directory") from None
    if getattr(args, "json", False):
        print(json.dumps({"file": str(path), "column": args.column, "time": args.time, "points": int(t.size),
                          "stages": [s.as_json() for s in stages], "plot": written}, indent=2))
    else:
        print(f"{path}: {t.size} points, {len(stages)} stage(s)")
        print(_format_table(stages))
        print(f"wrote {written}" if written else "no plot written (give --out DIR for <stem>_stages.png)")
    return 0
