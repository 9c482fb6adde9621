"""The statistics claims share: fitted slopes with intervals, binomial intervals, and the judging rules."""
from __future__ import annotations

import math

import numpy as np
from scipy import stats

from .registry import Status, key_number

__all__ = ["wilson_interval", "fraction_status", "judge", "fit_slope", "fraction_margin", "fraction_key",
           "band_margin"]


def wilson_interval(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion."""
    if trials == 0:
        return (0.0, 1.0)
    zq = stats.norm.ppf(0.5 + confidence / 2)
    phat = successes / trials
    denom = 1 + zq**2 / trials
    centre = (phat + zq**2 / (2 * trials)) / denom
    half = zq * math.sqrt(phat * (1 - phat) / trials + zq**2 / (4 * trials**2)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def fraction_status(successes: int, trials: int) -> tuple[Status, list]:
    """Verdict of a probabilistic claim from the fraction of seeds that satisfy it.

    ``passed`` when the 95 % Wilson interval lies above 1/2 ("with high
    probability" read as "in most initialisations"), ``failed`` when it lies
    below, ``inconclusive`` otherwise; returns the status and the interval.
    """
    lo, hi = wilson_interval(successes, trials)
    status = Status.PASSED if lo >= 0.5 else Status.FAILED if hi < 0.5 else Status.INCONCLUSIVE
    return status, [lo, hi]


def judge(fit: dict, band) -> Status:
    """``passed`` if the fitted slope lies in ``band``; ``failed`` if its whole confidence interval lies
    outside the band; ``inconclusive`` otherwise (the data cannot tell)."""
    lo, hi = (-math.inf if band[0] is None else band[0]), (math.inf if band[1] is None else band[1])
    if lo <= fit["slope"] <= hi:
        return Status.PASSED
    ci_lo, ci_hi = fit["interval"]
    return Status.FAILED if ci_hi < lo or ci_lo > hi else Status.INCONCLUSIVE


def fit_slope(x, y, confidence: float = 0.95) -> dict:
    """Least-squares slope of ``y`` on ``x`` with a t-based confidence interval."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    res = stats.linregress(x, y)
    dof = len(x) - 2
    half = float(stats.t.ppf(0.5 + confidence / 2, dof) * res.stderr) if dof > 0 else float("inf")
    return {"slope": float(res.slope), "intercept": float(res.intercept), "stderr": float(res.stderr),
            "interval": [float(res.slope - half), float(res.slope + half)], "confidence": confidence,
            "points": len(x)}


def fraction_margin(interval) -> float:
    """The used fraction of a claim judged by :func:`fraction_status`: ``(1 - lo) / (1 - 1/2)`` with ``lo`` the
    lower end of the Wilson interval, below 1 exactly when ``lo`` is above 1/2 (the claim passes)."""
    return (1.0 - float(interval[0])) / 0.5


def fraction_key(criterion: str, successes: int, trials: int, interval, status, worst: str | None = None) -> dict:
    """The key number of a claim judged by :func:`fraction_status`: the fraction of seeds meeting ``criterion``
    (e.g. ``"|R - R*| <= 0.001"``), the margin of :func:`fraction_margin` and, when the claim did not pass,
    why (``worst``, e.g. ``"the worst seed is 0.02 from R*"``, appended).  The key's ``interval`` is the Wilson
    interval and its ``band`` ``[1/2, 1]``: the claim passes when the whole interval lies in the band."""
    lo, hi = (float(x) for x in interval)
    why = None
    if Status(status) is Status.FAILED:
        why = (f"only {successes} of {trials} seeds have {criterion}: the 95 % Wilson interval "
               f"[{lo:.2f}, {hi:.2f}] lies below 1/2")
    elif Status(status) is Status.INCONCLUSIVE:
        why = (f"{successes} of {trials} seeds have {criterion}: the 95 % Wilson interval [{lo:.2f}, {hi:.2f}] "
               "straddles 1/2, too few seeds to decide")
    if why and worst:
        why += "; " + worst
    return key_number(f"fraction of seeds with {criterion}", successes / trials if trials else None, None,
                      fraction_margin(interval), why, interval=[lo, hi], band=[0.5, 1.0])


def band_margin(value: float, band) -> float:
    """``|value - centre| / half-width`` of a two-sided band ``[lo, hi]``: below 1 inside the band."""
    lo, hi = float(band[0]), float(band[1])
    return abs(float(value) - (lo + hi) / 2) / ((hi - lo) / 2)
