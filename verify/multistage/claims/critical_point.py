"""D10: the secondary plateau sits at R* (the loss follows R(K) on the way), and at K_eq = 1 + kappa/m; T_d from
the approach law, on every seed."""
from __future__ import annotations

import numpy as np
import sympy as sp

from theory.multistage import critical_point
from theory.bridge import numeric
from theory.multistage.symbols import E_f2, m, z_norm, z_Sinv_z

from ...registry import Tolerance, Verdict, key_number, resolution, rows_of
from ...stats import every_key, margin_as_judged
from ..context import claim

TOL = Tolerance("loss-absolute", 1e-3,
                "R* neglects O(1/m) corrections from the cubic terms of sigma (1e-3 at m = 1000) and the "
                "plateau is entered at K = 1 - delta, |z|^2 delta^2 / 2 = 3.5e-5 above R*; reference runs measured 1e-4")


#: the calibrated controls perturb the derived prediction by CALIBRATED x the tolerance: R* and R(K) raised by
#: 1.5e-3, kappa times 1 + 1.5 x 5 %
CALIBRATED = 1.5


def _check(ctx, r_star=critical_point.R_star, r_of_k=critical_point.R_of_K) -> Verdict:
    seeds, gaps, along, ok = ctx.init_seeds(), [], [], 0
    R_star_of = numeric(r_star, (E_f2, z_Sinv_z))
    R_of_K = numeric(r_of_k, (E_f2, z_norm, critical_point.Kv))
    for seed in seeds:
        config = ctx.config(train={"seed": seed})
        traj, obs, kernel, meas, pred = ctx.run(config)
        mo = config.dataset.moments
        R_star = float(R_star_of(mo["E_f2"], mo["z_Sinv_z"]))
        gap = abs(meas["plateau_loss"] - R_star) if meas["plateau_loss"] is not None else float("inf")
        T_d = meas["T_d"]["value"] or traj.t[-1]
        sel = traj.t <= T_d
        # R(K) along the descent (whitened inputs: |z|^2 = z^T Sigma^-1 z)
        curve = R_of_K(mo["E_f2"], np.sqrt(mo["z_Sinv_z"]), obs["K"][sel])
        dev = float(np.max(np.abs(traj.loss[sel] - curve)))
        gaps.append(gap)
        along.append(dev)
        ok += gap <= TOL.value and dev <= TOL.value
    # the plateau level and R(K) hold for each initialisation: judged on every seed (stats.every_key), each seed's
    # used fraction the larger of its two errors over TOL
    status, key, rows = every_key(f"|plateau loss - R*| and max |R - R(K)| <= {TOL.value:g}",
                                  [({"seed": s}, max(g, a) / TOL.value) for s, g, a in zip(seeds, gaps, along)])
    return Verdict(status,
                   predicted={"R*": str(r_star), "R(K)": str(r_of_k)},
                   resolution=resolution(f"R* or R(K) off by >= {CALIBRATED * TOL.value:.2g} (absolute, in loss)",
                                         CALIBRATED * TOL.value, "absolute"),
                   measured={"|plateau_loss - R*| per seed": gaps, "max |R - R(K)| per seed": along,
                             "fraction_within": ok / len(seeds)}, tolerance=TOL, seeds=seeds,
                   # margin: the worst seed's larger error / TOL, below 1 when every seed passes
                   key=key, rows=rows, range={"seeds": seeds, "m": ctx.config().model.width})


claim("D10-plateau-loss", "The secondary plateau is at R*; R(t) = R(K(t)) along the descent", "D10", _check,
               lambda ctx: _check(ctx, critical_point.R_star.subs(z_Sinv_z, -z_Sinv_z),
                         critical_point.R_of_K.subs(z_norm, sp.I * z_norm)),
      "the derived R* and R(K) with the sign of the z^T Sigma^-1 z (|z|^2) term flipped", group="seeds",
      calibrated=(lambda ctx: _check(ctx, critical_point.R_star + sp.Float(CALIBRATED * TOL.value),
                                     critical_point.R_of_K + sp.Float(CALIBRATED * TOL.value)),
                  f"the derived R* and R(K) raised by {CALIBRATED * TOL.value:.2g} ({CALIBRATED:g} x the "
                  "tolerance)"))


# ---- D10-plateau-shift: the O(1/m) shift of the plateau, per seed --------------------------------------

SHIFT = Tolerance("plateau-shift-relative", 0.05,
                  "kappa = m (K_eq - 1) is first order in rho ~ 3/m; the dropped rho^2 terms and the neglected "
                  "orthogonal components and imbalance (second order in a_k - w_k . zhat) change it by O(1/m) "
                  "relative, about 1 % at m = 400; the plateau K is read where K has relaxed to within "
                  "e^-10 of its gap at T_d; 5 % leaves room for both and still separates kappa from 1.5 kappa "
                  "(reference runs measured m (K_eq - 1) = 2.8 to 3.3)")
#: the plateau K is read on [T_d, T_d + RELAX / (2|z|)]: the approach to K_eq is at rate 2|z| (the slope of the
#: carrying-capacity law at K_eq), so the gap at T_d (delta + K_eq - 1) has shrunk by e^-RELAX there
RELAX = 10.0


def plateau_K(t: np.ndarray, K: np.ndarray, T_d: float, zn: float) -> float | None:
    """K on the secondary plateau: where ``|dK/dt|`` is smallest on ``[T_d, T_d + RELAX/(2|z|)]``."""
    sel = np.nonzero((t >= T_d) & (t <= T_d + RELAX / (2 * zn)))[0]
    if len(sel) < 3 or t[sel[-1]] < T_d + 0.9 * RELAX / (2 * zn):
        return None
    slope = np.abs(np.gradient(K[sel], t[sel]))
    return float(K[sel[int(np.argmin(slope))]])


def _shift(ctx, kappa_expr=critical_point.kappa) -> Verdict:
    kappa_of = numeric(kappa_expr, (m, critical_point.g3, critical_point.rho, critical_point.F3, critical_point.M4,
                                    z_norm))
    seeds, rows, ok = ctx.init_seeds(), [], 0
    for seed in seeds:
        config = ctx.config(train={"seed": seed})
        traj, obs, kernel, meas, pred = ctx.run(config)
        mo, width, zn = config.dataset.moments, config.model.width, pred["z_norm"]
        g3 = float(config.activation.taylor_coefficients(3)[3])
        predicted = float(kappa_of(width, g3, pred["m_rho"] / width, mo["E_f_s3"], mo["E_s4"], zn))
        T_d = meas["T_d"]["value"]
        K_plat = plateau_K(traj.t, obs["K"], T_d, zn) if T_d is not None else None
        measured = width * (K_plat - 1) if K_plat is not None else None
        err = abs(measured / predicted - 1) if measured is not None and predicted != 0 else float("inf")
        rows.append({"seed": seed, "kappa_predicted": predicted, "kappa_measured": measured, "m_rho": pred["m_rho"],
                     "relative_error": err})
        ok += err <= SHIFT.value
    # kappa = m (K_eq - 1) for each initialisation: judged on every seed (stats.every_key)
    status, key, listed = every_key(f"|kappa measured / kappa derived - 1| <= {SHIFT.value:g}",
                                    [({"seed": r["seed"]}, r["relative_error"] / SHIFT.value) for r in rows])
    return Verdict(status, predicted={"kappa": str(kappa_expr)},
                   resolution=resolution(f"kappa off by >= {CALIBRATED * SHIFT.value:.1%} (relative)",
                                         CALIBRATED * SHIFT.value, "relative"),
                   measured={"per_seed": rows, "fraction_within": ok / len(seeds)},
                   tolerance=SHIFT, seeds=seeds,
                   # margin: the worst seed's relative error / SHIFT, below 1 when every seed passes
                   key=key, rows=listed, range={"seeds": seeds, "m": ctx.config().model.width})


claim("D10-plateau-shift", "The plateau sits at K_eq = 1 + kappa/m, kappa from the cubic term of sigma", "D10",
      _shift, lambda ctx: _shift(ctx, sp.Rational(3, 2) * critical_point.kappa),
      "the derived kappa times 1.5", group="seeds",
      calibrated=(lambda ctx: _shift(ctx, (1 + sp.Rational(CALIBRATED * SHIFT.value).limit_denominator(1000))
                                     * critical_point.kappa),
                  f"the derived kappa times {1 + CALIBRATED * SHIFT.value:g} ({CALIBRATED:g} x the tolerance)"))


# ---- D10-descent-time: T_d at delta = 0.01 from the approach law, on every seed over m = 100..4000 ---------------

from ..prediction import T_D_RELATIVE  # noqa: E402  (the flag in predict and this tolerance are one number)

T_D = Tolerance("T_d-relative", T_D_RELATIVE,
                "T_d (delta = 0.01) from D10's approach law of the cubic condensed model; its next order is O(rho^2) "
                "(about 1/m^2 over delta + K_eq - 1), estimated per seed as twice the rho^2 part the cubic law "
                "carries, and a seed whose estimate exceeds 0.5 % is flagged, not judged; the flow's event times "
                "are good to about 1e-7 relative (rtol 1e-8); 0.5 % is D9's t_half tolerance and separates the "
                "approach law from the capacity law (0.7 % early at m = 400).  The estimate is not a proven "
                "bound: the measured gap used at most 0.92 of it over 58 whitened seeds at m = 100..4000 (the "
                "verdict records the ratio per seed)")
#: the event level of D10-descent-time
TD_DELTA = 0.01


def _capacity(pred):
    return pred["T_d"]["capacity_law"]


def _law(pred):
    return pred["T_d"]["value"]


def _descent_time(ctx, predicted_of=_law, what: str = "D10's approach law dK/dt = 2|z| K q(K), cubic model") -> Verdict:
    """Every seed at every width of ``ctx.profile.td_seed_widths``: |T_d measured / predicted - 1| <= T_D, where
    predict does not flag the seed's T_d (its estimated next-order error above T_D); ``predicted_of(pred)`` is
    the prediction judged (the controls perturb it)."""
    widths, seeds = ctx.profile.td_seed_widths, ctx.init_seeds()
    rows, judged, failed = [], 0, []
    for width in widths:
        for seed in seeds:
            over = {"train": {"seed": seed}, "model": {"width": width}, "analysis": {"delta": TD_DELTA}}
            config = ctx.config(**over)
            horizon = 1.5 * float(ctx.predict(config)["T_d"]["value"])   # past T_d, so the event is seen
            config = ctx.config(train={"seed": seed, "t_max": horizon}, model={"width": width},
                                analysis={"delta": TD_DELTA})
            traj, obs, kernel, meas, pred = ctx.run(config, grid=101, remainder=False)
            flag = pred["T_d"]["applicable"]
            predicted, measured = predicted_of(pred), meas["T_d"]["value"]
            err = abs(measured / predicted - 1) if measured and predicted else None
            estimate = pred["T_d"]["error_estimate"]
            # how much of the estimated next-order error the gap to the (unperturbed) law's T_d used
            used = (abs(measured - _law(pred)) / estimate if measured and estimate else None)
            row = {"width": width, "seed": seed, "predicted": predicted, "measured": measured,
                   "relative_error": err, "error_estimate": estimate, "gap_over_estimate": used,
                   "m_rho": pred["m_rho"], "judged": flag is True}
            if flag is not True:
                row["flagged"] = flag
            else:
                judged += 1
                if err is None or err > T_D.value:
                    failed.append(row)
            rows.append(row)
    judged_widths = sorted({r["width"] for r in rows if r["judged"]})
    used = [r["gap_over_estimate"] for r in rows if r["gap_over_estimate"] is not None]
    measured_rec = {"per_seed": rows, "widths": list(widths), "judged_widths": judged_widths, "judged": judged,
                    "flagged": len(rows) - judged, "max_gap_over_estimate": max(used) if used else None}
    res = resolution(f"T_d off by >= {CALIBRATED * T_D.value:.2%} (relative) on any judged seed",
                     CALIBRATED * T_D.value, "relative")
    quantity = f"worst |T_d / predicted - 1| over judged seeds (tolerance {T_D.value:g})"
    common = dict(predicted={"T_d": what, "delta": TD_DELTA, "q(K)": str(critical_point.q_cubic)}, measured=measured_rec, tolerance=T_D, seeds=seeds,
                  resolution=res, details={"rule": "every judged seed within the tolerance (one resolved "
                                                   "counterexample fails the claim); a seed whose T_d predict flags "
                                                   "(estimated next-order error above the tolerance) is reported, "
                                                   "not judged", "widths": list(widths)},
                  range={"seeds": seeds, "m": list(widths), "delta": TD_DELTA},
                  # the judged seeds that failed or used part of the tolerance (flagged seeds are in measured)
                  rows=rows_of(({"width": r["width"], "seed": r["seed"]},
                                None if r["relative_error"] is None else r["relative_error"] / T_D.value,
                                r["relative_error"] is not None and r["relative_error"] <= T_D.value)
                               for r in rows if r["judged"]))
    if judged == 0:
        return Verdict("not-applicable", **common,
                       key=key_number(quantity, None, None, None,
                                      f"every seed's T_d is flagged at m = {list(widths)}: its estimated next-order "
                                      f"error exceeds {T_D.value:.2%}"))
    errs = [r["relative_error"] for r in rows if r["judged"]]
    if failed:
        worst = max(failed, key=lambda r: float("inf") if r["relative_error"] is None else r["relative_error"])
        w_err = worst["relative_error"]
        margin = None if w_err is None else margin_as_judged(w_err / T_D.value, False)
        why = (f"{len(failed)} of {judged} judged seeds off by more than {T_D.value:.2%}; worst m = {worst['width']}, "
               f"seed {worst['seed']}: " + ("no measured T_d" if w_err is None else f"{w_err:.3%}"))
        return Verdict("failed", **common,
                       key={**key_number(quantity, w_err, 0.0, margin, why), "quantifier": "every"})
    worst = max(errs)
    return Verdict("passed", **common,
                   key={**key_number(quantity, worst, 0.0, margin_as_judged(worst / T_D.value, True)),
                        "quantifier": "every"})


claim("D10-descent-time", "T_d (delta = 0.01) from the approach law to K_eq, on every seed over m = 100..4000",
      "D10", _descent_time,
      lambda ctx: _descent_time(ctx, _capacity, "the carrying-capacity law's T_d (rate 2|z| at K_eq)"),
      "the carrying-capacity law's T_d (the earlier prediction: right fixed point, rate of approach 2|z|)",
      group="seeds",
      calibrated=(lambda ctx: _descent_time(ctx, lambda pred: (1 + CALIBRATED * T_D.value) * _law(pred),
                                            f"D10's approach law's T_d times {1 + CALIBRATED * T_D.value:g}"),
                  f"the approach law's T_d times {1 + CALIBRATED * T_D.value:g} ({CALIBRATED:g} x the tolerance)"))
