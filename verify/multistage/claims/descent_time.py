"""D9: t_half per seed; the slopes of T_d in alpha and in log m; gradient descent as a map of K."""
from __future__ import annotations

import numpy as np
import sympy as sp

from theory.multistage import critical_point, descent_time
from theory.bridge import numeric
from theory.multistage.symbols import K0, alpha, delta, eta, m, z_norm

from ...registry import Expectation, Tolerance, Verdict, key_number
from ...registry import resolution as resolution_of
from ...stats import every_key, fit_key, fit_slope
from ..context import claim

T_HALF = Tolerance("t_half-relative", 5e-3,
                   "reference runs of the prototype agreed with t_half within 0.01 % for alpha >= 1, m >= 1000 and "
                   "within 0.6 % at alpha = 0.75, m = 250; 0.5 % covers the first and is a strict test at the second")
SLOPE = Tolerance("slope-relative", 0.05,
                  "reference runs of the prototype matched the slopes within 1 % (alpha) and 3 % (log m); the band is "
                  "5 % of the predicted slope plus twice the Monte Carlo standard error of the fitted slope, from "
                  "Var T_d = psi_1(m/2) / (2|z|)^2 per seed (2|z| K0 m^(2 alpha) is chi-squared with m degrees of "
                  "freedom)")
#: the GD step of D9-gd-rate: eta |z| = 0.75 on the base data (|z| ~ 0.83), inside the map's range
#: (eta |z| < 1) and where the logistic law with the GD rate is off by several per cent (reference runs: +8 % in
#: t_half and +42 % in T_d at eta |z| = 0.9), so that the claim separates the map from its control.
GD_LR = 0.9
#: T_d is taken at K = 1 - 0.1 in the slope sweeps: the cubic terms of sigma move the fixed point of K by
#: O(1/m), and T_d(delta) feels that shift unless delta >> 1/m (at delta = 0.01 the measured T_d came
#: 0.74, 0.56, 0.30, 0.18 time units early for m = 100, 200, 400, 800, biasing the slope in log m by +0.25).
SLOPE_DELTA = 0.1
#: the calibrated controls perturb the derived prediction by CALIBRATED x the tolerance: the rate 2|z| (so t_half)
#: by 1.5 x 0.5 %, the GD map's times by 1.5 x 0.5 %, a slope by 1.5 x its band's half-width
CALIBRATED = 1.5


def _t_half_errors(ctx, rate_expr, train=None, **run):
    """Per seed, the relative error of the simulated t_half against D9's t_half with the growth rate
    ``rate_expr`` (a SymPy expression in |z| and eta); the seeds, the errors and how many are within T_HALF."""
    t_half = numeric(descent_time.t_half.subs(descent_time.r, rate_expr), (K0, z_norm, eta))
    seeds, errs = ctx.init_seeds(), []
    for seed in seeds:
        config = ctx.config(train={"seed": seed, **(train or {})})
        traj, obs, kernel, meas, pred = ctx.run(config, **run)
        predicted = float(t_half(pred["K0"], pred["z_norm"], config.train.lr))
        errs.append(abs(meas["t_half"] / predicted - 1) if meas["t_half"] else float("inf"))
    return seeds, errs, sum(err <= T_HALF.value for err in errs)


def _t_half(ctx, rate_expr=descent_time.rate_flow) -> Verdict:
    seeds, errs, ok = _t_half_errors(ctx, rate_expr)
    # "for each initialisation": judged on every seed (stats.every_key)
    status, key, rows = every_key(f"|t_half / derived - 1| <= {T_HALF.value:g}",
                                  [({"seed": s}, e / T_HALF.value) for s, e in zip(seeds, errs)])
    return Verdict(status,
                   resolution=resolution_of(f"t_half off by >= {CALIBRATED * T_HALF.value:.2%} (relative)",
                                         CALIBRATED * T_HALF.value, "relative"),
                   predicted={"t_half": str(descent_time.t_half), "rate": str(rate_expr)},
                   measured={"relative_error_per_seed": errs, "fraction_within": ok / len(seeds)},
                   tolerance=T_HALF, seeds=seeds,
                   # margin: the worst seed's relative error / T_HALF, below 1 when every seed passes
                   key=key, rows=rows, range={"seeds": seeds, "m": ctx.config().model.width})


def _mean_T_d(ctx, **over):
    values, seeds = [], ctx.init_seeds(ctx.profile.sweep_seeds)
    for seed in seeds:
        analysis = {"delta": SLOPE_DELTA}
        config = ctx.config(train={"seed": seed}, model=over.get("model", {}), analysis=analysis)
        horizon = 1.5 * float(ctx.predict(config)["T_d"]["value"])    # past T_d, so the K = 1 - delta event is seen
        config = ctx.config(train={"seed": seed, "t_max": horizon}, model=over.get("model", {}), analysis=analysis)
        traj, obs, kernel, meas, pred = ctx.run(config, grid=101, remainder=False)
        values.append(meas["T_d"]["value"])
    return float(np.mean(values)), pred, seeds


def _mc_slope_se(x, widths, zn, seeds) -> float:
    """Standard error of a least-squares slope of mean T_d on ``x`` when each point averages ``seeds``
    independent initialisations: Var T_d = psi_1(m/2) / (2|z|)^2 (trigamma)."""
    from scipy.special import polygamma

    x = np.asarray(x, float)
    w = (x - x.mean()) / np.sum((x - x.mean()) ** 2)
    var = polygamma(1, np.asarray(widths, float) / 2) / (2 * zn) ** 2 / seeds
    return float(np.sqrt(np.sum(w**2 * var)))


def _slope_key(fit, what: str) -> dict:
    """The key number of a slope claim under the interval rule (stats.fit_key): the fitted slope, the derived
    one, the margin of the slope's 95 % interval against the band (model error plus twice the Monte Carlo error),
    none with fewer than 3 points."""
    if fit["points"] < 3:
        return key_number(what, fit["slope"], fit["predicted"], None,
                          f"only {fit['points']} sweep points: a slope needs at least 3")
    return fit_key(what, fit, fit["band"], fit["predicted"])[1]


def _point_in_band(fit) -> str:
    """The interval rule (stats.judge): passed only when the slope's whole 95 % interval lies in the band,
    inconclusive when it straddles an edge (or with fewer than 3 points), failed when it lies wholly outside."""
    if fit["points"] < 3:
        return "inconclusive"
    return fit_key("slope", fit, fit["band"])[0].value


def _slope_fit(x, Td, widths, zn, seeds, predicted, predicted_points, shift: float = 0.0) -> dict:
    """Fit mean T_d against ``x`` and attach the prediction and its band (model error + Monte Carlo).
    ``shift``: the calibrated control, the derived slope lowered by ``shift`` x its band's half-width."""
    fit = fit_slope(x, Td)
    se = _mc_slope_se(x, widths, zn, seeds)
    if shift:
        predicted = predicted - shift * (_band(predicted, se)[1] - predicted)
    fit.update({"predicted": predicted, "band": _band(predicted, se), "monte_carlo_se": se,
                "predicted_points": predicted_points})
    return fit


def _band(predicted, se):
    half = SLOPE.value * abs(predicted) + 2 * se
    return [predicted - half, predicted + half]


def _expected_T_d(a, width, zn, dlt):
    return numeric(descent_time.E_T_d.subs(descent_time.r, descent_time.rate_flow),
                   (alpha, m, z_norm, delta))(a, width, zn, dlt)


#: D9's slopes for the gradient flow, as derived (the checks evaluate these; the controls perturb them)
SLOPE_ALPHA = descent_time.slope_alpha.subs(descent_time.r, descent_time.rate_flow)
SLOPE_LOG_M = descent_time.slope_log_m.subs(descent_time.r, descent_time.rate_flow)


def _sweep(ctx, key: str, values) -> tuple[list, dict, list]:
    """Mean T_d at each value of ``[model] key``; the last prediction and the seeds."""
    Td = []
    for v in values:
        mean, pred, seeds = _mean_T_d(ctx, model={key: v})
        Td.append(mean)
    return Td, pred, seeds


def _slope_resolution(fit) -> dict:
    half = (fit["band"][1] - fit["band"][0]) / 2
    return resolution_of(f"a slope off by >= {CALIBRATED * half:.3g} ({CALIBRATED:g} x the band's half-width, "
                      f"{CALIBRATED * half / abs(fit['predicted']):.1%} of the derived slope)",
                      CALIBRATED * half / abs(fit["predicted"]), "relative")


def _slope_alpha(ctx, slope_expr=SLOPE_ALPHA, shift: float = 0.0) -> Verdict:
    alphas = ctx.profile.alphas
    Td, pred, seeds = _sweep(ctx, "alpha", alphas)
    width, zn, dlt = ctx.profile.width, pred["z_norm"], pred["T_d"]["delta"]
    predicted = float(numeric(slope_expr, (m, z_norm))(width, zn))
    fit = _slope_fit(alphas, Td, [width] * len(alphas), zn, len(seeds), predicted,
                     [float(_expected_T_d(a, width, zn, dlt)) for a in alphas], shift)
    predicted = fit["predicted"]
    return Verdict(_point_in_band(fit),
                   predicted={"slope": predicted, "expression": str(slope_expr)},
                   measured={"alphas": list(alphas), "mean_T_d": Td, "slope": fit["slope"]},
                   tolerance=SLOPE, seeds=seeds, fits={"T_d vs alpha": fit}, resolution=_slope_resolution(fit),
                   key=_slope_key(fit, "fitted slope dT_d / d alpha"),
                   range={"alpha": list(alphas), "m": width, "seeds (averaged at each point)": seeds})


def _slope_log_m(ctx, slope_expr=SLOPE_LOG_M, shift: float = 0.0) -> Verdict:
    widths = ctx.profile.td_widths
    Td, pred, seeds = _sweep(ctx, "width", widths)
    zn, a = pred["z_norm"], float(ctx.config().model.alpha)
    predicted = float(numeric(slope_expr, (alpha, z_norm))(a, zn))
    fit = _slope_fit(np.log(widths), Td, widths, zn, len(seeds), predicted,
                     [float(_expected_T_d(a, w, zn, pred["T_d"]["delta"])) for w in widths], shift)
    predicted = fit["predicted"]
    return Verdict(_point_in_band(fit),
                   predicted={"slope": predicted, "expression": str(slope_expr), "alpha": a},
                   measured={"widths": list(widths), "mean_T_d": Td, "slope": fit["slope"]},
                   tolerance=SLOPE, seeds=seeds, fits={"T_d vs log m": fit}, resolution=_slope_resolution(fit),
                   key=_slope_key(fit, "fitted slope dT_d / d log m"),
                   range={"m": list(widths), "alpha": a, "seeds (averaged at each point)": seeds})


def _map_times(map_expr):
    """(t_half, T_d) per seed from iterating the GD map ``map_expr`` (in K_n, eta, |z|, K_eq) from K0."""
    from ..prediction import gd_map_times

    return lambda pred, lr, dlt: tuple(gd_map_times(pred["K0"], lr, pred["z_norm"], [0.5, 1 - dlt],
                                                    pred["K_eq"], map_expr=map_expr))


def _logistic_times(rate_expr):
    """(t_half, T_d) from the logistic law of D9 with the growth rate ``rate_expr`` (the old GD prediction)."""
    th = numeric(descent_time.t_half.subs(descent_time.r, rate_expr), (K0, z_norm, eta))
    td = numeric(descent_time.T_d.subs(descent_time.r, rate_expr), (K0, delta, z_norm, eta))
    return lambda pred, lr, dlt: (float(th(pred["K0"], pred["z_norm"], lr)),
                                  float(td(pred["K0"], dlt, pred["z_norm"], lr)))


GD_MAP = critical_point.gd_map_shifted


def _scaled(times, factor: float):
    """The times of ``times`` multiplied by ``factor`` (the calibrated control of D9-gd-rate)."""
    return lambda pred, lr, dlt: tuple(factor * x for x in times(pred, lr, dlt))


def _gd(ctx, times=None, what: str = str(GD_MAP)) -> Verdict:
    """t_half and T_d under gradient descent against the times of the GD map (each within T_HALF)."""
    times = _map_times(GD_MAP) if times is None else times
    seeds, rows, ok = ctx.init_seeds(), [], 0
    for seed in seeds:
        config = ctx.config(train={"seed": seed, "method": "gd", "lr": GD_LR, "t_max": 14.0})
        traj, obs, kernel, meas, pred = ctx.run(config, grid=121)
        th, td = times(pred, GD_LR, config.analysis.delta)
        err_h = abs(meas["t_half"] / th - 1) if meas["t_half"] and th else float("inf")
        # T_d under GD is read between two iterates that are O(eta) apart in K, and the map is accurate to
        # O(K_eq - 1) = O(1/m) in K: such an error moves the interpolated crossing by eta (K_eq - 1) / (K_(n+1) - K_n),
        # and by up to one step eta when an iterate lies within K_eq - 1 of the level (which two iterates
        # bracket it is then undecided at this order).  That is the map's resolution of T_d.
        from ..prediction import gd_map_times

        brackets = []
        gd_map_times(pred["K0"], GD_LR, pred["z_norm"], [1 - config.analysis.delta], pred["K_eq"], brackets=brackets)
        level, k_lo, k_hi = brackets[0]
        gap = abs(pred["K_eq"] - 1)
        resolution = GD_LR * (gap / (k_hi - k_lo) + (1.0 if min(level - k_lo, k_hi - level) < gap else 0.0))
        err_d = (max(abs(meas["T_d"]["value"] - td) - resolution, 0.0) / td
                 if meas["T_d"]["value"] and td else float("inf"))
        rows.append({"seed": seed, "t_half": [th, meas["t_half"]], "T_d": [td, meas["T_d"]["value"]],
                     "relative_error_t_half": err_h, "T_d_resolution": resolution,
                     "relative_error_T_d_beyond_resolution": err_d})
        ok += err_h <= T_HALF.value      # judged on t_half; T_d (with its resolution) is reported, not judged
    # t_half from the map for each initialisation: judged on every seed (stats.every_key)
    status, key, listed = every_key(f"|t_half under GD / map - 1| <= {T_HALF.value:g}",
                                    [({"seed": r["seed"]}, r["relative_error_t_half"] / T_HALF.value) for r in rows])
    zn = rows and pred["z_norm"]
    return Verdict(status,
                   predicted={"times_from": what, "eta_z": GD_LR * zn},
                   resolution=resolution_of(f"t_half under GD off by >= {CALIBRATED * T_HALF.value:.2%} (relative)",
                                         CALIBRATED * T_HALF.value, "relative"),
                   measured={"per_seed (predicted, measured)": rows, "fraction_within": ok / len(seeds)},
                   tolerance=T_HALF, seeds=seeds,
                   # margin: the worst seed's relative error in t_half / T_HALF, below 1 when every seed passes
                   key=key, rows=listed, range={"seeds": seeds, "m": ctx.config().model.width, "eta": GD_LR},
                   details={"eta": GD_LR, "eta_z": GD_LR * zn,
                            "rule": "passed when t_half is within the tolerance on every seed; T_d is reported with "
                                    "the map's resolution but not judged (that allowance was formulated after "
                                    "seeing T_d misses of 1.6-1.8 % on two quick seeds, so it is not used to "
                                    "decide)"})


claim("D9-t-half", "t_half = log(1/K0 - 1) / (2|z|) for each initialisation", "D9", _t_half,
      lambda ctx: _t_half(ctx, 1.05 * descent_time.rate_flow), "the derived rate 2|z| times 1.05", group="seeds",
      calibrated=(lambda ctx: _t_half(ctx, (1 + sp.Rational(CALIBRATED * T_HALF.value).limit_denominator(10**6))
                                      * descent_time.rate_flow),
                  f"the derived rate 2|z| times {1 + CALIBRATED * T_HALF.value:g} (t_half off by "
                  f"{CALIBRATED:g} x the tolerance)"))
claim("D9-slope-alpha", "dT_d/d alpha = log m / |z|", "D9", _slope_alpha,
      lambda ctx: _slope_alpha(ctx, SLOPE_ALPHA.subs(m, m ** sp.Rational(11, 10))),
      "the derived slope with m^1.1 in place of m (exponent off by 0.1)",
      calibrated=(lambda ctx: _slope_alpha(ctx, shift=CALIBRATED),
                  f"the derived slope lowered by {CALIBRATED:g} x its band's half-width"))
claim("D9-slope-log-m", "dT_d/d log m = (2 alpha - 1) / (2|z|)", "D9", _slope_log_m,
      lambda ctx: _slope_log_m(ctx, SLOPE_LOG_M.subs(alpha, alpha + sp.Rational(1, 10))),
      "the derived slope with alpha + 0.1 in place of alpha",
      calibrated=(lambda ctx: _slope_log_m(ctx, shift=CALIBRATED),
                  f"the derived slope lowered by {CALIBRATED:g} x its band's half-width"),
      expect=Expectation("inconclusive", "under the interval rule of issue 19 the fitted slope's 95 % interval "
                         "straddles the band at quick ([0.587, 0.737] against [0.538, 0.706], point estimate 0.662 "
                         "inside): a 4-point fit of seed means leaves an interval as wide as the band (at default, "
                         "five widths place it inside: [0.621, 0.679] in [0.561, 0.681], passed; with the seeds "
                         "before the shared seed scheme the default interval straddled the band too)",
                         profiles=("quick",)))
claim("D9-gd-rate", f"Gradient descent (eta = {GD_LR}): t_half and T_d from the map "
      "K_(n+1) = K_n (1 + eta|z|(1 - K_n/K_eq))^2", "D9", _gd,
      lambda ctx: _gd(ctx, _logistic_times(descent_time.rate_gd), "logistic law with the GD rate "
                      + str(descent_time.rate_gd)),
      "the logistic law with the GD rate 2 log(1 + eta|z|)/eta (the earlier prediction) in place of the map",
      calibrated=(lambda ctx: _gd(ctx, _scaled(_map_times(GD_MAP), 1 - CALIBRATED * T_HALF.value),
                                  f"{GD_MAP} with its times x {1 - CALIBRATED * T_HALF.value:g}"),
                  f"the map's times (t_half, T_d) times {1 - CALIBRATED * T_HALF.value:g} ({CALIBRATED:g} x the "
                  "tolerance)"))
