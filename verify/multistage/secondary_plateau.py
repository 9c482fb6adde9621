"""D11 (heuristic, measured): the secondary plateau lengthens with m; how the network leaves it."""
from __future__ import annotations

import math

import numpy as np

from ..registry import Tolerance, Verdict, key_number, resolution, rows_of
from ..stats import exceed_margin, fit_slope
from ._context import claim

ESCAPE = Tolerance("escape-drop", 0.05,
                   "the network has left the secondary plateau when the loss is 5 % below the plateau level "
                   "(the loss at T_d); chosen before measuring, well above the O(1/m) drift on the plateau")
RTOL = 1e-6   # a measurement of a heuristic: the escape time is insensitive to the solver tolerance at this level


def escape_index(traj, meas) -> int | None:
    """Index of the first recording after T_d at which the loss is ESCAPE below the plateau level (the loss at
    T_d): the escape from the secondary plateau, as this claim and Figure 1 measure it."""
    T_d, P = meas["T_d"]["value"], meas["plateau_loss"]
    if T_d is None or P is None:
        return None
    after = (traj.t > T_d) & (traj.loss <= (1 - ESCAPE.value) * P)
    return int(np.argmax(after)) if np.any(after) else None


def _escape(traj, obs, meas, config):
    i = escape_index(traj, meas)
    if i is None:
        return None
    T_d = meas["T_d"]["value"]
    zhat = config.dataset.z / config.dataset.z_norm
    _, W_d = traj.split(traj.theta[np.searchsorted(traj.t, T_d)])
    _, W_e = traj.split(traj.theta[i])

    def orthogonal_fraction(W):
        par = W @ zhat
        return float(1 - np.sum(par**2) / np.sum(W**2))

    j = np.searchsorted(traj.t, T_d)
    return {"T_escape": float(traj.t[i]), "duration": float(traj.t[i] - T_d),
            "orthogonal_fraction_at_T_d": orthogonal_fraction(W_d),
            "orthogonal_fraction_at_escape": orthogonal_fraction(W_e),
            "W2rel_at_T_d": float(obs["W2rel"][j]), "W2rel_at_escape": float(obs["W2rel"][i])}


def _check(ctx, expected_sign: float = 1.0) -> Verdict:
    widths, durations, rows, censored = [], [], [], []
    for m, seed in [(m, s) for m in ctx.profile.heuristic_widths for s in ctx.init_seeds(ctx.profile.heuristic_seeds)]:
        config = ctx.config(model={"width": m}, train={"t_max": ctx.profile.heuristic_t_max, "seed": seed})
        traj, obs, kernel, meas, pred = ctx.run(config, grid=501, remainder=False, rtol=RTOL)
        esc = _escape(traj, obs, meas, config)
        if esc is None:
            censored.append({"width": m, "seed": seed})
            continue
        widths.append(m)
        durations.append(esc["duration"])
        rows.append({"width": m, "seed": seed, **esc})
    # the range tested, and the runs that never left the plateau (censored: undecided rows)
    tested = {"m": list(ctx.profile.heuristic_widths), "seeds": ctx.init_seeds(ctx.profile.heuristic_seeds)}
    undecided = rows_of(({"width": c["width"], "seed": c["seed"]}, None, "inconclusive") for c in censored)
    details = {"per_width": rows, "censored_widths": censored,
               "escape_direction": "fraction of |W|^2 orthogonal to z at T_d and at the escape",
               "W2rel": "at T_d and at the escape"}
    if len(set(widths)) < 2:
        return Verdict("D11-secondary-plateau", "The secondary plateau lengthens with m (heuristic)", "inconclusive",
                       predicted={"sign of d log(duration)/d log m": expected_sign}, measured={"widths": widths},
                       tolerance=ESCAPE, details=details, label="measurement of a heuristic claim",
                       range=tested, rows=undecided,
                       key=key_number("fitted exponent of the plateau duration in m", None, None, None,
                                      f"the escape was seen at {len(set(widths))} width(s): a slope needs at least 2"))
    fit = fit_slope(np.log(widths), np.log(durations))
    lo, hi = fit["interval"]
    fit.update({"predicted": 0.0, "predicted_sign": "positive" if expected_sign > 0 else "negative",
                "band": [0.0, None] if expected_sign > 0 else [None, 0.0]})
    if expected_sign > 0:
        status = "passed" if lo > 0 else ("failed" if hi < 0 else "inconclusive")
    else:
        status = "passed" if hi < 0 else ("failed" if lo > 0 else "inconclusive")
    if censored and status == "failed":
        status = "inconclusive"
    # margin (a sign rule: the interval's near end lies strictly on the claimed side of 0, i.e. the slope's
    # distance from 0 in the claimed direction exceeds the confidence half-width): the half-width over that
    # distance while it exceeds the half-width, else 1 plus how far the interval's near end lies on the wrong
    # side of 0, in half-widths (stats.exceed_margin); below 1 exactly when the claim passes, above 1 otherwise;
    # none for an unbounded interval (two points)
    half = (hi - lo) / 2
    signed = expected_sign * fit["slope"]
    holds = bool(lo > 0) if expected_sign > 0 else bool(hi < 0)
    margin = (None if not math.isfinite(half) else (0.0 if holds else None) if half <= 0 else
              exceed_margin(signed, half, passed=holds))
    sign_word = "positive" if expected_sign > 0 else "negative"
    why = {"passed": None,
           "failed": f"the fitted exponent {fit['slope']:.3g} and its whole confidence interval are not {sign_word}",
           "inconclusive": (f"the confidence interval [{lo:.3g}, {hi:.3g}] of the exponent contains 0" if lo <= 0 <= hi
                            else f"the exponent's interval [{lo:.3g}, {hi:.3g}] is not {sign_word}, but "
                                 f"{len(censored)} run(s) never left the plateau, so the data are censored")}[status]
    return Verdict("D11-secondary-plateau", "The secondary plateau lengthens with m (heuristic)", status,
                   key=key_number(f"fitted exponent of the plateau duration in m (claimed {sign_word})",
                                  fit["slope"], None, margin, why, interval=[lo, hi], band=fit["band"]),
                   predicted={"sign of d log(duration)/d log m": expected_sign},
                   measured={"widths": widths, "durations": durations, "exponent": fit["slope"]},
                   tolerance=ESCAPE, seeds=ctx.init_seeds(ctx.profile.heuristic_seeds),
                   fits={"log duration vs log m (every width and seed)": fit}, details=details,
                   range=tested, rows=undecided,
                   # a sign claim: it resolves the sign once |exponent| exceeds the interval's half-width
                   resolution=resolution(f"an exponent of the wrong sign once |exponent| > {half:.2g} (the 95 % "
                                         "interval's half-width; a sign claim has no tolerance to perturb by)",
                                         half if math.isfinite(half) else None, "exponent"),
                   label="measurement of a heuristic claim")


claim("D11-secondary-plateau", "The secondary plateau lengthens with m (heuristic)", "D11", _check,
               lambda ctx: _check(ctx, -1.0),
               "the opposite claim: the plateau shortens as m grows", heuristic=True)
