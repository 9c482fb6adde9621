"""Q1: the noisy quadratic under gradient descent simulated against its derived floor, transient and cut."""
from __future__ import annotations

import functools
import math

import numpy as np
from scipy import stats

from theory.bridge import numeric
from theory.noisy_quadratic import quadratic as theory

from ...registry import Expectation, Status, Tolerance, Verdict, key_number, resolution, rows_of
from ...stats import every_key, judge_points
from ..context import claim
from ..mc import CALIBRATED, CONFIRM_CHAINS, confirm_bound, two_stage, z_resolution, z_tolerance
from ..simulation import chain_interval

#: alpha lambda of the floor check (curvature and noise below); the spectrum check's directions
FLOOR_ALPHA_LAMBDA = (0.01, 0.1, 0.3, 0.6, 0.9)
FLOOR_CURVATURE, FLOOR_NOISE = 2.0, 0.5
SPECTRUM_ALPHA = 0.2
SPECTRUM = ((4.0, 0.5), (1.0, 1.0), (0.25, 1.5), (0.0625, 2.0))      # (lambda_i, sigma_i)
#: the burn-in leaves the variance this far (relative) from its floor, by the derived variance factor
BURN_IN_RESIDUAL = 1e-8

RELAX_ALPHA_LAMBDA = (0.02, 0.1, 0.95)
RELAX_STEPS = 600
#: the fit window ends where the measured distance to the floor falls below this fraction of the floor
RELAX_WINDOW_END = 0.1
RELAX_BIAS = Tolerance(
    "log-rate", 0.01,
    "per batch of independent chains, log(floor - E[lambda x_n^2]) is fitted against n from x_0 = 0 while the "
    "distance exceeds 10 % of the floor; the batch slopes are independent, so their mean has a t interval (99 %, "
    "B - 1 degrees of freedom).  The log of a noisy distance is biased by -var/(2 d^2), at most about 1 % of the "
    "slope with the batch sizes used (relative noise of a batch mean below 2 %, 16 % at the window's end), so "
    "the claim's tolerance is that 1 %: under the interval rule (issue 19) the fitted log-rate's whole 95 % t "
    "interval must lie within 1 % of the derived log-rate")

CUT_ALPHA_LAMBDA, CUT_FACTOR, CUT_STEP = 0.4, 10.0, 100
#: steps after the cut compared one by one with the derived transient
CUT_TRANSIENT_STEPS = 120


def _burn_in(alpha_lambda) -> int:
    factor = numeric(theory.VARIANCE_FACTOR, (theory.alpha, theory.lam))
    slowest = max(float(factor(c, 1.0)) for c in np.atleast_1d(alpha_lambda))
    return int(math.ceil(math.log(BURN_IN_RESIDUAL) / math.log(slowest)))


# ---------------------------------------------------------------------------
# Q1-stationary-loss


def _simulator(ctx, confirm: int | None):
    """``ctx.run``, or for the two-stage rule's confirmation of point ``confirm`` :meth:`Context.confirm_run`."""
    return ctx.run if confirm is None else functools.partial(ctx.confirm_run, confirm)


def floor_points(ctx, loss=theory.STATIONARY_LOSS) -> dict:
    rows, burn = floor_rows(ctx, loss)
    return {"points": rows, "spectrum": spectrum_point(ctx, loss), "burn_in": burn,
            "steps": ctx.profile.stationary_steps}


def floor_rows(ctx, loss=theory.STATIONARY_LOSS, confirm: int | None = None) -> tuple[list, int]:
    """One row per alpha lambda of the floor check (``confirm``: the one row of that point re-simulated alone for
    the two-stage rule, with the same burn-in and steps) and the burn-in."""
    p = ctx.profile
    cs = np.array(FLOOR_ALPHA_LAMBDA)
    burn = _burn_in(cs)
    index = range(len(cs)) if confirm is None else [confirm]
    cs = cs[list(index)]
    run = _simulator(ctx, confirm)("stationary", cs / FLOOR_CURVATURE, FLOOR_CURVATURE, FLOOR_NOISE,
                                   chains=p.stationary_chains, steps=burn + p.stationary_steps, burn_in=burn)
    ci = chain_interval(run.chain_means, run.chain_sq, p.stationary_steps)
    predict = numeric(loss, (theory.alpha, theory.lam, theory.sigma))
    rows = []
    for j, cv in enumerate(cs):
        pred = float(predict(cv / FLOOR_CURVATURE, FLOOR_CURVATURE, FLOOR_NOISE))
        rows.append({"alpha_lambda": float(cv), "alpha": float(cv / FLOOR_CURVATURE), "predicted": pred,
                     "measured": float(ci["mean"][j]), "stderr": float(ci["stderr"][j]),
                     "naive_stderr": float(ci["naive_stderr"][j]),
                     "autocorrelation_time": float(ci["autocorrelation_time"][j]),
                     "z": float((ci["mean"][j] - pred) / ci["stderr"][j])})
    return rows, burn


def spectrum_point(ctx, loss=theory.STATIONARY_LOSS, confirm: bool = False) -> dict:
    """The spectrum's summed floor: directions with their own curvature and noise, one shared step (``confirm``:
    re-simulated alone for the two-stage rule)."""
    p = ctx.profile
    lams = np.array([s[0] for s in SPECTRUM])
    sigs = np.array([s[1] for s in SPECTRUM])
    sburn = _burn_in(SPECTRUM_ALPHA * lams)
    srun = _simulator(ctx, 0 if confirm else None)("spectrum", SPECTRUM_ALPHA, lams, sigs,
                                                   chains=p.stationary_chains, steps=sburn + p.stationary_steps,
                                                   burn_in=sburn)
    total = srun.chain_means.sum(axis=0)          # directions are independent: the sum of each chain's averages
    se = float(total.std(ddof=1) / math.sqrt(total.size))
    dsym = len(SPECTRUM)
    spectrum_expr = theory.SPECTRUM_LOSS.subs(theory.d, dsym).doit()
    at = {theory.alpha: SPECTRUM_ALPHA}
    for j, (lv, sv) in enumerate(SPECTRUM, start=1):
        at.update({theory.lam_i[j]: lv, theory.sigma_i[j]: sv})
    predict = numeric(loss, (theory.alpha, theory.lam, theory.sigma))
    spectrum_pred = float(spectrum_expr.subs(at)) if loss is theory.STATIONARY_LOSS else float(
        sum(predict(SPECTRUM_ALPHA, lv, sv) for lv, sv in SPECTRUM))
    return {"alpha": SPECTRUM_ALPHA, "directions": [list(s) for s in SPECTRUM], "predicted": spectrum_pred,
            "measured": float(total.mean()), "stderr": se, "z": float((total.mean() - spectrum_pred) / se)}


def _floor_confirmation(ctx, loss, index: int) -> dict:
    """The two-stage rule's confirmation of floor point ``index`` (the spectrum's sum after the alpha lambdas)."""
    chains = CONFIRM_CHAINS * ctx.profile.stationary_chains
    if index < len(FLOOR_ALPHA_LAMBDA):
        (r,), _ = floor_rows(ctx, loss, confirm=index)
        return {"z": r["z"], "measured": r["measured"], "stderr": r["stderr"], "chains": chains,
                "spawn_key": list(ctx.confirm_key("stationary", index))}
    r = spectrum_point(ctx, loss, confirm=True)
    return {"z": r["z"], "measured": r["measured"], "stderr": r["stderr"], "chains": chains,
            "spawn_key": list(ctx.confirm_key("spectrum", 0))}


def check_floor(ctx, loss=theory.STATIONARY_LOSS, calibrated: bool = False) -> Verdict:
    """Every simulated floor (each alpha lambda and the spectrum's sum) within the Bonferroni z bound of the
    derived one: judged on every point (stats.every_key).  ``calibrated``: the calibrated control, ``loss`` times
    1 + the resolution (CALIBRATED x the z bound standard errors at the most precise point)."""
    data = floor_points(ctx, loss)
    points = data["points"] + [data["spectrum"]]
    tol = z_tolerance(len(points), "the floor at each alpha lambda and the spectrum's summed floor")
    eps, j = z_resolution([p["predicted"] for p in points], [p["stderr"] for p in points], tol.value)
    where = (f"alpha lambda = {points[j]['alpha_lambda']:g}" if "alpha_lambda" in points[j] else
             "the spectrum's summed floor")
    if calibrated:
        loss = loss * (1 + eps)
        data = floor_points(ctx, loss)
    zs = [r["z"] for r in data["points"]] + [data["spectrum"]["z"]]
    worst = max(abs(z) for z in zs)
    # the two-stage rule (mc.two_stage), then every point: its |z| over the bound, or for a point beyond it its
    # confirmation's |z| over the single bound; below 1 exactly when that point passes (stats.every_key)
    judged, confirmations = two_stage(
        [({"alpha lambda": r["alpha_lambda"]}, r["z"]) for r in data["points"]]
        + [({"spectrum": "summed floor"}, data["spectrum"]["z"])], tol.value,
        lambda i: _floor_confirmation(ctx, loss, i))
    status, key, rows = every_key(
        f"|simulated - derived floor| <= {tol.value:.3g} standard errors (beyond it: <= {confirm_bound():.3g} in "
        "the point's confirmation)", judged, unit="points")
    return Verdict(status,
                   predicted={"loss": str(loss)}, tolerance=tol, key=key,
                   measured={"max_abs_z": worst, **data, "confirmations": confirmations},
                   resolution=resolution(f"a floor off by >= {eps:.2%} (relative: {CALIBRATED:g} x the z bound "
                                         f"{tol.value:.3g} standard errors at {where}, the most precise point)",
                                         eps, "relative"),
                   seeds=[ctx.seed],
                   range={"alpha lambda": list(FLOOR_ALPHA_LAMBDA), "spectrum directions": len(SPECTRUM),
                          "chains": ctx.profile.stationary_chains, "steps": ctx.profile.stationary_steps,
                          "seeds": [ctx.seed]},
                   rows=rows,
                   details={"curvature": FLOOR_CURVATURE, "noise": FLOOR_NOISE, "x0": 0.0,
                            "chains": ctx.profile.stationary_chains,
                            "burn_in_rule": f"variance within {BURN_IN_RESIDUAL} of its floor "
                                            "by the derived factor (1 - 2 alpha lambda)^2",
                            "notes": list(ctx.notes)})


claim("Q1-stationary-loss", "GD on the noisy quadratic settles at E[lambda x^2] = alpha lambda^2 sigma^2 / "
      "(1 - alpha lambda); a spectrum's floor is the sum", "Q1",
      check_floor, lambda ctx: check_floor(ctx, theory.STATIONARY_LOSS.subs(theory.alpha, 1.05 * theory.alpha)),
      "the derived floor with alpha scaled by 1.05", group="q1-floor",
      calibrated=(lambda ctx: check_floor(ctx, calibrated=True),
                  f"the derived floor times 1 + {CALIBRATED:g} x the z bound x the smallest relative standard error "
                  f"of a simulated floor (the prediction {CALIBRATED:g} z bounds off at the most precise point)"))


# ---------------------------------------------------------------------------
# Q1-relaxation


def relaxation_fits(ctx) -> list[dict]:
    """Per alpha lambda: the per-batch fitted log-rates of the variance's approach to its floor."""
    p = ctx.profile
    cs = np.array(RELAX_ALPHA_LAMBDA)
    run = ctx.run("relaxation", cs, 1.0, 1.0, chains=p.relax_chains, steps=RELAX_STEPS,
                  batches=p.relax_batches)
    tail = slice(RELAX_STEPS // 2, None)
    out = []
    for j, cv in enumerate(cs):
        curves = run.batch_loss[j]
        pooled = curves.mean(axis=0)
        floor = pooled[tail].mean()
        distance = floor - pooled
        end = int(np.argmax(distance < RELAX_WINDOW_END * floor))
        window = np.arange(0, max(end, 3))
        slopes = []
        for b in range(curves.shape[0]):
            d = curves[b, tail].mean() - curves[b, window]
            good = d > 0
            slopes.append(float(stats.linregress(window[good], np.log(d[good])).slope))
        slopes = np.array(slopes)
        out.append({"alpha_lambda": float(cv), "window": [0, int(window[-1])], "batch_slopes": slopes.tolist(),
                    "slope": float(slopes.mean()), "stderr": float(slopes.std(ddof=1) / math.sqrt(len(slopes))),
                    "measured_floor": float(floor)})
    return out


def check_relaxation(ctx, factor=theory.VARIANCE_FACTOR, shift: float = 0.0) -> Verdict:
    """The interval rule of issue 19 at each alpha lambda: the fitted log-rate's 95 % t interval (B - 1 degrees of
    freedom over the batch slopes) must lie inside the derived log-rate +- RELAX_BIAS of its size (passed),
    wholly outside it (failed), or it straddles an edge (inconclusive); the claim takes the worst point.
    ``shift``: the calibrated control, each derived log-rate made faster by ``shift`` x the band's half-width
    (``shift`` x RELAX_BIAS of its size), as the multistage slope controls do."""
    fits = relaxation_fits(ctx)
    rate = numeric(factor, (theory.alpha, theory.lam))
    for f in fits:
        pred = math.log(abs(float(rate(f["alpha_lambda"], 1.0))))
        pred *= 1 + shift * RELAX_BIAS.value          # a negative log-rate made more negative (a faster relaxation)
        t = float(stats.t.ppf(0.975, len(f["batch_slopes"]) - 1))
        half = t * f["stderr"]
        band = [pred - RELAX_BIAS.value * abs(pred), pred + RELAX_BIAS.value * abs(pred)]
        f.update({"predicted": pred, "interval_95": [f["slope"] - half, f["slope"] + half], "band": band,
                  # the smallest relative error of the log-rate this point refutes: the interval wholly outside
                  # a band moved by it
                  "resolves_relative": (half + RELAX_BIAS.value * abs(pred)) / abs(pred)})
    status, j, why = judge_points(fits, lambda f: f"the fitted log-rate at alpha lambda = {f['alpha_lambda']:g}")
    for f in fits:
        f["inside"] = f["status"] == Status.PASSED.value
    # margin: the interval margin (stats.interval_margin: the interval's farther end from the derived log-rate
    # over the band's half-width) at the worst alpha lambda; below 1 exactly when that interval lies in its band
    worst = fits[j]
    key = key_number(f"fitted log-rate per step at alpha lambda = {worst['alpha_lambda']:g} (the worst of "
                     f"{len(fits)})", worst["slope"], worst["predicted"], worst["margin"], why,
                     interval=worst["interval_95"], band=worst["band"])
    best = min(fits, key=lambda f: f["resolves_relative"])
    res = resolution(f"a log-rate off by >= {best['resolves_relative']:.1%} (relative, at alpha lambda = "
                     f"{best['alpha_lambda']:g}: the 95 % interval's half-width plus the {RELAX_BIAS.value:.0%} band; "
                     f"the calibrated control's {CALIBRATED * RELAX_BIAS.value:.0%} is resolved only where the "
                     "interval's half-width is below the band's)", best["resolves_relative"], "relative")
    return Verdict(Status(status), key=key, resolution=res,
                   predicted={"variance factor per step": str(factor), "shift": shift}, measured={"fits": fits},
                   tolerance=RELAX_BIAS, seeds=[ctx.seed],
                   range={"alpha lambda": list(RELAX_ALPHA_LAMBDA), "batches": ctx.profile.relax_batches,
                          "chains": ctx.profile.relax_chains, "steps": RELAX_STEPS, "seeds": [ctx.seed]},
                   rows=rows_of(({"alpha lambda": f["alpha_lambda"]}, f["margin"], f["status"]) for f in fits),
                   details={"x0": 0.0, "curvature": 1.0, "noise": 1.0, "steps": RELAX_STEPS,
                            "batches": ctx.profile.relax_batches, "chains": ctx.profile.relax_chains,
                            "floor": "measured: mean of each batch's curve over the second half of the run"})


claim("Q1-relaxation", "The variance relaxes to its floor like (1 - 2 alpha lambda)^(2n)", "Q1", check_relaxation,
      lambda ctx: check_relaxation(ctx, theory.VARIANCE_FACTOR.subs(theory.alpha, 1.1 * theory.alpha)),
      "the derived variance factor with alpha scaled by 1.1", group="q1-relax",
      calibrated=(lambda ctx: check_relaxation(ctx, shift=CALIBRATED),
                  f"each derived log-rate made faster by {CALIBRATED:g} x its band's half-width (x "
                  f"{1 + CALIBRATED * RELAX_BIAS.value:g})"),
      # a finding about the measurement's power, not about the statement (exact for this model): the batch
      # slopes scatter too much for a 1 % band, and so its calibrated control (2 %) is not refuted either.  A
      # sharper estimator was prototyped (common random numbers: a stationary partner sharing each chain's noise,
      # weighted fit): 3x narrower intervals at the same chains, inside the band only at 8x the quick chains and
      # then not reliably (half-widths 0.54 to 0.71 of the band); left for a later change.  The estimator also
      # under-covers: over quick seeds 0-11 its 95 % intervals miss the derived log-rate at 5 of 36 (seed, point)
      # pairs (2 of 36 with the earlier shared stream; 1.8 expected), and at seed 1 one interval ([-0.441, -0.390] at
      # alpha lambda = 0.1, window of 6 steps) lies wholly outside the band, so that seed's verdict is failed, not
      # this expected inconclusive: the log of a noisy distance and a window ended by the noisy pooled curve bias
      # the short windows
      expect=Expectation("inconclusive", "the fitted log-rates' 95 % intervals are wider than the 1 % band: half-"
                                         "widths 0.0053, 0.0247, 0.0123 against bands 0.0008, 0.0045, 0.0021 at "
                                         "quick, 0.0025, 0.0124, 0.0050 at default (seed 0); the derived rate lies "
                                         "inside every interval, but confirming it to 1 % needs about 10 to 100 "
                                         "times the chains or a sharper estimator, and the calibrated control (the "
                                         "log-rate 2 % faster) is inconclusive too"))


# ---------------------------------------------------------------------------
# Q1-lr-cut


def cut_measurement(ctx, transient=theory.CUT_LOSS_TRANSIENT, new_floor=theory.CUT_LOSS, confirm: bool = False
                    ) -> dict:
    """The floors and the transient around the cut (``confirm``: the run repeated for the two-stage rule,
    CONFIRM_CHAINS x the chains on its own stream)."""
    p = ctx.profile
    run = _simulator(ctx, 0 if confirm else None)("cut", CUT_ALPHA_LAMBDA, 1.0, 1.0, chains=p.cut_chains,
                                                  steps=CUT_STEP + p.cut_steps, cut_step=CUT_STEP,
                                                  cut_factor=CUT_FACTOR)
    args = (theory.alpha, theory.lam, theory.sigma, theory.k)
    vals = (CUT_ALPHA_LAMBDA, 1.0, 1.0, CUT_FACTOR)
    old = float(numeric(theory.STATIONARY_LOSS, args[:3])(*vals[:3]))
    new = float(numeric(new_floor, args)(*vals))
    curve_fn = numeric(transient, (*args, theory.n))
    loss, se = run.loss[0], run.step_stderr()[0]
    # the floors: per-chain averages are unavailable around the cut, so step means over windows with the
    # error of a window mean from independent chains (per-step errors combined as fully correlated: an upper bound)
    before = slice(CUT_STEP // 2, CUT_STEP + 1)
    after = slice(CUT_STEP + CUT_TRANSIENT_STEPS, None)
    n = np.arange(CUT_TRANSIENT_STEPS + 1)
    predicted_curve = np.asarray(curve_fn(*vals, n), float) * np.ones_like(n, dtype=float)
    measured_curve = loss[CUT_STEP:CUT_STEP + CUT_TRANSIENT_STEPS + 1]
    z_curve = (measured_curve - predicted_curve) / se[CUT_STEP:CUT_STEP + CUT_TRANSIENT_STEPS + 1]
    floors = {"old": (float(loss[before].mean()), float(se[before].mean()), old),
              "new": (float(loss[after].mean()), float(se[after].mean()), new)}
    return {"old_floor": {"measured": floors["old"][0], "stderr_bound": floors["old"][1], "predicted": old},
            "new_floor": {"measured": floors["new"][0], "stderr_bound": floors["new"][1], "predicted": new},
            "cliff_ratio": {"measured": floors["old"][0] / floors["new"][0],
                            "predicted": float(numeric(theory.CLIFF_RATIO, args)(*vals)), "naive": CUT_FACTOR},
            "z_floors": [(m - pr) / s for m, s, pr in floors.values()],
            "z_transient_max": float(np.max(np.abs(z_curve))),
            "z_transient": z_curve.tolist(),
            # the most precise prediction after the cut (the calibrated control's scale): the smallest relative
            # standard error of the new floor and of the transient's steps
            "after_cut_relative_stderr": float(min(floors["new"][1] / abs(new),
                                                   np.min(se[CUT_STEP:CUT_STEP + CUT_TRANSIENT_STEPS + 1]
                                                          / np.abs(predicted_curve)))),
            "curve": {"step": list(range(len(loss))), "loss": loss.tolist(), "stderr": se.tolist(),
                      "predicted_after_cut": predicted_curve.tolist()}}


def check_cut(ctx, transient=theory.CUT_LOSS_TRANSIENT, new_floor=theory.CUT_LOSS, calibrated: bool = False
              ) -> Verdict:
    """The old and new floors and every step of the transient within the Bonferroni z bound: judged on every
    window (stats.every_key).  ``calibrated``: the calibrated control, the derived new floor and transient times
    1 + the resolution (CALIBRATED x the z bound standard errors at the most precise step after the cut)."""
    m = cut_measurement(ctx, transient, new_floor)
    tol = z_tolerance(CUT_TRANSIENT_STEPS + 3, "the old and new floors and the transient at each step after the cut")
    eps = CALIBRATED * tol.value * m["after_cut_relative_stderr"]
    if calibrated:
        transient, new_floor = transient * (1 + eps), new_floor * (1 + eps)
        m = cut_measurement(ctx, transient, new_floor)
    worst = max([abs(z) for z in m["z_floors"]] + [m["z_transient_max"]])
    # the two-stage rule (mc.two_stage) on every comparison (the two floors and each step of the transient): a
    # comparison beyond the bound is confirmed in one repeat of the cut run (CONFIRM_CHAINS x the chains, its own
    # stream) at the same window or step
    windows = [{"window": "old floor"}, {"window": "new floor"}] + [
        {"window": "transient", "step after cut": n} for n in range(len(m["z_transient"]))]

    def confirm(i):
        c = cut_measurement(ctx, transient, new_floor, confirm=True)
        return {"z": (c["z_floors"] + c["z_transient"])[i], "chains": CONFIRM_CHAINS * ctx.profile.cut_chains,
                "spawn_key": list(ctx.confirm_key("cut", 0))}

    judged, confirmations = two_stage(list(zip(windows, m["z_floors"] + m["z_transient"])), tol.value, confirm)
    # every window: its |z| over the bound (the transient's: its worst step), or for a comparison beyond it the
    # confirmation's |z| over the single bound; below 1 exactly when it passes
    steps = judged[2:]
    used = [u for _, u in steps]
    notes = [w["after confirmation"] + f" at step {w['step after cut']}" for w, _ in steps
             if "after confirmation" in w]
    transient_row = ({"window": "transient (worst step)", **({"after confirmation": "; ".join(notes)} if notes
                                                            else {})},
                     None if any(u is None for u in used) else max(used))
    status, key, rows = every_key(
        f"|simulated - derived| <= {tol.value:.3g} standard errors (beyond it: <= {confirm_bound():.3g} in the "
        "confirmation)", judged[:2] + [transient_row], unit="windows")
    return Verdict(status,
                   predicted={"transient": str(transient), "new floor": str(new_floor)},
                   measured={"max_abs_z": worst, **m, "confirmations": confirmations}, tolerance=tol,
                   seeds=[ctx.seed],
                   range={"alpha lambda": CUT_ALPHA_LAMBDA, "cut factor": CUT_FACTOR,
                          "steps": [CUT_STEP // 2, CUT_STEP + ctx.profile.cut_steps],
                          "chains": ctx.profile.cut_chains, "seeds": [ctx.seed]},
                   rows=rows, key=key,
                   resolution=resolution(f"the new floor and transient off by >= {eps:.1%} (relative: {CALIBRATED:g} "
                                         f"x the z bound {tol.value:.3g} standard errors at the most precise step "
                                         "after the cut; one step's error, as the rule judges each step)", eps,
                                         "relative"),
                   details={"alpha_lambda_before": CUT_ALPHA_LAMBDA, "cut_factor": CUT_FACTOR, "cut_step": CUT_STEP,
                            "curvature": 1.0, "noise": 1.0, "chains": ctx.profile.cut_chains,
                            "floor_windows": "old: steps cut/2 .. cut; new: from cut + "
                                             f"{CUT_TRANSIENT_STEPS} to the end",
                            "floor_error": "the mean of the per-step errors over the window (an upper bound)"})


claim("Q1-lr-cut", "A learning-rate cut by 10 drops the floor by k (1 - alpha lambda / k) / (1 - alpha lambda), "
      "reached like (1 - 2 alpha lambda / k)^(2n)", "Q1", check_cut,
      lambda ctx: check_cut(ctx, theory.CUT_LOSS_TRANSIENT.subs(theory.n, theory.n / 2)),
      "the derived transient relaxing at the mean's rate (1 - 2 alpha lambda / k)^n instead of the variance's",
      group="q1-cut",
      calibrated=(lambda ctx: check_cut(ctx, calibrated=True),
                  f"the derived new floor and transient times 1 + {CALIBRATED:g} x the z bound x the smallest "
                  "relative standard error after the cut"))
