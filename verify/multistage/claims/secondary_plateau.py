"""D11 (heuristic, measured): the secondary plateau lengthens with m; how the network leaves it.

The paper argues this part without a theorem and THEORY gives no derived exponent of the plateau's duration in
``m`` (the drive of order ``m^(-3/2)`` per neuron is a heuristic of its size, not a rate), so the claim stays a
sign claim: the fitted exponent of the duration in ``m`` is positive, judged with its interval.  It is sharpened
by what a secondary *plateau* means: every run that escapes must stay on the plateau for longer than its own
descent took (``T_d - t_half``, the logistic descent's time from K = 1/2 to K = 1 - delta, measured on the same
run).  Without that floor, durations shorter than the recording interval (an escape level that every recording
after ``T_d`` meets) gave a positive exponent from the recording grid's phase alone.
"""
from __future__ import annotations

import math

import numpy as np

from ...registry import Tolerance, Verdict, key_number, resolution, rows_of
from ...stats import exceed_margin, fit_slope
from ..context import claim

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
    T_d, t_half = meas["T_d"]["value"], meas["t_half"]
    zhat = config.dataset.z / config.dataset.z_norm
    _, W_d = traj.split(traj.theta[np.searchsorted(traj.t, T_d)])
    _, W_e = traj.split(traj.theta[i])

    def orthogonal_fraction(W):
        par = W @ zhat
        return float(1 - np.sum(par**2) / np.sum(W**2))

    j = np.searchsorted(traj.t, T_d)
    return {"T_escape": float(traj.t[i]), "duration": float(traj.t[i] - T_d),
            "descent_time": None if t_half is None else float(T_d - t_half),
            "orthogonal_fraction_at_T_d": orthogonal_fraction(W_d),
            "orthogonal_fraction_at_escape": orthogonal_fraction(W_e),
            "W2rel_at_T_d": float(obs["W2rel"][j]), "W2rel_at_escape": float(obs["W2rel"][i])}


def _check(ctx, expected_sign: float = 1.0, edge_half_widths: float = 0.0) -> Verdict:
    """``expected_sign``: +1 the claim (the plateau lengthens), -1 its negative control.  ``edge_half_widths``:
    the calibrated control, the claimed side's edge moved from 0 to that many half-widths of the exponent's 95 %
    interval (``-1`` with 2: "the exponent is at most twice its interval's half-width")."""
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
        return Verdict("inconclusive",
                       predicted={"sign of d log(duration)/d log m": expected_sign}, measured={"widths": widths},
                       tolerance=ESCAPE, details=details, label="measurement of a heuristic claim",
                       range=tested, rows=undecided,
                       key=key_number("fitted exponent of the plateau duration in m", None, None, None,
                                      f"the escape was seen at {len(set(widths))} width(s): a slope needs at least 2"))
    fit = fit_slope(np.log(widths), np.log(durations))
    lo, hi = fit["interval"]
    half = (hi - lo) / 2
    edge = edge_half_widths * half if math.isfinite(half) else 0.0
    sign_word = "positive" if expected_sign > 0 else "negative"
    claimed = (f"above {edge:.3g}" if expected_sign > 0 else f"below {edge:.3g}") if edge else sign_word
    fit.update({"predicted": edge, "predicted_sign": sign_word,
                "band": [edge, None] if expected_sign > 0 else [None, edge]})
    if expected_sign > 0:
        status = "passed" if lo > edge else ("failed" if hi < edge else "inconclusive")
    else:
        status = "passed" if hi < edge else ("failed" if lo > edge else "inconclusive")
    if censored and status == "failed":
        status = "inconclusive"
    # a secondary plateau: every escaped run stays on it longer than its own descent took (T_d - t_half)
    floors = [(r["descent_time"] / r["duration"], r) for r in rows if r["descent_time"] is not None]
    short = [r for q, r in floors if q >= 1]
    if short:
        status = "failed"
    # margin (a sign rule: the interval's near end lies strictly on the claimed side of the edge, i.e. the slope's
    # distance from the edge in the claimed direction exceeds the confidence half-width): the half-width over that
    # distance while it exceeds the half-width, else 1 plus how far the interval's near end lies on the wrong
    # side, in half-widths (stats.exceed_margin); none for an unbounded interval (two points).  With it, the
    # floor: the largest descent time / plateau duration (below 1 exactly when every plateau outlasts its
    # descent); the claim's margin is the larger of the two
    signed = expected_sign * (fit["slope"] - edge)
    holds = bool(lo > edge) if expected_sign > 0 else bool(hi < edge)
    sign_margin = (None if not math.isfinite(half) else (0.0 if holds else None) if half <= 0 else
                   exceed_margin(signed, half, passed=holds))
    floor_margin = max((q for q, r in floors), default=None)
    if short:
        margin = floor_margin if floor_margin != 1 else None
    elif sign_margin is None or floor_margin is None:
        margin = sign_margin
    else:
        margin = max(sign_margin, floor_margin)
    worst_short = max(short, key=lambda r: r["descent_time"] / r["duration"]) if short else None
    why = {"passed": None,
           "failed": (f"{len(short)} escaped run(s) left the plateau sooner than their descent took: at m = "
                      f"{worst_short['width']} (seed {worst_short['seed']}) the plateau lasted "
                      f"{worst_short['duration']:.3g} against a descent of {worst_short['descent_time']:.3g}: no "
                      "secondary plateau") if short else
                     f"the fitted exponent {fit['slope']:.3g} and its whole confidence interval are not {claimed}",
           "inconclusive": (f"the confidence interval [{lo:.3g}, {hi:.3g}] of the exponent contains {edge:.3g}"
                            if lo <= edge <= hi else
                            f"the exponent's interval [{lo:.3g}, {hi:.3g}] is not {claimed}, but "
                            f"{len(censored)} run(s) never left the plateau, so the data are censored")}[status]
    details["floor"] = ("every escaped run's plateau duration exceeds its descent time T_d - t_half; worst ratio "
                        + ("none measured" if floor_margin is None else f"{floor_margin:.3g}"))
    return Verdict(status,
                   key=key_number(f"fitted exponent of the plateau duration in m (claimed {claimed})",
                                  fit["slope"], None, margin, why, interval=[lo, hi], band=fit["band"]),
                   predicted={"sign of d log(duration)/d log m": expected_sign, "edge": edge,
                              "floor": "duration > T_d - t_half on every escaped run"},
                   measured={"widths": widths, "durations": durations, "exponent": fit["slope"],
                             "descent_times": [r["descent_time"] for r in rows],
                             "max_descent_over_duration": floor_margin},
                   tolerance=ESCAPE, seeds=ctx.init_seeds(ctx.profile.heuristic_seeds),
                   fits={"log duration vs log m (every width and seed)": fit}, details=details,
                   range=tested,
                   # the censored runs, and every escaped run's descent time over its plateau's duration (the floor)
                   rows=rows_of([(r["row"], r["margin"], r["outcome"]) for r in undecided]
                                + [({"width": r["width"], "seed": r["seed"]}, q, q < 1) for q, r in floors]),
                   # a sign claim (THEORY derives no exponent): it resolves the sign once |exponent| exceeds the
                   # interval's half-width; its calibrated control claims an exponent of at most twice that
                   resolution=resolution(f"an exponent of the wrong sign once |exponent| > {half:.2g} (the 95 % "
                                         "interval's half-width; no derived exponent to perturb), and a plateau "
                                         "shorter than its own descent",
                                         half if math.isfinite(half) else None, "exponent"),
                   label="measurement of a heuristic claim")


claim("D11-secondary-plateau", "The secondary plateau lengthens with m (heuristic)", "D11", _check,
               lambda ctx: _check(ctx, -1.0),
               "the opposite claim: the plateau shortens as m grows", heuristic=True,
      calibrated=(lambda ctx: _check(ctx, -1.0, 2.0),
                  "the opposite claim moved toward the data by twice the exponent's 95 % interval half-width h: "
                  "the plateau lengthens no faster than m^(2 h) (no derived exponent: twice the half-width is the "
                  "perturbation)"))
