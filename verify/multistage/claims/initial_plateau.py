"""D6: on [0, T_p] the loss moves by at most the derived bound, vanishing like m^(1 - 2 alpha_1); T_p per seed
from the exact linear flow (D6-T-p)."""
from __future__ import annotations

import numpy as np
import sympy as sp

from theory.bridge import numeric
from theory.multistage import initial_plateau
from theory.multistage.symbols import alpha as alpha_sym
from theory.multistage.symbols import alpha_1, q0
from theory.multistage.symbols import m as m_sym
from theory.multistage.symbols import z_norm as z_norm_sym

from ...registry import Expectation, Status, Tolerance, Verdict, key_number, resolution, rows_of
from ...registry import resolution as resolution_of
from ...stats import fit_slope, judge_interval, margin_as_judged, ratio_margin
from ..context import claim
from ..linear_stage import first_passage, modes, q_max_linear, remainder_shift

ALPHA = 1.5   # deep in the condensed regime: q_max(0) ~ m^-1.5 sqrt(2 log m) is well below m^(-alpha_1) = m^-1
BAND = Tolerance("exponent-band", 0.2,
                 "the bound's exponent is exact, but the measured change carries the factor 1/(2 log m) of "
                 "q_max(0)^2 = m^(-2 alpha) 2 log m, which shifts the local slope by -1/log m (-0.22 at m = 100, "
                 "-0.13 at m = 2000)")


def _check(ctx, slope_expr=initial_plateau.loss_slope) -> Verdict:
    widths, sups, bounds, tps = [], [], [], []
    for m in ctx.profile.widths:
        config = ctx.config(model={"width": m, "alpha": ALPHA}, train={"t_max": 6.0})
        traj, obs, kernel, meas, pred = ctx.run(config, grid=201)
        T_p = meas["T_p"]["value"]
        if T_p is None:
            continue
        sel = traj.t <= T_p
        widths.append(m)
        sups.append(float(np.max(np.abs(traj.loss[sel] - traj.loss[0]))))
        bounds.append(pred["plateau_loss_bound"])
        tps.append(T_p)
    config = ctx.config(model={"alpha": ALPHA})
    a1, alpha = config.alpha_1, float(config.model.alpha)
    predicted = float(numeric(slope_expr, (alpha_sym, alpha_1))(alpha, a1))
    fit = fit_slope(np.log(widths), np.log(sups))
    fit.update({"predicted": predicted, "band": [predicted - BAND.value, predicted + BAND.value]})
    within = all(s <= b for s, b in zip(sups, bounds))
    # Theorem 1 is an upper bound, O(m^(1 - 2 alpha_1)): the change must vanish at least that fast, so the
    # fitted slope is judged against the upper end of the band only (one-sided).
    # the interval rule (stats.judge_interval): passed only when the exponent's whole 95 % interval lies below the
    # band's upper end; its margin is the interval's half-width over its centre's distance below that end
    slope_status, slope_margin, slope_why = judge_interval(fit["interval"], [None, fit["band"][1]],
                                                           "the fitted exponent")
    details = {"alpha": alpha, "rule": "passed when every sup |R - R(0)| is within the bound and the fitted slope "
                                       "is at most 1 - 2 alpha_1 + 0.2 (the change vanishes at least as fast as "
                                       "the bound); the two-sided 'slope about 1 - 2 alpha_1' is reported in fits"}
    status = Status.INCONCLUSIVE if len(widths) < 3 else (Status.FAILED if not within else Status(slope_status))
    # margin: the larger of max sup|R - R(0)| / bound (the bound) and the interval margin of the one-sided band
    # (stats.interval_margin), each on the side of 1 its own rule puts it: both below 1 exactly when the claim
    # passes
    bound_ratio = max((s / b for s, b in zip(sups, bounds)), default=None)
    bound_margin = max((ratio_margin(s, b) for s, b in zip(sups, bounds)), default=None)
    why = {Status.PASSED: None,
           Status.INCONCLUSIVE: (f"T_p was reached at only {len(widths)} widths: a slope needs at least 3"
                                 if len(widths) < 3 else slope_why),
           Status.FAILED: (f"the loss change exceeds the bound by a factor {bound_ratio:.3g}" if not within else
                           f"{slope_why}: the change vanishes more slowly than the bound")}[status]
    key = key_number("fitted exponent of sup |R - R(0)| in m", fit["slope"], predicted,
                     None if len(widths) < 3 or slope_margin is None else max(bound_margin, slope_margin), why,
                     band=[None, fit["band"][1]], interval=fit["interval"])
    return Verdict(status, key=key,
                   predicted={"slope": predicted, "expression": str(slope_expr), "bound_at_exit": bounds, "alpha_1": a1},
                   measured={"widths": widths, "sup_loss_change": sups, "T_p": tps, "all_within_bound": within},
                   tolerance=BAND, seeds=[config.train.seed], fits={"log sup|R - R(0)| vs log m": fit},
                   details=details, range={"m": widths, "alpha": alpha, "seeds": [config.train.seed]},
                   rows=rows_of(({"width": w}, s / b, s <= b) for w, s, b in zip(widths, sups, bounds)),
                   # an upper bound and a one-sided exponent: a derived exponent lowered by twice the band (0.4)
                   # is not refuted while the exponent's interval is wider than that, so validity only
                   resolution=resolution(
                       "the bound and a one-sided exponent band; the fitted exponent's 95 % interval half-width is "
                       f"{(fit['interval'][1] - fit['interval'][0]) / 2:.2g} against the band's {BAND.value:g}",
                       tightness=bound_ratio))


#: the calibrated control lowers the derived exponent by CALIBRATED x the band (the smaller of twice the band and
#: twice the fitted interval's half-width, 0.48 at quick: twice the band)
CALIBRATED = 2


claim("D6-initial-plateau", "The loss barely moves on [0, T_p]; the change scales like m^(1 - 2 alpha_1)",
               "D6", _check, lambda ctx: _check(ctx, initial_plateau.loss_slope.subs(alpha_1, alpha_sym)),
      "the derived exponent with alpha in place of alpha_1 (1 - 2 alpha)", group="small-init",
      calibrated=(lambda ctx: _check(ctx, initial_plateau.loss_slope
                                     - CALIBRATED * sp.Rational(BAND.value).limit_denominator(1000)),
                  f"the derived exponent 1 - 2 alpha_1 lowered by {CALIBRATED * BAND.value:g} ({CALIBRATED} x the "
                  f"band {BAND.value:g}; twice the fitted interval's half-width is wider): the change would vanish "
                  "faster, like m^(0.6 - 2 alpha_1)"),
      # a finding about the claim's resolution, not about the source: the lowered band's edge (1 - 2 alpha_1 - 0.2
      # = -1.2) lies where the measured exponent itself lies (-1.31 at quick, -1.30 at default), since the change
      # carries the factor 1/(2 log m) that shifts its local slope by -0.13 to -0.22; no fitted interval can lie
      # wholly above an edge the slope sits on, at any profile
      expect=Expectation("inconclusive", "a finding about the claim's resolution, not about the source: the "
                         "fitted exponent's 95 % interval lies below the one-sided band's edge -0.8 (quick [-1.66, "
                         "-0.96], default [-1.70, -0.90]; point estimates -1.31 and -1.30), so the check passes, but "
                         "its calibrated control (the derived exponent lowered by twice the band, 0.4, edge -1.2) is "
                         "not refuted: the measured exponent, shifted by the 1/(2 log m) factor of q_max(0)^2, sits "
                         "across the lowered band's edge, so the one-sided band cannot resolve 0.4 (with the seeds "
                         "before the shared seed scheme the interval also straddled -0.8: [-1.66, -0.70] at quick)"))


# ---------------------------------------------------------------------------------------------------------------
# D6-T-p: the plateau's length per seed, from the exact linear flow
# ---------------------------------------------------------------------------------------------------------------

#: the runs of D5-growth-lemma (same group, so its cached runs are reused): the profile's width, alpha = 1.5, so
#: that q_max(0) ~ m^-1.5 sqrt(2 log m) starts well below m^(-alpha_1) = m^-1 and the plateau spans several
#: e-folds of the growing mode
TP_ALPHA, TP_T_MAX, TP_GRID = 1.5, 8.0, 401
#: the calibrated control moves each seed's prediction by this many times its tolerance (at most twice)
TP_CALIBRATED = 1.5
TP_TOL = Tolerance(
    "linear-flow-remainder", 1.0,
    "per seed, |T_p(simulated) - T_p(linear flow)| <= Delta_T, the first-order bound on what the linear flow "
    "neglects: by variation of constants and D3, max_k |q_k(T)| moves by at most C_1 (m + 1) int_0^T "
    "e^{|z|(T - s)} q_max(s)^3 ds, which divided by q_max(T) and by the slope d log q_max / dt at T is a time "
    "(verify.multistage.linear_stage.remainder_shift, q_max evaluated on the linear flow), plus the "
    "measurement's own interpolation error (the simulator's log-linear first-crossing rule applied to the linear "
    "flow on the same recorded times, against its exact root); the value 1 is the ratio error / Delta_T, and "
    "every seed must be within it (one resolved counterexample fails the claim)")


def _tp_row(ctx, seed: int, T_p_of) -> dict:
    from ..initialisation import initial_parameters
    from ..simulation import first_crossing

    config = ctx.config(model={"alpha": TP_ALPHA}, train={"seed": seed, "t_max": TP_T_MAX})
    traj, obs, kernel, meas, pred = ctx.run(config, grid=TP_GRID)
    m, zn, a1 = config.model.width, pred["z_norm"], config.alpha_1
    a, W = initial_parameters(m, config.dataset.dim, float(config.model.alpha), seed)
    u, v, p = modes(a, W, config.dataset.z)
    level = float(m) ** (-a1)
    row = {"seed": seed, "width": m, "alpha_1": a1, "level": level, "q_max0": float(obs["q_max"][0]),
           "measured": meas["T_p"]["value"], "t_end": float(traj.t[-1])}
    method, lr = config.train.method, (float(config.train.lr) if config.train.method == "gd" else None)
    exact = first_passage(level, u, v, p, zn, method, lr)
    if exact is None or pred["C_1"] is None:
        row["applicable"] = (meas["reasons"].get("T_p.value", "no initial plateau") if exact is None
                             else pred["reasons"]["C_1"])
        return row
    row["predicted"] = T_p_of(pred, exact, u, v, p, level)
    # the measurement's interpolation error: the simulator's rule on the linear flow's q_max at the recorded times
    crossing = first_crossing(traj.t, q_max_linear(traj.t, u, v, p, zn, method, lr), level)
    row["interpolation"] = abs(crossing - exact) if crossing is not None else 0.0
    row["remainder"] = remainder_shift(pred["C_1"], m, exact, u, v, p, zn, method, lr)
    row["tolerance"] = row["remainder"] + row["interpolation"]
    row["applicable"] = True
    if row["measured"] is None:
        row["error"], row["ratio"] = None, None
        row["why"] = (f"q_max never reached m^(-alpha_1) = {level:.3g} before t = {row['t_end']:g}, while the "
                      f"prediction is T_p = {row['predicted']:.4g}")
    else:
        row["error"] = row["measured"] - row["predicted"]
        row["ratio"] = abs(row["error"]) / row["tolerance"]
    return row


def _linear_flow_T_p(pred, exact, u, v, p, level):
    return exact


def _growth_only_T_p(pred, exact, u, v, p, level):
    """The earlier estimate: all of q_max(0) grows at |z| from t = 0 (the negative control)."""
    return float(numeric(initial_plateau.T_p_growth_only, (m_sym, alpha_1, q0, z_norm_sym))(
        len(u), pred["T_p"]["alpha_1"], pred["T_p"]["q_max0"], pred["z_norm"]))


def _check_T_p(ctx, T_p_of=_linear_flow_T_p, shift: float = 0.0, what: str = "exact linear flow") -> Verdict:
    seeds = ctx.init_seeds()
    rows = []
    for seed in seeds:
        row = _tp_row(ctx, seed, T_p_of)
        if shift and row["applicable"] is True:     # the calibrated control: shift * the seed's tolerance later
            row["predicted"] += shift * row["tolerance"]
            if row["measured"] is not None:
                row["error"] = row["measured"] - row["predicted"]
                row["ratio"] = abs(row["error"]) / row["tolerance"]
        rows.append(row)
    tested = [r for r in rows if r["applicable"] is True]
    details = {"alpha": TP_ALPHA, "t_max": TP_T_MAX, "grid": TP_GRID, "prediction": what,
               "rule": "every seed: |measured - predicted| <= its Delta_T (tolerance); one seed outside fails"}
    if shift:
        details["calibrated_shift"] = f"each prediction moved later by {shift:g} x its seed's tolerance"
    if not tested:
        return Verdict(Status.NOT_APPLICABLE, {"T_p": what}, {"seeds": rows}, TP_TOL, seeds=seeds,
                       details=details, key=key_number("|T_p error| / Delta_T, worst seed", None, None, None,
                                                       f"no seed has an initial plateau: {rows[0]['applicable']}"))
    bad = [r for r in tested if r["ratio"] is None or r["ratio"] > TP_TOL.value]
    passed = not bad
    finite = [r["ratio"] for r in tested if r["ratio"] is not None]
    worst = max(finite) if len(finite) == len(tested) else None
    worst_row = max(tested, key=lambda r: float("inf") if r["ratio"] is None else r["ratio"])
    rel = [abs(r["error"]) / r["predicted"] for r in tested if r["error"] is not None]
    res_rel = max(TP_CALIBRATED * r["tolerance"] / r["predicted"] for r in tested)
    measured = {"seeds": rows, "worst_ratio": worst,
                "worst_relative_error": max(rel) if rel else None,
                "relative_tolerance": [r["tolerance"] / r["predicted"] for r in tested]}
    if not passed:
        why = (worst_row.get("why") or
               f"{len(bad)} of {len(tested)} seeds outside their tolerance; seed {worst_row['seed']}: simulated "
               f"T_p = {worst_row['measured']:.5g} against {worst_row['predicted']:.5g} predicted "
               f"({worst_row['error']:+.3g}, Delta_T = {worst_row['tolerance']:.3g})")
    else:
        why = None
    if len(tested) < len(rows):
        details["not_applicable_seeds"] = [r["seed"] for r in rows if r["applicable"] is not True]
    return Verdict(Status.PASSED if passed else Status.FAILED,
                   predicted={"T_p": what, "per_seed": [r["predicted"] for r in tested],
                              "expression": str(initial_plateau.q_sq_flow)},
                   measured=measured, tolerance=TP_TOL, seeds=seeds, details=details,
                   range={"seeds": seeds, "m": int(tested[0]["width"]), "alpha": TP_ALPHA,
                          "alpha_1": float(tested[0]["alpha_1"])},
                   rows=rows_of(({"seed": r["seed"]}, r["ratio"], r["ratio"] is not None and r["ratio"] <= TP_TOL.value)
                                for r in tested),
                   resolution=resolution_of(
                       f"T_p off by more than {TP_CALIBRATED:g} x its seed's Delta_T (at most {res_rel:.2%} "
                       "relative on these seeds); the measured errors are far inside Delta_T (worst "
                       f"{worst if worst is not None else float('nan'):.2g} of it), which bounds what the linear "
                       "flow neglects rather than estimating it", res_rel, "relative"),
                   # margin: the worst seed's |measured - predicted| over its Delta_T (below 1 on every seed passes)
                   key={**key_number(f"|simulated T_p - predicted| / Delta_T, worst of {len(tested)} seeds",
                                     worst_row["measured"], worst_row["predicted"],
                                     margin_as_judged(worst, passed) if worst is not None else None, why),
                        "quantifier": "every"})


claim("D6-T-p", "T_p per seed: the first passage of q_max through m^(-alpha_1) under the exact linear flow", "D6",
      _check_T_p, lambda ctx: _check_T_p(ctx, _growth_only_T_p, what="growth only: log(m^-alpha_1 / q_max(0))/|z|"),
      "the earlier estimate T_p = log(m^(-alpha_1) / q_max(0)) / |z| (all of q_max(0) growing at |z| from t = 0)",
      group="growth",
      calibrated=(lambda ctx: _check_T_p(ctx, shift=TP_CALIBRATED),
                  f"each seed's linear-flow T_p moved later by {TP_CALIBRATED:g} x its tolerance Delta_T"))
