"""The statistics claims share: fitted slopes with intervals, binomial intervals, and the judging rules."""
from __future__ import annotations

import math

import numpy as np

from .registry import QUANTIFIERS, Status, key_number, rows_of

__all__ = ["wilson_interval", "fraction_status", "judge", "judge_interval", "interval_margin", "fit_key",
           "fit_slope", "margin_as_judged", "ratio_margin", "band_margin", "exceed_margin", "count_margin",
           "fraction_margin", "fraction_key", "count_key", "every_key", "judge_points", "QUANTIFIERS"]


def wilson_interval(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion."""
    if trials == 0:
        return (0.0, 1.0)
    from scipy import stats   # on first use: scipy.stats costs 0.2 s of start-up to commands that never fit
    zq = stats.norm.ppf(0.5 + confidence / 2)
    phat = successes / trials
    denom = 1 + zq**2 / trials
    centre = (phat + zq**2 / (2 * trials)) / denom
    half = zq * math.sqrt(phat * (1 - phat) / trials + zq**2 / (4 * trials**2)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def fraction_status(successes: int, trials: int) -> tuple[Status, list]:
    """Verdict of a probabilistic claim from the fraction of seeds that satisfy it: the rule for a statement
    that holds "typically" or "with high probability" (a statement that holds for every initialisation is
    judged by :func:`every_key` instead).

    ``passed`` when the 95 % Wilson interval lies above 1/2 ("with high
    probability" read as "in most initialisations"), ``failed`` when it lies
    below, ``inconclusive`` otherwise; returns the status and the interval.
    """
    lo, hi = wilson_interval(successes, trials)
    status = Status.PASSED if lo >= 0.5 else Status.FAILED if hi < 0.5 else Status.INCONCLUSIVE
    return status, [lo, hi]


def _band_ends(band) -> tuple[float, float]:
    """``band`` as two floats, an open end (None) as an infinite one."""
    return (-math.inf if band[0] is None else float(band[0])), (math.inf if band[1] is None else float(band[1]))


def interval_margin(interval, band) -> float | None:
    """The margin of the interval rule of :func:`judge`: below 1 exactly when the whole ``interval`` lies in
    ``band``, above 1 otherwise (never exactly 1; None for an interval that is not finite).

    * a two-sided band ``[lo, hi]``: the interval's farther end's distance from the band's centre over the
      band's half-width;
    * a one-sided band (``[lo, None]`` or ``[None, hi]``): with ``d`` the distance of the interval's centre from
      the band's edge, positive on the band's open side, and ``h`` the interval's half-width,
      :func:`exceed_margin` of ``d`` against ``h``: ``h / d`` while the interval's near end is inside (``d >= h``),
      else ``2 - d / h``, so 1 to 3 while the interval straddles the edge and above 3 once it lies wholly outside
      (as D11's sign rule); 0 for an interval of no width inside the band.
    """
    ci_lo, ci_hi = (float(x) for x in interval)
    if not (math.isfinite(ci_lo) and math.isfinite(ci_hi)):
        return None
    lo, hi = _band_ends(band)
    inside = lo <= ci_lo and ci_hi <= hi
    if math.isfinite(lo) and math.isfinite(hi):
        centre, half = (lo + hi) / 2, (hi - lo) / 2
        return margin_as_judged(max(abs(ci_lo - centre), abs(ci_hi - centre)) / half, inside)
    if math.isinf(lo) and math.isinf(hi):
        return 0.0
    mid, h = (ci_lo + ci_hi) / 2, (ci_hi - ci_lo) / 2
    d = mid - lo if math.isfinite(lo) else hi - mid
    if h <= 0:
        return 0.0 if inside else None
    return exceed_margin(d, h, strict=False, passed=inside)


def judge_interval(interval, band, name: str = "the fitted slope") -> tuple[Status, float | None, str | None]:
    """The interval rule of issue 19 for a fitted quantity with a 95 % ``interval`` and the ``band`` of values
    its tolerance accepts (``[lo, hi]``, None for an open end): ``passed`` only when the whole interval lies in
    the band (a one-sided band: on its open side), ``failed`` when the whole interval lies outside, and
    ``inconclusive`` when it straddles an edge (or is not finite: too few points).  Returns the status, the
    margin (:func:`interval_margin`) and, when it did not pass, why: which edge and by how much (``name`` names
    the quantity in that sentence)."""
    ci_lo, ci_hi = (float(x) for x in interval)
    lo, hi = _band_ends(band)
    band_text = "[" + ", ".join("open" if math.isinf(e) else f"{e:.4g}" for e in (lo, hi)) + "]"
    iv = f"the 95 % interval [{ci_lo:.4g}, {ci_hi:.4g}] of {name}"
    if not (math.isfinite(ci_lo) and math.isfinite(ci_hi)):
        return Status.INCONCLUSIVE, None, f"{iv} is unbounded (too few points to fit): the data cannot tell"
    margin = interval_margin((ci_lo, ci_hi), band)
    if lo <= ci_lo and ci_hi <= hi:
        return Status.PASSED, margin, None
    if ci_hi < lo:
        return Status.FAILED, margin, (f"{iv} lies wholly below the band {band_text}: its upper end is "
                                       f"{lo - ci_hi:.3g} below the lower edge {lo:.4g}")
    if ci_lo > hi:
        return Status.FAILED, margin, (f"{iv} lies wholly above the band {band_text}: its lower end is "
                                       f"{ci_lo - hi:.3g} above the upper edge {hi:.4g}")
    crossings = []
    if ci_lo < lo:
        crossings.append(f"the lower edge {lo:.4g} (reaching {lo - ci_lo:.3g} below it)")
    if ci_hi > hi:
        crossings.append(f"the upper edge {hi:.4g} (reaching {ci_hi - hi:.3g} above it)")
    return Status.INCONCLUSIVE, margin, (f"{iv} straddles " + " and ".join(crossings) + f" of the band {band_text}:"
                                         " the data cannot tell")


_SEVERITY = {"passed": 0, "inconclusive": 1, "failed": 2}


def judge_points(points, name) -> tuple:
    """The interval rule of issue 19 at every point of a claim whose statement holds at each point: each
    point's 95 % ``interval`` against its ``band`` (:func:`judge_interval`), the claim taking the
    worst status (failed, then inconclusive, then the largest margin).  ``points``: dicts with ``interval_95`` and
    ``band``, updated with ``status`` and ``margin``; ``name(point)`` names the quantity in the why.  Returns the
    status, the worst point's index and its why."""
    whys = []
    for p in points:
        st, margin, why = judge_interval(p["interval_95"], p["band"], name(p))
        p.update({"status": st.value, "margin": margin})
        whys.append(why)
    j = max(range(len(points)), key=lambda i: (_SEVERITY[points[i]["status"]],
                                               float("inf") if points[i]["margin"] is None else points[i]["margin"]))
    return points[j]["status"], j, whys[j]


def judge(fit: dict, band) -> Status:
    """The interval rule (:func:`judge_interval`) applied to a fit of :func:`fit_slope`: ``passed`` only when the
    fit's whole 95 % interval lies in ``band``, ``failed`` when it lies wholly outside, ``inconclusive`` when it
    straddles an edge."""
    return judge_interval(fit["interval"], band)[0]


def fit_key(quantity: str, fit: dict, band, predicted=None, name: str = "the fitted slope"
            ) -> tuple[Status, dict]:
    """The status of a fitted quantity under the interval rule and its key number: measured the fitted slope,
    the margin of :func:`interval_margin`, why from :func:`judge_interval`, with the interval and the band (drawn
    in a verdict's figure)."""
    status, margin, why = judge_interval(fit["interval"], band, name)
    return status, key_number(quantity, fit["slope"], predicted, margin, why, interval=list(fit["interval"]),
                              band=list(band))


def fit_slope(x, y, confidence: float = 0.95) -> dict:
    """Least-squares slope of ``y`` on ``x`` with a t-based confidence interval."""
    from scipy import stats
    x, y = np.asarray(x, float), np.asarray(y, float)
    res = stats.linregress(x, y)
    dof = len(x) - 2
    half = float(stats.t.ppf(0.5 + confidence / 2, dof) * res.stderr) if dof > 0 else float("inf")
    return {"slope": float(res.slope), "intercept": float(res.intercept), "stderr": float(res.stderr),
            "interval": [float(res.slope - half), float(res.slope + half)], "confidence": confidence,
            "points": len(x)}


# ---------------------------------------------------------------------------
# margins: the used fraction of a tolerance, below 1 exactly when the rule passes (see verify.registry.Verdict)

#: how far (relative) rounding may leave a margin on the wrong side of 1: a rule and its margin computed from
#: the same numbers in two ways (``x <= tol`` and ``x / tol``) can disagree by an ulp or two at the tolerance's edge
_EDGE = 8 * np.finfo(float).eps


def margin_as_judged(margin, passed: bool) -> float | None:
    """``margin`` on the side of 1 the rule put the verdict: a rule that accepts its edge (``x <= tol``) passes
    at margin exactly 1, and rounding can leave a margin an ulp across 1; such a margin (within ``_EDGE`` of 1)
    becomes the nearest float below 1 when the rule passed, above 1 when it did not.  Any other margin is
    returned unchanged (a margin that contradicts its rule is a bug :class:`verify.registry.Verdict` reports),
    None and non-finite margins as None."""
    if margin is None or not math.isfinite(float(margin)):
        return None
    m = float(margin)
    if passed and 1.0 <= m <= 1.0 + _EDGE:
        return math.nextafter(1.0, 0.0)
    if not passed and 1.0 - _EDGE <= m <= 1.0:
        return math.nextafter(1.0, 2.0)
    return m


def ratio_margin(value, limit) -> float | None:
    """The margin of a rule ``value <= limit`` (``limit > 0``): ``value / limit``, below 1 exactly when the rule
    passes (at ``value == limit``, which passes, just below 1); None for a value that is not finite (the rule
    fails)."""
    value, limit = float(value), float(limit)
    if not math.isfinite(value):
        return None
    return margin_as_judged(value / limit, value <= limit)


def band_margin(value: float, band) -> float | None:
    """``|value - centre| / half-width`` of a two-sided band ``[lo, hi]``: below 1 exactly when ``lo <= value <=
    hi`` (the band's ends belong to it, as in :func:`judge`), above 1 outside; None for a value that is not
    finite."""
    lo, hi = float(band[0]), float(band[1])
    value = float(value)
    return margin_as_judged(abs(value - (lo + hi) / 2) / ((hi - lo) / 2), lo <= value <= hi)


def exceed_margin(value, limit, *, strict: bool = True, passed: bool | None = None) -> float | None:
    """The margin of a rule ``value > limit`` (``>=`` when not ``strict``; ``limit > 0``): ``limit / value`` while
    ``value >= limit`` and ``2 - value / limit`` below (1 plus how far ``value`` falls short, in units of
    ``limit``).  Continuous and decreasing in ``value``, 1 at the limit (just above 1 there for a strict rule,
    which fails, just below for one that accepts its edge), never negative; None for a value that is not finite
    (0 for ``+inf``).  ``passed``: the rule's own outcome, where the claim decides it from other numbers (an
    interval's end against 0, say) that rounding may put an ulp apart from ``value`` and ``limit``."""
    value, limit = float(value), float(limit)
    if not math.isfinite(value):
        return None if value < 0 or math.isnan(value) else 0.0
    if passed is None:
        passed = value > limit if strict else value >= limit
    return margin_as_judged(limit / value if value >= limit else 2.0 - value / limit, passed)


def count_margin(bad: int, allowed: int = 0) -> float:
    """The margin of a count rule "at most ``allowed`` bad rows": ``bad / (allowed + 1/2)``, below 1 exactly when
    ``bad <= allowed`` (the rule passes) and above 1 otherwise; never exactly 1."""
    return int(bad) / (int(allowed) + 0.5)


def fraction_margin(interval) -> float:
    """The used fraction of a claim judged by :func:`fraction_status`: ``(1 - lo) / (1 - 1/2)`` with ``lo`` the
    lower end of the Wilson interval, below 1 exactly when ``lo >= 1/2`` (the claim passes)."""
    lo = float(interval[0])
    return margin_as_judged((1.0 - lo) / 0.5, lo >= 0.5)


def _counts(met: int, total: int, unit: str, worst, allowed) -> dict:
    """The ``counts`` of a key judged on a count of seeds, runs or set-ups (see :func:`fraction_key`)."""
    worst = None if worst is None or not math.isfinite(float(worst)) else float(worst)
    return {"met": int(met), "total": int(total), "unit": unit, "allowed": allowed, "worst": worst}


def fraction_key(criterion: str, successes: int, trials: int, interval, status, worst: str | None = None, *,
                 worst_margin: float | None = None, unit: str = "seeds") -> dict:
    """The key number of a claim judged by :func:`fraction_status`: the fraction of ``unit`` (seeds) meeting
    ``criterion`` (e.g. ``"|R - R*| <= 0.001"``), the margin of :func:`fraction_margin` and, when the claim did not
    pass, why (``worst``, e.g. ``"the worst seed is 0.02 from R*"``, appended).  The key's ``interval`` is the
    Wilson interval and its ``band`` ``[1/2, 1]``: the claim passes when the whole interval lies in the band.

    ``counts`` carries what a reader reads first: ``met`` of ``total`` seeds met the criterion and, where each
    seed has its own tolerance, ``worst``: the worst seed's used fraction of it (``worst_margin``; below 1 when
    that seed met the criterion; None when not finite or not given).  ``allowed`` is None: the rule is the Wilson
    interval's, not a count.  ``quantifier`` is ``"most"`` (:data:`QUANTIFIERS`): the report says the claim was
    judged by the Wilson rule, for a statement that holds "typically"."""
    lo, hi = (float(x) for x in interval)
    why = None
    if Status(status) is Status.FAILED:
        why = (f"only {successes} of {trials} {unit} have {criterion}: the 95 % Wilson interval "
               f"[{lo:.2f}, {hi:.2f}] lies below 1/2")
    elif Status(status) is Status.INCONCLUSIVE:
        why = (f"{successes} of {trials} {unit} have {criterion}: the 95 % Wilson interval [{lo:.2f}, {hi:.2f}] "
               "straddles 1/2, too few to decide")
    if why and worst:
        why += "; " + worst
    key = key_number(f"fraction of {unit} with {criterion}", successes / trials if trials else None, None,
                     fraction_margin(interval), why, interval=[lo, hi], band=[0.5, 1.0])
    key["counts"] = _counts(successes, trials, unit, worst_margin, None)
    key["quantifier"] = "most"
    return key


def count_key(quantity: str, met: int, total: int, why: str | None, *, allowed: int = 0, unit: str = "runs",
              worst_margin: float | None = None, judged_on_count: bool = True) -> dict:
    """The key number of a claim judged by a count rule, "at most ``allowed`` of the ``total`` ``unit`` (runs,
    set-ups, checkpoints) fail their criterion": measured the fraction that meet it, predicted the least fraction
    the rule accepts, the margin of :func:`count_margin` (below 1 exactly when the rule passes), and ``counts``
    as in :func:`fraction_key` with ``allowed`` set, and with ``allowed = 0`` the ``quantifier`` ``"every"``
    (:data:`QUANTIFIERS`).  ``judged_on_count=False`` leaves the margin out (a verdict
    that rests on something besides the count; ``why`` says what); no rows (``total == 0``) leave it out too."""
    bad = int(total) - int(met)
    margin = count_margin(bad, allowed) if total and judged_on_count else None
    key = key_number(quantity, met / total if total else None, (total - allowed) / total if total else None,
                     margin, why, band=[(total - allowed) / total, 1.0] if total else None)
    key["counts"] = _counts(met, total, unit, worst_margin, int(allowed))
    if int(allowed) == 0:       # "at most 0 fail": the every-row quantifier
        key["quantifier"] = "every"
    return key


# ---------------------------------------------------------------------------
# quantifiers: a claim judged over seeds (runs, set-ups) reads the quantifier of its statement

def every_key(criterion: str, rows, *, unit: str = "seeds") -> tuple[Status, dict, list]:
    """The every-seed rule, for a statement that holds for each initialisation (a deterministic statement
    applied per seed): ``passed`` when every row meets ``criterion`` (its used fraction of the tolerance is at
    most 1), ``failed`` on one resolved counterexample (a row beyond its tolerance, or one where the quantity
    could not be measured), that row named in the why.

    ``rows``: ``(where, used)`` pairs, ``where`` a dict naming the row (``{"seed": 3}``) and ``used`` its
    measured error over the tolerance (None or not finite: unmeasured, which fails).  Returns the status, the
    key (:func:`count_key` with ``allowed = 0``, its margin the worst row's used fraction, below 1 exactly when
    every row passes; None when the worst row is unmeasured; ``quantifier`` ``"every"``) and the rows to list
    in the verdict (:func:`verify.registry.rows_of`: those that failed or held only within tolerance)."""
    rows = [(dict(where), None if used is None or not math.isfinite(float(used)) else float(used))
            for where, used in rows]
    bad = [(w, u) for w, u in rows if u is None or u > 1]
    met, total = len(rows) - len(bad), len(rows)
    status = Status.PASSED if total and not bad else Status.FAILED
    known = [u for _, u in rows if u is not None]
    worst = None if len(known) < len(rows) else max(known, default=None)
    why = None
    if not total:
        why = f"no {unit} to judge"
    elif bad:
        where, used = max(bad, key=lambda r: math.inf if r[1] is None else r[1])
        name = ", ".join(f"{k} {v}" for k, v in where.items())
        why = (f"{len(bad)} of {total} {unit} fail {criterion} (the statement holds for every one): "
               + (f"{name} could not be measured" if used is None else
                  f"{name} uses {used:.3g} x its tolerance"))
    key = count_key(f"fraction of {unit} with {criterion}", met, total, why, allowed=0, unit=unit,
                    worst_margin=worst)
    if total:
        key["margin"] = None if worst is None else margin_as_judged(worst, status is Status.PASSED)
    key["quantifier"] = "every"
    return status, key, rows_of((w, u, u is not None and u <= 1) for w, u in rows)
