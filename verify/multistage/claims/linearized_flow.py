"""D4: with small initialisation the flow (and GD) follow the linear map, with error O(q_max^2)."""
from __future__ import annotations

import math

import numpy as np

from ..observables import linear_map
from ...registry import Status, Tolerance, Verdict, resolution, rows_of
from ...stats import fit_key, fit_slope
from ..context import claim

BAND = Tolerance("exponent-band", 0.2,
                 "the deviation is q_max(0)^2 times a factor that depends on alpha only through O(q_max^2) "
                 "corrections and the finite number of neurons; +-0.2 on the exponent 2 covers both")
#: the derived exponent of the deviation in q_max(0) (the error is O(q_max^2))
EXPONENT = 2.0
#: the calibrated control moves the derived exponent by CALIBRATED x the band's half-width
CALIBRATED = 1.5
T_CHECK = 1.0
ALPHAS = (1.0, 1.25, 1.5)


def _sweep(ctx, method: str, rate_factor: float):
    q0s, devs = [], []
    for alpha in ALPHAS:
        config = ctx.config(model={"alpha": alpha}, train={"t_max": T_CHECK, "method": method, "lr": 0.05})
        traj, obs, kernel, meas, pred = ctx.run(config, grid=11)
        a0, W0 = traj.split(traj.theta[0])
        a1, W1 = traj.split(traj.theta[-1])
        Q0, Q1 = np.column_stack([a0, W0]), np.column_stack([a1, W1])
        Qlin = Q0 @ linear_map(float(traj.t[-1]), rate_factor * config.dataset.z, method, 0.05).T
        q0s.append(float(np.linalg.norm(Q0, axis=1).max()))
        devs.append(float(np.linalg.norm(Q1 - Qlin) / np.linalg.norm(Qlin)))
    return q0s, devs


def _check(ctx, rate_factor: float = 1.0, exponent: float = EXPONENT) -> Verdict:
    fits, measured, judged = {}, {}, {}
    for method in ("flow", "gd"):
        q0s, devs = _sweep(ctx, method, rate_factor)
        fit = fit_slope(np.log(q0s), np.log(devs))
        fit.update({"predicted": exponent, "band": [exponent - BAND.value, exponent + BAND.value]})
        fits[f"{method}: log deviation vs log q_max(0)"] = fit
        measured[method] = {"q_max0": q0s, "relative_deviation": devs}
        # the interval rule (stats.fit_key): the exponent's whole 95 % interval in the band
        judged[method] = fit_key(f"fitted exponent of the deviation in q_max(0) ({method}, the worse of flow and "
                                 "GD)", fit, fit["band"], exponent, f"the {method} deviation's fitted exponent")
    order = [Status.FAILED, Status.INCONCLUSIVE, Status.PASSED]
    status = min((st for st, _ in judged.values()), key=order.index)
    # margin: the interval's farther end's distance from 2 over 0.2, for the worse of flow and GD
    method, (_, key) = max(judged.items(), key=lambda kv: (order.index(Status.PASSED) - order.index(kv[1][0]),
                                                           math.inf if kv[1][1]["margin"] is None
                                                           else kv[1][1]["margin"]))
    base = ctx.config()          # the base configuration the sweep varies (its width and seed are recorded)
    return Verdict(status,
                   key=key,
                   predicted={"exponent": exponent, "map": {"flow": "exp(tA)", "gd": "(I + eta A)^n, eta = 0.05"}},
                   measured=measured, tolerance=BAND, seeds=[base.train.seed], fits=fits,
                   details={"t": T_CHECK, "alphas": list(ALPHAS)},
                   range={"alpha": list(ALPHAS), "m": base.model.width, "methods": ["flow", "gd"],
                          "seeds": [base.train.seed]},
                   rows=rows_of(({"method": k}, kk["margin"], st) for k, (st, kk) in judged.items()),
                   resolution=resolution(f"an exponent off by >= {CALIBRATED * BAND.value:.2g}",
                                         CALIBRATED * BAND.value, "exponent"))


claim("D4-linearized-flow", "Small-init dynamics follow exp(tA) (flow) and (I + eta A)^n (GD)", "D4",
               _check, lambda ctx: _check(ctx, 1.05), "the linear map built with the rate 1.05 |z|", group="small-init",
      calibrated=(lambda ctx: _check(ctx, exponent=EXPONENT + CALIBRATED * BAND.value),
                  f"the derived exponent 2 raised by {CALIBRATED * BAND.value:.2g} ({CALIBRATED:g} x the band's "
                  "half-width)"))
