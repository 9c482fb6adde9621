"""The Monte Carlo tolerance the noisy-quadratic claims share: family-wise z bounds."""
from __future__ import annotations

from scipy import stats

from ..registry import Tolerance

__all__ = ["FAMILY_LEVEL", "z_bound", "z_tolerance"]

#: the chance that a right prediction fails one check by Monte Carlo error alone
FAMILY_LEVEL = 0.01


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
