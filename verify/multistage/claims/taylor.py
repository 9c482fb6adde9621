"""D2: the Lagrange remainder bounds, at 50 digits, for every built-in tanh-like activation."""
from __future__ import annotations

import mpmath

from theory.multistage.activation import S, activation_from_spec
from theory.bridge import numeric

from ...registry import Tolerance, Verdict, key_number, resolution, rows_of
from ...stats import ratio_margin
from ..context import claim

TOL = Tolerance("bound-ratio", 1.0,
                "a bound holds when measured / bound <= 1; evaluated at 50 significant digits, so round-off "
                "(1e-50) cannot tip the ratio")
#: the calibrated control lowers C_L by this fraction: the bound is tight as s -> 0, so any lowering is refuted
CALIBRATED = 1e-6
_POINTS = [sign * mpmath.mpf(10) ** (k / 4) for k in range(-48, 7, 2) for sign in (1, -1)]


def _check(ctx, scale: float = 1.0) -> Verdict:
    measured, predicted, used = {}, {}, {}
    worst = 0.0
    with mpmath.workdps(50):
        for name in ("tanh", "sin", "erf"):
            act = activation_from_spec(name)
            c = act.C_L.upper * scale
            sig, dsig = numeric(act.expr, (S,), "mpmath"), numeric(act.derivative(1), (S,), "mpmath")
            r0 = max(abs(sig(s) - s) / (c * abs(s) ** 3 / 6) for s in _POINTS)
            r1 = max(abs(dsig(s) - 1) / (c * s**2 / 2) for s in _POINTS)
            measured[name] = {"sup |sigma - s| / bound": float(r0), "sup |sigma' - 1| / bound": float(r1)}
            predicted[name] = {"C_L": c}
            worst = max(worst, float(r0), float(r1))
            used[name] = max(float(r0), float(r1)) / TOL.value
    return Verdict("passed" if worst <= TOL.value else "failed", predicted, measured, TOL,
                   details={"s_range": "|s| in [1e-12, 10^1.5], both signs, 50 digits", "worst_ratio": worst},
                   range={"activations": list(used), "|s|": [1e-12, float(10 ** 1.5)], "points": len(_POINTS)},
                   rows=rows_of(({"activation": k}, u, u <= 1) for k, u in used.items()),
                   resolution=resolution(f"C_L too small by >= {CALIBRATED:g} (relative; the bound is tight as "
                                         "s -> 0)", CALIBRATED, "relative"),
                   # margin: the largest remainder / bound over the activations, the tolerance being 1; the
                   # bound is tight as s -> 0 (the ratio is 1 - O(s^2), 1 in float64 at |s| = 1e-12), where the rule
                   # (<= 1) passes: the margin is then just below 1 (stats.ratio_margin)
                   key=key_number("max remainder / Lagrange bound (tight as s -> 0)", worst, None,
                                  ratio_margin(worst, TOL.value),
                                  None if worst <= TOL.value else
                                  f"a Taylor remainder exceeds its bound by a factor {worst:.3g}"))


claim("D2-taylor-remainder", "Taylor remainder bounds hold for tanh, sin, erf", "D2", _check,
               lambda ctx: _check(ctx, 0.95), "C_L lowered by 5 %", group="exact",
      calibrated=(lambda ctx: _check(ctx, 1 - CALIBRATED),
                  f"C_L lowered by {CALIBRATED:g} (relative): the bound is tight as s -> 0, where the ratio "
                  "tends to 1, so the smallest lowering must be refuted"))
