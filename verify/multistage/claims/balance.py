"""D7: W2rel follows the exact linear law and its population limit F_d; amplitudes are similar on [T_p, T_d].

W2rel does *not* decay like ``e^{-2|z|t}`` (an earlier claim of this module):
the population law of :mod:`theory.multistage.balance` gives
``W2rel -> F_d((cosh 2|z|t)^(-1/2))``, whose rate tends to ``3|z|/2`` only
for ``|z| t >~ 3``.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from theory.bridge import numeric
from theory.multistage import balance, initial_plateau
from theory.multistage.symbols import alpha, alpha_1, m, z_norm

from ...registry import Status, Tolerance, Verdict, key_number, resolution, rows_of
from ...stats import fit_key, fit_slope, fraction_key, fraction_status, ratio_margin
from ..context import claim
from ..wasserstein import finite_m_constant, linear_law_w2rel, population_w2rel, r_of_tau

K_LINEAR = 0.02      # the plateau window ends when K reaches 2 %: the linear regime
SIMILAR_ALPHA = 1.5  # a long initial plateau, so that T_p (alpha_1 = 1) comes after the condensation starts
TAU_ASYMPTOTIC = (3.0, 5.0)   # |z| t window of the rate claim: F_3's local slope is within 2 % of 3/2 there
MC_REPS = 400        # Monte Carlo draws of the exact linear law per configuration
MC_QUANTILE = 0.99   # per-seed tolerance of the population check: this quantile of the Monte Carlo statistic
#: C in W2rel^2 = F_d^2 + C^2 e^{-2 tau}/m, as THEORY quotes it (a measurement; our Monte Carlo of the linear
#: law gives 2.2-2.9 for d <= 3 and m = 400..4000): used only to choose the width of amplitudes-similar
FINITE_M_C = 2.7

LINEAR_GAP = Tolerance("feedback-order", 1.0,
                       "the simulated flow leaves exp(tA) q(0) through the output feedback -Sigma beta, whose size "
                       "relative to the linear term A q is K = beta.z / z^T Sigma^-1 z (about m q_max^2 / (2|z|)); "
                       "the relative gap of W2rel is first order in it, so |gap(t)| <= 1 x K(t) pointwise "
                       "(coefficient 1: the order, not a fit)")
SPREAD_TEXT = ("per seed, S = max over the window of |W2rel - sqrt(F_d^2 + C^2 e^{-2 tau}/m)| / (C e^{-tau}/sqrt m) "
               "(the finite-m amplitude C e^{-tau}/sqrt m as the unit); the bound is the 99 % quantile of S over "
               f"{MC_REPS} Monte Carlo draws of the exact linear law at the same m and d (sampling spread: a seed "
               "that follows the law fails with probability 1 %, so 5 of 5 seeds pass with probability 95 %)")
RATE_TOL = Tolerance("rate-relative", 0.1,
                     "an exponential rate fitted on tau in [3, 5], where F_d's local log-slope is within 2 % of its "
                     "limit 3/2 and the finite-m term (C e^{-tau}/sqrt m) shifts it by a few per cent: 10 % covers both")
SIMILAR = Tolerance("W2rel-similar", 0.1,
                    "'similar' amplitude distributions, made concrete: W2rel <= 0.1, i.e. the amplitudes differ "
                    "by at most 10 % of their root-mean-square (chosen before measuring)")
SIMILAR_MARGIN = 1.5  # the predicted max W2rel plus two finite-m amplitudes must lie below threshold / 1.5
#: the calibrated controls perturb the derived prediction by CALIBRATED x the tolerance: W2rel of exp(tA) q(0)
#: lowered by 1.5 K(t) (relative), the asymptotic rate raised by 1.5 x 10 %
CALIBRATED = 1.5
#: the population law is moved by twice its spread bound: its tolerance is a 99 % quantile of a per-seed statistic,
#: and at 1.5 x one seed of eight at quick still met it (a fraction of 1/8 fails only just: Wilson upper end 0.47)
POPULATION_CALIBRATED = 2.0


def _plateau_window(t: np.ndarray, K: np.ndarray) -> np.ndarray:
    end = t[np.argmax(K >= K_LINEAR)] if np.any(K >= K_LINEAR) else t[-1]
    return (t >= 0.25 * end) & (t <= end)


def _initial(traj) -> np.ndarray:
    a0, W0 = traj.split(traj.theta[0])
    return np.column_stack([a0, W0])


# ---------------------------------------------------------------------------
# (a) the simulation against exp(tA) q(0) from the same q(0)

def _linear_law_check(ctx, rate_factor: float = 1.0, tilt: float = 0.0) -> Verdict:
    """``tilt``: the calibrated control, W2rel of exp(tA) q(0) times 1 + tilt x K(t) (in units of the tolerance)."""
    config = ctx.config()
    traj, obs, kernel, meas, pred = ctx.run(config)
    sel = _plateau_window(traj.t, obs["K"])
    t, K, sim = traj.t[sel], obs["K"][sel], obs["W2rel"][sel]
    lin = linear_law_w2rel(_initial(traj), config.dataset.z, t, rate_factor)
    lin = lin * (1 + tilt * LINEAR_GAP.value * K)
    gap = sim / lin - 1
    ratio = np.abs(gap) / (LINEAR_GAP.value * K)
    status = Status.PASSED if np.all(ratio <= 1) else Status.FAILED
    zn = config.dataset.z_norm
    fits = {"log W2rel vs t (simulation)": fit_slope(t, np.log(sim)),
            "log W2rel vs t (exp(tA) q(0))": fit_slope(t, np.log(lin))}
    return Verdict(status,
                   predicted={"W2rel": "W2rel of exp(tA) q(0), same q(0)", "rate_factor": rate_factor,
                              "tilt_in_K": tilt},
                   resolution=resolution(f"W2rel off by >= {CALIBRATED:g} K(t) (relative; K the feedback order)",
                                         CALIBRATED, "K (relative)"),
                   measured={"max_relative_gap": float(np.max(np.abs(gap))), "max_gap_over_K": float(np.max(ratio)),
                             "relative_gap_at_end": float(gap[-1]), "K_at_end": float(K[-1])},
                   tolerance=LINEAR_GAP, seeds=[config.train.seed], fits=fits,
                   range={"seeds": [config.train.seed], "m": config.model.width, "d": config.dataset.dim},
                   details={"window_t": [float(t[0]), float(t[-1])], "window_tau": [float(zn * t[0]), float(zn * t[-1])],
                            "width": config.model.width, "dim": config.dataset.dim,
                            "log_slope_in_tau": {k: f["slope"] / zn for k, f in fits.items()}},
                   # margin: the largest |gap(t)| / (1 x K(t)) on the window (the rule is pointwise, bound 1)
                   key=key_number("max |W2rel gap| / K on the plateau", float(np.max(ratio)), None,
                                  ratio_margin(np.max(ratio), LINEAR_GAP.value),
                                  None if status is Status.PASSED else
                                  f"W2rel of the flow leaves exp(tA) q(0) by {np.max(ratio):.3g} times the "
                                  f"feedback order K at t = {t[int(np.argmax(ratio))]:.3g}"))


# ---------------------------------------------------------------------------
# (b) the simulation against the population law F_d plus the finite-m term

def _law_r(taus, d, width, C, r_power=1):
    F = population_w2rel(r_of_tau(taus) ** r_power, d)
    N = C * np.exp(-taus) / np.sqrt(width)
    return F, N, np.sqrt(F**2 + N**2)


#: points of the plateau window at which the simulated W2rel is compared with the law: the same points
#: at which the Monte Carlo statistic is formed, so that the per-seed statistic and its quantile agree
GRID_POINTS = 8
#: solver tolerance of the wide runs (rate and amplitudes-similar): W2rel, T_p and T_d are needed to about
#: 1e-4 relative; RK45 at rtol 1e-6 keeps event times within about 1e-7 (benchmarks/README.md)
WIDE_RTOL = 1e-6


@lru_cache(maxsize=16)
def _monte_carlo(width: int, d: int, grid: tuple, seed: np.random.SeedSequence) -> tuple[float, np.ndarray]:
    """``C`` fitted on Monte Carlo draws of the exact linear law at ``grid`` and the Monte Carlo statistic
    ``max |W2rel - centre| / N`` per draw (shared by the check and its control)."""
    rng = np.random.default_rng(seed)
    taus = np.asarray(grid)
    fit = finite_m_constant(width, d, taus, MC_REPS, rng)
    F_g, N_g, centre_g = _law_r(taus, d, width, fit["C"])
    return fit["C"], np.max(np.abs(fit["samples"] - centre_g) / N_g, axis=1)


#: seeds of the population check: each seed passes with probability 0.99 by construction (the 99 % Monte
#: Carlo quantile), so with 5 seeds one ordinary outlier in 20 runs makes the fraction inconclusive; at
#: least 8 seeds tolerate one outlier (7/8 has a Wilson lower end of 0.53)
POPULATION_SEEDS = 8


def _population_check(ctx, r_power: int = 1, shift: float = 0.0) -> Verdict:
    """``shift``: the calibrated control, the law moved by shift x the spread bound x N (N the finite-m
    amplitude, the statistic's unit)."""
    seeds = ctx.init_seeds(max(ctx.profile.seeds, POPULATION_SEEDS))
    config0 = ctx.config()
    d, width, zn = config0.dataset.dim, config0.model.width, config0.dataset.z_norm
    ok, per_seed, grid = 0, [], None
    for seed in seeds:
        config = ctx.config(train={"seed": seed})
        traj, obs, kernel, meas, pred = ctx.run(config)
        sel = _plateau_window(traj.t, obs["K"])
        taus, sim = zn * traj.t[sel], obs["W2rel"][sel]
        if grid is None:   # the comparison points, from the first seed's window
            grid = tuple(float(x) for x in np.linspace(taus[0], taus[-1], GRID_POINTS))
            C, mc_stat = _monte_carlo(width, d, grid, ctx.stream("monte-carlo"))
            spread = Tolerance("finite-m-spread", float(np.quantile(mc_stat, MC_QUANTILE)), SPREAD_TEXT)
            F_g, N_g, centre_g = _law_r(np.asarray(grid), d, width, C, r_power)
            centre_g = centre_g + shift * spread.value * N_g
        inside = (np.asarray(grid) >= taus[0]) & (np.asarray(grid) <= taus[-1])
        sim_g = np.interp(np.asarray(grid)[inside], taus, sim)
        stat = float(np.max(np.abs(sim_g - centre_g[inside]) / N_g[inside])) if inside.any() else float("inf")
        per_seed.append({"seed": seed, "max_deviation_over_N": stat, "tau_window": [float(taus[0]), float(taus[-1])],
                         "W2rel_sim_ends": [float(sim[0]), float(sim[-1])],
                         "F_d_ends": [float(F_g[inside][0]), float(F_g[inside][-1])] if inside.any() else None})
        ok += stat <= spread.value
    status, (lo, hi) = fraction_status(ok, len(seeds))
    return Verdict(status,
                   predicted={"W2rel": f"sqrt(F_{d}(r^{r_power})^2 + C^2 e^(-2 tau)/m), r = (cosh 2 tau)^(-1/2)",
                              "C (measured, Monte Carlo of the linear law)": C},
                   measured={"per_seed": per_seed, "fraction": ok / len(seeds), "wilson_95": [lo, hi]},
                   tolerance=spread, seeds=seeds,
                   range={"seeds": seeds, "m": width, "d": d},
                   # "within its finite-m spread" is a sampling statement (a seed that follows the law leaves the
                   # 99 % quantile with probability 1 %): the Wilson rule, most seeds (stats.fraction_key)
                   rows=rows_of(({"seed": r["seed"]}, r["max_deviation_over_N"] / spread.value,
                                 r["max_deviation_over_N"] <= spread.value) for r in per_seed),
                   resolution=resolution(f"the law off by >= {POPULATION_CALIBRATED:g} x its spread bound "
                                         f"({POPULATION_CALIBRATED:g} x {spread.value:.3g} finite-m amplitudes N)",
                                         POPULATION_CALIBRATED * spread.value,
                                         "N (finite-m amplitude)"),
                   details={"width": width, "dim": d, "r_power": r_power, "mc_reps": MC_REPS, "shift": shift,
                            "comparison_taus": list(grid),
                            "mc_quantiles_of_statistic": {f"q{q:g}": float(np.quantile(mc_stat, q)) for q in (0.5, 0.95, 0.99)},
                            "C_note": "C is measured (weighted least squares of E W2rel^2 - F_d^2 on e^{-2 tau}/m over "
                                      "Monte Carlo draws of the exact linear law), not derived"},
                   # margin: (1 - Wilson lower end) / (1/2), below 1 when most seeds pass (stats.fraction_margin);
                   # the worst seed's statistic over the spread bound in its counts
                   key=fraction_key(f"max |W2rel - law| / N <= {spread.value:.3g}", ok, len(seeds), (lo, hi), status,
                                    "worst seed: " + format(max(r["max_deviation_over_N"] for r in per_seed), ".3g"),
                                    worst_margin=max(r["max_deviation_over_N"] for r in per_seed) / spread.value))


# ---------------------------------------------------------------------------
# (c) the asymptotic rate 3|z|/2, only where the window reaches tau ~ 3..5

def _rate_config(ctx):
    """The first run of D7-amplitudes-similar (alpha = 1.5, the width chosen from the law): K0 ~ m^-2 / (2|z|)
    keeps K below 2 % until tau = 5 once m >~ 850, which that width exceeds at every profile, and the
    run is shared with that claim (same group, same run options)."""
    base = ctx.config(model={"alpha": SIMILAR_ALPHA})
    width = similar_width(ctx.profile.width, base.dataset.dim, base.dataset.z_norm)["width"]
    return ctx.config(model={"alpha": SIMILAR_ALPHA, "width": width}, train={"seed": ctx.init_seeds()[0]})


def _rate_check(ctx, rate=None, factor: float = 1.0) -> Verdict:
    """``factor``: the calibrated control, the derived rate times ``factor``."""
    config = _rate_config(ctx)
    zn = config.dataset.z_norm
    predicted_rate = float(numeric(balance.W2REL_ASYMPTOTIC_RATE, (z_norm,))(zn))
    claimed = factor * (predicted_rate if rate is None else rate(zn))
    if config.dataset.dim < 2:
        return Verdict(Status.NOT_APPLICABLE, {"rate": claimed}, None,
                       tolerance=RATE_TOL, details={"reason": "d = 1: F_1 = 0, W2rel is sampling noise only"},
                       key=key_number("fitted log-slope of W2rel on tau in [3, 5]", None, -claimed, None,
                                      "d = 1: F_1 = 0, so W2rel is sampling noise only"))
    traj, obs, kernel, meas, pred = ctx.run(config, grid=201, rtol=WIDE_RTOL)
    t = traj.t
    sel = (zn * t >= TAU_ASYMPTOTIC[0]) & (zn * t <= TAU_ASYMPTOTIC[1])
    K_max = float(np.max(obs["K"][sel])) if np.any(sel) else None
    if not np.any(sel) or K_max >= K_LINEAR:
        return Verdict(Status.NOT_APPLICABLE, {"rate": claimed}, {"K_max": K_max},
                       tolerance=RATE_TOL, seeds=[config.train.seed],
                       details={"reason": f"K reaches {K_LINEAR} before tau = {TAU_ASYMPTOTIC[1]}: the linear regime "
                                          "ends before the asymptotic regime of F_d"},
                       key=key_number("fitted log-slope of W2rel on tau in [3, 5]", None, -claimed, None,
                                      f"K reaches {K_LINEAR} before tau = {TAU_ASYMPTOTIC[1]}: the linear regime ends "
                                      "before the asymptotic regime of F_d"))
    fit = fit_slope(t[sel], np.log(obs["W2rel"][sel]))
    band = sorted([-claimed * (1 - RATE_TOL.value), -claimed * (1 + RATE_TOL.value)])
    taus = zn * t[sel]
    F = population_w2rel(r_of_tau(taus), config.dataset.dim)
    law_slope = fit_slope(t[sel], np.log(np.sqrt(F**2 + FINITE_M_C**2 * np.exp(-2 * taus) / config.model.width)))
    fit.update({"predicted": -claimed, "band": band})
    # the interval rule (stats.fit_key): passed only when the log-slope's whole 95 % interval lies in the 10 % band;
    # margin: the interval's farther end's distance from -rate over the band's half-width
    status, key = fit_key("fitted log-slope of W2rel on tau in [3, 5]", fit, band, -claimed, "the fitted log-slope")
    return Verdict(status, key=key,
                   range={"seeds": [config.train.seed], "m": config.model.width, "d": config.dataset.dim,
                          "|z| t": list(TAU_ASYMPTOTIC)},
                   predicted={"log-slope": -claimed, "asymptotic rate": "3|z|/2"},
                   measured={"log-slope": fit["slope"], "relative_gap": fit["slope"] / -claimed - 1, "K_max": K_max},
                   tolerance=RATE_TOL, seeds=[config.train.seed], fits={"log W2rel vs t, tau in [3, 5]": fit},
                   resolution=resolution(f"the rate 3|z|/2 off by >= {CALIBRATED * RATE_TOL.value:.0%}",
                                         CALIBRATED * RATE_TOL.value, "relative"),
                   details={"width": config.model.width, "alpha": SIMILAR_ALPHA, "window_tau": list(TAU_ASYMPTOTIC),
                            "log_slope_of_F_d_plus_finite_m_term": law_slope["slope"],
                            "log_slope_of_F_d": fit_slope(t[sel], np.log(F))["slope"],
                            "why_this_configuration": "alpha = 1.5 and the width of D7-amplitudes-similar keep K below 2 % until "
                                                      "tau = 5, so the linear law holds where F_d is asymptotic"})


# ---------------------------------------------------------------------------
# amplitudes similar on [T_p, T_d] (Theorem 4*), at a width chosen from the law

def predicted_max_w2rel(width: int, d: int, zn: float, a_exp: float = SIMILAR_ALPHA) -> dict:
    """The law's W2rel at the expected ``T_p`` (D6), where W2rel is largest on ``[T_p, T_d]`` (it decreases)."""
    a1 = (a_exp + 0.5) / 2
    T_p = float(numeric(initial_plateau.T_p_expected, (m, alpha, alpha_1, z_norm))(width, a_exp, a1, zn))
    F, N, centre = _law_r(np.array([zn * T_p]), d, width, FINITE_M_C)
    return {"width": width, "T_p_expected": T_p, "tau_p": zn * T_p, "F_d": float(F[0]), "N": float(N[0]),
            "centre": float(centre[0]), "upper": float(centre[0] + 2 * N[0])}


def similar_width(profile_width: int, d: int, zn: float, threshold: float = SIMILAR.value) -> dict:
    """Smallest width ``profile_width * 2^j`` whose predicted upper W2rel lies below ``threshold / SIMILAR_MARGIN``."""
    for j in range(6):
        p = predicted_max_w2rel(profile_width * 2**j, d, zn)
        if p["upper"] * SIMILAR_MARGIN <= threshold:
            return p
    return p


def _worst_text(values, name: str) -> str:
    """'worst seed: <name> = v' over the measured values (a seed without a value: 'n seeds unmeasured')."""
    known = [v for v in values if v is not None]
    text = f"worst seed: {name} = {max(known):.3g}" if known else ""
    missing = len(values) - len(known)
    return text + (("; " if text else "") + f"{missing} seed{'s' if missing != 1 else ''} unmeasured" if missing else "")


def _similar_check(ctx, threshold: float = SIMILAR.value, shift: float = 0.0) -> Verdict:
    """Theorem 4* made concrete (max W2rel on ``[T_p, T_d]`` at most ``threshold``) and made quantitative by the
    law: per seed, that maximum lies within the law's sampling spread of ``sqrt(F_d^2 + C^2 e^{-2 tau}/m)`` at the
    time it is reached.  ``shift``: the calibrated control, the law raised by shift x the spread bound x N (N the
    finite-m amplitude, the statistic's unit)."""
    base = ctx.config(model={"alpha": SIMILAR_ALPHA})
    choice = similar_width(ctx.profile.width, base.dataset.dim, base.dataset.z_norm)
    d, zn, width = base.dataset.dim, base.dataset.z_norm, choice["width"]
    # the law's spread at one point, the expected T_p: the 99 % quantile of |W2rel - law| / N over Monte Carlo
    # draws of the exact linear law (the seeds' own T_p lie within about 0.15 of it in tau)
    C, mc_stat = _monte_carlo(width, d, (float(choice["tau_p"]),), ctx.stream("monte-carlo"))
    spread = float(np.quantile(mc_stat, MC_QUANTILE))
    seeds = ctx.init_seeds()
    worst, deviations, rows, ok = [], [], [], 0
    for seed in seeds:
        config = ctx.config(model={"alpha": SIMILAR_ALPHA, "width": width}, train={"seed": seed})
        traj, obs, kernel, meas, pred = ctx.run(config, grid=201, rtol=WIDE_RTOL)
        T_p, T_d = meas["T_p"]["value"], meas["T_d"]["value"]
        if T_p is None or T_d is None:
            worst.append(None)
            deviations.append(None)
            continue
        sel = (traj.t >= T_p) & (traj.t <= T_d)
        i = int(np.flatnonzero(sel)[np.argmax(obs["W2rel"][sel])]) if np.any(sel) else int(np.searchsorted(traj.t, T_p))
        w = float(obs["W2rel"][i])
        F, N, centre = _law_r(np.array([zn * traj.t[i]]), d, width, C)
        law = float(centre[0] + shift * spread * N[0])
        S = abs(w - law) / float(N[0])
        worst.append(w)
        deviations.append(S)
        rows.append({"seed": seed, "max_W2rel": w, "at_t": float(traj.t[i]), "T_p": T_p, "law": law,
                     "N": float(N[0]), "deviation_over_N": S})
        ok += (w <= threshold) and (S <= spread)
    status, (lo, hi) = fraction_status(ok, len(seeds))
    known = [(w / threshold, S / spread) for w, S in zip(worst, deviations) if w is not None]
    worst_margin = None if len(known) < len(seeds) else max(max(a, b) for a, b in known)
    dev_text = ("" if not rows else "; largest |max W2rel - law| / N = "
                + format(max(r["deviation_over_N"] for r in rows), ".3g") + f" against {spread:.3g}")
    return Verdict(status, predicted={"W2rel at most": threshold, "probability": "high",
                                      "max W2rel": "sqrt(F_d^2 + C^2 e^(-2 tau)/m) at the time it is reached, within "
                                                   "the law's spread", "C (measured, Monte Carlo of the linear law)": C,
                                      "shift_in_spreads": shift, "law_at_T_p": choice},
                   measured={"max_W2rel_per_seed": worst, "per_seed": rows, "fraction": ok / len(seeds),
                             "wilson_95": [lo, hi]},
                   tolerance=SIMILAR, seeds=seeds,
                   # Theorem 4* holds "with high probability": the Wilson rule, most seeds (stats.fraction_key)
                   range={"seeds": seeds, "m": width, "alpha": SIMILAR_ALPHA},
                   rows=rows_of(({"seed": s}, None if w is None or S is None else max(w / threshold, S / spread),
                                 w is not None and S is not None and w <= threshold and S <= spread)
                                for s, w, S in zip(seeds, worst, deviations)),
                   # the threshold is validity only (the data stay far below it); the law resolves max W2rel
                   resolution=resolution(f"max W2rel on [T_p, T_d] off the law by >= {POPULATION_CALIBRATED:g} x its "
                                         f"spread bound ({POPULATION_CALIBRATED:g} x {spread:.3g} finite-m amplitudes "
                                         "N); the threshold 0.1 itself is not resolved",
                                         POPULATION_CALIBRATED * spread, "N (finite-m amplitude)"),
                   # margin: (1 - Wilson lower end) / (1/2), below 1 when most seeds pass (stats.fraction_margin);
                   # the worst seed's larger used fraction (max W2rel over the threshold, its distance from the law
                   # over the spread bound) in its counts (none when a seed is unmeasured)
                   key=fraction_key(f"max W2rel on [T_p, T_d] <= {threshold:g} and within {spread:.3g} N of the law",
                                    ok, len(seeds), (lo, hi), status, _worst_text(worst, "max W2rel") + dev_text,
                                    worst_margin=worst_margin),
                   details={"width": width, "alpha": SIMILAR_ALPHA, "spread_bound_in_N": spread,
                            "spread": SPREAD_TEXT.replace("max over the window of ", "at the time of the maximum, ")
                            + " (here at one point, the expected T_p)",
                            "threshold_tightness": None if None in worst else max(worst) / threshold,
                            "rule": "a seed meets the claim when its max W2rel on [T_p, T_d] is at most the threshold "
                                    "and within the spread bound of the law; passed when the Wilson interval of the "
                                    "fraction of such seeds lies above 1/2",
                            "why_this_width": f"the smallest profile width x 2^j at which the law sqrt(F_d^2 + "
                                              f"{FINITE_M_C}^2 e^(-2 tau)/m) plus two finite-m amplitudes, at the "
                                              f"expected T_p (W2rel is largest there), lies below threshold / "
                                              f"{SIMILAR_MARGIN}: predicted {choice['centre']:.3f} (upper "
                                              f"{choice['upper']:.3f}) against {threshold}"})


claim("D7-w2rel-linear-law", "W2rel of the flow equals W2rel of exp(tA) q(0) on the plateau", "D7",
      _linear_law_check, lambda ctx: _linear_law_check(ctx, 1.05), "exp(tA) built with the rate 1.05 |z|",
      group="seeds",
      calibrated=(lambda ctx: _linear_law_check(ctx, tilt=-CALIBRATED),
                  f"W2rel of exp(tA) q(0) lowered by {CALIBRATED:g} K(t) (relative; {CALIBRATED:g} x the tolerance "
                  "1 x K)"))
claim("D7-w2rel-population", "W2rel follows the population law F_d within its finite-m spread", "D7",
      _population_check, lambda ctx: _population_check(ctx, 2), "F_d(r^2) in place of F_d(r)", group="seeds",
      calibrated=(lambda ctx: _population_check(ctx, shift=POPULATION_CALIBRATED),
                  f"the law sqrt(F_d^2 + C^2 e^(-2 tau)/m) raised by {POPULATION_CALIBRATED:g} x the spread bound (in "
                  "finite-m amplitudes N; twice the tolerance)"))
claim("D7-w2rel-asymptotic-rate", "W2rel decays at the asymptotic rate 3|z|/2 once |z| t >~ 3", "D7",
      _rate_check, lambda ctx: _rate_check(ctx, lambda zn: 2 * zn), "the old law: rate 2|z|", group="wide",
      calibrated=(lambda ctx: _rate_check(ctx, factor=1 + CALIBRATED * RATE_TOL.value),
                  f"the derived rate 3|z|/2 times {1 + CALIBRATED * RATE_TOL.value:g} ({CALIBRATED:g} x the 10 % "
                  "band)"))
claim("D7-amplitudes-similar", "Theorem 4*: |a| and |w| amplitude distributions are similar on [T_p, T_d]",
      "D7", _similar_check, lambda ctx: _similar_check(ctx, SIMILAR.value / 100),
      "a threshold 100 times smaller (W2rel <= 0.001)", group="wide",
      # at 1.5 x the spread bound one seed of five (seed 3, 0.76 N from the raised law) still met it at quick: a
      # fraction of 1/5 is inconclusive, not failed (Wilson [0.04, 0.62]); twice the tolerance, as for the population
      calibrated=(lambda ctx: _similar_check(ctx, shift=POPULATION_CALIBRATED),
                  f"the law sqrt(F_d^2 + C^2 e^(-2 tau)/m) at the maximum raised by {POPULATION_CALIBRATED:g} x its "
                  "spread bound (in finite-m amplitudes N; twice the tolerance, as for D7-w2rel-population)"))
