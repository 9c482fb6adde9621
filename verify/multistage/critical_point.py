"""D10: the secondary plateau sits at R* (the loss follows R(K) on the way), and at K_eq = 1 + kappa/m."""
from __future__ import annotations

import numpy as np
import sympy as sp

from theory.multistage import critical_point
from theory.bridge import numeric
from theory.multistage.symbols import E_f2, m, z_norm, z_Sinv_z

from ..registry import Tolerance, Verdict, resolution
from ..stats import every_key
from ._context import claim

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
    return Verdict("D10-plateau-loss", "The secondary plateau is at R*; R(t) = R(K(t)) along the descent", status,
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
    return Verdict("D10-plateau-shift", "The plateau sits at K_eq = 1 + kappa/m, kappa from the cubic term of sigma",
                   status, predicted={"kappa": str(kappa_expr)},
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
