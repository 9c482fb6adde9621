"""D5: q_max(t) <= q_max(0) exp((|z| + eps) t) while C_1 (m q_max^2 + q_max^2) <= eps."""
from __future__ import annotations

import numpy as np

from theory.bridge import numeric
from theory.multistage import growth
from theory.multistage.symbols import eps as eps_sym
from theory.multistage.symbols import q0, z_norm
from theory.multistage.symbols import t as t_sym

from ..registry import Tolerance, Verdict, key_number
from ..stats import margin_as_judged, ratio_margin
from ._context import claim

TOL = Tolerance("bound-ratio", 1.0, "the bound holds when q_max(t) / bound(t) <= 1 at every recorded time")


def _check(ctx, bound_expr=growth.bound_expr) -> Verdict:
    config = ctx.config()
    traj, obs, kernel, meas, pred = ctx.run(config, remainder=True)
    m = traj.width
    window = meas["T_p"]["value"] or meas["t_half"] or traj.t[-1]
    sel = traj.t <= window
    t, q = traj.t[sel], obs["q_max"][sel]
    Q = q.max()
    eps = pred["C_1"] * (m * Q**2 + Q**2)
    bound = numeric(bound_expr, (q0, z_norm, eps_sym, t_sym))(q[0], pred["z_norm"], eps, t)
    ratios = q / bound
    ratio = float(np.max(ratios))
    # the bound starts at q_max(0), so the ratio is exactly 1 at t = 0 and the rule (<= 1 at every recorded time)
    # is decided after t = 0: the key shows the largest ratio there, its margin on the side of 1 the rule puts it
    after = float(np.max(ratios[1:])) if len(ratios) > 1 else None
    passed = ratio <= TOL.value
    return Verdict("D5-growth-lemma", "Growth lemma: q_max(t) <= q_max(0) e^{(|z| + eps) t}",
                   "passed" if passed else "failed",
                   predicted={"bound": str(bound_expr), "rate": pred["z_norm"] + eps, "eps": eps},
                   measured={"max_ratio": ratio, "max_ratio_after_t0": after,
                             "window": [0.0, float(window)], "q_max_growth": float(q[-1] / q[0])},
                   tolerance=TOL, seeds=[config.train.seed],
                   details={"window": "until q_max reaches m^(-alpha_1) (the measured T_p)"},
                   # margin: the largest q_max / bound after t = 0, the tolerance being 1 (the bound itself)
                   key=key_number("max q_max(t) / bound(t) for t > 0 (1 at t = 0, where the bound starts)",
                                  ratio if after is None else after, None,
                                  ratio_margin(ratio, TOL.value) if after is None else
                                  margin_as_judged(after / TOL.value, passed),
                                  None if passed else f"q_max exceeds the growth bound by a factor {ratio:.3g}"))


claim("D5-growth-lemma", "Growth lemma: q_max(t) <= q_max(0) e^{(|z| + eps) t}", "D5", _check,
               lambda ctx: _check(ctx, growth.bound_expr.subs(t_sym, -t_sym)),
      "the derived bound with the wrong sign of the rate", group="seeds")
