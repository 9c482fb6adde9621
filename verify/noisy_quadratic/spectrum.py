"""Q3: measured Hessian spectra of a small GELU network trained on digits, against the talk's observations.

Each claim is a measurement of an empirical statement (``heuristic=True``);
the reference values (the power-law band, the Gaussian vector's top-5 % mass,
the heavy-ball sharpness threshold) come from
:mod:`theory.noisy_quadratic.spectrum`.
"""
from __future__ import annotations

import math

import numpy as np
import sympy as sp

from theory.bridge import numeric
from theory.noisy_quadratic import spectrum as theory

from ..registry import Expectation, Status, Tolerance, Verdict, key_number, rows_of
from ..stats import count_key, exceed_margin, fit_slope, judge_interval, margin_as_judged, ratio_margin
from ._context import claim

TOP_FIT = 100
TOP_FRACTION = 0.05
NEGATIVE_TOLERANCES = (0.0, 1e-9, 1e-6, 1e-3)
NEGATIVE_TOLERANCE = 1e-6
#: Gaussian vectors drawn to measure the finite-n spread of the reference mass
GAUSSIAN_DRAWS = 1000


def _details(run) -> dict:
    s = run.setup
    return {"setup": s.describe(), "seed": run.seed, "device": run.device,
            "final_training_loss": float(run.losses[-1]),
            "checkpoints": [{"step": c.step, "lr": c.lr, "loss": c.loss, "accuracy": c.accuracy,
                             "lambda_max": c.top, "lambda_min": float(c.values[0]),
                             "sharpness_threshold": _threshold(s, c.lr),
                             "lambda_max_plus_wd_over_threshold": (c.top + s.weight_decay) / _threshold(s, c.lr)}
                            for c in run.checkpoints]}


def _range(ctx, run) -> dict:
    """The range a Q3 claim on the trained network was tested on: its checkpoints, its size and the seed."""
    return {"checkpoints": [c.step for c in run.checkpoints], "parameters": len(run.checkpoints[0].values),
            "seeds": [ctx.seed]}


def _threshold(setup, lr: float) -> float:
    return float(numeric(theory.SHARPNESS_THRESHOLD, (theory.alpha, theory.gamma))(lr, setup.momentum))


# ---------------------------------------------------------------------------
# Q3-lanczos-vs-dense

LANCZOS_TOL = Tolerance(
    "relative-eigenvalue-difference", 1e-8,
    "Lanczos (eigsh, ARPACK tol 1e-12, seeded start vector) on exact float64 Hessian-vector products against "
    "eigh of the dense float64 Hessian: both are backward stable, with errors of order n eps |H| (about 1e-12 "
    "|lambda_max| for n of a few thousand), and each Lanczos value lies within its residual |H v - lambda v| "
    "of an exact eigenvalue; every top-k value and the bottom value must agree with eigh within 1e-8 "
    "|lambda_max|, and every residual must be below 1e-8 |lambda_max|")


def check_lanczos(ctx, shift: float = 0.0) -> Verdict:
    run = ctx.spectrum_run()
    rows, worst = [], 0.0
    for c in run.checkpoints:
        scale = abs(c.top)
        dense = c.values + shift * scale
        k = len(c.lanczos_top)
        diff_top = np.abs(c.lanczos_top - dense[::-1][:k]) / scale
        diff_bottom = abs(c.lanczos_bottom - dense[0]) / scale
        res = max(float(c.lanczos_top_residuals.max()), c.lanczos_bottom_residual) / scale
        worst = max(worst, float(diff_top.max()), diff_bottom, res)
        rows.append({"step": c.step, "lanczos_top": c.lanczos_top.tolist(), "dense_top": dense[::-1][:k].tolist(),
                     "lanczos_bottom": c.lanczos_bottom, "dense_bottom": float(dense[0]),
                     "max_relative_difference_top": float(diff_top.max()),
                     "relative_difference_bottom": diff_bottom, "max_relative_residual": res,
                     "converged": bool(c.lanczos_top_converged and c.lanczos_bottom_converged),
                     "products": c.products})
    converged = all(r["converged"] for r in rows)
    ok = worst <= LANCZOS_TOL.value and converged
    # margin: the largest relative difference or residual over 1e-8 (stats.ratio_margin); none when Lanczos did
    # not converge at some checkpoint (the verdict then rests on that)
    why = (None if ok else
           f"a Lanczos value or residual is {worst:.3g} |lambda_max| from the dense one, above {LANCZOS_TOL.value:g}"
           if converged else
           "Lanczos did not converge at step(s) " + ", ".join(str(r["step"]) for r in rows if not r["converged"]))
    key = key_number("largest |Lanczos - eigh| or residual / lambda_max over the checkpoints", worst, 0.0,
                     ratio_margin(worst, LANCZOS_TOL.value) if converged else None, why)
    return Verdict("Q3-lanczos-vs-dense", "Lanczos top-k and bottom eigenvalues agree with the dense spectrum",
                   Status.PASSED if ok else Status.FAILED, key=key,
                   predicted={"dense_shift_relative_to_lambda_max": shift},
                   measured={"worst_relative": worst, "checkpoints": rows}, tolerance=LANCZOS_TOL,
                   seeds=[ctx.seed], details=_details(run), range=_range(ctx, run),
                   rows=rows_of(({"step": r["step"]}, _lanczos_worst(r) / LANCZOS_TOL.value,
                                 r["converged"] and _lanczos_worst(r) <= LANCZOS_TOL.value) for r in rows))


def _lanczos_worst(row) -> float:
    """A checkpoint's largest relative difference or residual (of check_lanczos's row)."""
    return max(row["max_relative_difference_top"], row["relative_difference_bottom"], row["max_relative_residual"])


claim("Q3-lanczos-vs-dense", "Lanczos extreme eigenvalues match eigh of the dense float64 Hessian", "Q3",
      check_lanczos, lambda ctx: check_lanczos(ctx, shift=1e-6),
      "the dense eigenvalues shifted by 1e-6 lambda_max (a wrong shift must be detected)", group="q3-spectrum",
      heuristic=True)


# ---------------------------------------------------------------------------
# Q3-power-law


def power_law_band() -> tuple[float, float]:
    """Slopes whose 100th eigenvalue is 10 to 1000 times below the top ("about 100 times": within 10x)."""
    lo = sp.solve(sp.Eq(theory.HUNDREDTH_RATIO, sp.Rational(1, 1000)), theory.s)[0]
    hi = sp.solve(sp.Eq(theory.HUNDREDTH_RATIO, sp.Rational(1, 10)), theory.s)[0]
    return float(lo), float(hi)


POWER_TOL = Tolerance(
    "slope-band", 1.0,
    "the talk: the 100th positive eigenvalue about 100 times below the top, i.e. a log-log slope s with "
    "100^s = 1/100; 'about' is read as within a factor 10, so the band is 100^s in [1/1000, 1/10], "
    "s in [-1.5, -0.5] (value = the band's width); the fit is least squares of log lambda_i on log i over the "
    "top 100 positive eigenvalues with a 95 % t interval; passed when the whole interval lies in the band at "
    "every checkpoint, failed when the whole interval lies outside it at some checkpoint")


def gaussian_spectra(sizes, scales, seed: int) -> list:
    """Spectra of seeded GOE matrices (entries N(0, 1/n)) of the given sizes, scaled to the given tops."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(30,)))
    out = []
    for n, top in zip(sizes, scales):
        A = rng.standard_normal((n, n)) / math.sqrt(n)
        v = np.linalg.eigvalsh((A + A.T) / 2)
        out.append(v * top / v[-1])
    return out


def check_power_law(ctx, spectra=None, source: str = "trained network") -> Verdict:
    run = ctx.spectrum_run()
    band = power_law_band()
    spectra = [c.values for c in run.checkpoints] if spectra is None else spectra
    rows, statuses = [], []
    for c, values in zip(run.checkpoints, spectra):
        pos = np.sort(values[values > 0])[::-1][:TOP_FIT]
        i = np.arange(1, len(pos) + 1)
        fit = fit_slope(np.log(i), np.log(pos))
        # the interval rule (stats.judge_interval): the slope's whole 95 % interval in the band
        st, margin, why = judge_interval(fit["interval"], band, f"the fitted slope at step {c.step}")
        statuses.append(st)
        pred = fit["intercept"] + fit["slope"] * np.log(i)
        r2 = 1 - np.sum((np.log(pos) - pred) ** 2) / np.sum((np.log(pos) - np.log(pos).mean()) ** 2)
        rows.append({"step": c.step, "slope": fit["slope"], "interval": fit["interval"], "r_squared": float(r2),
                     "points": len(pos), "ratio_last_to_top": float(pos[-1] / pos[0]), "status": st.value,
                     "margin": margin, "why": why,
                     "positive_eigenvalues": int(np.sum(values > 0)), "lambda_max": float(pos[0])})
    status = (Status.FAILED if Status.FAILED in statuses else
              Status.PASSED if all(s == Status.PASSED for s in statuses) else Status.INCONCLUSIVE)
    slopes = [r["slope"] for r in rows]
    # margin: the interval's farther end's distance from the band's centre over its half-width (stats.interval_margin)
    # at the checkpoint where it is largest: below 1 exactly when every slope's interval lies in the band
    margins = [r["margin"] for r in rows]
    j = max(range(len(rows)), key=lambda i: math.inf if margins[i] is None else margins[i])
    worst = rows[j]
    # why from the first checkpoint with the verdict's status (a failed one when any failed)
    why = None if status is Status.PASSED else next(r["why"] for r in rows if r["status"] == status.value)
    key = key_number("log-log slope of the top 100 positive eigenvalues (the checkpoint farthest from the band's "
                     "centre)", worst["slope"], sum(band) / 2, margins[j], why, interval=worst["interval"],
                     band=list(band))
    return Verdict("Q3-power-law", "The positive spectrum's top 100 follow a power law of slope about -1",
                   status, key=key, predicted={"band": list(band), "ratio_100th_to_top": str(theory.HUNDREDTH_RATIO)},
                   measured={"spectrum_of": source, "checkpoints": rows,
                             "slope_spread": float(max(slopes) - min(slopes))},
                   tolerance=POWER_TOL, seeds=[ctx.seed], details=_details(run),
                   range={"steps": [r["step"] for r in rows], "top eigenvalues": TOP_FIT, "seeds": [ctx.seed]},
                   rows=rows_of(({"step": r["step"]}, r["margin"], r["status"]) for r in rows))


def _power_control(ctx) -> Verdict:
    run = ctx.spectrum_run()
    spectra = gaussian_spectra([len(c.values) for c in run.checkpoints], [c.top for c in run.checkpoints], ctx.seed)
    return check_power_law(ctx, spectra, source="GOE random matrices of the same size and top eigenvalue")


claim("Q3-power-law", "The positive Hessian spectrum is roughly a power law (100th about 100x below the top)", "Q3",
      check_power_law, _power_control,
      "the same fit on the spectrum of a seeded Gaussian (GOE) random matrix of the same size", group="q3-spectrum",
      heuristic=True)


# ---------------------------------------------------------------------------
# Q3-negative-eigenvalues

NEG_TOL = Tolerance(
    "relative-negative-threshold", NEGATIVE_TOLERANCE,
    "an eigenvalue counts as negative below -1e-6 lambda_max: eigh's error is of order n eps |H| (about 1e-12 "
    "lambda_max here), six decades below; the counts at 0, 1e-9 and 1e-3 are reported to show how much the "
    "count depends on this choice; passed when at least one eigenvalue lies below the threshold at every "
    "checkpoint")


def check_negative(ctx, block: str = "full") -> Verdict:
    run = ctx.spectrum_run()
    rows, persist, used = [], True, []
    for c in run.checkpoints:
        values = c.values if block == "full" else c.last_layer_values
        scale = c.top
        # the checkpoint's used fraction: the threshold over its most negative eigenvalue (both / lambda_max),
        # below 1 when an eigenvalue lies below the threshold; infinite when none is negative
        lowest = float(np.min(values))
        used.append(NEGATIVE_TOLERANCE / (-lowest / scale) if lowest < 0 else math.inf)
        counts = {f"{t:g}": int(np.sum(values < -t * scale)) for t in NEGATIVE_TOLERANCES}
        neg = values[values < -NEGATIVE_TOLERANCE * scale]
        count = len(neg)
        persist &= count >= 1
        rows.append({"step": c.step, "count": count, "fraction": count / len(values), "counts_by_tolerance": counts,
                     "negative_mass_over_positive_mass": float(-neg.sum() / values[values > 0].sum()),
                     "most_negative_over_lambda_max": float(values[0] / scale), "size": len(values)})
    met = sum(r["count"] >= 1 for r in rows)
    none = [r["step"] for r in rows if r["count"] < 1]
    # margin: a count rule, every checkpoint has a negative eigenvalue: checkpoints without one / (0 + 1/2)
    # (stats.count_margin)
    key = count_key(f"fraction of checkpoints with an eigenvalue below -{NEGATIVE_TOLERANCE:g} lambda_max "
                    f"({block} Hessian)", met, len(rows),
                    None if persist else f"no eigenvalue below -{NEGATIVE_TOLERANCE:g} lambda_max at step(s) "
                                         + ", ".join(str(s) for s in none),
                    unit="checkpoints", worst_margin=max(used, default=None))
    return Verdict("Q3-negative-eigenvalues", "Negative Hessian eigenvalues persist at every checkpoint",
                   Status.PASSED if persist else Status.FAILED, key=key,
                   predicted={"threshold_relative_to_lambda_max": -NEGATIVE_TOLERANCE, "block": block},
                   measured={"checkpoints": rows, "fewer_over_time":
                             bool(all(a["count"] >= b["count"] for a, b in zip(rows, rows[1:])))},
                   tolerance=NEG_TOL, seeds=[ctx.seed], details=_details(run), range=_range(ctx, run),
                   rows=rows_of(({"step": r["step"]}, u, r["count"] >= 1) for r, u in zip(rows, used)))


claim("Q3-negative-eigenvalues", "Negative Hessian eigenvalues persist to the end of training", "Q3",
      check_negative, lambda ctx: check_negative(ctx, block="last-layer"),
      "the same count on the last layer's Hessian block, which is positive semi-definite (the cross-entropy is "
      "convex in the logits and the logits are linear in the last layer)", group="q3-spectrum", heuristic=True)


# ---------------------------------------------------------------------------
# Q3-eigenvector-concentration

CONC_Z = 6.0
CONC_TOL = Tolerance(
    "gaussian-mass-z", CONC_Z,
    "a Gaussian vector of length n carries the derived fraction 2 (q phi(q) + 1 - Phi(q)) = 0.2791 of its "
    "squared norm in its largest 5 % of coordinates, with a finite-n spread measured on 1000 seeded Gaussian "
    "vectors; a top eigenvector counts as concentrated when its fraction exceeds that value by more than 6 "
    "measured standard deviations (a Gaussian vector does so with probability below 1e-6 by the normal tail); "
    "passed when each of the top k eigenvectors is concentrated at every checkpoint")


def top_mass(v: np.ndarray, fraction: float = TOP_FRACTION) -> float:
    """The fraction of ``|v|^2`` in its largest ``ceil(fraction n)`` coordinates."""
    sq = np.sort(np.asarray(v, float) ** 2)[::-1]
    return float(sq[:max(1, math.ceil(fraction * len(sq)))].sum() / sq.sum())


def check_concentration(ctx, random_vectors: bool = False) -> Verdict:
    run = ctx.spectrum_run()
    k = run.setup.k
    reference = float(numeric(theory.GAUSSIAN_TOP_MASS.subs(theory.q, theory.GAUSSIAN_QUANTILE),
                              (theory.p,))(TOP_FRACTION))
    n = len(run.checkpoints[0].values)
    rng = np.random.default_rng(np.random.SeedSequence(ctx.seed, spawn_key=(31,)))
    draws = np.array([top_mass(rng.standard_normal(n)) for _ in range(GAUSSIAN_DRAWS)])
    sd = float(draws.std(ddof=1))
    bar = reference + CONC_Z * sd
    rows, ok = [], True
    for c in run.checkpoints:
        vecs = rng.standard_normal((n, k)) if random_vectors else c.top_vectors[:, :k]
        masses = [top_mass(vecs[:, j]) for j in range(k)]
        bottom = [top_mass(c.bottom_vectors[:, j]) for j in range(min(k, c.bottom_vectors.shape[1]))]
        ok &= min(masses) > bar
        rows.append({"step": c.step, "top_masses": masses, "bottom_masses": bottom})
    # margin: the rule "least mass > reference + 6 sd" as stats.exceed_margin of the least mass's excess over the
    # reference against 6 sd: 6 sd / excess while it exceeds 6 sd, else 1 + the shortfall in units of 6 sd
    least = min(min(r["top_masses"]) for r in rows)
    at = next(r["step"] for r in rows if min(r["top_masses"]) == least)
    margin = exceed_margin(least - reference, CONC_Z * sd, passed=ok) if sd > 0 else (0.0 if ok else None)
    key = key_number(f"least top-5 % mass of the top {k} {'random vectors' if random_vectors else 'eigenvectors'} "
                     "over the checkpoints", least, reference, margin,
                     None if ok else f"at step {at} a vector holds {least:.3g} of its mass in its top 5 % of "
                                     f"coordinates, not above the Gaussian {reference:.3g} + {CONC_Z:g} sd = {bar:.3g}",
                     band=[bar, 1.0])
    return Verdict("Q3-eigenvector-concentration", "Top Hessian eigenvectors concentrate their mass in few "
                   "coordinates", Status.PASSED if ok else Status.FAILED, key=key,
                   predicted={"gaussian_reference": reference, "formula": str(theory.GAUSSIAN_TOP_MASS),
                              "bar": bar, "vectors": "seeded Gaussian vectors" if random_vectors else
                              f"top {k} eigenvectors"},
                   measured={"checkpoints": rows, "gaussian_draws_mean": float(draws.mean()), "gaussian_draws_sd": sd,
                             "coordinates_kept": max(1, math.ceil(TOP_FRACTION * n)), "n": n},
                   tolerance=CONC_TOL, seeds=[ctx.seed], details=_details(run), range=_range(ctx, run),
                   rows=rows_of(({"step": r["step"]}, exceed_margin(min(r["top_masses"]) - reference, CONC_Z * sd,
                                                                    passed=min(r["top_masses"]) > bar)
                                 if sd > 0 else None, min(r["top_masses"]) > bar) for r in rows))


claim("Q3-eigenvector-concentration", "Top Hessian eigenvectors hold far more than a Gaussian vector's 0.28 of "
      "their mass in their largest 5 % of coordinates", "Q3", check_concentration,
      lambda ctx: check_concentration(ctx, random_vectors=True),
      "the same check on seeded Gaussian random vectors in place of the eigenvectors", group="q3-spectrum",
      heuristic=True)


# ---------------------------------------------------------------------------
# Q3-edge-of-stability

EDGE_TOL = Tolerance(
    "sharpness-over-threshold", 0.5,
    "the edge of stability (Cohen et al. 2021) is the regime in which the top eigenvalue of the objective's "
    "Hessian hovers at the stability threshold; 'at the edge' is read as the ratio of the top loss-Hessian "
    "eigenvalue to the derived threshold 2 (1 + gamma) / alpha - wd within 0.5 of 1 (a factor 2 below, half "
    "above, fixed before measuring); passed when the ratio at the end of every learning-rate phase lies in "
    "[0.5, 1.5]")


def _edge_threshold(expr):
    return numeric(expr, (theory.alpha, theory.gamma, theory.wd))


def _effective_lr_threshold():
    """A wrong threshold: gradient descent's 2 / alpha at the 'effective' step alpha / (1 - gamma), minus wd."""
    return (theory.SHARPNESS_THRESHOLD.subs(theory.gamma, 0).subs(theory.alpha, theory.alpha / (1 - theory.gamma))
            - theory.wd)


def check_edge(ctx, expr=None) -> Verdict:
    tr = ctx.edge_trace()
    s = tr.setup
    expr = theory.OBJECTIVE_THRESHOLD if expr is None else expr
    thr = _edge_threshold(expr)
    bounds = [0, *sorted(int(d) for d in s.drops), s.steps]
    rows = []
    for lo, hi in zip(bounds, bounds[1:]):
        sel = (tr.steps > lo) & (tr.steps <= hi)
        if not sel.any():
            continue
        last = int(np.flatnonzero(sel)[-1])
        lr = float(tr.lrs[last])
        threshold = float(thr(lr, s.momentum, s.weight_decay))
        rows.append({"phase": [lo, hi], "lr": lr, "threshold": threshold, "step": int(tr.steps[last]),
                     "lambda_max": float(tr.lambda_max[last]), "ratio": float(tr.lambda_max[last] / threshold),
                     "phase_max_ratio": float(tr.lambda_max[sel].max() / threshold),
                     "lanczos_residual": float(tr.residuals[last])})
    dev = max(abs(r["ratio"] - 1) for r in rows)
    ok = dev <= EDGE_TOL.value
    worst = max(rows, key=lambda r: abs(r["ratio"] - 1))
    why = None if ok else (f"the top eigenvalue is {worst['ratio']:.3g} of the threshold at the end of phase "
                           f"{worst['phase']} (lr {worst['lr']:g})")
    return Verdict("Q3-edge-of-stability", "The top eigenvalue sits at the heavy-ball threshold in every phase",
                   Status.PASSED if ok else Status.FAILED,
                   predicted={"threshold": str(expr), "band": [1 - EDGE_TOL.value, 1 + EDGE_TOL.value]},
                   measured={"phases": rows, "trace": {"step": tr.steps.tolist(), "lambda_max": tr.lambda_max.tolist(),
                                                       "lr": tr.lrs.tolist()},
                             "training_loss": tr.losses.tolist(), "products": tr.products},
                   tolerance=EDGE_TOL, seeds=[ctx.seed],
                   range={"phases": [f"{r['phase'][0]}-{r['phase'][1]}" for r in rows],
                          "lr": [r["lr"] for r in rows], "seeds": [ctx.seed]},
                   rows=rows_of(({"phase": f"{r['phase'][0]}-{r['phase'][1]}"}, abs(r["ratio"] - 1) / EDGE_TOL.value,
                                 abs(r["ratio"] - 1) <= EDGE_TOL.value) for r in rows),
                   details={"setup": s.describe(), "every": tr.every, "device": tr.device, "seed": tr.seed,
                            "why_full_batch": "with mini-batches of 32-64 the top eigenvalue stayed at 0.1-0.3 of "
                                              "the threshold in reference runs (the gradient noise keeps it low)"},
                   key=key_number("top eigenvalue / threshold at the end of the phase farthest from 1",
                                  worst["ratio"], 1.0, ratio_margin(dev, EDGE_TOL.value), why,
                                  band=[1 - EDGE_TOL.value, 1 + EDGE_TOL.value]))


claim("Q3-edge-of-stability", "After each learning-rate drop the top eigenvalue is at the heavy-ball threshold "
      "2 (1 + gamma) / eta", "Q3", check_edge, lambda ctx: check_edge(ctx, _effective_lr_threshold()),
      "the threshold of gradient descent at the 'effective' step alpha / (1 - gamma), 2 (1 - gamma) / alpha - wd",
      group="q3-edge", heuristic=True,
      expect=Expectation("failed", "the talk's observation does not hold on our small network: after each "
                                   "learning-rate drop the top Hessian eigenvalue stays far below the heavy-ball "
                                   "threshold 2 (1 + gamma) / eta instead of rising to it (a measured result, not a "
                                   "fault of the check)"))


# ---------------------------------------------------------------------------
# Q3-batch-quadratics and Q3-loss-drop

FIT_R2 = 0.99
FIT_TOL = Tolerance(
    "median-r-squared", FIT_R2,
    "per-batch losses along each top eigenvector count as quadratics when the median coefficient of "
    "determination of the least-squares quadratic fits over the batches is at least 0.99 on the window derived "
    "from the measured slopes and curvature (|mean g| + 3 sd g) / |h|; the minima's Shapiro-Wilk p-values and "
    "the double wells along negative eigenvectors are reported as measurements")


def batch_fits(ctx, step: int, degree: int = 2) -> tuple:
    """Per-batch fits along the top k eigenvectors and double wells along the bottom ones at ``step`` (cached)."""
    from ._batchfit import bottom_wells, top_fit

    key = ("batchfit", ctx.profile.spectrum, step, degree)
    if key not in ctx._runs:
        run = ctx.spectrum_run()
        fits = [top_fit(run, step, j, degree) for j in range(run.setup.k)]
        ctx._runs[key] = (fits, bottom_wells(run, step))
    return ctx._runs[key]


def check_batch_quadratics(ctx, degree: int = 2) -> Verdict:
    run = ctx.spectrum_run()
    rows, worst, medians = [], 1.0, []
    for c in run.checkpoints:
        fits, wells = batch_fits(ctx, c.step, degree)
        medians.append(min(float(np.median(f.r_squared)) for f in fits))
        worst = min(worst, medians[-1])
        rows.append({"step": c.step, "directions": [f.summary() for f in fits],
                     "double_wells": [w.summary() for w in wells]})
    ok = worst >= FIT_R2
    why = None if ok else f"the worst median R^2 is {worst:.3g} (model of degree {degree})"
    return Verdict("Q3-batch-quadratics", "Per-batch losses along top eigenvectors are quadratics",
                   Status.PASSED if ok else Status.FAILED,
                   predicted={"model": "quadratic" if degree == 2 else f"polynomial of degree {degree}",
                              "median_r_squared_at_least": FIT_R2},
                   measured={"worst_median_r_squared": worst, "checkpoints": rows}, tolerance=FIT_TOL,
                   seeds=[ctx.seed], details=_details(run), range=_range(ctx, run),
                   rows=rows_of(({"step": r["step"]}, (1 - m) / (1 - FIT_R2), m >= FIT_R2)
                                for r, m in zip(rows, medians)),
                   # margin: (1 - R^2) over the allowed 1 - 0.99, on the side of 1 the rule (R^2 >= 0.99) puts it
                   key=key_number("worst median R^2 of the per-batch fits", worst, FIT_R2,
                                  margin_as_judged((1 - worst) / (1 - FIT_R2), ok), why, band=[FIT_R2, 1.0]))


claim("Q3-batch-quadratics", "Per-batch losses along top Hessian eigenvectors are close to quadratics (minima "
      "roughly normal; double wells along negative directions)", "Q3", check_batch_quadratics,
      lambda ctx: check_batch_quadratics(ctx, degree=1),
      "the same fits with a straight line (the per-batch losses taken as linear along the eigenvector)",
      group="q3-spectrum", heuristic=True,
      expect=Expectation("failed", "at the default profile the worst median per-batch R^2 of a quadratic along a top "
                                   "eigenvector is 0.97 against the 0.99 asked (a measured result on our network, "
                                   "the same under three CPU code paths; it passes at the quick profile)",
                         profiles=("default",)))


DROP_TOL = Tolerance(
    "drop-ratio-factor", 3.0,
    "Q1/Q2's quadratic model predicts the loss drop at a learning-rate cut as the sum over the top k directions "
    "of the exact heavy-ball floor at alpha minus that at alpha times the drop factor, with lambda = h / 2 and "
    "sigma = the sd of the per-batch minima; 'agrees' is read as measured / predicted within a factor 3 (the "
    "talk reports a factor about 10 too large); the ratio is reported whatever it is")


def _floor():
    from theory.noisy_quadratic import momentum as q2

    return numeric(q2.STATIONARY_LOSS, (q2.alpha, q2.lam, q2.sigma, q2.gamma))


def check_loss_drop(ctx, cut: float | None = None) -> Verdict:
    run = ctx.spectrum_run()
    s = run.setup
    factor = s.drop_factor if cut is None else cut
    floor = _floor()
    measured_at = {c.step for c in run.checkpoints}
    drops = [int(d) for d in s.drops if int(d) in measured_at]
    ends = sorted({*(int(d) for d in s.drops), s.steps})
    rows = []
    for d in drops:
        nxt = min(e for e in ends if e > d)
        m = max(1, min(25, (nxt - d) // 3, d // 3))
        before = float(np.mean(run.losses[d - m:d + 1]))
        after = float(np.mean(run.losses[d + m:d + 2 * m]))
        c = run.at(d)
        fits, _ = batch_fits(ctx, d)
        lr = s.lr_at(d - 1)
        terms = []
        for f in fits:
            lam = f.eigenvalue / 2
            stable = lr * lam < 1 + s.momentum
            old = float(floor(lr, lam, f.minima_sd, s.momentum)) if stable else float("inf")
            new = float(floor(lr * factor, lam, f.minima_sd, s.momentum))
            terms.append({"h": f.eigenvalue, "minima_sd": f.minima_sd, "stable": bool(stable), "floor_before": old,
                          "floor_after": new})
        predicted = float(sum(t["floor_before"] - t["floor_after"] for t in terms))
        rows.append({"drop_step": d, "lr_before": lr, "window": m, "loss_before": before, "loss_after": after,
                     "measured_drop": before - after, "predicted_drop": predicted,
                     "ratio": (before - after) / predicted if predicted > 0 else float("inf"), "directions": terms,
                     "checkpoint_loss": c.loss})
    ratios = [r["ratio"] for r in rows]
    bad = [x for x in ratios if not (np.isfinite(x) and 1 / DROP_TOL.value <= x <= DROP_TOL.value)]
    ok = bool(rows) and not bad
    worst = max(ratios, key=lambda x: abs(math.log(x)) if np.isfinite(x) and x > 0 else float("inf"),
                default=None)
    # margin: |log(measured / predicted)| / log 3 at the worst drop, on the side of 1 the rule puts it; none when
    # that ratio is not a finite positive number (a predicted drop of 0 or less, a loss that rose)
    margin = (margin_as_judged(abs(math.log(worst)) / math.log(DROP_TOL.value), ok)
              if worst is not None and np.isfinite(worst) and worst > 0 else None)
    why = (None if ok else "no learning-rate drop falls on a checkpoint" if worst is None else
           f"measured / predicted drop = {worst:.3g}" if np.isfinite(worst) and worst > 0 else
           "the predicted drop is not positive" if not np.isfinite(worst) else
           f"the loss did not drop at the cut (measured / predicted drop = {worst:.3g})")
    return Verdict("Q3-loss-drop", "The loss drop at a learning-rate cut against the quadratic model's prediction",
                   Status.PASSED if ok else Status.FAILED,
                   predicted={"floor": "exact heavy-ball floor (Q2) per direction, lambda = h / 2, sigma = sd of "
                                       "the per-batch minima", "cut_factor": factor},
                   measured={"drops": rows}, tolerance=DROP_TOL, seeds=[ctx.seed], details=_details(run),
                   range={**_range(ctx, run), "drops at steps": [r["drop_step"] for r in rows] or "none"},
                   rows=rows_of(({"drop at step": r["drop_step"]},
                                 abs(math.log(r["ratio"])) / math.log(DROP_TOL.value)
                                 if np.isfinite(r["ratio"]) and r["ratio"] > 0 else None,
                                 bool(np.isfinite(r["ratio"]) and 1 / DROP_TOL.value <= r["ratio"] <= DROP_TOL.value))
                                for r in rows),
                   key=key_number("measured / predicted loss drop", worst, 1.0, margin, why,
                                  band=[1 / DROP_TOL.value, DROP_TOL.value]))


claim("Q3-loss-drop", "The loss drop at a learning-rate cut matches Q1's quadratic prediction from measured "
      "curvatures and minimum spreads", "Q3", check_loss_drop, lambda ctx: check_loss_drop(ctx, cut=1.0),
      "the prediction with the cut factor set to 1 (no cut: the derived floor does not move)", group="q3-spectrum",
      heuristic=True,
      expect=Expectation("failed", "at the default profile the measured drop is 3.2 times the prediction summed "
                                   "over the top eigen-directions, outside the factor 3 (a measured result, the same "
                                   "under three CPU code paths; the prediction's scope is under review: the talk "
                                   "sums the floors over all positive directions)", profiles=("default",)))
