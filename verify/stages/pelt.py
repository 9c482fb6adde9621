"""The change-point finder of noisy curves: PELT (``ruptures``) as a piecewise-linear fit of block means (the
specification in docs/stages.md)."""
from __future__ import annotations

import math

import numpy as np

from .params import _DRIFT, _PELT_FLANK, _PELT_MIN_SIZE, _PELT_POINTS, _PROMINENCE


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
