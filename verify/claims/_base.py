"""The claim registry, the verdict record, named tolerances and the statistics claims share.

A claim checks one derived result (``theory/<object>.py``) against simulations
(``verify/engine``).  Its ``check(ctx)`` returns a :class:`Verdict`; its
``negative_control(ctx)`` runs the *same* check against a deliberately wrong
prediction and must come out ``failed``.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np
from scipy import stats

__all__ = ["Tolerance", "Verdict", "Claim", "REGISTRY", "register", "wilson_interval", "fit_slope", "judge",
           "fraction_status",
           "STATUSES", "Profile", "PROFILES"]

STATUSES = ("passed", "failed", "inconclusive", "not-applicable")


@dataclass(frozen=True)
class Tolerance:
    """A named tolerance and why it has the value it has."""

    name: str
    value: float
    justification: str


@dataclass
class Verdict:
    claim: str
    title: str
    status: str
    predicted: object
    measured: object
    tolerance: Tolerance | None
    seeds: list = field(default_factory=list)
    fits: dict = field(default_factory=dict)
    details: dict = field(default_factory=dict)
    label: str = "check of a reconstructed theorem"
    figures: list = field(default_factory=list)

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"status {self.status!r} not in {STATUSES}")

    def as_dict(self) -> dict:
        out = asdict(self)
        out["tolerance"] = None if self.tolerance is None else asdict(self.tolerance)
        return _clean(out)


def _clean(value):
    """JSON-ready: NumPy scalars to Python, non-finite floats to None."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, np.ndarray):
        return _clean(value.tolist())
    if isinstance(value, (np.floating, float)):
        v = float(value)
        return v if math.isfinite(v) else None
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


@dataclass(frozen=True)
class Profile:
    """How much work each claim does."""

    name: str
    width: int            # the main width
    samples: int          # data points
    seeds: int            # seeds for probabilistic claims
    widths: tuple         # sweeps in m
    alphas: tuple         # sweeps in alpha
    heuristic_widths: tuple
    heuristic_t_max: float
    heuristic_seeds: int = 2
    sweep_seeds: int = 3          # seeds averaged at each point of the T_d sweeps
    td_widths: tuple = ()         # widths of the T_d sweep in log m


PROFILES = {
    "quick": Profile("quick", 400, 200, 5, (125, 250, 500, 1000, 2000), (0.75, 1.0, 1.25, 1.5), (50, 100, 200, 400),
                     160.0, 2, 2, (125, 250, 500, 1000)),
    "default": Profile("default", 1000, 300, 8, (125, 250, 500, 1000, 2000), (0.75, 1.0, 1.25, 1.5),
                       (50, 100, 200, 400, 800), 400.0, 3, 3, (125, 250, 500, 1000, 2000)),
    "full": Profile("full", 2000, 300, 20, (125, 250, 500, 1000, 2000, 5000), (0.75, 0.875, 1.0, 1.25, 1.5),
                    (50, 100, 200, 400, 800, 1600), 800.0, 5, 5, (125, 250, 500, 1000, 2000, 5000)),
}


@dataclass(frozen=True)
class Claim:
    id: str
    title: str
    derivation: str                      # "D1".."D11"
    check: Callable
    negative_control: Callable
    control_description: str
    heuristic: bool = False


REGISTRY: dict[str, Claim] = {}


def register(claim: Claim) -> Claim:
    if claim.id in REGISTRY:
        raise ValueError(f"claim {claim.id} registered twice")
    REGISTRY[claim.id] = claim
    return claim


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


def fraction_status(successes: int, trials: int) -> tuple[str, list]:
    """Verdict of a probabilistic claim from the fraction of seeds that satisfy it.

    ``passed`` when the 95 % Wilson interval lies above 1/2 ("with high
    probability" read as "in most initialisations"), ``failed`` when it lies
    below, ``inconclusive`` otherwise; returns the status and the interval.
    """
    lo, hi = wilson_interval(successes, trials)
    return ("passed" if lo >= 0.5 else "failed" if hi < 0.5 else "inconclusive"), [lo, hi]


def judge(fit: dict, band) -> str:
    """``passed`` if the fitted slope lies in ``band``; ``failed`` if its whole confidence interval lies
    outside the band; ``inconclusive`` otherwise (the data cannot tell)."""
    lo, hi = (-math.inf if band[0] is None else band[0]), (math.inf if band[1] is None else band[1])
    if lo <= fit["slope"] <= hi:
        return "passed"
    ci_lo, ci_hi = fit["interval"]
    return "failed" if ci_hi < lo or ci_lo > hi else "inconclusive"


def fit_slope(x, y, confidence: float = 0.95) -> dict:
    """Least-squares slope of ``y`` on ``x`` with a t-based confidence interval."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    res = stats.linregress(x, y)
    dof = len(x) - 2
    half = float(stats.t.ppf(0.5 + confidence / 2, dof) * res.stderr) if dof > 0 else float("inf")
    return {"slope": float(res.slope), "intercept": float(res.intercept), "stderr": float(res.stderr),
            "interval": [float(res.slope - half), float(res.slope + half)], "confidence": confidence,
            "points": len(x)}
