"""The Monte Carlo tolerance the noisy-quadratic claims share: family-wise z bounds."""
from __future__ import annotations

from scipy import stats

from ..registry import Tolerance

__all__ = ["FAMILY_LEVEL", "CALIBRATED", "z_bound", "z_tolerance", "z_resolution", "judge_points"]

#: the chance that a right prediction fails one check by Monte Carlo error alone
FAMILY_LEVEL = 0.01
#: the calibrated controls perturb a derived prediction by this many tolerances (the registry's limit is 2): for a
#: z rule, a prediction off by 2 x the z bound standard errors at one point is refuted there with probability
#: Phi(z bound) (above 99.8 % for bounds above 2.9)
CALIBRATED = 2.0


def z_bound(comparisons: int, level: float = FAMILY_LEVEL) -> float:
    """Two-sided Bonferroni bound: |z| beyond it at any of ``comparisons`` points has probability <= ``level``."""
    return float(stats.norm.ppf(1 - level / (2 * max(comparisons, 1))))


def z_tolerance(comparisons: int, what: str) -> Tolerance:
    return Tolerance(
        "monte-carlo-z", z_bound(comparisons),
        f"{what}; each |measured - predicted| / stderr must stay below the two-sided Bonferroni bound for "
        f"{comparisons} comparisons at family level {FAMILY_LEVEL} (a right prediction fails by chance at most "
        "1 % of the time).  The standard errors come from independent chains (each chain's time average is one "
        "sample), so they include the autocorrelation within a chain; the naive error that treats every step "
        "as independent is reported next to them and is smaller by the square root of the autocorrelation time")


def z_resolution(predicted, stderr, bound: float) -> tuple[float, int]:
    """The smallest relative error of a prediction a z rule resolves at its most precise point: ``CALIBRATED x
    bound x stderr / |predicted|`` minimised over the points (a prediction scaled by ``1 + that`` is
    ``CALIBRATED x bound`` standard errors off there), and that point's index."""
    import numpy as np

    rel = CALIBRATED * bound * np.abs(np.asarray(stderr, float)) / np.abs(np.asarray(predicted, float))
    j = int(np.nanargmin(rel))
    return float(rel[j]), j


_ORDER = {"passed": 0, "inconclusive": 1, "failed": 2}


def judge_points(points, name) -> tuple:
    """The interval rule of issue 19 at every point of a claim whose statement holds at each point: each
    point's 95 % ``interval`` against its ``band`` (:func:`verify.stats.judge_interval`), the claim taking the
    worst status (failed, then inconclusive, then the largest margin).  ``points``: dicts with ``interval`` and
    ``band``, updated with ``status`` and ``margin``; ``name(point)`` names the quantity in the why.  Returns the
    status, the worst point's index and its why."""
    from ..stats import judge_interval

    whys = []
    for p in points:
        st, margin, why = judge_interval(p["interval_95"], p["band"], name(p))
        p.update({"status": st.value, "margin": margin})
        whys.append(why)
    j = max(range(len(points)), key=lambda i: (_ORDER[points[i]["status"]],
                                               float("inf") if points[i]["margin"] is None else points[i]["margin"]))
    return points[j]["status"], j, whys[j]
