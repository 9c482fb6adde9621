"""D10: the secondary plateau sits at R* = E[f*^2]/2 - z^T Sigma^-1 z / 2; the loss follows R(K) on the way."""
from __future__ import annotations

import numpy as np
import sympy as sp

from theory.multistage import critical_point
from theory.bridge import numeric
from theory.multistage.symbols import E_f2, z_norm, z_Sinv_z

from ..registry import Tolerance, Verdict
from ..stats import fraction_status
from ._context import claim

TOL = Tolerance("loss-absolute", 1e-3,
                "R* neglects O(1/m) corrections from the cubic terms of sigma (1e-3 at m = 1000) and the "
                "plateau is entered at K = 1 - delta, |z|^2 delta^2 / 2 = 3.5e-5 above R*; THEORY.md measured 1e-4")


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
    status, (lo, hi) = fraction_status(ok, len(seeds))
    return Verdict("D10-plateau-loss", "The secondary plateau is at R*; R(t) = R(K(t)) along the descent", status,
                   predicted={"R*": str(r_star), "R(K)": str(r_of_k)},
                   measured={"|plateau_loss - R*| per seed": gaps, "max |R - R(K)| per seed": along,
                             "fraction_within": ok / len(seeds), "wilson_95": [lo, hi]}, tolerance=TOL, seeds=seeds)


claim("D10-plateau-loss", "The secondary plateau is at R*; R(t) = R(K(t)) along the descent", "D10", _check,
               lambda ctx: _check(ctx, critical_point.R_star.subs(z_Sinv_z, -z_Sinv_z),
                         critical_point.R_of_K.subs(z_norm, sp.I * z_norm)),
      "the derived R* and R(K) with the sign of the z^T Sigma^-1 z (|z|^2) term flipped", group="seeds")
