"""D3: the measured higher-order terms never exceed the bound with the derived C_1."""
from __future__ import annotations

import numpy as np

from theory.multistage import higher_order

from ..registry import Tolerance, Verdict, key_number, resolution
from ..stats import ratio_margin
from ._context import claim

TOL = Tolerance("bound-ratio", 1.0, "a bound holds when max_k |N_k| / bound_k <= 1 at every recorded time")


def _check(ctx, feedback: bool = True) -> Verdict:
    config = ctx.config()
    traj, obs, kernel, meas, pred = ctx.run(config, remainder=True)
    m, d = traj.width, traj.dim
    z = config.dataset.z
    A = np.zeros((d + 1, d + 1))
    A[0, 1:] = z
    A[1:, 0] = z
    C1 = pred["C_1"]
    T = meas["T_d"]["value"] or traj.t[-1]
    worst, at = 0.0, 0.0
    for t, th in zip(traj.t, traj.theta):
        if t > T:
            break
        a, W = traj.split(th)
        Q = np.column_stack([a, W])
        f = kernel.field(th)
        N = np.column_stack([f[:m], f[m:].reshape(m, d)]) - Q @ A.T
        norms = np.linalg.norm(Q, axis=1)
        qmax = norms.max()
        bound = higher_order.remainder_bound(C1, m, Q) if feedback else C1 * qmax**2 * norms
        ratio = float(np.max(np.linalg.norm(N, axis=1) / bound))
        if ratio > worst:
            worst, at = ratio, float(t)
    return Verdict("D3-higher-order-bound", "|N_k| <= C_1 (m q_max^2 + q_max^2) |q_k| along the flow",
                   "passed" if worst <= TOL.value else "failed",
                   predicted={"C_1": C1, "bound": "C_1 (m q_max^2 + q_max^2) |q_k|" if feedback else "C_1 q_max^2 |q_k|"},
                   measured={"max_ratio": worst, "at_time": at, "window": [0.0, float(T)]}, tolerance=TOL,
                   seeds=[config.train.seed],
                   range={"seeds": [config.train.seed], "m": int(m), "t": [0.0, float(T)]},
                   # a loose upper bound: the check confirms it holds, it cannot resolve a bound off by 2x
                   resolution=resolution("an upper bound the data do not reach: its looseness is measured, not "
                                         "resolved", tightness=worst),
                   # margin: the largest |N_k| / bound_k, the tolerance being 1 (the bound itself)
                   key=key_number("max |N_k| / bound_k", worst, None, ratio_margin(worst, TOL.value),
                                  None if worst <= TOL.value else
                                  f"a higher-order term exceeds its bound by a factor {worst:.3g} at t = {at:.3g}"))


claim("D3-higher-order-bound", "|N_k| <= C_1 (m q_max^2 + q_max^2) |q_k| along the flow", "D3", _check,
               lambda ctx: _check(ctx, False), "the bound without the network-output feedback term m q_max^2", group="seeds")
