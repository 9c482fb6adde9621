"""What Q3's post-cut claims measure on a run through learning-rate cuts: end-of-phase windows, the rise of
lambda_max across a cut, the pre-cut trend of the loss and the talk's preconditions (no PyTorch: plain arrays).

The talk's statements about what happens at a cut presuppose a training loss that is stationary and above zero
before the cut (SGD at a noise floor, not a memorised or converged fit).  :func:`preconditions` measures both on
the measurements of the last quarter of a phase:

* above zero: the mean loss there is at least :data:`ABOVE_ZERO` of ``log(classes)`` (the loss of a uniform
  prediction; a network that memorised its labels sits far below), and, where the training accuracy is known,
  the accuracy is below :data:`MEMORISED` (a fit of every label);
* stationary: the straight line fitted to the loss there (least squares on the step) changes by less than
  :data:`DRIFT` of the mean loss over the quarter, or its 95 % interval reaches that band (a noisy plateau
  whose drift the data cannot resolve counts as stationary; a resolved drift beyond 10 % does not).

The limits are fixed before measuring: 10 % of a uniform prediction's loss is 0.23 nats for ten classes,
between the memorised set-up's 0.037 and the noisy-label set-up's 0.35-0.8; a drift of 10 % over a quarter of
a phase is an order of magnitude below the talk's cliffs (a factor 2 to 4 in the loss).
"""
from __future__ import annotations

import math

import numpy as np
from scipy import stats

from theory.errors import InputError

__all__ = ["ABOVE_ZERO", "MEMORISED", "DRIFT", "QUARTER", "window", "welch_rise", "trend", "fall_below_trend",
           "plateau", "preconditions"]

#: "above zero": the plateau's mean loss at least this fraction of log(classes)
ABOVE_ZERO = 0.1
#: "memorised": a training accuracy at or above this
MEMORISED = 0.99
#: "stationary": a fitted change over the last quarter of a phase below this fraction of the plateau's mean
DRIFT = 0.1
#: the part of a phase (its end) on which the preconditions and the pre-cut trend are measured
QUARTER = 0.25


def window(values) -> dict:
    """Mean, sample standard deviation, count and standard error of the mean of ``values``."""
    v = np.asarray(values, float)
    if v.size < 2:
        raise InputError("values", v.tolist(), "need at least two measurements", "measure the window more often")
    sd = float(v.std(ddof=1))
    return {"mean": float(v.mean()), "sd": sd, "n": int(v.size), "se": sd / math.sqrt(v.size)}


def welch_rise(before, after, confidence: float = 0.95) -> dict:
    """``mean(after) - mean(before)`` with its Welch t interval (unequal variances, Welch-Satterthwaite degrees
    of freedom).  Two windows without spread give a zero-width interval."""
    b, a = window(before), window(after)
    diff = a["mean"] - b["mean"]
    var = b["se"] ** 2 + a["se"] ** 2
    if var == 0:
        return {"rise": diff, "interval": [diff, diff], "dof": math.inf, "before": b, "after": a}
    dof = var ** 2 / (b["se"] ** 4 / (b["n"] - 1) + a["se"] ** 4 / (a["n"] - 1))
    half = float(stats.t.ppf(0.5 + confidence / 2, dof)) * math.sqrt(var)
    return {"rise": diff, "interval": [diff - half, diff + half], "dof": float(dof), "before": b, "after": a}


def trend(steps, values, at: float, confidence: float = 0.95) -> dict:
    """The least-squares line of ``values`` on ``steps``: its slope with a t interval, and at step ``at`` its
    value, the standard error of that value (``s sqrt(1/n + (at - mean)^2 / Sxx)``, ``n - 2`` degrees of freedom)
    and the ``confidence`` prediction interval of one more measurement (``t s sqrt(1 + 1/n + (at - mean)^2 /
    Sxx)``)."""
    x, y = np.asarray(steps, float), np.asarray(values, float)
    n = x.size
    if n < 3:
        raise InputError("steps", x.tolist(), "need at least three measurements for a line with an interval",
                         "measure the end of the phase more often")
    res = stats.linregress(x, y)
    resid = y - (res.intercept + res.slope * x)
    s = math.sqrt(float(resid @ resid) / (n - 2))
    sxx = float(((x - x.mean()) ** 2).sum())
    t = float(stats.t.ppf(0.5 + confidence / 2, n - 2))
    value = float(res.intercept + res.slope * at)
    half = t * s * math.sqrt(1 + 1 / n + (at - x.mean()) ** 2 / sxx)
    slope_half = t * float(res.stderr)
    return {"slope": float(res.slope), "slope_interval": [float(res.slope) - slope_half, float(res.slope) + slope_half],
            "at": float(at), "value": value, "value_se": s * math.sqrt(1 / n + (at - x.mean()) ** 2 / sxx),
            "prediction_interval": [value - half, value + half], "residual_sd": s, "points": int(n)}


def plateau(steps, lo: int, hi: int) -> np.ndarray:
    """The mask of the measurements ``steps`` in the last :data:`QUARTER` of the phase ``(lo, hi]``."""
    steps = np.asarray(steps, float)
    return (steps > lo) & (steps >= hi - QUARTER * (hi - lo)) & (steps <= hi)


def fall_below_trend(steps, loss, lo: int, hi: int, after, confidence: float = 0.95) -> dict:
    """How far the loss over the after-cut window (the measurement steps ``after``) lies below the pre-cut trend,
    with its Welch interval.

    The pre-cut trend is measured on the last quarter of the phase ``(lo, hi]``: where the fitted line's slope
    is resolved (its 95 % interval excludes 0), the line (:func:`trend`) evaluated at the window's mean step,
    with its standard error there (``n - 2`` degrees of freedom), so that a drift already under way is not taken
    for a cliff; otherwise the plateau's mean with its standard error (``n - 1``), since extrapolating an
    unresolved slope only adds its noise.  The fall is that value minus the window's mean loss; its interval
    combines the two standard errors (Welch-Satterthwaite)."""
    steps, loss = np.asarray(steps, float), np.asarray(loss, float)
    sel = plateau(steps, lo, hi)
    idx = np.searchsorted(steps, np.asarray(after, float))
    if len(idx) < 2 or not np.array_equal(steps[idx], np.asarray(after, float)):
        raise InputError("after", list(after), "must be at least two measured steps", "measure the window")
    at = float(np.mean(steps[idx]))
    line = trend(steps[sel], loss[sel], at)
    drifting = line["slope_interval"][0] > 0 or line["slope_interval"][1] < 0
    if drifting:
        model, value, se, dof_model = "line", line["value"], line["value_se"], line["points"] - 2
    else:
        flat = window(loss[sel])
        model, value, se, dof_model = "mean", flat["mean"], flat["se"], flat["n"] - 1
    w = window(loss[idx])
    fall = value - w["mean"]
    parts = [(se, dof_model), (w["se"], w["n"] - 1)]
    var = sum(e ** 2 for e, _ in parts)
    out = {"fall": fall, "trend_model": model, "trend_value": value, "trend_se": se, "trend": line, "after": w,
           "at": at}
    if var == 0:
        return {**out, "interval": [fall, fall], "dof": math.inf}
    dof = var ** 2 / sum(e ** 4 / d for e, d in parts)
    half = float(stats.t.ppf(0.5 + confidence / 2, dof)) * math.sqrt(var)
    return {**out, "interval": [fall - half, fall + half], "dof": float(dof)}


def preconditions(steps, loss, lo: int, hi: int, classes: int = 10, accuracy: float | None = None) -> dict:
    """The talk's preconditions on the measurements ``(steps, loss)`` of the phase ``(lo, hi]`` (see the module
    docstring): ``above_zero``, ``stationary``, ``holds`` and, when they fail, ``reason`` (one sentence)."""
    steps, loss = np.asarray(steps, float), np.asarray(loss, float)
    sel = plateau(steps, lo, hi)
    if sel.sum() < 3:
        raise InputError("steps", steps[sel].tolist(), f"fewer than three measurements in the last quarter of the "
                         f"phase ({lo}, {hi}]", "measure the end of each phase more often")
    level = float(loss[sel].mean())
    line = trend(steps[sel], loss[sel], hi)
    span = float(steps[sel].max() - steps[sel].min())
    change = line["slope"] * span / level
    change_interval = [x * span / level for x in line["slope_interval"]]
    stationary = abs(change) < DRIFT or change_interval[0] <= DRIFT and change_interval[1] >= -DRIFT
    floor = ABOVE_ZERO * math.log(classes)
    above = level >= floor and (accuracy is None or accuracy < MEMORISED)
    reasons = []
    if level < floor:
        reasons.append(f"the loss has fallen to {level:.3g}, below {ABOVE_ZERO:g} log {classes} = {floor:.3g}")
    if accuracy is not None and accuracy >= MEMORISED:
        reasons.append(f"the training accuracy is {accuracy:.1%} (memorised)")
    if not stationary:
        reasons.append(f"the loss is not stationary (it changes by {change:+.1%} of its level over the last "
                       f"quarter of the phase, interval [{change_interval[0]:+.1%}, {change_interval[1]:+.1%}])")
    return {"phase_end": int(hi), "level": level, "change": change, "change_interval": change_interval,
            "accuracy": accuracy, "above_zero": bool(above), "stationary": bool(stationary),
            "holds": bool(above and stationary), "reason": "; ".join(reasons) or None}
