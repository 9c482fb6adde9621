"""Q3: what happens at a learning-rate cut on the non-interpolating set-up, against the talk's observations.

Q3-lambda-max-rise, Q3-loss-cliff and Q3-loss-drop (the heavy-ball floors summed over every positive Hessian
direction); the spectral claims are in :mod:`verify.noisy_quadratic.claims.eigenbasis` and
:mod:`verify.noisy_quadratic.claims.batch_quadratic`.  Each claim is a measurement of an empirical statement
(``heuristic=True``); the derived quantities (the heavy-ball threshold, the exact momentum floor) come from
:mod:`theory.noisy_quadratic`.
"""
from __future__ import annotations

import numpy as np

from theory.bridge import numeric
from theory.noisy_quadratic import spectrum as theory

from ...registry import Expectation, Status, Tolerance, Verdict, key_number, resolution, rows_of
from ...stats import judge_points
from ..context import CLIFF_GROUP, claim
from ..cuts import fall_below_trend, welch_rise
from ..mc import CALIBRATED


def _judge_cuts(rows: list, band: tuple, calibrated: bool, what: str) -> tuple:
    """Judge each seed-and-cut row's interval against ``band`` (:func:`verify.stats.judge_points`); the calibrated
    control's band is the opposite statement moved toward the data by CALIBRATED x the widest half-width.  Returns
    (status, worst row, why, band, widest half-width); each row gets its band."""
    widest = max((r["interval_95"][1] - r["interval_95"][0]) / 2 for r in rows)
    if calibrated:
        band = (None, CALIBRATED * widest)
    for r in rows:
        r["band"] = list(band)
    status, j, why = judge_points(rows, lambda r: f"{what} the cut at step {r['cut']} (seed {r['seed']})")
    return status, rows[j], why, band, widest


def _threshold(setup, lr: float) -> float:
    return float(numeric(theory.SHARPNESS_THRESHOLD, (theory.alpha, theory.gamma))(lr, setup.momentum))


# ---------------------------------------------------------------------------
# Q3-lambda-max-rise and Q3-loss-cliff: what happens at a learning-rate cut, on the non-interpolating set-up
# (verify.noisy_quadratic.spectrum_setup.CliffSetup, several seeds); they replace Q3-edge-of-stability, whose statement
# (lambda_max at the threshold 2 (1 + gamma) / eta in every phase) the talk does not make: its run sits at 0.11 to
# 0.00013 of the threshold, and what it shows is lambda_max rising after each cut while the loss falls in a cliff.


def _cliff_phases(run) -> list:
    """The preconditions (``cuts.preconditions``) of every phase that ends at a cut, on one cliff run."""
    from ..cuts import preconditions

    b = run.setup.boundaries
    return [preconditions(run.steps, run.loss, b[k], b[k + 1], accuracy=run.accuracy.get(b[k + 1]))
            for k in range(len(b) - 2)]


def other_setups(ctx) -> dict:
    """The talk's preconditions measured on the project's two earlier set-ups, where the post-cut claims do not
    apply: the weight-decayed network on clean digits (``profile.spectrum``, mini-batch SGD) and the full-batch run
    (``profile.edge``, no gradient noise)."""
    from ..cuts import preconditions

    out = {}
    losses, acc = ctx.memorising_curve()
    s = ctx.profile.spectrum
    bounds = [0, *sorted(int(d) for d in s.drops), s.steps]
    steps = np.arange(len(losses))
    out["memorising set-up (profile.spectrum)"] = [
        preconditions(steps, losses, lo, hi, accuracy=acc.get(hi)) for lo, hi in zip(bounds, bounds[1:-1])]
    losses, _ = ctx.edge_curve()
    e = ctx.profile.edge
    bounds = [0, *sorted(int(d) for d in e.drops), e.steps]
    pre = [preconditions(np.arange(len(losses)), losses, lo, hi) for lo, hi in zip(bounds, bounds[1:-1])]
    for p in pre:
        p["reason"] = "; ".join(x for x in ("full batch: no gradient noise, so no noise floor to fall from",
                                            p["reason"]) if x)
        p["holds"] = False
    out["full-batch set-up (profile.edge)"] = pre
    return out


def _applicable(ctx, runs, tolerance) -> Verdict | None:
    """A not-applicable verdict when a cut of some seed breaks the talk's preconditions, else None."""
    bad = [(i, k, p) for i, run in enumerate(runs) for k, p in enumerate(_cliff_phases(run)) if not p["holds"]]
    if not bad:
        return None
    i, k, p = bad[0]
    why = (f"the talk's preconditions fail before cut {k + 1} of seed {i} (step {p['phase_end']}): {p['reason']}"
           + (f" (and at {len(bad) - 1} more cuts)" if len(bad) > 1 else ""))
    return Verdict(Status.NOT_APPLICABLE, predicted=None,
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
    na = _applicable(ctx, runs, RISE_TOL)
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
    status, worst, why, band, widest = _judge_cuts(rows, band, calibrated,
                                                   "the rise of the end-of-phase lambda_max at")
    key = key_number(f"rise of the end-of-phase lambda_max at a cut (the worst of {len(rows)} seeds x cuts)",
                     worst["rise"], None, worst["margin"], why, interval=worst["interval_95"], band=band)
    return Verdict(Status(status), key=key,
                   predicted={"statement": "mean lambda_max over the last 10 % of the phase after a cut exceeds that "
                                           "of the phase before it", "band_of_the_rise": list(band),
                              "threshold": str(theory.SHARPNESS_THRESHOLD)},
                   measured={"cuts": rows, "phases": phases, "widest_half_width": widest,
                             "traces": [{"seed": i, "step": r.steps.tolist(), "loss": r.loss.tolist(),
                                         "lambda_step": r.steps[np.isfinite(r.lambda_max)].tolist(),
                                         "lambda_max": r.lambda_max[np.isfinite(r.lambda_max)].tolist()}
                                        for i, r in enumerate(runs)],
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
      "the opposite statement: lambda_max falls (or stays) at every cut", **CLIFF_GROUP, heuristic=True,
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
    "the plateau's mean where it is not (cuts.fall_below_trend); the fall "
    "(trend minus window mean) is judged by its 95 % Welch interval: passed when it lies above 0 for every seed "
    "and cut (the every-seed rule), failed when it lies below 0 for one, inconclusive when it straddles 0")


def check_cliff(ctx, band=(0.0, None), calibrated: bool = False) -> Verdict:
    """``band``: the accepted fall below the trend (``[0, None]``: a fall; the negative control ``[None, 0]``: no
    fall).  ``calibrated``: the calibrated control, the opposite statement moved toward the data by
    ``CALIBRATED`` x the widest interval half-width h: 'the loss falls below the trend by at most 2 h'."""
    runs = ctx.cliff_runs()
    na = _applicable(ctx, runs, CLIFF_TOL)
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
    status, worst, why, band, widest = _judge_cuts(rows, band, calibrated,
                                                   "the fall of the loss below the pre-cut trend after")
    key = key_number(f"fall of the loss below the pre-cut trend after a cut (the worst of {len(rows)} seeds x cuts)",
                     worst["fall"], None, worst["margin"], why, interval=worst["interval_95"], band=band)
    return Verdict(Status(status), key=key,
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
      "the opposite statement: the loss does not fall below the pre-cut trend at any cut", **CLIFF_GROUP,
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
# Q3-loss-drop

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
    na = _applicable(ctx, runs, DROP_TOL)
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
            rng = np.random.default_rng(ctx.stream("drop", i, k))
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
    return Verdict(Status(status), key=key,
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
      **CLIFF_GROUP, heuristic=True,
      expect=Expectation("failed", "a finding about the talk's write-up: on our non-interpolating set-up the floors "
                                   "summed over all positive directions are 24-40 % of the loss before the first cut "
                                   "and 3 % before the second (quick and default), not above it; the drop they predict "
                                   "within the after-cut window is near the measured one (default: 0.17-0.24 against "
                                   "0.21-0.22 nats at the first cut, 0.008 against 0.005 at the second)"),
      calibrated=(lambda ctx: check_drop(ctx, calibrated=True),
                  f"every floor times 1 + {CALIBRATED:g} x the widest relative half-width of a floor sum's interval"))
