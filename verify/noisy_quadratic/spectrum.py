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

def batch_fits(ctx, step: int, degree: int = 2) -> tuple:
    """Per-batch fits along the top k eigenvectors and double wells along the bottom ones at ``step`` (cached)."""
    from ._batchfit import bottom_wells, top_fit

    key = ("batchfit", ctx.profile.spectrum, step, degree)
    if key not in ctx._runs:
        run = ctx.spectrum_run()
        fits = [top_fit(run, step, j, degree) for j in range(run.setup.k)]
        ctx._runs[key] = (fits, bottom_wells(run, step))
    return ctx._runs[key]


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
