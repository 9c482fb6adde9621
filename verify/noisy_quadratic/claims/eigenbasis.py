"""Q3 on the non-interpolating set-up: the Hessian's spectrum and eigenbasis at the ends of the phases.

The claims here read the dense float64 spectra of the cliff set-up
(:class:`~verify.noisy_quadratic.spectrum_setup.CliffSetup`, :meth:`~verify.noisy_quadratic.cliff.CliffRun.spectrum`,
computed once per checkpoint and cached on the run, which the context caches) at the end of every phase, over
the profile's training seeds; their reference values come from :mod:`theory.noisy_quadratic.eigenbasis` (Q3e)
and :mod:`theory.noisy_quadratic.spectrum` (Q3):

* ``Q3-lanczos-vs-dense``: Lanczos's extreme eigenvalues against the dense ones (the oracle the others rest on);
* ``Q3-power-law``: the top of the positive spectrum is a power law of slope about -1 that shifts upward;
* ``Q3-negative-eigenvalues``: negative eigenvalues persist as a fraction of the spectrum, beyond round-off;
* ``Q3-eigenvector-concentration``: high-lambda eigenvectors concentrated, low-lambda ones Gaussian-like;
* ``Q3-eigenvector-rotation``: between phase ends, eigenvectors rotate into vectors of similar eigenvalue;
* ``Q3-cliff-displacement``: the first cut's displacement lies mostly in the low-lambda subspace.

These replace the claims of the same ids on the memorising set-up (``profile.spectrum``), where the talk's
preconditions (a training loss stationary above zero before each cut) do not hold.
"""
from __future__ import annotations

import functools
import math

import numpy as np
import sympy as sp
from scipy import stats

from theory.bridge import numeric
from theory.noisy_quadratic import eigenbasis as q3e
from theory.noisy_quadratic import spectrum as q3

from ...registry import Expectation, Status, Tolerance, Verdict, key_number, resolution, rows_of
from ...stats import every_key, fit_slope, judge_points
from ..context import CLIFF_GROUP, STREAMS, claim

__all__ = ["ROUNDOFF", "BANDS", "TOP_FIT", "TOP_FRACTION", "F_MIN", "GAUSSIAN_DRAWS", "CONC_Z", "roundoff",
           "phase_ends", "positive_bands", "top_mass", "talk_window", "overlap_matrix", "power_law_band",
           "gaussian_spectra", "displacement_fractions"]

#: the round-off threshold tau = C n eps relative to |lambda_max| (Q3e), C = 1000
ROUNDOFF = q3e.ROUNDOFF.subs(q3e.C, q3e.ROUNDOFF_FACTOR)
#: equal-count bands of the positive spectrum (by quantile of lambda) for the overlaps and the displacement
BANDS = 5
#: positive eigenvalues in the power-law fit; the fraction of coordinates whose mass is measured
TOP_FIT, TOP_FRACTION = 100, 0.05
#: "a sizeable fraction": at least 1 % of the spectrum below -tau lambda_max
F_MIN = 0.01
#: Gaussian vectors drawn for the finite-n spread of the top-5 % mass; the bar of "concentrated" in their sds
GAUSSIAN_DRAWS, CONC_Z = 1000, 6.0
#: the calibrated factor (the prediction moved by this multiple of its tolerance)
CALIBRATED = 2.0
HEURISTIC = dict(**CLIFF_GROUP, heuristic=True)


def roundoff(n: int) -> float:
    """tau = 1000 n eps (relative to |lambda_max|) for an n x n float64 Hessian."""
    return float(numeric(ROUNDOFF, (q3e.n, q3e.eps))(n, float(np.finfo(float).eps)))


def phase_ends(run) -> tuple:
    """The checkpoints at the end of each phase (the dense spectra the claims read)."""
    return tuple(run.setup.boundaries[1:])


def positive_bands(values: np.ndarray, bands: int = BANDS) -> list:
    """Indices of the eigenvalues above ``+tau lambda_max``, largest first, cut into ``bands`` equal-count bands."""
    tau = roundoff(len(values)) * abs(values[-1])
    pos = np.flatnonzero(values > tau)[::-1]
    return np.array_split(pos, bands)


def top_mass(V: np.ndarray, fraction: float = TOP_FRACTION) -> np.ndarray:
    """The fraction of each column's squared norm in its largest ``ceil(fraction n)`` coordinates."""
    V = np.asarray(V, float)
    V = V[:, None] if V.ndim == 1 else V
    sq = np.sort(V ** 2, axis=0)[::-1]
    keep = max(1, math.ceil(fraction * V.shape[0]))
    return sq[:keep].sum(axis=0) / sq.sum(axis=0)


def talk_window(values: np.ndarray) -> tuple:
    """The talk's eigenvector window scaled to n (its top 2000 of 26,000: 7.7 %), largest first, and the high and
    low fifths of it (the red and the blue ends of its colour map)."""
    k = math.ceil(float(q3e.TALK_WINDOW_FRACTION) * len(values))
    tau = roundoff(len(values)) * abs(values[-1])
    win = np.flatnonzero(values > tau)[::-1][:k]
    fifth = max(2, len(win) // 5)
    return win, win[:fifth], win[-fifth:]


def overlap_matrix(VA: np.ndarray, bands_a: list, VB: np.ndarray, bands_b: list) -> np.ndarray:
    """``O[a, b] = |V_A[:, band a]^T V_B[:, band b]|_F^2 / |band a|``: the mean squared projection of band a's
    eigenvectors at the first checkpoint onto band b's subspace at the second (rows sum to at most 1)."""
    return np.array([[float(((VA[:, a].T @ VB[:, b]) ** 2).sum()) / len(a) for b in bands_b] for a in bands_a])


def displacement_fractions(V: np.ndarray, values: np.ndarray, delta: np.ndarray, bands: list) -> dict:
    """The fractions of ``|delta|^2`` in each positive band, in the negative and in the null eigenspace of the
    basis ``V`` (``values`` ascending), with each subspace's dimension fraction (a random direction's share)."""
    n = len(values)
    c = (V.T @ delta) ** 2
    c = c / c.sum()
    tau = roundoff(n) * abs(values[-1])
    neg, null = np.flatnonzero(values < -tau), np.flatnonzero(np.abs(values) <= tau)
    return {"bands": [float(c[b].sum()) for b in bands], "band_dimension": [len(b) / n for b in bands],
            "negative": float(c[neg].sum()), "negative_dimension": len(neg) / n,
            "null": float(c[null].sum()), "null_dimension": len(null) / n}


def _seeds(ctx) -> list:
    return list(range(ctx.profile.cliff_seeds))


def _range(ctx, steps, **extra) -> dict:
    run = ctx.cliff_run(0)
    return {"seeds": _seeds(ctx), "checkpoints": [int(s) for s in steps], "parameters": run.setup.size, **extra}


def _details(ctx) -> dict:
    run = ctx.cliff_run(0)
    return {"setup": run.setup.describe(), "root_seed": ctx.seed,
            "seed_streams": "training seed i: SeedSequence(seed, spawn_key=(10, i))", "device": run.device,
            "old_setup": "not run on the memorising set-up (profile.spectrum): its training loss is not stationary "
                         "above zero before the cuts (99 % training accuracy), the talk's precondition"}


# ---------------------------------------------------------------------------
# Q3-lanczos-vs-dense

LANCZOS_TOL = Tolerance(
    "relative-eigenvalue-difference", 1e-8,
    "Lanczos (eigsh, ARPACK tol 1e-12, the run's seeded start vector) on exact float64 Hessian-vector products "
    "against eigh of the dense float64 Hessian at the end of phase 1 of every seed: both are backward stable, "
    "with errors of order n eps |H| (about 3e-13 |lambda_max| at n = 1482), and each Lanczos value lies within "
    "its residual |H v - lambda v| of an exact eigenvalue; every top-5 value and the bottom value must agree "
    "with eigh within 1e-8 |lambda_max| and every residual be below it (every seed)")
LANCZOS_K = 5


def lanczos_measure(ctx, index: int) -> dict:
    """Lanczos top-5 and bottom eigenpairs at the end of phase 1 of seed ``index`` (cached)."""
    key = ("q3e-lanczos", ctx.profile.cliff, index)
    if key not in ctx._runs:
        import torch

        from ...hessian import TorchHessian, bottom_eigenpair
        from ..spectrum_training import lanczos_top

        run = ctx.cliff_run(index)
        step = phase_ends(run)[0]
        theta = torch.as_tensor(run.theta(step), dtype=torch.float64, device=run.device)
        hess = TorchHessian(run.net().flat_loss(run.data(), "cross_entropy"), theta)
        seed = int(ctx.cliff_seed(index).spawn(2)[1].generate_state(1)[0])     # the run's Lanczos stream
        top, res, conv, products = lanczos_top(hess, LANCZOS_K, seed)
        bottom = bottom_eigenpair(hess, seed=seed, tol=1e-12, ncv=40)
        ctx._runs[key] = {"step": step, "top": top, "residuals": res, "converged": bool(conv and bottom.converged),
                          "bottom": float(bottom.value), "bottom_residual": float(bottom.residual),
                          "products": int(products + bottom.products)}
    return ctx._runs[key]


def check_lanczos(ctx, shift: float = 0.0) -> Verdict:
    rows = []
    for i in _seeds(ctx):
        m = lanczos_measure(ctx, i)
        values = ctx.cliff_run(i).spectrum(m["step"]).values
        scale = abs(values[-1])
        dense = values + shift * scale
        k = len(m["top"])
        diff_top = float(np.max(np.abs(m["top"] - dense[::-1][:k]))) / scale
        diff_bottom = abs(m["bottom"] - dense[0]) / scale
        res = max(float(np.max(m["residuals"])), m["bottom_residual"]) / scale
        worst = max(diff_top, diff_bottom, res)
        rows.append({"seed": i, "step": m["step"], "lanczos_top": m["top"].tolist(),
                     "dense_top": dense[::-1][:k].tolist(), "lanczos_bottom": m["bottom"],
                     "dense_bottom": float(dense[0]), "max_relative_difference_top": diff_top,
                     "relative_difference_bottom": diff_bottom, "max_relative_residual": res, "worst": worst,
                     "converged": m["converged"], "products": m["products"]})
    status, key, listed = every_key(f"|Lanczos - eigh| and residuals <= {LANCZOS_TOL.value:g} lambda_max",
                                    [({"seed": r["seed"]}, r["worst"] / LANCZOS_TOL.value if r["converged"] else None)
                                     for r in rows])
    return Verdict(status, predicted={"dense_shift_relative_to_lambda_max": shift}, measured={"seeds": rows},
                   tolerance=LANCZOS_TOL, seeds=[ctx.seed], details=_details(ctx), key=key, rows=listed,
                   range=_range(ctx, [rows[0]["step"]], **{"top k": LANCZOS_K}),
                   resolution=resolution(f"a dense spectrum off by >= {CALIBRATED * LANCZOS_TOL.value:g} lambda_max",
                                         CALIBRATED * LANCZOS_TOL.value, "relative to lambda_max"))


claim("Q3-lanczos-vs-dense", "Lanczos extreme eigenvalues match eigh of the dense float64 Hessian (non-interpolating "
      "set-up, end of phase 1, every seed)", "Q3", check_lanczos, lambda ctx: check_lanczos(ctx, shift=1e-6),
      "the dense eigenvalues shifted by 1e-6 lambda_max (a wrong shift must be detected)",
      calibrated=(lambda ctx: check_lanczos(ctx, shift=CALIBRATED * LANCZOS_TOL.value),
                  "the dense eigenvalues shifted by 2e-8 lambda_max, twice the tolerance"), **HEURISTIC)


# ---------------------------------------------------------------------------
# Q3-power-law: the top of the positive spectrum is a power law of slope about -1 that shifts upward


@functools.lru_cache(maxsize=1)
def _hundredth_band() -> tuple[float, float]:
    """The slopes whose 100th eigenvalue is 1000 and 10 times below the top, solved from ``100^s`` (Q3; SymPy's
    solve takes 0.3 s, so once per process)."""
    lo = float(sp.solve(sp.Eq(q3.HUNDREDTH_RATIO, sp.Rational(1, 1000)), q3.s)[0])
    hi = float(sp.solve(sp.Eq(q3.HUNDREDTH_RATIO, sp.Rational(1, 10)), q3.s)[0])
    return lo, hi


def power_law_band(centre: float = -1.0) -> tuple[float, float]:
    """Slopes whose 100th eigenvalue is 10 to 1000 times below the top ("about 100 times": within 10x), derived
    from ``100^s`` (Q3); ``centre`` moves the band (the calibrated control)."""
    lo, hi = _hundredth_band()
    return lo + centre + 1.0, hi + centre + 1.0


POWER_TOL = Tolerance(
    "slope-band-and-upward-shift", 0.5,
    "the talk: 'positive values maintain a rough power law that shifts upwards'; its write-up: the 100th positive "
    "eigenvalue about 100 times below the top, i.e. a log-log slope s with 100^s = 1/100; 'about' read as within a "
    "factor 10, so 100^s in [1/1000, 1/10], s in [-1.5, -0.5] (value: the band's half-width); the fit is least "
    "squares of log lambda_i on log i over the top 100 positive eigenvalues with a 95 % t interval, at the end of "
    "every phase of every seed; 'shifts upward': the mean log eigenvalue of the top 100 (the fit's level) rises "
    "from each phase end to the next, its 95 % interval (the two fits' standard errors combined) above 0; the "
    "interval rule (verify.stats.judge_points) at every point: passed when every interval lies in its band, failed "
    "when one lies wholly outside")


def gaussian_spectra(sizes, scales, seed: int) -> list:
    """Spectra of seeded GOE matrices (entries N(0, 1/n)) of the given sizes, scaled to the given tops."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=STREAMS["goe"]))
    out = []
    for n, top in zip(sizes, scales):
        A = rng.standard_normal((n, n)) / math.sqrt(n)
        v = np.linalg.eigvalsh((A + A.T) / 2)
        out.append(v * top / v[-1])
    return out


def _level(values: np.ndarray) -> dict:
    pos = np.sort(values[values > roundoff(len(values)) * abs(values[-1])])[::-1][:TOP_FIT]
    i = np.arange(1, len(pos) + 1)
    fit = fit_slope(np.log(i), np.log(pos))
    resid = np.log(pos) - (fit["intercept"] + fit["slope"] * np.log(i))
    se = float(np.sqrt(np.sum(resid ** 2) / (len(pos) - 2) / len(pos)))
    return {"fit": fit, "level": float(np.mean(np.log(pos))), "level_se": se, "points": len(pos),
            "ratio_last_to_top": float(pos[-1] / pos[0]), "lambda_max": float(pos[0])}


def check_power_law(ctx, spectra=None, centre: float = -1.0, source: str = "dense Hessian") -> Verdict:
    band = power_law_band(centre)
    points, curves = [], []
    for i in _seeds(ctx):
        run = ctx.cliff_run(i)
        ends = phase_ends(run)
        levels = [_level(run.spectrum(s).values if spectra is None else spectra[i][k]) for k, s in enumerate(ends)]
        for s, lv in zip(ends, levels):
            points.append({"seed": i, "step": s, "what": "slope", "measured": lv["fit"]["slope"],
                           "interval_95": lv["fit"]["interval"], "band": list(band),
                           "ratio_last_to_top": lv["ratio_last_to_top"], "lambda_max": lv["lambda_max"]})
        for (s0, a), (s1, b) in zip(zip(ends, levels), list(zip(ends, levels))[1:]):
            d, se = b["level"] - a["level"], math.hypot(a["level_se"], b["level_se"])
            half = float(stats.t.ppf(0.975, a["points"] + b["points"] - 4)) * se
            points.append({"seed": i, "step": f"{s0}->{s1}", "what": "upward shift of the mean log eigenvalue",
                           "measured": d, "interval_95": [d - half, d + half], "band": [0.0, None]})
        curves.append({"seed": i, "levels": [lv["level"] for lv in levels], "steps": list(ends)})
    status, j, why = judge_points(points, lambda p: f"the {p['what']} (seed {p['seed']}, step {p['step']})")
    worst = points[j]
    key = key_number(f"worst point: {worst['what']} (seed {worst['seed']}, step {worst['step']})",
                     worst["measured"], None if worst["what"] != "slope" else sum(band) / 2, worst["margin"], why,
                     interval=worst["interval_95"], band=worst["band"])
    return Verdict(status, key=key,
                   predicted={"slope_band": list(band), "ratio_100th_to_top": str(q3.HUNDREDTH_RATIO),
                              "shift": "mean log eigenvalue of the top 100 rises from each phase end to the next"},
                   measured={"spectrum_of": source, "points": points, "levels": curves},
                   tolerance=POWER_TOL, seeds=[ctx.seed], details=_details(ctx),
                   range=_range(ctx, phase_ends(ctx.cliff_run(0)), **{"top eigenvalues": TOP_FIT}),
                   rows=rows_of(({"seed": p["seed"], "step": p["step"], "what": p["what"]}, p["margin"], p["status"])
                                for p in points),
                   resolution=resolution(f"a slope off by >= {CALIBRATED * POWER_TOL.value:g} (the band's centre moved "
                                         "by twice its half-width)", CALIBRATED * POWER_TOL.value, "slope"))


def _power_control(ctx) -> Verdict:
    spectra, goe = {}, None
    for i in _seeds(ctx):
        run = ctx.cliff_run(i)
        vals = [run.spectrum(s).values for s in phase_ends(run)]
        goe = gaussian_spectra([len(vals[0])], [1.0], ctx.seed)[0] if goe is None else goe     # one draw, rescaled
        spectra[i] = [goe * v[-1] for v in vals]
    return check_power_law(ctx, spectra, source="GOE random matrices of the same size and top eigenvalue")


claim("Q3-power-law", "The positive Hessian spectrum is roughly a power law (100th about 100x below the top) that "
      "shifts upward from phase to phase", "Q3", check_power_law, _power_control,
      "the same fits on the spectrum of a seeded Gaussian (GOE) random matrix of the same size, scaled to each top",
      calibrated=(lambda ctx: check_power_law(ctx, centre=-1.0 + CALIBRATED * POWER_TOL.value),
                  "the slope band centred at 0 instead of -1 (moved by twice its half-width)"),
      expect=Expectation("inconclusive", "the power law holds (slopes -0.57 to -0.63, every interval inside "
                                         "[-1.5, -0.5]) and the spectrum shifts upward across the first cut (mean "
                                         "log eigenvalue +0.31 to +0.41), but across the second cut the shift "
                                         "(+0.01 to +0.04) is not resolved: its 95 % interval straddles 0 on some "
                                         "seeds (a measured result at quick and default, seeds 0-2)"), **HEURISTIC)


# ---------------------------------------------------------------------------
# Q3-negative-eigenvalues: a fraction of the spectrum, beyond round-off, at the end of every phase

NEG_TOL = Tolerance(
    "negative-fraction", F_MIN,
    "an eigenvalue counts as negative below -tau lambda_max with tau = 1000 n eps (Q3e: eigh is backward stable, "
    "its errors are of order n eps |H|, 3.3e-13 lambda_max at n = 1482; the factor 1000 covers the solver's "
    "constant and the rounding of the autograd Hessian; the exactly-null eigenvalues of the weights of the three "
    "constant input pixels come out at 1e-18 lambda_max, far below it); the talk's 'a sizeable fraction of the eigenvalue spectrum at every "
    "point in training consists of negative values' is read as at least 1 % of the spectrum; 'persist': at the "
    "end of every phase, the last included, of every seed (verify.stats.every_key); counts at 10 tau, 1e-6 and "
    "1e-3 lambda_max are reported to show how much the fraction depends on tau")


def _last_layer_values(run, step: int) -> np.ndarray:
    """Eigenvalues of the last layer's block (its weights and biases, the last 10 (w + 1) parameters) of the dense
    Hessian, rebuilt from the cached eigendecomposition: positive semi-definite (the cross-entropy is convex in the
    logits, the logits linear in the block)."""
    sp_ = run.spectrum(step)
    k = 10 * (run.setup.width + (1 if run.setup.bias else 0))
    V = sp_.vectors[-k:]
    return np.linalg.eigvalsh((V * sp_.values) @ V.T)


def check_negative(ctx, block: str = "full", ceiling: float | None = None) -> Verdict:
    """``block``: the spectrum counted (the negative control's last-layer block); ``ceiling``: the calibrated
    control, the opposite statement moved toward the data, 'at some phase end at most ``ceiling`` of the
    eigenvalues lie below -tau lambda_max', judged at the phase end with the least fraction."""
    rows = []
    for i in _seeds(ctx):
        run = ctx.cliff_run(i)
        for s in phase_ends(run):
            sp_ = run.spectrum(s)
            values = sp_.values if block == "full" else _last_layer_values(run, s)
            n, top = len(values), abs(sp_.values[-1])
            tau = roundoff(len(sp_.values))
            count = int(np.sum(values < -tau * top))
            rows.append({"seed": i, "step": s, "count": count, "fraction": count / n, "size": n,
                         "counts": {f"{t:g}": int(np.sum(values < -t * top)) for t in (10 * tau, 1e-6, 1e-3)},
                         "most_negative_over_lambda_max": float(values[0] / top), "tau": tau,
                         "within_tau": int(np.sum(np.abs(values) <= tau * top)),
                         "exact_zero_scale": float(np.sort(np.abs(sp_.values))[0] / top)})
    least = min(r["fraction"] for r in rows)
    if ceiling is None:
        status, key, listed = every_key(f"a fraction >= {F_MIN:g} of eigenvalues below -tau lambda_max",
                                        [({"seed": r["seed"], "step": r["step"]},
                                          F_MIN / r["fraction"] if r["fraction"] > 0 else None) for r in rows],
                                        unit="checkpoints")
    else:
        r = min(rows, key=lambda r: r["fraction"])
        status, key, listed = every_key(f"a fraction <= {ceiling:g} of eigenvalues below -tau lambda_max (at the "
                                        "phase end with the least)", [({"seed": r["seed"], "step": r["step"]},
                                                                       r["fraction"] / ceiling)],
                                        unit="checkpoints")
    firsts = {r["seed"]: r["fraction"] for r in reversed(rows)}
    lasts = {r["seed"]: r["fraction"] for r in rows}
    return Verdict(status, key=key, rows=listed,
                   predicted={"fraction_at_least": F_MIN, "threshold": "-1000 n eps lambda_max", "block": block,
                              "calibrated_ceiling": ceiling},
                   measured={"checkpoints": rows, "last_over_first": {i: lasts[i] / firsts[i] if firsts[i] else None
                                                                      for i in firsts}},
                   tolerance=NEG_TOL, seeds=[ctx.seed], details=_details(ctx), range=_range(ctx, phase_ends(
                       ctx.cliff_run(0))),
                   resolution=resolution(f"a negative fraction {CALIBRATED * F_MIN:g} of the spectrum from the bar "
                                         f"(the calibrated control: 'at most {(1 + CALIBRATED) * F_MIN:g} at some "
                                         f"phase end' must be refuted; the least fraction measured is "
                                         f"{least:.3g}, the bar times {least / F_MIN:.3g})" if least > 0 else
                                         "no phase end with a negative eigenvalue below -tau lambda_max",
                                         CALIBRATED * F_MIN, "fraction of the spectrum"))


claim("Q3-negative-eigenvalues", "Negative Hessian eigenvalues persist as a sizeable fraction (>= 1 %, beyond "
      "round-off) at the end of every phase", "Q3e", check_negative,
      lambda ctx: check_negative(ctx, block="last-layer"),
      "the same count on the last layer's Hessian block, which is positive semi-definite (the cross-entropy is "
      "convex in the logits and the logits are linear in the last layer)",
      calibrated=(lambda ctx: check_negative(ctx, ceiling=(1 + CALIBRATED) * F_MIN),
                  f"the opposite statement moved toward the data by twice the tolerance: at some phase end at most "
                  f"{(1 + CALIBRATED) * F_MIN:.0%} of the eigenvalues lie below -tau lambda_max (judged at the phase "
                  "end with the least)"), **HEURISTIC)


# ---------------------------------------------------------------------------
# Q3-eigenvector-concentration: high-lambda vectors concentrated, low-lambda ones Gaussian-like (end of phase 1)

CONC_TOL = Tolerance(
    "gaussian-mass-z-and-midpoint", CONC_Z,
    "the talk's plot (its repository's step2e): the cumulative sorted squared components of its top 2000 of 26,000 "
    "eigenvectors (7.7 %) against a Gaussian vector's, red (high lambda) to blue (low lambda); scaled to n, the top "
    "7.7 % of the positive eigenvectors at the end of phase 1, its first fifth 'high', its last fifth 'low'.  "
    "Measured: the fraction of each vector's squared norm in its largest 5 % of coordinates; the Gaussian value g = "
    "2 (q phi(q) + 1 - Phi(q)) = 0.2791 (Q3) with its finite-n spread from 1000 seeded Gaussian vectors.  (A) "
    "'high lambda vectors are much more concentrated': the 95 % t interval of the high fifth's mean mass above "
    "g + 6 sd; (B) 'low lambda vectors are mostly normally distributed': the low fifth's mean nearer g than the high "
    "fifth's, D = (m_high + g) / 2 - m_low > 0 (Q3e's midpoint rule), its 95 % interval above 0; the interval rule "
    "(verify.stats.judge_points) over both and every seed")


def gaussian_mass(n: int, seed: int) -> tuple[float, float, float]:
    """The derived Gaussian top-5 % mass and the mean and sd of 1000 seeded Gaussian vectors' (length ``n``)."""
    g = float(numeric(q3.GAUSSIAN_TOP_MASS.subs(q3.q, q3.GAUSSIAN_QUANTILE), (q3.p,))(TOP_FRACTION))
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=STREAMS["gaussian-mass"]))
    draws = top_mass(rng.standard_normal((n, GAUSSIAN_DRAWS)))
    return g, float(draws.mean()), float(draws.std(ddof=1))


def _conc_point(masses: np.ndarray) -> tuple:
    m = float(np.mean(masses))
    se = float(np.std(masses, ddof=1) / math.sqrt(len(masses)))
    return m, se, float(stats.t.ppf(0.975, len(masses) - 1))


def concentration_profile(V: np.ndarray, values: np.ndarray) -> dict:
    """Cumulative squared mass (sorted coordinates, largest first) of the high and low fifths of the talk's window,
    averaged over each fifth, at ~40 log-spaced ranks (for the figure)."""
    _, hi, lo = talk_window(values)
    n = V.shape[0]
    ranks = np.unique(np.round(np.geomspace(1, n, 40)).astype(int))

    def curve(M):
        sq = np.sort(M ** 2, axis=0)[::-1]
        c = np.cumsum(sq, axis=0) / sq.sum(axis=0)
        return c[ranks - 1].mean(axis=1).tolist()
    return {"ranks": ranks.tolist(), "high": curve(V[:, hi]), "low": curve(V[:, lo])}


def check_concentration(ctx, vectors=None, calibrated: bool = False) -> Verdict:
    """``vectors(run, step) -> matrix``: the vectors measured (default the dense eigenvectors); the columns are
    taken in the order of the eigenvalues.  ``calibrated``: the calibrated control, the opposite statements moved
    toward the data by twice their tolerance: (A) the high fifth's mean mass at most g + 3 x 6 sd (the bar moved by
    twice its 6 sd), (B) the midpoint D at most 2 h, h the widest 95 % half-width of D over the seeds."""
    points, rows, profile = [], [], None
    for i in _seeds(ctx):
        run = ctx.cliff_run(i)
        s = phase_ends(run)[0]
        sp_ = run.spectrum(s)
        V = sp_.vectors if vectors is None else vectors(run, s)
        g, gmean, gsd = gaussian_mass(V.shape[0], ctx.seed)
        _, hi, lo = talk_window(sp_.values)
        mh, sh, th = _conc_point(top_mass(V[:, hi]))
        ml, sl, tl = _conc_point(top_mass(V[:, lo]))
        bar = g + CONC_Z * gsd
        d = (mh + g) / 2 - ml
        sd_ = math.hypot(sh / 2, sl)
        td = float(stats.t.ppf(0.975, min(len(hi), len(lo)) - 1))
        points.append({"seed": i, "step": s, "what": "high fifth's mean top-5 % mass (concentrated)", "measured": mh,
                       "interval_95": [mh - th * sh, mh + th * sh], "band": [bar, None]})
        points.append({"seed": i, "step": s, "what": "midpoint D = (m_high + g) / 2 - m_low (low Gaussian-like)",
                       "measured": d, "interval_95": [d - td * sd_, d + td * sd_], "band": [0.0, None]})
        rows.append({"seed": i, "step": s, "high_mean_mass": mh, "low_mean_mass": ml, "gaussian": g,
                     "gaussian_draws_mean": gmean, "gaussian_draws_sd": gsd, "bar": bar, "midpoint": d,
                     "high_eigenvalues": [float(sp_.values[hi[0]]), float(sp_.values[hi[-1]])],
                     "low_eigenvalues": [float(sp_.values[lo[0]]), float(sp_.values[lo[-1]])],
                     "fifth": len(hi), "window": len(talk_window(sp_.values)[0]),
                     "other_phase_ends": {str(e): {"high": float(top_mass(run.spectrum(e).vectors[:, talk_window(
                         run.spectrum(e).values)[1]]).mean()), "low": float(top_mass(run.spectrum(e).vectors[:, talk_window(
                             run.spectrum(e).values)[2]]).mean())} for e in phase_ends(run)[1:]} if vectors is None else {}})
        if profile is None and vectors is None:
            profile = {"seed": i, "step": s, **concentration_profile(V, sp_.values), "gaussian": g}
    widest_d = max((p["interval_95"][1] - p["interval_95"][0]) / 2 for p in points if p["what"].startswith("mid"))
    if calibrated:
        for p, r in zip(points, [r for r in rows for _ in (0, 1)]):
            p["band"] = ([None, r["gaussian"] + (1 + CALIBRATED) * CONC_Z * r["gaussian_draws_sd"]]
                         if p["what"].startswith("high") else [None, CALIBRATED * widest_d])
    status, j, why = judge_points(points, lambda p: f"the {p['what']} (seed {p['seed']})")
    worst = points[j]
    key = key_number(f"worst point: {worst['what']} (seed {worst['seed']})", worst["measured"], None,
                     worst["margin"], why, interval=worst["interval_95"], band=worst["band"])
    return Verdict(status, key=key,
                   predicted={"gaussian_top_mass": str(q3.GAUSSIAN_TOP_MASS), "midpoint": str(q3e.MIDPOINT),
                              "bar_z": CONC_Z},
                   measured={"seeds": rows, "points": points, "profile": profile}, tolerance=CONC_TOL,
                   seeds=[ctx.seed], details=_details(ctx), range=_range(ctx, [rows[0]["step"]]),
                   rows=rows_of(({"seed": p["seed"], "what": p["what"]}, p["margin"], p["status"]) for p in points),
                   resolution=resolution(f"a high fifth's mass 12 Gaussian sds from its bar of 6, or a midpoint D "
                                         f"{CALIBRATED * widest_d:.2g} from 0 (twice its widest 95 % half-width; the "
                                         "calibrated control: the opposite statements moved by these must be "
                                         "refuted)", CALIBRATED * widest_d, "midpoint D (top-5 % mass)"))


def _random_vectors(ctx):
    rng = np.random.default_rng(ctx.stream("eigenvector-shuffle"))
    return lambda run, step: rng.standard_normal(run.spectrum(step).vectors.shape)


claim("Q3-eigenvector-concentration", "High-lambda Hessian eigenvectors hold far more than a Gaussian vector's 0.28 "
      "of their mass in their largest 5 % of coordinates; low-lambda ones are nearer the Gaussian (end of phase 1)",
      "Q3e", check_concentration, lambda ctx: check_concentration(ctx, _random_vectors(ctx)),
      "the same check on seeded Gaussian random vectors in place of the eigenvectors",
      calibrated=(lambda ctx: check_concentration(ctx, calibrated=True),
                  f"the opposite statements moved toward the data by twice their tolerance: the high fifth's mean "
                  f"top-5 % mass at most g + {(1 + CALIBRATED) * CONC_Z:g} sd, the midpoint D at most twice its "
                  "widest 95 % half-width"), **HEURISTIC)


# ---------------------------------------------------------------------------
# Q3-eigenvector-rotation: overlaps between phase ends by eigenvalue band

ROT_TOL = Tolerance(
    "overlap-ratios", 1.0,
    "the talk: 'the eigenvectors are changing, but they're mostly rotating into other vectors of similar "
    "eigenvalue; the high lambda subspace is remarkably consistent, but the low lambda directions shift into each "
    "other a lot'.  The positive spectrum above tau lambda_max at each phase end cut into 5 equal-count bands (by "
    "quantile of lambda); O[a, b] the mean squared projection of band a's eigenvectors at one phase end onto band "
    "b's subspace at the next (the random-subspace reference is |band b| / n, Q3e).  Per seed and pair of "
    "the end of phase 1 and the end of phase 2 (the pairs of later phase ends are reported, not judged: in the "
    "last phase the eigenvectors barely move at all), three ratios, each at most 1: (i) similar eigenvalue: every row's largest "
    "off-diagonal entry over its diagonal one; (ii) the high subspace stays: 1/2 over the top band's O[0, 0] (most "
    "of it stays); (iii) low directions mix more: the largest lower band's O[a, a] over O[0, 0]; the row's used "
    "fraction is the largest of the three; every seed (verify.stats.every_key)")


def rotation_measure(ctx, index: int, basis=None) -> list:
    """Overlap matrices between consecutive phase ends of seed ``index`` (``basis(run, step)``: the later basis, the
    negative control's, which needs only the judged first pair; default the dense eigenvectors, whose matrices are
    cached: the check and its calibrated control read the same)."""
    key = ("q3e-rotation", ctx.profile.cliff, index)
    if basis is None and key in ctx._runs:
        return ctx._runs[key]
    run = ctx.cliff_run(index)
    ends = phase_ends(run)
    out = []
    for a, b in list(zip(ends, ends[1:]))[:None if basis is None else 1]:
        A, B = run.spectrum(a), run.spectrum(b)
        VB = B.vectors if basis is None else basis(run, b)
        bands_a, bands_b = positive_bands(A.values), positive_bands(B.values)
        O = overlap_matrix(A.vectors, bands_a, VB, bands_b)
        out.append({"from": a, "to": b, "overlap": O, "random": [len(x) / len(B.values) for x in bands_b],
                    "band_sizes": [len(x) for x in bands_a],
                    "band_edges_from": [[float(A.values[x[0]]), float(A.values[x[-1]])] for x in bands_a]})
    if basis is None:
        ctx._runs[key] = out
    return out


def _rotation_ratios(O: np.ndarray, bar: float = 1.0) -> dict:
    diag = np.diag(O)
    off = np.array([max(np.delete(O[a], a)) for a in range(len(O))])
    similar = float(np.max(off / diag)) / bar
    stays = 0.5 / float(O[0, 0])
    mixes = float(np.max(diag[1:]) / O[0, 0])
    return {"similar": similar, "stays": stays, "mixes": mixes, "used": max(similar, stays, mixes)}


def check_rotation(ctx, basis=None, bar: float = 1.0) -> Verdict:
    rows, later = [], []
    for i in _seeds(ctx):
        for k, m in enumerate(rotation_measure(ctx, i, None if basis is None else basis(ctx))):
            r = _rotation_ratios(m["overlap"], bar)
            (rows if k == 0 else later).append(
                {"seed": i, "pair": f"{m['from']}->{m['to']}", **r, "overlap": m["overlap"].tolist(),
                 "random": m["random"], "band_edges_from": m["band_edges_from"],
                 "diagonal_over_random": (np.diag(m["overlap"]) / np.array(m["random"])).tolist()})
    status, key, listed = every_key("eigenvectors rotating into similar eigenvalues (the three overlap ratios <= 1)",
                                    [({"seed": r["seed"], "pair": r["pair"]}, r["used"]) for r in rows])
    return Verdict(status, key=key, rows=listed,
                   predicted={"random_overlap": str(q3e.RANDOM_OVERLAP), "bands": BANDS,
                              "similar_ratio_at_most": bar},
                   measured={"pairs": rows, "later_pairs_not_judged": later}, tolerance=ROT_TOL, seeds=[ctx.seed], details=_details(ctx),
                   range=_range(ctx, phase_ends(ctx.cliff_run(0)), bands=BANDS),
                   resolution=resolution("a rotation whose off-band overlap reaches half the in-band one (the "
                                         "calibrated control halves the bar of ratio (i))", 0.5, "overlap ratio"))


def _random_basis(ctx):
    rng = np.random.default_rng(ctx.stream("rotation"))
    n = ctx.cliff_run(0).setup.size
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))           # one seeded random orthogonal basis for every run
    return lambda _ctx: (lambda run, step: q)


claim("Q3-eigenvector-rotation", "Between phase ends the Hessian's eigenvectors rotate mostly into vectors of similar "
      "eigenvalue: the high-lambda subspace stays, the low-lambda directions mix", "Q3e", check_rotation,
      lambda ctx: check_rotation(ctx, basis=_random_basis(ctx)),
      "the later eigenbases replaced by a seeded random orthogonal basis (overlaps |band| / n)",
      calibrated=(lambda ctx: check_rotation(ctx, bar=0.5),
                  "ratio (i)'s bar halved: every band's largest off-diagonal overlap at most half its diagonal one"),
      **HEURISTIC)


# ---------------------------------------------------------------------------
# Q3-cliff-displacement: the first cut's displacement in the eigenbasis before it

DISP_TOL = Tolerance(
    "displacement-fractions", 0.5,
    "the talk: 'the cliff drop is mostly directed in the low lambda subspace; high lambda directions don't change "
    "much'.  Its repository's step2g measures the displacement from the mean of the iterates over the second half "
    "of the first phase (its checkpoints 5000, 5100, ..., 10000: the mean removes the iterates' noise around the "
    "plateau, which lives mostly in the high-lambda directions) to the iterate 100 steps after the cut, in the "
    "dense eigenbasis at the cut.  Here the same: delta = theta(first cut + first 'after' step) minus the mean of "
    "the iterates over the second half of phase 1, every 1 % of the phase (CliffSetup.average_steps, 51 iterates), "
    "decomposed in the dense eigenbasis at the end of phase 1; high-lambda subspace: the top of the 5 equal-count "
    "bands of the positive spectrum (those of Q3-eigenvector-rotation), low-lambda: the other four.  (i) 'mostly "
    "in the low subspace': its share of |delta|^2 at least 1/2 (used: 1/2 over the share); (ii) 'high directions "
    "don't change much': the high subspace's share at most its dimension fraction, a random direction's share "
    "(Q3e; used: share over fraction); every seed.  The displacement from the last iterate before the cut (noise "
    "included) is reported beside it, not judged")


def displacement_measure(ctx, index: int, delta=None) -> dict:
    """The first cut's displacement (from the mean of phase 1's late iterates, :meth:`CliffSetup.average_steps`, to
    the first checkpoint after the cut) in the dense eigenbasis at the cut, and the same from the last iterate
    before the cut (reported); ``delta(run, step)`` replaces the judged displacement (the negative control)."""
    run = ctx.cliff_run(index)
    before = phase_ends(run)[0]
    after = before + min(run.setup.after)
    sp_ = run.spectrum(before)
    d = run.theta(after) - run.iterate_means[before] if delta is None else delta(run, before)
    bands = positive_bands(sp_.values)
    f = displacement_fractions(sp_.vectors, sp_.values, d, bands)
    low, low_dim = sum(f["bands"][1:]), sum(f["band_dimension"][1:])
    last = displacement_fractions(sp_.vectors, sp_.values, run.theta(after) - run.theta(before), bands)
    window = displacement_fractions(sp_.vectors, sp_.values, run.theta(after) - run.window_means[before], bands)
    positive = low + f["bands"][0]
    return {"before": before, "after": after, "averaged": [run.setup.average_steps(0)[0], before, len(
                run.setup.average_steps(0))], "norm": float(np.linalg.norm(d)), **f, "low": low,
            "low_of_positive": low / positive if positive > 0 else None,
            "low_dimension": low_dim, "high": f["bands"][0], "high_dimension": f["band_dimension"][0],
            "from_last_iterate": {"high": last["bands"][0], "low": sum(last["bands"][1:]),
                                  "negative": last["negative"],
                                  "norm": float(np.linalg.norm(run.theta(after) - run.theta(before)))},
            "from_end_window_mean": {"high": window["bands"][0], "low": sum(window["bands"][1:]),
                                     "negative": window["negative"], "norm": float(np.linalg.norm(
                                         run.theta(after) - run.window_means[before]))},
            "mean_to_last_iterate_norm": float(np.linalg.norm(run.theta(before) - run.iterate_means[before]))}


def _displacement_used(r: dict, bar: float) -> float:
    """The fraction of its tolerance a seed uses: (i) the low share against ``1 - bar / 2`` and (ii) the high share
    against ``bar`` x its dimension fraction (``bar = 1``: the claim's 1/2 and a random direction's share)."""
    low_bar = 1 - bar / 2
    return max(low_bar / r["low"] if r["low"] > 0 else math.inf, r["high"] / (bar * r["high_dimension"]))


def check_displacement(ctx, delta=None, bar: float = 1.0) -> Verdict:
    """``delta``: the negative control's displacement; ``bar``: the calibrated control's tighter bars (``bar = 1/2``:
    the low share at least 3/4, the high share at most half a random direction's)."""
    rows = [{"seed": i, **displacement_measure(ctx, i, delta)} for i in _seeds(ctx)]
    for r in rows:
        r["used"] = _displacement_used(r, bar)
    status, key, listed = every_key(f"the cut's displacement mostly in the low-lambda subspace (share >= "
                                    f"{1 - bar / 2:g}), the high subspace at most {bar:g} x its random share",
                                    [({"seed": r["seed"]}, r["used"]) for r in rows])
    return Verdict(status, key=key, rows=listed,
                   predicted={"low_share_at_least": 1 - bar / 2,
                              "high_share_at_most": f"{bar:g} x its dimension fraction (random direction: m / n)",
                              "from": "the mean of the iterates over the second half of phase 1 (the talk's step2g)"},
                   measured={"seeds": rows}, tolerance=DISP_TOL, seeds=[ctx.seed], details=_details(ctx),
                   range=_range(ctx, [rows[0]["before"], rows[0]["after"]], bands=BANDS),
                   resolution=resolution("a displacement whose low-lambda share is below 3/4 or whose high-lambda "
                                         "share exceeds half a random direction's (the calibrated control: both "
                                         "bars moved halfway to the data's side)", 0.5, "share ratio"))


def _top_vector_delta(run, step):
    return run.spectrum(step).vectors[:, -1].copy()


claim("Q3-cliff-displacement", "The displacement across the first cut (from the mean of the late phase-1 iterates, "
      "as the talk) lies mostly in the low-lambda subspace (high-lambda directions change little)", "Q3e",
      check_displacement, lambda ctx: check_displacement(ctx, _top_vector_delta),
      "the displacement replaced by the top eigenvector (all of it in the high-lambda subspace)",
      calibrated=(lambda ctx: check_displacement(ctx, bar=0.5),
                  "both bars halved toward the data's side: the low-lambda share at least 3/4, the high-lambda "
                  "share at most half its dimension fraction"),
      expect=Expectation("failed", "at the default profile (3000-step phases) the low-lambda share of the "
                                   "displacement from the talk's iterate mean is 0.47-0.55 (seed 1 below 1/2): 44-51 % "
                                   "of it lies in the negative eigenspace, which is neither; the high-lambda share is "
                                   "0.9-1.1 % against a random direction's 14 % (that half of the statement holds "
                                   "clearly).  At quick the low share is 0.56-0.64 and the claim passes.  Both "
                                   "profiles: the displacement from the mean is dominated by the drift of the "
                                   "iterates over the second half of phase 1 (the mean lies 4.1-4.2 (quick) and about "
                                   "6 (default) from the last iterate, the cut moves it 0.7-0.9); from the last "
                                   "iterate 56-69 % of it lies in the top band", profiles=("default",)),
      **HEURISTIC)
