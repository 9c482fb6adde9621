"""The stage detector: :func:`detect_stages` splits a loss curve into plateaus and descents, as the specification in
docs/stages.md defines them, in named steps: check the inputs, prepare the curve (the uniform grid, the noise,
the scales), find the descents (the rate finder at two scales, then PELT on a noisy curve), locate each descent's
boundaries at its own scale (again at finer scales where a side did not cross its threshold), and tile the time
axis into stages."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np

from theory.errors import InputError

from .params import (_BOUNDARY_NOISE, _CLIMB, _DROP_SIGNIFICANCE, _EDGE_SIGNIFICANCE, _FIND_NOISE, _NOISE_POINTS,
                     _PELT_MIN_SIZE, _PELT_NOISE, _PELT_PENALTY, _PELT_POINTS, _PROMINENCE, _REFIND_NOISE,
                     _RETRY_SCALE, _RETRY_STEPS, _SPIKE_WINDOW, _VALUE_NOISE, MIN_POINTS)
from .pelt import _pelt_find
from .rate import _edges, _find, _grow, _merge, _narrow
from .smoothing import (_edge_rate_excess, _fit_length, _grid, _noise, _rate_noise, _scale_for_rate,
                        _scale_for_value, _smooth, _value_noise_profile)

__all__ = ["Stage", "detect_stages"]


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


def _plateau_name(k: int) -> str:
    return {0: "initial plateau", 1: "secondary plateau"}.get(k, f"plateau {k + 1}")


def _descent_name(k: int) -> str:
    return "descent" if k == 1 else f"descent {k}"




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

    The boundaries are exactly those of the specification (docs/stages.md): **a descent starts (ends) where
    the descent rate ``-d log(loss)/dt``, smoothed and corrected for the widening by the smoothing, crosses
    ``rate_fraction`` (10 %) of that descent's peak rate**; plateaus are the gaps.

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

    if t.size < MIN_POINTS:
        return [Stage("initial plateau", "plateau", float(t[0]), float(t[-1]), float(loss[0]), float(loss[-1]))]
    curve = _Curve.prepare(t, loss, log=log, smooth=smooth, min_drop=min_drop, min_factor=min_factor,
                           rate_fraction=rate_fraction)
    found = _find_descents(curve)
    if smooth is None and curve.nu > _PELT_NOISE:
        found = _change_points(curve, found, penalty)
    intervals = [_locate_descent(curve, found, k) for k in range(len(found.coarse))]
    intervals = [(s, e) for s, e in _merge(intervals, curve.h) if e > s]
    return _tile(curve, intervals)


@dataclass
class _Curve:
    """A curve prepared for detection: the samples ``t``, ``y`` (``log(loss)``, or the loss in units of ``scale``),
    the uniform grid ``tg`` (step ``h``, ``m`` points) with ``yg`` on it (spikes removed), the noise ``nu`` and the
    sample density ``rho``, the bounds ``floor`` and ``cap`` of every automatic scale, the smallest drop ``d_min``,
    the values at the value scale (``y_value``, for the losses at the boundaries) and the first finding scale
    ``s_find``."""
    t: np.ndarray
    y: np.ndarray
    log: bool
    scale: float
    smooth: float | None
    rate_fraction: float
    tg: np.ndarray
    yg: np.ndarray
    h: float
    span: float
    rho: float
    nu: float
    floor: float
    cap: float
    y_value: np.ndarray | None = None
    d_min: float = 0.0
    s_find: float = 0.0
    excess_at: dict = field(default_factory=dict)

    @property
    def m(self) -> int:
        return self.tg.size

    @classmethod
    def prepare(cls, t: np.ndarray, loss: np.ndarray, *, log: bool, smooth: float | None, min_drop: float,
                min_factor: float, rate_fraction: float) -> "_Curve":
        """Grid, noise and scales of the checked curve ``(t, loss)`` (at least :data:`MIN_POINTS` points)."""
        from scipy.ndimage import median_filter

        scale = 1.0 if log else float(loss.max())
        y = np.log(loss) if log else loss / scale      # --no-log: the loss itself, in units of its largest value
        # a running median of 5 points removes isolated spikes (one or two points) and leaves monotone stretches as
        # they are, so a clean curve is unchanged except at its turning points
        tg, yg = _grid(t, median_filter(y, _SPIKE_WINDOW, mode="nearest") if t.size >= _NOISE_POINTS else y)
        h = float(tg[1] - tg[0])
        span = float(t[-1]) - float(t[0])
        floor = max(h, 0.5 * float(np.median(np.diff(t))))
        c = cls(t=t, y=y, log=log, scale=scale, smooth=smooth, rate_fraction=rate_fraction, tg=tg, yg=yg, h=h,
                span=span, rho=t.size / span, nu=_noise(t, y), floor=floor, cap=max(floor, span / 20))
        if smooth is not None:
            if not smooth <= span:
                raise InputError("smooth", smooth, f"is longer than the curve's whole time span {span:.6g}",
                                 f"pass a scale below the span (e.g. smooth = {span / 20:.3g}), or leave it out to "
                                 "choose it from the noise")
            s_value = c.s_find = max(smooth, h)
        else:
            s_value = c.clamp(_scale_for_value(c.nu, c.rho, _VALUE_NOISE), c.cap / 2)
        c.y_value = _smooth(yg, s_value / h)
        fall = math.log(min_factor) if log else (1 - 1 / min_factor) * max(float(c.y_value.min()), 0.0)
        c.d_min = max(min_drop * float(c.y_value.max() - c.y_value.min()), fall)
        if smooth is None:
            c.s_find = c.clamp(_scale_for_rate(c.nu, c.rho, _FIND_NOISE * 4 * c.d_min / span))
        return c

    def clamp(self, s: float, hi: float | None = None) -> float:
        """``s`` kept between the floor and ``hi`` (default the cap)."""
        return min(max(s, self.floor), self.cap if hi is None else hi)

    def smoothed(self, scale: float) -> tuple[np.ndarray, np.ndarray]:
        """``y`` on the grid smoothed at ``scale`` (time) and its descent rate."""
        y_s = _smooth(self.yg, scale / self.h)
        return y_s, -np.gradient(y_s, self.h)

    def edge_excess(self, scale: float) -> np.ndarray:
        """The extra rate noise near the ends at this scale: measured once per scale (the finder and every location
        of a side that runs to an end ask for it)."""
        if scale not in self.excess_at:
            self.excess_at[scale] = _edge_rate_excess(self.t, self.nu, scale, self.h)
        return self.excess_at[scale]

    def find_at(self, scale: float):
        """The rate finder at ``scale``: ``(y smoothed, its rate, [(a, b, peak), ...])``."""
        y_s, r_s = self.smoothed(scale)
        m = self.m
        noise = _DROP_SIGNIFICANCE * _value_noise_profile(m, self.nu, self.rho, scale, self.h)
        # the rate noise: larger near the ends of a noisy curve, where the rate is the slope of a line fit
        p_noise = np.full(m, _rate_noise(self.nu, self.rho, scale))
        if self.nu > _PELT_NOISE:
            p_noise += self.edge_excess(scale)
        return y_s, r_s, _find(r_s, y_s, 0, m - 1, self.rate_fraction, self.d_min, noise, p_noise, self.h,
                               int(round(scale / self.h)))

    def locate(self, r_k: np.ndarray, s_k: float, a: int, b: int, lo: int, hi: int) -> tuple[float, float, bool, bool]:
        """Boundaries of the descent found in ``a..b`` from the rate ``r_k`` at scale ``s_k``, within ``lo..hi``:
        ``(start, end, start is a crossing, end is a crossing)``."""
        m, h, tg = self.m, self.h, self.tg
        i = a + int(np.argmax(r_k[a:b + 1]))
        thr = self.rate_fraction * float(r_k[i])
        fa, fb, left_cross, right_cross, _ = _grow(r_k[lo:hi + 1], i - lo, thr, _CLIMB * float(r_k[i]))
        # at the ends of the curve the rate is the slope of a line fit, far noisier than inside: a descent that
        # grew to an end of a noisy curve reaches it only where its rate is significantly above the threshold
        # there (else the end is a plateau the noise hid); that side is grown again against the raised level
        at_start = fa == 0 and lo == 0 and not left_cross
        at_end = fb == hi - lo and hi == m - 1 and not right_cross
        if self.nu > _PELT_NOISE and (at_start or at_end):
            level = thr + _EDGE_SIGNIFICANCE * self.edge_excess(s_k)[lo:hi + 1]
            ga, gb, g_left, g_right, _ = _grow(r_k[lo:hi + 1], i - lo, level, _CLIMB * float(r_k[i]))
            if at_start:
                fa, left_cross = ga, g_left
            if at_end:
                fb, right_cross = gb, g_right
        fa, fb = fa + lo, fb + lo
        start, end = _edges(r_k, tg, fa, fb, lo, hi, thr)
        # undo the widening by the smoothing itself (exact for a Gaussian-shaped rate pulse)
        widen = 2 * math.log(1 / self.rate_fraction) * s_k * s_k
        tp = float(tg[i])
        if left_cross:
            start = tp - _narrow(tp - start, widen, h)
        if right_cross:
            end = tp + _narrow(end - tp, widen, h)
        # a crossing within the reach of the straight-line fit at an end of the curve (on a noisy curve) is not
        # trusted for a retry: there the smoothing reflects the curve about a line that may reach back into the
        # descent, and the crossing moves with it
        zone = _fit_length(s_k / h) if self.nu > _PELT_NOISE else 0
        return start, end, left_cross and fa - 1 >= zone, right_cross and fb + 1 <= m - 1 - zone

    def value(self, x: float) -> float:
        """The loss at time ``x``, smoothed at the value scale."""
        v = float(np.interp(x, self.tg, self.y_value))
        return float(np.exp(v)) if self.log else v * self.scale


@dataclass
class _Found:
    """The descents found (``coarse``: disjoint ``(a, b, peak)`` in grid indices, in time order), the scale they
    were found at with the descent rate there, and the cautious scale that bounds every boundary scale."""
    coarse: list
    s_find: float
    r_find: np.ndarray
    s_cautious: float


def _find_descents(c: _Curve) -> _Found:
    """Step 1: find the descents, first at the cautious scale, then again at the scale their lowest peak rate
    allows (which may split what the cautious one merged, not add descents where it found none)."""
    s_find = s_cautious = c.s_find
    _, r_find, found = c.find_at(s_find)
    if c.smooth is None and found:
        s_again = c.clamp(_scale_for_rate(c.nu, c.rho, _REFIND_NOISE * min(peak for _, _, peak in found)), s_find)
        if s_again < 0.9 * s_find:
            first = found
            s_find = s_again
            _, r_find, found = c.find_at(s_find)
            found = [f for f in found if any(f[0] <= b and a <= f[1] for a, b, _ in first)]
    return _Found(found, s_find, r_find, s_cautious)


def _change_points(c: _Curve, found: _Found, penalty: float) -> _Found:
    """Step 1b (a noisy curve, automatic scales): the change-point finder, PELT on ``y`` with a noise-calibrated
    penalty. A rate finder at one scale cannot see a short plateau beside a long noisy one (SGD: a brief initial
    plateau, a long secondary one); where PELT finds descents (at least as many), they are taken and the boundary
    scale is kept below half of the shortest plateau it found."""
    pelt, _ = _pelt_find(c.t, c.y, c.tg, penalty, c.d_min)
    if not (pelt and len(pelt) >= len(found.coarse)):
        return found
    found = _Found(pelt, found.s_find, found.r_find, found.s_cautious)
    edges = [0] + [x for a, b, _ in pelt for x in (a, b)] + [c.m - 1]
    # a gap at an end shorter than PELT's shortest segment is no plateau the fit found there (the curve ends
    # inside the descent, or noise at the end was taken into it): it sets no scale
    n = c.t.size
    shortest = _PELT_MIN_SIZE * max(1, math.ceil(n / _PELT_POINTS)) * c.span / n
    gaps = [(edges[j + 1] - edges[j]) * c.h for j in range(0, len(edges), 2)
            if edges[j + 1] > edges[j] and ((0 < j < len(edges) - 2) or (edges[j + 1] - edges[j]) * c.h
                                            >= shortest)]
    if gaps:
        s_cautious = max(min(found.s_cautious, min(gaps) / 2), c.floor)
        _, r_find = c.smoothed(s_cautious)
        found = _Found(pelt, s_cautious, r_find, s_cautious)
    return found


def _locate_descent(c: _Curve, found: _Found, k: int) -> tuple[float, float]:
    """Step 2: the boundaries of descent ``k`` at its own scale, inside the gap to its neighbours; a side that did
    not cross its threshold on a noisy curve is located again at finer scales where that is warranted."""
    coarse = found.coarse
    a, b, peak = coarse[k]
    m = c.m
    lo = 0 if k == 0 else (coarse[k - 1][1] + a + 1) // 2
    hi = m - 1 if k == len(coarse) - 1 else (b + coarse[k + 1][0] + 1) // 2 - 1
    s_k, r_k = found.s_find, found.r_find
    if c.smooth is None:
        for _ in range(3):      # the peak changes with the scale: iterate to the scale it allows
            s_new = c.clamp(_scale_for_rate(c.nu, c.rho, _BOUNDARY_NOISE * peak), found.s_cautious)
            if abs(s_new - s_k) <= 0.1 * s_k:
                break
            s_k = s_new
            _, r_k = c.smoothed(s_k)
            peak = float(r_k[a:b + 1].max())
    start, end, left_cross, right_cross = c.locate(r_k, s_k, a, b, lo, hi)
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
    for _ in range(_RETRY_STEPS if c.smooth is None and c.nu > _PELT_NOISE else 0):
        if not (retry_left or retry_right) or s_try <= c.floor:
            break
        s_try = max(_RETRY_SCALE * s_try, c.floor)
        start_t, end_t, left_t, right_t = c.locate(c.smoothed(s_try)[1], s_try, a, b, lo, hi)
        if retry_left and left_t:
            start, retry_left = start_t, False
        if retry_right and right_t:
            end, retry_right = end_t, False
    return start, end


def _tile(c: _Curve, intervals: list[tuple[float, float]]) -> list[Stage]:
    """Step 3: the stages: the descents (merged, disjoint intervals in time order) and the plateaus between and
    beside them, named in time order, tiling ``[t0, t_end]``."""
    t0, t_end = float(c.t[0]), float(c.t[-1])
    stages: list[Stage] = []
    cursor = t0
    for k, (s, e) in enumerate(intervals):
        s, e = max(s, cursor), min(max(e, s), t_end)
        if s > cursor:
            stages.append(Stage(_plateau_name(k), "plateau", cursor, s, c.value(cursor), c.value(s)))
        stages.append(Stage(_descent_name(k + 1), "descent", s, e, c.value(s), c.value(e)))
        cursor = e
    if cursor < t_end or not stages:
        stages.append(Stage(_plateau_name(len(intervals)), "plateau", cursor, t_end, c.value(cursor),
                            c.value(t_end)))
    return stages
