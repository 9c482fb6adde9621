"""D10: the secondary plateau sits at R* = E[f*^2]/2 - z^T Sigma^-1 z / 2; the loss follows R(K) on the way."""
from __future__ import annotations

import numpy as np

from theory import critical_point
from theory.bridge import numeric
from theory.symbols import E_f2, z_norm

from ._base import Claim, Tolerance, Verdict, fraction_status, register

TOL = Tolerance("loss-absolute", 1e-3,
                "R* neglects O(1/m) corrections from the cubic terms of sigma (1e-3 at m = 1000) and the "
                "plateau is entered at K = 1 - delta, |z|^2 delta^2 / 2 = 3.5e-5 above R*; THEORY.md measured 1e-4")


def _check(ctx, sign: float = 1.0) -> Verdict:
    seeds, gaps, along, ok = ctx.init_seeds(), [], [], 0
    R_of_K = numeric(critical_point.R_of_K, (E_f2, z_norm, critical_point.Kv))
    for seed in seeds:
        config = ctx.config(train={"seed": seed})
        traj, obs, kernel, meas, pred = ctx.run(config)
        mo = config.dataset.moments
        R_star = mo["E_f2"] / 2 - sign * mo["z_Sinv_z"] / 2
        gap = abs(meas["plateau_loss"] - R_star) if meas["plateau_loss"] is not None else float("inf")
        T_d = meas["T_d"]["value"] or traj.t[-1]
        sel = traj.t <= T_d
        # R(K) = E[f*^2]/2 - |z|^2 (1 - (1 - K)^2)/2 (whitened: |z|^2 = z^T Sigma^-1 z); the control flips the sign
        curve = mo["E_f2"] - R_of_K(mo["E_f2"], np.sqrt(mo["z_Sinv_z"]), obs["K"][sel]) if sign < 0 else \
            R_of_K(mo["E_f2"], np.sqrt(mo["z_Sinv_z"]), obs["K"][sel])
        dev = float(np.max(np.abs(traj.loss[sel] - curve)))
        gaps.append(gap)
        along.append(dev)
        ok += gap <= TOL.value and dev <= TOL.value
    status, (lo, hi) = fraction_status(ok, len(seeds))
    return Verdict("D10-plateau-loss", "The secondary plateau is at R*; R(t) = R(K(t)) along the descent", status,
                   predicted={"R*": "E[f*^2]/2 - z^T Sigma^-1 z / 2" if sign > 0 else "E[f*^2]/2 + z^T Sigma^-1 z / 2"},
                   measured={"|plateau_loss - R*| per seed": gaps, "max |R - R(K)| per seed": along,
                             "fraction_within": ok / len(seeds), "wilson_95": [lo, hi]}, tolerance=TOL, seeds=seeds)


register(Claim("D10-plateau-loss", "The secondary plateau is at R*; R(t) = R(K(t)) along the descent", "D10", _check,
               lambda ctx: _check(ctx, -1.0), "the sign of the z^T Sigma^-1 z term flipped"))
