"""Q2: heavy ball on the noisy quadratic simulated against its exact floor, stability region and relaxation rate,
and the measured error of the independent-iterates approximation."""
from __future__ import annotations

import functools
import math

import numpy as np
from scipy import stats

from theory.bridge import numeric
from theory.noisy_quadratic import momentum as theory

from ...registry import Status, Tolerance, Verdict, key_number, resolution, rows_of
from ...stats import count_key, every_key, judge_points
from ..context import claim
from ..mc import (CALIBRATED, CONFIRM_CHAINS, confirm_bound, two_stage, z_bound, z_resolution,
                  z_tolerance)
from ..simulation import chain_interval

CURVATURE, NOISE = 1.0, 1.0
#: the burn-in leaves the covariance this far (relative) from stationarity, by the derived spectral radius
BURN_IN_RESIDUAL = 1e-6
_ARGS = (theory.alpha, theory.lam, theory.sigma, theory.gamma)
_RHO = (theory.alpha, theory.lam, theory.gamma)


def _bound(gamma_value: float, upper=theory.STABLE_UPPER) -> float:
    return float(numeric(upper, (theory.gamma,))(gamma_value))


def grid(ctx) -> tuple[np.ndarray, np.ndarray]:
    """(alpha lambda, gamma) of the floor checks: fractions of the derived stability bound at each gamma."""
    p = ctx.profile
    gs = np.repeat(p.momentum_gammas, len(p.momentum_fractions))
    fr = np.tile(p.momentum_fractions, len(p.momentum_gammas))
    return np.array([f * _bound(g) for f, g in zip(fr, gs)]), gs


def momentum_run(ctx, confirm: int | None = None):
    """The grid's chains and their intervals.  ``confirm``: the index of one grid point, re-simulated alone for the
    two-stage rule (:meth:`Context.confirm_run`: CONFIRM_CHAINS x the chains on its own stream) by this same call,
    with the grid's burn-in and steps."""
    p = ctx.profile
    cs, gs = grid(ctx)
    rho = numeric(theory.SPECTRAL_RADIUS, _RHO)
    with np.errstate(invalid="ignore"):                   # the unused branch of the Piecewise is evaluated too
        slowest = max(float(rho(cv, 1.0, gv)) for cv, gv in zip(cs, gs))
    burn = int(math.ceil(math.log(BURN_IN_RESIDUAL) / (2 * math.log(slowest))))
    sim = ctx.run
    if confirm is not None:
        cs, gs, sim = cs[confirm:confirm + 1], gs[confirm:confirm + 1], functools.partial(ctx.confirm_run, confirm)
    run = sim("momentum", cs / CURVATURE, CURVATURE, NOISE, gs, chains=p.momentum_chains,
                  steps=burn + p.momentum_steps, burn_in=burn)
    ci = chain_interval(run.chain_means, run.chain_sq, p.momentum_steps)
    return cs, gs, ci, burn


def floor_rows(ctx, loss=theory.STATIONARY_LOSS, confirm: int | None = None) -> tuple[list, int]:
    """One row per grid point (``confirm``: the one row of that point's confirmation, :func:`momentum_run`)."""
    cs, gs, ci, burn = momentum_run(ctx, confirm)
    exact = numeric(loss, _ARGS)
    approx = numeric(theory.APPROXIMATION, _ARGS)
    rows = []
    for j, (cv, gv) in enumerate(zip(cs, gs)):
        pred = float(exact(cv / CURVATURE, CURVATURE, NOISE, gv))
        with np.errstate(divide="ignore"):                # at the approximation's pole
            ap = float(approx(cv / CURVATURE, CURVATURE, NOISE, gv))
        mean, se = float(ci["mean"][j]), float(ci["stderr"][j])
        rows.append({"index": j if confirm is None else confirm, "gamma": float(gv), "alpha_lambda": float(cv),
                     "predicted": pred, "approximation": ap,
                     "measured": mean, "stderr": se, "naive_stderr": float(ci["naive_stderr"][j]),
                     "autocorrelation_time": float(ci["autocorrelation_time"][j]), "z": (mean - pred) / se,
                     "z_approximation": (mean - ap) / se if ap > 0 else None})
    return rows, burn


def _confirmation(ctx, loss, index: int, field: str = "z") -> dict:
    """The two-stage rule's confirmation of grid point ``index`` (:func:`verify.noisy_quadratic.mc.two_stage`):
    its ``field`` (``z`` or ``z_approximation``) re-measured alone with CONFIRM_CHAINS x the chains."""
    (r,), _ = floor_rows(ctx, loss, confirm=index)
    return {"z": r[field], "measured": r["measured"], "stderr": r["stderr"],
            "chains": CONFIRM_CHAINS * ctx.profile.momentum_chains,
            "spawn_key": list(ctx.confirm_key("momentum", index))}


def _where(r) -> dict:
    return {"gamma": r["gamma"], "alpha lambda": r["alpha_lambda"]}


# ---------------------------------------------------------------------------
# Q2-stationary-loss


def _grid_range(ctx, rows) -> dict:
    """The range of the Q2 floor grid: its gammas, alpha lambda, chains, steps and seed."""
    return {"gamma": sorted({r["gamma"] for r in rows}),
            "alpha lambda": [min(r["alpha_lambda"] for r in rows), max(r["alpha_lambda"] for r in rows)],
            "chains": ctx.profile.momentum_chains, "steps": ctx.profile.momentum_steps, "seeds": [ctx.seed]}


def check_floor(ctx, loss=theory.STATIONARY_LOSS, calibrated: bool = False) -> Verdict:
    """Every simulated floor of the grid within the Bonferroni z bound of the exact one: judged on every point
    (stats.every_key).  ``calibrated``: the calibrated control, ``loss`` times 1 + the resolution (CALIBRATED x
    the z bound standard errors at the most precise point)."""
    rows, burn = floor_rows(ctx, loss)
    tol = z_tolerance(len(rows), "the exact floor at every (gamma, alpha lambda) of the grid")
    eps, j = z_resolution([r["predicted"] for r in rows], [r["stderr"] for r in rows], tol.value)
    where = f"gamma = {rows[j]['gamma']:g}, alpha lambda = {rows[j]['alpha_lambda']:.3g}"
    if calibrated:
        loss = loss * (1 + eps)
        rows, burn = floor_rows(ctx, loss)
    worst = max(abs(r["z"]) for r in rows)
    # the two-stage rule (mc.two_stage), then every point: its |z| over the Bonferroni bound of the grid, or for a
    # point beyond it its confirmation's |z| over the single bound; below 1 exactly when the point passes
    judged, confirmations = two_stage([(_where(r), r["z"]) for r in rows], tol.value,
                                      lambda i: _confirmation(ctx, loss, rows[i]["index"]))
    status, key, listed = every_key(
        f"|simulated - exact floor| <= {tol.value:.3g} standard errors (beyond it: <= {confirm_bound():.3g} in "
        "the point's confirmation)", judged, unit="points")
    return Verdict(status,
                   predicted={"loss": str(loss)}, tolerance=tol,
                   measured={"max_abs_z": worst, "points": rows, "confirmations": confirmations},
                   key=key, rows=listed,
                   resolution=resolution(f"a floor off by >= {eps:.2%} (relative: {CALIBRATED:g} x the z bound "
                                         f"{tol.value:.3g} standard errors at {where}, the most precise point)",
                                         eps, "relative"),
                   seeds=[ctx.seed], range=_grid_range(ctx, rows),
                   details={"curvature": CURVATURE, "noise": NOISE, "burn_in": burn,
                            "steps": ctx.profile.momentum_steps,
                            "chains": ctx.profile.momentum_chains,
                            "grid": "alpha lambda = fraction x (1 + gamma), the derived bound",
                            "notes": list(ctx.notes)})


claim("Q2-stationary-loss", "Heavy ball settles at alpha lambda^2 sigma^2 (1 + gamma) / ((1 - gamma)"
      "(1 + gamma - alpha lambda)) (2x2 Lyapunov solution)", "Q2",
      check_floor, lambda ctx: check_floor(ctx, theory.STATIONARY_LOSS.subs(theory.alpha, 1.1 * theory.alpha)),
      "the derived exact floor with alpha scaled by 1.1", group="q2-floor",
      calibrated=(lambda ctx: check_floor(ctx, calibrated=True),
                  f"the derived exact floor times 1 + {CALIBRATED:g} x the z bound x the smallest relative standard "
                  "error of a simulated floor"))


# ---------------------------------------------------------------------------
# Q2-approximation-error

#: a point tells the two formulas apart when they differ by this many standard errors
DISTINGUISH = 8.0
APPROX_TOL = Tolerance(
    "monte-carlo-z (exact vs approximation)", 0.0,
    "at every simulated point where the two formulas differ by at least 8 standard errors (or where the "
    "approximation is infinite or negative, i.e. predicts no stationary law), the prediction must agree with "
    "the simulation under the two-stage z rule of the Q2 floor (within the Bonferroni z bound of the grid at "
    "family level 1 %, or, beyond it, within the single bound 2.58 in the point's own confirmation with 4x the "
    "chains; a right prediction breaks a point by chance with probability below 1e-4 over the grid) and the "
    "alternative must lie beyond the grid's bound; the value 0 is the number of points allowed to break this")


def approximation_scan(gammas=None, points: int = 400) -> dict:
    """The derived relative error of the approximation over gamma in [0, 0.99] and the stable alpha lambda."""
    gammas = np.linspace(0, 0.99, 100) if gammas is None else np.asarray(gammas)
    rel = numeric(theory.RELATIVE_ERROR, _RHO)
    worst, where, fail_fraction = 0.0, None, []
    for g in gammas:
        upper = _bound(g)
        pole = float(numeric(theory.APPROX_POLE, (theory.gamma,))(g))
        cs = np.geomspace(1e-4, upper, points + 1)[:-1] * (1 - 1e-9)
        cs = cs[cs < pole * (1 - 1e-6)]
        if len(cs):
            err = np.abs(np.asarray(rel(cs, 1.0, g), float))
            k = int(err.argmax())
            if err[k] > worst:
                worst, where = float(err[k]), {"gamma": float(g), "alpha_lambda": float(cs[k])}
        fail_fraction.append(1 - pole / upper)
    small = np.abs(np.asarray(rel(1e-6, 1.0, gammas), float))
    return {"max_abs_relative_error_where_finite": worst, "at": where,
            "note": "the approximation's error grows without bound toward its pole alpha lambda = 1 - gamma^2",
            "small_step_relative_error_at_gamma_0.99": float(small[-1]),
            "fraction_of_stable_range_where_approximation_predicts_instability": {
                "gamma": [float(g) for g in gammas[::11]], "fraction": [float(f) for f in fail_fraction[::11]]},
            "gammas": len(gammas)}


def _distinguishing(rows) -> list:
    """The rows where the two formulas differ by at least DISTINGUISH standard errors (or the approximation has
    no floor)."""
    return [r for r in rows if r["approximation"] <= 0
            or abs(r["predicted"] - r["approximation"]) / r["stderr"] >= DISTINGUISH]


def check_approximation(ctx, prediction="exact", calibrated: bool = False) -> Verdict:
    """``calibrated``: the calibrated control, the exact floor times 1 + the resolution (CALIBRATED x the z bound
    standard errors at the most precise distinguishing point)."""
    rows, _ = floor_rows(ctx)
    zmax = z_bound(len(rows))
    told_rows = _distinguishing(rows)
    eps, loss = None, theory.STATIONARY_LOSS
    if told_rows:
        eps, j = z_resolution([r["predicted"] for r in told_rows], [r["stderr"] for r in told_rows], zmax)
        where = f"gamma = {told_rows[j]['gamma']:g}, alpha lambda = {told_rows[j]['alpha_lambda']:.3g}"
        if calibrated:
            loss = theory.STATIONARY_LOSS * (1 + eps)
            rows, _ = floor_rows(ctx, loss)
    told_rows = _distinguishing(rows)
    told = len(told_rows)
    field, other = ("z", "z_approximation") if prediction == "exact" else ("z_approximation", "z")
    # the prediction's fit under the two-stage rule (mc.two_stage): beyond the grid's bound, the point's
    # confirmation decides; the alternative must be refuted at stage 1 (|z| beyond the bound; an approximation
    # with no floor counts as refuted, a prediction with none as unmeasured, which breaks)
    judged, confirmations = two_stage([(_where(r), r[field]) for r in told_rows], zmax,
                                      lambda i: _confirmation(ctx, loss, told_rows[i]["index"], field))
    breaks, kept = [], []
    for r, (where_r, used) in zip(told_rows, judged):
        z_pred = None if r[field] is None else abs(r[field])
        z_alt = math.inf if r[other] is None else abs(r[other])
        fits = used is not None and used <= 1
        if not (fits and z_alt > zmax):
            breaks.append({"gamma": r["gamma"], "alpha_lambda": r["alpha_lambda"], "z_prediction": z_pred,
                           "z_alternative": z_alt, "prediction_used_after_confirmation": used})
        elif "after confirmation" in where_r:
            kept.append((where_r, used, True))
    scan = approximation_scan()
    measured_rel = [{"gamma": r["gamma"], "alpha_lambda": r["alpha_lambda"],
                     "approximation_over_measured_minus_1": (r["approximation"] / r["measured"] - 1)
                     if r["approximation"] > 0 else None} for r in rows]
    status = Status.INCONCLUSIVE if told == 0 else Status.PASSED if not breaks else Status.FAILED
    # margin: a count rule, breaks / (allowed breaks + 1/2), allowed = 0 (stats.count_margin): below 1 exactly when
    # no distinguishing point breaks; none without a distinguishing point
    why = {Status.PASSED: None,
           Status.INCONCLUSIVE: f"no simulated point separates the two formulas by {DISTINGUISH:g} standard errors",
           Status.FAILED: f"at {len(breaks)} of {told} distinguishing points the {prediction} floor misses the "
                          "simulation or the alternative fits it"}[status]
    key = count_key(f"fraction of distinguishing points where the {prediction} floor fits and the alternative "
                    "does not", told - len(breaks), told, why, allowed=int(APPROX_TOL.value),
                    unit="distinguishing points")
    return Verdict(status, key=key,
                   predicted={"prediction": prediction, "exact": str(theory.STATIONARY_LOSS),
                              "approximation": str(theory.APPROXIMATION),
                              "relative_error": str(theory.RELATIVE_ERROR)},
                   measured={"distinguishing_points": told, "breaks": breaks, "z_bound": zmax,
                             "confirmation_bound": confirm_bound(), "confirmations": confirmations, "scan": scan,
                             "measured_relative_error_of_approximation": measured_rel},
                   tolerance=APPROX_TOL, seeds=[ctx.seed], range=_grid_range(ctx, rows),
                   rows=rows_of([({"gamma": b["gamma"], "alpha lambda": b["alpha_lambda"]}, None, False)
                                 for b in breaks] + kept),
                   resolution=resolution("nothing: no simulated point separates the two formulas") if eps is None
                   else resolution(f"the exact floor off by >= {eps:.2%} (relative: {CALIBRATED:g} x the z bound "
                                   f"{zmax:.3g} standard errors at {where}, the most precise distinguishing point); "
                                   f"the two formulas are told apart where they differ by >= {DISTINGUISH:g} "
                                   "standard errors", eps, "relative"),
                   details={"distinguish_at_stderrs": DISTINGUISH,
                            "approximation_assumes": "successive iterates independent (E[u_{n-1} grad_n] = "
                                                     "E[x_n u_{n-1}] = 0)"})


claim("Q2-approximation-error", "The exact floor matches simulation where the independent-iterates approximation "
      "does not", "Q2",
      check_approximation, lambda ctx: check_approximation(ctx, prediction="approximation"),
      "the same check with the approximation as the prediction and the exact floor as the alternative",
      group="q2-floor", heuristic=True,
      calibrated=(lambda ctx: check_approximation(ctx, calibrated=True),
                  f"the exact floor times 1 + {CALIBRATED:g} x the z bound x the smallest relative standard error "
                  "of a distinguishing point"))


# ---------------------------------------------------------------------------
# Q2-stability-region

REGION_MARGIN = 0.05
#: the calibrated control lowers the derived bound by this many margins (7.5 %): the runs meant to diverge then
#: sit 2.9 % inside the true bound (the smallest lowering the runs resolve is 5 / 105 = 4.8 %, the smallest
#: raising 5 / 95 = 5.3 %); twice the margin would be the negative control's 10 %
REGION_CALIBRATED = 1.5
REGION_GAMMAS = (0.0, 0.5, 0.9, 0.99)
REGION_TOL = Tolerance(
    "growth-ratio", 10.0,
    "from x_0 = 0 each run's mean loss over its last quarter is compared with its mean over its second quarter: "
    "a stable process has relaxed by then (spectral radius at most 0.995 at 5 % inside the bound: 0.995^750 < "
    "0.03), so the ratio is 1 within Monte Carlo error, and is called bounded below 10; outside, the radius "
    "exceeds 1.02 and the loss grows by more than 1e10 over a quarter (or overflows), called divergent above 1e3")


def check_region(ctx, upper=theory.STABLE_UPPER) -> Verdict:
    p = ctx.profile
    cs, gs, expected = [], [], []
    for g in REGION_GAMMAS:
        b = _bound(g, upper)
        for side, f in (("bounded", 1 - REGION_MARGIN), ("divergent", 1 + REGION_MARGIN)):
            cs.append(b * f)
            gs.append(g)
            expected.append(side)
    run = ctx.run("region", np.array(cs) / CURVATURE, CURVATURE, NOISE, np.array(gs), chains=p.region_chains,
                  steps=p.region_steps)
    q = p.region_steps // 4
    rows, agree = [], 0
    with np.errstate(over="ignore", invalid="ignore"):
        for j in range(len(cs)):
            late, mid = run.loss[j, 3 * q:].mean(), run.loss[j, q:2 * q].mean()
            ratio = late / mid if np.isfinite(late) and np.isfinite(mid) and mid > 0 else math.inf
            got = "bounded" if ratio < REGION_TOL.value else "divergent" if ratio > 1e3 else "undecided"
            agree += got == expected[j]
            rows.append({"gamma": gs[j], "alpha_lambda": cs[j], "expected": expected[j], "measured": got,
                         "growth_ratio": float(ratio) if math.isfinite(ratio) else None})
    wrong = [r for r in rows if r["measured"] != r["expected"]]
    # margin: a count rule, runs whose outcome disagrees with the derived bound / (0 allowed + 1/2)
    # (stats.count_margin): below 1 exactly when every run agrees
    key = count_key("fraction of runs 5 % inside/outside the bound whose outcome agrees with it", agree, len(rows),
                    None if not wrong else
                    f"{len(wrong)} run(s) disagree with the derived bound, e.g. at gamma = {wrong[0]['gamma']:g}, "
                    f"alpha lambda = {wrong[0]['alpha_lambda']:.3g}: expected {wrong[0]['expected']}, measured "
                    f"{wrong[0]['measured']}", unit="runs")
    res = resolution(f"the stability bound off by > {REGION_MARGIN / (1 + REGION_MARGIN):.1%} (lowered) or > "
                     f"{REGION_MARGIN / (1 - REGION_MARGIN):.1%} (raised): runs {REGION_MARGIN:.0%} inside and "
                     "outside it", REGION_MARGIN / (1 - REGION_MARGIN), "relative")
    return Verdict(Status.PASSED if agree == len(rows) else Status.FAILED, key=key, resolution=res,
                   predicted={"upper bound": str(upper), "margin": REGION_MARGIN},
                   measured={"agreeing": agree, "runs": rows}, tolerance=REGION_TOL, seeds=[ctx.seed],
                   range={"gamma": list(REGION_GAMMAS), "alpha lambda": f"bound x (1 -+ {REGION_MARGIN:g})",
                          "chains": p.region_chains, "steps": p.region_steps, "seeds": [ctx.seed]},
                   rows=rows_of(({"gamma": r["gamma"], "alpha lambda": r["alpha_lambda"]}, None, False)
                                for r in wrong),
                   details={"steps": p.region_steps, "chains": p.region_chains, "x0": 0.0})


claim("Q2-stability-region", "Heavy ball is stable exactly for 0 < alpha lambda < 1 + gamma (Jury)", "Q2",
      check_region,
      lambda ctx: check_region(ctx, 0.9 * theory.STABLE_UPPER),
      "the derived stability bound scaled by 0.9 (runs 5 % beyond it are then still stable)", group="q2-region",
      calibrated=(lambda ctx: check_region(ctx, (1 - REGION_CALIBRATED * REGION_MARGIN) * theory.STABLE_UPPER),
                  f"the derived stability bound scaled by {1 - REGION_CALIBRATED * REGION_MARGIN:g} "
                  f"({REGION_CALIBRATED:g} x the {REGION_MARGIN:.0%} margin of the runs)"))


# ---------------------------------------------------------------------------
# Q2-relaxation

#: (gamma, alpha lambda): real eigenvalues (D >= 0) and complex ones
RATE_POINTS = ((0.0, 0.2), (0.5, 0.01), (0.5, 0.3), (0.9, 0.05), (0.5, 1.48), (0.9, 1.2))
RATE_NOISE, RATE_X0 = 1e-6, 1.0
#: the fit uses steps while |mean x| exceeds this (the mean's Monte Carlo error is below 1e-7 for these runs)
RATE_FLOOR = 1e-4
RATE_TOL = Tolerance(
    "rate-fit", 0.01,
    "the mean of the chains' x obeys the characteristic recursion m_{n+1} = T m_n - D m_{n-1} of the process "
    "exactly, up to the chains' mean noise -2 alpha lambda mean(eps_n), independent across steps (from n = 1 on; "
    "the update eliminated for v); T and D are fitted by least squares to the simulated mean (Prony's method) "
    "while |m_n| > 1e-4, three decades above the mean's Monte Carlo error (sigma = 1e-6 against x_0 = 1), and the "
    "measured relaxation rate 1 - rho is the largest root modulus of the fitted polynomial, with the 95 % t "
    "interval of the regression's standard errors carried to rho by the delta method (its derivative in T and D, "
    "real or complex roots).  Under the interval rule of issue 19 that interval must lie within 1 % of the "
    "derived 1 - rho (a 5 % change of gamma moves it by more than 4 % at every point)")


def _prony_radius(m: np.ndarray) -> tuple[float, list, float, int]:
    """Prony's fit of the mean ``m``: the largest root modulus rho of z^2 - T z + D, the fitted (T, D), the
    standard error of rho (the least-squares covariance of (T, D), residuals independent across steps, carried
    by the delta method) and the regression's degrees of freedom."""
    keep = np.flatnonzero(np.abs(m) > RATE_FLOOR)
    last = int(keep[-1]) if len(keep) else 2
    last = max(last, 3)
    y = m[2:last + 1]
    X = np.column_stack([m[1:last], -m[0:last - 1]])
    (t, d), *_ = np.linalg.lstsq(X, y, rcond=None)
    roots = np.roots([1.0, -t, d])
    rho = float(np.max(np.abs(roots)))
    dof = len(y) - 2
    resid = y - X @ np.array([t, d])
    with np.errstate(divide="ignore", invalid="ignore"):
        cov = float(resid @ resid) / dof * np.linalg.pinv(X.T @ X) if dof > 0 else np.full((2, 2), np.inf)
        disc = t * t - 4 * d
        grad = (np.array([(np.sign(t) + t / math.sqrt(disc)) / 2, -1 / math.sqrt(disc)]) if disc > 0 else
                np.array([0.0, 1 / (2 * math.sqrt(d))]) if disc < 0 and d > 0 else np.array([np.inf, np.inf]))
        se = float(math.sqrt(max(grad @ cov @ grad, 0.0))) if np.all(np.isfinite(grad)) else math.inf
    return rho, [float(t), float(d)], se, dof


def check_rate(ctx, radius=theory.SPECTRAL_RADIUS, shift: float = 0.0) -> Verdict:
    """The interval rule of issue 19 at each (gamma, alpha lambda): the fitted 1 - rho's 95 % interval inside the
    derived 1 - rho +- RATE_TOL of it (passed), wholly outside (failed), straddling (inconclusive); the claim takes
    the worst point.  ``shift``: the calibrated control, each derived 1 - rho raised by ``shift`` x its band's
    half-width (``shift`` x RATE_TOL of it)."""
    p = ctx.profile
    gs = np.array([g for g, _ in RATE_POINTS])
    cs = np.array([c for _, c in RATE_POINTS])
    steps = 400
    run = ctx.run("rate", cs / CURVATURE, CURVATURE, RATE_NOISE, gs, chains=p.rate_chains, steps=steps,
                  x0=RATE_X0)
    rho_fn = numeric(radius, _RHO)
    disc = numeric(theory.DISCRIMINANT, _RHO)
    rows = []
    for j, (g, cv) in enumerate(RATE_POINTS):
        measured, (t, d), se, dof = _prony_radius(run.mean_x[j])
        with np.errstate(invalid="ignore"):               # the unused branch of the Piecewise is evaluated too
            pred = float(rho_fn(cv, 1.0, g))
        rate = (1 - pred) * (1 + shift * RATE_TOL.value)      # negative where the prediction is unstable
        half = float(stats.t.ppf(0.975, dof)) * se if dof > 0 else math.inf
        rows.append({"gamma": g, "alpha_lambda": cv,
                     "eigenvalues": "real" if float(disc(cv, 1.0, g)) >= 0 else "complex",
                     "measured_rho": measured, "predicted_rho": 1 - rate, "measured_rate": 1 - measured,
                     "predicted_rate": rate, "relative_error_of_1_minus_rho": abs((1 - measured) - rate) / abs(rate),
                     "rho_stderr": se, "interval_95": [1 - measured - half, 1 - measured + half],
                     "band": [rate - RATE_TOL.value * abs(rate), rate + RATE_TOL.value * abs(rate)],
                     "fitted_trace_det": [t, d], "dof": dof})
    status, j, why = judge_points(rows, lambda r: f"the fitted 1 - rho at gamma = {r['gamma']:g}, alpha lambda = "
                                                  f"{r['alpha_lambda']:g}")
    worst = rows[j]
    key = key_number(f"1 - rho at gamma = {worst['gamma']:g}, alpha lambda = {worst['alpha_lambda']:g} (the worst "
                     f"of {len(rows)})", worst["measured_rate"], worst["predicted_rate"], worst["margin"], why,
                     interval=worst["interval_95"], band=worst["band"])
    widest = max(r["interval_95"][1] - r["interval_95"][0] for r in rows) / 2
    return Verdict(Status(status), predicted={"spectral radius": str(radius), "shift": shift}, key=key,
                   measured={"points": rows, "widest_half_width": widest}, tolerance=RATE_TOL, seeds=[ctx.seed],
                   resolution=resolution(f"1 - rho off by >= {CALIBRATED * RATE_TOL.value:.0%} (relative: "
                                         f"{CALIBRATED:g} x the {RATE_TOL.value:.0%} band; the fitted intervals' "
                                         f"half-widths are at most {widest:.2g})", CALIBRATED * RATE_TOL.value,
                                         "relative"),
                   range={"(gamma, alpha lambda)": [f"({g:g}, {c:g})" for g, c in RATE_POINTS],
                          "chains": p.rate_chains, "steps": steps, "seeds": [ctx.seed]},
                   rows=rows_of(({"gamma": r["gamma"], "alpha lambda": r["alpha_lambda"]}, r["margin"], r["status"])
                                for r in rows),
                   details={"x0": RATE_X0, "v0": 0.0, "noise": RATE_NOISE, "steps": steps,
                            "chains": p.rate_chains})


claim("Q2-relaxation", "Heavy ball relaxes at the spectral radius of its companion matrix (real and complex "
      "eigenvalues)", "Q2", check_rate,
      lambda ctx: check_rate(ctx, theory.SPECTRAL_RADIUS.subs(theory.gamma, 0.95 * theory.gamma)),
      "the derived spectral radius with gamma scaled by 0.95", group="q2-rate",
      calibrated=(lambda ctx: check_rate(ctx, shift=CALIBRATED),
                  f"each derived 1 - rho times {1 + CALIBRATED * RATE_TOL.value:g} ({CALIBRATED:g} x its band's "
                  "half-width)"))
