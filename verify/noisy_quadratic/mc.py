"""The Monte Carlo tolerance the noisy-quadratic claims share: family-wise z bounds."""
from __future__ import annotations

import math

from scipy import stats

from ..registry import Tolerance

__all__ = ["FAMILY_LEVEL", "CALIBRATED", "CONFIRM_CHAINS", "z_bound", "confirm_bound", "two_stage_false_alarm",
           "z_tolerance", "z_resolution", "two_stage"]

#: the chance that a right prediction fails one check by Monte Carlo error alone
FAMILY_LEVEL = 0.01
#: the calibrated controls perturb a derived prediction by this many tolerances (the registry's limit is 2): for a
#: z rule, a prediction off by 2 x the z bound standard errors at one point is refuted there with probability
#: Phi(z bound) (above 99.8 % for bounds above 2.9)
CALIBRATED = 2.0
#: the two-stage rule's confirmation re-simulates a point beyond the stage-1 bound alone, on its own stream, with this
#: many times the chains (its standard error halved), preregistered: chosen before any confirmation was run
CONFIRM_CHAINS = 4


def z_bound(comparisons: int, level: float = FAMILY_LEVEL) -> float:
    """Two-sided Bonferroni bound: |z| beyond it at any of ``comparisons`` points has probability <= ``level``."""
    return float(stats.norm.ppf(1 - level / (2 * max(comparisons, 1))))


def confirm_bound(level: float = FAMILY_LEVEL) -> float:
    """The confirmation's bound: the single-comparison two-sided bound at ``level`` (2.58 at 1 %)."""
    return z_bound(1, level)


def two_stage_false_alarm(comparisons: int, level: float = FAMILY_LEVEL) -> float:
    """The family-wise chance that a right prediction fails the two-stage rule over ``comparisons`` points: a point
    fails only when its stage-1 |z| exceeds the Bonferroni bound (probability ``level / comparisons``) and its
    independent confirmation exceeds the single bound (probability ``level``), so ``1 - (1 - level^2 /
    comparisons)^comparisons``, below ``level^2`` (exact for normal z; the stages' streams are independent)."""
    return float(1 - (1 - level * level / max(comparisons, 1)) ** max(comparisons, 1))


def z_tolerance(comparisons: int, what: str) -> Tolerance:
    return Tolerance(
        "monte-carlo-z", z_bound(comparisons),
        f"{what}; a preregistered two-stage rule.  Stage 1: each |measured - predicted| / stderr against the "
        f"two-sided Bonferroni bound for {comparisons} comparisons at family level {FAMILY_LEVEL}.  Stage 2: a "
        f"point beyond it is re-simulated alone on its own stream (spawn key: the confirm stream, the simulation's "
        f"purpose, the point's index) with {CONFIRM_CHAINS}x the chains (standard error halved) and fails only if "
        f"that confirmation's |z| also exceeds the single-comparison bound {confirm_bound():.3g} at the same level; "
        f"a right prediction then fails at a point with probability {FAMILY_LEVEL:g} / {comparisons} x "
        f"{FAMILY_LEVEL:g}, the family with probability {two_stage_false_alarm(comparisons):.5g} (below level^2 = "
        f"{FAMILY_LEVEL ** 2:g}; a single-stage Bonferroni rule: {FAMILY_LEVEL:g}), while a bias of b standard "
        "errors at stage 1 reappears as about 2b in the confirmation.  The standard errors come from independent "
        "chains (each chain's time average is one sample), so they include the autocorrelation within a chain; "
        "the naive error that treats every step as independent is reported next to them and is smaller by the "
        "square root of the autocorrelation time")


def z_resolution(predicted, stderr, bound: float) -> tuple[float, int]:
    """The smallest relative error of a prediction a z rule resolves at its most precise point: ``CALIBRATED x
    bound x stderr / |predicted|`` minimised over the points (a prediction scaled by ``1 + that`` is
    ``CALIBRATED x bound`` standard errors off there), and that point's index."""
    import numpy as np

    rel = CALIBRATED * bound * np.abs(np.asarray(stderr, float)) / np.abs(np.asarray(predicted, float))
    j = int(np.nanargmin(rel))
    return float(rel[j]), j


def two_stage(points, bound: float, confirm) -> tuple[list, list]:
    """The preregistered two-stage z rule over ``points``, ``(where, z)`` pairs (``where`` a dict naming the
    point): stage 1, each ``|z|`` against ``bound``; stage 2, the points beyond it confirmed, largest ``|z|``
    first, by ``confirm(i)`` (an independent re-simulation of point ``i`` alone, :data:`CONFIRM_CHAINS` x the
    chains: a dict with its ``z`` and what to record of it, e.g. ``chains`` and ``spawn_key``), each judged
    against :func:`confirm_bound`.  Once one confirmation fails the claim has failed, and the remaining points
    beyond the bound are not re-simulated (a control far off would otherwise cost CONFIRM_CHAINS x its whole
    simulation again): they are judged by stage 1 alone and say so.

    Returns the judged ``(where, used)`` pairs, in the order of ``points``, for :func:`verify.stats.every_key`
    (``used``: stage 1's ``|z| / bound`` for a point within it or not confirmed, else the confirmation's ``|z|``
    over its bound, so the margin is below 1 exactly when the point passes; None where a z is not finite, which
    fails) and the confirmations (both z values, both bounds, the outcome and what ``confirm`` recorded).  A
    point beyond the bound gains an ``"after confirmation"`` entry in its ``where`` with both z values."""
    b1 = confirm_bound()
    zs = [None if z is None or not math.isfinite(float(z)) else float(z) for _, z in points]
    judged = [(dict(where), None if z is None else abs(z) / bound) for (where, _), z in zip(points, zs)]
    beyond = sorted((i for i, z in enumerate(zs) if z is not None and abs(z) > bound), key=lambda i: -abs(zs[i]))
    confirmations, failed = [], False
    for i in beyond:
        where, z = judged[i][0], zs[i]
        if failed:
            judged[i] = ({**where, "after confirmation": f"not confirmed (stage-1 z {z:.3g} beyond {bound:.3g}; "
                                                         "the claim had already failed at a confirmed point)"},
                         judged[i][1])
            continue
        c = dict(confirm(i))
        zc = c.pop("z")
        zc = None if zc is None or not math.isfinite(float(zc)) else float(zc)
        used = None if zc is None else abs(zc) / b1
        failed = used is None or used > 1
        outcome = "failed after confirmation" if failed else "within tolerance after confirmation"
        confirmations.append({"point": dict(where), "z": z, "bound": bound, "z_confirmation": zc,
                              "confirmation_bound": b1, "outcome": outcome, **c})
        note = (f"{outcome}: stage-1 z {z:.3g} beyond {bound:.3g}, confirmation z "
                + ("not finite" if zc is None else f"{zc:.3g}") + f" against {b1:.3g} ({CONFIRM_CHAINS}x chains)")
        judged[i] = ({**where, "after confirmation": note}, used)
    return judged, confirmations
