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

from ..registry import Expectation, Status, Tolerance, Verdict, key_number, resolution, rows_of
from ..stats import (count_key, every_key, exceed_margin, fit_slope, judge_interval, judge_points, margin_as_judged,
                     ratio_margin)
from ._context import STREAMS, claim
from ._cuts import fall_below_trend, welch_rise
from ._mc import CALIBRATED

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
# Q3-lambda-max-rise and Q3-loss-cliff: what happens at a learning-rate cut, on the non-interpolating set-up
# (verify.noisy_quadratic._setup.CliffSetup, several seeds); they replace Q3-edge-of-stability, whose statement
# (lambda_max at the threshold 2 (1 + gamma) / eta in every phase) the talk does not make: its run sits at 0.11 to
# 0.00013 of the threshold, and what it shows is lambda_max rising after each cut while the loss falls in a cliff.


def _cliff_phases(run) -> list:
    """The preconditions (``_cuts.preconditions``) of every phase that ends at a cut, on one cliff run."""
    from ._cuts import preconditions

    b = run.setup.boundaries
    return [preconditions(run.steps, run.loss, b[k], b[k + 1], accuracy=run.accuracy.get(b[k + 1]))
            for k in range(len(b) - 2)]


def other_setups(ctx) -> dict:
    """The talk's preconditions measured on the project's two earlier set-ups, where the post-cut claims do not
    apply: the weight-decayed network on clean digits (``profile.spectrum``, mini-batch SGD) and the full-batch run
    (``profile.edge``, no gradient noise)."""
    from ._cuts import preconditions

    out = {}
    losses, acc = ctx.memorising_curve()
    s = ctx.profile.spectrum
    bounds = [0, *sorted(int(d) for d in s.drops), s.steps]
    steps = np.arange(len(losses))
    out["memorising set-up (profile.spectrum)"] = [
        preconditions(steps, losses, lo, hi, accuracy=acc.get(hi)) for lo, hi in zip(bounds, bounds[1:-1])]
    tr = ctx.edge_trace()
    e = tr.setup
    bounds = [0, *sorted(int(d) for d in e.drops), e.steps]
    pre = [preconditions(np.arange(len(tr.losses)), tr.losses, lo, hi) for lo, hi in zip(bounds, bounds[1:-1])]
    for p in pre:
        p["reason"] = "; ".join(x for x in ("full batch: no gradient noise, so no noise floor to fall from",
                                            p["reason"]) if x)
        p["holds"] = False
    out["full-batch set-up (profile.edge)"] = pre
    return out


def _applicable(ctx, claim_id: str, title: str, runs, tolerance) -> Verdict | None:
    """A not-applicable verdict when a cut of some seed breaks the talk's preconditions, else None."""
    bad = [(i, k, p) for i, run in enumerate(runs) for k, p in enumerate(_cliff_phases(run)) if not p["holds"]]
    if not bad:
        return None
    i, k, p = bad[0]
    why = (f"the talk's preconditions fail before cut {k + 1} of seed {i} (step {p['phase_end']}): {p['reason']}"
           + (f" (and at {len(bad) - 1} more cuts)" if len(bad) > 1 else ""))
    return Verdict(claim_id, title, Status.NOT_APPLICABLE, predicted=None,
                   measured={"preconditions": [[q for q in _cliff_phases(r)] for r in runs]}, tolerance=tolerance,
                   seeds=[ctx.seed], key=key_number("seeds and cuts meeting the talk's preconditions",
                                                    None, None, None, why))


def _cliff_range(ctx, runs, cuts=None) -> dict:
    s = runs[0].setup
    return {"seeds": [f"{ctx.seed}:{i}" for i in range(len(runs))], "cuts at steps": list(cuts or s.cuts),
            "lr": list(s.lrs), "parameters": s.size}


def _cliff_details(ctx, runs) -> dict:
    return {"setup": runs[0].setup.describe(), "seeds": [r.seed for r in runs], "device": runs[0].device,
            "preconditions": [_cliff_phases(r) for r in runs],
            "other_setups": other_setups(ctx)}


RISE_TOL = Tolerance(
    "rise-interval", 0.0,
    "the talk: 'the max eigenvalue increases as we lower the learning rate'; read per seed and cut as the mean "
    "lambda_max over the last 10 % of the phase after the cut (the talk's plot: lambda_max climbs after the cut and "
    "settles, so the end of the next phase is its 'after') minus that over the last 10 % of the phase before it, "
    "with its 95 % Welch interval (each window's measurements taken as independent draws around the plateau): "
    "passed when the interval lies above 0 for every seed and cut (the every-seed rule), failed when it lies below "
    "0 for one, inconclusive when it straddles 0; lambda_max / (2 (1 + gamma) / eta) is reported, not judged")


def check_rise(ctx, band=(0.0, None), calibrated: bool = False) -> Verdict:
    """``band``: the accepted rise (``[0, None]``: a rise; the negative control ``[None, 0]``: a fall).
    ``calibrated``: the calibrated control, the opposite statement (a fall) moved toward the data by
    ``CALIBRATED`` x the widest interval half-width h (the check's resolution): 'lambda_max rises by at most 2 h'."""
    runs = ctx.cliff_runs()
    title = "lambda_max rises after each learning-rate cut (every seed)"
    na = _applicable(ctx, "Q3-lambda-max-rise", title, runs, RISE_TOL)
    if na is not None:
        return na
    s = runs[0].setup
    threshold = numeric(theory.SHARPNESS_THRESHOLD, (theory.alpha, theory.gamma))
    rows, phases = [], []
    for i, run in enumerate(runs):
        ends = [run.lambda_max[run.in_phase(k)] for k in range(len(s.steps))]
        for k in range(len(s.steps)):
            lr = run.lr_of_phase(k)
            thr = float(threshold(lr, s.momentum))
            phases.append({"seed": i, "phase": k, "lr": lr, "threshold": thr, "lambda_max_end": float(ends[k].mean()),
                           "lambda_max_over_threshold": float(ends[k].mean()) / thr,
                           "lanczos_residual_max": float(run.residuals[run.in_phase(k)].max())})
        for k, cut in enumerate(s.cuts):
            w = welch_rise(ends[k], ends[k + 1])
            rows.append({"seed": i, "cut": int(cut), "before": w["before"], "after": w["after"], "rise": w["rise"],
                         "relative_rise": w["rise"] / w["before"]["mean"], "interval_95": w["interval"],
                         "dof": w["dof"]})
    widest = max((r["interval_95"][1] - r["interval_95"][0]) / 2 for r in rows)
    if calibrated:
        band = (None, CALIBRATED * widest)
    for r in rows:
        r["band"] = list(band)
    status, j, why = judge_points(rows, lambda r: f"the rise of the end-of-phase lambda_max at the cut at step "
                                                  f"{r['cut']} (seed {r['seed']})")
    worst = rows[j]
    key = key_number(f"rise of the end-of-phase lambda_max at a cut (the worst of {len(rows)} seeds x cuts)",
                     worst["rise"], None, worst["margin"], why, interval=worst["interval_95"], band=band)
    return Verdict("Q3-lambda-max-rise", title, Status(status), key=key,
                   predicted={"statement": "mean lambda_max over the last 10 % of the phase after a cut exceeds that "
                                           "of the phase before it", "band_of_the_rise": list(band),
                              "threshold": str(theory.SHARPNESS_THRESHOLD)},
                   measured={"cuts": rows, "phases": phases, "widest_half_width": widest,
                             "traces": [{"seed": i, "step": r.steps.tolist(), "loss": r.loss.tolist(),
                                         "lambda_max": r.lambda_max.tolist()} for i, r in enumerate(runs)],
                             "boundaries": list(s.boundaries), "checkpoints": list(s.checkpoints),
                             "end_windows": [list(s.end_steps(k)) for k in range(len(s.steps))]},
                   tolerance=RISE_TOL,
                   seeds=[ctx.seed], details=_cliff_details(ctx, runs), range=_cliff_range(ctx, runs),
                   resolution=resolution(f"a rise or fall of the end-of-phase lambda_max larger than {widest:.2g} "
                                         "(absolute: the widest 95 % half-width over the seeds and cuts)", widest,
                                         "absolute"),
                   rows=rows_of(({"seed": r["seed"], "cut": r["cut"]}, r["margin"], r["status"]) for r in rows))


claim("Q3-lambda-max-rise", "After each learning-rate cut the end-of-phase lambda_max is higher than before it "
      "(every seed of the non-interpolating set-up)", "Q3", check_rise, lambda ctx: check_rise(ctx, band=(None, 0.0)),
      "the opposite statement: lambda_max falls (or stays) at every cut", group="q3-cliff", heuristic=True,
      expect=Expectation("inconclusive", "at the default profile the second cut's rise at seed 2 (+0.07, 1.4 %) is "
                                         "not resolved: one spike (4.62 against 4.2-4.3) in the end-of-phase-2 window "
                                         "widens its interval to [-0.13, 0.27]; the other five seeds x cuts rise "
                                         "(+3 % to +54 %)", profiles=("default",)),
      calibrated=(lambda ctx: check_rise(ctx, calibrated=True),
                  f"the opposite statement moved toward the data by {CALIBRATED:g} x the widest interval half-width "
                  "h: lambda_max rises by at most 2 h at every cut"))


CLIFF_TOL = Tolerance(
    "fall-below-trend-interval", 0.0,
    "the talk: 'cliff-like decreases in loss at every learning rate decrease'; read per seed and cut as: the mean "
    "full-data loss over the after-cut window (every few steps in the first max(after) steps of the new phase) "
    "lies below the pre-cut trend: over the last quarter of the phase, the fitted straight line evaluated at the "
    "window's mean step where its slope is resolved (so that a drift already under way is not taken for a cliff), "
    "the plateau's mean where it is not (_cuts.fall_below_trend); the fall "
    "(trend minus window mean) is judged by its 95 % Welch interval: passed when it lies above 0 for every seed "
    "and cut (the every-seed rule), failed when it lies below 0 for one, inconclusive when it straddles 0")


def check_cliff(ctx, band=(0.0, None), calibrated: bool = False) -> Verdict:
    """``band``: the accepted fall below the trend (``[0, None]``: a fall; the negative control ``[None, 0]``: no
    fall).  ``calibrated``: the calibrated control, the opposite statement moved toward the data by
    ``CALIBRATED`` x the widest interval half-width h: 'the loss falls below the trend by at most 2 h'."""
    runs = ctx.cliff_runs()
    title = "The loss falls in a cliff at each learning-rate cut (every seed)"
    na = _applicable(ctx, "Q3-loss-cliff", title, runs, CLIFF_TOL)
    if na is not None:
        return na
    s = runs[0].setup
    b = s.boundaries
    rows = []
    for i, run in enumerate(runs):
        for k, cut in enumerate(s.cuts):
            f = fall_below_trend(run.steps, run.loss, b[k], b[k + 1], s.after_steps(cut))
            rows.append({"seed": i, "cut": int(cut), "window": [int(s.after_steps(cut)[0]), int(s.after_steps(cut)[-1])],
                         "trend_model": f["trend_model"], "trend_at_window": f["trend_value"],
                         "trend_slope": f["trend"]["slope"], "trend_slope_interval": f["trend"]["slope_interval"],
                         "plateau_points": f["trend"]["points"], "window_mean_loss": f["after"]["mean"],
                         "fall": f["fall"], "relative_fall": f["fall"] / f["trend_value"],
                         "interval_95": f["interval"], "dof": f["dof"]})
    widest = max((r["interval_95"][1] - r["interval_95"][0]) / 2 for r in rows)
    if calibrated:
        band = (None, CALIBRATED * widest)
    for r in rows:
        r["band"] = list(band)
    status, j, why = judge_points(rows, lambda r: f"the fall of the loss below the pre-cut trend after the cut at "
                                                  f"step {r['cut']} (seed {r['seed']})")
    worst = rows[j]
    key = key_number(f"fall of the loss below the pre-cut trend after a cut (the worst of {len(rows)} seeds x cuts)",
                     worst["fall"], None, worst["margin"], why, interval=worst["interval_95"], band=band)
    return Verdict("Q3-loss-cliff", title, Status(status), key=key,
                   predicted={"statement": f"the mean loss over the {max(s.after)} steps after a cut below the "
                                           "pre-cut trend", "band_of_the_fall": list(band)},
                   measured={"cuts": rows, "widest_half_width": widest}, tolerance=CLIFF_TOL, seeds=[ctx.seed],
                   details=_cliff_details(ctx, runs), range=_cliff_range(ctx, runs),
                   resolution=resolution(f"a fall below (or rise above) the pre-cut trend larger than {widest:.2g} "
                                         "nats (absolute: the widest 95 % half-width over the seeds and cuts)",
                                         widest, "absolute"),
                   rows=rows_of(({"seed": r["seed"], "cut": r["cut"]}, r["margin"], r["status"]) for r in rows))


claim("Q3-loss-cliff", "The full-data loss falls in a cliff at each learning-rate cut (below the pre-cut trend, "
      "every seed of the non-interpolating set-up)", "Q3", check_cliff, lambda ctx: check_cliff(ctx, band=(None, 0.0)),
      "the opposite statement: the loss does not fall below the pre-cut trend at any cut", group="q3-cliff",
      heuristic=True,
      expect=Expectation("failed", "a finding about the talk on our set-up: the first cut (lr 0.1 -> 0.01) is a cliff "
                                   "(0.09-0.23 nats below the plateau in every seed), but after the second (0.01 -> "
                                   "0.001) the loss falls less than its pre-cut drift would have taken it (-0.0003 to "
                                   "-0.0014 nats against the trend; the slow directions relax ten times slower)",
                         profiles=("quick", "default")),
      calibrated=(lambda ctx: check_cliff(ctx, calibrated=True),
                  f"the opposite statement moved toward the data by {CALIBRATED:g} x the widest interval half-width "
                  "h: the loss falls below the trend by at most 2 h at every cut"))


# ---------------------------------------------------------------------------
# Q3-batch-quadratics

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
    "floor-sum-minus-loss-interval", 0.0,
    "the talk's write-up (section 4, 'How much loss decrease does the toy model predict?'): summed over all "
    "positive Hessian directions at the checkpoint before a cut, the heavy-ball floors E[lambda x^2] (lambda = h / 2, "
    "sigma_j the spread of the per-batch minima along v_j) exceed the total loss there ('an order of magnitude "
    "higher than the total loss of the network'); judged as stated, per seed and cut, by the 95 % interval of the "
    "floor sum minus the loss (a bootstrap over the batches the spreads come from): passed when it lies above 0 "
    "for every seed and cut, failed when it lies below 0 for one, inconclusive when it straddles 0.  The drop the "
    "floors predict at the cut (old floors minus new) is reported against the measured one (plateau mean minus the "
    "after-cut window's mean), split into the directions whose heavy-ball variance relaxes within the window "
    "and those that cannot, not judged")

#: bootstrap resamples of the batches for the floor sum's interval
DROP_BOOTSTRAP = 1000


def _drop_functions():
    from theory.noisy_quadratic import momentum as q2

    floor = numeric(q2.STATIONARY_LOSS, (q2.alpha, q2.lam, q2.sigma, q2.gamma))
    radius = numeric(q2.SPECTRAL_RADIUS, (q2.alpha, q2.lam, q2.gamma))
    return floor, radius


def floor_terms(run, step: int, lr_old: float, lr_new: float, floor=None) -> dict:
    """The quadratic model of every positive Hessian direction at checkpoint ``step``: eigenvalue ``h``, the
    spread ``sigma`` of the per-batch minima ``-g_i . v / h`` (the minimiser of batch i's quadratic along v, the
    batches of :meth:`CliffRun.batches`), the floors at ``lr_old`` and ``lr_new`` (``floor``: the exact heavy-ball
    floor of Q2 by default) and the relaxation time ``1 / (-2 log rho)`` of the variance at ``lr_new``."""
    default_floor, radius = _drop_functions()
    floor = default_floor if floor is None else floor
    s = run.setup
    spec = run.spectrum(step)
    scale = abs(spec.values).max()
    pos = spec.values > POSITIVE_ROUNDOFF * scale
    h, V = spec.values[pos], spec.vectors[:, pos]
    minima = -(run.batch_gradients(step) @ V) / h          # batches x directions
    lam = h / 2
    old, new = np.asarray(floor(lr_old, lam, 1.0, s.momentum), float), np.asarray(floor(lr_new, lam, 1.0, s.momentum),
                                                                                  float)
    with np.errstate(invalid="ignore"):                 # the unused branch of the Piecewise is evaluated too
        rho = np.asarray(radius(lr_new, lam, s.momentum), float)
    with np.errstate(divide="ignore"):
        relax = np.where(rho < 1, 1.0 / (-2.0 * np.log(rho)), np.inf)
    return {"h": h, "minima": minima, "unit_floor_old": old, "unit_floor_new": new, "relax_steps": relax,
            "stable": h < float(numeric(theory.SHARPNESS_THRESHOLD, (theory.alpha, theory.gamma))(lr_old, s.momentum)),
            "negative_or_zero": int((~pos).sum())}


#: eigenvalues at or below this fraction of max |h| count as zero (round-off of a dense float64 eigh, n eps |H|
#: with n about 1.5e3, is below 1e-12 |H|)
POSITIVE_ROUNDOFF = 1e-12


def check_drop(ctx, floor=None, scale: float = 1.0, calibrated: bool = False) -> Verdict:
    """``floor``: the negative control's floor (the gradient-descent floor without momentum); ``scale``: the floors
    multiplied by it; ``calibrated``: the calibrated control, every floor times 1 + CALIBRATED x the widest
    relative half-width of a floor sum's interval (the check's resolution)."""
    runs = ctx.cliff_runs()
    title = "The heavy-ball floors over all positive directions exceed the loss before each cut (the talk's write-up)"
    na = _applicable(ctx, "Q3-loss-drop", title, runs, DROP_TOL)
    if na is not None:
        return na
    s = runs[0].setup
    b = s.boundaries
    window_steps = max(s.after)
    rows = []
    cuts = s.cuts if ctx.profile.drop_cuts is None else s.cuts[:ctx.profile.drop_cuts]
    for i, run in enumerate(runs):
        for k, cut in enumerate(cuts):
            lr_old, lr_new = run.lr_of_phase(k), run.lr_of_phase(k + 1)
            t = floor_terms(run, cut, lr_old, lr_new, floor)
            sigma2 = t["minima"].var(axis=0, ddof=1)
            old, new = scale * t["unit_floor_old"] * sigma2, scale * t["unit_floor_new"] * sigma2
            total = float(old[t["stable"]].sum())
            rng = np.random.default_rng(np.random.SeedSequence(ctx.seed, spawn_key=(*STREAMS["drop"], i, k)))
            nb = t["minima"].shape[0]
            boot = np.empty(DROP_BOOTSTRAP)
            for r in range(DROP_BOOTSTRAP):
                m = t["minima"][rng.integers(0, nb, nb)]
                boot[r] = float((scale * t["unit_floor_old"] * m.var(axis=0, ddof=1))[t["stable"]].sum())
            loss = float(run.loss[int(np.flatnonzero(run.steps == cut)[0])])
            fast = t["relax_steps"] <= window_steps
            plateau = run.loss[run.in_phase(k)]
            after = run.loss[np.searchsorted(run.steps, s.after_steps(cut))]
            lo, hi = np.percentile(boot, [2.5, 97.5])
            rows.append({"seed": i, "cut": int(cut), "lr_before": lr_old, "lr_after": lr_new,
                         "positive_directions": int(t["h"].size), "nonpositive_directions": t["negative_or_zero"],
                         "unstable_directions": int((~t["stable"]).sum()),
                         "floor_sum": total, "floor_sum_interval_95": [float(lo), float(hi)], "loss": loss,
                         "floor_sum_over_loss": total / loss, "interval_95": [float(lo) - loss, float(hi) - loss],
                         "predicted_drop": float((old - new)[t["stable"]].sum()),
                         "predicted_drop_relaxing": float((old - new)[t["stable"] & fast].sum()),
                         "predicted_drop_not_relaxing": float((old - new)[t["stable"] & ~fast].sum()),
                         "relaxing_directions": int((t["stable"] & fast).sum()), "window_steps": window_steps,
                         "measured_drop": float(plateau.mean() - after.mean()),
                         "top_h": float(t["h"].max()), "median_sigma": float(np.sqrt(np.median(sigma2)))})
    widest = max((r["floor_sum_interval_95"][1] - r["floor_sum_interval_95"][0]) / 2 / r["floor_sum"] for r in rows)
    if calibrated:
        return check_drop(ctx, floor, scale=1 + CALIBRATED * widest)
    for r in rows:
        r["band"] = [0.0, None]
    status, j, why = judge_points(rows, lambda r: f"the floor sum minus the loss at the cut at step {r['cut']} "
                                                  f"(seed {r['seed']})")
    worst = rows[j]
    key = key_number(f"floor sum over all positive directions minus the loss before a cut (the worst of {len(rows)} "
                     "seeds x cuts)", worst["floor_sum"] - worst["loss"], 0.0, worst["margin"], why,
                     interval=worst["interval_95"], band=[0.0, None])
    return Verdict("Q3-loss-drop", title, Status(status), key=key,
                   predicted={"statement": "sum over positive directions of E[lambda x^2] (exact heavy-ball floor, "
                                           "lambda = h / 2, sigma = spread of the per-batch minima) > the loss",
                              "floor": "exact heavy-ball floor of Q2" if floor is None else "control floor",
                              "floor_scale": scale},
                   measured={"cuts": rows, "widest_relative_half_width": widest,
                             "batches": int(runs[0].batches().shape[0]), "batch_size": s.batch_size},
                   tolerance=DROP_TOL, seeds=[ctx.seed], details=_cliff_details(ctx, runs),
                   range=_cliff_range(ctx, runs, cuts),
                   resolution=resolution(f"a floor sum off by more than {widest:.1%} (relative: the widest 95 % "
                                         "bootstrap half-width over the seeds and cuts)", widest, "relative"),
                   rows=rows_of(({"seed": r["seed"], "cut": r["cut"]}, r["margin"], r["status"]) for r in rows))


def _gd_floor():
    """The negative control's floor: the heavy-ball floor at gamma = 0 (gradient descent's, momentum ignored)."""
    floor, _ = _drop_functions()
    return lambda a, lam, sig, g: floor(a, lam, sig, 0.0)


claim("Q3-loss-drop", "Summed over all positive Hessian directions, the heavy-ball floors exceed the total loss "
      "before each cut (the talk's write-up), with the predicted drop against the measured one", "Q3", check_drop,
      lambda ctx: check_drop(ctx, floor=_gd_floor()),
      "the floors of gradient descent, momentum ignored (the exact floor at gamma = 0)",
      group="q3-cliff", heuristic=True,
      expect=Expectation("failed", "a finding about the talk's write-up: on our non-interpolating set-up the floors "
                                   "summed over all positive directions are 24-40 % of the loss before the first cut "
                                   "and 3 % before the second (quick and default), not above it; the drop they predict "
                                   "within the after-cut window is near the measured one (default: 0.17-0.24 against "
                                   "0.21-0.22 nats at the first cut, 0.008 against 0.005 at the second)"),
      calibrated=(lambda ctx: check_drop(ctx, calibrated=True),
                  f"every floor times 1 + {CALIBRATED:g} x the widest relative half-width of a floor sum's interval"))
