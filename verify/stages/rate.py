"""The rate finder: descents grown from the peaks of the smoothed descent rate, and their boundaries between grid
points (the specification in docs/stages.md)."""
from __future__ import annotations

import math

import numpy as np

from .params import _CLIMB, _PROMINENCE, _SIGNIFICANCE


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
